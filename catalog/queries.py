"""Reading the catalog: servers in the export's shape, stats, tool search.

Every server comes out in one shape, the one `export --format jsonl` writes and `import` reads;
`show` and the policies are views of it. A tool's classification is the one of the running
classifier version when stored, else the newest stored; a person's override wins over both.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import JSON, Engine, String, Text, cast, func, select, type_coerce

from catalog import models as m
from catalog.errors import NotFound
from catalog.shape import MCP_ANNOTATIONS, better, classification_dict, iso, server_lines

__all__ = [
    "MCP_ANNOTATIONS",
    "find_tools",
    "iter_server_lines",
    "iter_servers",
    "server_detail",
    "stats",
    "tools_named",
]

BATCH = 500


def _classifications(
    engine: Engine, hashes: Sequence[str], version: str | None, *, raw: bool = False
) -> dict[str, Any]:
    """For each hash, the classification of `version` if stored, else the newest stored
    (`raw`: rationale and flags as the JSON text the database holds)."""
    table = m.Classification.__table__
    rationale, flags = (
        (_raw(table.c.rationale), _raw(table.c.flags)) if raw else (table.c.rationale, table.c.flags)
    )
    columns = [
        table.c.id,
        table.c.definition_hash,
        table.c.classifier_version,
        table.c.label,
        table.c.confidence,
        rationale,
        flags,
    ]
    best: dict[str, Any] = {}
    with engine.connect() as conn:
        for start in range(0, len(hashes), 5000):
            chunk = hashes[start : start + 5000]
            for row in conn.execute(select(*columns).where(table.c.definition_hash.in_(chunk))):
                held = best.get(row.definition_hash)
                if held is None or better(row, held, version):
                    best[row.definition_hash] = row
    return best


def _raw(column: Any) -> Any:
    """Select a JSON or time column as the database holds it: no decoding on the export path."""
    if isinstance(column.type, JSON):
        return cast(column, Text).label(column.name)
    return type_coerce(column, String).label(column.name)


def _server_lines(engine: Engine, servers: list[Any], version: str | None) -> list[str]:
    """One export line (JSON text) per server row, in the order given (see `shape.server_lines`)."""
    ids = [s.id for s in servers]
    listings, packages, remotes, tools = (
        m.Listing.__table__,
        m.Package.__table__,
        m.Remote.__table__,
        m.Tool.__table__,
    )
    overrides = m.Override.__table__
    with engine.connect() as conn:
        listing_rows = list(
            conn.execute(
                select(
                    listings.c.server_id,
                    listings.c.source,
                    listings.c.source_id,
                    listings.c.url,
                    _raw(listings.c.raw),
                    _raw(listings.c.first_seen),
                    _raw(listings.c.last_seen),
                )
                .where(listings.c.server_id.in_(ids))
                .order_by(listings.c.source, listings.c.source_id)
            )
        )
        package_rows = list(
            conn.execute(
                select(packages)
                .where(packages.c.server_id.in_(ids))
                .order_by(packages.c.registry_type, packages.c.identifier)
            )
        )
        remote_rows = list(
            conn.execute(select(remotes).where(remotes.c.server_id.in_(ids)).order_by(remotes.c.url))
        )
        tool_rows = list(
            conn.execute(
                select(
                    tools.c.server_id,
                    tools.c.name,
                    tools.c.title,
                    tools.c.description,
                    _raw(tools.c.input_schema),
                    _raw(tools.c.output_schema),
                    _raw(tools.c.annotations),
                    _raw(tools.c.origin),
                    tools.c.definition_hash,
                    _raw(tools.c.first_seen),
                    _raw(tools.c.last_seen),
                )
                .where(tools.c.server_id.in_(ids), tools.c.removed_at.is_(None))
                .order_by(tools.c.name)
            )
        )
        held = {
            (o.server_key, o.tool_name): o
            for o in conn.execute(
                select(overrides).where(overrides.c.server_key.in_([s.key for s in servers]))
            )
        }
    classes = _classifications(engine, sorted({t.definition_hash for t in tool_rows}), version, raw=True)
    return server_lines(servers, listing_rows, package_rows, remote_rows, tool_rows, held, classes)


def _server_rows(engine: Engine, where: Any, limit: int) -> list[Any]:
    servers = m.Server.__table__
    columns = [c if c.name not in ("first_seen", "last_seen") else _raw(c) for c in servers.columns]
    with engine.connect() as conn:
        return list(conn.execute(select(*columns).where(where).order_by(servers.c.key).limit(limit)))


def iter_server_lines(engine: Engine, version: str | None, *, server_key: str | None = None) -> Iterator[str]:
    """Every server in key order as one line of JSON text, a batch at a time (constant memory)."""
    servers = m.Server.__table__
    if server_key is not None:
        rows = _server_rows(engine, servers.c.key == server_key, 1)
        if not rows:
            raise NotFound(f"no server {server_key!r} in the catalog")
        yield from _server_lines(engine, rows, version)
        return
    after = ""
    while True:
        batch = _server_rows(engine, servers.c.key > after, BATCH)
        if not batch:
            return
        yield from _server_lines(engine, batch, version)
        after = batch[-1].key


def iter_servers(
    engine: Engine, version: str | None, *, server_key: str | None = None
) -> Iterator[dict[str, Any]]:
    """Every server in key order, in the export's shape (the lines above, parsed)."""
    for line in iter_server_lines(engine, version, server_key=server_key):
        yield json.loads(line)


def server_detail(engine: Engine, key: str, version: str | None) -> dict[str, Any]:
    """One server in the export's shape; the key may also be a unique server name."""
    servers = m.Server.__table__
    rows = _server_rows(engine, servers.c.key == key, 1) or _server_rows(engine, servers.c.name == key, 3)
    if not rows:
        raise NotFound(f"no server {key!r} in the catalog")
    if len(rows) > 1:
        raise NotFound(f"{key!r} names several servers: {', '.join(r.key for r in rows)}")
    return dict(json.loads(_server_lines(engine, rows, version)[0]))


def stats(engine: Engine, version: str | None) -> dict[str, Any]:
    """Servers, tools, classes, sources and the last crawl."""
    servers, tools, listings, runs = (
        m.Server.__table__,
        m.Tool.__table__,
        m.Listing.__table__,
        m.CrawlRun.__table__,
    )
    classes = m.Classification.__table__
    with engine.connect() as conn:
        n_servers = conn.execute(select(func.count()).select_from(servers)).scalar_one()
        n_tools = conn.execute(
            select(func.count()).select_from(tools).where(tools.c.removed_at.is_(None))
        ).scalar_one()
        n_removed = conn.execute(
            select(func.count()).select_from(tools).where(tools.c.removed_at.is_not(None))
        ).scalar_one()
        by_source = dict(
            conn.execute(
                select(listings.c.source, func.count(func.distinct(listings.c.server_id)))
                .group_by(listings.c.source)
                .order_by(listings.c.source)
            ).all()
        )
        current = (select(tools.c.definition_hash).where(tools.c.removed_at.is_(None))).subquery()
        label_rows = conn.execute(
            select(classes.c.label, func.count())
            .select_from(current.join(classes, classes.c.definition_hash == current.c.definition_hash))
            .where(classes.c.classifier_version == version)
            .group_by(classes.c.label)
        ).all()
        last = conn.execute(select(runs).order_by(runs.c.started_at.desc()).limit(1)).first()
    by_label = {label: 0 for label in MCP_ANNOTATIONS}
    by_label.update({label: int(n) for label, n in label_rows})
    by_label["unclassified"] = int(n_tools) - sum(by_label[k] for k in MCP_ANNOTATIONS)
    return {
        "servers": int(n_servers),
        "tools": int(n_tools),
        "tools_removed": int(n_removed),
        "classes": by_label,
        "classifier_version": version,
        "sources": {k: int(v) for k, v in by_source.items()},
        "last_crawl": None
        if last is None
        else {
            "id": last.id,
            "started_at": iso(last.started_at),
            "finished_at": iso(last.finished_at),
            "status": last.status,
            "sources": last.sources,
            "counts": last.counts,
            "errors": len(last.errors or []),
        },
    }


def _tool_rows(engine: Engine, where: Any, version: str | None, limit: int) -> list[dict[str, Any]]:
    tools, servers, overrides = m.Tool.__table__, m.Server.__table__, m.Override.__table__
    with engine.connect() as conn:
        rows = list(
            conn.execute(
                select(tools.c.name, tools.c.description, tools.c.definition_hash, servers.c.key)
                .join(servers, servers.c.id == tools.c.server_id)
                .where(where, tools.c.removed_at.is_(None))
                .order_by(tools.c.name, servers.c.key)
                .limit(limit)
            )
        )
        held = {
            (o.server_key, o.tool_name): o
            for o in conn.execute(select(overrides).where(overrides.c.tool_name.in_({r.name for r in rows})))
        }
    classes = _classifications(engine, sorted({r.definition_hash for r in rows}), version)
    out = []
    for row in rows:
        c = classification_dict(classes.get(row.definition_hash), held.get((row.key, row.name)))
        out.append(
            {
                "server": row.key,
                "tool": row.name,
                "label": c["label"] if c else None,
                "confidence": c["confidence"] if c else None,
                "rationale": c["rationale"] if c else [],
                "overridden": bool(c and c["source"] == "override"),
                "description": (row.description or "").strip().split("\n")[0][:200],
            }
        )
    return out


def find_tools(engine: Engine, query: str, version: str | None, *, limit: int = 100) -> list[dict[str, Any]]:
    """Tools whose name contains `query` (case-insensitive), across servers."""
    pattern = "%" + query.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    return _tool_rows(engine, func.lower(m.Tool.__table__.c.name).like(pattern, escape="\\"), version, limit)


def tools_named(engine: Engine, name: str, version: str | None, *, limit: int = 100) -> list[dict[str, Any]]:
    """Stored tools with exactly this name, one row per server."""
    return _tool_rows(engine, m.Tool.__table__.c.name == name, version, limit)
