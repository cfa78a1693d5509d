"""Training: plain-Python scoring equals scikit-learn, rebuilds are byte-identical, the shipped
artifact records its inputs."""

from __future__ import annotations

import gzip
import hashlib
import json
import shutil
from pathlib import Path

import pytest

from classifier.model import ARTIFACT_PATH, TRAIN_DIR, fit, row_features, train
from classifier.scoring import Scorer

ROWS = [
    {"name": f"{verb}_{noun}", "description": f"{verb} the {noun}", "label": label}
    for verb, label in (("get", "Read"), ("list", "Read"), ("create", "Write"), ("update", "Write"),
                        ("delete", "Destructive"), ("purge", "Destructive"))
    for noun in ("user", "repo", "file", "issue", "page", "table", "order", "note")
]


@pytest.fixture
def small_train_dir(tmp_path: Path) -> Path:
    d = tmp_path / "train"
    d.mkdir()
    (d / "toy.jsonl").write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    return d


def test_scorer_matches_sklearn_predict_proba() -> None:
    artifact = fit(ROWS)
    scorer = Scorer.from_artifact(artifact)
    for row in ROWS[:6]:
        p = scorer.probs(row_features(row))
        assert abs(sum(p) - 1) < 1e-9
        assert ["Read", "Write", "Destructive"][p.index(max(p))] == row["label"]


def test_scorer_equals_the_sklearn_pipeline(monkeypatch: pytest.MonkeyPatch) -> None:
    from sklearn.calibration import CalibratedClassifierCV

    import classifier.model as model

    captured = {}
    real_fit = CalibratedClassifierCV.fit

    def spy(self, x, y, **kw):  # type: ignore[no-untyped-def]
        captured["cal"] = self
        return real_fit(self, x, y, **kw)

    monkeypatch.setattr(CalibratedClassifierCV, "fit", spy)
    monkeypatch.setattr(model, "MIN_DF", 1)
    artifact = fit(ROWS)
    scorer = Scorer.from_artifact(artifact)
    from sklearn.feature_extraction import DictVectorizer

    feats = [row_features(r) for r in ROWS]
    vec = DictVectorizer(sort=True).fit(feats)
    expected = captured["cal"].predict_proba(vec.transform(feats))
    order = [list(captured["cal"].classes_).index(c) for c in ("Read", "Write", "Destructive")]
    for f, e in zip(feats, expected, strict=True):
        got = scorer.probs(f)
        assert max(abs(got[i] - e[order[i]]) for i in range(3)) < 1e-3


def test_training_is_byte_identical(small_train_dir: Path, tmp_path: Path) -> None:
    a = train(small_train_dir, output=tmp_path / "a.json.gz")
    b = train(small_train_dir, output=tmp_path / "b.json.gz")
    assert (tmp_path / "a.json.gz").read_bytes() == (tmp_path / "b.json.gz").read_bytes()
    assert a == b
    assert a["inputs"] == [{"file": "toy.jsonl", "rows": len(ROWS), "sha256": hashlib.sha256(
        (small_train_dir / "toy.jsonl").read_bytes()).hexdigest()}]


def test_training_data_change_changes_the_artifact(small_train_dir: Path, tmp_path: Path) -> None:
    a = train(small_train_dir, output=tmp_path / "a.json.gz")
    shutil.copy(small_train_dir / "toy.jsonl", small_train_dir / "toy2.jsonl")
    with (small_train_dir / "toy2.jsonl").open("a") as fh:
        fh.write(json.dumps({"name": "wipe_disk", "label": "Destructive"}) + "\n")
    b = train(small_train_dir, output=tmp_path / "b.json.gz")
    assert a["artifact_sha256"] != b["artifact_sha256"]


def _shipped_meta() -> dict:
    return json.loads(gzip.decompress(ARTIFACT_PATH.read_bytes()))["meta"]


def test_shipped_artifact_is_small_and_trained_on_the_current_project_data() -> None:
    assert ARTIFACT_PATH.stat().st_size < 3_000_000
    meta = _shipped_meta()
    project = {i["file"]: i["sha256"] for i in meta["inputs"] if "/" not in i["file"]}
    current = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(TRAIN_DIR.glob("*.jsonl"))}
    assert project == current, "training data changed: run `mcpcat train --corpus ../shared/corpus/dev.jsonl`"


def test_shipped_artifact_records_the_corpus_it_trained_on(corpus_path: Path) -> None:
    meta = _shipped_meta()
    corpus = [i for i in meta["inputs"] if "/" in i["file"]]
    assert meta["corpus"] is True
    assert [i["sha256"] for i in corpus] == [hashlib.sha256(corpus_path.read_bytes()).hexdigest()]
