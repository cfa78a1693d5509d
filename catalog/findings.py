"""Security findings across the catalog: each tool's stored flags plus tool shadowing, as rows
or as SARIF 2.1.0 so that a CI pipeline can gate on them.

A tool's own findings (hidden instructions, invisible characters, annotation conflicts,
capability tags) are computed when it is classified and stored with the classification.
Shadowing depends on the other servers, so it is computed here, over the whole catalog.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from sqlalchemy import select

from catalog import models as m
from catalog.store import Catalog

__all__ = ["SEVERITIES", "iter_findings", "sarif"]

SEVERITIES = ("low", "medium", "high")
SARIF_LEVEL = {"low": "note", "medium": "warning", "high": "error"}


def _names(catalog: Catalog) -> Iterator[tuple[str, str]]:
    tools, servers = m.Tool.__table__, m.Server.__table__
    query = (
        select(servers.c.key, tools.c.name)
        .join(servers, servers.c.id == tools.c.server_id)
        .where(tools.c.removed_at.is_(None))
    )
    with catalog.engine.connect() as conn:
        yield from conn.execute(query.execution_options(yield_per=10000))


def shadow_index(catalog: Catalog) -> dict[str, dict[str, list[str]]]:
    """shadow key -> {server: [tool names]} for the keys that more than one server uses."""
    from classifier.flags import shadow_key

    servers_of: dict[str, set[str]] = defaultdict(set)
    for server, name in _names(catalog):
        servers_of[shadow_key(name)].add(server)
    shared = {k for k, v in servers_of.items() if k and len(v) > 1}
    del servers_of
    index: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for server, name in _names(catalog):
        key = shadow_key(name)
        if key in shared:
            index[key][server].append(name)
    return index


def iter_findings(catalog: Catalog, *, min_severity: str = "low") -> Iterator[dict[str, Any]]:
    """Every finding at or above `min_severity`, by server key and tool name."""
    from classifier.flags import shadow_key, shadowing

    floor = SEVERITIES.index(min_severity)
    index = shadow_index(catalog)
    for server in catalog.iter_servers():
        for tool in server["tools"]:
            c = tool["classification"] or {}
            flags = list(c.get("flags") or [])
            others = index.get(shadow_key(tool["name"]))
            if others:
                flags += shadowing(tool["name"], {k: v for k, v in others.items() if k != server["key"]})
            for flag in flags:
                if SEVERITIES.index(flag.get("severity", "high")) < floor:
                    continue
                yield {
                    "server": server["key"],
                    "tool": tool["name"],
                    "label": c.get("label"),
                    "id": flag.get("id"),
                    "name": flag.get("name"),
                    "severity": flag.get("severity"),
                    "evidence": flag.get("evidence", ""),
                }


def sarif(findings: list[dict[str, Any]], *, version: str | None) -> dict[str, Any]:
    """A SARIF 2.1.0 log: one rule per finding id, one result per finding."""
    from classifier.flags import FLAGS_BY_ID

    rules = {}
    for f in findings:
        known = FLAGS_BY_ID.get(f["id"])
        rules[f["id"]] = {
            "id": f["id"],
            "name": f["name"],
            "shortDescription": {"text": known.message if known is not None else f["name"]},
            "defaultConfiguration": {"level": SARIF_LEVEL.get(f["severity"], "error")},
        }
    results = [
        {
            "ruleId": f["id"],
            "level": SARIF_LEVEL.get(f["severity"], "error"),
            "message": {"text": f"{f['name']} in {f['tool']} of {f['server']}: {f['evidence']}"},
            "locations": [
                {
                    "logicalLocations": [
                        {
                            "fullyQualifiedName": f"{f['server']}#{f['tool']}",
                            "name": f["tool"],
                            "kind": "function",
                        }
                    ]
                }
            ],
            "properties": {
                "server": f["server"],
                "tool": f["tool"],
                "class": f["label"],
                "severity": f["severity"],
            },
        }
        for f in findings
    ]
    return {
        "version": "2.1.0",
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "mcpcat",
                        "informationUri": "https://github.com/mcpcat/mcpcat",
                        "version": version or "unknown",
                        "rules": sorted(rules.values(), key=lambda r: r["id"]),
                    }
                },
                "results": results,
            }
        ],
    }
