"""Faults and bad input through real crawls: every bad thing is counted and named, the crawl goes on.

Several registries share one crawl: `reg-<fault>` sources are the official spider under
another name (MCPCAT_REGISTRIES), served by the mirror from the official fixtures with the
fault on their second page, so one subprocess exercises many faults at once.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.mirror import FIXTURES, Mirror
from tests.mirror.harness import catalog_rows, run_crawl_cli

PAGE2 = "v0.1/servers?limit=3&version=latest&cursor="


@pytest.fixture
def mirror() -> Iterator[Mirror]:
    m = Mirror(FIXTURES).start()
    yield m
    m.stop()


def _registries(*names: str) -> dict[str, str]:
    return {"MCPCAT_REGISTRIES": json.dumps({n: {"headers": {}} for n in names})}


def _kinds(workdir: Path) -> set[tuple[str, str]]:
    errors = catalog_rows(workdir, "select errors from crawl_runs order by id desc limit 1")[0][0]
    return {(e["source"], e["kind"]) for e in json.loads(errors)}


def test_bad_pages_fail_their_source_only_and_keep_what_was_stored(mirror: Mirror, tmp_path: Path) -> None:
    faults = ["malformed", "html", "truncated", "huge", "cursor_repeat", "cursor_endless"]
    names = [f"reg-{f.replace('_', '-')}" for f in faults]
    for fault, name in zip(faults, names, strict=True):
        if fault.startswith("cursor_"):
            mirror.fault(fault, path=f"/{name}/v0.1/servers")
        else:
            mirror.fault(fault, path=f"/{name}/{PAGE2}")
    run = run_crawl_cli(
        mirror,
        tmp_path,
        "official",
        *names,
        "glama",
        settings={"MCPCAT_PAGE_SIZE": "3", "RETRY_TIMES": "1"},
        env=_registries(*names),
    )
    assert run.code == 1, run.stderr[-2000:]
    assert run.source("official")["status"] == "complete"
    assert run.source("glama")["status"] == "complete"  # the crawl goes on
    for name in names:
        got = run.source(name)
        assert got["status"] == "failed", got
        assert got["servers"] >= 3, got  # the first page was stored before the bad one
        assert got["pages"] < 10, got  # a cursor loop is cut short, not followed 10,000 times
    stored = catalog_rows(tmp_path, "select source, count(*) from listings group by source")
    assert dict(stored)["reg-huge"] >= 3
    kinds = _kinds(tmp_path)
    assert ("reg-malformed", "bad_json") in kinds
    assert ("reg-html", "not_json") in kinds
    assert ("reg-truncated", "download") in kinds
    assert ("reg-huge", "download") in kinds  # cancelled at DOWNLOAD_MAXSIZE, never read whole
    assert ("reg-cursor-repeat", "cursor_loop") in kinds
    assert ("reg-cursor-endless", "cursor_loop") in kinds
    assert "reg-huge: download http://127.0.0.1" in run.stderr  # logged with source and record


def test_429_and_503_retry_after_is_honoured(mirror: Mirror, tmp_path: Path) -> None:
    mirror.fault("status", path="/official/", status=429, retry_after=1, times=1)
    mirror.fault("status", path="/glama/", status=503, retry_after=1, times=1)
    started = time.monotonic()
    run = run_crawl_cli(mirror, tmp_path, "official", "glama")
    assert run.code == 0, run.stderr[-2000:]
    assert run.source("official")["status"] == "complete"
    assert run.source("official")["retries"] == 1 and run.source("glama")["retries"] == 1
    assert run.source("official")["seconds"] >= 1.0  # waited as asked
    assert time.monotonic() - started < 60


def test_500s_are_retried_then_a_source_that_keeps_failing_fails_alone(
    mirror: Mirror, tmp_path: Path
) -> None:
    mirror.fault("status", path="/official/", status=500, times=2)
    mirror.fault("status", path="/glama/", status=500)  # forever
    run = run_crawl_cli(mirror, tmp_path, "official", "glama", "docker")
    assert run.code == 1
    assert run.source("official")["status"] == "complete" and run.source("official")["servers"] == 11
    assert run.source("docker")["status"] == "complete"
    glama = run.source("glama")
    assert glama["status"] == "failed" and "HTTP 500" in glama["note"], glama
    assert catalog_rows(tmp_path, "select status from crawl_runs") == [("partial",)]


def test_slow_responses_time_out(mirror: Mirror, tmp_path: Path) -> None:
    mirror.fault("slow", path="/glama/", delay=2.5)
    run = run_crawl_cli(mirror, tmp_path, "glama", settings={"DOWNLOAD_TIMEOUT": "1", "RETRY_TIMES": "1"})
    assert run.code == 1
    assert run.source("glama")["status"] == "failed"
    assert ("glama", "timeout") in _kinds(tmp_path)


def test_auth_keys_and_skipped_sources(mirror: Mirror, tmp_path: Path) -> None:
    # PulseMCP is the official spider with X-API-Key; Smithery is skipped without its key; Glama's
    # list answers 401 without one, which fails it with a note naming the variable.
    run = run_crawl_cli(
        mirror,
        tmp_path,
        "pulsemcp",
        "smithery",
        "glama",
        keys=False,
        env={"PULSEMCP_API_KEY": "test-pulse-key"},
    )
    assert run.code == 1
    assert run.source("pulsemcp")["status"] == "complete" and run.source("pulsemcp")["servers"] == 11
    smithery = run.source("smithery")
    assert smithery["status"] == "skipped" and "SMITHERY_API_KEY" in smithery["note"]
    glama = run.source("glama")
    assert glama["status"] == "failed" and "GLAMA_API_KEY" in glama["note"], glama
    wrong = run_crawl_cli(mirror, tmp_path, "pulsemcp", keys=False, env={"PULSEMCP_API_KEY": "nope"})
    assert wrong.code == 1 and wrong.source("pulsemcp")["status"] == "failed"
    skipped = run_crawl_cli(mirror, tmp_path, "pulsemcp", keys=False)
    assert skipped.code == 0 and skipped.source("pulsemcp")["status"] == "skipped"


def test_error_budget_stops_a_source(mirror: Mirror, tmp_path: Path) -> None:
    run = run_crawl_cli(mirror, tmp_path, "awesome", settings={"MCPCAT_ERROR_BUDGET": "1"})
    assert run.code == 1
    got = run.source("awesome")
    assert got["status"] == "failed" and "errors" in got["note"], got


def test_limit_stops_each_source_and_the_run_is_partial(mirror: Mirror, tmp_path: Path) -> None:
    run = run_crawl_cli(
        mirror, tmp_path, "official", "glama", args=("--limit", "2"), settings={"MCPCAT_PAGE_SIZE": "3"}
    )
    assert run.code == 0, run.stderr[-2000:]
    assert [run.source(s)["servers"] for s in ("official", "glama")] == [2, 2]
    assert run.source("official")["status"] == "partial"
    assert catalog_rows(tmp_path, "select count(*) from servers") == [(4,)]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--source", "nosuch"), "unknown source 'nosuch'"),
        (("--source", "official", "--base-url", "official"), "NAME=VALUE"),
        (("--source", "official", "--base-url", "official=javascript:alert(1)"), "not an http(s) URL"),
        (("--source", "official", "--base-url", "glama=http://127.0.0.1:1"), "not crawled"),
        (("--source", "official", "--limit", "0"), "--limit"),
    ],
)
def test_bad_arguments_exit_2(args: tuple[str, ...], message: str, tmp_path: Path) -> None:
    import subprocess
    import sys

    mcpcat = Path(sys.executable).with_name("mcpcat")
    proc = subprocess.run(
        [str(mcpcat), "crawl", "--db", f"sqlite:///{tmp_path / 'c.db'}", *args],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith("error: ") and message in proc.stderr, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_base_url_from_the_environment_and_a_user_agent_naming_mcpcat(mirror: Mirror, tmp_path: Path) -> None:
    run = run_crawl_cli(
        mirror, tmp_path, args=("--source", "glama"), env={"MCPCAT_URL_GLAMA": mirror.base("glama")}
    )
    assert run.code == 0, run.stderr[-2000:]
    assert run.source("glama")["servers"] == 5
    assert mirror.user_agents and all(ua.startswith("mcpcat/") for ua in mirror.user_agents)
