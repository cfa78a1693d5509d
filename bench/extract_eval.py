"""Measure the static extractor against ../shared/corpus/repos.tsv (tool names) and dev.jsonl.

Usage:
    python bench/extract_eval.py CHECKOUTS [--json] [--repo owner/name] [--show-misses]

CHECKOUTS (or $MCPCAT_CORPUS_CHECKOUTS) holds one folder per repository, named `owner+name`,
with the listed commit checked out, e.g. made from a bare mirror with
    git --git-dir=/work/.mirror/owner+name/repo archive <commit> | tar -x -C CHECKOUTS/owner+name
Fetched code stays outside the project. Exits 0 with a note when ../shared is absent.

Scope: the whole checkout, except when the corpus note says only some servers of a monorepo
were taken ("N of its servers taken"): then only the folders of those servers' files in
dev.jsonl (their first two path parts) are read, as the reference covers nothing else.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from crawler.extract import extract_tree
from crawler.extract.common import ExtractResult

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("MCPCAT_SHARED", REPO.parent / "shared"))
CORPUS = SHARED / "corpus"


def _norm(s: str | None) -> str:
    return " ".join((s or "").split())


def load_corpus() -> tuple[list[dict[str, Any]], dict[str, dict[str, str]]]:
    rows: list[dict[str, Any]] = []
    with open(CORPUS / "repos.tsv", encoding="utf-8") as f:
        header = f.readline().rstrip("\n").split("\t")
        for line in f:
            cells = line.rstrip("\n").split("\t")
            row = dict(zip(header, cells, strict=False))
            if row.get("commit"):
                row["names"] = set(cells[len(header) :] or []) | set((row.get("tool_names") or "").split())
                rows.append(row)
    descs: dict[str, dict[str, str]] = defaultdict(dict)
    files: dict[str, set[str]] = defaultdict(set)
    with open(CORPUS / "dev.jsonl", encoding="utf-8") as f:
        for line in f:
            d = json.loads(line)
            if d.get("commit"):
                descs[d["repo"]].setdefault(d["name"], d.get("description") or "")
                if d.get("file"):
                    files[d["repo"]].add("/".join(d["file"].split("/")[:2]))
    for row in rows:
        row["scope"] = (
            sorted(files[row["repo"]]) if re.search(r"\d+ of its servers taken", row.get("note", "")) else []
        )
    return rows, descs


def measure(row: dict[str, Any], checkout: Path, descs: dict[str, str]) -> dict[str, Any]:
    t0 = time.perf_counter()
    roots = [checkout / s for s in row["scope"]] if row["scope"] else [checkout]
    found: dict[str, Any] = {}
    files = size = 0
    for root in roots:
        res: ExtractResult = extract_tree(root)
        files += res.files_scanned
        size += res.bytes_scanned
        for t in res.unique_tools():
            found.setdefault(t.name, t)
    elapsed = time.perf_counter() - t0
    expected: set[str] = row["names"]
    hits = expected & set(found)
    matched = sum(1 for n in hits if n in descs and _norm(found[n].description) == _norm(descs[n]))
    with_desc = sum(1 for n in hits if n in descs)
    return {
        "repo": row["repo"],
        "expected": len(expected),
        "found": len(found),
        "hits": len(hits),
        "recall": len(hits) / len(expected) if expected else 1.0,
        "precision": len(hits) / len(found) if found else 0.0,
        "desc_checked": with_desc,
        "desc_match": matched,
        "files": files,
        "bytes": size,
        "seconds": elapsed,
        "missed": sorted(expected - set(found)),
        "extra": sorted(set(found) - expected),
        "desc_mismatch": sorted(
            n for n in hits if n in descs and _norm(found[n].description) != _norm(descs[n])
        ),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkouts", nargs="?", default=os.environ.get("MCPCAT_CORPUS_CHECKOUTS"))
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--repo", action="append", default=[])
    ap.add_argument("--show-misses", action="store_true")
    args = ap.parse_args(argv)
    if not (CORPUS / "repos.tsv").is_file():
        print(f"skipped: {CORPUS} is absent")
        return 0
    if not args.checkouts:
        ap.error("give the checkouts folder (or set MCPCAT_CORPUS_CHECKOUTS)")
    rows, descs = load_corpus()
    out = []
    for row in rows:
        if args.repo and row["repo"] not in args.repo:
            continue
        checkout = Path(args.checkouts) / row["repo"].replace("/", "+")
        if not checkout.is_dir():
            print(f"missing checkout: {checkout}", file=sys.stderr)
            continue
        out.append(measure(row, checkout, descs[row["repo"]]))
    tot = {k: sum(r[k] for r in out) for k in ("expected", "found", "hits", "desc_checked", "desc_match")}
    total = {
        "repo": "TOTAL",
        **tot,
        "recall": tot["hits"] / max(tot["expected"], 1),
        "precision": tot["hits"] / max(tot["found"], 1),
    }
    if args.json:
        print(json.dumps({"repos": out, "total": total}, indent=2))
        return 0
    print(f"{'repo':40} {'exp':>4} {'found':>5} {'hit':>4} {'recall':>6} {'prec':>6} {'desc':>9} {'secs':>5}")
    for r in [*out, total]:
        desc = f"{r['desc_match']}/{r['desc_checked']}"
        secs = f"{r['seconds']:.2f}" if "seconds" in r else ""
        print(
            f"{r['repo']:40} {r['expected']:>4} {r['found']:>5} {r['hits']:>4} "
            f"{r['recall']:>6.3f} {r['precision']:>6.3f} {desc:>9} {secs:>5}"
        )
        if args.show_misses and r["repo"] != "TOTAL":
            for key in ("missed", "extra", "desc_mismatch"):
                if r[key]:
                    print(f"    {key}: {' '.join(r[key][:40])}")
    share = total["desc_match"] / max(total["desc_checked"], 1)
    print(f"description match share: {share:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
