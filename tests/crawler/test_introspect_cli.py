"""`mcpcat introspect` through typer's CliRunner (and once through the installed script)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from mcp.server.mcpserver import MCPServer
from mcp_types import ToolAnnotations
from typer.testing import CliRunner

from catalog.cli import app
from tests.crawler.mcp_peers import demo_server, free_port, require_bearer, serve


def tiny_server() -> MCPServer:
    mcp = MCPServer("tiny", version="9")

    @mcp.tool(annotations=ToolAnnotations(readOnlyHint=True), structured_output=False)
    def ping(host: str) -> str:
        """Ping a host.

        Sends one ICMP echo."""
        return host

    return mcp


@pytest.fixture(scope="module")
def tiny_url() -> Iterator[str]:
    with serve(tiny_server().streamable_http_app(json_response=True)) as base:
        yield base + "/mcp"


def run(*args: str) -> object:
    return CliRunner().invoke(app, ["introspect", *args])


def test_json_output_exact(tiny_url: str) -> None:
    result = run(tiny_url, "--json", "--timeout", "5")
    assert result.exit_code == 0, result.stderr
    expected = {
        "url": tiny_url,
        "transport": "streamable-http",
        "protocol_version": "2026-07-28",
        "server_info": {"name": "tiny", "version": "9"},
        "instructions": None,
        "complete": True,
        "pages": 1,
        "warnings": [],
        "tools": [
            {
                "name": "ping",
                "title": None,
                "description": "Ping a host.\n\n        Sends one ICMP echo.",
                "input_schema": {
                    "type": "object",
                    "properties": {"host": {"title": "Host", "type": "string"}},
                    "required": ["host"],
                    "title": "pingArguments",
                },
                "output_schema": None,
                "annotations": {"readOnlyHint": True},
                "origin": {"kind": "introspected", "url": tiny_url, "protocol_version": "2026-07-28"},
            }
        ],
    }
    assert result.stdout == json.dumps(expected, indent=2, ensure_ascii=False) + "\n"
    assert result.stderr == ""


def test_table_output(tiny_url: str) -> None:
    result = run(tiny_url, "--timeout", "5")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "tiny 9 · streamable-http · protocol 2026-07-28"
    row = next(line for line in lines if "ping" in line)
    assert "readOnlyHint=True" in row and "Ping a host." in row and "Sends one" not in row
    assert lines[-1] == "1 tools in 1 page"


def test_table_shows_titles_and_annotation_titles() -> None:
    with serve(demo_server().streamable_http_app(json_response=True)) as base:
        result = run(base + "/mcp")
    assert result.exit_code == 0, result.stderr
    rows = {line.split("│")[1].strip(): line for line in result.stdout.splitlines() if line.count("│") > 3}
    assert "Delete file" in rows["delete_file"] and "destructiveHint=True" in rows["delete_file"]
    assert "Read a file" in rows["read_file"]  # annotations.title when there is no title
    assert result.stdout.splitlines()[-1] == "4 tools in 1 page"


def test_header_option_reaches_the_server() -> None:
    with serve(require_bearer(tiny_server().streamable_http_app(json_response=True), "t0ken")) as base:
        denied = run(base + "/mcp", "--json")
        allowed = run(base + "/mcp", "--json", "-H", "Authorization: Bearer t0ken")
    assert denied.exit_code == 1
    assert denied.stderr == (
        f"error: {base}/mcp: HTTP 401 (Bearer auth); "
        "pass credentials with --header 'Authorization: Bearer …'\n"
    )
    assert denied.stdout == ""
    assert allowed.exit_code == 0, allowed.stderr
    assert [t["name"] for t in json.loads(allowed.stdout)["tools"]] == ["ping"]


def test_unreachable_port_is_one_line_exit_1() -> None:
    url = f"http://127.0.0.1:{free_port()}/mcp"
    result = run(url, "--timeout", "3")
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: {url}: cannot connect (")
    assert len(result.stderr.splitlines()) == 1 and "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ftp://example.org/mcp"], "error: not an http(s) URL: 'ftp://example.org/mcp'"),
        (["http://127.0.0.1:1/mcp", "-H", "no-colon"], "--header"),
        (["http://127.0.0.1:1/mcp", "--timeout", "0"], "--timeout"),
    ],
)
def test_bad_input_exits_2(args: list[str], message: str) -> None:
    result = run(*args)
    assert result.exit_code == 2
    assert len(result.stderr.strip().splitlines()) == 1 and message in result.stderr


def test_installed_script(tiny_url: str) -> None:
    script = shutil.which("mcpcat", path=str(Path(sys.executable).parent))
    if script is None:
        pytest.skip("the mcpcat script is not installed beside this Python")
    argv = [script, "introspect", tiny_url, "--json"]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["tools"][0]["name"] == "ping"
