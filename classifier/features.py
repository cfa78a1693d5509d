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

from collections.abc import Collection
from itertools import chain, filterfalse, pairwise
from math import sqrt
from operator import add
from typing import Final

from classifier.rules import ANNOTATION_RULES, Hit, ToolView, param_words

__all__ = ["DESC_WORDS", "GRAM_WEIGHT", "Block", "SplitBlocks", "char_grams", "feature_blocks", "features",
           "split_blocks"]

#: Description words used for features (the rules read up to ``tokens.MAX_TEXT`` characters).
DESC_WORDS: Final = 120
_STOP_WORDS = (
    "a an the of to in for and or on by with from is are be this that it its as at your you "
    "if can will all any which when use using used"
)
_STOP: Final = frozenset(_STOP_WORDS.split())

#: Weight of the block of the name's character n-grams (``c:``).
GRAM_WEIGHT: Final = 0.8

#: Features sharing a prefix and a value: ``(prefix, distinct items in order, value of each)``.
#: Feature ``prefix + item`` has that value; the order is the order of the feature dict.
Block = tuple[str, Collection[str], float]
#: A tool's blocks with the ``c:`` block left out: the blocks before it, the text its n-grams
#: come from, the blocks after it (batch scoring takes the n-grams of many names at once).
SplitBlocks = tuple[list[Block], str, list[Block]]


def _normalised(prefix: str, items: dict[str, None], weight: float = 1.0) -> list[Block]:
    return [(prefix, items, weight / sqrt(len(items)))] if items else []


def char_grams(text: str) -> list[str]:
    """The 3-, 4- and 5-grams of ``text``: all 3-grams in order, then the 4-grams, then the 5-grams.

    Each n-gram is the (n-1)-gram at its position plus the next character, joined at C speed.
    """
    bigrams = list(map(add, text, text[1:]))
    three = list(map(add, bigrams, text[2:]))
    four = list(map(add, three, text[3:]))
    five = list(map(add, four, text[4:]))
    return three + four + five


def feature_blocks(v: ToolView, hits: list[Hit]) -> list[Block]:
    """The features of ``features(v, hits)`` as blocks, in the same order.

    Items are deduplicated in order of first occurrence (not in set order), so that the order of
    the features, and with it the order of the model's sums, is the same in every process.
    """
    before, gram_text, after = split_blocks(v, hits)
    return before + _normalised("c:", dict.fromkeys(char_grams(gram_text)), GRAM_WEIGHT) + after


def split_blocks(v: ToolView, hits: list[Hit]) -> SplitBlocks:
    """``feature_blocks`` without the ``c:`` block, which comes from the returned text's n-grams."""
    ws = v.words
    before = _normalised("n:", dict.fromkeys(v.name_words))
    if ws:
        before.append(("v:", [ws[v.lead]], 1.0))
        before.append(("e:", [ws[-1]], 0.5))
    before += _normalised("b:", dict.fromkeys(map("_".join, pairwise(ws))), 0.7)
    gram_text = "^" + "_".join(ws) + "$"
    dw = list(filterfalse(_STOP.__contains__, v.text_words[:DESC_WORDS]))
    after = _normalised("d:", dict.fromkeys(dw))
    after += _normalised("q:", dict.fromkeys(map("_".join, pairwise(dw[:40]))), 0.6)
    after += _normalised("p:", dict.fromkeys(chain.from_iterable(map(param_words, v.params))), 0.7)
    if not v.text or not v.params:
        missing = ["no_description"] if not v.text else []
        if not v.params:
            missing.append("no_params")
        after.append(("x:", missing, 1.0))
    rule_ids = dict.fromkeys(h.rule.id for h in hits if h.rule.id not in ANNOTATION_RULES)
    if rule_ids:
        after.append(("r:", list(rule_ids), 1.0))
    return before, gram_text, after


def features(v: ToolView, hits: list[Hit]) -> dict[str, float]:
    out: dict[str, float] = {}
    for prefix, items, value in feature_blocks(v, hits):
        out.update(dict.fromkeys(map(prefix.__add__, items), value))
    return out
