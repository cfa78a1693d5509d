"""`mcpcat nightly` and `mcpcat diff`: the job cron runs, and what changed (catalog.nightly,
catalog.history do the work)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from catalog.commands.common import (
    BaseUrlOption,
    DbOption,
    JsonOption,
    NoExtractOption,
    SettingOption,
    SourceOption,
    db_url,
    print_json,
)

__all__ = ["register"]


def nightly(
    export_dir: Annotated[
        Path, typer.Option("--export-dir", help="Where the export goes; replaced as a whole each run.")
    ] = Path("export"),
    source: SourceOption = None,
    base_url: BaseUrlOption = None,
    setting: SettingOption = None,
    no_extract: NoExtractOption = False,
    db: DbOption = "",
    as_json: JsonOption = False,
) -> None:
    """Crawl every source incrementally, classify, export the catalog and a policy per server,
    and report what changed since the last run. One run at a time: a second one exits 75.

    Example: mcpcat nightly --export-dir /srv/mcpcat/export --db sqlite:////var/lib/mcpcat/catalog.db
    """
    from catalog.nightly import format_result, run_nightly
    from crawler.run import parse_assignments

    settings = parse_assignments(setting or [], "--setting")
    if no_extract:
        settings["MCPCAT_EXTRACT_ENABLED"] = "false"
    result = run_nightly(
        db_url(db),
        export_dir,
        sources=source or [],
        base_urls=parse_assignments(base_url or [], "--base-url"),
        settings=settings,
    )
    if as_json:
        print_json(result.as_dict())
    else:
        typer.echo(format_result(result))
    raise typer.Exit(result.exit_code)


def diff(
    since: Annotated[
        str | None,
        typer.Option(
            "--since", help="A crawl run id or an ISO date (UTC); default: the previous finished run."
        ),
    ] = None,
    db: DbOption = "",
    as_json: JsonOption = False,
) -> None:
    """What changed in the catalog since a run or a date: dangerous changes first (a class that
    went up, a description rewritten under the same name), then definitions changed with a
    unified diff, class changes, tools and servers added and removed.

    Example: mcpcat diff --since 2026-01-31
    """
    from catalog.history import changes_since, format_diff, resolve_since
    from catalog.store import Catalog

    with Catalog(db_url(db)) as catalog:
        cut, run_id = resolve_since(catalog.engine, since)
        result = changes_since(
            catalog.engine, cut, since_run=run_id, classifier_version=catalog.classifier_version
        )
    if as_json:
        print_json(result.as_dict())
    else:
        typer.echo(format_diff(result))


def register(app: typer.Typer) -> None:
    app.command("nightly")(nightly)
    app.command("diff")(diff)
