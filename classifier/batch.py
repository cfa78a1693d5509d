"""Batch classification of JSONL and evaluation against labeled tools, as plain dicts.

The CLI (``mcpcat classify --input``, ``mcpcat evaluate``) only calls these.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from functools import partial
from itertools import islice
from typing import Any, Final, TextIO

from classifier.classify import check_tool, classify_many, gc_paused, mcp_annotations, processes_for
from classifier.errors import InvalidInput
from classifier.forking import deal, interleave, map_forked
from classifier.rules import DESTRUCTIVE, LABELS, READ, severity
from classifier.scoring import Scorer

__all__ = ["CHUNK_LINES", "OUTPUT_KEYS", "classify_jsonl", "evaluate_rows", "metrics", "read_jsonl"]

#: Keys a batch output line adds to its input object.
OUTPUT_KEYS = ("label", "confidence", "rationale", "flags", "mcp_annotations")
#: Input lines read, classified and written together (bounds the memory of a long file).
CHUNK_LINES: Final = 20_000
#: ``json.dumps(obj, ensure_ascii=False)`` without building an encoder for every line.
_ENCODE: Final = json.JSONEncoder(ensure_ascii=False).encode


def _parse(line: str, lineno: int) -> dict[str, Any]:
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as e:
        raise InvalidInput(f"line {lineno}: not JSON ({e.msg})") from e
    if not isinstance(obj, dict):
        raise InvalidInput(f"line {lineno}: not a JSON object")
    return obj


def _checked(obj: Mapping[str, Any], lineno: int) -> None:
    try:
        check_tool(obj.get("name"), obj.get("description"), obj.get("input_schema"), obj.get("annotations"))
    except InvalidInput as e:
        raise InvalidInput(f"line {lineno}: {e}") from e


def classify_jsonl(
    lines: Iterable[str],
    out: TextIO,
    *,
    ignore_annotations: bool = False,
    scorer: Scorer | None = None,
    workers: int | None = None,
) -> int:
    """Write each input object with the classification added, in input order; return the count.

    A bad line raises ``InvalidInput`` naming its line number, after the lines before it have
    been written (and flushed). Blank lines are skipped. Lines are read ``CHUNK_LINES`` at a
    time; a long chunk is dealt round-robin over ``workers`` processes (default: one per CPU)
    that parse, classify and render their part, so the output is the same as one process gives.
    """
    numbered = ((lineno, line) for lineno, line in enumerate(lines, 1) if line.strip())
    render = partial(_render, ignore=ignore_annotations, scorer=scorer)
    n = 0
    while chunk := list(islice(numbered, CHUNK_LINES)):
        parts = deal(chunk, processes_for(len(chunk), workers, scorer))
        rendered = map_forked(render, parts)
        # Part k renders the chunk's lines k, k + len(parts), ... up to its first bad line: the
        # output stops at the earliest line some part could not render.
        stop, error = len(chunk), None
        for k, (done, part_error) in enumerate(rendered):
            if part_error is not None and k + len(done) * len(parts) < stop:
                stop, error = k + len(done) * len(parts), part_error
        out.write("".join(interleave([done[: len(range(k, stop, len(parts)))]
                                      for k, (done, _) in enumerate(rendered)])))
        n += stop
        if error is not None:
            out.flush()
            raise error
    return n


@gc_paused()
def _render(
    part: Sequence[tuple[int, str]], *, ignore: bool, scorer: Scorer | None
) -> tuple[list[str], InvalidInput | None]:
    """The output lines of ``part`` up to its first bad line, and that line's error."""
    objs: list[dict[str, Any]] = []
    error = None
    for lineno, line in part:
        try:
            obj = _parse(line, lineno)
            _checked(obj, lineno)
        except InvalidInput as e:
            error = e
            break
        objs.append(obj)
    got = classify_many(objs, ignore_annotations=ignore, scorer=scorer, workers=1)
    text = []
    for obj, c in zip(objs, got, strict=True):
        obj.update(
            label=c.label,
            confidence=c.confidence,
            rationale=c.rationale,
            flags=c.flags,
            mcp_annotations=mcp_annotations(c.label),
        )
        text.append(_ENCODE(obj) + "\n")
    return text, error


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
    for i, row in enumerate(rows, 1):
        _checked(row, int(row.get("_line", i)))
    predicted = []
    errors = []
    for row, c in zip(rows, classify_many(rows, ignore_annotations=ignore_annotations, scorer=scorer),
                      strict=True):
        predicted.append(c.label)
        if c.label != row["label"]:
            errors.append({"name": row["name"], "label": row["label"], "predicted": c.label,
                           "confidence": c.confidence})
    result = metrics([str(r["label"]) for r in rows], predicted)
    result["errors"] = errors
    return result
