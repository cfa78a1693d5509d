"""Records: the definition hash, and text that a database could not store."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from catalog.errors import InvalidRecord
from catalog.records import ServerRecord, ToolRecord, canonical_json, definition_hash
from catalog.store import Catalog


@pytest.mark.parametrize(
    ("name", "description", "schema", "annotations"),
    [
        ("get_x", None, None, None),
        (
            "délete\u200b_😀",
            'quote " backslash \\ newline \n',
            {"b": 1, "a": [1, {"z": None}]},
            {"readOnlyHint": True},
        ),
        ("lone\ud800", "\udc00", {"\ud83d": "x"}, {}),
    ],
)
def test_the_hash_is_sha256_of_the_canonical_json_of_the_four_parts(
    name, description, schema, annotations
) -> None:
    payload = {
        "name": name,
        "description": description or "",
        "input_schema": schema or {},
        "annotations": annotations or {},
    }
    expected = hashlib.sha256(json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    assert definition_hash(name, description, schema, annotations) == expected


def test_the_hash_ignores_key_order_but_not_content() -> None:
    a = definition_hash("t", "d", {"type": "object", "properties": {"a": {}, "b": {}}}, None)
    b = definition_hash("t", "d", {"properties": {"b": {}, "a": {}}, "type": "object"}, None)
    c = definition_hash("t", "d ", {"properties": {"b": {}, "a": {}}, "type": "object"}, None)
    assert a == b != c
    assert canonical_json({"b": 1, "a": "é"}) == '{"a":"\\u00e9","b":1}'


def test_lone_surrogates_invisible_characters_and_a_10_mb_description_are_stored(tmp_path: Path) -> None:
    huge = "Deletes things. " * (10 * 1024 * 1024 // 16)
    record = ServerRecord(
        key="github.com/a/\ud800b",
        name="b",
        tools=[
            ToolRecord("zero\u200bwidth\u202e", description="\udc00 hidden \U000e0041 tag"),
            ToolRecord(
                "huge", description=huge, input_schema={"type": "object", "properties": {"\ud800": {}}}
            ),
        ],
        tools_complete=True,
    )
    with Catalog(f"sqlite:///{tmp_path / 'c.db'}") as cat:
        assert cat.upsert_servers([record]).tools_added == 2
        detail = cat.server("github.com/a/?b")
    tools = {t["name"]: t for t in detail["tools"]}
    assert tools["zero\u200bwidth\u202e"]["description"] == "? hidden \U000e0041 tag"
    assert len(tools["huge"]["description"]) == len(huge)


def test_from_dict_names_what_is_wrong() -> None:
    with pytest.raises(InvalidRecord, match="missing required field 'key'"):
        ServerRecord.from_dict({"name": "x"})
    with pytest.raises(InvalidRecord, match="field 'tools' must be a list"):
        ServerRecord.from_dict({"key": "k", "tools": {"name": "x"}})
    with pytest.raises(InvalidRecord, match="tool names repeat within server 'k': a"):
        ServerRecord.from_dict({"key": "k", "tools": [{"name": "a"}, {"name": "a"}]})
    with pytest.raises(InvalidRecord, match="field 'input_schema' must be an object"):
        ServerRecord.from_dict({"key": "k", "tools": [{"name": "a", "input_schema": "x"}]})
