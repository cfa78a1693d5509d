"""`mcpcat crawl`: crawl MCP registries into the catalog (the work is in crawler.run)."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.live import Live
from rich.table import Table

from catalog.commands.common import (
    BaseUrlOption,
    DbOption,
    JsonOption,
    NoExtractOption,
    SettingOption,
    SourceOption,
    console,
    db_url,
    print_json,
)

if TYPE_CHECKING:
    from crawler.run import SourceResult

__all__ = ["register"]

_COLUMNS = ("source", "status", "pages", "servers", "tools", "errors", "rate/s", "seconds", "note")


def _table(results: Iterable[SourceResult], title: str) -> Table:
    table = Table(title=title)
    for col in _COLUMNS:
        table.add_column(col, justify="right" if col not in ("source", "status", "note") else "left")
    for r in results:
        table.add_row(
            r.source,
            r.status,
            str(r.pages),
            str(r.servers),
            str(r.tools),
            str(r.errors),
            f"{r.rate:.0f}",
            f"{r.seconds:.1f}",
            r.note if len(r.note) <= 70 else r.note[:69] + "…",
        )
    return table


def register(app: typer.Typer) -> None:
    @app.command()
    def crawl(
        source: SourceOption = None,
        limit: Annotated[int | None, typer.Option("--limit", help="At most N servers per source.")] = None,
        base_url: BaseUrlOption = None,
        setting: SettingOption = None,
        full: Annotated[
            bool, typer.Option("--full", help="Ignore updated_since: crawl everything again.")
        ] = False,
        no_extract: NoExtractOption = False,
        db: DbOption = "",
        as_json: JsonOption = False,
    ) -> None:
        """Crawl MCP registries into the catalog, then classify new tool definitions.

        Servers no source lists tools for are introspected (a listed remote) or read from
        their repository or package archive, unless --no-extract.

        Example: mcpcat crawl --source official --base-url official=http://127.0.0.1:8000 --limit 100
        """
        from crawler.run import parse_assignments, run_crawl

        err = Console(file=sys.stderr)
        live = (
            None
            if as_json or not err.is_terminal
            else Live(console=err, refresh_per_second=4, transient=True)
        )

        def progress(results: dict[str, SourceResult]) -> None:
            if live is not None:
                live.update(_table(results.values(), "crawling"))

        if live is not None:
            live.start()
        try:
            result = run_crawl(
                source or [],
                db_url=db_url(db),
                limit=limit,
                base_urls=parse_assignments(base_url or [], "--base-url"),
                overrides=parse_assignments(setting or [], "--setting"),
                full=full,
                extract=not no_extract,
                progress=progress,
            )
        finally:
            if live is not None:
                live.stop()
        if as_json:
            print_json(result.as_dict())
        else:
            console().print(_table(result.sources, f"crawl run {result.run_id}: {result.status}"))
        raise typer.Exit(result.exit_code)
