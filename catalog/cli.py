"""The `mcpcat` command line: a thin typer app over catalog, classifier and crawler.

Each area's commands live in a module of `catalog.commands` with a `register(app)`; this
module only builds the app and turns every failure into one line on stderr:
exit 1 for a runtime error, 2 for bad input, tracebacks only with `--debug`.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import typer
from typer.core import TyperGroup

from catalog.commands import (
    catalog_cmds,
    classify_cmds,
    crawl_cmds,
    extract_cmds,
    introspect_cmds,
    nightly_cmds,
)

__all__ = ["app", "main"]

# Our packages' error bases. Matched through sys.modules: a package that never loaded raised
# nothing, and importing the classifier (rules, flags) would slow every one-off command.
_OWN_ERRORS = (
    ("catalog.errors", "CatalogError"),
    ("classifier.errors", "ClassifierError"),
    ("crawler.errors", "CrawlerError"),
)


def _own_error(e: BaseException) -> bool:
    for module, name in _OWN_ERRORS:
        loaded = sys.modules.get(module)
        if loaded is not None and isinstance(e, getattr(loaded, name)):
            return True
    return False


def _fail(message: str, code: int) -> None:
    line = " ".join(str(message).split()) or "failed"
    sys.stderr.write(f"error: {line}\n")
    sys.exit(code)


class _OneLineErrors(TyperGroup):
    """Runs the app without click's standalone handling, so that errors print as one line."""

    def main(  # type: ignore[override]
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        argv = list(sys.argv[1:] if args is None else args)
        debug = "--debug" in argv
        try:
            rv = super().main(
                args=argv, prog_name=prog_name, complete_var=complete_var, standalone_mode=False, **extra
            )
        except BrokenPipeError:
            sys.exit(1)
        except Exception as e:
            if _own_error(e):
                if debug:
                    raise
                _fail(str(e), getattr(e, "exit_code", 1))
            if hasattr(e, "format_message") and hasattr(e, "exit_code"):
                # click's usage errors (typer vendors its own click, so match by shape)
                _fail(e.format_message(), e.exit_code)
            if type(e).__name__ == "Abort":
                _fail("aborted", 130)
            if debug:
                raise
            _fail(f"unexpected {type(e).__name__}: {e} (run with --debug for the traceback)", 1)
        sys.exit(rv if isinstance(rv, int) else 0)


app = typer.Typer(
    cls=_OneLineErrors,
    name="mcpcat",
    help="The MCP tool risk catalog: every MCP tool classed Read, Write or Destructive.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root(
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks instead of one-line errors."),
) -> None:
    """mcpcat crawls MCP registries, classifies every tool and exports gateway policies."""


catalog_cmds.register(app)
classify_cmds.register(app)
crawl_cmds.register(app)
extract_cmds.register(app)
introspect_cmds.register(app)
nightly_cmds.register(app)


def main() -> None:
    app()
