"""Fast bulk inserts for the big tables (servers, tools, tool_versions, classifications).

SQLAlchemy's per-row parameter processing costs more than SQLite itself when a million tools
arrive at once. For those inserts we build one parameterised statement from the mapped table,
serialise JSON and datetimes once per value the way SQLAlchemy's own types store them, and
hand the rows to the driver's executemany in the caller's transaction. `insert_rows` takes
tuples already in the driver's terms (see `Values`); `bulk_insert` takes dicts of Python values.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from operator import itemgetter
from typing import Any

from sqlalchemy import JSON, Connection, Table

from catalog.models import UTCDateTime

__all__ = ["RawJSON", "Values", "bulk_insert", "insert_rows"]


class RawJSON(str):
    """JSON text that is already serialised: stored as it is, not dumped again."""

    __slots__ = ()


def _sqlite_time(value: datetime) -> str:
    """The text SQLAlchemy's SQLite DateTime type writes and reads back."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.strftime("%Y-%m-%d %H:%M:%S.%f")


def _pg_time(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo is not None else value


class Values:
    """Python values as one connection's driver takes them in `insert_rows`."""

    __slots__ = ("_time_of", "_times")

    def __init__(self, conn: Connection) -> None:
        self._time_of = _pg_time if conn.dialect.name == "postgresql" else _sqlite_time
        self._times: dict[datetime, Any] = {}  # a batch shares a handful of timestamps

    @staticmethod
    def json(value: Any) -> str | None:
        if value is None or isinstance(value, RawJSON):
            return value
        if not value and isinstance(value, list | dict):
            return "[]" if isinstance(value, list) else "{}"  # most flags lists: skip the encoder
        return json.dumps(value)  # ASCII escapes: a lone surrogate cannot break the insert

    def time(self, value: datetime | None) -> Any:
        if value is None:
            return None
        held = self._times.get(value)
        if held is None:
            held = self._times[value] = self._time_of(value)
        return held


def insert_rows(
    conn: Connection,
    table: Table,
    names: Sequence[str],
    rows: Sequence[tuple[Any, ...]],
    *,
    ignore_conflicts: bool = False,
) -> None:
    """INSERT tuples of driver values (JSON as text, times through `Values.time`) into the
    columns `names`, in one executemany."""
    if not rows:
        return
    postgres = conn.dialect.name == "postgresql"
    holder = "%s" if postgres else "?"
    marks = [
        holder + ("::json" if postgres and isinstance(table.c[name].type, JSON) else "") for name in names
    ]
    sql = f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({', '.join(marks)})"  # noqa: S608 - names from our metadata
    if ignore_conflicts:
        sql += " ON CONFLICT DO NOTHING"
    conn.exec_driver_sql(sql, list(rows))


def bulk_insert(
    conn: Connection, table: Table, rows: Sequence[dict[str, Any]], *, ignore_conflicts: bool = False
) -> None:
    """INSERT every row (dicts with a value for every column but the key) in one executemany."""
    if not rows:
        return
    columns = [c for c in table.columns if not (c.primary_key and c.name not in rows[0])]
    values = Values(conn)
    names = [c.name for c in columns]
    get_all = itemgetter(*names)
    encoded = [(i, values.json) for i, c in enumerate(columns) if isinstance(c.type, JSON)]
    encoded += [(i, values.time) for i, c in enumerate(columns) if isinstance(c.type, UTCDateTime)]
    params = []
    for row in rows:
        cells = list(get_all(row)) if len(names) > 1 else [get_all(row)]
        for i, convert in encoded:
            cells[i] = convert(cells[i])
        params.append(tuple(cells))
    insert_rows(conn, table, names, params, ignore_conflicts=ignore_conflicts)
