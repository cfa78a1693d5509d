"""The export's shape: a server line of JSON text built from database rows.

Pure functions, no SQLAlchemy: `catalog.queries` feeds them rows fetched through SQLAlchemy,
`catalog.quickread` rows fetched with the standard library's sqlite3 (for a fast `show`).
Rows are objects with the table's column names as attributes; JSON and time columns come
as the text the database holds (or as values a driver already decoded).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from json.encoder import encode_basestring_ascii  # type: ignore[attr-defined]
from types import SimpleNamespace
from typing import Any

__all__ = [
    "MCP_ANNOTATIONS",
    "better",
    "classification_dict",
    "iso",
    "server_lines",
]

MCP_ANNOTATIONS: dict[str, dict[str, bool]] = {
    "Read": {"readOnlyHint": True, "destructiveHint": False},
    "Write": {"readOnlyHint": False, "destructiveHint": False},
    "Destructive": {"readOnlyHint": False, "destructiveHint": True},
}
_ANNOTATIONS_TEXT = {label: json.dumps(hints) for label, hints in MCP_ANNOTATIONS.items()}


def better(row: Any, held: Any, version: str | None) -> bool:
    """Whether classification `row` beats `held`: the running version's first, then the newest."""
    if (row.classifier_version == version) != (held.classifier_version == version):
        return bool(row.classifier_version == version)
    return bool(row.id > held.id)  # ids grow with time: the newer one


def classification_dict(row: Any, override: Any) -> dict[str, Any] | None:
    """A tool's classification in the export's shape; a person's override wins."""
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


def time_text(value: Any) -> str:
    """A stored time as ISO 8601 UTC text: SQLite hands back its stored text, PostgreSQL a datetime."""
    if value is None:
        return "null"
    if isinstance(value, str):  # SQLAlchemy's SQLite format: 'YYYY-MM-DD HH:MM:SS.ffffff'
        return f'"{value[:10]}T{value[11:26]}Z"'
    return f'"{value.strftime("%Y-%m-%dT%H:%M:%S.%f")}Z"'


def iso(value: datetime | None) -> str | None:
    return None if value is None else value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def json_text(value: Any) -> str:
    """JSON text selected raw (a str) or already decoded by the driver (PostgreSQL's json)."""
    if value is None:
        return "null"
    return value if isinstance(value, str) else json.dumps(value)


_s = encode_basestring_ascii


def _n(value: str | None) -> str:
    return "null" if value is None else _s(value)


def classification_text(row: Any, override: Any) -> str:
    """`classification_dict` as JSON text, from a row whose rationale and flags are raw text."""
    if row is None and override is None:
        return "null"
    if override is not None:
        decoded = None
        if row is not None:
            fields = row._asdict()
            fields["rationale"] = json.loads(json_text(row.rationale))
            fields["flags"] = json.loads(json_text(row.flags))
            decoded = SimpleNamespace(**fields)
        return json.dumps(classification_dict(decoded, override))
    label = row.label if row.label in _ANNOTATIONS_TEXT else "Destructive"
    return (
        f'{{"label":{_s(row.label)},"confidence":{round(float(row.confidence), 4)!r},'
        f'"rationale":{json_text(row.rationale)},"flags":{json_text(row.flags)},'
        f'"classifier_version":{_n(row.classifier_version)},"source":"classifier",'
        f'"mcp_annotations":{_ANNOTATIONS_TEXT[label]}}}'
    )


def server_lines(
    servers: list[Any],
    listings: Iterable[Any],
    packages: Iterable[Any],
    remotes: Iterable[Any],
    tools: Iterable[Any],
    overrides: Mapping[tuple[str, str], Any],
    classes: Mapping[str, Any],
) -> list[str]:
    """One export line (JSON text) per server row, in the order given.

    Child rows carry `server_id` and come in the export's order; `overrides` is keyed by
    (server key, tool name), `classes` by definition hash (rationale and flags as raw text).
    The big columns (schemas, raw records, times) go into the line as the text the database
    holds, never decoded and encoded again: that is what keeps a million-tool export fast."""
    parts: dict[int, dict[str, list[str]]] = {s.id: {"l": [], "p": [], "r": [], "t": []} for s in servers}
    for row in listings:
        parts[row.server_id]["l"].append(
            f'{{"source":{_s(row.source)},"source_id":{_s(row.source_id)},"url":{_n(row.url)},'
            f'"raw":{json_text(row.raw)},"first_seen":{time_text(row.first_seen)},'
            f'"last_seen":{time_text(row.last_seen)}}}'
        )
    for row in packages:
        parts[row.server_id]["p"].append(
            f'{{"registry_type":{_s(row.registry_type)},"identifier":{_s(row.identifier)},'
            f'"version":{_n(row.version)},"transport":{_n(row.transport)}}}'
        )
    for row in remotes:
        parts[row.server_id]["r"].append(f'{{"transport":{_s(row.transport)},"url":{_s(row.url)}}}')
    key_of = {s.id: s.key for s in servers}
    for t in tools:
        override = overrides.get((key_of[t.server_id], t.name))
        verdict = classification_text(classes.get(t.definition_hash), override)
        chosen = (
            "null"
            if override is None
            else json.dumps(
                {"label": override.label, "reason": override.reason, "created_at": iso(override.created_at)}
            )
        )
        parts[t.server_id]["t"].append(
            f'{{"name":{_s(t.name)},"title":{_n(t.title)},"description":{_n(t.description)},'
            f'"input_schema":{json_text(t.input_schema)},"output_schema":{json_text(t.output_schema)},'
            f'"annotations":{json_text(t.annotations)},"origin":{json_text(t.origin)},'
            f'"definition_hash":"{t.definition_hash}","first_seen":{time_text(t.first_seen)},'
            f'"last_seen":{time_text(t.last_seen)},"classification":{verdict},'
            f'"override":{chosen}}}'
        )
    lines = []
    for server in servers:
        p = parts[server.id]
        lines.append(
            f'{{"key":{_s(server.key)},"name":{_s(server.name)},"title":{_n(server.title)},'
            f'"description":{_n(server.description)},"repository_url":{_n(server.repository_url)},'
            f'"homepage":{_n(server.homepage)},"language":{_n(server.language)},'
            f'"first_seen":{time_text(server.first_seen)},"last_seen":{time_text(server.last_seen)},'
            f'"listings":[{",".join(p["l"])}],"packages":[{",".join(p["p"])}],'
            f'"remotes":[{",".join(p["r"])}],"tools":[{",".join(p["t"])}]}}'
        )
    return lines
