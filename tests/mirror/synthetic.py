"""Synthetic official-registry entries, for benchmarks and resume tests (deterministic)."""

from __future__ import annotations

from typing import Any

__all__ = ["official_entries"]

OFFICIAL_META = "io.modelcontextprotocol.registry/official"
SCHEMA = "https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json"


def official_entries(n: int, *, updated: str = "2025-10-01T00:00:00Z") -> list[dict[str, Any]]:
    """`n` current-schema entries sorted by name, a third with an npm package, a fifth with a
    PyPI package and a remote, every tenth in a monorepo sub-folder."""
    out = []
    for i in range(n):
        owner, name = f"owner{i // 7:05d}", f"server-{i:06d}"
        server: dict[str, Any] = {
            "$schema": SCHEMA,
            "name": f"io.github.{owner}/{name}",
            "description": f"Synthetic MCP server number {i} for benchmarks",
            "version": f"1.{i % 10}.0",
            "repository": {
                "url": f"https://github.com/{owner}/{name}",
                "source": "github",
                "id": str(10_000_000 + i),
            },
        }
        if i % 10 == 0:
            server["repository"] = {
                "url": f"https://github.com/{owner}/monorepo",
                "source": "github",
                "subfolder": f"servers/{name}",
            }
        if i % 3 == 0:
            server["packages"] = [
                {
                    "registryType": "npm",
                    "identifier": f"@{owner}/{name}",
                    "version": "1.0.0",
                    "runtimeHint": "npx",
                    "transport": {"type": "stdio"},
                    "environmentVariables": [{"name": "API_KEY", "isRequired": True, "isSecret": True}],
                }
            ]
        if i % 5 == 0:
            server.setdefault("packages", []).append(
                {
                    "registryType": "pypi",
                    "identifier": f"{name}-py",
                    "version": "0.1.0",
                    "transport": {"type": "stdio"},
                }
            )
            server["remotes"] = [{"type": "streamable-http", "url": f"https://{name}.example.com/mcp"}]
        out.append(
            {
                "server": server,
                "_meta": {
                    OFFICIAL_META: {
                        "status": "active",
                        "publishedAt": "2025-09-01T00:00:00Z",
                        "updatedAt": updated,
                        "isLatest": True,
                    }
                },
            }
        )
    out.sort(key=lambda e: f"{e['server']['name']}:{e['server']['version']}")
    return out
