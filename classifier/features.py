"""Features of a tool definition, shared by training (``classifier.model``) and inference.

Plain Python on purpose: the same function feeds scikit-learn's ``DictVectorizer`` at training
time and the saved weights at inference time, so both see exactly the same numbers and
inference needs neither scikit-learn nor numpy.

Blocks (each L2-normalised so that a long description cannot drown the name):
``n:`` name words, ``v:``/``e:`` first and last word of the tool's own name, ``b:`` name
bigrams, ``c:`` character n-grams of the name, ``d:``/``q:`` description words and bigrams,
``p:`` parameter name words, ``r:`` rule hits (R4xx annotation rules excluded).
"""

from __future__ import annotations

from itertools import pairwise
from math import sqrt
from typing import Final

from classifier.rules import ANNOTATION_RULES, Hit, ToolView

__all__ = ["DESC_WORDS", "features"]

#: Description words used for features (the rules read up to ``tokens.MAX_TEXT`` characters).
DESC_WORDS: Final = 120
_STOP_WORDS = (
    "a an the of to in for and or on by with from is are be this that it its as at your you "
    "if can will all any which when use using used"
)
_STOP: Final = frozenset(_STOP_WORDS.split())


def _block(out: dict[str, float], prefix: str, items: set[str], weight: float = 1.0) -> None:
    if items:
        out.update(dict.fromkeys(map(prefix.__add__, items), weight / sqrt(len(items))))


def features(v: ToolView, hits: list[Hit]) -> dict[str, float]:
    out: dict[str, float] = {}
    ws = v.words
    _block(out, "n:", set(v.name_words))
    if ws:
        out["v:" + ws[v.lead]] = 1.0
        out["e:" + ws[-1]] = 0.5
    _block(out, "b:", {a + "_" + b for a, b in pairwise(ws)}, 0.7)
    joined = "^" + "_".join(ws) + "$"
    size = len(joined)
    _block(out, "c:", {joined[i : i + n] for n in (3, 4, 5) for i in range(size - n + 1)}, 0.8)
    dw = [w for w in v.text_words[:DESC_WORDS] if w not in _STOP]
    _block(out, "d:", set(dw))
    _block(out, "q:", {a + "_" + b for a, b in pairwise(dw[:40])}, 0.6)
    _block(out, "p:", set(v.param_words), 0.7)
    if not v.text:
        out["x:no_description"] = 1.0
    if not v.params:
        out["x:no_params"] = 1.0
    for hit in hits:
        if hit.rule.id not in ANNOTATION_RULES:
            out["r:" + hit.rule.id] = 1.0
    return out
