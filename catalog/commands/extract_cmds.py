"""`mcpcat extract`: list the tools a server's source declares, read statically (never run)."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from catalog.commands.common import JsonOption, console, print_json

__all__ = ["register"]


def _tool_json(t: Any) -> dict[str, Any]:
    return {
        "name": t.name,
        "title": t.title,
        "description": t.description,
        "input_schema": t.input_schema,
        "annotations": t.annotations,
        "file": t.file,
        "line": t.line,
        "language": t.language,
        "pattern": t.pattern,
        "unresolved": t.unresolved,
    }


def extract(
    source: Annotated[
        str, typer.Argument(help="A folder, a source file, a tar/zip archive or an archive URL.")
    ],
    as_json: JsonOption = False,
) -> None:
    """Find the MCP tools declared in a server's source, with file and line.

    Example: mcpcat extract https://api.github.com/repos/owner/repo/tarball/HEAD --json
    """
    from crawler.extract.source import extract_source

    result = extract_source(source)
    if as_json:
        print_json(
            {
                "tools": [_tool_json(t) for t in result.tools],
                "skipped": [{"file": s.file, "line": s.line, "reason": s.reason} for s in result.skipped],
                "files_scanned": result.files_scanned,
            }
        )
        return
    out = console()
    table = Table("name", "description", "annotations", "where")
    for t in result.tools:
        desc = " ".join((t.description or "").split())
        if t.unresolved:
            desc = f"{desc} [unresolved: {', '.join(t.unresolved)}]".strip()
        ann = ", ".join(f"{k}={v}" for k, v in (t.annotations or {}).items())
        table.add_row(t.name, desc[:100], ann, f"{t.file}:{t.line}")
    out.print(table)
    out.print(f"{len(result.tools)} tools in {result.files_scanned} files; {len(result.skipped)} skipped")
    for s in result.skipped:
        out.print(f"  skipped {s.file}{f':{s.line}' if s.line else ''}: {s.reason}", markup=False)


def register(app: typer.Typer) -> None:
    app.command("extract")(extract)
