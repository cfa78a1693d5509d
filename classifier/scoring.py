"""Inference over the saved model artifact: no scikit-learn.

The artifact (``data/model.json.gz``, written by ``classifier.model``) holds one weight per
class for each feature, the intercepts and the calibration temperature ``beta``:
``p = softmax(beta * (intercept + sum(weight * value)))``.

One tool is scored in plain Python (``Scorer.score``: a cold ``mcpcat classify`` does not pay
for numpy). Batches are scored with numpy (``Scorer.score_blocks``, ``Scorer.top_many``) with the
same operations in the same order, so both give the same numbers, bit for bit.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from heapq import nlargest
from itertools import chain, count, islice, repeat
from math import exp
from operator import attrgetter
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, NamedTuple

from classifier.errors import ClassifierError
from classifier.features import BIGRAM_WORDS, SLOTS, STOP_WORDS, char_grams
from classifier.rules import ANNOTATION_RULES, param_words

if TYPE_CHECKING:
    from classifier.features import SplitBlocks

__all__ = ["ARTIFACT_PATH", "Matched", "Scorer", "load_scorer"]

#: A feature found in the model: its name, its value and its weight per class.
Matched = tuple[str, float, tuple[float, ...]]

ARTIFACT_PATH: Final = Path(__file__).resolve().parent / "data" / "model.json.gz"


@dataclass(slots=True)
class Scorer:
    labels: tuple[str, ...]
    intercept: tuple[float, ...]
    beta: float
    weights: dict[str, tuple[float, ...]]
    sha256: str = ""
    meta: dict[str, Any] = field(default_factory=dict)
    _arrays: Any = field(default=None, repr=False, compare=False)

    @classmethod
    def from_artifact(cls, artifact: Mapping[str, Any], sha256: str = "") -> Scorer:
        return cls(
            labels=tuple(artifact["labels"]),
            intercept=tuple(artifact["intercept"]),
            beta=float(artifact["beta"]),
            weights={k: tuple(v) for k, v in artifact["weights"].items()},
            sha256=sha256,
            meta=dict(artifact.get("meta", {})),
        )

    def score(self, feats: Mapping[str, float]) -> tuple[list[float], list[Matched]]:
        """Calibrated probabilities, and the known features with their weights (for the rationale)."""
        z0, z1, z2 = self.intercept
        w = self.weights
        matched = []
        for k, v in feats.items():
            ws = w.get(k)
            if ws is not None:
                z0 += ws[0] * v
                z1 += ws[1] * v
                z2 += ws[2] * v
                matched.append((k, v, ws))
        b = self.beta
        z = (b * z0, b * z1, b * z2)
        top = max(z)
        e = [exp(x - top) for x in z]
        s = e[0] + e[1] + e[2]
        return [x / s for x in e], matched

    def probs(self, feats: Mapping[str, float]) -> list[float]:
        return self.score(feats)[0]

    @staticmethod
    def top_features(
        matched: list[Matched], label: int, k: int = 3
    ) -> list[tuple[str, float]]:
        """The features that pushed most towards ``label`` against the mean of the other classes."""
        pushes = []
        for name, v, ws in matched:
            push = v * (1.5 * ws[label] - 0.5 * (ws[0] + ws[1] + ws[2]))
            if push > 0:
                pushes.append((push, name))
        best = nlargest(k, pushes)
        return [(name, push) for push, name in best]


    def _numpy(self) -> _Arrays:
        """Feature index, weight matrix (a zero last row for unknown features), push matrix,
        the index split by feature prefix, and each feature's rank in name order."""
        if self._arrays is None:
            import numpy as np

            names = list(self.weights)
            index = {k: i for i, k in enumerate(names)}
            w = np.zeros((len(names) + 1, 3))
            if names:
                w[:-1] = np.array([self.weights[k] for k in names], dtype=float)
            total = (w[:, 0] + w[:, 1]) + w[:, 2]
            push = np.stack([1.5 * w[:, i] - 0.5 * total for i in range(3)], axis=1)
            by_prefix: dict[str, dict[str, int]] = {}
            for i, k in enumerate(names):
                prefix, colon, rest = k.partition(":")
                by_prefix.setdefault(prefix + colon, {})[rest] = i
            rank = np.zeros(len(names) + 1, dtype=np.intp)
            rank[sorted(range(len(names)), key=names.__getitem__)] = np.arange(len(names))
            grams = {_gram_code(g): i for g, i in by_prefix.get("c:", {}).items() if _codable(g)}
            gram_table = _HashTable.of(np, grams, len(names))
            getters = {prefix: items.get for prefix, items in by_prefix.items()}
            w_by_class = np.ascontiguousarray(w.T)
            bigrams = {prefix: _bigram_table(np, by_prefix.get(prefix, {})) for prefix in ("b:", "q:")}
            self._arrays = _Arrays(np, names, index, w, w_by_class, push, by_prefix, getters, rank,
                                   gram_table, bigrams)
        return self._arrays

    def score_blocks(self, tools: list[SplitBlocks]) -> tuple[list[list[float]], _Flat]:
        """``score(features(...))[0]`` of every tool given as blocks (``features.split_blocks``), as
        one sparse product: the same sums in the same order, without building each feature's
        name, and the names' n-grams all at once. Also returns the flattened features, for
        ``top_many``."""
        flat = self._flatten(tools)
        return self._probs(flat), flat

    def _flatten(self, tools: list[SplitBlocks]) -> _Flat:
        """The features of every tool that the model knows, one tool after another, in the order of
        ``features``: slot by slot, each slot's items of all tools looked up at once, then put in
        place (a feature the model does not know adds nothing to a sum, exactly: it is left out).
        """
        a = self._numpy()
        np = a.np
        n = len(tools)
        if not n:
            return _Flat(np.zeros(0, dtype=np.intp), np.zeros(0), np.zeros(0, dtype=np.intp))
        unknown = len(a.names)
        no_items = {}.get  # a prefix the model does not know: every item takes the default
        fill = repeat(unknown)  # shared: ``map`` stops at its items, never exhausts it
        slot_rows, slot_cols, slot_vals = [], [], []
        row_length = np.zeros(n, dtype=np.intp)
        places = []  # of each slot: each row's known items in the slots before it, and in it
        by_slot = zip(*tools, strict=True)  # each slot of every tool
        bigrams = None  # (the q: block, made with the d: block)
        for (prefix, weight, normalised), items in zip(SLOTS, by_slot, strict=True):
            if prefix == "c:":
                rows, cols, lengths = self._gram_items(np, items)  # type: ignore[arg-type]
            elif prefix in ("n:", "b:", "d:", "p:", "r:"):
                words = _words(np, items, prefix)  # type: ignore[arg-type]
                if prefix == "b:":
                    rows, cols, lengths = _bigram_items(np, a, prefix, words, None)
                else:
                    rows, cols, lengths = _distinct_items(np, a, prefix, words)
                if prefix == "d:":
                    bigrams = _bigram_items(np, a, "q:", words, BIGRAM_WORDS)
            elif prefix == "q:" and bigrams is not None:
                rows, cols, lengths = bigrams
            else:
                lengths = np.fromiter(map(len, items), dtype=np.intp, count=n)
                get = a.getters.get(prefix, no_items)
                cols = np.fromiter(map(get, chain.from_iterable(items), fill), dtype=np.intp,
                                   count=int(lengths.sum()))
                rows = np.repeat(np.arange(n, dtype=np.intp), lengths)
            known = cols != unknown
            rows = rows.compress(known)
            slot_rows.append(rows)
            slot_cols.append(cols.compress(known))
            if normalised:  # (a row without items has no value to take)
                slot_vals.append((weight / np.sqrt(np.maximum(lengths, 1).astype(float))).take(rows))
            else:
                slot_vals.append(np.full(len(rows), weight))
            counts = np.bincount(rows, minlength=n)
            places.append((row_length.copy(), np.cumsum(counts) - counts))
            row_length += counts
        row_start = np.cumsum(row_length) - row_length
        total = int(row_length.sum())
        out_cols = np.empty(total, dtype=np.intp)
        out_vals = np.empty(total)
        for rows, cols, vals, (before, start) in zip(slot_rows, slot_cols, slot_vals, places, strict=True):
            # The j-th item of a row in this slot (at start + j) goes to row_start + before + j.
            at = (row_start + before - start).take(rows) + np.arange(len(rows), dtype=np.intp)
            out_cols[at] = cols
            out_vals[at] = vals
        return _Flat(out_cols, out_vals, row_length)

    def _gram_items(self, np: Any, texts: list[str]) -> tuple[Any, Any, Any]:
        """The ``c:`` block of every row: the texts' distinct 3-, 4- and 5-grams, each n in turn, in
        order of first occurrence (``features.feature_blocks``), as (row, column) of each, rows
        ascending, and the number of each row's n-grams.

        ASCII texts are read as bytes, an n-gram as an integer (its bytes after a marker of n), and
        looked up in the model's sorted n-gram codes; other texts take the path of one tool.
        """
        a = self._numpy()
        longest = (1 << _POSITION_BITS) // 3
        if "".join(texts).isascii() and max(map(len, texts), default=0) < longest:
            rows, cols = _gram_cols(np, a, texts)
        else:  # rare: a name with letters outside ASCII, or a huge one
            other = [i for i, t in enumerate(texts) if not t.isascii() or len(t) >= longest]
            plain = sorted(set(range(len(texts))).difference(other))
            rows, cols = _gram_cols(np, a, [texts[i] for i in plain])
            rows = np.array(plain, dtype=np.intp)[rows]
            vocab = a.by_prefix.get("c:", {})
            more_rows: list[int] = []
            more_cols: list[int] = []
            for i in other:
                items = dict.fromkeys(char_grams(texts[i]))
                more_rows += [i] * len(items)
                more_cols.extend(map(vocab.get, items, repeat(len(a.names))))
            rows = np.concatenate([rows, np.array(more_rows, dtype=np.intp)])
            cols = np.concatenate([cols, np.array(more_cols, dtype=np.intp)])
            order = np.argsort(rows, kind="stable")
            rows, cols = rows[order], cols[order]
        return rows, cols, np.bincount(rows, minlength=len(texts))

    def _probs(self, flat: _Flat) -> list[list[float]]:
        a = self._numpy()
        np = a.np
        n = len(flat.lengths)
        if not n:
            return []
        # Python's order: each row's sum starts with its intercept, then adds its features in turn.
        # ``bincount`` adds a row's terms in turn to 0.0, so the row's first term becomes intercept +
        # first feature (0.0 + x is x; the sign of a zero sum is lost by the softmax anyway), and a
        # row without features takes its intercept.
        rows = np.repeat(np.arange(n, dtype=np.intp), flat.lengths)
        has = flat.lengths > 0
        first = (np.cumsum(flat.lengths) - flat.lengths)[has]  # each row's first feature
        terms = a.w_by_class.take(flat.cols, axis=1) * flat.vals
        z = []
        for k in range(3):
            terms[k, first] += self.intercept[k]
            sums = np.bincount(rows, weights=terms[k], minlength=n)
            sums[~has] = self.intercept[k]
            z.append(sums)
        # score()'s softmax, one IEEE operation at a time for all rows (exp: the same math.exp).
        zz = self.beta * np.stack(z)
        top = np.maximum(np.maximum(zz[0], zz[1]), zz[2])
        e = np.fromiter(map(exp, (zz - top).ravel().tolist()), dtype=float, count=3 * n).reshape(3, n)
        return (e / ((e[0] + e[1]) + e[2])).T.tolist()  # type: ignore[no-any-return]

    def top_many(self, flat: _Flat, labels: list[int], k: int = 3) -> list[list[tuple[str, float]]]:
        """``top_features`` of every row of ``flat`` (from ``score_blocks``) towards its label.

        ``k`` rounds over all rows at once: each takes every row's largest remaining positive
        push, the larger name first among equal pushes (``nlargest``'s order, ties included).
        """
        a = self._numpy()
        np, names = a.np, a.names
        n = len(labels)
        out: list[list[tuple[str, float]]] = [[] for _ in range(n)]
        rows = np.repeat(np.arange(n, dtype=np.intp), flat.lengths)
        push = flat.vals * a.push.ravel().take(flat.cols * 3 + np.array(labels, dtype=np.intp).take(rows))
        keep = np.flatnonzero(push > 0)  # (``flat`` holds only features that the model knows)
        if not len(keep):
            return out
        push, rows, cols = push.take(keep), rows.take(keep), flat.cols.take(keep)  # rows ascending
        rank = a.rank.take(cols)
        counts = np.bincount(rows, minlength=n)
        present = counts[counts > 0]
        starts = np.cumsum(present) - present  # where each row with pushes begins
        segment = np.repeat(np.arange(len(present), dtype=np.intp), present)
        for _ in range(k):
            best = np.maximum.reduceat(push, starts)
            chosen = np.flatnonzero(push == best[segment])
            chosen = chosen[push[chosen] > 0]
            if not len(chosen):
                break
            segments = segment[chosen]
            new = np.empty(len(chosen), dtype=bool)
            new[:1] = True
            new[1:] = segments[1:] != segments[:-1]
            if not new.all():  # equal largest pushes in a row (rare): the larger name
                ranks = rank[chosen]
                chosen = chosen[ranks == np.maximum.reduceat(ranks, np.flatnonzero(new))[np.cumsum(new) - 1]]
            taken = zip(rows[chosen].tolist(), cols[chosen].tolist(), push[chosen].tolist(), strict=True)
            for r, c, p in taken:
                out[r].append((names[c], p))
            push[chosen] = 0.0  # taken: no longer positive
        return out


class _Arrays(NamedTuple):
    np: Any
    names: list[str]
    index: dict[str, int]
    w: Any
    #: ``w`` transposed: the weights of each class in a row.
    w_by_class: Any
    push: Any
    by_prefix: dict[str, dict[str, int]]
    #: ``by_prefix[prefix].get`` of each prefix.
    getters: dict[str, Any]
    rank: Any
    #: The model's ``c:`` n-grams by integer code (``_gram_code``).
    grams: _HashTable
    #: Of the ``b:`` and ``q:`` prefixes, the model's bigrams as pairs of word numbers (``_bigram_table``).
    bigrams: dict[str, _Bigrams]


class _Flat(NamedTuple):
    """Features of many tools, one row after another: column (unknown: the zero row), value,
    and the number of features of each row."""

    cols: Any
    vals: Any
    lengths: Any


def _codable(gram: str) -> bool:
    return gram.isascii() and 3 <= len(gram) <= 5


def _gram_code(gram: str) -> int:
    """An ASCII n-gram (3 <= n <= 5) as one integer: n, then its bytes (n marks the length)."""
    code = len(gram)
    for byte in gram.encode("ascii"):
        code = code << 8 | byte
    return code


#: Codes stay below 2**43, so (code, position) fits in one 64-bit integer while positions fit 21 bits
#: (a text with more n-grams, about 3 a character, takes the path of one tool).
_POSITION_BITS = 21


def _gram_cols(np: Any, a: _Arrays, texts: list[str]) -> tuple[Any, Any]:
    """(row, model column) of every distinct n-gram of each ASCII text, in ``char_grams`` order of
    first occurrence: row by row, the 3-grams by position, then the 4-grams, then the 5-grams.
    An n-gram the model does not know has column ``len(a.names)``.

    The n-grams are put straight into that order as integer codes; repeats are found by sorting
    (``_first_in_row``) only the rows that repeat a 3-gram, and the codes are looked up in a hash
    table of the model's.
    """
    lengths = np.fromiter(map(len, texts), dtype=np.intp, count=len(texts))
    per_size = [np.maximum(lengths - (size - 1), 0) for size in (3, 4, 5)]
    per_row = per_size[0] + per_size[1] + per_size[2]
    total = int(per_row.sum())
    if not total:
        return np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.intp)
    shift = total.bit_length()
    if shift > _POSITION_BITS:  # too many n-grams for one sort: halve the texts
        half = len(texts) // 2
        r1, c1 = _gram_cols(np, a, texts[:half])
        r2, c2 = _gram_cols(np, a, texts[half:])
        return np.concatenate([r1, r2 + half]), np.concatenate([c1, c2])
    data = np.frombuffer("".join(texts).encode("ascii"), dtype=np.uint8).astype(np.uint64)
    text_start = np.cumsum(lengths) - lengths
    # by_size[i, b]: the n-gram of size 3 + i starting at byte b (with its marker), if any.
    by_size = np.zeros((3, len(data)), dtype=np.uint64)
    raw = data[:-2] << np.uint64(16) | data[1:-1] << np.uint64(8) | data[2:]
    for i, size in enumerate((3, 4, 5)):
        if size > 3:
            raw = raw[:-1] << np.uint64(8) | data[size - 1 :]
        by_size[i, : len(raw)] = raw | np.uint64(size << (8 * size))
    # The n-grams of row r and size 3 + i start at bytes text_start[r] + j: gathered row by row, size
    # by size (``char_grams`` order), from by_size.ravel()[i * len(data) + text_start[r] + j].
    count = np.stack(per_size, axis=1).ravel()
    source = (text_start[:, None] + np.arange(3) * len(data)).ravel()
    codes = by_size.ravel().take(
        np.repeat(source - (np.cumsum(count) - count), count) + np.arange(total, dtype=np.intp)
    )
    rows = np.repeat(np.arange(len(texts), dtype=np.intp), per_row)
    # A row repeats an n-gram only if it repeats a 3-gram (inside it): only such rows are sorted
    # whole; the others keep all their n-grams.
    three = np.flatnonzero(codes < np.uint64(4 << 24))
    repeats = np.zeros(len(texts) + 1, dtype=bool)
    three_rows = rows.take(three)
    repeats[three_rows.compress(~_first_in_row(np, codes.take(three).astype(np.int64), three_rows))] = True
    keep = ~repeats.take(rows)
    some = np.flatnonzero(~keep)
    if len(some):
        keep[some] = _first_in_row(np, codes.take(some).astype(np.int64), rows.take(some))
    rows, codes = rows.compress(keep), codes.compress(keep)
    return rows, a.grams.find(np, codes)


class _HashTable(NamedTuple):
    """Non-zero integer keys -> columns, for looking up many keys at once with numpy: open
    addressing (the next slot after a taken one), a slot per key by a multiplicative hash."""

    keys: Any
    cols: Any
    #: How many slots the longest search reads, and the bits of a slot number.
    probes: int
    bits: int
    unknown: int

    @classmethod
    def of(cls, np: Any, items: dict[int, int], unknown: int) -> _HashTable:
        bits = max(4, (4 * len(items)).bit_length())  # a quarter full at most
        size = 1 << bits
        keys = [0] * size
        cols = [unknown] * size
        probes = 1
        slots = _slots(np, np.array(list(items), dtype=np.uint64), bits).tolist()
        for (key, col), slot in zip(items.items(), slots, strict=True):
            tries = 1
            while keys[slot]:
                slot = (slot + 1) & (size - 1)
                tries += 1
            keys[slot], cols[slot] = key, col
            probes = max(probes, tries)
        return cls(np.array(keys, dtype=np.uint64), np.array(cols, dtype=np.intp), probes, bits, unknown)

    def find(self, np: Any, keys: Any) -> Any:
        """The column of each key (``unknown`` for a key not in the table)."""
        out = np.full(len(keys), self.unknown, dtype=np.intp)
        slot = _slots(np, keys, self.bits)
        pending = np.arange(len(keys), dtype=np.intp)
        mask = (1 << self.bits) - 1
        for _ in range(self.probes):
            if not len(pending):
                break
            there = self.keys.take(slot)
            found = there == keys.take(pending)
            out[pending.compress(found)] = self.cols.take(slot.compress(found))
            go_on = ~found & (there != 0)  # a free slot ends the search
            pending, slot = pending.compress(go_on), (slot.compress(go_on) + 1) & mask
        return out


def _slots(np: Any, keys: Any, bits: int) -> Any:
    """Each key's first slot in a table of ``2**bits``: Fibonacci hashing of its 64 bits."""
    return ((keys * np.uint64(0x9E3779B97F4A7C15)) >> np.uint64(64 - bits)).astype(np.intp)


_Items = tuple[Any, Any, Any]
_ANNOTATION_RULES: Final = tuple(sorted(ANNOTATION_RULES))
_rule_id: Final = attrgetter("rule.id")


class _Bigrams(NamedTuple):
    """A model's bigrams ``first_second`` of one prefix: their words numbered, and the bigrams as
    sorted codes (first * len(vocab) + second) with their columns."""

    vocab: dict[str, int]
    codes: Any
    cols: Any


def _bigram_table(np: Any, items: dict[str, int]) -> _Bigrams:
    # Words hold no "_": a bigram with another "_" never matches.
    pairs = [(k.split("_"), i) for k, i in items.items() if k.count("_") == 1]
    vocab = {w: j for j, w in enumerate(dict.fromkeys(w for p, _ in pairs for w in p))}
    table = dict(sorted((vocab[p[0]] * len(vocab) + vocab[p[1]], i) for p, i in pairs))
    codes = np.array(list(table), dtype=np.int64)
    return _Bigrams(vocab, codes, np.array(list(table.values()), dtype=np.intp))


class _Words(NamedTuple):
    """The words of one slot of every row, numbered: a word's number is where it first occurs in
    the batch, so that each distinct word is looked up in the model once."""

    #: Each word's number and row (rows ascending), stop words left out.
    number: Any
    rows: Any
    #: The distinct words, their numbers, and a bound of the numbers.
    distinct: list[str]
    places: Any
    size: int
    #: The number of rows.
    n: int


def _words(np: Any, items: list[Any], prefix: str) -> _Words:
    """The words of each row of a slot of ``SplitBlocks``: the items themselves, or of ``p:`` the
    words of each parameter name, or of ``r:`` the ids of the hits' rules; of ``d:`` without stop
    words, of ``r:`` without annotation rules."""
    n = len(items)
    lengths = np.fromiter(map(len, items), dtype=np.intp, count=n)
    chained = chain.from_iterable(items)
    if prefix == "p:":  # parameter names -> their words
        per_name = list(map(param_words, chained))
        ends = np.zeros(len(per_name) + 1, dtype=np.intp)
        np.cumsum(np.fromiter(map(len, per_name), dtype=np.intp, count=len(per_name)), out=ends[1:])
        bounds = np.cumsum(lengths)
        lengths = ends[bounds] - ends[bounds - lengths]
        chained = chain.from_iterable(per_name)
    skip = STOP_WORDS if prefix == "d:" else _ANNOTATION_RULES if prefix == "r:" else ()
    if prefix == "r:":  # rule hits -> their rules' ids
        chained = map(_rule_id, chained)
    total = int(lengths.sum())
    numbers = dict(zip(skip, range(len(skip)), strict=True))
    number = np.fromiter(map(numbers.setdefault, chained, count(len(skip))), dtype=np.int64, count=total)
    rows = np.repeat(np.arange(n, dtype=np.intp), lengths)
    if skip:
        kept = number >= len(skip)
        number, rows = number.compress(kept), rows.compress(kept)
    distinct = list(islice(numbers, len(skip), None))
    places = np.fromiter(islice(numbers.values(), len(skip), None), dtype=np.intp, count=len(distinct))
    return _Words(number, rows, distinct, places, len(skip) + total, n)


def _distinct_items(np: Any, a: _Arrays, prefix: str, w: _Words) -> _Items:
    """(row, column) of each row's distinct words, in order of first occurrence, and their number
    per row."""
    unknown = len(a.names)
    column = np.full(w.size, unknown, dtype=np.intp)
    get = a.getters.get(prefix)
    if get is not None:
        column[w.places] = np.fromiter(map(get, w.distinct, repeat(unknown)), dtype=np.intp,
                                       count=len(w.distinct))
    first = _first_in_row(np, w.number, w.rows)
    rows = w.rows.compress(first)
    return rows, column.take(w.number.compress(first)), np.bincount(rows, minlength=w.n)


def _bigram_items(np: Any, a: _Arrays, prefix: str, w: _Words, limit: int | None) -> _Items:
    """(row, column) of each row's distinct bigrams of neighbouring words (of its first ``limit``
    words), in order of first occurrence, and their number per row."""
    rows = w.rows
    pair = rows[1:] == rows[:-1]
    if limit is not None:
        per_row = np.bincount(rows, minlength=w.n)
        in_row = np.arange(len(rows), dtype=np.intp) - (np.cumsum(per_row) - per_row).take(rows)
        pair &= in_row[1:] < limit
    left, right, rows = w.number[:-1].compress(pair), w.number[1:].compress(pair), rows[1:].compress(pair)
    first = _first_in_row(np, left * w.size + right, rows)
    left, right, rows = left.compress(first), right.compress(first), rows.compress(first)
    cols = np.full(len(rows), len(a.names), dtype=np.intp)
    table = a.bigrams[prefix]
    if len(table.codes):
        in_vocab = np.full(w.size, -1, dtype=np.int64)
        in_vocab[w.places] = np.fromiter(map(table.vocab.get, w.distinct, repeat(-1)), dtype=np.int64,
                                         count=len(w.distinct))
        i, j = in_vocab.take(left), in_vocab.take(right)
        code = i * len(table.vocab) + j
        found = np.searchsorted(table.codes, code).clip(max=len(table.codes) - 1)
        known = (i >= 0) & (j >= 0) & (table.codes[found] == code)
        cols[known] = table.cols[found[known]]
    return rows, cols, np.bincount(rows, minlength=w.n)


def _first_in_row(np: Any, codes: Any, rows: Any) -> Any:
    """Whether each item is the first of its row with its code (``codes``: non-negative integers;
    ``rows``: ascending), found by one sort of (code, position)."""
    m = len(codes)
    if not m:
        return np.zeros(0, dtype=bool)
    shift = m.bit_length()
    if int(codes.max()).bit_length() + shift > 63:  # too large for one integer: a stable sort
        at = np.argsort(codes, kind="stable")
        code = codes.take(at)
    else:
        keys = np.sort(codes << shift | np.arange(m, dtype=np.int64))
        at = keys & ((1 << shift) - 1)
        code = keys >> shift
    row = rows.take(at)
    first = np.empty(m, dtype=bool)
    first[0] = True
    first[1:] = (code[1:] != code[:-1]) | (row[1:] != row[:-1])
    out = np.zeros(m, dtype=bool)
    out[at.compress(first)] = True
    return out


_CACHE: dict[Path, Scorer] = {}


def load_scorer(path: Path = ARTIFACT_PATH) -> Scorer:
    """Load an artifact once per process."""
    if path not in _CACHE:
        try:
            data = path.read_bytes()
        except FileNotFoundError as e:
            raise ClassifierError(f"model artifact {path} is missing: run `mcpcat train`") from e
        try:
            artifact = json.loads(gzip.decompress(data))
        except (OSError, ValueError) as e:
            raise ClassifierError(f"model artifact {path} is unreadable: {e}") from e
        _CACHE[path] = Scorer.from_artifact(artifact, hashlib.sha256(data).hexdigest())
    return _CACHE[path]
