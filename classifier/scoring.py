"""Inference over the saved model artifact: no scikit-learn.

The artifact (``data/model.json.gz``, written by ``classifier.model``) holds one weight per
class for each feature, the intercepts and the calibration temperature ``beta``:
``p = softmax(beta * (intercept + sum(weight * value)))``.

One tool is scored in plain Python (``Scorer.score``: a cold ``mcpcat classify`` does not pay
for numpy). Batches are scored with numpy (``Scorer.score_many``, ``Scorer.top_many``) with the
same operations in the same order, so both give the same numbers, bit for bit.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from heapq import nlargest
from itertools import chain, repeat
from math import exp
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, NamedTuple

from classifier.errors import ClassifierError

if TYPE_CHECKING:
    from classifier.features import Block

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
            self._arrays = _Arrays(np, names, index, w, push, by_prefix, rank)
        return self._arrays

    def _flatten(self, feats: list[Mapping[str, float]]) -> _Flat:
        a = self._numpy()
        np, index, unknown = a.np, a.index, len(a.names)
        names = [k for f in feats for k in f]
        cols = np.fromiter(map(index.get, names, repeat(unknown)), dtype=np.intp, count=len(names))
        vals = np.fromiter(chain.from_iterable(f.values() for f in feats), dtype=float, count=len(names))
        return _Flat(cols, vals, np.array([len(f) for f in feats], dtype=np.intp))

    def _flatten_blocks(self, tools: list[list[Block]]) -> _Flat:
        a = self._numpy()
        np, by_prefix, unknown = a.np, a.by_prefix, len(a.names)
        cols: list[int] = []
        values: list[float] = []
        sizes: list[int] = []
        lengths: list[int] = []
        none: dict[str, int] = {}
        for blocks in tools:
            length = 0
            for prefix, items, value in blocks:
                cols.extend(map(by_prefix.get(prefix, none).get, items, repeat(unknown)))
                values.append(value)
                sizes.append(len(items))
                length += len(items)
            lengths.append(length)
        vals = np.repeat(np.array(values, dtype=float), np.array(sizes, dtype=np.intp))
        cols_array = np.fromiter(cols, dtype=np.intp, count=len(cols))
        return _Flat(cols_array, vals, np.array(lengths, dtype=np.intp))

    def score_many(self, feats: list[Mapping[str, float]]) -> tuple[list[list[float]], _Flat]:
        """``score(f)[0]`` for every feature dict, as one sparse product (same sums, same order).

        Also returns the flattened features, for ``top_many``.
        """
        flat = self._flatten(feats)
        return self._probs(flat), flat

    def score_blocks(self, tools: list[list[Block]]) -> tuple[list[list[float]], _Flat]:
        """``score_many`` of the features given as blocks (``features.feature_blocks``): the
        same numbers, without building each feature's name."""
        flat = self._flatten_blocks(tools)
        return self._probs(flat), flat

    def _probs(self, flat: _Flat) -> list[list[float]]:
        a = self._numpy()
        np = a.np
        n = len(flat.lengths)
        if not n:
            return []
        # Each row's sum starts with its intercept, then adds its features in order: Python's order.
        rows = np.repeat(np.arange(n, dtype=np.intp), flat.lengths)
        first = np.cumsum(flat.lengths + 1) - (flat.lengths + 1)  # where each row's intercept goes
        feature_slots = np.arange(len(flat.cols), dtype=np.intp) + rows + 1
        slots = np.repeat(np.arange(n, dtype=np.intp), flat.lengths + 1)
        weighted = a.w[flat.cols] * flat.vals[:, None]
        terms = np.empty(len(slots))
        z = []
        for k in range(3):
            terms[first] = self.intercept[k]
            terms[feature_slots] = weighted[:, k]
            z.append(np.bincount(slots, weights=terms, minlength=n).tolist())
        b = self.beta
        out = []
        for z0, z1, z2 in zip(*z, strict=True):
            zz = (b * z0, b * z1, b * z2)
            top = max(zz)
            e = [exp(x - top) for x in zz]
            s = e[0] + e[1] + e[2]
            out.append([x / s for x in e])
        return out

    def top_many(self, flat: _Flat, labels: list[int], k: int = 3) -> list[list[tuple[str, float]]]:
        """``top_features`` of every row of ``flat`` (from ``score_many``) towards its label.

        ``k`` rounds over all rows at once: each takes every row's largest remaining positive
        push, the larger name first among equal pushes (``nlargest``'s order, ties included).
        """
        a = self._numpy()
        np, names, unknown = a.np, a.names, len(a.names)
        n = len(labels)
        out: list[list[tuple[str, float]]] = [[] for _ in range(n)]
        rows = np.repeat(np.arange(n, dtype=np.intp), flat.lengths)
        push = flat.vals * a.push.ravel()[flat.cols * 3 + np.array(labels, dtype=np.intp)[rows]]
        keep = np.flatnonzero((push > 0) & (flat.cols != unknown))
        if not len(keep):
            return out
        push, rows, cols = push[keep], rows[keep], flat.cols[keep]  # rows ascending
        rank = a.rank[cols]
        counts = np.bincount(rows, minlength=n)
        present = counts[counts > 0]
        starts = np.cumsum(present) - present  # where each row with pushes begins
        segment = np.repeat(np.arange(len(present), dtype=np.intp), present)
        for _ in range(k):
            best = np.maximum.reduceat(push, starts)
            is_best = (push == best[segment]) & (push > 0)
            best_rank = np.maximum.reduceat(np.where(is_best, rank, -1), starts)
            chosen = np.flatnonzero(is_best & (rank == best_rank[segment]))
            if not len(chosen):
                break
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
    push: Any
    by_prefix: dict[str, dict[str, int]]
    rank: Any


class _Flat(NamedTuple):
    """Features of many tools, one row after another: column (unknown: the zero row), value,
    and the number of features of each row."""

    cols: Any
    vals: Any
    lengths: Any


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
