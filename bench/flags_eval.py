"""Security findings: recall on the poisoned set, false positives on the clean real corpus.

Recall: share of poisoned definitions (tests/classifier/data/poisoned.jsonl) where at least one
of the expected flag ids fires ("strict": all of them). False positives: share of the real
tools of ../shared/corpus/dev.jsonl with any medium or high finding (capability tags and other
low findings are informational and do not count). The corpus part skips cleanly when
../shared is absent.

    python bench/flags_eval.py [--corpus PATH] [--poisoned PATH] [--json] [--misses]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from classifier.flags import find_flags  # noqa: E402

DEFAULT_CORPUS = REPO.parent / "shared" / "corpus" / "dev.jsonl"
DEFAULT_POISONED = REPO / "tests" / "classifier" / "data" / "poisoned.jsonl"


def _flags(row: dict[str, Any]) -> list[dict[str, str]]:
    return find_flags(row.get("name") or "", row.get("description"), row.get("input_schema"),
                      row.get("annotations"))


def recall(path: Path) -> dict[str, Any]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    hit = strict = 0
    misses: list[dict[str, Any]] = []
    by_kind: Counter[str] = Counter()
    kind_hits: Counter[str] = Counter()
    per_id: Counter[str] = Counter()
    per_id_hits: Counter[str] = Counter()
    for row in rows:
        found = {f["id"] for f in _flags(row) if f["severity"] != "low"}
        expected = set(row["expect"])
        by_kind[row["kind"]] += 1
        for fid in expected:
            per_id[fid] += 1
            per_id_hits[fid] += fid in found
        if found & expected:
            hit += 1
            kind_hits[row["kind"]] += 1
        else:
            misses.append({"id": row["id"], "name": row["name"], "expect": sorted(expected),
                           "found": sorted(found)})
        strict += expected <= found
    n = len(rows)
    return {
        "definitions": n,
        "recall": round(hit / n, 4) if n else 0.0,
        "recall_strict": round(strict / n, 4) if n else 0.0,
        "by_kind": {k: f"{kind_hits[k]}/{v}" for k, v in sorted(by_kind.items())},
        "by_flag": {k: f"{per_id_hits[k]}/{v}" for k, v in sorted(per_id.items())},
        "misses": misses,
    }


def false_positives(path: Path) -> dict[str, Any]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    flagged: list[dict[str, Any]] = []
    low: Counter[str] = Counter()
    started = time.perf_counter()
    for row in rows:
        flags = _flags(row)
        low.update(f["id"] for f in flags if f["severity"] == "low")
        bad = [f for f in flags if f["severity"] != "low"]
        if bad:
            flagged.append({"server": row.get("server"), "name": row.get("name"), "flags": bad})
    seconds = time.perf_counter() - started
    n = len(rows)
    return {
        "tools": n,
        "false_positive_rate": round(len(flagged) / n, 4) if n else 0.0,
        "false_positives": flagged,
        "low_findings": dict(sorted(low.items())),
        "ms_per_tool": round(1000 * seconds / n, 3) if n else 0.0,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    ap.add_argument("--poisoned", type=Path, default=DEFAULT_POISONED)
    ap.add_argument("--json", action="store_true", help="one JSON object on stdout")
    ap.add_argument("--misses", action="store_true", help="list the poisoned definitions missed")
    args = ap.parse_args(argv)

    out: dict[str, Any] = {"poisoned": recall(args.poisoned)}
    if args.corpus.is_file():
        out["corpus"] = false_positives(args.corpus)
    else:
        out["corpus"] = None
    if args.json:
        print(json.dumps(out, indent=2, ensure_ascii=False))
        return 0
    p = out["poisoned"]
    print(f"poisoned: {p['definitions']} definitions, recall {p['recall']:.3f} "
          f"(all expected ids: {p['recall_strict']:.3f})")
    print("  by kind: " + ", ".join(f"{k} {v}" for k, v in p["by_kind"].items()))
    print("  by flag: " + ", ".join(f"{k} {v}" for k, v in p["by_flag"].items()))
    if args.misses:
        for m in p["misses"]:
            print(f"  missed {m['id']} {m['name']!r}: expected {m['expect']}, found {m['found']}")
    c = out["corpus"]
    if c is None:
        print(f"corpus: skipped ({args.corpus} is absent)")
        return 0
    print(f"corpus: {c['tools']} tools, false positives {len(c['false_positives'])} "
          f"({c['false_positive_rate']:.2%}), {c['ms_per_tool']} ms/tool")
    print("  low (capability) findings: " + ", ".join(f"{k} {v}" for k, v in c["low_findings"].items()))
    for fp in c["false_positives"]:
        for f in fp["flags"]:
            where = f"{fp['server']}/{fp['name']}"
            print(f"  FP {where}: {f['id']} {f['name']} ({f['severity']}): {f['evidence']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
