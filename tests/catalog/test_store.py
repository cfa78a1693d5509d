"""The store on a real database: migrations, idempotent upserts, history, removal, overrides, runs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, text

from catalog import models as m
from catalog.database import SCHEMA_REVISION
from catalog.errors import InvalidRecord, NotFound
from catalog.records import ListingRecord, PackageRecord, RemoteRecord, ServerRecord, ToolRecord
from catalog.store import Catalog

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def server(
    key: str = "github.com/acme/files", tools: list[ToolRecord] | None = None, **kw: Any
) -> ServerRecord:
    if tools is None:
        tools = [
            ToolRecord("read_file", description="Read a file", input_schema={"type": "object"}),
            ToolRecord("delete_file", description="Delete a file", annotations={"destructiveHint": True}),
        ]
    return ServerRecord(key=key, name=key.rsplit("/", 1)[-1], tools=tools, tools_complete=True, **kw)


def strip_times(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: strip_times(v) for k, v in value.items() if k not in ("last_seen",)}
    if isinstance(value, list):
        return [strip_times(v) for v in value]
    return value


def rows(cat: Catalog, table: Any) -> list[Any]:
    with cat.engine.connect() as conn:
        return list(conn.execute(select(table)))


def test_fresh_database_is_migrated_to_head(db_url: str) -> None:
    with Catalog(db_url) as cat, cat.engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == SCHEMA_REVISION
    # opening again does not migrate twice or fail
    Catalog(db_url).close()


def test_schema_revision_constant_is_alembic_head() -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", "catalog:migrations")
    assert ScriptDirectory.from_config(cfg).get_current_head() == SCHEMA_REVISION


def test_autogenerate_finds_no_difference_from_the_models(sqlite_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with Catalog(sqlite_url) as cat, cat.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), m.Base.metadata)
    assert diff == []


def test_sqlite_runs_in_wal_mode_with_foreign_keys(sqlite_url: str) -> None:
    with Catalog(sqlite_url) as cat, cat.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1


def test_storing_the_same_data_twice_changes_only_last_seen(db_url: str) -> None:
    with Catalog(db_url) as cat:
        record = server(
            listings=[ListingRecord("official", "io.github.acme/files", raw={"a": 1})],
            packages=[PackageRecord("npm", "@acme/files", "1.0.0", "stdio")],
            remotes=[RemoteRecord("streamable-http", "https://files.acme.dev/mcp")],
        )
        first = cat.upsert_servers([record], seen_at=T0)
        before = cat.server(record.key)
        again = cat.upsert_servers([record], seen_at=T0 + timedelta(days=1))
        after = cat.server(record.key)
        assert first.as_dict() == {
            "servers_added": 1,
            "servers_updated": 0,
            "tools_added": 2,
            "tools_changed": 0,
            "tools_removed": 0,
        }
        assert again.as_dict() == {
            "servers_added": 0,
            "servers_updated": 0,
            "tools_added": 0,
            "tools_changed": 0,
            "tools_removed": 0,
        }
        assert strip_times(after) == strip_times(before)
        assert after["last_seen"] == "2026-01-02T00:00:00.000000Z"
        assert after["first_seen"] == "2026-01-01T00:00:00.000000Z"
        assert {t["last_seen"] for t in after["tools"]} == {"2026-01-02T00:00:00.000000Z"}
        assert len(rows(cat, m.ToolVersion.__table__)) == 2
        assert len(rows(cat, m.Listing.__table__)) == 1
        assert len(rows(cat, m.Package.__table__)) == 1


def test_a_changed_definition_keeps_the_old_one_in_tool_versions(db_url: str) -> None:
    with Catalog(db_url) as cat:
        cat.upsert_servers([server()], seen_at=T0)
        changed = server(
            tools=[
                ToolRecord("read_file", description="Read a file. Also uploads it somewhere."),
                ToolRecord("delete_file", description="Delete a file", annotations={"destructiveHint": True}),
            ]
        )
        stats = cat.upsert_servers([changed], seen_at=T0 + timedelta(days=1))
        assert stats.tools_changed == 1
        tool = next(t for t in cat.server(changed.key)["tools"] if t["name"] == "read_file")
        assert tool["description"] == "Read a file. Also uploads it somewhere."
        assert tool["first_seen"] == "2026-01-01T00:00:00.000000Z"
        versions = sorted(rows(cat, m.ToolVersion.__table__), key=lambda v: v.first_seen)
        mine = [v for v in versions if v.description and v.description.startswith("Read a file")]
        assert [v.description for v in mine] == ["Read a file", "Read a file. Also uploads it somewhere."]
        assert mine[0].last_seen == T0  # the old definition was last seen before the change

        # changing back reuses the stored version instead of adding a third
        cat.upsert_servers([server()], seen_at=T0 + timedelta(days=2))
        assert len([v for v in rows(cat, m.ToolVersion.__table__) if v.description.startswith("Read")]) == 2


def test_a_tool_missing_from_a_complete_listing_is_marked_removed_not_deleted(db_url: str) -> None:
    with Catalog(db_url) as cat:
        cat.upsert_servers([server()], seen_at=T0)
        only_read = server(
            tools=[ToolRecord("read_file", description="Read a file", input_schema={"type": "object"})]
        )
        stats = cat.upsert_servers([only_read], seen_at=T0 + timedelta(days=1))
        assert stats.tools_removed == 1
        stored = {t.name: t for t in rows(cat, m.Tool.__table__)}
        assert stored["delete_file"].removed_at == T0 + timedelta(days=1)
        assert [t["name"] for t in cat.server(only_read.key)["tools"]] == ["read_file"]
        # a source that lists the server without tools removes nothing
        cat.upsert_servers([ServerRecord(key=only_read.key, name="files")], seen_at=T0 + timedelta(days=2))
        assert [t["name"] for t in cat.server(only_read.key)["tools"]] == ["read_file"]
        # the tool coming back clears removed_at
        cat.upsert_servers([server()], seen_at=T0 + timedelta(days=3))
        assert {t.name: t.removed_at for t in rows(cat, m.Tool.__table__)} == {
            "read_file": None,
            "delete_file": None,
        }


def test_listings_from_several_sources_merge_into_one_server(db_url: str) -> None:
    with Catalog(db_url) as cat:
        key = "github.com/acme/files"
        cat.upsert_servers(
            [
                ServerRecord(
                    key=key,
                    name="files",
                    description="From the registry",
                    listings=[ListingRecord("official", "io.github.acme/files")],
                    packages=[PackageRecord("npm", "@acme/files", "1.0.0")],
                )
            ]
        )
        cat.upsert_servers(
            [
                ServerRecord(
                    key=key,
                    name="files",
                    homepage="https://acme.dev",
                    listings=[ListingRecord("npm", "@acme/files")],
                    packages=[PackageRecord("npm", "@acme/files", "1.1.0", "stdio")],
                )
            ]
        )
        detail = cat.server(key)
        assert [x["source"] for x in detail["listings"]] == ["npm", "official"]
        assert detail["description"] == "From the registry"  # a missing field does not erase
        assert detail["homepage"] == "https://acme.dev"
        assert detail["packages"] == [
            {"registry_type": "npm", "identifier": "@acme/files", "version": "1.1.0", "transport": "stdio"}
        ]


def test_the_same_server_twice_in_one_batch_is_applied_in_order(db_url: str) -> None:
    with Catalog(db_url) as cat:
        a = ServerRecord(key="github.com/a/b", name="b", title="first")
        b = ServerRecord(
            key="github.com/a/b", name="b", title="second", listings=[ListingRecord("glama", "b1")]
        )
        stats = cat.upsert_servers([a, b])
        assert stats.servers_added == 1 and stats.servers_updated == 1
        assert cat.server("github.com/a/b")["title"] == "second"


def test_classify_pending_classifies_each_definition_once(db_url: str) -> None:
    from catalog.classifying import classifier_version, classify_records

    version = classifier_version()
    assert version, "the classifier must report its version"
    with Catalog(db_url) as cat:
        cat.upsert_servers([server(), server(key="github.com/other/files")])
        assert cat.classify_pending(classify_records, version) == 2  # two servers share two definitions
        assert cat.classify_pending(classify_records, version) == 0
        labels = {
            t["name"]: t["classification"]["label"] for t in cat.server("github.com/acme/files")["tools"]
        }
        assert labels == {"read_file": "Read", "delete_file": "Destructive"}


def test_an_override_wins_and_survives_crawls_and_reclassification(db_url: str) -> None:
    from catalog.classifying import classifier_version, classify_records

    with Catalog(db_url) as cat:
        cat.upsert_servers([server()])
        cat.classify_pending(classify_records, classifier_version() or "")
        cat.set_override(
            "github.com/acme/files", "delete_file", "write", "moves to trash, restorable for 30 days"
        )
        changed = server(
            tools=[
                ToolRecord("read_file", description="Read a file"),
                ToolRecord("delete_file", description="Move a file to the trash"),
            ]
        )
        cat.upsert_servers([changed])
        cat.classify_pending(classify_records, "next-version")
        tool = next(t for t in cat.server(changed.key)["tools"] if t["name"] == "delete_file")
        assert tool["classification"]["label"] == "Write"
        assert tool["classification"]["source"] == "override"
        assert tool["classification"]["rationale"][0].endswith("moves to trash, restorable for 30 days")
        assert tool["override"]["label"] == "Write"
        cat.remove_override(changed.key, "delete_file")
        tool = next(t for t in cat.server(changed.key)["tools"] if t["name"] == "delete_file")
        assert tool["classification"]["source"] == "classifier"


def test_override_errors(db_url: str) -> None:
    with Catalog(db_url) as cat:
        cat.upsert_servers([server()])
        with pytest.raises(NotFound):
            cat.set_override("github.com/nobody/none", "x", "Read", "why")
        with pytest.raises(InvalidRecord):
            cat.set_override("github.com/acme/files", "read_file", "Harmless", "why")
        with pytest.raises(InvalidRecord):
            cat.set_override("github.com/acme/files", "read_file", "Read", "  ")
        with pytest.raises(NotFound):
            cat.remove_override("github.com/acme/files", "read_file")


def test_crawl_runs_record_status_and_the_last_successful_source(db_url: str) -> None:
    with Catalog(db_url) as cat:
        assert cat.last_successful_run("official") is None
        first = cat.start_run(["official", "npm"])
        cat.finish_run(first, status="complete", counts={"servers": 3}, errors=[])
        second = cat.start_run(["official", "npm"])
        cat.finish_run(
            second,
            status="partial",
            counts={"completed_sources": ["npm"]},
            errors=[{"source": "official", "error": "HTTP 500"}],
        )
        runs = {r.id: r for r in rows(cat, m.CrawlRun.__table__)}
        assert runs[second].status == "partial" and runs[second].errors[0]["source"] == "official"
        assert cat.last_successful_run("official") == runs[first].started_at
        assert cat.last_successful_run("npm") == runs[second].started_at
        assert cat.stats()["last_crawl"]["id"] == second


def test_tools_named_and_find_tools_span_servers(db_url: str) -> None:
    with Catalog(db_url) as cat:
        cat.upsert_servers([server(), server(key="github.com/other/files")])
        named = cat.tools_named("delete_file")
        assert [r["server"] for r in named] == ["github.com/acme/files", "github.com/other/files"]
        found = cat.find_tools("FILE")
        assert len(found) == 4
        assert cat.find_tools("_fi") and not cat.find_tools("%")


def test_classify_pending_defaults_to_the_installed_classifier_and_can_be_limited(db_url: str) -> None:
    with Catalog(db_url) as cat:
        cat.upsert_servers([server()])
        read_hash = next(
            t["definition_hash"]
            for t in cat.server("github.com/acme/files")["tools"]
            if t["name"] == "read_file"
        )
        assert cat.classify_pending(hashes=[read_hash]) == 1
        assert cat.classify_pending() == 1  # only delete_file was left
        assert cat.classify_pending() == 0


def test_package_identifiers_and_tool_origins(db_url: str) -> None:
    with Catalog(db_url) as cat:
        cat.upsert_servers(
            [
                server(
                    packages=[PackageRecord("pypi", "mcp-files"), PackageRecord("npm", "@acme/files")],
                    tools=[ToolRecord("read_file", origin={"kind": "listed", "source": "glama"})],
                ),
                server(key="github.com/b/c", packages=[PackageRecord("pypi", "c-mcp")], tools=[]),
            ]
        )
        assert cat.package_identifiers("pypi") == ["c-mcp", "mcp-files"]
        assert cat.tool_origins(["github.com/acme/files", "github.com/b/c"]) == {
            "github.com/acme/files": [{"kind": "listed", "source": "glama"}]
        }
