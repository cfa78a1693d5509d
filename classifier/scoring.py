"""Inference over the saved model artifact: plain Python, no scikit-learn, no numpy.

The artifact (``data/model.json.gz``, written by ``classifier.model``) holds one weight per
class for each feature, the intercepts and the calibration temperature ``beta``:
``p = softmax(beta * (intercept + sum(weight * value)))``.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from heapq import nlargest
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
