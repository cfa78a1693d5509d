"""`import_jsonl` and the store's Loader: several batches per transaction, on each backend."""

from __future__ import annotations

import gc
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from catalog import models as m
from catalog.errors import BadLine, InvalidRecord
from catalog.export import ImportResult, import_jsonl
from catalog.records import ServerRecord, ToolRecord
from catalog.store import Catalog


def line(i: int, tools: int = 2, **tool: Any) -> dict[str, Any]:
    return {
        "key": f"github.com/acme/s{i}",
        "name": f"s{i}",
        "tools": [
            {"name": f"get_thing_{j}", "description": f"Get thing {j} of {i}", **tool} for j in range(tools)
        ],
    }


def write(path: Path, *lines: dict[str, Any] | str) -> Path:
    path.write_text("".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in lines))
    return path


def count(cat: Catalog, table: Any) -> int:
    with cat.engine.connect() as conn:
        return len(list(conn.execute(table.select())))


class Classifier:
    """A stand-in classifier that records how many tools each call got."""

    def __init__(self) -> None:
        self.calls: list[int] = []

    def __call__(self, records: Sequence[ToolRecord]) -> list[dict[str, Any]]:
        self.calls.append(len(records))
        return [{"label": "Read", "confidence": 0.5, "rationale": ["test"], "flags": []} for _ in records]


def test_batches_share_a_transaction_and_are_classified_once_committed(db_url: str, tmp_path: Path) -> None:
    path = write(tmp_path / "in.jsonl", *(line(i) for i in range(7)))
    classify, seen = Classifier(), []

    def progress(result: ImportResult) -> None:
        seen.append(result.servers)

    with Catalog(db_url) as cat:
        result = import_jsonl(
            cat,
            path,
            classify=classify,
            classifier_version="t1",
            batch_size=2,
            commit_tools=8,
            progress=progress,
        )
        assert (result.servers, result.tools, result.classified) == (7, 14, 14)
        assert result.stats.tools_added == 14
        assert seen == [4, 7]  # a commit after 8 tools, then the rest
        assert classify.calls == [8, 6]  # each commit's tools, classified after the commit
        assert count(cat, m.Classification.__table__) == 14
        again = import_jsonl(
            cat, path, classify=classify, classifier_version="t1", batch_size=2, commit_tools=8
        )
        assert (again.stats.tools_added, again.stats.tools_changed, again.classified) == (0, 0, 0)
        assert count(cat, m.ToolVersion.__table__) == 14


def test_tools_waiting_for_the_classifier_commit_sooner(db_url: str, tmp_path: Path) -> None:
    classified = {
        "label": "Read",
        "confidence": 0.9,
        "rationale": [],
        "flags": [],
        "classifier_version": "t0",
    }
    lines = [line(i, classification=classified) if i % 2 else line(i) for i in range(7)]
    classify = Classifier()
    with Catalog(db_url) as cat:
        result = import_jsonl(
            cat,
            write(tmp_path / "in.jsonl", *lines),
            classify=classify,
            classifier_version="t1",
            batch_size=2,
            commit_tools=100,
            classify_tools=4,
        )
    # servers 0, 2, 4, 6 need the classifier: a commit once two of them wait, then the rest
    assert classify.calls == [4, 4]
    assert (result.servers, result.classified) == (7, 8)


def test_a_bad_line_keeps_every_line_before_it_even_uncommitted_ones(db_url: str, tmp_path: Path) -> None:
    path = write(tmp_path / "in.jsonl", *(line(i) for i in range(5)), "{not json", line(9))
    classify = Classifier()
    with Catalog(db_url) as cat:
        with pytest.raises(BadLine, match=r"in\.jsonl:6: not valid JSON"):
            import_jsonl(
                cat, path, classify=classify, classifier_version="t1", batch_size=2, commit_tools=10**6
            )
        assert count(cat, m.Server.__table__) == 5
        assert count(cat, m.Tool.__table__) == 10
        assert count(cat, m.Classification.__table__) == 10
    assert gc.isenabled()


def test_a_failed_upsert_rolls_back_what_the_loader_has_not_committed(db_url: str) -> None:
    good = ServerRecord(key="github.com/acme/good", name="good", tools=[ToolRecord("get_a")])
    bad_tool = ToolRecord("get_b", override={"label": "Harmless", "reason": "?"})
    bad = ServerRecord(key="github.com/acme/bad", name="bad", tools=[bad_tool])
    with Catalog(db_url) as cat:
        with cat.loader() as loader:
            loader.upsert(
                [ServerRecord(key="github.com/acme/first", name="first", tools=[ToolRecord("get_c")])]
            )
            loader.commit()
            assert loader.upsert([good]).tools_added == 1
            with pytest.raises(InvalidRecord, match="unknown class 'Harmless'"):
                loader.upsert([bad])
            assert loader.broken
            with pytest.raises(RuntimeError, match="rolled back"):
                loader.upsert([good])
        with cat.engine.connect() as conn:
            keys = {row.key for row in conn.execute(m.Server.__table__.select())}
        assert keys == {"github.com/acme/first"}


def test_a_loader_left_by_an_exception_rolls_back(db_url: str) -> None:
    record = ServerRecord(key="github.com/acme/x", name="x", tools=[ToolRecord("get_x")])
    with Catalog(db_url) as cat:
        with pytest.raises(KeyboardInterrupt), cat.loader() as loader:
            loader.upsert([record])
            raise KeyboardInterrupt
        assert count(cat, m.Server.__table__) == 0
        with cat.loader() as loader:
            loader.upsert([record])
        assert count(cat, m.Tool.__table__) == 1


def test_the_loader_lets_the_sqlite_wal_grow_while_loading_and_then_restores_it(sqlite_url: str) -> None:
    from catalog.store import LOAD_WAL_PAGES

    record = ServerRecord(key="github.com/acme/x", name="x", tools=[ToolRecord("get_x")])
    with Catalog(sqlite_url) as cat:
        with cat.loader() as loader:
            loader.upsert([record])
            driver = loader._connection().connection.driver_connection  # white box: its pooled connection
            assert driver is not None
            assert driver.execute("PRAGMA wal_autocheckpoint").fetchone() == (LOAD_WAL_PAGES,)
        assert driver.execute("PRAGMA wal_autocheckpoint").fetchone() == (1000,)
        assert count(cat, m.Tool.__table__) == 1
