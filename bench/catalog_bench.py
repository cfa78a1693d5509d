"""Catalog benchmark: import, export and show on a synthetic catalog, on embedded SQLite.

    python bench/catalog_bench.py                      # 50,000 servers x 20 tools (1,000,000 tools)
    python bench/catalog_bench.py --servers 5000       # a quick run
    python bench/catalog_bench.py --unclassified       # lines without classifications: import classifies

Each step runs the installed `mcpcat` in a subprocess, so times include start-up, and peak
memory is the child's maximum resident set size. Goals (issue 2): import <= 120 s,
export --format jsonl <= 60 s with peak memory <= 500 MB flat in catalog size, show <= 0.5 s.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MCPCAT = str(Path(sys.executable).with_name("mcpcat"))
VERBS = {
    "Read": ["get", "list", "search", "describe", "fetch", "show", "count", "find"],
    "Write": ["create", "update", "add", "send", "post", "upload", "rename", "schedule"],
    "Destructive": ["delete", "remove", "drop", "purge", "terminate", "revoke", "reset", "overwrite"],
}
NOUNS = [
    "issue",
    "file",
    "record",
    "user",
    "message",
    "bucket",
    "pod",
    "invoice",
    "event",
    "table",
    "branch",
    "ticket",
    "contact",
    "dashboard",
    "secret",
    "playlist",
    "order",
    "page",
    "row",
    "channel",
]


def synthetic_server(i: int, rng: random.Random, tools: int, classified: bool) -> dict:
    owner = f"org{i % 977}"
    tool_list = []
    for j in range(tools):
        label = rng.choices(["Read", "Write", "Destructive"], weights=[6, 3, 2])[0]
        verb, noun = rng.choice(VERBS[label]), NOUNS[(i + j) % len(NOUNS)]
        tool = {
            "name": f"{verb}_{noun}_{j}",
            "description": f"{verb.capitalize()} a {noun} in the {owner} workspace. Server {i}, tool {j}.",
            "input_schema": {
                "type": "object",
                "properties": {
                    "id": {"type": "string", "description": f"{noun} id"},
                    "limit": {"type": "integer"},
                },
                "required": ["id"],
            },
        }
        if classified:
            tool["classification"] = {
                "label": label,
                "confidence": 0.9,
                "rationale": [f"R101 verb: '{verb}'"],
                "flags": [],
                "classifier_version": "bench",
            }
        tool_list.append(tool)
    return {
        "key": f"github.com/{owner}/server-{i}",
        "name": f"server-{i}",
        "description": f"Synthetic MCP server number {i}",
        "repository_url": f"https://github.com/{owner}/server-{i}",
        "listings": [
            {
                "source": "official",
                "source_id": f"io.github.{owner}/server-{i}",
                "raw": {"name": f"io.github.{owner}/server-{i}", "version": "1.0.0"},
            }
        ],
        "packages": [
            {
                "registry_type": "npm",
                "identifier": f"@{owner}/server-{i}",
                "version": "1.0.0",
                "transport": "stdio",
            }
        ],
        "tools": tool_list,
    }


def generate(path: Path, servers: int, tools: int, classified: bool) -> None:
    rng = random.Random(7)
    with path.open("w") as f:
        for i in range(servers):
            f.write(json.dumps(synthetic_server(i, rng, tools, classified)) + "\n")


def peak_of(args: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(seconds, peak RSS in MB) of one `mcpcat` run, measured by a fresh parent process."""
    code = (
        "import resource,subprocess,sys,time;"
        "t=time.perf_counter();subprocess.run(sys.argv[1:],check=True,stdout=subprocess.DEVNULL);"
        "print(time.perf_counter()-t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss/1024)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, MCPCAT, *args], check=True, env=env, capture_output=True, text=True
    ).stdout.split()
    return float(out[0]), float(out[1])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--servers", type=int, default=50_000)
    parser.add_argument("--tools", type=int, default=20)
    parser.add_argument("--unclassified", action="store_true", help="import classifies every tool")
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it")
    args = parser.parse_args()

    work = args.keep or Path(tempfile.mkdtemp(prefix="mcpcat-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    data = work / f"catalog-{args.servers}x{args.tools}.jsonl"
    db = work / "bench.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    env = {**os.environ, "MCPCAT_DB": f"sqlite:///{db}"}

    t = time.perf_counter()
    generate(data, args.servers, args.tools, classified=not args.unclassified)
    print(
        f"generated {args.servers:,} servers x {args.tools} tools in {time.perf_counter() - t:.1f} s "
        f"({data.stat().st_size / 1e6:.0f} MB)"
    )

    import_s, import_mb = peak_of(["import", str(data)], env)
    print(
        f"import:              {import_s:7.1f} s   peak {import_mb:6.0f} MB   "
        f"({args.servers * args.tools / import_s:,.0f} tools/s)"
    )
    export_s, export_mb = peak_of(["export", "--format", "jsonl", "-o", str(work / "out.jsonl")], env)
    print(
        f"export --format jsonl:{export_s:7.1f} s   peak {export_mb:6.0f} MB   "
        f"({args.servers * args.tools / export_s:,.0f} tools/s)"
    )
    rng = random.Random(1)
    shows = []
    for _ in range(7):
        i = rng.randrange(args.servers)
        seconds, _mb = peak_of(["show", f"github.com/org{i % 977}/server-{i}", "--json"], env)
        shows.append(seconds)
    print(
        f"show (median of 7):  {statistics.median(shows):7.2f} s   "
        f"(min {min(shows):.2f}, max {max(shows):.2f})"
    )
    print(f"database: {db.stat().st_size / 1e6:.0f} MB in {work}")


if __name__ == "__main__":
    main()
