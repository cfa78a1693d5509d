"""Commands over the stored catalog: import, export, override, show, stats, tools."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from catalog.commands.common import DbOption, JsonOption, console, db_url, print_json

__all__ = ["register"]


class ExportFormat(StrEnum):
    json = "json"
    jsonl = "jsonl"
    policy = "policy"
    claude_code = "claude-code"


class FindingsFormat(StrEnum):
    table = "table"
    json = "json"
    sarif = "sarif"


class Severity(StrEnum):
    low = "low"
    medium = "medium"
    high = "high"


class Label(StrEnum):
    Read = "Read"
    Write = "Write"
    Destructive = "Destructive"


def _open(db: str | None) -> Any:
    from catalog.store import Catalog

    return Catalog(db_url(db))


def import_(
    file: Annotated[Path, typer.Argument(help="A JSON Lines file, one server per line (export's shape).")],
    db: DbOption = "",
    as_json: JsonOption = False,
) -> None:
    """Load servers and their tools from JSON Lines; tools without a classification get one.

    Example: mcpcat import servers.jsonl
    """
    from catalog.classifying import classifier_version, classify_records
    from catalog.export import import_jsonl

    with _open(db) as cat:
        result = import_jsonl(cat, file, classify=classify_records, classifier_version=classifier_version())
    if as_json:
        print_json(result.as_dict())
        return
    d = result.as_dict()
    console().print(
        f"imported {d['servers']} servers, {d['tools']} tools: {d['servers_added']} servers new, "
        f"{d['tools_added']} tools new, {d['tools_changed']} changed, {d['tools_removed']} removed, "
        f"{d['classified']} classified"
    )


def export(
    fmt: Annotated[
        ExportFormat, typer.Option("--format", "-f", help="json, jsonl, policy or claude-code.")
    ] = (ExportFormat.json),
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="File to write (a folder for policies of every server)."),
    ] = None,
    server: Annotated[str | None, typer.Option("--server", help="Only this server (its key).")] = None,
    db: DbOption = "",
) -> None:
    """Export the catalog as JSON, JSON Lines, gateway policies or Claude Code permissions.

    Example: mcpcat export --format policy --server github.com/github/github-mcp-server
    """
    from catalog import export as ex

    with _open(db) as cat:
        if fmt in (ExportFormat.json, ExportFormat.jsonl):
            writer = ex.write_json if fmt is ExportFormat.json else ex.write_jsonl
            with ex.atomic_writer(output) as out:
                writer(cat, out, server_key=server)
            return
        if server is None:
            if output is None:
                raise typer.BadParameter("give --server KEY, or -o DIR for one policy file per server")
            count = ex.write_policies(cat, output, fmt=fmt.value)
            typer.echo(f"wrote {count} policy files to {output}", err=True)
            return
        detail = next(cat.iter_servers(server_key=server))
        document = (
            ex.gateway_policy(detail) if fmt is ExportFormat.policy else ex.claude_code_settings([detail])
        )
        with ex.atomic_writer(output) as out:
            json.dump(document, out, indent=2, ensure_ascii=False)
            out.write("\n")


def override(
    server: Annotated[str, typer.Argument(help="The server's key.")],
    tool: Annotated[str, typer.Argument(help="The tool's name.")],
    label: Annotated[Label | None, typer.Argument(help="Read, Write or Destructive.")] = None,
    reason: Annotated[str, typer.Option("--reason", help="Why: shown in every export.")] = "",
    remove: Annotated[bool, typer.Option("--remove", help="Remove the override instead.")] = False,
    db: DbOption = "",
) -> None:
    """Record a person's class for a tool; it wins over the classifier in every export.

    Example: mcpcat override github.com/acme/mcp purge_cache Write --reason "cache only, rebuilt hourly"
    """
    with _open(db) as cat:
        if remove:
            cat.remove_override(server, tool)
            typer.echo(f"removed the override of {tool} on {server}")
            return
        if label is None:
            raise typer.BadParameter("give a class (Read, Write or Destructive) or --remove")
        cat.set_override(server, tool, label.value, reason)
        typer.echo(f"{tool} on {server} is now {label.value} (override)")


def _first(lines: list[str]) -> str:
    return lines[0] if lines else ""


def show(
    server: Annotated[str, typer.Argument(help="The server's key (or its name when unique).")],
    db: DbOption = "",
    as_json: JsonOption = False,
) -> None:
    """A server, its sources and its tools with class, confidence and the first rationale line.

    Example: mcpcat show github.com/github/github-mcp-server
    """
    from catalog.quickread import server_detail
    from classifier import CLASSIFIER_VERSION

    detail = server_detail(db_url(db), server, CLASSIFIER_VERSION)
    if detail is None:  # not a current SQLite file: SQLAlchemy opens, migrates or explains
        with _open(db) as cat:
            detail = cat.server(server)
    if as_json:
        print_json(detail)
        return
    out = console()
    out.print(Text(detail["key"], style="bold") + Text(f"  {detail['title'] or detail['name']}"))
    if detail["description"]:
        out.print(detail["description"], markup=False)
    for listing in detail["listings"]:
        out.print(f"  listed by {listing['source']} as {listing['source_id']}", markup=False)
    for package in detail["packages"]:
        out.print(
            f"  package {package['registry_type']}:{package['identifier']} {package['version'] or ''}",
            markup=False,
        )
    for remote in detail["remotes"]:
        out.print(f"  remote {remote['transport']} {remote['url']}", markup=False)
    table = Table("tool", "class", "confidence", "why")
    for tool in detail["tools"]:
        c = tool["classification"]
        if c is None:
            table.add_row(tool["name"], "-", "-", "not classified")
            continue
        mark = " (override)" if c["source"] == "override" else ""
        table.add_row(tool["name"], c["label"] + mark, f"{c['confidence']:.2f}", _first(c["rationale"]))
    out.print(table)


def stats(db: DbOption = "", as_json: JsonOption = False) -> None:
    """Servers, tools, classes, sources and the last crawl.

    Example: mcpcat stats
    """
    with _open(db) as cat:
        numbers = cat.stats()
    if as_json:
        print_json(numbers)
        return
    table = Table("what", "count")
    table.add_row("servers", str(numbers["servers"]))
    table.add_row("tools", str(numbers["tools"]))
    table.add_row("tools removed", str(numbers["tools_removed"]))
    for label, n in numbers["classes"].items():
        table.add_row(f"  {label}", str(n))
    for source, n in numbers["sources"].items():
        table.add_row(f"listed by {source}", str(n))
    last = numbers["last_crawl"]
    table.add_row(
        "last crawl", "never" if last is None else f"#{last['id']} {last['started_at']} {last['status']}"
    )
    console().print(table)


def tools(
    query: Annotated[str, typer.Argument(help="Part of a tool name, any case.")],
    limit: Annotated[int, typer.Option("--limit", min=1, help="At most this many rows.")] = 100,
    db: DbOption = "",
    as_json: JsonOption = False,
) -> None:
    """Find tools by name across servers.

    Example: mcpcat tools delete_repo
    """
    with _open(db) as cat:
        rows = cat.find_tools(query, limit=limit)
    if as_json:
        print_json(rows)
        return
    table = Table("server", "tool", "class", "confidence", "why")
    for row in rows:
        conf = "-" if row["confidence"] is None else f"{row['confidence']:.2f}"
        label = (row["label"] or "-") + (" (override)" if row["overridden"] else "")
        table.add_row(row["server"], row["tool"], label, conf, _first(row["rationale"]))
    console().print(table)


def findings(
    fmt: Annotated[FindingsFormat, typer.Option("--format", "-f", help="table, json or sarif.")] = (
        FindingsFormat.table
    ),
    min_severity: Annotated[
        Severity, typer.Option("--min-severity", help="low, medium or high.")
    ] = Severity.low,
    fail_on: Annotated[
        Severity | None,
        typer.Option("--fail-on", help="Exit 1 if a finding of this severity or above exists."),
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here instead of stdout.")
    ] = None,
    db: DbOption = "",
) -> None:
    """Security findings across the catalog (hidden instructions, invisible text, shadowing, ...).

    Example: mcpcat findings --min-severity medium --format sarif -o mcpcat.sarif
    """
    from catalog.export import atomic_writer
    from catalog.findings import SEVERITIES, iter_findings, sarif

    with _open(db) as cat:
        rows = list(iter_findings(cat, min_severity=min_severity.value))
        version = cat.classifier_version
    if fmt is FindingsFormat.table:
        table = Table("severity", "id", "finding", "server", "tool", "evidence")
        for r in sorted(rows, key=lambda r: (-SEVERITIES.index(r["severity"]), r["server"], r["tool"])):
            table.add_row(r["severity"], r["id"], r["name"], r["server"], r["tool"], r["evidence"][:120])
        if output is None:
            console().print(table)
        else:
            with atomic_writer(output) as out:
                Console(file=out, width=200).print(table)
    else:
        document: Any = rows if fmt is FindingsFormat.json else sarif(rows, version=version)
        with atomic_writer(output) as out:
            json.dump(document, out, indent=2, ensure_ascii=False)
            out.write("\n")
    if fail_on is not None and any(
        SEVERITIES.index(r["severity"]) >= SEVERITIES.index(fail_on) for r in rows
    ):
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("import")(import_)
    app.command("export")(export)
    app.command("override")(override)
    app.command("show")(show)
    app.command("stats")(stats)
    app.command("tools")(tools)
    app.command("findings")(findings)
