"""Runs `mcpcat crawl` in a subprocess against a Mirror (Twisted's reactor runs once per process)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.mirror.server import DEFAULT_KEYS, Mirror

__all__ = ["FAST", "CrawlRun", "catalog_rows", "run_crawl_cli"]

# No politeness delays on loopback; short backoff so retry tests stay quick. Tool sourcing
# (introspection, archive downloads) is off: fixture servers name real hosts, and tests
# never touch the internet. The sourcing tests turn it on against the mirror.
FAST = {
    "MCPCAT_EXTRACT_ENABLED": "false",
    "AUTOTHROTTLE_ENABLED": "false",
    "DOWNLOAD_DELAY": "0",
    "MCPCAT_RETRY_BACKOFF_BASE": "0.05",
    "RETRY_TIMES": "3",
    "DOWNLOAD_TIMEOUT": "10",
}
MCPCAT = Path(sys.executable).with_name("mcpcat")


@dataclass
class CrawlRun:
    code: int
    stdout: str
    stderr: str

    @property
    def result(self) -> dict[str, Any]:
        return json.loads(self.stdout)  # type: ignore[no-any-return]

    def source(self, name: str) -> dict[str, Any]:
        return next(s for s in self.result["sources"] if s["source"] == name)


def run_crawl_cli(
    mirror: Mirror,
    workdir: Path,
    *sources: str,
    args: tuple[str, ...] = (),
    settings: dict[str, str] | None = None,
    env: dict[str, str] | None = None,
    keys: bool = True,
    timeout: float = 120,
) -> CrawlRun:
    """`mcpcat crawl --json` of `sources` (each pointed at the mirror) into workdir/catalog.db."""
    cmd = [str(MCPCAT), "crawl", "--json", "--db", f"sqlite:///{workdir / 'catalog.db'}"]
    for s in sources:
        cmd += ["--source", s, "--base-url", f"{s}={mirror.base(s)}"]
    merged = {
        **FAST,
        "MCPCAT_JOBDIR": str(workdir / "jobs"),
        "HTTPCACHE_DIR": str(workdir / "cache"),
        **(settings or {}),
    }
    for k, v in merged.items():
        cmd += ["--setting", f"{k}={v}"]
    cmd += list(args)
    full_env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("MCPCAT_", "SMITHERY_", "GLAMA_", "PULSEMCP_"))
    }
    if keys:
        full_env |= {
            "SMITHERY_API_KEY": DEFAULT_KEYS["smithery"],
            "GLAMA_API_KEY": DEFAULT_KEYS["glama"],
            "PULSEMCP_API_KEY": DEFAULT_KEYS["pulsemcp"],
        }
    full_env |= env or {}
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=full_env, cwd=workdir)
    return CrawlRun(proc.returncode, proc.stdout, proc.stderr)


def catalog_rows(workdir: Path, sql: str) -> list[tuple[Any, ...]]:
    import sqlite3

    with sqlite3.connect(workdir / "catalog.db") as conn:
        return list(conn.execute(sql))
