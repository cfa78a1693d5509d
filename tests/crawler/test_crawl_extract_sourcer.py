"""crawler.sourcing.Sourcer in-process: caps, a partial live listing, one fetch per server."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from catalog.records import RemoteRecord, ServerRecord
from crawler.archive import Limits
from crawler.sourcing import Sourcer, SourcingConfig, extract_server_tools
from tests.crawler.mcp_peers import paged_server, serve
from tests.crawler.test_crawl_extract import NOTES_PY, tgz
from tests.mirror import FIXTURES, Mirror
from tests.mirror.server import Reply

SHA = "ab" * 20


@pytest.fixture
def mirror(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Mirror]:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    m = Mirror(FIXTURES).start()
    m.blobs["/github/repos/acme/big/commits/HEAD"] = Reply(200, SHA.encode(), "text/plain")
    m.blobs[f"/github/repos/acme/big/tarball/{SHA}"] = Reply(
        200, tgz({"acme-big/server.py": NOTES_PY, "acme-big/blob.bin": b"\0" * 300_000})
    )
    try:
        yield m
    finally:
        m.stop()


def config(mirror: Mirror, **kw: object) -> SourcingConfig:
    urls = {name: mirror.base(name) for name in ("github", "npm", "pypi")}
    return replace(SourcingConfig(urls=urls, introspect_timeout=5.0), **kw)  # type: ignore[arg-type]


def server(key: str = "github.com/acme/big", **kw: object) -> ServerRecord:
    return ServerRecord(key=key, name=key, repository_url="https://github.com/acme/big", **kw)  # type: ignore[arg-type]


def test_repository_tools_once_per_process(mirror: Mirror, tmp_path: Path) -> None:
    sourcer = Sourcer(config(mirror))
    first = sourcer.source(server())
    assert [t.name for t in first.tools] == ["add_note", "clear_notes"]
    assert first.via == "repository" and first.complete and first.downloads == 1
    again = sourcer.source(server())  # another source listing the same server
    assert again.tools == [] and again.skipped == "already sourced in this crawl"
    assert list(tmp_path.iterdir()) == []
    tools = extract_server_tools(server(), config(mirror))  # the plain-function form
    assert tools is not None and tools[0].origin is not None and tools[0].origin["commit"] == SHA


def test_archive_over_the_cap_is_a_problem_not_an_error(mirror: Mirror, tmp_path: Path) -> None:
    limits = Limits(max_download_bytes=4096, max_unpacked_bytes=100_000)
    out = Sourcer(config(mirror, limits=limits)).source(server())
    assert out.tools == [] and [p.kind for p in out.problems] == ["too_large"]
    assert list(tmp_path.iterdir()) == []


def test_time_cap_stops_before_downloading(mirror: Mirror) -> None:
    out = Sourcer(config(mirror, server_seconds=0.0)).source(server())
    assert [p.kind for p in out.problems] == ["time_cap"] and out.downloads == 0
    assert not any("/tarball/" in r for r in mirror.requests)


def test_partial_live_listing_is_kept_but_not_complete(mirror: Mirror) -> None:
    with serve(paged_server(5, 2).streamable_http_app(json_response=True)) as base:
        rec = server(remotes=[RemoteRecord(transport="streamable-http", url=base + "/mcp")])
        out = Sourcer(replace(config(mirror), introspect_max_pages=2)).source(rec)
    assert out.via == "introspected" and [t.name for t in out.tools] == [
        "tool_00",
        "tool_01",
        "tool_02",
        "tool_03",
    ]
    assert out.complete is False  # may not mark the fifth tool removed
    assert not any("/github/" in r for r in mirror.requests)


def test_unreachable_remote_falls_back_to_the_repository(mirror: Mirror) -> None:
    rec = server(
        remotes=[
            RemoteRecord(transport="streamable-http", url="http://127.0.0.1:9/mcp"),
            RemoteRecord(transport="streamable-http", url="https://{tenant}.example.com/mcp"),
            RemoteRecord(transport="stdio", url="http://127.0.0.1:9/x"),
        ]
    )
    out = Sourcer(config(mirror)).source(rec)
    assert [p.kind for p in out.problems] == ["introspect_unreachable"]
    assert out.via == "repository" and len(out.tools) == 2
    only = Sourcer(config(mirror)).source(server(remotes=rec.remotes), introspect_only=True)
    assert only.tools == [] and only.downloads == 0


def test_github_rate_limit_is_asked_once(mirror: Mirror) -> None:
    limited = Reply(403, b'{"message":"API rate limit exceeded"}', headers={"X-RateLimit-Remaining": "0"})
    mirror.blobs["/github/repos/acme/big/commits/HEAD"] = limited
    mirror.blobs["/github/repos/acme/other/commits/HEAD"] = limited
    sourcer = Sourcer(config(mirror))
    assert [p.kind for p in sourcer.source(server()).problems] == ["rate_limited"]
    other = ServerRecord(
        key="github.com/acme/other", name="o", repository_url="https://github.com/acme/other"
    )
    assert [p.kind for p in sourcer.source(other).problems] == ["rate_limited"]
    assert sum("/commits/" in r for r in mirror.requests) == 1
