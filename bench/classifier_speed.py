"""Classifier speed: batch throughput and a cold `mcpcat classify NAME` against `import sklearn`.

    python bench/classifier_speed.py [--runs 5] [--workers N] [--cli-tools 100000]

Batch: every project training row (plus the corpus when ../shared is present), names made
distinct so that nothing is served from a cache, classified by ``classify_many`` after the
model is loaded (``--workers`` processes, default one per CPU). Command line: the same tools
as a JSONL file through ``mcpcat classify --input F --output G``, the whole command timed
(start-up, parsing, writing), and again for ``--cli-tools`` tools, where the start-up of about
half a second weighs less. Cold start: medians of wall-clock times of fresh processes.
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

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from classifier import classify_many  # noqa: E402
from classifier.model import TRAIN_DIR, load_rows, training_inputs  # noqa: E402
from classifier.scoring import load_scorer  # noqa: E402

CORPUS = REPO.parent / "shared" / "corpus" / "dev.jsonl"
MCPCAT = Path(sys.executable).with_name("mcpcat")


def tools(n: int) -> list[dict[str, object]]:
    rows = [r for p in training_inputs(TRAIN_DIR, CORPUS if CORPUS.is_file() else None) for r in load_rows(p)]
    out = []
    for i in range(n):
        r = rows[i % len(rows)]
        out.append({"name": f"{r['name']}_{i}", "description": r.get("description"),
                    "input_schema": r.get("input_schema"), "annotations": r.get("annotations")})
    return out


def batch_rate(n: int, runs: int, workers: int | None = None) -> float:
    load_scorer()
    data = tools(n)
    rates = []
    for _ in range(runs):
        t0 = time.perf_counter()
        classify_many(data, workers=workers)
        rates.append(n / (time.perf_counter() - t0))
    return statistics.median(rates)


def cli_rate(n: int, runs: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = Path(tmp) / "tools.jsonl", Path(tmp) / "out.jsonl"
        with src.open("w", encoding="utf-8") as fh:
            for t in tools(n):
                fh.write(json.dumps({k: v for k, v in t.items() if v is not None}) + "\n")
        seconds = cold([str(MCPCAT), "classify", "--input", str(src), "--output", str(dst)], runs)
        if sum(1 for _ in dst.open(encoding="utf-8")) != n:
            raise SystemExit("mcpcat classify --input wrote the wrong number of lines")
    return n / seconds


def cold(cmd: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--tools", type=int, default=20000)
    ap.add_argument("--workers", type=int, default=None, help="batch processes (default: one per CPU)")
    ap.add_argument("--cli-tools", type=int, default=100_000, help="tools of the long command-line run")
    args = ap.parse_args()
    rate = batch_rate(args.tools, args.runs, args.workers)
    cli = cli_rate(args.tools, args.runs)
    cli_long = cli_rate(args.cli_tools, args.runs)
    one = [str(MCPCAT), "classify", "fetch_playback_progress", "--db", "sqlite:///nonexistent.db"]
    single = cold(one, args.runs)
    sk = cold([sys.executable, "-c", "import sklearn"], args.runs)
    result = {
        "batch_tools_per_second": round(rate),
        "cli_batch_tools_per_second": round(cli),
        f"cli_batch_{args.cli_tools}_tools_per_second": round(cli_long),
        "cold_mcpcat_classify_s": round(single, 3),
        "cold_import_sklearn_s": round(sk, 3),
        "ratio": round(single / sk, 3),
        "goals": {"batch >= 20000/s": rate >= 20000,
                  "cold classify < half of import sklearn": single < sk / 2},
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
