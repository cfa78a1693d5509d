"""Tools for servers no source lists them for, in a real `mcpcat crawl` against the mirror.

The mirror serves the official registry's listing of six servers plus, beside it, what
sourcing fetches: GitHub's commit lookup and tarballs (a monorepo with two servers, a Python
server, a hostile tarball, a 404), an npm document and tarball, a PyPI sdist. One server
lists a remote: a real `mcp` SDK server on 127.0.0.1.
"""

from __future__ import annotations

import io
import json
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.crawler.mcp_peers import demo_server, serve
from tests.mirror import FIXTURES, Mirror
from tests.mirror.harness import CrawlRun, catalog_rows, run_crawl_cli
from tests.mirror.server import Reply

OFFICIAL_META = "io.modelcontextprotocol.registry/official"
SHA = {name: (f"{i + 1:x}" * 40)[:40] for i, name in enumerate(("tools", "notes", "hostile", "gone", "live"))}

WEATHER_TS = """import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { z } from "zod";

const server = new McpServer({ name: "weather", version: "1.0.0" });

server.registerTool(
  "get_forecast",
  {
    description: "Get the forecast " + "for a city",
    inputSchema: { city: z.string().describe("City name") },
    annotations: { readOnlyHint: true },
  },
  async ({ city }) => ({ content: [{ type: "text", text: city }] }),
);

server.tool("delete_alert", "Delete a weather alert", { id: z.string() }, async () => ({ content: [] }));
"""
OTHER_TS = """import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
const server = new McpServer({ name: "other", version: "1.0.0" });
server.tool("other_tool", "Belongs to another server of the monorepo", {}, async () => ({ content: [] }));
"""
NOTES_PY = '''from mcp.server.fastmcp import FastMCP

mcp = FastMCP("notes")


@mcp.tool()
def add_note(text: str) -> str:
    """Add a note."""
    return text


@mcp.tool(description="Remove every note")
def clear_notes() -> str:
    return "ok"
'''
NPM_JS = """const { McpServer } = require("@modelcontextprotocol/sdk/server/mcp.js");
const server = new McpServer({ name: "npm-srv", version: "1.0.0" });
server.tool("list_buckets", "List storage buckets", {}, async () => ({ content: [] }));
"""
SDIST_PY = '''from mcp.server.fastmcp import FastMCP

mcp = FastMCP("pysrv")


@mcp.tool()
def send_mail(to: str, body: str) -> str:
    """Send an e-mail."""
    return to
'''


def tgz(files: dict[str, str | bytes], *, hostile: bool = False) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for name, text in files.items():
            data = text.encode() if isinstance(text, str) else text
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
        if hostile:
            info = tarfile.TarInfo("../../etc/cron.d/x")
            payload = b"* * * * * root rm -rf /\n"
            info.size = len(payload)
            tf.addfile(info, io.BytesIO(payload))
    return buf.getvalue()


def entry(name: str, **server: Any) -> dict[str, Any]:
    return {
        "server": {
            "name": f"io.github.acme/{name}",
            "description": f"{name} server",
            "version": "1.0.0",
            **server,
        },
        "_meta": {
            OFFICIAL_META: {
                "status": "active",
                "publishedAt": "2025-09-01T00:00:00Z",
                "updatedAt": "2025-10-01T00:00:00Z",
                "isLatest": True,
            }
        },
    }


def github(repo: str, subfolder: str | None = None) -> dict[str, Any]:
    out = {"url": f"https://github.com/acme/{repo}", "source": "github"}
    return {**out, "subfolder": subfolder} if subfolder else out


def publish(mirror: Mirror, remote_url: str) -> None:
    gh = "/github/repos/acme"
    for repo, key in (("tools", "tools"), ("notes", "notes"), ("hostile", "hostile"), ("gone", "gone")):
        mirror.blobs[f"{gh}/{repo}/commits/HEAD"] = Reply(200, SHA[key].encode(), "text/plain")
    top = f"acme-Tools-{SHA['tools'][:7]}"
    mirror.blobs[f"{gh}/tools/tarball/{SHA['tools']}"] = Reply(
        200,
        tgz(
            {
                f"{top}/README.md": "# tools\n",
                f"{top}/servers/Weather/src/index.ts": WEATHER_TS,
                f"{top}/servers/Other/index.ts": OTHER_TS,
            }
        ),
        "application/x-gzip",
    )
    mirror.blobs[f"{gh}/notes/tarball/{SHA['notes']}"] = Reply(
        200, tgz({f"acme-notes-{SHA['notes'][:7]}/server.py": NOTES_PY}), "application/x-gzip"
    )
    mirror.blobs[f"{gh}/hostile/tarball/{SHA['hostile']}"] = Reply(
        200, tgz({"acme-hostile/server.py": NOTES_PY}, hostile=True), "application/x-gzip"
    )
    # acme/gone: the commit lookup works, the tarball is a 404 (the mirror's default).
    # GitHub paths are case-insensitive; keys are lower case, so the lookups are too.
    mirror.blobs["/npm/@acme/npm-srv"] = Reply(
        200, json.dumps({"name": "@acme/npm-srv", "dist-tags": {"latest": "2.1.0"}}).encode()
    )
    mirror.blobs["/npm/@acme/npm-srv/-/npm-srv-2.1.0.tgz"] = Reply(
        200, tgz({"package/package.json": "{}", "package/dist/index.js": NPM_JS}), "application/octet-stream"
    )
    base = mirror.base("pypi")
    sdist = "/pypi/files/acme_py_srv-0.2.0.tar.gz"
    mirror.blobs["/pypi/pypi/acme-py-srv/0.2.0/json"] = Reply(
        200,
        json.dumps({"urls": [{"packagetype": "sdist", "url": base.removesuffix("/pypi") + sdist}]}).encode(),
    )
    mirror.blobs[sdist] = Reply(200, tgz({"acme_py_srv-0.2.0/acme_py_srv/server.py": SDIST_PY}))


def entries(remote_url: str) -> list[dict[str, Any]]:
    return sorted(
        [
            entry("weather", repository=github("Tools", "servers/Weather")),
            entry("notes", repository=github("notes")),
            entry("hostile", repository=github("hostile")),
            entry("gone", repository=github("gone")),
            entry(
                "npm-srv",
                packages=[
                    {"registryType": "npm", "identifier": "@acme/npm-srv", "transport": {"type": "stdio"}}
                ],
            ),
            entry(
                "py-srv",
                packages=[
                    {
                        "registryType": "pypi",
                        "identifier": "acme-py-srv",
                        "version": "0.2.0",
                        "transport": {"type": "stdio"},
                    }
                ],
            ),
            entry(
                "live",
                repository=github("live"),
                remotes=[{"type": "streamable-http", "url": remote_url}],
            ),
        ],
        key=lambda e: e["server"]["name"],
    )


@pytest.fixture(scope="module")
def remote() -> Iterator[str]:
    with serve(demo_server().streamable_http_app(json_response=True)) as base:
        yield base + "/mcp"


@pytest.fixture
def mirror(remote: str) -> Iterator[Mirror]:
    m = Mirror(FIXTURES, official=entries(remote)).start()
    publish(m, remote)
    try:
        yield m
    finally:
        m.stop()


def crawl(mirror: Mirror, workdir: Path, *args: str) -> CrawlRun:
    (workdir / "tmp").mkdir(exist_ok=True)
    return run_crawl_cli(
        mirror,
        workdir,
        "official",
        args=args,
        settings={"MCPCAT_EXTRACT_ENABLED": "true", "MCPCAT_INTROSPECT_TIMEOUT": "5"},
        env={
            "MCPCAT_URL_GITHUB_ARCHIVE": mirror.base("github"),
            "MCPCAT_URL_NPM_ARCHIVE": mirror.base("npm"),
            "MCPCAT_URL_PYPI_ARCHIVE": mirror.base("pypi"),
            "TMPDIR": str(workdir / "tmp"),
        },
    )


def stored_tools(workdir: Path) -> dict[tuple[str, str], dict[str, Any]]:
    rows = catalog_rows(
        workdir,
        "select s.key, t.name, t.origin, t.description from tools t join servers s on s.id = t.server_id"
        " where t.removed_at is null",
    )
    return {(k, n): {**json.loads(o), "description": d} for k, n, o, d in rows}


def downloads(mirror: Mirror) -> list[str]:
    return [r for r in mirror.requests if "/tarball/" in r or r.endswith((".tgz", ".tar.gz"))]


def test_crawl_sources_tools_from_remotes_repositories_and_packages(
    mirror: Mirror, remote: str, tmp_path: Path
) -> None:
    run = crawl(mirror, tmp_path)
    assert run.code == 0, run.stderr[-3000:]
    official = run.source("official")
    assert official["status"] == "complete"
    tools = stored_tools(tmp_path)
    by_server: dict[str, set[str]] = {}
    for key, name in tools:
        by_server.setdefault(key, set()).add(name)
    assert by_server == {
        "github.com/acme/tools/servers/weather": {"get_forecast", "delete_alert"},  # not other_tool
        "github.com/acme/notes": {"add_note", "clear_notes"},
        "io.github.acme/npm-srv": {"list_buckets"},
        "io.github.acme/py-srv": {"send_mail"},
        "github.com/acme/live": {"delete_file", "read_file", "count_files", "write-note"},
    }

    forecast = tools[("github.com/acme/tools/servers/weather", "get_forecast")]
    assert forecast["description"] == "Get the forecast for a city"
    github_base = mirror.base("github")
    assert {k: v for k, v in forecast.items() if k != "description"} == {
        "kind": "extracted",
        "from": "repository",
        "repository": "https://github.com/acme/tools",
        "url": f"{github_base}/repos/acme/tools/tarball/{SHA['tools']}",
        "commit": SHA["tools"],
        "file": "servers/Weather/src/index.ts",
        "line": 6,
        "pattern": forecast["pattern"],
    }
    note = tools[("github.com/acme/notes", "add_note")]
    assert (note["from"], note["commit"], note["file"], note["description"]) == (
        "repository",
        SHA["notes"],
        "server.py",
        "Add a note.",
    )
    buckets = tools[("io.github.acme/npm-srv", "list_buckets")]
    assert (buckets["from"], buckets["package"], buckets["version"], buckets["file"]) == (
        "npm",
        "@acme/npm-srv",
        "2.1.0",
        "dist/index.js",
    )
    mail = tools[("io.github.acme/py-srv", "send_mail")]
    assert (mail["from"], mail["version"], mail["file"]) == ("pypi", "0.2.0", "acme_py_srv/server.py")
    live = tools[("github.com/acme/live", "read_file")]
    assert live["kind"] == "introspected" and live["url"] == remote
    assert not any("/acme/live/" in r for r in mirror.requests)  # introspected: no archive fetched

    # The hostile archive and the 404 stored nothing, were counted, and the crawl went on.
    assert not any(k in ("github.com/acme/hostile", "github.com/acme/gone") for k, _ in tools)
    extract = official["extract"]
    assert extract["unsafe_archive"] == 1 and extract["not_found"] == 1
    assert extract["servers_repository"] == 2 and extract["servers_npm"] == 1 and extract["servers_pypi"] == 1
    assert extract["servers_introspected"] == 1
    assert official["errors"] == 0  # sourcing problems do not spend the source's error budget
    [(errors,)] = catalog_rows(tmp_path, "select errors from crawl_runs")
    kinds = {(e["kind"], e["record"]) for e in json.loads(errors)}
    assert ("extract_unsafe_archive", "github.com/acme/hostile") in kinds
    assert ("extract_not_found", "github.com/acme/gone") in kinds
    assert list((tmp_path / "tmp").iterdir()) == []  # every temporary folder was removed
    assert not Path("/etc/cron.d/x").exists()

    # A second crawl: the unchanged repositories and package versions are not downloaded again.
    mirror.clear()
    again = crawl(mirror, tmp_path, "--full")
    assert again.code == 0, again.stderr[-3000:]
    assert again.source("official")["servers"] == 7
    fetched = downloads(mirror)
    assert all("/hostile/" in r or "/gone/" in r for r in fetched), fetched  # only those with nothing stored
    assert stored_tools(tmp_path) == tools
    assert again.source("official")["extract"]["skipped"] == 4


def test_no_extract_turns_sourcing_off(mirror: Mirror, tmp_path: Path) -> None:
    run = crawl(mirror, tmp_path, "--no-extract")
    assert run.code == 0, run.stderr[-3000:]
    assert run.source("official")["servers"] == 7
    assert stored_tools(tmp_path) == {}
    assert run.source("official")["extract"] == {}
    assert [r for r in mirror.requests if not r.startswith("/official/")] == []
