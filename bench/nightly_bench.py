"""Nightly benchmark: `mcpcat nightly` over the local mirror of N synthetic servers (the same
mirror as bench/crawl_bench.py), a first run into an empty catalog and export, then a second
run over the unchanged mirror.

    /work/venv/bin/python bench/nightly_bench.py --servers 50000 --repeat 3

Reports medians of the first run's wall time (crawl, store, classify, export of the JSON,
JSON Lines and one policy per server), the second run's and its share of the first (target,
issue 6: <= 10 %), and what a forced full export of that catalog costs on its own (the
second run keeps the export when the catalog's fingerprint has not changed). The classifier's
version hashes its code: run it from a clean checkout (`git archive HEAD`, PYTHONPATH) while
others edit the tree, or an edit between the two runs rewrites the export.
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
SETTINGS = {"AUTOTHROTTLE_ENABLED": "false", "DOWNLOAD_DELAY": "0", "HTTPCACHE_ENABLED": "false"}


def nightly(mirror: Mirror, workdir: Path) -> dict[str, Any]:
    cmd = [
        str(MCPCAT),
        "nightly",
        "--json",
        "--no-extract",
        "--source",
        "official",
        "--base-url",
        f"official={mirror.base('official')}",
        "--db",
        f"sqlite:///{workdir / 'bench.db'}",
        "--export-dir",
        str(workdir / "export"),
    ]
    for k, v in {**SETTINGS, "MCPCAT_JOBDIR": str(workdir / "jobs")}.items():
        cmd += ["--setting", f"{k}={v}"]
    started = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, cwd=workdir, check=False)
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"nightly failed ({proc.returncode}): {proc.stderr.decode()[-2000:]}")
    result = json.loads(proc.stdout)
    return {"seconds": seconds, "result": result}


def forced_export(workdir: Path) -> float:
    """A full export of the benchmark catalog, in-process, as if it had changed."""
    from catalog.nightly import export_catalog
    from catalog.store import Catalog

    with Catalog(f"sqlite:///{workdir / 'bench.db'}") as catalog:
        started = time.perf_counter()
        export_catalog(catalog, workdir / "export", force=True)
        return time.perf_counter() - started


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--servers", type=int, default=50_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    mirror = Mirror(FIXTURES, official=official_entries(args.servers)).start()
    runs = []
    try:
        for i in range(args.repeat):
            with tempfile.TemporaryDirectory(prefix="mcpcat-nightly-bench-") as tmp:
                workdir = Path(tmp)
                first = nightly(mirror, workdir)
                second = nightly(mirror, workdir)
                crawled = first["result"]["crawl"]["sources"][0]["servers"]
                again = second["result"]["crawl"]["sources"][0]["servers"]
                if crawled != args.servers or again != 0:
                    raise SystemExit(f"unexpected counts: {crawled}, {again}")
                if second["result"]["export"]["written"]:  # e.g. classifier code edited meanwhile
                    print("note: the second run rewrote the export (fingerprint changed)", file=sys.stderr)
                run = {
                    "first_seconds": round(first["seconds"], 2),
                    "first_export_seconds": first["result"]["export"]["seconds"],
                    "second_seconds": round(second["seconds"], 2),
                    "second_share": round(second["seconds"] / first["seconds"], 4),
                    "second_export_written": int(second["result"]["export"]["written"]),
                    "forced_export_seconds": round(forced_export(workdir), 2),
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
        "targets": {"second_share": "<= 0.10"},
    }
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(f"servers={args.servers} repeat={args.repeat} (medians)")
        first, export = medians["first_seconds"], medians["first_export_seconds"]
        print(f"  first nightly   {first:.1f} s (export {export:.1f} s)")
        second, share = medians["second_seconds"], 100 * medians["second_share"]
        print(f"  second nightly  {second:.2f} s = {share:.1f} % of the first (unchanged mirror)")
        print(f"  forced export   {medians['forced_export_seconds']:.1f} s")


if __name__ == "__main__":
    main()
