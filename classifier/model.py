"""Training the model (scikit-learn) and saving what inference needs (plain JSON).

Training: features from ``classifier.features`` -> ``DictVectorizer`` -> multinomial
``LogisticRegression``, calibrated by temperature scaling (``CalibratedClassifierCV``, one
parameter, so inference is ``softmax(beta * logits)``). Everything is seeded and sorted, and
the artifact is written as gzip with a zero mtime, so the same inputs give the same bytes.

scikit-learn is imported inside the functions that train: importing this module stays cheap,
and ``classifier.classify`` never imports it at all.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Final

from classifier.errors import InvalidInput
from classifier.features import features
from classifier.rules import LABELS, evaluate, view
from classifier.scoring import ARTIFACT_PATH as _ARTIFACT_PATH

__all__ = [
    "ARTIFACT_PATH",
    "TRAIN_DIR",
    "fit",
    "load_rows",
    "row_features",
    "save_artifact",
    "train",
    "training_inputs",
]

DATA_DIR: Final = Path(__file__).resolve().parent / "data"
TRAIN_DIR: Final = DATA_DIR / "train"
ARTIFACT_PATH: Final = _ARTIFACT_PATH
FORMAT: Final = 1
#: A corpus repository contributes at most this much weight, so one big server cannot dominate.
REPO_WEIGHT_CAP: Final = 40.0
MIN_DF: Final = 2
C: Final = 2.0


def load_rows(path: Path) -> list[dict[str, Any]]:
    """Labeled rows of one JSONL file; a bad line raises ``InvalidInput`` naming it."""
    rows: list[dict[str, Any]] = []
    with path.open(encoding="utf-8") as fh:
        for i, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                raise InvalidInput(f"{path}:{i}: not JSON ({e.msg})") from e
            if not isinstance(row, dict) or row.get("label") not in LABELS or not row.get("name"):
                raise InvalidInput(f"{path}:{i}: needs a name and a label (Read, Write or Destructive)")
            rows.append(row)
    return rows


def training_inputs(train_dir: Path = TRAIN_DIR, corpus: Path | None = None) -> list[Path]:
    paths = sorted(train_dir.glob("*.jsonl"))
    if corpus is not None:
        paths.append(corpus)
    return paths


def row_features(row: Mapping[str, Any]) -> dict[str, float]:
    """Features of a labeled row, annotations ignored (the model judges the definition)."""
    desc = row.get("description")
    v = view(str(row["name"]), desc if isinstance(desc, str) else None, row.get("input_schema"))
    return features(v, evaluate(v, annotations=False))


def _weights(rows: Sequence[Mapping[str, Any]]) -> list[float]:
    per_repo = Counter(str(r["repo"]) for r in rows if r.get("repo"))
    return [min(1.0, REPO_WEIGHT_CAP / per_repo[str(r["repo"])]) if r.get("repo") else 1.0 for r in rows]


def fit(
    rows: Sequence[Mapping[str, Any]],
    feats: Sequence[Mapping[str, float]] | None = None,
) -> dict[str, Any]:
    """Train on labeled rows; return the artifact (a JSON-able dict without metadata)."""
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.feature_extraction import DictVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold
    from threadpoolctl import threadpool_limits

    if len({r["label"] for r in rows}) < len(LABELS):
        raise InvalidInput("training data needs rows of every class: Read, Write and Destructive")
    feats = list(feats) if feats is not None else [row_features(r) for r in rows]
    df = Counter(k for f in feats for k in f)
    keep = {k for k, n in df.items() if n >= MIN_DF}
    feats = [{k: v for k, v in f.items() if k in keep} for f in feats]
    y = [str(r["label"]) for r in rows]
    weights = _weights(rows)
    vec = DictVectorizer(sort=True)
    x = vec.fit_transform(feats)
    base = LogisticRegression(C=C, max_iter=3000, tol=1e-3, class_weight="balanced")
    cal = CalibratedClassifierCV(
        base, method="temperature", cv=StratifiedKFold(3, shuffle=True, random_state=0), ensemble=False
    )
    # One BLAS thread: several threads on a small problem are far slower (and vary run to run).
    with threadpool_limits(1):
        cal.fit(x, y, sample_weight=weights)
    clf = cal.calibrated_classifiers_[0]
    lr = clf.estimator
    beta = float(clf.calibrators[0].beta_)
    classes = [str(cal.classes_[int(c)]) if not isinstance(c, str) else c for c in lr.classes_]
    order = [classes.index(label) for label in LABELS]
    coef = lr.coef_
    names = vec.get_feature_names_out()
    weights_out = {
        str(name): [_round(coef[k, j]) for k in order]
        for j, name in enumerate(names)
        if any(abs(coef[k, j]) >= 1e-4 for k in order)
    }
    return {
        "format": FORMAT,
        "labels": list(LABELS),
        "intercept": [_round(lr.intercept_[k]) for k in order],
        "beta": _round(beta),
        "weights": weights_out,
    }


def _round(x: float) -> float:
    return float(f"{float(x):.6g}")


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def save_artifact(artifact: Mapping[str, Any], path: Path) -> str:
    """Write the artifact as deterministic gzip JSON; return its sha256."""
    raw = json.dumps(artifact, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    data = gzip.compress(raw, compresslevel=9, mtime=0)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return hashlib.sha256(data).hexdigest()


def train(
    train_dir: Path = TRAIN_DIR,
    corpus: Path | None = None,
    output: Path = ARTIFACT_PATH,
    *,
    extra: Iterable[Path] = (),
) -> dict[str, Any]:
    """Rebuild the artifact from the project's training data (plus a labeled corpus, if given).

    Returns the metadata written into the artifact: every input file's sha256 and row count,
    so a rebuild can be checked against the shipped file.
    """
    paths = [*training_inputs(train_dir, corpus), *extra]
    if not paths:
        raise InvalidInput(f"no training data in {train_dir}")
    rows: list[dict[str, Any]] = []
    inputs = []
    for p in paths:
        got = load_rows(p)
        rows.extend(got)
        name = p.name if p.parent == train_dir else str(p)
        inputs.append({"file": name, "rows": len(got), "sha256": _sha256(p)})
    artifact = fit(rows)
    meta = {
        "inputs": inputs,
        "rows": len(rows),
        "classes": dict(sorted(Counter(str(r["label"]) for r in rows).items())),
        "features": len(artifact["weights"]),
        "corpus": corpus is not None,
    }
    artifact["meta"] = meta
    meta["artifact_sha256"] = save_artifact(artifact, output)
    return meta
