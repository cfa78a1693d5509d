"""Batch classification of JSONL and evaluation against labeled tools, as plain dicts.

The CLI (``mcpcat classify --input``, ``mcpcat evaluate``) only calls these.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TextIO

from classifier.classify import Classification, classify, mcp_annotations
from classifier.errors import InvalidInput
from classifier.rules import DESTRUCTIVE, LABELS, READ, severity
from classifier.scoring import Scorer

__all__ = ["OUTPUT_KEYS", "classify_jsonl", "evaluate_rows", "metrics", "read_jsonl"]

#: Keys a batch output line adds to its input object.
OUTPUT_KEYS = ("label", "confidence", "rationale", "flags", "mcp_annotations")


def _parse(line: str, lineno: int) -> dict[str, Any]:
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as e:
        raise InvalidInput(f"line {lineno}: not JSON ({e.msg})") from e
    if not isinstance(obj, dict):
        raise InvalidInput(f"line {lineno}: not a JSON object")
    return obj


def _classify_obj(obj: Mapping[str, Any], lineno: int, ignore: bool, scorer: Scorer | None) -> Classification:
    try:
        return classify(
            obj.get("name"),  # type: ignore[arg-type]
            obj.get("description"),
            obj.get("input_schema"),
            obj.get("annotations"),
            ignore_annotations=ignore,
            scorer=scorer,
        )
    except InvalidInput as e:
        raise InvalidInput(f"line {lineno}: {e}") from e


def classify_jsonl(
    lines: Iterable[str], out: TextIO, *, ignore_annotations: bool = False, scorer: Scorer | None = None
) -> int:
    """Write each input object with the classification added, in input order; return the count.

    A bad line raises ``InvalidInput`` naming its line number, after the lines before it have
    been written (and flushed). Blank lines are skipped.
    """
    n = 0
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            obj = _parse(line, lineno)
            c = _classify_obj(obj, lineno, ignore_annotations, scorer)
        except InvalidInput:
            out.flush()
            raise
        obj.update(
            label=c.label,
            confidence=c.confidence,
            rationale=c.rationale,
            flags=c.flags,
            mcp_annotations=mcp_annotations(c.label),
        )
        out.write(json.dumps(obj, ensure_ascii=False) + "\n")
        n += 1
    return n


def read_jsonl(lines: Iterable[str]) -> list[dict[str, Any]]:
    """Labeled rows for evaluation: every line needs a ``name`` and a true ``label``."""
    rows = []
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        obj = _parse(line, lineno)
        if obj.get("label") not in LABELS:
            raise InvalidInput(f"line {lineno}: label must be one of {', '.join(LABELS)}")
        obj["_line"] = lineno
        rows.append(obj)
    return rows


def metrics(truth: Sequence[str], predicted: Sequence[str]) -> dict[str, Any]:
    """Per-class precision/recall/F1, macro-F1, confusion matrix and the under-classification figures.

    ``confusion[true][predicted]`` counts tools. Under-classification is the share of tools
    predicted less severe than their label.
    """
    if len(truth) != len(predicted):
        raise ValueError("truth and predictions differ in length")
    confusion = {t: dict.fromkeys(LABELS, 0) for t in LABELS}
    for t, p in zip(truth, predicted, strict=True):
        confusion[t][p] += 1
    per_class: dict[str, dict[str, float | int]] = {}
    for c in LABELS:
        tp = confusion[c][c]
        pred = sum(confusion[t][c] for t in LABELS)
        true = sum(confusion[c].values())
        precision = tp / pred if pred else 0.0
        recall = tp / true if true else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_class[c] = {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4),
                        "support": true}
    n = len(truth)
    under = sum(1 for t, p in zip(truth, predicted, strict=True) if severity(p) < severity(t))
    over = sum(1 for t, p in zip(truth, predicted, strict=True) if severity(p) > severity(t))
    correct = sum(confusion[c][c] for c in LABELS)
    return {
        "tools": n,
        "accuracy": round(correct / n, 4) if n else 0.0,
        "macro_f1": round(sum(float(per_class[c]["f1"]) for c in LABELS) / len(LABELS), 4),
        "per_class": per_class,
        "confusion": confusion,
        "under_classification": round(under / n, 4) if n else 0.0,
        "under_classified": under,
        "over_classification": round(over / n, 4) if n else 0.0,
        "destructive_called_read": confusion[DESTRUCTIVE][READ],
    }


def evaluate_rows(
    rows: Sequence[Mapping[str, Any]], *, ignore_annotations: bool = False, scorer: Scorer | None = None
) -> dict[str, Any]:
    """Classify labeled rows and measure; ``errors`` lists every tool classed wrong."""
    predicted = []
    errors = []
    for i, row in enumerate(rows, 1):
        c = _classify_obj(row, int(row.get("_line", i)), ignore_annotations, scorer)
        predicted.append(c.label)
        if c.label != row["label"]:
            errors.append({"name": row["name"], "label": row["label"], "predicted": c.label,
                           "confidence": c.confidence})
    result = metrics([str(r["label"]) for r in rows], predicted)
    result["errors"] = errors
    return result
