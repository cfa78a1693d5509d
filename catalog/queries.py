"""Reading the catalog: servers in the export's shape, stats, tool search.

Every server comes out in one shape, the one `export --format jsonl` writes and `import` reads;
`show` and the policies are views of it. A tool's classification is the one of the running
classifier version when stored, else the newest stored; a person's override wins over both.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from datetime import datetime
from json.encoder import encode_basestring_ascii  # type: ignore[attr-defined]
from types import SimpleNamespace
from typing import Any

from sqlalchemy import JSON, Engine, String, Text, cast, func, select, type_coerce

from catalog import models as m
from catalog.errors import NotFound

__all__ = [
    "MCP_ANNOTATIONS",
    "find_tools",
    "iter_server_lines",
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
                if held is None or _better(row, held, version):
                    best[row.definition_hash] = row
    return best


def _better(row: Any, held: Any, version: str | None) -> bool:
    if (row.classifier_version == version) != (held.classifier_version == version):
        return bool(row.classifier_version == version)
    return bool(row.id > held.id)  # ids grow with time: the newer one


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


def _time_text(value: Any) -> str:
    """A stored time as ISO 8601 UTC text: SQLite hands back its stored text, PostgreSQL a datetime."""
    if value is None:
        return "null"
    if isinstance(value, str):  # SQLAlchemy's SQLite format: 'YYYY-MM-DD HH:MM:SS.ffffff'
        return f'"{value[:10]}T{value[11:26]}Z"'
    return f'"{value.strftime("%Y-%m-%dT%H:%M:%S.%f")}Z"'


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _raw(column: Any) -> Any:
    """Select a JSON or time column as the database holds it: no decoding on the export path."""
    if isinstance(column.type, JSON):
        return cast(column, Text).label(column.name)
    return type_coerce(column, String).label(column.name)


def _json_text(value: Any) -> str:
    """JSON text selected raw (a str) or already decoded by the driver (PostgreSQL's json)."""
    if value is None:
        return "null"
    return value if isinstance(value, str) else json.dumps(value)


_s = encode_basestring_ascii


def _n(value: str | None) -> str:
    return "null" if value is None else _s(value)


_ANNOTATIONS_TEXT = {label: json.dumps(hints) for label, hints in MCP_ANNOTATIONS.items()}


def _classification_text(row: Any, override: Any) -> str:
    """`_classification_dict` as JSON text, from a row whose rationale and flags are raw text."""
    if row is None and override is None:
        return "null"
    if override is not None:
        decoded = None
        if row is not None:
            fields = row._asdict()
            fields["rationale"] = json.loads(_json_text(row.rationale))
            fields["flags"] = json.loads(_json_text(row.flags))
            decoded = SimpleNamespace(**fields)
        return json.dumps(_classification_dict(decoded, override))
    label = row.label if row.label in _ANNOTATIONS_TEXT else "Destructive"
    return (
        f'{{"label":{_s(row.label)},"confidence":{round(float(row.confidence), 4)!r},'
        f'"rationale":{_json_text(row.rationale)},"flags":{_json_text(row.flags)},'
        f'"classifier_version":{_n(row.classifier_version)},"source":"classifier",'
        f'"mcp_annotations":{_ANNOTATIONS_TEXT[label]}}}'
    )


def _server_lines(engine: Engine, servers: list[Any], version: str | None) -> list[str]:
    """One export line (JSON text) per server row, in the order given.

    The big columns (schemas, raw records, times) go from the database into the line as
    text, never decoded and encoded again: that is what keeps a million-tool export fast."""
    ids = [s.id for s in servers]
    listings, packages, remotes, tools = (
        m.Listing.__table__,
        m.Package.__table__,
        m.Remote.__table__,
        m.Tool.__table__,
    )
    overrides = m.Override.__table__
    parts: dict[int, dict[str, list[str]]] = {i: {"l": [], "p": [], "r": [], "t": []} for i in ids}
    with engine.connect() as conn:
        for row in conn.execute(
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
        ):
            parts[row.server_id]["l"].append(
                f'{{"source":{_s(row.source)},"source_id":{_s(row.source_id)},"url":{_n(row.url)},'
                f'"raw":{_json_text(row.raw)},"first_seen":{_time_text(row.first_seen)},'
                f'"last_seen":{_time_text(row.last_seen)}}}'
            )
        for row in conn.execute(
            select(packages)
            .where(packages.c.server_id.in_(ids))
            .order_by(packages.c.registry_type, packages.c.identifier)
        ):
            parts[row.server_id]["p"].append(
                f'{{"registry_type":{_s(row.registry_type)},"identifier":{_s(row.identifier)},'
                f'"version":{_n(row.version)},"transport":{_n(row.transport)}}}'
            )
        for row in conn.execute(select(remotes).where(remotes.c.server_id.in_(ids)).order_by(remotes.c.url)):
            parts[row.server_id]["r"].append(f'{{"transport":{_s(row.transport)},"url":{_s(row.url)}}}')
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
    key_of = {s.id: s.key for s in servers}
    for t in tool_rows:
        override = held.get((key_of[t.server_id], t.name))
        verdict = _classification_text(classes.get(t.definition_hash), override)
        chosen = (
            "null"
            if override is None
            else json.dumps(
                {"label": override.label, "reason": override.reason, "created_at": _iso(override.created_at)}
            )
        )
        parts[t.server_id]["t"].append(
            f'{{"name":{_s(t.name)},"title":{_n(t.title)},"description":{_n(t.description)},'
            f'"input_schema":{_json_text(t.input_schema)},"output_schema":{_json_text(t.output_schema)},'
            f'"annotations":{_json_text(t.annotations)},"origin":{_json_text(t.origin)},'
            f'"definition_hash":"{t.definition_hash}","first_seen":{_time_text(t.first_seen)},'
            f'"last_seen":{_time_text(t.last_seen)},"classification":{verdict},'
            f'"override":{chosen}}}'
        )
    lines = []
    for server in servers:
        p = parts[server.id]
        lines.append(
            f'{{"key":{_s(server.key)},"name":{_s(server.name)},"title":{_n(server.title)},'
            f'"description":{_n(server.description)},"repository_url":{_n(server.repository_url)},'
            f'"homepage":{_n(server.homepage)},"language":{_n(server.language)},'
            f'"first_seen":{_time_text(server.first_seen)},"last_seen":{_time_text(server.last_seen)},'
            f'"listings":[{",".join(p["l"])}],"packages":[{",".join(p["p"])}],'
            f'"remotes":[{",".join(p["r"])}],"tools":[{",".join(p["t"])}]}}'
        )
    return lines


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
