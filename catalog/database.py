"""Opening a catalog database: URL checks, SQLite pragmas, clear errors, migrations on first use."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DatabaseError, NoSuchModuleError, OperationalError

from catalog.errors import DatabaseUnreachable, NotADatabase, StoreError, UnknownDatabaseURL

# Comparing against SCHEMA_REVISION spares a one-off command from loading Alembic when nothing is due.
from catalog.revision import SCHEMA_REVISION

__all__ = ["DEFAULT_URL", "SCHEMA_REVISION", "connect", "migrate"]

DEFAULT_URL = "sqlite:///catalog.db"
SUPPORTED = ("sqlite", "postgresql")


def parse_url(url: str) -> URL:
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise UnknownDatabaseURL(
            f"not a database URL: {url!r} (use sqlite:///PATH or postgresql://...)"
        ) from None
    if parsed.get_backend_name() not in SUPPORTED:
        raise UnknownDatabaseURL(
            f"unsupported database {parsed.get_backend_name()!r} in {url!r} (use sqlite:///PATH or postgresql://...)"
        )
    if parsed.get_backend_name() == "postgresql" and parsed.get_driver_name() in ("", "psycopg2"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA cache_size=-131072")  # 128 MB of pages: bulk index inserts stay in memory
    cursor.execute("PRAGMA temp_store=MEMORY")
    cursor.close()


def connect(url: str) -> Engine:
    """An engine for `url` whose first connection has succeeded, or a one-line StoreError."""
    parsed = parse_url(url)
    shown = parsed.render_as_string(hide_password=True)
    kwargs: dict[str, Any] = {}
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:":
            folder = Path(database).expanduser().resolve().parent
            if not folder.is_dir():
                raise StoreError(f"cannot open {shown}: folder {folder} does not exist")
    else:
        kwargs["connect_args"] = {"connect_timeout": 10}
        kwargs["pool_pre_ping"] = True
    try:
        engine = create_engine(parsed, **kwargs)
    except NoSuchModuleError:
        raise UnknownDatabaseURL(f"no driver for {shown}") from None
    except ModuleNotFoundError as e:
        raise UnknownDatabaseURL(
            f"no driver for {shown}: install mcpcat[postgres] ({e.name} missing)"
        ) from None
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            if parsed.get_backend_name() == "sqlite":
                conn.execute(text("SELECT count(*) FROM sqlite_master"))
    except DatabaseError as e:
        engine.dispose()
        message = str(e.orig).splitlines()[0] if e.orig else str(e)
        if "not a database" in message or "malformed" in message or "file is encrypted" in message:
            raise NotADatabase(f"{shown} is not a SQLite database ({message})") from None
        if isinstance(e, OperationalError):
            raise DatabaseUnreachable(f"cannot connect to {shown}: {message}") from None
        raise StoreError(f"cannot open {shown}: {message}") from None
    return engine


def _current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        try:
            row = conn.execute(text("SELECT version_num FROM alembic_version")).first()
        except DatabaseError:
            return None
    return row[0] if row else None


def migrate(engine: Engine) -> None:
    """Bring the schema to head with Alembic, unless it is there already."""
    if _current_revision(engine) == SCHEMA_REVISION:
        return
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", "catalog:migrations")
    try:
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
    except OperationalError as e:
        message = str(e.orig).splitlines()[0] if e.orig else str(e)
        raise StoreError(f"cannot migrate the catalog: {message}") from None
