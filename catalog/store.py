"""The catalog store: one engine per URL, idempotent upserts with history, runs, overrides.

Writes go through SQLAlchemy Core on the mapped tables, a batch of servers per transaction
(several batches for a bulk import, see `Loader`): a killed process leaves each server either
fully stored or not at all, and a million tools import in minutes rather than hours.
Reading (show, stats, export) is in `catalog.queries`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

from sqlalchemy import Connection, Engine, and_, bindparam, delete, insert, select, tuple_, update

from catalog import models as m
from catalog import queries
from catalog.bulk import RawJSON, Values, bulk_insert, insert_rows
from catalog.database import DEFAULT_URL, connect, migrate
from catalog.errors import InvalidRecord, NotFound
from catalog.records import ServerRecord, ToolRecord, canonical_json, hash_of_parts

__all__ = ["LABELS", "Catalog", "Loader", "UpsertStats", "utcnow"]

LABELS = ("Read", "Write", "Destructive")
# WAL pages (about 400 MB) a bulk load's connection writes before it checkpoints them.
LOAD_WAL_PAGES = 100_000
SERVER_FIELDS = ("name", "title", "description", "repository_url", "homepage", "language")
TOOL_FIELDS = ("title", "description", "input_schema", "output_schema", "annotations")

# One classifier call over many tools: (name, description, input_schema, annotations) -> dicts
# with label, confidence, rationale, flags. Injected so that the store never imports a model.
Classify = Callable[[Sequence[ToolRecord]], list[dict[str, Any]]]


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(slots=True)
class UpsertStats:
    servers_added: int = 0
    servers_updated: int = 0
    tools_added: int = 0
    tools_changed: int = 0
    tools_removed: int = 0

    def add(self, other: UpsertStats) -> None:
        for name in self.__slots__:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _passes(records: Iterable[ServerRecord]) -> list[list[ServerRecord]]:
    """Split a batch so that no pass holds a key twice; later records are applied later."""
    passes: list[list[ServerRecord]] = []
    seen: dict[str, int] = {}
    for record in records:
        index = seen.get(record.key, -1) + 1
        seen[record.key] = index
        if index == len(passes):
            passes.append([])
        passes[index].append(record)
    return passes


def check_label(label: str) -> str:
    for known in LABELS:
        if label.lower() == known.lower():
            return known
    raise InvalidRecord(f"unknown class {label!r} (use Read, Write or Destructive)")


class Catalog:
    """A catalog database. `Catalog(url)` connects, migrates to head and is ready to use."""

    def __init__(self, url: str | None = None) -> None:
        self.url = url or DEFAULT_URL
        self.engine = connect(self.url)
        migrate(self.engine)

    def close(self) -> None:
        self.engine.dispose()

    @property
    def classifier_version(self) -> str | None:
        """The running classifier's version: its classifications are the ones shown first."""
        from catalog.classifying import classifier_version

        return classifier_version()

    # ------------------------------------------------------------------ reading (catalog.queries)

    def server(self, key: str) -> dict[str, Any]:
        return queries.server_detail(self.engine, key, self.classifier_version)

    def iter_servers(self, *, server_key: str | None = None) -> Iterator[dict[str, Any]]:
        return queries.iter_servers(self.engine, self.classifier_version, server_key=server_key)

    def iter_server_lines(self, *, server_key: str | None = None) -> Iterator[str]:
        """The same servers as JSON text, one line each: the fast path for exports."""
        return queries.iter_server_lines(self.engine, self.classifier_version, server_key=server_key)

    def stats(self) -> dict[str, Any]:
        return queries.stats(self.engine, self.classifier_version)

    def find_tools(self, query: str, *, limit: int = 100) -> list[dict[str, Any]]:
        return queries.find_tools(self.engine, query, self.classifier_version, limit=limit)

    def tools_named(self, name: str) -> list[dict[str, Any]]:
        return queries.tools_named(self.engine, name, self.classifier_version)

    def __enter__(self) -> Catalog:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ servers and tools

    def upsert_servers(
        self, records: Iterable[ServerRecord], *, seen_at: datetime | None = None
    ) -> UpsertStats:
        """Store a batch of servers in one transaction. Storing the same data twice changes
        nothing but last-seen times; a changed tool definition keeps the old one as a version."""
        with self.engine.begin() as conn:
            return _upsert_batch(conn, records, seen_at or utcnow())

    def loader(self) -> Loader:
        """Batches upserted into one transaction until `Loader.commit`: for bulk imports."""
        return Loader(self.engine)

    def classify_pending(
        self,
        classify: Classify | None = None,
        version: str | None = None,
        *,
        hashes: Iterable[str] | None = None,
    ) -> int:
        """Classify every current tool definition that has no classification of `version`
        (default: the installed classifier), or only those among `hashes`. Returns how many."""
        if classify is None or version is None:
            from catalog.classifying import classifier_version, classify_records

            classify, version = classify_records, classifier_version()
            if version is None:
                return 0
        tools, known = m.Tool.__table__, m.Classification.__table__
        query = (
            select(
                tools.c.definition_hash,
                tools.c.name,
                tools.c.description,
                tools.c.input_schema,
                tools.c.annotations,
            )
            .where(tools.c.removed_at.is_(None))
            .where(
                ~select(known.c.id)
                .where(
                    known.c.definition_hash == tools.c.definition_hash, known.c.classifier_version == version
                )
                .exists()
            )
        )
        selections = (
            [query]
            if hashes is None
            else [
                query.where(tools.c.definition_hash.in_(chunk))
                for chunk in _chunks(sorted(set(hashes)), 5000)
            ]
        )
        pending: dict[str, ToolRecord] = {}
        with self.engine.connect() as reader:
            for selection in selections:
                for row in reader.execute(selection):
                    pending.setdefault(
                        row.definition_hash,
                        ToolRecord(
                            name=row.name,
                            description=row.description,
                            input_schema=row.input_schema,
                            annotations=row.annotations,
                        ),
                    )
        done = 0
        for chunk in _chunks(list(pending.items()), 5000):
            results = classify([record for _, record in chunk])
            now = utcnow()
            rows = [
                {
                    "definition_hash": h,
                    "classifier_version": version,
                    "label": r["label"],
                    "confidence": float(r["confidence"]),
                    "rationale": list(r["rationale"]),
                    "flags": list(r.get("flags") or []),
                    "created_at": now,
                }
                for (h, _), r in zip(chunk, results, strict=True)
            ]
            with self.engine.begin() as conn:
                bulk_insert(conn, known, rows, ignore_conflicts=True)
            done += len(rows)
        return done

    def package_identifiers(self, registry_type: str) -> list[str]:
        """Every stored package identifier of one registry (e.g. the PyPI names to crawl)."""
        packages = m.Package.__table__
        with self.engine.connect() as conn:
            return list(
                conn.execute(
                    select(packages.c.identifier)
                    .where(packages.c.registry_type == registry_type)
                    .distinct()
                    .order_by(packages.c.identifier)
                ).scalars()
            )

    def tool_origins(self, keys: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
        """The origins of each server's current tools, by server key."""
        tools, servers = m.Tool.__table__, m.Server.__table__
        out: dict[str, list[dict[str, Any]]] = {}
        with self.engine.connect() as conn:
            for chunk in _chunks(list(keys), 500):
                query = (
                    select(servers.c.key, tools.c.origin)
                    .join(servers, servers.c.id == tools.c.server_id)
                    .where(servers.c.key.in_(chunk), tools.c.removed_at.is_(None))
                )
                for key, origin in conn.execute(query):
                    if isinstance(origin, dict):
                        out.setdefault(key, []).append(origin)
        return out

    # ------------------------------------------------------------------ overrides

    def set_override(self, server_key: str, tool_name: str, label: str, reason: str) -> None:
        label = check_label(label)
        if not reason.strip():
            raise InvalidRecord("an override needs a --reason")
        overrides = m.Override.__table__
        with self.engine.begin() as conn:
            if _server_id(conn, server_key) is None:
                raise NotFound(f"no server {server_key!r} in the catalog")
            conn.execute(
                delete(overrides).where(
                    overrides.c.server_key == server_key, overrides.c.tool_name == tool_name
                )
            )
            conn.execute(
                insert(overrides).values(
                    server_key=server_key,
                    tool_name=tool_name,
                    label=label,
                    reason=reason.strip(),
                    created_at=utcnow(),
                )
            )

    def remove_override(self, server_key: str, tool_name: str) -> None:
        overrides = m.Override.__table__
        with self.engine.begin() as conn:
            result = conn.execute(
                delete(overrides).where(
                    overrides.c.server_key == server_key, overrides.c.tool_name == tool_name
                )
            )
            if not result.rowcount:
                raise NotFound(f"no override for {tool_name!r} of {server_key!r}")

    # ------------------------------------------------------------------ crawl runs

    def start_run(self, sources: list[str]) -> int:
        runs = m.CrawlRun.__table__
        with self.engine.begin() as conn:
            result = conn.execute(
                insert(runs).values(
                    started_at=utcnow(), status="running", sources=list(sources), counts={}, errors=[]
                )
            )
            return int(result.inserted_primary_key[0])  # type: ignore[index]

    def finish_run(self, run_id: int, *, status: str, counts: dict[str, Any], errors: list[Any]) -> None:
        runs = m.CrawlRun.__table__
        with self.engine.begin() as conn:
            conn.execute(
                update(runs)
                .where(runs.c.id == run_id)
                .values(finished_at=utcnow(), status=status, counts=counts, errors=errors)
            )

    def last_successful_run(self, source: str) -> datetime | None:
        """Start of the newest finished run in which `source` completed (for updated_since)."""
        runs = m.CrawlRun.__table__
        query = (
            select(runs.c.started_at, runs.c.sources, runs.c.counts, runs.c.status)
            .where(runs.c.finished_at.is_not(None))
            .order_by(runs.c.started_at.desc())
        )
        with self.engine.connect() as conn:
            for row in conn.execute(query):
                if source not in (row.sources or []):
                    continue
                completed = (row.counts or {}).get("completed_sources")
                if row.status == "complete" or (completed and source in completed):
                    return row.started_at  # type: ignore[no-any-return]
        return None


class Loader:
    """Upserts batch after batch of servers into one open transaction until `commit`.

    A bulk import commits every hundred thousand tools or so instead of every batch: on
    SQLite each commit writes every page it touched to the WAL, and the random-order indexes
    (tool names, definition hashes) touch a page per row, so small commits write the same
    index pages over and over. For the same reason the loader's connection lets the WAL grow
    to `LOAD_WAL_PAGES` before checkpointing it into the database. Servers are still stored
    whole or not at all: an upsert that fails rolls the open transaction back (with the
    batches not yet committed) and leaves the loader `broken`.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._conn: Connection | None = None
        self._checkpoint_pages: int | None = None  # the connection's own setting, restored on close
        self.pending_tools = 0  # tools upserted since the last commit
        self.broken = False

    def upsert(self, records: Sequence[ServerRecord], *, seen_at: datetime | None = None) -> UpsertStats:
        if self.broken:
            raise RuntimeError("this loader rolled back after a failed upsert")
        conn = self._connection()
        try:
            stats = _upsert_batch(conn, records, seen_at or utcnow())
        except BaseException:
            self.broken = True
            self.rollback()
            raise
        self.pending_tools += sum(len(r.tools) for r in records)
        return stats

    def commit(self) -> None:
        """Make every upsert so far durable and visible to other connections."""
        if self._conn is None or not self._conn.in_transaction():
            return
        try:
            self._conn.commit()
        except BaseException:
            self.broken = True
            self.close()
            raise
        self.pending_tools = 0

    def rollback(self) -> None:
        if self._conn is not None:
            self._conn.rollback()
        self.pending_tools = 0

    def close(self) -> None:
        """Roll back what is not committed and give the connection back."""
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            conn.rollback()
            if self._checkpoint_pages is not None:
                conn.exec_driver_sql(f"PRAGMA wal_autocheckpoint={self._checkpoint_pages:d}")
        finally:
            conn.close()

    def _connection(self) -> Connection:
        if self._conn is None:
            self._conn = self._engine.connect()
            if self._conn.dialect.name == "sqlite":
                pragma = "PRAGMA wal_autocheckpoint"
                self._checkpoint_pages = int(self._conn.exec_driver_sql(pragma).scalar_one())
                self._conn.exec_driver_sql(f"{pragma}={LOAD_WAL_PAGES:d}")
                self._conn.commit()
        return self._conn

    def __enter__(self) -> Loader:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, _value: BaseException | None, _tb: TracebackType | None
    ) -> None:
        if kind is None and not self.broken:
            self.commit()
        self.close()


# ---------------------------------------------------------------------- upsert internals


def _upsert_batch(conn: Connection, records: Iterable[ServerRecord], now: datetime) -> UpsertStats:
    stats = UpsertStats()
    for batch in _passes(records):
        stats.add(_upsert_pass(conn, batch, now))
    return stats


def _server_id(conn: Connection, key: str) -> int | None:
    return conn.execute(select(m.Server.id).where(m.Server.key == key)).scalar()


def _upsert_pass(conn: Connection, records: list[ServerRecord], now: datetime) -> UpsertStats:
    stats = UpsertStats()
    ids = _upsert_server_rows(conn, records, now, stats)
    _upsert_listings(conn, records, ids, now)
    _upsert_children(conn, records, ids)
    _upsert_tools(conn, records, ids, now, stats)
    return stats


def _upsert_server_rows(
    conn: Connection, records: list[ServerRecord], now: datetime, stats: UpsertStats
) -> dict[str, int]:
    servers = m.Server.__table__
    keys = [r.key for r in records]
    existing = {row.key: row for row in conn.execute(select(servers).where(servers.c.key.in_(keys)))}
    new_rows, changed_rows = [], []
    for record in records:
        row = existing.get(record.key)
        incoming = {f: getattr(record, f) for f in SERVER_FIELDS}
        if row is None:
            new_rows.append({"key": record.key, **incoming, "first_seen": now, "last_seen": now})
            continue
        merged = {f: (incoming[f] if incoming[f] is not None else getattr(row, f)) for f in SERVER_FIELDS}
        if any(merged[f] != getattr(row, f) for f in SERVER_FIELDS):
            changed_rows.append({"b_id": row.id, **merged})
    ids = {key: row.id for key, row in existing.items()}
    if new_rows:
        # one executemany, then the new ids by key: RETURNING in parameter order would cost
        # SQLite one statement per server
        bulk_insert(conn, servers, new_rows)
        added = select(servers.c.key, servers.c.id).where(servers.c.key.in_([r["key"] for r in new_rows]))
        ids.update({key: sid for key, sid in conn.execute(added)})
        stats.servers_added += len(new_rows)
    if changed_rows:
        conn.execute(update(servers).where(servers.c.id == bindparam("b_id")), changed_rows)
        stats.servers_updated += len(changed_rows)
    if existing:
        conn.execute(
            update(servers).where(servers.c.id.in_([r.id for r in existing.values()])).values(last_seen=now)
        )
    return ids


def _upsert_listings(
    conn: Connection, records: list[ServerRecord], ids: dict[str, int], now: datetime
) -> None:
    listings = m.Listing.__table__
    wanted = {(ids[r.key], lst.source, lst.source_id): lst for r in records for lst in r.listings}
    if not wanted:
        return
    found = {
        (row.server_id, row.source, row.source_id): row
        for row in conn.execute(
            select(
                listings.c.id,
                listings.c.server_id,
                listings.c.source,
                listings.c.source_id,
                listings.c.url,
                listings.c.raw,
            ).where(listings.c.server_id.in_({k[0] for k in wanted}))
        )
    }
    new, seen = [], []
    for key, lst in wanted.items():
        row = found.get(key)
        if row is None:
            new.append(
                {
                    "server_id": key[0],
                    "source": key[1],
                    "source_id": key[2],
                    "url": lst.url,
                    "raw": lst.raw,
                    "first_seen": now,
                    "last_seen": now,
                }
            )
        else:
            seen.append(
                {
                    "b_id": row.id,
                    "url": lst.url if lst.url is not None else row.url,
                    "raw": lst.raw if lst.raw is not None else row.raw,
                    "last_seen": now,
                }
            )
    if new:
        conn.execute(insert(listings), new)
    if seen:
        conn.execute(update(listings).where(listings.c.id == bindparam("b_id")), seen)


def _upsert_children(conn: Connection, records: list[ServerRecord], ids: dict[str, int]) -> None:
    """Packages and remotes: a union of what every source said, newer details winning."""
    packages, remotes = m.Package.__table__, m.Remote.__table__
    want_pkg = {(ids[r.key], p.registry_type, p.identifier): p for r in records for p in r.packages}
    want_rem = {(ids[r.key], x.url): x for r in records for x in r.remotes}
    if want_pkg:
        found = {
            (row.server_id, row.registry_type, row.identifier): row
            for row in conn.execute(
                select(packages).where(packages.c.server_id.in_({k[0] for k in want_pkg}))
            )
        }
        new, changed = [], []
        for key, p in want_pkg.items():
            row = found.get(key)
            if row is None:
                new.append(
                    {
                        "server_id": key[0],
                        "registry_type": key[1],
                        "identifier": key[2],
                        "version": p.version,
                        "transport": p.transport,
                    }
                )
            elif (p.version or row.version, p.transport or row.transport) != (row.version, row.transport):
                changed.append(
                    {
                        "b_id": row.id,
                        "version": p.version or row.version,
                        "transport": p.transport or row.transport,
                    }
                )
        if new:
            conn.execute(insert(packages), new)
        if changed:
            conn.execute(update(packages).where(packages.c.id == bindparam("b_id")), changed)
    if want_rem:
        found_rem = {
            (row.server_id, row.url): row
            for row in conn.execute(select(remotes).where(remotes.c.server_id.in_({k[0] for k in want_rem})))
        }
        new_rem = [
            {"server_id": k[0], "url": k[1], "transport": x.transport}
            for k, x in want_rem.items()
            if k not in found_rem
        ]
        moved = [
            {"b_id": found_rem[k].id, "transport": x.transport}
            for k, x in want_rem.items()
            if k in found_rem and found_rem[k].transport != x.transport
        ]
        if new_rem:
            conn.execute(insert(remotes), new_rem)
        if moved:
            conn.execute(update(remotes).where(remotes.c.id == bindparam("b_id")), moved)


def _tool_values(tool: ToolRecord) -> dict[str, Any]:
    return {f: getattr(tool, f) for f in TOOL_FIELDS}


def _definition(tool: ToolRecord) -> tuple[str, RawJSON | None, RawJSON | None]:
    """(definition hash, schema text, annotations text): schema and annotations serialised
    once, for the hash and for both rows (tools and tool_versions) that store them."""
    schema = None if tool.input_schema is None else RawJSON(canonical_json(tool.input_schema))
    notes = None if tool.annotations is None else RawJSON(canonical_json(tool.annotations))
    return hash_of_parts(tool.name, tool.description, schema or "{}", notes or "{}"), schema, notes


# The columns of a new tool, in the order `_upsert_tools` builds their tuples.
NEW_TOOL_COLUMNS = (
    "server_id",
    "name",
    "title",
    "description",
    "input_schema",
    "output_schema",
    "annotations",
    "origin",
    "definition_hash",
    "first_seen",
    "last_seen",
)


def _upsert_tools(
    conn: Connection, records: list[ServerRecord], ids: dict[str, int], now: datetime, stats: UpsertStats
) -> None:
    tools, versions = m.Tool.__table__, m.ToolVersion.__table__
    server_ids = [ids[r.key] for r in records if r.tools or r.tools_complete]
    if not server_ids:
        return
    stored = {
        (row.server_id, row.name): row
        for row in conn.execute(
            select(
                tools.c.id,
                tools.c.server_id,
                tools.c.name,
                tools.c.definition_hash,
                tools.c.removed_at,
                tools.c.title,
                tools.c.output_schema,
                tools.c.origin,
            ).where(tools.c.server_id.in_(server_ids))
        )
    }
    values = Values(conn)
    stamp = values.time(now)
    as_json = values.json
    new_tools: list[tuple[Any, ...]] = []
    new_server_ids: set[int] = set()
    seen_ids: list[int] = []
    refreshed: list[dict[str, Any]] = []  # same definition, other title/output schema/origin or back again
    changed: list[dict[str, Any]] = []
    changed_versions: list[tuple[int, str, ToolRecord]] = []
    present: set[tuple[int, str]] = set()
    carried: list[tuple[str, dict[str, Any]]] = []
    overrides: list[tuple[str, str, dict[str, Any]]] = []
    for record in records:
        sid = ids[record.key]
        for tool in record.tools:
            if tool.override is not None:
                overrides.append((record.key, tool.name, tool.override))
            key = (sid, tool.name)
            present.add(key)
            digest, schema, notes = _definition(tool)
            if tool.classification is not None:
                carried.append((digest, tool.classification))
            row = stored.get(key)
            if row is None:
                new_server_ids.add(sid)
                new_tools.append(
                    (
                        sid,
                        tool.name,
                        tool.title,
                        tool.description,
                        schema,
                        as_json(tool.output_schema),
                        notes,
                        as_json(tool.origin),
                        digest,
                        stamp,
                        stamp,
                    )
                )
            elif row.definition_hash == digest:
                seen_ids.append(row.id)
                origin = tool.origin if tool.origin is not None else row.origin
                if (
                    row.removed_at is not None
                    or row.title != tool.title
                    or row.output_schema != tool.output_schema
                    or row.origin != origin
                ):
                    refreshed.append(
                        {
                            "b_id": row.id,
                            "title": tool.title,
                            "output_schema": tool.output_schema,
                            "origin": origin,
                            "removed_at": None,
                        }
                    )
            else:
                changed.append(
                    {
                        "b_id": row.id,
                        **_tool_values(tool),
                        "origin": tool.origin if tool.origin is not None else row.origin,
                        "definition_hash": digest,
                        "last_seen": now,
                        "removed_at": None,
                    }
                )
                changed_versions.append((row.id, digest, tool))
    gone = [
        row.id
        for key, row in stored.items()
        if key not in present
        and row.removed_at is None
        and any(r.tools_complete and ids[r.key] == key[0] for r in records)
    ]

    if new_tools:
        insert_rows(conn, tools, NEW_TOOL_COLUMNS, new_tools)
        # Their first version is copied by the database itself: no second trip through Python.
        fields = ["definition_hash", *TOOL_FIELDS, "first_seen", "last_seen"]
        fresh = select(tools.c.id, *(tools.c[f] for f in fields)).where(
            tools.c.server_id.in_(new_server_ids),
            ~select(versions.c.id).where(versions.c.tool_id == tools.c.id).exists(),
        )
        conn.execute(insert(versions).from_select(["tool_id", *fields], fresh))
        stats.tools_added += len(new_tools)
    if seen_ids:
        for chunk in _chunks(seen_ids, 5000):
            conn.execute(update(tools).where(tools.c.id.in_(chunk)).values(last_seen=now))
            conn.execute(
                update(versions)
                .where(
                    versions.c.tool_id.in_(chunk),
                    versions.c.definition_hash
                    == select(tools.c.definition_hash)
                    .where(tools.c.id == versions.c.tool_id)
                    .scalar_subquery(),
                )
                .values(last_seen=now)
            )
    if refreshed:
        conn.execute(update(tools).where(tools.c.id == bindparam("b_id")), refreshed)
    if changed:
        _store_changed(conn, changed, changed_versions, now)
        stats.tools_changed += len(changed)
    if gone:
        conn.execute(update(tools).where(tools.c.id.in_(gone)).values(removed_at=now))
        stats.tools_removed += len(gone)
    if carried:
        _store_carried_classifications(conn, carried, now)
    if overrides:
        _store_carried_overrides(conn, overrides, now)


def _store_changed(
    conn: Connection,
    changed: list[dict[str, Any]],
    changed_versions: list[tuple[int, str, ToolRecord]],
    now: datetime,
) -> None:
    tools, versions = m.Tool.__table__, m.ToolVersion.__table__
    conn.execute(update(tools).where(tools.c.id == bindparam("b_id")), changed)
    pairs = [(tid, digest) for tid, digest, _ in changed_versions]
    known = {
        (row.tool_id, row.definition_hash)
        for row in conn.execute(
            select(versions.c.tool_id, versions.c.definition_hash).where(
                tuple_(versions.c.tool_id, versions.c.definition_hash).in_(pairs)
            )
        )
    }
    fresh = [
        {"tool_id": tid, "definition_hash": digest, **_tool_values(tool), "first_seen": now, "last_seen": now}
        for tid, digest, tool in changed_versions
        if (tid, digest) not in known
    ]
    back = [
        {"b_tool": tid, "b_hash": digest, "last_seen": now}
        for tid, digest, _ in changed_versions
        if (tid, digest) in known
    ]
    if fresh:
        conn.execute(insert(versions), fresh)
    if back:
        conn.execute(
            update(versions).where(
                and_(
                    versions.c.tool_id == bindparam("b_tool"),
                    versions.c.definition_hash == bindparam("b_hash"),
                )
            ),
            back,
        )


CLASSIFICATION_COLUMNS = (
    "definition_hash",
    "classifier_version",
    "label",
    "confidence",
    "rationale",
    "flags",
    "created_at",
)


def _store_carried_overrides(
    conn: Connection, carried: list[tuple[str, str, dict[str, Any]]], now: datetime
) -> None:
    """An import line's override replaces the stored one for that tool."""
    table = m.Override.__table__
    for server_key, tool_name, override in carried:
        label = check_label(str(override.get("label", "")))
        reason = str(override.get("reason") or "").strip() or "imported override"
        conn.execute(delete(table).where(table.c.server_key == server_key, table.c.tool_name == tool_name))
        conn.execute(
            insert(table).values(
                server_key=server_key, tool_name=tool_name, label=label, reason=reason, created_at=now
            )
        )


def _store_carried_classifications(
    conn: Connection, carried: list[tuple[str, dict[str, Any]]], now: datetime
) -> None:
    """Keep classifications an import line carried, unless the same (hash, version) is stored."""
    values = Values(conn)
    stamp, as_json = values.time(now), values.json
    rows: dict[tuple[str, str], tuple[Any, ...]] = {}
    for digest, c in carried:
        version, label = c.get("classifier_version"), c.get("label")
        if c.get("source") == "override" or not isinstance(version, str) or label not in LABELS:
            continue
        rows[(digest, version)] = (
            digest,
            version,
            label,
            float(c.get("confidence") or 0.0),
            as_json(list(c.get("rationale") or [])),
            as_json(list(c.get("flags") or [])),
            stamp,
        )
    insert_rows(
        conn, m.Classification.__table__, CLASSIFICATION_COLUMNS, list(rows.values()), ignore_conflicts=True
    )
