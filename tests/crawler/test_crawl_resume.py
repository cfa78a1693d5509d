"""Incremental runs (updated_since), and a crawl killed with SIGKILL: consistent, then resumed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from tests.mirror import FIXTURES, Mirror
from tests.mirror.harness import FAST, catalog_rows, run_crawl_cli
from tests.mirror.synthetic import official_entries


def _queries(mirror: Mirror) -> list[dict[str, str]]:
    return [{k: v[-1] for k, v in parse_qs(urlsplit(p).query).items()} for p in mirror.requests]


def test_second_run_asks_only_for_what_changed(tmp_path: Path) -> None:
    entries = official_entries(30)
    mirror = Mirror(FIXTURES, official=entries).start()
    try:
        first = run_crawl_cli(mirror, tmp_path, "official", settings={"MCPCAT_PAGE_SIZE": "10"})
        assert first.code == 0 and first.source("official")["servers"] == 30
        assert all("updated_since" not in q for q in _queries(mirror))
        mirror.clear()
        second = run_crawl_cli(mirror, tmp_path, "official", settings={"MCPCAT_PAGE_SIZE": "10"})
        assert second.code == 0 and second.source("official")["servers"] == 0
        since = _queries(mirror)[0]["updated_since"]
        started = catalog_rows(tmp_path, "select started_at from crawl_runs order by id limit 1")[0][0]
        assert since.replace("T", " ").rstrip("Z") == str(started)[:19]
        # a server published after the last run shows up in the next one, with deleted ones
        new = official_entries(31, updated="2099-01-01T00:00:00Z")[-1]
        new["server"]["name"] = "io.github.zz/new-server"
        entries.append(new)
        mirror.clear()
        third = run_crawl_cli(mirror, tmp_path, "official")
        assert third.code == 0 and third.source("official")["servers"] == 1
        mirror.clear()
        full = run_crawl_cli(mirror, tmp_path, "official", args=("--full",))
        assert full.source("official")["servers"] == 31
        assert all("updated_since" not in q for q in _queries(mirror))
    finally:
        mirror.stop()


def test_sigkill_leaves_whole_servers_and_the_next_run_resumes(tmp_path: Path) -> None:
    entries = official_entries(60)
    mirror = Mirror(FIXTURES, official=entries).start()
    mirror.fault("slow", path="cursor=", delay=0.3)
    checkpoint = tmp_path / "jobs" / "official.checkpoint.json"
    cmd = [
        str(Path(sys.executable).with_name("mcpcat")),
        "crawl",
        "--json",
        "--source",
        "official",
        "--base-url",
        f"official={mirror.base('official')}",
        "--db",
        f"sqlite:///{tmp_path / 'catalog.db'}",
    ]
    settings = {
        **FAST,
        "MCPCAT_PAGE_SIZE": "5",
        "MCPCAT_STORE_BATCH": "5",
        "MCPCAT_JOBDIR": str(tmp_path / "jobs"),
        "HTTPCACHE_DIR": str(tmp_path / "cache"),
    }
    for k, v in settings.items():
        cmd += ["--setting", f"{k}={v}"]
    try:
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tmp_path)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if (
                checkpoint.exists()
                and json.loads(checkpoint.read_text())["cursor"] > entries[20]["server"]["name"]
            ):
                break
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        # consistent: every stored server is whole (its listing and package rows came with it)
        servers = catalog_rows(tmp_path, "select count(*) from servers")[0][0]
        assert 20 <= servers < 60
        assert catalog_rows(tmp_path, "select count(*) from listings") == [(servers,)]
        assert catalog_rows(tmp_path, "select count(distinct key) from servers") == [(servers,)]
        point = json.loads(checkpoint.read_text())["cursor"]
        stored = {r[0] for r in catalog_rows(tmp_path, "select source_id from listings")}
        assert {e["server"]["name"] for e in entries if e["server"]["name"] <= point.split(":")[0]} <= stored

        mirror.clear()
        run = run_crawl_cli(
            mirror, tmp_path, "official", settings={"MCPCAT_PAGE_SIZE": "5", "MCPCAT_STORE_BATCH": "5"}
        )
        assert run.code == 0 and run.source("official")["status"] == "complete"
        assert parse_qs(urlsplit(mirror.requests[0]).query)["cursor"] == [point]  # resumed, not restarted
        assert catalog_rows(tmp_path, "select count(*), count(distinct key) from servers") == [(60, 60)]
        assert catalog_rows(tmp_path, "select count(*) from listings") == [(60,)]
        assert not checkpoint.exists()  # a finished source starts from the top next time
    finally:
        mirror.stop()


def test_extraction_hook_fills_servers_without_listed_tools(tmp_path: Path) -> None:
    mirror = Mirror(FIXTURES, official=official_entries(20)).start()
    try:
        run = run_crawl_cli(
            mirror,
            tmp_path,
            "official",
            settings={
                "MCPCAT_EXTRACT_ENABLED": "true",
                "MCPCAT_EXTRACTOR": "tests.mirror.fake_extract:extract",
                "MCPCAT_PAGE_SIZE": "5",
                "MCPCAT_STORE_BATCH": "5",
            },
            env={"PYTHONPATH": str(Path(__file__).resolve().parents[2])},
        )
        assert run.code == 0, run.stderr[-2000:]
        assert run.source("official")["tools"] == 18  # two servers' extraction failed, counted
        origins = catalog_rows(tmp_path, "select distinct origin from tools")
        assert [json.loads(o[0]) for o in origins] == [{"kind": "extracted", "extractor": "fake"}]
        assert run.source("official")["errors"] == 2
    finally:
        mirror.stop()


def test_second_run_revalidates_with_conditional_requests(tmp_path: Path) -> None:
    mirror = Mirror(FIXTURES).start()
    try:
        first = run_crawl_cli(mirror, tmp_path, "docker", "awesome")
        assert first.code == 0 and mirror.hits["304"] == 0
        requests = len(mirror.requests)
        mirror.clear()
        second = run_crawl_cli(mirror, tmp_path, "docker", "awesome")
        assert second.code == 0
        assert second.source("docker")["servers"] == 4 and second.source("awesome")["servers"] == 18
        # every file is asked for again with If-None-Match and answered 304 Not Modified (no body)
        assert mirror.hits["304"] == requests - 1  # the index, server.yaml, tools.json (404s aren't cached)
    finally:
        mirror.stop()


def test_sigterm_stops_gracefully_records_the_run_and_keeps_the_checkpoint(tmp_path: Path) -> None:
    entries = official_entries(40)
    mirror = Mirror(FIXTURES, official=entries).start()
    mirror.fault("slow", path="cursor=", delay=0.3)
    checkpoint = tmp_path / "jobs" / "official.checkpoint.json"
    cmd = [
        str(Path(sys.executable).with_name("mcpcat")),
        "crawl",
        "--json",
        "--source",
        "official",
        "--base-url",
        f"official={mirror.base('official')}",
        "--db",
        f"sqlite:///{tmp_path / 'catalog.db'}",
    ]
    for k, v in {
        **FAST,
        "MCPCAT_PAGE_SIZE": "5",
        "MCPCAT_STORE_BATCH": "5",
        "MCPCAT_JOBDIR": str(tmp_path / "jobs"),
        "HTTPCACHE_DIR": str(tmp_path / "cache"),
    }.items():
        cmd += ["--setting", f"{k}={v}"]
    try:
        proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=tmp_path, text=True
        )
        deadline = time.monotonic() + 60
        while not checkpoint.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=60)
        assert proc.returncode == 1
        result = json.loads(out)["sources"][0]
        assert result["status"] == "failed" and "shutdown" in result["note"]
        assert catalog_rows(tmp_path, "select status from crawl_runs") == [("failed",)]
        servers = catalog_rows(tmp_path, "select count(*) from servers")[0][0]
        assert 5 <= servers < 40 and checkpoint.exists()
    finally:
        mirror.stop()


def test_sources_listing_different_tools_do_not_flip_flop(tmp_path: Path) -> None:
    mirror = Mirror(FIXTURES).start()
    try:
        first = run_crawl_cli(mirror, tmp_path, "glama", "smithery")
        assert first.code == 0
        second = run_crawl_cli(mirror, tmp_path, "glama", "smithery")
        assert second.code == 0
        for source in ("glama", "smithery"):
            store = second.source(source)["store"]
            assert store.get("tools_changed", 0) == 0 and store.get("tools_removed", 0) == 0, (source, store)
        # acme/weather-mcp: Smithery outranks Glama, so its two tools are the ones kept
        rows = catalog_rows(
            tmp_path,
            "select t.name, t.origin from tools t join servers s on s.id = t.server_id "
            "where s.key = 'github.com/acme/weather-mcp' and t.removed_at is null order by t.name",
        )
        assert [(n, json.loads(o)["source"]) for n, o in rows] == [
            ("get_alerts", "smithery"),
            ("get_forecast", "smithery"),
        ]
    finally:
        mirror.stop()
