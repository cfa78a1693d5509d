"""One server read straight from a SQLite catalog with the standard library's sqlite3.

`mcpcat show` is a one-off command: importing SQLAlchemy alone takes longer than the whole
answer should (about 0.3 s of a 0.5 s budget on a small machine). For a SQLite file that is
already at the current schema, this module runs the same queries as `catalog.queries` and
builds the same export-shaped server with `catalog.shape`; a test holds the two equal.
Anything else (PostgreSQL, a missing or older file, a file that is not a database, a URL with
options) returns None and the caller takes the SQLAlchemy path, which migrates or explains.
"""

from __future__ import annotations

import json
import sqlite3
from collections import namedtuple
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

from catalog.errors import NotFound
from catalog.revision import SCHEMA_REVISION
from catalog.shape import better, server_lines

__all__ = ["server_detail", "sqlite_path"]

_PREFIXES = ("sqlite:///", "sqlite+pysqlite:///")


def sqlite_path(url: str) -> Path | None:
    """The file of a plain SQLite URL (`sqlite:///catalog.db`, `sqlite:////abs/c.db`), else None."""
    for prefix in _PREFIXES:
        if url.startswith(prefix):
            database = url[len(prefix) :]
            if not database or database == ":memory:" or "?" in database or "%" in database:
                return None
            return Path(database).expanduser()
    return None


@cache
def _row_type(columns: tuple[str, ...]) -> Any:
    return namedtuple("Row", columns)  # a row type per result shape, like SQLAlchemy's Row


def _rows(conn: sqlite3.Connection, sql: str, params: Sequence[Any] = ()) -> list[Any]:
    cursor = conn.execute(sql, params)
    make = _row_type(tuple(d[0] for d in cursor.description))
    return [make(*r) for r in cursor.fetchall()]


def _open(path: Path) -> sqlite3.Connection | None:
    if not path.is_file():
        return None
    try:
        conn = sqlite3.connect(f"file:{quote(str(path.resolve()))}?mode=ro", uri=True, timeout=30)
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.Error:
        return None  # not a database, not ours, or locked: the SQLAlchemy path explains
    if row is None or row[0] != SCHEMA_REVISION:
        conn.close()
        return None
    return conn


def server_detail(url: str, key: str, version: str | None) -> dict[str, Any] | None:
    """`catalog.queries.server_detail` for a current SQLite catalog, or None when it does not apply."""
    path = sqlite_path(url)
    conn = None if path is None else _open(path)
    if conn is None:
        return None
    try:
        servers = _rows(conn, "SELECT * FROM servers WHERE key = ? ORDER BY key LIMIT 1", (key,)) or _rows(
            conn, "SELECT * FROM servers WHERE name = ? ORDER BY key LIMIT 3", (key,)
        )
        if not servers:
            raise NotFound(f"no server {key!r} in the catalog")
        if len(servers) > 1:
            raise NotFound(f"{key!r} names several servers: {', '.join(r.key for r in servers)}")
        return dict(json.loads(_lines(conn, servers[0], version)[0]))
    except sqlite3.Error:
        return None
    finally:
        conn.close()


def _lines(conn: sqlite3.Connection, server: Any, version: str | None) -> list[str]:
    one = (server.id,)
    listings = _rows(
        conn,
        "SELECT server_id, source, source_id, url, raw, first_seen, last_seen FROM listings "
        "WHERE server_id = ? ORDER BY source, source_id",
        one,
    )
    packages = _rows(
        conn, "SELECT * FROM packages WHERE server_id = ? ORDER BY registry_type, identifier", one
    )
    remotes = _rows(conn, "SELECT * FROM remotes WHERE server_id = ? ORDER BY url", one)
    tools = _rows(
        conn,
        "SELECT server_id, name, title, description, input_schema, output_schema, annotations, origin, "
        "definition_hash, first_seen, last_seen FROM tools WHERE server_id = ? AND removed_at IS NULL "
        "ORDER BY name",
        one,
    )
    held = {
        (o.server_key, o.tool_name): o._replace(
            created_at=datetime.fromisoformat(o.created_at).replace(tzinfo=UTC)
        )
        for o in _rows(conn, "SELECT * FROM overrides WHERE server_key = ?", (server.key,))
    }
    classes: dict[str, Any] = {}
    for row in _rows(
        conn,
        "SELECT DISTINCT c.id, c.definition_hash, c.classifier_version, c.label, c.confidence, c.rationale, "
        "c.flags FROM classifications AS c JOIN tools AS t ON t.definition_hash = c.definition_hash "
        "WHERE t.server_id = ? AND t.removed_at IS NULL",
        one,
    ):
        held_row = classes.get(row.definition_hash)
        if held_row is None or better(row, held_row, version):
            classes[row.definition_hash] = row
    return server_lines([server], listings, packages, remotes, tools, held, classes)
