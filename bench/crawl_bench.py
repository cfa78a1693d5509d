"""Crawl benchmark: the local mirror serves N servers through the official registry API on
loopback; `mcpcat crawl` crawls and stores them, then runs again incrementally.

    /work/venv/bin/python bench/crawl_bench.py --servers 50000 --repeat 3

Reports medians of: first run servers/s (crawl + store, whole process wall time), the
crawler process's peak RSS, and the second (incremental, nothing changed) run's time as a
share of the first's. Targets (issue 4): >= 300 servers/s, <= 400 MB, <= 10 %.
Politeness delays are off: the mirror on 127.0.0.1 is ours. Tool sourcing is off too
(MCPCAT_EXTRACT_ENABLED=false, i.e. `--no-extract`): the synthetic servers list no tools and
name made-up GitHub repositories and remotes, so with it on every server would be an
introspection attempt and an archive download, against hosts that do not exist; this
benchmark measures crawl and store. Sourcing has its own tests (tests/crawler/test_crawl_extract*).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.mirror import FIXTURES, Mirror  # noqa: E402
from tests.mirror.synthetic import official_entries  # noqa: E402

MCPCAT = Path(sys.executable).with_name("mcpcat")
SETTINGS = {
    "AUTOTHROTTLE_ENABLED": "false",
    "DOWNLOAD_DELAY": "0",
    "HTTPCACHE_ENABLED": "false",
    "MCPCAT_EXTRACT_ENABLED": "false",
}


def crawl(mirror: Mirror, workdir: Path, extra: dict[str, str]) -> dict[str, Any]:
    cmd = [
        str(MCPCAT),
        "crawl",
        "--json",
        "--source",
        "official",
        "--base-url",
        f"official={mirror.base('official')}",
        "--db",
        f"sqlite:///{workdir / 'bench.db'}",
    ]
    for k, v in {**SETTINGS, "MCPCAT_JOBDIR": str(workdir / "jobs"), **extra}.items():
        cmd += ["--setting", f"{k}={v}"]
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=workdir)
    out, err = proc.communicate()
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"crawl failed ({proc.returncode}): {err.decode()[-2000:]}")
    result = json.loads(out)["sources"][0]
    return {"seconds": seconds, "servers": result["servers"], "rss_mb": _peak_rss_mb(), "result": result}


def _peak_rss_mb() -> float:
    """Peak RSS of the largest child so far (Linux: kB): an upper bound for the latest crawl."""
    import resource

    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--servers", type=int, default=50_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--batch", default="500", help="MCPCAT_STORE_BATCH")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    entries = official_entries(args.servers)
    mirror = Mirror(FIXTURES, official=entries).start()
    runs = []
    try:
        for i in range(args.repeat):
            with tempfile.TemporaryDirectory(prefix="mcpcat-bench-") as tmp:
                workdir = Path(tmp)
                first = crawl(mirror, workdir, {"MCPCAT_STORE_BATCH": args.batch})
                second = crawl(mirror, workdir, {"MCPCAT_STORE_BATCH": args.batch})
                if first["servers"] != args.servers or second["servers"] != 0:
                    raise SystemExit(f"unexpected counts: {first['servers']}, {second['servers']}")
                run = {
                    "first_seconds": round(first["seconds"], 2),
                    "servers_per_second": round(args.servers / first["seconds"], 1),
                    "peak_rss_mb": round(first["rss_mb"], 1),
                    "second_seconds": round(second["seconds"], 2),
                    "second_share": round(second["seconds"] / first["seconds"], 4),
                }
                runs.append(run)
                print(f"run {i + 1}: {run}", file=sys.stderr)
    finally:
        mirror.stop()
    medians = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    report = {
        "servers": args.servers,
        "repeat": args.repeat,
        "medians": medians,
        "runs": runs,
        "targets": {"servers_per_second": ">= 300", "peak_rss_mb": "<= 400", "second_share": "<= 0.10"},
    }
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(f"servers={args.servers} repeat={args.repeat} (medians)")
        rate, first = medians["servers_per_second"], medians["first_seconds"]
        print(f"  crawl+store   {rate:.0f} servers/s ({first:.1f} s)")
        print(f"  peak RSS      {medians['peak_rss_mb']:.0f} MB")
        second, share = medians["second_seconds"], 100 * medians["second_share"]
        print(f"  incremental   {second:.2f} s = {share:.1f} % of the first")


if __name__ == "__main__":
    main()
