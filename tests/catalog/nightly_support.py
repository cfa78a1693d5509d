"""Helpers for the nightly tests: a small mirror whose Smithery data the test edits between
runs, `mcpcat nightly` in a subprocess (Twisted's reactor runs once per process), and checks
that a catalog and an export are whole."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.mirror import DEFAULT_KEYS, Mirror
from tests.mirror.harness import FAST
from tests.mirror.synthetic import official_entries

MCPCAT = Path(sys.executable).with_name("mcpcat")
CONTROL_NAME = "get\x1b[31mred\x07"


def smithery_server(name: str, tools: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "qualifiedName": name,
        "displayName": name.split("/")[-1],
        "description": f"The {name} server",
        "homepage": f"https://smithery.ai/server/{name}",
        "deploymentUrl": f"https://server.smithery.ai/{name}",
        "tools": tools,
    }


def tool(name: str, description: str) -> dict[str, Any]:
    return {
        "name": name,
        "description": description,
        "inputSchema": {"type": "object", "properties": {"path": {"type": "string"}}},
    }


class SmallMirror:
    """Official: `official` synthetic servers; Smithery: acme/files (read_file's description
    changes with every `bump()`), acme/ctl (a tool name with control characters)."""

    def __init__(self, root: Path, *, official: int = 30) -> None:
        (root / "smithery").mkdir(parents=True)
        (root / "smithery" / "servers.json").write_text("[]")
        self.mirror = Mirror(root, official=official_entries(official)).start()
        self.generation = 0
        self.extra: list[dict[str, Any]] = []
        self.bump()

    def servers(self) -> list[dict[str, Any]]:
        return self.mirror.data.load("smithery", "servers.json")  # type: ignore[no-any-return]

    def bump(self) -> None:
        """A new definition of acme/files read_file, as if its author changed it."""
        self.generation += 1
        data = [
            smithery_server(
                "acme/files",
                [
                    tool("read_file", f"Read a file from the disk (generation {self.generation})"),
                    tool("list_files", "List the files of a folder"),
                ],
            ),
            smithery_server("acme/ctl", [tool(CONTROL_NAME, "Get the colour \u202eeulav")]),
            *self.extra,
        ]
        servers = self.servers()
        servers[:] = data  # the mirror serves its cached list: edit it in place

    def stop(self) -> None:
        self.mirror.stop()


def nightly_cmd(mirror: Mirror, workdir: Path, *extra: str, export_dir: Path | None = None) -> list[str]:
    cmd = [
        str(MCPCAT),
        "nightly",
        "--no-extract",
        "--db",
        f"sqlite:///{workdir / 'catalog.db'}",
        "--export-dir",
        str(export_dir or workdir / "out" / "export"),
    ]
    for s in ("official", "smithery"):
        cmd += ["--source", s, "--base-url", f"{s}={mirror.base(s)}"]
    settings = {
        **FAST,
        "MCPCAT_PAGE_SIZE": "5",
        "MCPCAT_STORE_BATCH": "5",
        "MCPCAT_JOBDIR": str(workdir / "jobs"),
        "HTTPCACHE_DIR": str(workdir / "cache"),
    }
    for k, v in settings.items():
        cmd += ["--setting", f"{k}={v}"]
    return cmd + list(extra)


def nightly_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MCPCAT_", "SMITHERY_", "GLAMA_"))}
    env["SMITHERY_API_KEY"] = DEFAULT_KEYS["smithery"]
    return env


@dataclass
class Done:
    code: int
    stdout: str
    stderr: str


def run_nightly(mirror: Mirror, workdir: Path, *extra: str, export_dir: Path | None = None) -> Done:
    proc = subprocess.run(
        nightly_cmd(mirror, workdir, *extra, export_dir=export_dir),
        capture_output=True,
        text=True,
        timeout=120,
        env=nightly_env(),
        cwd=workdir,
    )
    return Done(proc.returncode, proc.stdout, proc.stderr)


def rows(workdir: Path, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(workdir / "catalog.db") as conn:
        return list(conn.execute(sql))


def integrity(workdir: Path) -> str:
    return str(rows(workdir, "PRAGMA integrity_check")[0][0])


def stored_versions(workdir: Path) -> set[tuple[str, str, str]]:
    return set(
        rows(
            workdir,
            "select s.key, t.name, v.definition_hash from tool_versions v "
            "join tools t on t.id = v.tool_id join servers s on s.id = t.server_id",
        )
    )


def check_export(export_dir: Path) -> dict[str, Any]:
    """Assert the export is one whole set (its files agree with its manifest); return the manifest."""
    manifest = json.loads((export_dir / "manifest.json").read_text("utf-8"))
    lines = (export_dir / "catalog.jsonl").read_text("utf-8").splitlines()
    assert len(lines) == manifest["servers"]
    keys = [json.loads(line)["key"] for line in lines]
    document = json.loads((export_dir / "catalog.json").read_text("utf-8"))
    assert [s["key"] for s in document["servers"]] == keys
    policies = sorted((export_dir / "policies").iterdir())
    assert len(policies) == manifest["policies"] == len(keys)
    for path in policies:
        assert json.loads(path.read_text("utf-8"))["default"] == "deny"
    if "report.json" in manifest["files"]:
        json.loads((export_dir / "report.json").read_text("utf-8"))
    return manifest  # type: ignore[no-any-return]
