"""`mcpcat extract` through typer's CliRunner: exact JSON, archives, URLs and exit codes."""

from __future__ import annotations

import http.server
import io
import json
import tarfile
import threading
from pathlib import Path

from typer.testing import CliRunner

from catalog.cli import app

FIX = Path(__file__).parent / "fixtures" / "extract"
runner = CliRunner()

GO_JSON = {
    "tools": [
        {
            "name": "get_me",
            "title": "Get me",
            "description": 'Get details of the "authenticated" user.',
            "input_schema": {
                "type": "object",
                "properties": {"verbose": {"type": "boolean", "description": "More detail"}},
                "required": ["verbose"],
            },
            "annotations": {"title": "Get me", "readOnlyHint": True, "destructiveHint": False},
            "file": "gosdk.go",
            "line": 9,
            "language": "go",
            "pattern": "go.Tool",
            "unresolved": [],
        },
        {
            "name": "list_issues",
            "title": "List issues",
            "description": "List all issues",
            "input_schema": {
                "type": "object",
                "properties": {
                    "owner": {"type": "string", "description": "Repository owner"},
                    "page": {"type": "number", "description": "Page number"},
                },
                "required": ["owner"],
            },
            "annotations": {"title": "List issues", "readOnlyHint": True},
            "file": "mcpgo.go",
            "line": 8,
            "language": "go",
            "pattern": "go.NewTool",
            "unresolved": [],
        },
        {
            "name": "delete_repo",
            "title": None,
            "description": "Deletes a repository",
            "input_schema": {"type": "object", "properties": {}},
            "annotations": {"destructiveHint": True},
            "file": "mcpgo.go",
            "line": 17,
            "language": "go",
            "pattern": "go.NewTool",
            "unresolved": [],
        },
    ],
    "skipped": [
        {
            "file": "gosdk.go",
            "line": 24,
            "reason": "tool name built at run time: expression computed at run time",
        }
    ],
    "files_scanned": 2,
}


def _tarball(path: Path, folder: Path, top: str = "repo-abc") -> Path:
    with tarfile.open(path, "w:gz") as tf:
        for f in sorted(folder.iterdir()):
            tf.add(f, arcname=f"{top}/{f.name}")
    return path


def test_extract_folder_json_exact() -> None:
    r = runner.invoke(app, ["extract", str(FIX / "go"), "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout) == GO_JSON


def test_extract_archive_file_gives_the_same(tmp_path: Path) -> None:
    arc = _tarball(tmp_path / "src.tgz", FIX / "go")
    r = runner.invoke(app, ["extract", str(arc), "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout) == GO_JSON


def test_extract_table() -> None:
    r = runner.invoke(app, ["extract", str(FIX / "cs")])
    assert r.exit_code == 0
    assert "echo" in r.stdout and "Tools.cs:9" in r.stdout
    assert "2 tools in 1 files; 0 skipped" in r.stdout


def test_extract_url_from_a_local_server(tmp_path: Path) -> None:
    body = _tarball(tmp_path / "src.tgz", FIX / "go").read_bytes()

    class H(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a: object) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        r = runner.invoke(app, ["extract", f"http://127.0.0.1:{httpd.server_address[1]}/t.tgz", "--json"])
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout) == GO_JSON


def test_extract_missing_path_is_a_usage_error(tmp_path: Path) -> None:
    r = runner.invoke(app, ["extract", str(tmp_path / "nope")])
    assert r.exit_code == 2
    assert r.stderr == f"error: no such file or folder: {tmp_path / 'nope'}\n"


def test_extract_unsafe_archive_is_one_line_exit_1(tmp_path: Path) -> None:
    arc = tmp_path / "evil.tgz"
    with tarfile.open(arc, "w:gz") as tf:
        info = tarfile.TarInfo("../../etc/cron.d/x")
        info.size = 1
        tf.addfile(info, io.BytesIO(b"x"))
    r = runner.invoke(app, ["extract", str(arc), "--json"])
    assert r.exit_code == 1
    assert r.stdout == ""
    assert r.stderr == "error: member path leaves the tree: '../../etc/cron.d/x'\n"


def test_extract_not_an_archive(tmp_path: Path) -> None:
    f = tmp_path / "notes.txt"
    f.write_text("hello")
    r = runner.invoke(app, ["extract", str(f)])
    assert r.exit_code == 2
    assert "neither a folder, a source file nor a tar or zip archive" in r.stderr
