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
from typing import Any, Final

from classifier.errors import ClassifierError

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


    def _numpy(self) -> Any:
        """Feature index, weight matrix (a zero last row for unknown features) and push matrix."""
        if self._arrays is None:
            import numpy as np

            names = list(self.weights)
            index = {k: i for i, k in enumerate(names)}
            w = np.zeros((len(names) + 1, 3))
            if names:
                w[:-1] = np.array([self.weights[k] for k in names], dtype=float)
            total = (w[:, 0] + w[:, 1]) + w[:, 2]
            push = np.stack([1.5 * w[:, i] - 0.5 * total for i in range(3)], axis=1)
            self._arrays = (np, index, w, push)
        return self._arrays

    def _flatten(self, feats: list[Mapping[str, float]]) -> tuple[Any, Any, Any, Any, list[str]]:
        np, index, _, _ = self._numpy()
        unknown = len(index)
        names = [k for f in feats for k in f]
        idx = np.fromiter(map(index.get, names, repeat(unknown)), dtype=np.intp, count=len(names))
        vals = np.fromiter(chain.from_iterable(f.values() for f in feats), dtype=float, count=len(names))
        rows = np.repeat(np.arange(len(feats), dtype=np.intp), [len(f) for f in feats])
        return idx, vals, rows, unknown, names

    def score_many(self, feats: list[Mapping[str, float]]) -> tuple[list[list[float]], Any]:
        """``score(f)[0]`` for every feature dict, as one sparse product (same sums, same order).

        Also returns the flattened features, for ``top_many``.
        """
        np, _, w, _ = self._numpy()
        flat = self._flatten(feats)
        idx, vals = flat[:2]
        n = len(feats)
        # The intercept first in each row, then the features in dict order: Python's sum order.
        starts = np.cumsum([0] + [len(f) for f in feats[:-1]])
        slots = np.repeat(np.arange(n, dtype=np.intp), np.diff(np.append(starts, len(idx))) + 1)
        z = []
        for k in range(3):
            terms = np.insert(w[idx, k] * vals, starts, self.intercept[k])
            z.append(np.bincount(slots, weights=terms, minlength=n).tolist())
        b = self.beta
        out = []
        for z0, z1, z2 in zip(*z, strict=True):
            zz = (b * z0, b * z1, b * z2)
            top = max(zz)
            e = [exp(x - top) for x in zz]
            s = e[0] + e[1] + e[2]
            out.append([x / s for x in e])
        return out, flat

    def top_many(self, flat: Any, labels: list[int], k: int = 3) -> list[list[tuple[str, float]]]:
        """``top_features`` of every row of ``flat`` (from ``score_many``) towards its label."""
        np, _, _, pw = self._numpy()
        idx, vals, rows, unknown, names = flat
        n = len(labels)
        lab = np.array(labels, dtype=np.intp)
        push = vals * pw[idx, lab[rows]]
        keep = np.flatnonzero((push > 0) & (idx != unknown))
        push_k, rows_k = push[keep], rows[keep]
        order = np.lexsort((-push_k, rows_k))
        keep, push_k, rows_k = keep[order], push_k[order], rows_k[order]
        starts = np.searchsorted(rows_k, np.arange(n + 1)).tolist()
        keep_l, push_l = keep.tolist(), push_k.tolist()
        out: list[list[tuple[str, float]]] = []
        for r in range(n):
            a, e = starts[r], starts[r + 1]
            if e - a > k and push_l[a + k - 1] == push_l[a + k]:
                # A tie at the cut: let nlargest break it by name, as ``top_features`` does.
                best = nlargest(k, [(push_l[j], names[keep_l[j]]) for j in range(a, e)])
                out.append([(name, p) for p, name in best])
            else:
                top = [(names[keep_l[j]], push_l[j]) for j in range(a, min(e, a + k))]
                if len(top) > 1:
                    # Equal pushes inside the top k: nlargest puts the larger name first.
                    top.sort(key=_by_push_then_name, reverse=True)
                out.append(top)
        return out


def _by_push_then_name(t: tuple[str, float]) -> tuple[float, str]:
    return t[1], t[0]


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
