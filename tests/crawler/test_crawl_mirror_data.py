"""Crawls of the real recorded data in ../shared/mirror (skipped where it is absent).

The data is read from ../shared and laid out in a temporary directory in each source's
served shape (the legacy registry seed converted to server.json, the Docker catalog as
server.yaml + tools.json files, the READMEs as raw files); nothing is copied into the project.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.mirror import Mirror
from tests.mirror.harness import CrawlRun, catalog_rows, run_crawl_cli

OFFICIAL_META = "io.modelcontextprotocol.registry/official"
PACKAGE_TYPES = {"npm": "npm", "pypi": "pypi", "docker": "oci"}


def legacy_to_current(entry: dict[str, Any]) -> dict[str, Any]:
    """One entry of the registry's 2025-05 seed in the current server.json list shape."""
    detail = entry.get("version_detail") or {}
    server: dict[str, Any] = {
        "name": entry.get("name"),
        "description": entry.get("description"),
        "version": detail.get("version"),
        "repository": entry.get("repository"),
    }
    packages = []
    for p in entry.get("packages") or []:
        kind = PACKAGE_TYPES.get(p.get("registry_name"))
        if kind and p.get("name"):
            packages.append(
                {
                    "registryType": kind,
                    "identifier": p["name"],
                    "version": p.get("version"),
                    "transport": {"type": "stdio"},
                }
            )
    if packages:
        server["packages"] = packages
    remotes = [{"type": r.get("transport_type"), "url": r.get("url")} for r in entry.get("remotes") or []]
    if remotes:
        server["remotes"] = remotes
    meta = {
        "status": "active",
        "updatedAt": detail.get("release_date"),
        "isLatest": detail.get("is_latest", True),
    }
    return {"server": {k: v for k, v in server.items() if v is not None}, "_meta": {OFFICIAL_META: meta}}


def layout(mirror_dir: Path, root: Path) -> dict[str, int]:
    legacy = json.loads((mirror_dir / "official-registry-seed_2025_05_16.json").read_text())
    current = json.loads((mirror_dir / "official-registry-seed.json").read_text())
    entries = [legacy_to_current(e) for e in legacy]
    for i, s in enumerate(current):
        later = any(o["name"] == s["name"] for o in current[i + 1 :])
        entries.append({"server": s, "_meta": {OFFICIAL_META: {"status": "active", "isLatest": not later}}})
    (root / "official").mkdir(parents=True)
    (root / "official" / "servers.json").write_text(json.dumps(entries))

    docker = json.loads((mirror_dir / "docker-mcp-registry-servers.json").read_text())
    for s in docker["servers"]:
        d = root / "docker" / s["dir"]
        d.mkdir(parents=True)
        (d / "server.yaml").write_text(yaml.safe_dump(s["server"], sort_keys=False))
        if s.get("tools") is not None:
            (d / "tools.json").write_text(json.dumps(s["tools"]))

    awesome = json.loads((mirror_dir / "awesome-mcp-servers-readme-samples.json").read_text())
    reference = json.loads((mirror_dir / "modelcontextprotocol-servers-readme-2026-03-17.json").read_text())
    for repo, text in (
        ("punkpeye/awesome-mcp-servers", "\n".join(awesome["lines"])),
        ("modelcontextprotocol/servers", reference["readme_markdown"]),
    ):
        path = root / "awesome" / repo / "main" / "README.md"
        path.parent.mkdir(parents=True)
        path.write_text(text)
    names = {e["server"].get("name") for e in entries if e["server"].get("name")}
    return {
        "official_names": len(names),
        "docker": len(docker["servers"]),
        "reference": reference["entry_count"],
    }


@pytest.fixture(scope="module")
def real(
    mirror_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Path, CrawlRun, dict[str, int]]]:
    root = tmp_path_factory.mktemp("data")
    counts = layout(mirror_dir, root)
    mirror = Mirror(root).start()
    workdir = tmp_path_factory.mktemp("crawl")
    try:
        run = run_crawl_cli(
            mirror, workdir, "official", "docker", "awesome", settings={"MCPCAT_ERROR_BUDGET": "500"}
        )
        yield workdir, run, counts
    finally:
        mirror.stop()


def test_real_registry_seed_is_crawled_whole(real: tuple[Path, CrawlRun, dict[str, int]]) -> None:
    workdir, run, counts = real
    assert run.code == 0, run.stderr[-2000:]
    got = run.source("official")
    assert got["status"] == "complete"
    # every distinct name is either stored or counted as an error (one entry has empty fields)
    stored = catalog_rows(
        workdir, "select count(distinct source_id) from listings where source = 'official'"
    )[0][0]
    assert stored + got["errors"] >= counts["official_names"] - 1
    assert stored >= counts["official_names"] - 5


def test_real_docker_catalog_with_its_tools(real: tuple[Path, CrawlRun, dict[str, int]]) -> None:
    workdir, run, counts = real
    got = run.source("docker")
    assert got["status"] == "complete" and got["servers"] == counts["docker"]
    assert got["tools"] >= 700  # 755 tools in three shapes, a few repeated or nameless
    annotated = catalog_rows(
        workdir,
        "select count(*) from tools t join listings l on l.server_id = t.server_id "
        "where l.source = 'docker' and t.annotations is not null and t.annotations != 'null'",
    )[0][0]
    assert annotated >= 20


def test_real_readmes_parse_nearly_every_entry(real: tuple[Path, CrawlRun, dict[str, int]]) -> None:
    workdir, run, counts = real
    got = run.source("awesome")
    assert got["status"] == "complete"
    reference = catalog_rows(
        workdir,
        "select count(*) from listings where source = 'awesome' and source_id like 'modelcontextprotocol/%'",
    )[0][0]
    awesome = catalog_rows(
        workdir, "select count(*) from listings where source = 'awesome' and source_id like 'punkpeye/%'"
    )[0][0]
    assert reference >= counts["reference"] * 0.9
    assert awesome >= 30
