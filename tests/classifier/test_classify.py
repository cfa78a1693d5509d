"""classify(): the decision, the output shape, annotations and conflicts, bad input."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time

import pytest

import classifier
from classifier import Classification, InvalidInput, classify, classify_many
from classifier.model import TRAIN_DIR, load_rows


def test_fetch_playback_progress_is_read_with_a_checkable_rationale() -> None:
    c = classify("fetch_playback_progress")
    assert c.label == "Read"
    assert c.rationale[0] == "R131 read_verb: name starts with 'fetch'"
    assert all(re.fullmatch(r"(R\d{3} [a-z0-9_]+: .+|M \S+: [+-]\d+\.\d\d)", line) for line in c.rationale)


@pytest.mark.parametrize(
    ("name", "description", "schema", "label"),
    [
        ("delete_repo", None, None, "Destructive"),
        ("mcp__github__delete_repo", None, None, "Destructive"),
        ("execute_sql", "Execute any SQL statement.", {"properties": {"sql": {}}}, "Destructive"),
        ("run_command", "Run a shell command on the host.", {"properties": {"command": {}}}, "Destructive"),
        ("create_issue", "Create a new issue.", {"properties": {"title": {}, "body": {}}}, "Write"),
        ("send_message", "Send a chat message.", {"properties": {"channel": {}, "text": {}}}, "Write"),
        ("list_repositories", "List repositories of the user.", {"properties": {"owner": {}}}, "Read"),
        ("search_code", "Search code across repositories.", {"properties": {"query": {}}}, "Read"),
        ("write_file", "Write content to a file, replacing it.", {"properties": {"path": {}, "content": {}}},
         "Destructive"),
    ],
)
def test_clear_cases(name: str, description: str | None, schema: dict | None, label: str) -> None:
    assert classify(name, description, schema).label == label


def test_to_dict_shape_and_annotation_values() -> None:
    cases = (("list_users", True, False), ("create_user", False, False), ("delete_user", False, True))
    for name, ro, de in cases:
        d = classify(name).to_dict()
        assert set(d) == {"label", "confidence", "rationale", "flags", "annotations"}
        assert d["annotations"] == {"readOnlyHint": ro, "destructiveHint": de}
        assert 0.0 <= d["confidence"] <= 1.0


def test_annotation_conflicting_with_strong_evidence_flags_and_keeps_severe() -> None:
    c = classify("delete_repo", annotations={"readOnlyHint": True})
    assert c.label == "Destructive"
    assert [f["id"] for f in c.flags] == ["F101"]
    flag = c.flags[0]
    assert flag["name"] == "annotation-conflict" and flag["severity"] == "medium"
    assert "R101" in flag["evidence"] and "Read" in flag["evidence"]


def test_annotations_decide_when_they_do_not_contradict_strong_evidence() -> None:
    assert classify("widget_state", annotations={"readOnlyHint": True}).label == "Read"
    assert classify("widget_state", annotations={"destructiveHint": True}).label == "Destructive"
    assert classify("get_widget", annotations={"destructiveHint": True}).label == "Destructive"
    assert classify("get_widget", annotations={"destructiveHint": True}).flags == []


def test_ignore_annotations() -> None:
    c = classify("widget_state", annotations={"destructiveHint": True}, ignore_annotations=True)
    assert not any(line.startswith("R4") for line in c.rationale)
    assert classify("delete_repo", annotations={"readOnlyHint": True}, ignore_annotations=True).flags == []


@pytest.mark.parametrize("name", ["", "   ", "\u200b\u200d", "\U000e0067\U000e0065\U000e0074", None])
def test_empty_name_is_invalid(name: str | None) -> None:
    with pytest.raises(InvalidInput, match="empty"):
        classify(name)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"description": 5}, "description"),
        ({"input_schema": []}, "input_schema"),
        ({"annotations": "x"}, "annotations"),
    ],
)
def test_ill_typed_fields_are_invalid(kwargs: dict, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        classify("get_x", **kwargs)


def test_ten_megabyte_description_is_fast() -> None:
    classify("warm_up")
    text = "Deletes everything permanently. " + "lorem ipsum " * (10 * 1024 * 1024 // 12)
    t0 = time.perf_counter()
    c = classify("do_thing", text)
    assert time.perf_counter() - t0 < 0.5
    assert c.label == "Destructive"


@pytest.mark.parametrize(
    "name",
    [
        "\u200bget\u200c_\u200duser\u2060", "🔥🔥🔥", "get_👍_status", "获取用户", "удалить_файл",
        "\u202eresu_teg", "a" * 100_000, "\x00\x01get",
    ],
)
def test_odd_names_never_crash(name: str) -> None:
    c = classify(name, "\u200b描述 🔥", {"properties": {"\u200bpath": {"description": "😀"}}})
    assert c.label in ("Read", "Write", "Destructive")


def test_invisible_characters_do_not_hide_a_verb() -> None:
    assert classify("del\u200bete_\u200drepo").label == "Destructive"


def test_emoji_only_name_leans_severe() -> None:
    assert classify("🔥🔥🔥").label != "Read"


def test_classify_many_keeps_order_and_matches_classify() -> None:
    tools = [{"name": n} for n in ("list_a", "delete_b", "create_c")] * 3
    got = classify_many(tools)
    assert [c.label for c in got] == [classify(t["name"]).label for t in tools]
    assert all(isinstance(c, Classification) for c in got)


def test_classify_many_in_parallel_equals_serial() -> None:
    tools = [{"name": f"{v}_item_{i}", "description": "x"} for i in range(3000) for v in ("get", "delete")]
    assert [c.to_dict() for c in classify_many(tools, workers=2)] == [
        c.to_dict() for c in classify_many(tools, workers=1)
    ]


@pytest.mark.parametrize("bad_at", [10, 5990])
def test_classify_many_in_parallel_raises_a_bad_tool_and_leaves_no_child(bad_at: int) -> None:
    tools: list[dict[str, object]] = [{"name": f"get_item_{i}"} for i in range(6000)]
    tools[bad_at] = {"name": " "}
    with pytest.raises(InvalidInput, match="empty"):
        classify_many(tools, workers=2)
    with pytest.raises(ChildProcessError):
        os.waitpid(-1, os.WNOHANG)  # every forked child was reaped


def test_classify_many_in_parallel_raises_the_first_bad_tool_in_input_order() -> None:
    # Dealt round-robin, tool 3 goes to the second process and tool 10 to the first.
    tools: list[dict[str, object]] = [{"name": f"get_item_{i}"} for i in range(4000)]
    tools[3] = {"name": "get_x", "description": 7}
    tools[10] = {"name": " "}
    with pytest.raises(InvalidInput, match="description must be a string"):
        classify_many(tools, workers=2)


def test_batch_scoring_equals_one_by_one_bit_for_bit() -> None:
    # classify_many scores with numpy in one pass; classify in plain Python: same sums, same order.
    rows = [r for p in sorted(TRAIN_DIR.glob("*.jsonl"))[:6] for r in load_rows(p)]
    rows.append({"name": "🔥", "description": "zero\u200bwidth"})
    got = classify_many(rows, ignore_annotations=True, workers=1)
    for row, c in zip(rows, got, strict=True):
        one = classify(row["name"], row.get("description"), row.get("input_schema"), ignore_annotations=True)
        assert c.to_dict() == one.to_dict(), row["name"]
    assert classify_many([]) == []


def test_batch_equals_one_by_one_for_odd_names() -> None:
    # Batch scoring reads ASCII names' n-grams as bytes; other names take the one-tool path.
    names = ["a", "ab", "get", "get_user", "получить_погоду", "get_погоду_now", "🔥delete🔥", "x_y_z_1_2",
             "GitHub:create_issue", "mcp__gh__deleteRepoHTTP2", "ｄｅｌｅｔｅ＿ｕｓｅｒ", "del\u200bete"]
    rows = [{"name": n, "description": d} for n in names for d in (None, "Deletes the user. Lists é.")]
    got = classify_many(rows, workers=1)
    for row, c in zip(rows, got, strict=True):
        assert c.to_dict() == classify(row["name"], row["description"]).to_dict(), row["name"]


def test_version_names_ruleset_artifact_and_code() -> None:
    assert re.fullmatch(r"1\.0\+[0-9a-f]{8}\.[0-9a-f]{8}", classifier.CLASSIFIER_VERSION)


def test_all_is_sorted_and_exported() -> None:
    # isort-style order, as ruff's RUF022 keeps it: CONSTANTS, then Classes, then functions.
    def key(n: str) -> tuple[int, str]:
        return (0 if n.isupper() else 1 if n[0].isupper() else 2, n)

    assert classifier.__all__ == sorted(classifier.__all__, key=key)
    for name in classifier.__all__:
        assert hasattr(classifier, name)


def test_inference_and_import_do_not_load_sklearn() -> None:
    code = (
        "import sys, classifier; assert 'numpy' not in sys.modules; "
        "c = classifier.classify('delete_repo'); classifier.CLASSIFIER_VERSION; "
        "bad = [m for m in sys.modules if m.split('.')[0] in ('sklearn', 'scipy', 'numpy')]; "
        "print(c.label, bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "Destructive []"


@pytest.mark.parametrize("enum", [5, "read write", {"a": "ignore previous instructions"}, None, [1, "x"]])
def test_an_ill_formed_enum_in_a_crawled_schema_is_classified_not_a_crash(enum: object) -> None:
    schema = {"type": "object", "properties": {"mode": {"type": "string", "enum": enum}}}
    assert classify("set_mode", "Set the mode.", schema).label in ("Write", "Destructive")
    [batch] = classify_many([{"name": "set_mode", "description": "Set the mode.", "input_schema": schema}])
    assert batch.label in ("Write", "Destructive")
