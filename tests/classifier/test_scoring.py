"""Batch scoring's fast paths against the plain-Python path of one tool, on many inputs."""

from __future__ import annotations

import random
from itertools import chain, pairwise

import numpy as np
import pytest

import classifier.scoring as scoring
from classifier.features import BIGRAM_WORDS, STOP_WORDS, char_grams, desc_items, features, split_blocks
from classifier.model import TRAIN_DIR, load_rows
from classifier.rules import evaluate, param_words, view
from classifier.scoring import Scorer, load_scorer


def _names(count: int, seed: int) -> list[str]:
    """Gram texts as ``split_blocks`` makes them (``^words_joined$``), of every length, some repeating
    n-grams, a few outside ASCII."""
    rng = random.Random(seed)
    known = sorted(load_scorer()._numpy().by_prefix["n:"])
    out = []
    for _ in range(count):
        k = rng.choice([0, 0, 1, 1, 2, 3, 4, 6, 12])
        words = [rng.choice(known) if rng.random() < 0.8 else rng.choice(["x", "ab", "zz9", "é", "user"])
                 for _ in range(k)]
        out.append("^" + "_".join(words) + "$")
    return [*out, "", "a", "ab", "abc", "^aaaaaaaaaaaa$", "^ab_ab_ab_ab$", "^ü_get$"]


def _reference(texts: list[str]) -> tuple[list[int], list[int], list[int]]:
    a = load_scorer()._numpy()
    vocab = a.by_prefix["c:"]
    rows: list[int] = []
    cols: list[int] = []
    lengths: list[int] = []
    for i, t in enumerate(texts):
        items = dict.fromkeys(char_grams(t))
        rows += [i] * len(items)
        cols += [vocab.get(g, len(a.names)) for g in items]
        lengths.append(len(items))
    return rows, cols, lengths


@pytest.mark.parametrize("position_bits", [21, 7])
def test_gram_items_equal_the_one_tool_path(monkeypatch: pytest.MonkeyPatch, position_bits: int) -> None:
    # Few position bits: the texts are halved again and again before their n-grams are sorted, and
    # the longest take the path of one tool.
    monkeypatch.setattr(scoring, "_POSITION_BITS", position_bits)
    texts = _names(600, seed=position_bits)
    got = load_scorer()._gram_items(np, texts)
    assert tuple(x.tolist() for x in got) == _reference(texts)


def test_gram_items_of_a_huge_name_take_the_one_tool_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(scoring, "_POSITION_BITS", 5)  # texts of 10 characters or more
    texts = ["^get_user_by_user_id$", "^ab$", "^list_files_and_files$"]
    got = load_scorer()._gram_items(np, texts)
    assert tuple(x.tolist() for x in got) == _reference(texts)


@pytest.mark.parametrize("prefix", ["n:", "b:", "d:", "p:"])
def test_word_items_equal_the_one_tool_path(prefix: str) -> None:
    # Repeated words and bigrams, stop words, more than BIGRAM_WORDS words, unknown words; parameter
    # names of several words, some shared.
    rng = random.Random(5)
    a = load_scorer()._numpy()
    known = sorted(a.by_prefix[prefix])[:50] + list(STOP_WORDS[:5]) + ["zzq", "qqz", "é", "user_id", "a__b"]
    texts = [[rng.choice(known) for _ in range(rng.choice([0, 1, 2, 5, 20, 45, 120]))] for _ in range(400)]
    words = scoring._words(np, texts, prefix)
    expected = {"n:": [dict.fromkeys(t) for t in texts],
                "b:": [dict.fromkeys(map("_".join, pairwise(t))) for t in texts],
                "d:": [desc_items(t)[0] for t in texts],
                "p:": [dict.fromkeys(chain.from_iterable(map(param_words, t))) for t in texts]}[prefix]
    blocks = [(prefix, expected)]
    if prefix == "b:":
        got = [scoring._bigram_items(np, a, prefix, words, None)]
    else:
        got = [scoring._distinct_items(np, a, prefix, words)]
    if prefix == "d:":
        got.append(scoring._bigram_items(np, a, "q:", words, BIGRAM_WORDS))
        blocks.append(("q:", [desc_items(t)[1] for t in texts]))
    for (rows, cols, lengths), (name, items) in zip(got, blocks, strict=True):
        assert rows.tolist() == [i for i, x in enumerate(items) for _ in x]
        assert cols.tolist() == [a.index.get(name + k, len(a.names)) for x in items for k in x]
        assert lengths.tolist() == list(map(len, items))


def test_first_in_row_with_large_codes() -> None:
    codes = np.array([2**62, 5, 2**62, 5, 2**62, 7], dtype=np.int64)
    rows = np.array([0, 0, 0, 1, 1, 1])
    assert scoring._first_in_row(np, codes, rows).tolist() == [True, True, False, True, True, True]
    assert scoring._first_in_row(np, codes % 8, rows).tolist() == [True, True, False, True, True, True]


def _tools() -> list[dict]:
    rows = [r for p in sorted(TRAIN_DIR.glob("*.jsonl")) for r in load_rows(p)]
    odd = ["a", "get", "получить_погоду", "🔥delete🔥", "x_y_z_1_2", "GitHub:create_issue",
           "ｄｅｌｅｔｅ＿ｕｓｅｒ", "mcp__gh__deleteRepoHTTP2", "del\u200bete", "get_user_by_user_id",
           "list_list_list"]
    rows += [{"name": n, "description": d, "input_schema": s} for n in odd
             for d in (None, "", "Deletes the user. Lists é the the user user.",
                       " ".join(["Deletes the user and lists the files of the user"] * 15))
             for s in (None, {"properties": {"user_id": {}, "userId": {}, "x": {}}})]
    # Annotation rules hit too (and are left out of the features).
    rows += [{"name": n, "description": "Deletes a file.", "annotations": a} for n in odd
             for a in ({"readOnlyHint": True}, {"destructiveHint": True, "idempotentHint": False})]
    return rows


def test_flatten_equals_the_features_of_one_tool() -> None:
    # Each row: the features that the model knows, in the order of ``features``, with their values.
    scorer = load_scorer()
    index = scorer._numpy().index
    views = [view(r["name"], r.get("description"), r.get("input_schema"), r.get("annotations"))
             for r in _tools()]
    hits = [evaluate(v, annotations=True) for v in views]
    flat = scorer._flatten([split_blocks(v, h) for v, h in zip(views, hits, strict=True)])
    assert len(flat.lengths) == len(views)
    end = np.cumsum(flat.lengths)
    for i, (v, h) in enumerate(zip(views, hits, strict=True)):
        expected = [(index[k], x) for k, x in features(v, h).items() if k in index]
        got = list(zip(flat.cols[end[i] - flat.lengths[i] : end[i]].tolist(),
                       flat.vals[end[i] - flat.lengths[i] : end[i]].tolist(), strict=True))
        assert got == expected, v.name


@pytest.mark.parametrize("small", [False, True])
def test_score_blocks_equals_score_bit_for_bit(small: bool) -> None:
    # A small model knows few features: many rows have none, and their sums are the intercepts.
    scorer = load_scorer()
    if small:
        keep = {"n:get", "v:delete", "d:file", "c:^ge", "x:no_params", "r:R101"}
        weights = {k: w for k, w in scorer.weights.items() if k in keep or k.startswith("q:list_")}
        weights["n:user"] = weights["n:id"] = weights["n:get"]  # equal pushes: the larger name first
        scorer = Scorer.from_artifact(
            {"labels": scorer.labels, "intercept": scorer.intercept, "beta": scorer.beta, "weights": weights}
        )
    views = [view(r["name"], r.get("description"), r.get("input_schema"), r.get("annotations"))
             for r in _tools()]
    hits = [evaluate(v, annotations=True) for v in views]
    probs, flat = scorer.score_blocks([split_blocks(v, h) for v, h in zip(views, hits, strict=True)])
    labels = [i % 3 for i in range(len(views))]
    tops = scorer.top_many(flat, labels, 3)
    for v, h, p, label, top in zip(views, hits, probs, labels, tops, strict=True):
        one, matched = scorer.score(features(v, h))
        assert p == one, v.name
        assert top == Scorer.top_features(matched, label, 3), v.name
