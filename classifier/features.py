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

__all__ = ["BIGRAM_WORDS", "DESC_WORDS", "GRAM_WEIGHT", "SLOTS", "STOP_WORDS", "Block", "SplitBlocks",
           "block_items", "char_grams", "desc_items", "feature_blocks", "features", "split_blocks"]

#: Description words used for features (the rules read up to ``tokens.MAX_TEXT`` characters).
DESC_WORDS: Final = 120
#: Description bigrams come from the first this many words left after the stop words.
BIGRAM_WORDS: Final = 40
_STOP_WORDS = (
    "a an the of to in for and or on by with from is are be this that it its as at your you "
    "if can will all any which when use using used"
)
#: Words left out of the description's features, in a fixed order.
STOP_WORDS: Final = tuple(dict.fromkeys(_STOP_WORDS.split()))
_STOP: Final = frozenset(STOP_WORDS)

#: Weight of the block of the name's character n-grams (``c:``).
GRAM_WEIGHT: Final = 0.8

#: Features sharing a prefix and a value: ``(prefix, distinct items in order, value of each)``.
#: Feature ``prefix + item`` has that value; the order is the order of the feature dict.
Block = tuple[str, Collection[str], float]
#: The blocks of every tool, in order: prefix, weight, and whether the weight is divided by the
#: square root of the number of items (``L2``-normalised) or is the value of every item.
SLOTS: Final = (
    ("n:", 1.0, True),
    ("v:", 1.0, False),
    ("e:", 0.5, False),
    ("b:", 0.7, True),
    ("c:", GRAM_WEIGHT, True),
    ("d:", 1.0, True),
    ("q:", 0.6, True),
    ("p:", 0.7, True),
    ("x:", 1.0, False),
    ("r:", 1.0, False),
)
#: A tool's items of each slot of ``SLOTS`` (``split_blocks``) as they come, before
#: ``block_items`` makes them distinct: the name's words (``n:``), its own words (``b:``: their
#: bigrams), the text of its n-grams (``c:``), the description's first words (``d:``; ``q:`` has
#: nothing), the parameter names (``p:``: their words), the rule hits (``r:``: their rules' ids,
#: annotation rules left out). Batch scoring takes those of many tools at
#: once.
SplitBlocks = tuple[Collection[str], Collection[str], Collection[str], Collection[str], str, Collection[str],
                    Collection[str], Collection[str], Collection[str], Collection[str]]


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
    out = []
    for (prefix, weight, normalised), items in zip(SLOTS, block_items(split_blocks(v, hits)), strict=True):
        if items:
            out.append((prefix, items, weight / sqrt(len(items)) if normalised else weight))
    return out


_NONE: Final = ()


def desc_items(words: list[str]) -> tuple[Collection[str], Collection[str]]:
    """The ``d:`` and ``q:`` items of a description's first words: the words without stop words,
    distinct, and the distinct bigrams (``a_b``) of the first ``BIGRAM_WORDS`` of those."""
    dw = list(filterfalse(_STOP.__contains__, words))
    d = dict.fromkeys(dw)
    bigrams = map("_".join, pairwise(dw[:BIGRAM_WORDS]))
    # Words hold no "_": distinct words make distinct bigrams, and then need no deduplication.
    q = list(bigrams) if len(d) == len(dw) else dict.fromkeys(bigrams)
    return d, q


def block_items(blocks: SplitBlocks) -> list[Collection[str]]:
    """The distinct items of each slot of ``SLOTS`` in order of first occurrence, from a tool's
    ``split_blocks``."""
    names, lead, last, own, text, desc, _, params, missing, rules = blocks
    d, q = desc_items(desc)  # type: ignore[arg-type]
    return [
        dict.fromkeys(names),
        lead,
        last,
        dict.fromkeys(map("_".join, pairwise(own))),
        dict.fromkeys(char_grams(text)),  # type: ignore[arg-type]
        d,
        q,
        dict.fromkeys(chain.from_iterable(map(param_words, params))),
        missing,
        dict.fromkeys([i for h in rules if (i := h.rule.id) not in ANNOTATION_RULES]),  # type: ignore[attr-defined]
    ]


def split_blocks(v: ToolView, hits: list[Hit]) -> SplitBlocks:
    """The items of each slot of ``SLOTS`` as they come (``SplitBlocks``), for ``block_items``."""
    ws = v.words
    params = v.params
    if v.text and params:
        missing: Collection[str] = _NONE
    else:
        missing = ["no_description"] if not v.text else []
        if not params:
            missing.append("no_params")
    return (
        v.name_words,
        (ws[v.lead],) if ws else _NONE,
        (ws[-1],) if ws else _NONE,
        ws,
        f"^{'_'.join(ws)}$",
        tw if len(tw := v.text_words) <= DESC_WORDS else tw[:DESC_WORDS],  # (short ones not copied)
        _NONE,
        params,
        missing,
        hits,
    )


def features(v: ToolView, hits: list[Hit]) -> dict[str, float]:
    out: dict[str, float] = {}
    for prefix, items, value in feature_blocks(v, hits):
        out.update(dict.fromkeys(map(prefix.__add__, items), value))
    return out
