"""Reading the catalog: servers in the export's shape, stats, tool search.

Every server comes out in one shape, the one `export --format jsonl` writes and `import` reads;
`show` and the policies are views of it. A tool's classification is the one of the running
classifier version when stored, else the newest stored; a person's override wins over both.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, func, select

from catalog import models as m
from catalog.errors import NotFound

__all__ = [
    "MCP_ANNOTATIONS",
    "find_tools",
    "iter_servers",
    "server_detail",
    "stats",
    "tools_named",
]

MCP_ANNOTATIONS: dict[str, dict[str, bool]] = {
    "Read": {"readOnlyHint": True, "destructiveHint": False},
    "Write": {"readOnlyHint": False, "destructiveHint": False},
    "Destructive": {"readOnlyHint": False, "destructiveHint": True},
}
BATCH = 500


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def _classifications(engine: Engine, hashes: Sequence[str], version: str | None) -> dict[str, Any]:
    table = m.Classification.__table__
    best: dict[str, Any] = {}
    with engine.connect() as conn:
        for start in range(0, len(hashes), 5000):
            chunk = hashes[start : start + 5000]
            for row in conn.execute(select(table).where(table.c.definition_hash.in_(chunk))):
                held = best.get(row.definition_hash)
                if held is None or _better(row, held, version):
                    best[row.definition_hash] = row
    return best


def _better(row: Any, held: Any, version: str | None) -> bool:
    if (row.classifier_version == version) != (held.classifier_version == version):
        return bool(row.classifier_version == version)
    return bool((row.created_at, row.id) > (held.created_at, held.id))


def _classification_dict(row: Any, override: Any) -> dict[str, Any] | None:
    if override is not None:
        rationale = [
            f"override: set by a person on {override.created_at.date().isoformat()}: {override.reason}"
        ]
        if row is not None:
            rationale.append(f"classifier said {row.label} ({row.confidence:.2f})")
        return {
            "label": override.label,
            "confidence": 1.0,
            "rationale": rationale,
            "flags": list(row.flags) if row is not None else [],
            "classifier_version": row.classifier_version if row is not None else None,
            "source": "override",
            "mcp_annotations": MCP_ANNOTATIONS[override.label],
        }
    if row is None:
        return None
    return {
        "label": row.label,
        "confidence": round(float(row.confidence), 4),
        "rationale": list(row.rationale),
        "flags": list(row.flags),
        "classifier_version": row.classifier_version,
        "source": "classifier",
        "mcp_annotations": MCP_ANNOTATIONS.get(row.label, MCP_ANNOTATIONS["Destructive"]),
    }


def _servers_by_ids(engine: Engine, servers: list[Any], version: str | None) -> list[dict[str, Any]]:
    """Build export dicts for a batch of server rows, in the order given."""
    ids = [s.id for s in servers]
    listings, packages, remotes, tools = (
        m.Listing.__table__,
        m.Package.__table__,
        m.Remote.__table__,
        m.Tool.__table__,
    )
    overrides = m.Override.__table__
    by_server: dict[int, dict[str, list[Any]]] = {
        i: {"listings": [], "packages": [], "remotes": [], "tools": []} for i in ids
    }
    with engine.connect() as conn:
        for row in conn.execute(
            select(listings)
            .where(listings.c.server_id.in_(ids))
            .order_by(listings.c.source, listings.c.source_id)
        ):
            by_server[row.server_id]["listings"].append(row)
        for row in conn.execute(
            select(packages)
            .where(packages.c.server_id.in_(ids))
            .order_by(packages.c.registry_type, packages.c.identifier)
        ):
            by_server[row.server_id]["packages"].append(row)
        for row in conn.execute(select(remotes).where(remotes.c.server_id.in_(ids)).order_by(remotes.c.url)):
            by_server[row.server_id]["remotes"].append(row)
        for row in conn.execute(
            select(tools)
            .where(tools.c.server_id.in_(ids), tools.c.removed_at.is_(None))
            .order_by(tools.c.name)
        ):
            by_server[row.server_id]["tools"].append(row)
        keys = [s.key for s in servers]
        held = {
            (o.server_key, o.tool_name): o
            for o in conn.execute(select(overrides).where(overrides.c.server_key.in_(keys)))
        }
    hashes = sorted({t.definition_hash for parts in by_server.values() for t in parts["tools"]})
    classes = _classifications(engine, hashes, version)
    out = []
    for server in servers:
        parts = by_server[server.id]
        out.append(
            {
                "key": server.key,
                "name": server.name,
                "title": server.title,
                "description": server.description,
                "repository_url": server.repository_url,
                "homepage": server.homepage,
                "language": server.language,
                "first_seen": _iso(server.first_seen),
                "last_seen": _iso(server.last_seen),
                "listings": [
                    {
                        "source": x.source,
                        "source_id": x.source_id,
                        "url": x.url,
                        "raw": x.raw,
                        "first_seen": _iso(x.first_seen),
                        "last_seen": _iso(x.last_seen),
                    }
                    for x in parts["listings"]
                ],
                "packages": [
                    {
                        "registry_type": p.registry_type,
                        "identifier": p.identifier,
                        "version": p.version,
                        "transport": p.transport,
                    }
                    for p in parts["packages"]
                ],
                "remotes": [{"transport": r.transport, "url": r.url} for r in parts["remotes"]],
                "tools": [
                    _tool_dict(t, classes.get(t.definition_hash), held.get((server.key, t.name)))
                    for t in parts["tools"]
                ],
            }
        )
    return out


def _tool_dict(tool: Any, classification: Any, override: Any) -> dict[str, Any]:
    return {
        "name": tool.name,
        "title": tool.title,
        "description": tool.description,
        "input_schema": tool.input_schema,
        "output_schema": tool.output_schema,
        "annotations": tool.annotations,
        "origin": tool.origin,
        "definition_hash": tool.definition_hash,
        "first_seen": _iso(tool.first_seen),
        "last_seen": _iso(tool.last_seen),
        "classification": _classification_dict(classification, override),
        "override": None
        if override is None
        else {"label": override.label, "reason": override.reason, "created_at": _iso(override.created_at)},
    }


def iter_servers(
    engine: Engine, version: str | None, *, server_key: str | None = None
) -> Iterator[dict[str, Any]]:
    """Every server in key order, in the export's shape, a batch at a time (constant memory)."""
    servers = m.Server.__table__
    if server_key is not None:
        with engine.connect() as conn:
            row = conn.execute(select(servers).where(servers.c.key == server_key)).first()
        if row is None:
            raise NotFound(f"no server {server_key!r} in the catalog")
        yield from _servers_by_ids(engine, [row], version)
        return
    after = ""
    while True:
        with engine.connect() as conn:
            batch = list(
                conn.execute(
                    select(servers).where(servers.c.key > after).order_by(servers.c.key).limit(BATCH)
                )
            )
        if not batch:
            return
        yield from _servers_by_ids(engine, batch, version)
        after = batch[-1].key


def server_detail(engine: Engine, key: str, version: str | None) -> dict[str, Any]:
    """One server in the export's shape; the key may also be a unique server name."""
    servers = m.Server.__table__
    with engine.connect() as conn:
        row = conn.execute(select(servers).where(servers.c.key == key)).first()
        if row is None:
            named = list(conn.execute(select(servers).where(servers.c.name == key).limit(3)))
            if len(named) == 1:
                row = named[0]
            elif len(named) > 1:
                raise NotFound(f"{key!r} names several servers: {', '.join(r.key for r in named)}")
    if row is None:
        raise NotFound(f"no server {key!r} in the catalog")
    return _servers_by_ids(engine, [row], version)[0]


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
            "started_at": _iso(last.started_at),
            "finished_at": _iso(last.finished_at),
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
        c = _classification_dict(classes.get(row.definition_hash), held.get((row.key, row.name)))
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
