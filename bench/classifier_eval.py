"""Leave-one-repository-out evaluation of the classifier on ../shared/corpus/dev.jsonl.

Every repository's tools are classified by a model trained on the project's own training
data plus the corpus minus that repository (never split by tool), annotations ignored.
Two baselines run on the same rows: "a verb anywhere in the name decides, most severe
wins" and "annotations only, unannotated = Destructive" (the MCP specification's defaults).

    python bench/classifier_eval.py [--corpus PATH] [--no-corpus-training] [--json] [--errors]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

# One BLAS/OpenMP thread per process (two processes run folds): set before numpy loads.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from classifier.batch import metrics  # noqa: E402
from classifier.classify import classify  # noqa: E402
from classifier.features import features  # noqa: E402
from classifier.model import TRAIN_DIR, fit, load_rows, row_features, training_inputs  # noqa: E402
from classifier.rules import (  # noqa: E402
    DESTRUCTIVE,
    DESTRUCTIVE_VERBS,
    EXEC_VERBS,
    FLOOR_STRENGTH,
    READ,
    READ_VERBS,
    WRITE,
    WRITE_VERBS,
    evaluate,
    severity,
    view,
)
from classifier.scoring import Scorer  # noqa: E402
from classifier.tokens import split_name  # noqa: E402

DEFAULT_CORPUS = REPO.parent / "shared" / "corpus" / "dev.jsonl"

_STATE: dict[str, Any] = {}


def verb_baseline(name: str) -> str:
    """Any verb of the name decides; the most severe wins; a name without a verb is Write."""
    found = set()
    for w in split_name(name):
        for lexicon, label in ((DESTRUCTIVE_VERBS | EXEC_VERBS, DESTRUCTIVE), (WRITE_VERBS, WRITE),
                               (READ_VERBS, READ)):
            if w in lexicon or (w.endswith("s") and w[:-1] in lexicon):
                found.add(label)
    for label in (DESTRUCTIVE, WRITE, READ):
        if label in found:
            return label
    return WRITE


def annotation_baseline(annotations: Any) -> str:
    a = annotations if isinstance(annotations, dict) else {}
    if a.get("readOnlyHint") is True:
        return READ
    if a.get("readOnlyHint") is False and a.get("destructiveHint") is False:
        return WRITE
    return DESTRUCTIVE


def _fold(repo: str) -> list[tuple[int, str, list[float], int]]:
    """Train without ``repo``; class its tools. Also returns the model's probabilities and the
    rule floor's severity per tool, so thresholds can be studied without retraining."""
    rows, feats = _STATE["rows"], _STATE["feats"]
    keep = [i for i, r in enumerate(rows) if r.get("repo") != repo]
    artifact = fit([rows[i] for i in keep], [feats[i] for i in keep])
    scorer = Scorer.from_artifact(artifact)
    out = []
    for i, r in enumerate(rows):
        if r.get("repo") == repo:
            c = classify(r["name"], r.get("description"), r.get("input_schema"), ignore_annotations=True,
                         scorer=scorer)
            v = view(r["name"], r.get("description"), r.get("input_schema"))
            hits = evaluate(v, annotations=False)
            floor = max((severity(h.label) for h in hits if h.strength >= FLOOR_STRENGTH), default=-1)
            out.append((i, c.label, scorer.probs(features(v, hits)), floor))
    return out


def run(corpus: Path, train_on_corpus: bool = True) -> dict[str, Any]:
    project = [row for p in training_inputs(TRAIN_DIR) for row in load_rows(p)]
    dev = load_rows(corpus)
    for r in dev:
        r.setdefault("repo", "?")
    held = dev if train_on_corpus else []
    rows = held + project
    _STATE["rows"] = rows
    _STATE["feats"] = [row_features(r) for r in rows]
    repos = sorted({r["repo"] for r in dev})
    t0 = time.perf_counter()
    predicted: dict[int, str] = {}
    detail: dict[int, tuple[list[float], int]] = {}
    if train_on_corpus:
        with ProcessPoolExecutor(2) as pool:
            for result in pool.map(_fold, repos):
                for i, label, probs, floor in result:
                    predicted[i] = label
                    detail[i] = (probs, floor)
    else:
        scorer = Scorer.from_artifact(fit(project, _STATE["feats"][len(held):]))
        for i, r in enumerate(dev):
            predicted[i] = classify(r["name"], r.get("description"), r.get("input_schema"),
                                    ignore_annotations=True, scorer=scorer).label
    truth = [r["label"] for r in dev]
    pred = [predicted[i] for i in range(len(dev))]
    per_repo = defaultdict(lambda: [0, 0, 0])
    for r, p in zip(dev, pred, strict=True):
        s = per_repo[r["repo"]]
        s[0] += 1
        s[1] += p == r["label"]
        s[2] += severity(p) < severity(r["label"])
    errors = [
        {"repo": r["repo"], "name": r["name"], "label": r["label"], "predicted": p}
        for r, p in zip(dev, pred, strict=True) if p != r["label"]
    ]
    return {
        "corpus": str(corpus),
        "tools": len(dev),
        "repositories": len(repos),
        "training_rows_project": len(project),
        "train_on_corpus": train_on_corpus,
        "seconds": round(time.perf_counter() - t0, 1),
        "classifier": metrics(truth, pred),
        "baseline_verb": metrics(truth, [verb_baseline(r["name"]) for r in dev]),
        "baseline_annotations": metrics(truth, [annotation_baseline(r.get("annotations")) for r in dev]),
        "per_repo": {k: {"tools": v[0], "correct": v[1], "under": v[2]} for k, v in sorted(per_repo.items())},
        "errors": errors,
        "detail": [detail.get(i) for i in range(len(dev))],
    }


def _table(result: dict[str, Any]) -> str:
    mode = "classifier (LORO)" if result["train_on_corpus"] else "classifier"
    cols = [("classifier", mode), ("baseline_verb", "verb baseline"),
            ("baseline_annotations", "annotations baseline")]
    lines = [f"{'metric':<32}" + "".join(f"{title:>22}" for _, title in cols)]

    def row(title: str, get: Any) -> None:
        lines.append(f"{title:<32}" + "".join(f"{get(result[k]):>22}" for k, _ in cols))

    row("macro-F1", lambda m: f"{m['macro_f1']:.3f}")
    row("accuracy", lambda m: f"{m['accuracy']:.3f}")
    row("under-classification", lambda m: f"{m['under_classification']:.2%} ({m['under_classified']})")
    row("Destructive called Read", lambda m: str(m["destructive_called_read"]))
    for c in ("Read", "Write", "Destructive"):
        row(f"{c} precision", lambda m, c=c: f"{m['per_class'][c]['precision']:.3f}")
        row(f"{c} recall", lambda m, c=c: f"{m['per_class'][c]['recall']:.3f}")
    lines.append("")
    lines.append("confusion (classifier), rows = true, columns = predicted R/W/D:")
    for t, counts in result["classifier"]["confusion"].items():
        lines.append(f"  {t:<12} " + " ".join(f"{counts[p]:>5}" for p in ("Read", "Write", "Destructive")))
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    ap.add_argument("--no-corpus-training", action="store_true",
                    help="train on the project's data only (one model, no LORO needed)")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--errors", action="store_true", help="list every misclassified tool")
    args = ap.parse_args()
    if not args.corpus.is_file():
        sys.exit(f"corpus not found: {args.corpus}")
    result = run(args.corpus, not args.no_corpus_training)
    if args.json:
        print(json.dumps({k: v for k, v in result.items() if k != "detail"}, indent=2))
        return
    print(f"{result['tools']} tools, {result['repositories']} repositories, project rows "
          f"{result['training_rows_project']}, corpus in training (LORO): {result['train_on_corpus']}, "
          f"{result['seconds']} s")
    print(_table(result))
    if args.errors:
        for e in result["errors"]:
            print(f"  {e['repo']:<40} {e['name']:<45} {e['label']:<12} -> {e['predicted']}")


if __name__ == "__main__":
    main()
