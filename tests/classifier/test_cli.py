"""mcpcat classify / evaluate / train through typer's CliRunner and the installed script."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import classifier
from catalog.cli import app
from classifier import classify

runner = CliRunner()
MCPCAT = Path(sys.executable).with_name("mcpcat")


def invoke(*args: str, input: str | None = None):  # type: ignore[no-untyped-def]
    return runner.invoke(app, list(args), input=input)


def test_classify_json_exact(tmp_path: Path) -> None:
    r = invoke("classify", "fetch_playback_progress", "--json", "--db", f"sqlite:///{tmp_path}/none.db")
    assert r.exit_code == 0, r.output
    expected = {"name": "fetch_playback_progress", **classify("fetch_playback_progress").to_dict(),
                "classifier_version": classifier.CLASSIFIER_VERSION, "stored": []}
    assert json.loads(r.stdout) == expected
    assert expected["label"] == "Read"
    assert not (tmp_path / "none.db").exists(), "a one-off classify must not create a catalog"


def test_classify_text_shows_label_and_rationale(tmp_path: Path) -> None:
    r = invoke("classify", "fetch_playback_progress", "--db", f"sqlite:///{tmp_path}/none.db")
    assert r.exit_code == 0
    assert r.stdout.splitlines()[0].startswith("fetch_playback_progress: Read (confidence ")
    assert "  R131 read_verb: name starts with 'fetch'" in r.stdout.splitlines()


def test_classify_with_description_schema_annotations(tmp_path: Path) -> None:
    r = invoke("classify", "delete_repo", "--description", "Deletes a repository.", "--schema",
               '{"type": "object", "properties": {"repo": {}}}', "--annotations", '{"readOnlyHint": true}',
               "--json", "--db", f"sqlite:///{tmp_path}/none.db")
    assert r.exit_code == 0
    out = json.loads(r.stdout)
    assert out["label"] == "Destructive"
    assert [f["id"] for f in out["flags"]] == ["F101"]
    r2 = invoke("classify", "delete_repo", "--annotations", '{"readOnlyHint": true}', "--ignore-annotations",
                "--json", "--db", f"sqlite:///{tmp_path}/none.db")
    assert json.loads(r2.stdout)["flags"] == []


@pytest.mark.parametrize("args", [["classify", ""], ["classify", "   "], ["classify"]])
def test_empty_name_exits_2_with_one_line(args: list[str]) -> None:
    r = invoke(*args)
    assert r.exit_code == 2
    assert r.stderr.strip().splitlines() == ["error: tool name is empty"]


@pytest.mark.parametrize("option", ["--schema", "--annotations"])
def test_bad_json_option_exits_2(option: str) -> None:
    r = invoke("classify", "get_x", option, "{nope")
    assert r.exit_code == 2
    assert len(r.stderr.strip().splitlines()) == 1 and option in r.stderr


def test_batch_to_file_and_stdout(tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps({"name": "delete_repo"}) + "\n" + json.dumps({"name": "list_repos"}) + "\n")
    r = invoke("classify", "--input", str(src))
    assert r.exit_code == 0
    assert [json.loads(x)["label"] for x in r.stdout.splitlines()] == ["Destructive", "Read"]
    out = tmp_path / "out.jsonl"
    r = invoke("classify", "--input", str(src), "--output", str(out))
    assert r.exit_code == 0 and r.stdout == ""
    assert out.read_text() == "".join(
        json.dumps({"name": n, "label": c.label, "confidence": c.confidence, "rationale": c.rationale,
                    "flags": c.flags, "mcp_annotations": classifier.mcp_annotations(c.label)}) + "\n"
        for n, c in (("delete_repo", classify("delete_repo")), ("list_repos", classify("list_repos")))
    )


def test_batch_bad_line_exits_2_after_writing_earlier_lines(tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps({"name": "get_a"}) + "\n{oops\n" + json.dumps({"name": "get_b"}) + "\n")
    out = tmp_path / "out.jsonl"
    r = invoke("classify", "--input", str(src), "--output", str(out))
    assert r.exit_code == 2
    assert r.stderr.strip().startswith("error: line 2: not JSON")
    assert [json.loads(x)["name"] for x in out.read_text().splitlines()] == ["get_a"]


def test_evaluate_json_and_table(tmp_path: Path) -> None:
    src = tmp_path / "labeled.jsonl"
    src.write_text(json.dumps({"name": "delete_x", "label": "Destructive"}) + "\n"
                   + json.dumps({"name": "list_x", "label": "Read"}) + "\n")
    r = invoke("evaluate", str(src), "--json")
    assert r.exit_code == 0
    out = json.loads(r.stdout)
    assert out["macro_f1"] == pytest.approx(2 / 3, abs=1e-3)  # Write has no support: F1 0
    assert out["confusion"]["Destructive"] == {"Read": 0, "Write": 0, "Destructive": 1}
    assert out["under_classification"] == 0.0 and out["errors"] == []
    r = invoke("evaluate", str(src), "--ignore-annotations")
    assert r.exit_code == 0 and "under-classification 0.00% (0 tools)" in r.stdout


def test_train_writes_a_reproducible_artifact(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    a, b = tmp_path / "a.json.gz", tmp_path / "b.json.gz"
    r1 = invoke("train", "--output", str(a), "--json")
    r2 = invoke("train", "--output", str(b), "--json")
    assert r1.exit_code == 0 and r2.exit_code == 0, r1.output
    assert a.read_bytes() == b.read_bytes()
    assert json.loads(r1.stdout)["corpus"] is False


def test_stored_classifications_per_server(tmp_path: Path) -> None:
    from catalog.records import ServerRecord, ToolRecord
    from catalog.store import Catalog

    url = f"sqlite:///{tmp_path}/cat.db"
    with Catalog(url) as cat:
        cat.upsert_servers(
            [
                ServerRecord(f"github.com/acme/{key}", key, tools=[ToolRecord("nuke_things", description=d)])
                for key, d in (("one", "Deletes all."), ("two", "Lists all."))
            ]
        )
        cat.classify_pending()
    r = invoke("classify", "nuke_things", "--json", "--db", url)
    assert r.exit_code == 0, r.output
    stored = json.loads(r.stdout)["stored"]
    assert [s["server"] for s in stored] == ["github.com/acme/one", "github.com/acme/two"]
    assert all(s["tool"] == "nuke_things" and s["label"] in ("Read", "Write", "Destructive") for s in stored)
    assert stored[0]["label"] == classify("nuke_things", "Deletes all.").label
    text = invoke("classify", "nuke_things", "--db", url).stdout
    assert "in the catalog:" in text and "github.com/acme/two: " in text


def test_installed_script(tmp_path: Path) -> None:
    assert MCPCAT.is_file()
    p = subprocess.run([str(MCPCAT), "classify", "fetch_playback_progress", "--json"], cwd=tmp_path,
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["label"] == "Read"
    assert not (tmp_path / "catalog.db").exists()
    p = subprocess.run([str(MCPCAT), "classify", ""], cwd=tmp_path, capture_output=True, text=True)
    assert p.returncode == 2 and p.stderr == "error: tool name is empty\n"
