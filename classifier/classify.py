"""Rules, model and annotations into one ``Classification``.

How the evidence is combined:
1. The model (rule hits are among its features) gives calibrated probabilities.
2. Lean severe: Destructive as soon as P(Destructive) reaches ``DESTRUCTIVE_AT``; Read only
   when P(Read) reaches ``READ_AT``; Write otherwise. Calling a Write "Read" is the costly
   error, since a gateway allows Read by default.
3. Strong rules (strength >= ``rules.FLOOR_STRENGTH``) set a floor: ``delete_*`` is never
   less than Destructive whatever the model says.
4. Declared annotations (unless ignored) decide between what is left, but never lower a
   floor: an annotation that claims less than strong name/description evidence gives the
   more severe class and the flag F101 ``annotation-conflict``.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Final

from classifier.errors import InvalidInput
from classifier.features import SplitBlocks, features, split_blocks
from classifier.flags import find_flags
from classifier.forking import can_fork, deal, interleave, map_forked
from classifier.rules import (
    ANNOTATION_RULES,
    DESTRUCTIVE,
    FLOOR_STRENGTH,
    LABELS,
    READ,
    RULES,
    WRITE,
    Hit,
    ToolView,
    evaluate,
    severity,
    view,
)
from classifier.scoring import Matched, Scorer, load_scorer
from classifier.screen import prepare_all as prepare_screens
from classifier.tokens import MAX_TEXT, clean

__all__ = [
    "DESTRUCTIVE_AT",
    "PARALLEL_FROM",
    "READ_AT",
    "Classification",
    "check_tool",
    "classify",
    "classify_many",
    "gc_paused",
    "mcp_annotations",
    "processes_for",
]

#: P(Destructive) from which the answer is Destructive.
DESTRUCTIVE_AT: Final = 0.2
#: P(Read) needed before the answer may be Read.
READ_AT: Final = 0.7
_MODEL_LINES: Final = 3
#: Batches at least this long are split over processes (a fork costs a few milliseconds).
PARALLEL_FROM: Final = 1000
#: Tools scored together in one numpy pass (bounds the memory of the flattened features).
_CHUNK: Final = 2048


def mcp_annotations(label: str) -> dict[str, bool]:
    """The class as MCP annotation values, for clients that understand only annotations."""
    return {"readOnlyHint": label == READ, "destructiveHint": label == DESTRUCTIVE}


@dataclass(slots=True)
class Classification:
    label: str
    confidence: float
    rationale: list[str] = field(default_factory=list)
    flags: list[dict[str, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "confidence": self.confidence,
            "rationale": list(self.rationale),
            "flags": [dict(f) for f in self.flags],
            "annotations": mcp_annotations(self.label),
        }


def check_tool(name: object, description: object, input_schema: object, annotations: object) -> None:
    """Raise ``InvalidInput`` for an empty name or a field of the wrong type."""
    if not isinstance(name, str) or not clean(name).strip():
        raise InvalidInput("tool name is empty")
    if description is not None and not isinstance(description, str):
        raise InvalidInput("description must be a string")
    if input_schema is not None and type(input_schema) is not dict and not isinstance(input_schema, Mapping):
        raise InvalidInput("input_schema must be a JSON object")
    if annotations is not None and type(annotations) is not dict and not isinstance(annotations, Mapping):
        raise InvalidInput("annotations must be a JSON object")


def classify(
    name: str,
    description: str | None = None,
    input_schema: Mapping[str, Any] | None = None,
    annotations: Mapping[str, Any] | None = None,
    *,
    ignore_annotations: bool = False,
    scorer: Scorer | None = None,
) -> Classification:
    """Class one tool definition. Raises ``InvalidInput`` for an empty name or ill-typed fields.

    ``scorer`` replaces the shipped model (evaluation trains one per held-out repository).
    """
    check_tool(name, description, input_schema, annotations)
    scorer = scorer or load_scorer()
    v = view(name, description, input_schema, None if ignore_annotations else annotations)
    hits = evaluate(v, annotations=not ignore_annotations)
    probs, matched = scorer.score(features(v, hits))
    result = _decide(probs, hits, matched)
    result.flags.extend(_flags(name, description, input_schema, annotations, v))
    return result


def _flags(
    name: str,
    description: str | None,
    input_schema: Mapping[str, Any] | None,
    annotations: Mapping[str, Any] | None,
    v: ToolView,
) -> list[dict[str, str]]:
    """``find_flags``, given the words the view has found already."""
    same_text = description and len(description) <= MAX_TEXT and description.isascii()
    # Then the view's text is description.lower(), and its words those of find_flags.
    words = set(v.text_words) if same_text else None
    return find_flags(name, description, input_schema, annotations, name_words=v.name_words,
                      description_words=words)


def _decide(probs: list[float], hits: list[Hit], matched: list[Matched]) -> Classification:
    label, confidence, flags = _label(probs, hits)
    top = Scorer.top_features(matched, LABELS.index(label), _MODEL_LINES)
    return _finish(label, confidence, flags, hits, top)


def _label(probs: list[float], hits: list[Hit]) -> tuple[str, float, list[dict[str, str]]]:
    p_read, p_write, p_destructive = probs  # in LABELS order
    if p_destructive >= DESTRUCTIVE_AT:
        label, confidence = DESTRUCTIVE, p_destructive
    elif p_read >= READ_AT:
        label, confidence = READ, p_read
    else:
        label, confidence = WRITE, p_write + min(p_read, p_destructive)
    if not hits:
        return label, confidence, []
    p = {READ: p_read, WRITE: p_write, DESTRUCTIVE: p_destructive}

    floor = None
    declared = None
    for h in hits:
        rule = h.rule
        if rule.id in ANNOTATION_RULES:
            if declared is None or rule.strength > declared.strength:
                declared = h
        elif rule.strength >= FLOOR_STRENGTH and (
            floor is None or (severity(rule.votes), rule.strength) > (severity(floor.label), floor.strength)
        ):
            floor = h
    if floor is not None and severity(floor.label) > severity(label):
        label, confidence = floor.label, max(floor.strength, p[floor.label])

    flags: list[dict[str, str]] = []
    if declared is not None:
        if floor is not None and severity(floor.label) > severity(declared.label):
            flags.append(
                {
                    "id": "F101",
                    "name": "annotation-conflict",
                    "severity": "medium",
                    "evidence": f"annotations say {declared.label} ({declared.line}) but {floor.line}",
                }
            )
        else:
            confidence = declared.strength if declared.label != label else max(confidence, declared.strength)
            label = declared.label
    return label, confidence, flags


#: Each rule's place in a rationale: the strongest first, then by rule id.
_RATIONALE_RANK: Final = {r.id: i for i, r in enumerate(sorted(RULES, key=lambda r: (-r.strength, r.id)))}


def _finish(
    label: str,
    confidence: float,
    flags: list[dict[str, str]],
    hits: list[Hit],
    model_lines: list[tuple[str, float]],
) -> Classification:
    if len(hits) > 1:
        hits = sorted(hits, key=lambda h: _RATIONALE_RANK[h.rule.id])
    rationale = [h.line for h in hits]
    rationale += [f"M {fname}: {push:+.2f}" for fname, push in model_lines]
    return Classification(label, round(min(max(confidence, 0.0), 1.0), 3), rationale, flags)


def _classify_batch(items: Sequence[Mapping[str, Any]], ignore: bool, scorer: Scorer) -> list[Classification]:
    """Rules and features per tool, then one vectorised scoring pass for the whole batch."""
    hits_all: list[list[Hit]] = []
    blocks_all: list[SplitBlocks] = []
    views: list[ToolView] = []
    for t in items:
        name, description, schema, annotations = (
            t.get("name"),
            t.get("description"),
            t.get("input_schema"),
            t.get("annotations"),
        )
        check_tool(name, description, schema, annotations)
        v = view(name, description, schema, None if ignore else annotations)  # type: ignore[arg-type]
        hits = evaluate(v, annotations=not ignore)
        hits_all.append(hits)
        blocks_all.append(split_blocks(v, hits))
        views.append(v)
    if not items:
        return []
    probs, flat = scorer.score_blocks(blocks_all)
    decided = [_label(p, h) for p, h in zip(probs, hits_all, strict=True)]
    tops = scorer.top_many(flat, [LABELS.index(d[0]) for d in decided], _MODEL_LINES)
    return [
        _finish(
            label,
            conf,
            flags + _flags(v.name, t.get("description"), t.get("input_schema"), t.get("annotations"), v),
            hits,
            top,
        )
        for (label, conf, flags), hits, top, t, v in zip(decided, hits_all, tops, items, views, strict=True)
    ]


def classify_many(
    tools: Iterable[Mapping[str, Any]],
    *,
    ignore_annotations: bool = False,
    scorer: Scorer | None = None,
    workers: int | None = None,
) -> list[Classification]:
    """Class many tool objects (keys ``name``, ``description``, ``input_schema``, ``annotations``).

    Large batches with the shipped model are split over ``workers`` processes (default: one per
    CPU); results keep input order.
    """
    items = list(tools)
    with gc_paused():
        return _classify_all(items, ignore_annotations, scorer, workers)


@contextmanager
def gc_paused() -> Iterator[None]:
    """The cyclic garbage collector off for a while: classifying a batch makes no reference
    cycles, and each collection would only rescan the batch's many new objects."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


def _classify_all(
    items: list[Mapping[str, Any]], ignore_annotations: bool, scorer: Scorer | None, workers: int | None
) -> list[Classification]:
    n_workers = processes_for(len(items), workers, scorer)
    if n_workers > 1:
        return _classify_forked(items, ignore_annotations, n_workers)
    return _classify_serial(items, ignore_annotations, scorer or load_scorer())


def processes_for(count: int, workers: int | None, scorer: Scorer | None) -> int:
    """How many processes a batch of ``count`` tools is split over: ``workers`` (default one per
    CPU) from ``PARALLEL_FROM`` tools on, with the shipped model, where forking is safe; else 1.
    For more than one, the model and the screens are made ready first (``_prepare_workers``)."""
    n_workers = workers or os.cpu_count() or 1
    if n_workers > 1 and scorer is None and count >= PARALLEL_FROM and can_fork():
        _prepare_workers()
        return n_workers
    return 1


def _classify_serial(
    items: Sequence[Mapping[str, Any]], ignore: bool, scorer: Scorer
) -> list[Classification]:
    out: list[Classification] = []
    for i in range(0, len(items), _CHUNK):
        out.extend(_classify_batch(items[i : i + _CHUNK], ignore, scorer))
    return out


def _prepare_workers() -> None:
    """Load the shipped model's arrays and derive every screen now, before forking, so that
    each worker inherits them instead of building its own."""
    load_scorer()._numpy()
    prepare_screens()


def _classify_forked(items: list[Mapping[str, Any]], ignore: bool, n_workers: int) -> list[Classification]:
    """The batch dealt into ``n_workers`` parts, the first here and the others in forked children
    (``classifier.forking``); children send back plain tuples. The first bad part is reported."""
    scorer = load_scorer()

    def part(tools: Sequence[Mapping[str, Any]]) -> list[tuple[str, float, list[str], list[dict[str, str]]]]:
        got = _classify_serial(tools, ignore, scorer)
        return [(c.label, c.confidence, c.rationale, c.flags) for c in got]

    try:
        got = map_forked(part, deal(items, n_workers))
    except InvalidInput:
        for t in items:  # the first bad tool in input order, whichever part met one first
            check_tool(t.get("name"), t.get("description"), t.get("input_schema"), t.get("annotations"))
        raise
    return [Classification(*r) for r in interleave(got)]
