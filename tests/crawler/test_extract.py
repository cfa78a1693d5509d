"""crawler.extract on small fixture sources, one per pattern (tests/crawler/fixtures/extract/)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from crawler.extract import extract_tree

FIX = Path(__file__).parent / "fixtures" / "extract"


def tools(folder: str) -> dict[str, Any]:
    return {t.name: t for t in extract_tree(FIX / folder).tools}


def test_python_fastmcp_decorators() -> None:
    t = tools("py")
    w = t["get_weather"]
    assert (w.file, w.line, w.pattern) == ("fastmcp_server.py", 14, "py.decorator")
    assert w.description == "Get the weather for a city.\n\nReturns a short forecast."
    assert w.input_schema == {
        "type": "object",
        "properties": {"city": {"type": "string"}, "units": {"enum": ["c", "f"], "default": "c"}},
        "required": ["city"],
    }
    h = t["say_hello"]
    assert h.description == "Say hello to someone"
    assert h.annotations == {"readOnlyHint": True, "title": "Hello"}
    assert h.title == "Hello"
    assert h.input_schema["properties"]["name"] == {"type": "string", "description": "Who to greet"}
    assert h.input_schema["properties"]["times"] == {
        "type": "integer",
        "default": 1,
        "description": "How often",
    }
    assert h.input_schema["required"] == ["name"]


def test_python_constants_from_the_module_beside() -> None:
    d = tools("py")["demo_delete_item"]
    assert d.description == "Delete an item. This cannot be undone."
    assert d.input_schema["required"] == ["item_id"]


def test_python_dedent_and_runtime_strings() -> None:
    t = tools("py")
    assert t["run_query"].description == "\nRuns a query.\n  Indented line.\n"
    dyn = t["dynamic"]
    assert dyn.description is None and dyn.unresolved == ["description"]
    assert dyn.notes == ["description: f-string with run-time values"]


def test_python_registration_call_and_lowlevel_tools() -> None:
    t = tools("py")
    assert (t["read_file"].description, t["read_file"].line) == ("Read a file.", 55)
    s = t["git_status"]
    assert s.annotations == {"readOnlyHint": True, "destructiveHint": False}
    assert s.input_schema["required"] == ["repo_path"]
    c = t["git_commit"]  # Enum member name, pydantic model schema
    assert c.input_schema == {
        "type": "object",
        "properties": {
            "repo_path": {"type": "string"},
            "message": {"type": "string", "description": "Commit message"},
        },
        "required": ["repo_path", "message"],
    }


def test_typescript_sdk_calls_and_zod() -> None:
    t = tools("ts")
    e = t["echo"]
    assert (e.line, e.pattern, e.description) == (8, "ts.tool", "Echoes the message")
    assert e.annotations == {"readOnlyHint": True}
    assert e.input_schema == {
        "type": "object",
        "properties": {
            "message": {"type": "string", "description": "Message to echo"},
            "count": {"type": "integer"},
        },
        "required": ["message"],
    }
    d = t["files_delete"]
    assert (d.title, d.description) == ("Delete file", "Careful: Deletes a file.")
    assert d.annotations == {"destructiveHint": True, "idempotentHint": True}
    assert d.input_schema["properties"]["mode"] == {"type": "string", "enum": ["soft", "hard"]}
    assert d.input_schema["properties"]["limit"] == {"type": "number", "maximum": 100}
    assert d.input_schema["properties"]["recursive"] == {"type": "boolean", "default": False}
    assert d.input_schema["required"] == ["path"]
    assert t["now"].description is None and t["now"].unresolved == []


def test_typescript_runtime_values_are_marked_not_invented() -> None:
    res = extract_tree(FIX / "ts")
    r = next(t for t in res.tools if t.name == "runtime_description")
    assert r.description is None and r.unresolved == ["description"]
    assert [(s.file, s.line, s.reason.split(":")[0]) for s in res.skipped] == [
        ("sdk_server.ts", 34, "tool name built at run time")
    ]


def test_typescript_tool_objects_and_classes() -> None:
    t = tools("ts")
    assert t["list_projects"].description == "\nList the projects.\n"
    assert t["list_projects"].input_schema == {"type": "object", "properties": {"limit": {"type": "number"}}}
    c = t["create_project"]  # `method` is the name when `name` is display text
    assert (c.title, c.description) == ("Create Project", "Create a project. Needs a name.")
    assert "hidden_tool" not in t and "a_prompt" not in t
    db = t["drop-database"]
    assert (db.pattern, db.line, db.description) == ("ts.class", 5, "Removes the given database")
    assert db.input_schema["required"] == ["connectionId", "database"]


def test_go_mcp_go_and_go_sdk() -> None:
    t = tools("go")
    li = t["list_issues"]
    assert (li.file, li.line, li.title, li.description) == ("mcpgo.go", 8, "List issues", "List all issues")
    assert li.annotations == {"title": "List issues", "readOnlyHint": True}
    assert li.input_schema == {
        "type": "object",
        "properties": {
            "owner": {"type": "string", "description": "Repository owner"},
            "page": {"type": "number", "description": "Page number"},
        },
        "required": ["owner"],
    }
    assert t["delete_repo"].description == "Deletes a repository"
    assert t["delete_repo"].annotations == {"destructiveHint": True}
    me = t["get_me"]
    assert me.description == 'Get details of the "authenticated" user.'
    assert me.annotations == {"title": "Get me", "readOnlyHint": True, "destructiveHint": False}
    assert me.input_schema == {
        "type": "object",
        "properties": {"verbose": {"type": "boolean", "description": "More detail"}},
        "required": ["verbose"],
    }
    assert len(t) == 3


def test_csharp_attributes() -> None:
    t = tools("cs")
    e = t["echo"]
    assert (e.line, e.description) == (9, "Echoes the message back.")
    assert e.annotations == {"readOnlyHint": True, "destructiveHint": False}
    assert e.input_schema == {
        "type": "object",
        "properties": {
            "message": {"type": "string", "description": "The message"},
            "count": {"type": "integer"},
        },
        "required": ["message"],
    }
    w = t["Wipe"]
    assert (w.description, w.annotations) == ("Deletes everything.", {"destructiveHint": True})
    assert w.input_schema == {"type": "object", "properties": {"reason": {"type": "string"}}}


def test_bad_input_is_skipped_with_reasons_and_the_walk_goes_on(tmp_path: Path) -> None:
    (tmp_path / "big.min.js").write_bytes(b"var a=1;" * (5 * 1024 * 1024 // 8))  # a 5 MB bundle
    (tmp_path / "node_modules" / "dep").mkdir(parents=True)
    (tmp_path / "node_modules" / "dep" / "index.js").write_text('server.tool("dep_tool", "x", async () => 1)')
    (tmp_path / "ok.py").write_text('@mcp.tool()\ndef fine() -> None:\n    """Fine."""\n')
    for f in (FIX / "bad").iterdir():  # .src: kept out of linters, read here as real source
        (tmp_path / f.name.removesuffix(".src")).write_bytes(f.read_bytes())
    t0 = time.perf_counter()
    res = extract_tree(tmp_path)
    assert time.perf_counter() - t0 < 2
    assert [t.name for t in res.tools] == ["fine"]
    assert sorted((s.file, s.reason) for s in res.skipped) == [
        ("big.min.js", "larger than 1048576 bytes"),
        ("broken.py", "partly unparseable as python (2 syntax errors); the rest was read"),
        ("bundle.min.js", "minified or bundled code"),
    ]


def test_records_carry_origin() -> None:
    rec = {r.name: r for r in extract_tree(FIX / "py").records(commit="abc")}
    assert rec["dynamic"].origin == {
        "kind": "extracted",
        "file": "fastmcp_server.py",
        "line": 45,
        "pattern": "py.decorator",
        "unresolved": ["description"],
        "commit": "abc",
    }


@pytest.mark.parametrize("name", ["tests", "__tests__", "integration-tests", "mocks", "vendor", "dist"])
def test_skips_test_and_dependency_folders(tmp_path: Path, name: str) -> None:
    (tmp_path / name).mkdir()
    (tmp_path / name / "a.ts").write_text('server.tool("x_tool", "d", async () => 1)')
    assert extract_tree(tmp_path).tools == []
