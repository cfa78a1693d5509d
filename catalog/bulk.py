"""Fast bulk inserts for the big tables (tools, tool_versions, classifications).

SQLAlchemy's per-row parameter processing costs more than SQLite itself when a million tools
arrive at once. For those inserts we build one parameterised statement from the mapped table,
serialise JSON and datetimes once per value the way SQLAlchemy's own types store them, and
hand the rows to the driver's executemany in the caller's transaction.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from operator import itemgetter
from typing import Any

from sqlalchemy import JSON, Connection, Table

from catalog.models import UTCDateTime

__all__ = ["RawJSON", "bulk_insert"]


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


def bulk_insert(
    conn: Connection, table: Table, rows: Sequence[dict[str, Any]], *, ignore_conflicts: bool = False
) -> None:
    """INSERT every row (dicts with a value for every column but the key) in one executemany."""
    if not rows:
        return
    columns = [c for c in table.columns if not (c.primary_key and c.name not in rows[0])]
    postgres = conn.dialect.name == "postgresql"
    holder = "%s" if postgres else "?"
    marks = [holder + ("::json" if postgres and isinstance(c.type, JSON) else "") for c in columns]
    sql = f"INSERT INTO {table.name} ({', '.join(c.name for c in columns)}) VALUES ({', '.join(marks)})"  # noqa: S608 - names from our metadata
    if ignore_conflicts:
        sql += " ON CONFLICT DO NOTHING"
    time_of = _pg_time if postgres else _sqlite_time
    times: dict[datetime, Any] = {}  # a batch shares a handful of timestamps: convert each once

    def as_json(value: Any) -> Any:
        if value is None or isinstance(value, RawJSON):
            return value
        if not value and isinstance(value, list | dict):
            return "[]" if isinstance(value, list) else "{}"  # most flags lists: skip the encoder
        return json.dumps(value)  # ASCII escapes: a lone surrogate cannot break the insert

    def as_time(value: datetime | None) -> Any:
        if value is None:
            return None
        held = times.get(value)
        if held is None:
            held = times[value] = time_of(value)
        return held

    names = [c.name for c in columns]
    get_all = itemgetter(*names)
    encoded = [(i, as_json) for i, c in enumerate(columns) if isinstance(c.type, JSON)]
    encoded += [(i, as_time) for i, c in enumerate(columns) if isinstance(c.type, UTCDateTime)]
    params = []
    for row in rows:
        values = list(get_all(row)) if len(names) > 1 else [get_all(row)]
        for i, convert in encoded:
            values[i] = convert(values[i])
        params.append(tuple(values))
    conn.exec_driver_sql(sql, params)
