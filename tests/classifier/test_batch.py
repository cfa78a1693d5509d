"""Batch JSONL classification and the evaluation metrics."""

from __future__ import annotations

import io
import json
import os

import pytest

import classifier.batch as batch
from classifier import InvalidInput, classify
from classifier.batch import classify_jsonl, evaluate_rows, metrics, read_jsonl


def test_batch_adds_the_classification_in_input_order() -> None:
    lines = [
        json.dumps({"name": "delete_repo", "extra": 1}),
        "",
        json.dumps({"name": "list_repos", "description": "List repositories.", "annotations": {}}),
    ]
    out = io.StringIO()
    assert classify_jsonl(lines, out) == 2
    got = [json.loads(x) for x in out.getvalue().splitlines()]
    assert [g["name"] for g in got] == ["delete_repo", "list_repos"]
    assert got[0]["extra"] == 1
    assert got[0]["label"] == "Destructive"
    assert got[0]["mcp_annotations"] == {"readOnlyHint": False, "destructiveHint": True}
    assert got[1]["mcp_annotations"] == {"readOnlyHint": True, "destructiveHint": False}
    assert got[0]["rationale"] == classify("delete_repo").rationale
    assert set(got[1]) == {"name", "description", "annotations", "label", "confidence", "rationale", "flags",
                           "mcp_annotations"}


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ("{not json", "line 3: not JSON"),
        ("[1, 2]", "line 3: not a JSON object"),
        ('{"name": ""}', "line 3: tool"),
        ('{"name": "x", "input_schema": 7}', "line 3: input_schema"),
    ],
)
def test_bad_line_names_its_number_after_writing_the_lines_before(bad: str, message: str) -> None:
    lines = [json.dumps({"name": "get_a"}), json.dumps({"name": "get_b"}), bad, json.dumps({"name": "get_c"})]
    out = io.StringIO()
    with pytest.raises(InvalidInput, match=message):
        classify_jsonl(lines, out)
    assert [json.loads(x)["name"] for x in out.getvalue().splitlines()] == ["get_a", "get_b"]


def test_ignore_annotations_in_batch() -> None:
    line = json.dumps({"name": "widget_state", "annotations": {"destructiveHint": True}})
    a, b = io.StringIO(), io.StringIO()
    classify_jsonl([line], a)
    classify_jsonl([line], b, ignore_annotations=True)
    assert json.loads(a.getvalue())["label"] == "Destructive"
    assert not any(r.startswith("R4") for r in json.loads(b.getvalue())["rationale"])


def test_metrics_by_hand() -> None:
    truth = ["Read", "Read", "Write", "Destructive", "Destructive"]
    pred = ["Read", "Write", "Read", "Read", "Destructive"]
    m = metrics(truth, pred)
    assert m["confusion"] == {
        "Read": {"Read": 1, "Write": 1, "Destructive": 0},
        "Write": {"Read": 1, "Write": 0, "Destructive": 0},
        "Destructive": {"Read": 1, "Write": 0, "Destructive": 1},
    }
    assert m["per_class"]["Read"] == {"precision": 0.3333, "recall": 0.5, "f1": 0.4, "support": 2}
    assert m["per_class"]["Destructive"] == {"precision": 1.0, "recall": 0.5, "f1": 0.6667, "support": 2}
    assert m["per_class"]["Write"]["f1"] == 0.0
    assert m["macro_f1"] == round((0.4 + 0.0 + 2 / 3) / 3, 4)
    assert m["under_classified"] == 2 and m["under_classification"] == 0.4
    assert m["over_classification"] == 0.2
    assert m["destructive_called_read"] == 1
    assert m["accuracy"] == 0.4


def test_evaluate_rows_and_read_jsonl() -> None:
    rows = read_jsonl([json.dumps({"name": "delete_x", "label": "Destructive"}),
                       json.dumps({"name": "list_x", "label": "Write"})])
    result = evaluate_rows(rows)
    assert result["tools"] == 2
    assert result["errors"] == [{"name": "list_x", "label": "Write", "predicted": "Read",
                                 "confidence": classify("list_x").confidence}]
    with pytest.raises(InvalidInput, match="line 1: label"):
        read_jsonl([json.dumps({"name": "x", "label": "Maybe"})])


def _lines(n: int) -> list[str]:
    verbs = ("get", "delete", "create", "list", "run")
    return [json.dumps({"name": f"{verbs[i % 5]}_item_{i}", "description": f"Item {i}.", "n": i})
            for i in range(n)]


def test_parallel_batch_writes_what_one_process_writes() -> None:
    lines = _lines(2500)
    lines.insert(700, "   ")  # blank lines are skipped wherever they fall
    one, two = io.StringIO(), io.StringIO()
    assert classify_jsonl(lines, one, workers=1) == 2500
    assert classify_jsonl(lines, two, workers=2) == 2500
    assert two.getvalue() == one.getvalue()
    assert [json.loads(x)["n"] for x in two.getvalue().splitlines()] == list(range(2500))


@pytest.mark.parametrize("bad_at", [5, 1400, 2399])
def test_parallel_batch_bad_line_in_any_part_writes_every_line_before_it(bad_at: int) -> None:
    lines = _lines(2400)
    lines[bad_at] = '{"name": "x", "annotations": []}'
    out = io.StringIO()
    with pytest.raises(InvalidInput, match=rf"^line {bad_at + 1}: annotations"):
        classify_jsonl(lines, out, workers=2)
    assert [json.loads(x)["n"] for x in out.getvalue().splitlines()] == list(range(bad_at))
    with pytest.raises(ChildProcessError):
        os.waitpid(-1, os.WNOHANG)  # every forked child was reaped


def test_parallel_batch_with_bad_lines_in_two_parts_stops_at_the_earliest() -> None:
    # Dealt round-robin over two processes: line index 9 is the second's, 14 the first's.
    lines = _lines(2400)
    lines[14] = "{oops"
    lines[9] = '{"name": ""}'
    out = io.StringIO()
    with pytest.raises(InvalidInput, match=r"^line 10: tool name is empty"):
        classify_jsonl(lines, out, workers=2)
    assert [json.loads(x)["n"] for x in out.getvalue().splitlines()] == list(range(9))


def test_batch_reads_in_chunks_and_numbers_lines_across_them(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(batch, "CHUNK_LINES", 7)
    lines = _lines(30)
    lines[11:11] = ["", ""]
    lines[25] = "{oops"
    out = io.StringIO()
    with pytest.raises(InvalidInput, match=r"^line 26: not JSON"):
        classify_jsonl(lines, out)
    assert [json.loads(x)["n"] for x in out.getvalue().splitlines()] == list(range(23))
