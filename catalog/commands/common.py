"""What every command shares: the --db and --json options, output helpers, opening the catalog."""

from __future__ import annotations

import json
import os
import sys
from typing import Annotated, Any

import typer
from rich.console import Console

DEFAULT_DB = "sqlite:///catalog.db"

DbOption = Annotated[
    str,
    typer.Option(
        "--db",
        envvar="MCPCAT_DB",
        help="Database URL (SQLAlchemy form). Default: sqlite:///catalog.db in the working directory.",
        show_default=False,
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]

# The crawl's options, shared by `crawl` and `nightly`.
SourceOption = Annotated[
    list[str] | None, typer.Option("--source", "-s", help="A source to crawl (repeatable); default: all.")
]
BaseUrlOption = Annotated[
    list[str] | None,
    typer.Option("--base-url", help="NAME=URL: crawl a source from another base URL (repeatable)."),
]
SettingOption = Annotated[
    list[str] | None, typer.Option("--setting", help="KEY=VALUE: a Scrapy/mcpcat setting (repeatable).")
]
NoExtractOption = Annotated[
    bool,
    typer.Option(
        "--no-extract",
        help="Do not look for tools of servers no source lists them for "
        "(no introspection of remotes, no source archive downloads).",
    ),
]


def db_url(value: str | None) -> str:
    return value or os.environ.get("MCPCAT_DB") or DEFAULT_DB


def console() -> Console:
    """A console on the current stdout (CliRunner swaps it, so never cache one). Crawled text
    is printed as it is: no markup (a '[/x]' in a description), no ':emoji:' codes."""
    return Console(file=sys.stdout, soft_wrap=True, markup=False, emoji=False, highlight=False)


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, ensure_ascii=False, default=str) + "\n")
