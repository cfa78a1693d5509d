"""Pipelines, the Retry-After middleware, the pagination guard and the list parsers, without a crawl."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from scrapy.exceptions import DropItem
from scrapy.utils.test import get_crawler

from catalog.records import ServerRecord, ToolRecord
from crawler.items import PageDone, ServerItem
from crawler.middlewares import retry_after_seconds
from crawler.pipelines import (
    NormalisePipeline,
    StorePipeline,
    ToolsPipeline,
    ValidatePipeline,
    merge_records,
    tool_from_source,
)
from crawler.spiders._base import PageGuard
from crawler.spiders.awesome import parse_awesome_line, parse_reference_line


class FakeSpider:
    name = source = "official"
    fatal = None

    def __init__(self) -> None:
        self.failed: list[tuple[str, str, str]] = []

    def fail_record(self, kind: str, record: str, message: str) -> None:
        self.failed.append((kind, record, message))


def _crawler(**settings: Any) -> Any:
    crawler = get_crawler(settings_dict={"MCPCAT_CLASSIFY": False, **settings})
    crawler.spider = FakeSpider()
    return crawler


def _through(item: ServerItem, crawler: Any) -> ServerItem:
    for stage in (ValidatePipeline, NormalisePipeline, ToolsPipeline):
        item = stage.from_crawler(crawler).process_item(item)
    return item


def test_missing_required_fields_drop_with_a_named_reason() -> None:
    crawler = _crawler()
    item = ServerItem(source="official", source_id="io.github.x/y", missing=["description", "version"])
    with pytest.raises(
        DropItem, match=r"official: record 'io.github.x/y' lacks required description, version"
    ):
        _through(item, crawler)
    assert crawler.spider.failed[0][:2] == ("missing_fields", "official:io.github.x/y")


def test_unsafe_repository_falls_back_to_the_registry_name_and_is_counted() -> None:
    crawler = _crawler()
    item = _through(
        ServerItem(
            source="official",
            source_id="io.github.evil/js",
            name="io.github.evil/js",
            registry_name="io.github.evil/js",
            repository_url="javascript:alert(1)",
            homepage="file:///etc/passwd",
            remotes=[{"url": "javascript:x"}],
        ),
        crawler,
    )
    assert item.record is not None
    assert item.record.key == "io.github.evil/js" and item.record.repository_url is None
    assert item.record.homepage is None and item.record.remotes == []
    assert [f[0] for f in crawler.spider.failed] == ["unsafe_url"] * 3


def test_nothing_to_identify_a_server_by_drops_it() -> None:
    crawler = _crawler()
    with pytest.raises(DropItem, match="no usable identity"):
        _through(ServerItem(source="awesome", source_id="x", repository_url="file:///etc/passwd"), crawler)


def test_tools_become_records_with_origin_annotations_and_no_repeats() -> None:
    crawler = _crawler()
    tools = [
        {
            "name": "delete_file",
            "description": "Delete",
            "inputSchema": {"type": "object"},
            "annotations": {"destructiveHint": True},
        },
        {"name": "delete_file", "description": "again"},
        {"description": "nameless"},
        "junk",
    ]
    item = _through(
        ServerItem(
            source="glama",
            source_id="1",
            repository_url="https://github.com/a/b",
            tools=tools,
            tools_complete=True,
        ),
        crawler,
    )
    assert item.record is not None
    [tool] = item.record.tools
    assert tool.annotations == {"destructiveHint": True} and tool.origin == {
        "kind": "listed",
        "source": "glama",
    }
    assert item.record.tools_complete
    assert [f[0] for f in crawler.spider.failed] == ["bad_tool"] * 3


def test_docker_arguments_become_a_json_schema() -> None:
    tool = tool_from_source(
        {
            "name": "fetch",
            "arguments": [
                {"name": "url", "type": "string", "desc": "URL"},
                {"name": "n", "type": "integer", "optional": True},
                {"name": "tags", "type": "array", "items": {"type": "string"}},
            ],
        },
        "docker",
    )
    assert tool is not None and tool.input_schema == {
        "type": "object",
        "properties": {
            "url": {"type": "string", "description": "URL"},
            "n": {"type": "integer"},
            "tags": {"type": "array", "items": {"type": "string"}},
        },
        "required": ["url", "tags"],
    }


def test_merge_records_unions_listings_packages_remotes_tools() -> None:
    from catalog.records import ListingRecord, PackageRecord, RemoteRecord

    a = ServerRecord(
        key="k",
        name="k",
        listings=[ListingRecord("official", "n")],
        packages=[PackageRecord("npm", "@a/b")],
        tools=[ToolRecord("get")],
    )
    b = ServerRecord(
        key="k",
        name="Nice",
        description="d",
        listings=[ListingRecord("npm", "@a/b")],
        packages=[PackageRecord("npm", "@a/b"), PackageRecord("pypi", "a-b")],
        remotes=[RemoteRecord("sse", "https://x/sse")],
        tools=[ToolRecord("get"), ToolRecord("put")],
        tools_complete=True,
    )
    m = merge_records(a, b)
    assert m.name == "Nice" and m.description == "d" and m.tools_complete
    assert [(x.source, x.source_id) for x in m.listings] == [("official", "n"), ("npm", "@a/b")]
    assert [p.identifier for p in m.packages] == ["@a/b", "a-b"]
    assert [t.name for t in m.tools] == ["get", "put"] and len(m.remotes) == 1


def test_store_pipeline_batches_merges_and_checkpoints(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'c.db'}"
    crawler = _crawler(MCPCAT_DB=db, MCPCAT_STORE_BATCH=2, MCPCAT_JOBDIR=str(tmp_path / "jobs"))
    store = StorePipeline.from_crawler(crawler)
    store.open_spider()
    norm = NormalisePipeline.from_crawler(crawler)
    checkpoint = tmp_path / "jobs" / "official.checkpoint.json"

    def item(i: int, source_id: str | None = None) -> ServerItem:
        return norm.process_item(
            ServerItem(
                source="official",
                source_id=source_id or f"io.github.o/s{i}",
                name=f"io.github.o/s{i}",
                repository_url=f"https://github.com/o/s{i}",
            )
        )

    store.process_item(item(1))
    store.process_item(item(1, "again"))  # same key in one batch: merged, one upsert
    store.process_item(PageDone("official", {"cursor": "p1"}))
    assert not checkpoint.exists() and len(store.buffer) == 1  # batch not full yet
    store.process_item(item(2))
    store.process_item(PageDone("official", {"cursor": "p2"}))
    assert json.loads(checkpoint.read_text()) == {"cursor": "p2"} and not store.buffer
    store.process_item(item(3))
    store.close_spider()
    assert store.totals["servers_added"] == 3
    assert json.loads(checkpoint.read_text()) == {"cursor": "p2"}  # page 3 never said it was done
    store.spider_closed(crawler.spider, "finished")
    assert not checkpoint.exists()

    import sqlite3

    with sqlite3.connect(tmp_path / "c.db") as conn:
        assert conn.execute("select count(*) from servers").fetchone() == (3,)
        assert conn.execute("select count(*) from listings").fetchone() == (4,)


def test_retry_after_seconds() -> None:
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert retry_after_seconds(b"3") == 3.0
    assert retry_after_seconds("0.5") == 0.5
    assert retry_after_seconds("-4") == 0.0
    assert retry_after_seconds("Thu, 01 Jan 2026 12:00:30 GMT", now=now) == 30.0
    assert retry_after_seconds("Thu, 01 Jan 2026 11:00:00 GMT", now=now) == 0.0
    assert retry_after_seconds("soon") is None and retry_after_seconds(None) is None


def test_page_guard() -> None:
    g = PageGuard(max_pages=100, stale_pages=3)
    assert g.check("a", 5) is None and g.check("b", 5) is None
    assert "repeats" in (g.check("a", 5) or "")
    g = PageGuard(max_pages=100, stale_pages=3)
    assert [g.check(f"c{i}", 0) for i in range(3)][-1] is not None
    g = PageGuard(max_pages=3, stale_pages=10)
    assert [g.check(f"c{i}", 1) for i in range(3)][-1] == "more than 3 pages"


@pytest.mark.parametrize(
    ("line", "name", "url", "language", "official", "desc"),
    [
        (
            "- [acme/w](https://github.com/acme/w) 📇 ☁️ - Weather.",
            "acme/w",
            "https://github.com/acme/w",
            "TypeScript/JavaScript",
            False,
            "Weather.",
        ),
        (
            "- [kim/db](https://github.com/kim/db)🏎️🏠 - Glued.",
            "kim/db",
            "https://github.com/kim/db",
            "Go",
            False,
            "Glued.",
        ),
        (
            "- [x/y](https://github.com/x/y) 🐍 🏠 – En dash.",
            "x/y",
            "https://github.com/x/y",
            "Python",
            False,
            "En dash.",
        ),
        (
            "- [o/m](https://github.com/o/m/tree/main/s) 🎖 📇 ☁️/🏠 - Official.",
            "o/m",
            "https://github.com/o/m/tree/main/s",
            "TypeScript/JavaScript",
            True,
            "Official.",
        ),
        (
            "- [g](https://gitlab.com/c/c) 🐍 🏠 No separator",
            "g",
            "https://gitlab.com/c/c",
            "Python",
            False,
            "No separator",
        ),
        (
            "* [s/t](https://github.com/s/t) 🔥 🦀 - Unknown emoji.",
            "s/t",
            "https://github.com/s/t",
            "Rust",
            False,
            "Unknown emoji.",
        ),
    ],
)
def test_awesome_lines(line: str, name: str, url: str, language: str, official: bool, desc: str) -> None:
    entry = parse_awesome_line(line)
    assert entry is not None
    assert (entry["name"], entry["url"], entry["language"], entry["official"], entry["description"]) == (
        name,
        url,
        language,
        official,
        desc,
    )


def test_reference_lines() -> None:
    line = (
        '- <img height="12" width="12" src="https://a/x.ico" alt="A Logo" /> **[Acme](https://github.com/a/b)**'
        " - Acme tools."
    )
    assert parse_reference_line(line) == {
        "name": "Acme",
        "url": "https://github.com/a/b",
        "description": "Acme tools.",
        "logo": "https://a/x.ico",
    }
    assert parse_reference_line("- **[Fetch](src/fetch)** - Fetching.")["url"] == "src/fetch"  # type: ignore[index]
    assert parse_reference_line("Some prose with **[a link](https://x)**.") is None
