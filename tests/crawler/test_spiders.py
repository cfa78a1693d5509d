"""Every spider crawls its fixtures from the local mirror through real Scrapy (`mcpcat crawl`)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from scrapy.spiderloader import SpiderLoader
from scrapy.utils.project import get_project_settings

from tests.mirror import FIXTURES, Mirror
from tests.mirror.harness import CrawlRun, catalog_rows, run_crawl_cli


def spider_names() -> list[str]:
    return sorted(SpiderLoader.from_settings(get_project_settings()).list())


@pytest.fixture(scope="module")
def mirror() -> Iterator[Mirror]:
    m = Mirror(FIXTURES).start()
    yield m
    m.stop()


# What each source's fixtures must give: servers yielded, tools carried, errors counted.
EXPECTED = {
    "official": {"servers": 11, "tools": 0, "errors": 3},
    "smithery": {"servers": 4, "tools": 5, "errors": 0},
    "glama": {"servers": 5, "tools": 7, "errors": 3},
    "npm": {"servers": 4, "tools": 0, "errors": 1},
    "pypi": {"servers": 2, "tools": 0, "errors": 0},
    "docker": {"servers": 4, "tools": 5, "errors": 1},
    "awesome": {"servers": 18, "tools": 0, "errors": 4},
}


def test_spider_list_is_the_documented_sources() -> None:
    assert spider_names() == sorted(EXPECTED)


@pytest.fixture(scope="module")
def crawl_all(mirror: Mirror, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, CrawlRun]:
    """One crawl of every spider at once (pypi after the others, as `mcpcat crawl` runs it)."""
    workdir = tmp_path_factory.mktemp("all")
    run = run_crawl_cli(mirror, workdir, *spider_names(), settings={"MCPCAT_STORE_BATCH": "2"})
    assert run.code == 0, run.stderr[-3000:]
    return workdir, run


@pytest.mark.parametrize("name", spider_names())
def test_every_spider_has_fixtures_and_crawls_them(name: str, crawl_all: tuple[Path, CrawlRun]) -> None:
    fixtures = FIXTURES / name
    assert fixtures.is_dir() and any(fixtures.rglob("*")), f"spider {name!r} has no tests/fixtures/{name}/"
    assert name in EXPECTED, f"spider {name!r} has no expected figures in this test"
    workdir, run = crawl_all
    got = run.source(name)
    assert got["status"] == "complete", got
    want = EXPECTED[name]
    assert {k: got[k] for k in want} == want, got
    listings = catalog_rows(workdir, f"select count(*) from listings where source = '{name}'")
    assert listings[0][0] >= 1
    for (raw,) in catalog_rows(workdir, f"select raw from listings where source = '{name}' limit 3"):
        assert isinstance(json.loads(raw), dict)  # the source's record kept as JSON


def _listing_sources(workdir: Path, key: str) -> set[str]:
    rows = catalog_rows(
        workdir, f"select l.source from listings l join servers s on s.id = l.server_id where s.key = '{key}'"
    )
    return {r[0] for r in rows}


def test_listings_of_one_server_from_several_sources_merge(crawl_all: tuple[Path, CrawlRun]) -> None:
    workdir, _ = crawl_all
    assert _listing_sources(workdir, "github.com/acme/weather-mcp") == {
        "official",
        "smithery",
        "glama",
        "npm",
        "awesome",
    }
    # monorepo sub-folder from official's repository.subfolder, PyPI's tree URL and the reference README
    assert _listing_sources(workdir, "github.com/modelcontextprotocol/servers/src/fetch") == {
        "official",
        "pypi",
        "awesome",
    }
    # git+https ... .git with capitals (official), the plain URL (PyPI, Glama), the awesome list's .git link
    assert _listing_sources(workdir, "github.com/example/notes-mcp") >= {
        "official",
        "pypi",
        "glama",
        "awesome",
    }
    # npm's repository.directory is the sub-folder
    filesystem = "github.com/modelcontextprotocol/servers/src/filesystem"
    assert _listing_sources(workdir, filesystem) == {"npm", "awesome"}


def test_unsafe_repository_urls_are_never_stored(crawl_all: tuple[Path, CrawlRun]) -> None:
    workdir, _ = crawl_all
    stored = [
        r[0]
        for r in catalog_rows(workdir, "select repository_url from servers where repository_url is not null")
    ]
    assert stored and all(u.startswith("https://") for u in stored), stored
    # the server itself survives under its registry name
    assert catalog_rows(workdir, "select repository_url from servers where key = 'io.github.evil/js'") == [
        (None,)
    ]
    errors = catalog_rows(workdir, "select errors from crawl_runs")[0][0]
    kinds = {(e["source"], e["kind"]) for e in json.loads(errors)}
    assert ("official", "unsafe_url") in kinds and ("awesome", "unsafe_url") in kinds
    assert ("official", "missing_fields") in kinds


def test_listed_tools_keep_annotations_and_origin(crawl_all: tuple[Path, CrawlRun]) -> None:
    workdir, _ = crawl_all
    rows = catalog_rows(
        workdir,
        "select t.name, t.annotations, t.origin, t.input_schema from tools t "
        "join servers s on s.id = t.server_id where s.key = 'github.com/kim/db-tools' order by t.name",
    )
    by_name = {r[0]: r for r in rows}
    assert set(by_name) == {"execute_sql", "list_tables"}
    assert json.loads(by_name["execute_sql"][1]) == {"readOnlyHint": False, "destructiveHint": True}
    assert json.loads(by_name["execute_sql"][2]) == {"kind": "listed", "source": "glama"}
    docker = catalog_rows(
        workdir,
        "select t.input_schema from tools t join servers s on s.id = t.server_id "
        "where s.key = 'github.com/fetchy-dev/fetchy-mcp' and t.name = 'fetch_url'",
    )
    schema = json.loads(docker[0][0])  # Docker's `arguments` became a JSON Schema
    assert schema["required"] == ["url"] and schema["properties"]["max_length"]["type"] == "integer"


def test_every_listed_tool_is_classified_once_per_run(crawl_all: tuple[Path, CrawlRun]) -> None:
    workdir, _ = crawl_all
    current = "select count(distinct definition_hash) from tools where removed_at is null"
    tools = catalog_rows(workdir, current)[0][0]
    classified = catalog_rows(workdir, "select count(distinct definition_hash) from classifications")[0][0]
    assert tools > 0 and classified == tools
    counts = json.loads(catalog_rows(workdir, "select counts from crawl_runs")[0][0])
    assert counts["classified"] == tools and set(counts["completed_sources"]) == set(EXPECTED)
