"""`mcpcat introspect`: list the tools a live remote MCP server reports (tools/list only)."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.table import Table

from catalog.commands.common import JsonOption, console, print_json

__all__ = ["register"]


def _parse_header(value: str) -> tuple[str, str]:
    name, sep, rest = value.partition(":")
    name, rest = name.strip(), rest.strip()
    if not sep or not name or any(c.isspace() for c in name):
        raise typer.BadParameter(f"expected 'Name: value', got {value!r}", param_hint="'--header'")
    return name, rest


def introspect(
    url: Annotated[str, typer.Argument(help="The server's MCP endpoint, e.g. https://example.com/mcp.")],
    header: Annotated[
        list[str] | None,
        typer.Option(
            "--header",
            "-H",
            help="A request header 'Name: value' (repeatable), e.g. for auth.",
            show_default=False,
        ),
    ] = None,
    timeout: Annotated[
        float, typer.Option("--timeout", min=0.1, help="Seconds for the whole run, all requests together.")
    ] = 30.0,
    max_pages: Annotated[
        int, typer.Option("--max-pages", min=1, help="tools/list pages to read at most.")
    ] = 50,
    as_json: JsonOption = False,
) -> None:
    """Ask a remote MCP server for its tools: the 2026-07-28 stateless request first, else the
    initialize handshake over streamable HTTP, else the older HTTP+SSE transport.

    Example: mcpcat introspect https://mcp.example.com/mcp -H 'Authorization: Bearer abc' --json
    """
    from crawler.introspect import introspect as run

    headers = dict(_parse_header(h) for h in header or [])
    result = run(url, headers=headers, timeout=timeout, max_pages=max_pages)
    if as_json:
        print_json(result.to_dict())
        return
    out = console()
    info = result.server_info or {}
    name = " ".join(str(info.get(k)) for k in ("name", "version") if info.get(k)) or "unnamed server"
    out.print(f"{name} · {result.transport} · protocol {result.protocol_version}", markup=False)
    table = Table("name", "title", "annotations", "description")
    for t in result.tools:
        ann = t.annotations or {}
        title = t.title or (ann.get("title") if isinstance(ann.get("title"), str) else None) or ""
        hints = ", ".join(f"{k}={v}" for k, v in ann.items() if k != "title")
        first_line = next((line.strip() for line in (t.description or "").splitlines() if line.strip()), "")
        table.add_row(t.name, title, hints, first_line[:100])
    out.print(table)
    pages = f"{result.pages} page{'s' if result.pages != 1 else ''}"
    out.print(f"{len(result.tools)} tools in {pages}{'' if result.complete else ' (incomplete)'}")
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)


def register(app: typer.Typer) -> None:
    app.command("introspect")(introspect)
