"""The nightly job: crawl every source incrementally, classify, export, report what changed.

One run at a time: an OS file lock (`flock`) beside the SQLite database, or a PostgreSQL
session advisory lock; the kernel or the server drops either when the process dies, even by
SIGKILL, so a killed run never blocks the next one. A second run meanwhile raises NightlyBusy.

The export directory is replaced as a whole. The new set (catalog.json, catalog.jsonl,
policies/, report.json and manifest.json last) is written into a temporary folder beside it,
synced, then swapped in with one atomic `renameat2(RENAME_EXCHANGE)` (or two renames where
the file system lacks it; a run killed between them is repaired by the next). A reader sees
the old set or the new one, never a mix; a write that fails (read-only, disk full) raises
ExportError and leaves the previous set as it was. The store itself writes a batch of
servers per transaction, so a killed crawl leaves the catalog as before its unfinished work.

When nothing in the catalog changed since the export was written (same row counts, same
newest timestamps, same classifier and mcpcat versions: its fingerprint), the export is
kept as it is: an unchanged night costs the incremental crawl and a few queries.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Engine, func, select, text

from catalog import history
from catalog import models as m
from catalog.errors import CatalogError, ExportError
from catalog.store import Catalog

__all__ = [
    "MANIFEST",
    "ExportSummary",
    "NightlyBusy",
    "NightlyResult",
    "export_catalog",
    "nightly_lock",
    "run_nightly",
]

MANIFEST = "manifest.json"
EXPORT_FORMAT = "1"
_PG_LOCK_KEY = 0x6D6370636174  # "mcpcat": one advisory lock per PostgreSQL database


class NightlyBusy(CatalogError):
    """Another nightly holds the lock (exit 75, EX_TEMPFAIL: cron and systemd may retry)."""

    exit_code = 75


# ---------------------------------------------------------------------- the lock


def _sqlite_path(engine: Engine) -> Path | None:
    if engine.dialect.name != "sqlite":
        return None
    database = engine.url.database or ""
    return None if not database or database == ":memory:" else Path(database).expanduser().resolve()


@contextlib.contextmanager
def nightly_lock(engine: Engine, export_dir: Path) -> Iterator[str]:
    """Hold the nightly lock of this catalog (yields where it is), or raise NightlyBusy."""
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            if not conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": _PG_LOCK_KEY}).scalar():
                raise NightlyBusy("another mcpcat nightly is running on this database (advisory lock held)")
            try:
                yield f"pg_advisory_lock({_PG_LOCK_KEY})"
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _PG_LOCK_KEY})
                conn.commit()
        return
    db = _sqlite_path(engine)
    path = (
        db.with_name(db.name + ".nightly.lock")
        if db is not None
        else export_dir.parent / f".{export_dir.name}.nightly.lock"
    )
    with _file_lock(path):
        yield str(path)


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    import fcntl

    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as e:
        raise CatalogError(f"cannot open the lock file {path}: {e.strerror or e}") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "?"
            raise NightlyBusy(f"another mcpcat nightly is running (pid {holder}, lock {path})") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)  # never unlinked: a waiter could lock a file that is no longer the lock


# ---------------------------------------------------------------------- the export


@dataclass
class ExportSummary:
    path: str
    written: bool
    servers: int = 0
    policies: int = 0
    seconds: float = 0.0
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "seconds": round(self.seconds, 2)}


def fingerprint(catalog: Catalog) -> str:
    """A digest of everything an export depends on: counts and newest times of every table,
    the running classifier and the installed mcpcat. Equal digests, equal exports."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        installed = version("mcpcat")
    except PackageNotFoundError:
        installed = "?"
    parts: list[Any] = [EXPORT_FORMAT, catalog.classifier_version, installed]
    probes = [
        (m.Server, ("last_seen",)),
        (m.Listing, ("last_seen",)),
        (m.Package, ()),
        (m.Remote, ()),
        (m.Tool, ("last_seen", "removed_at")),
        (m.ToolVersion, ("last_seen",)),
        (m.Classification, ("created_at",)),
        (m.Override, ("created_at",)),
    ]
    with catalog.engine.connect() as conn:
        for model, times in probes:
            table = model.__table__
            columns = [func.count(), func.max(table.c.id), *(func.max(table.c[t]) for t in times)]
            parts.append([str(v) for v in conn.execute(select(*columns)).one()])
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()


def read_manifest(export_dir: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((export_dir / MANIFEST).read_text("utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _fail(export_dir: Path, e: OSError) -> ExportError:
    what = e.strerror or str(e)
    where = f" ({e.filename})" if e.filename else ""
    return ExportError(f"cannot write the export {export_dir}: {what}{where}; the previous export is intact")


def _prepare(export_dir: Path) -> None:
    """Check the target, clear what a killed run left beside it, undo a half-done swap."""
    parent = export_dir.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise _fail(export_dir, e) from None
    if export_dir.exists() and not export_dir.is_dir():
        raise ExportError(f"cannot write the export {export_dir}: it exists and is not a folder")
    if export_dir.is_dir() and any(export_dir.iterdir()) and read_manifest(export_dir) is None:
        raise ExportError(
            f"{export_dir} is not an mcpcat export (no {MANIFEST}) and is not empty: "
            "choose a new or empty folder, it is replaced as a whole"
        )
    olds = sorted(parent.glob(f".{export_dir.name}.old-*"))
    if not export_dir.exists() and olds:
        with contextlib.suppress(OSError):  # killed between the two renames of the fallback swap
            os.rename(olds[-1], export_dir)
    for leftover in [*parent.glob(f".{export_dir.name}.new-*"), *parent.glob(f".{export_dir.name}.old-*")]:
        shutil.rmtree(leftover, ignore_errors=True)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically (Linux renameat2 RENAME_EXCHANGE); False if unsupported."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False
    raise OSError(code, os.strerror(code), str(b))


def _swap_in(new: Path, target: Path) -> None:
    if not target.exists():
        os.rename(new, target)
    elif _exchange(new, target):
        shutil.rmtree(new, ignore_errors=True)  # it holds the previous export now
    else:
        old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
        os.rename(target, old)  # replaces the empty folder just made
        os.rename(new, target)
        shutil.rmtree(old, ignore_errors=True)
    _sync_dir(target.parent)


def _sync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _syncfs(folder: Path) -> None:
    """Flush the file system holding `folder` once, rather than fsync per file (50,000 files)."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if getattr(libc, "syncfs", None) is None or libc.syncfs(fd) != 0:
            os.sync()
    finally:
        os.close(fd)


def _dump(path: Path, document: Any) -> None:
    with path.open("w", encoding="utf-8") as out:
        json.dump(document, out, indent=2, ensure_ascii=False)
        out.write("\n")


def _write_policies(jsonl: Path, folder: Path, previous: Path | None) -> int:
    """One gateway policy per server. A policy equal to the previous export's is hard-linked
    rather than written: no new blocks, and deleting the old set frees none (on ext4 mounted
    with `discard` every freed file costs milliseconds: 50,000 of them, minutes)."""
    from catalog.export import gateway_policy, policy_file_name

    folder.mkdir()
    used: set[str] = set()
    count = 0
    with jsonl.open("r", encoding="utf-8") as lines:
        for line in lines:
            server = json.loads(line)
            name = policy_file_name(server["key"])
            if name in used:  # two keys that differ only in unsafe characters
                name = name[:-5] + "." + hashlib.sha256(server["key"].encode()).hexdigest()[:8] + ".json"
            used.add(name)
            data = (json.dumps(gateway_policy(server), indent=2, ensure_ascii=False) + "\n").encode()
            count += 1
            if previous is not None and _same(previous / name, data):
                with contextlib.suppress(OSError):
                    os.link(previous / name, folder / name)
                    continue
            (folder / name).write_bytes(data)
    return count


def _same(path: Path, data: bytes) -> bool:
    try:
        with path.open("rb") as handle:
            return handle.read(len(data) + 1) == data
    except OSError:
        return False


def export_catalog(
    catalog: Catalog,
    export_dir: Path,
    *,
    report: dict[str, Any] | None = None,
    run_id: int | None = None,
    force: bool = False,
    on_written: Callable[[Path], None] | None = None,
) -> ExportSummary:
    """Replace `export_dir` with a complete new export, unless its fingerprint says the catalog
    has not changed since (`force` writes anyway). ExportError if it cannot be written."""
    from catalog.export import write_json, write_jsonl

    started = time.monotonic()
    export_dir = export_dir.absolute()
    _prepare(export_dir)
    digest = fingerprint(catalog)
    previous = read_manifest(export_dir)
    if not force and previous is not None and previous.get("fingerprint") == digest:
        return ExportSummary(
            str(export_dir),
            False,
            servers=int(previous.get("servers", 0)),
            policies=int(previous.get("policies", 0)),
            seconds=time.monotonic() - started,
            note="catalog unchanged since the last export: kept",
        )
    try:
        new = Path(tempfile.mkdtemp(prefix=f".{export_dir.name}.new-", dir=export_dir.parent))
    except OSError as e:
        raise _fail(export_dir, e) from None
    try:
        with (new / "catalog.jsonl").open("w", encoding="utf-8") as out:
            servers = write_jsonl(catalog, out)
        with (
            (new / "catalog.jsonl").open(encoding="utf-8") as lines,
            (new / "catalog.json").open("w", encoding="utf-8") as out2,
        ):
            write_json(catalog, out2, lines=lines)
        old_policies = export_dir / "policies" if previous is not None else None
        policies = _write_policies(new / "catalog.jsonl", new / "policies", old_policies)
        if report is not None:
            _dump(new / "report.json", report)
        manifest = {
            "export_format": EXPORT_FORMAT,
            "generated_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            "run_id": run_id,
            "classifier_version": catalog.classifier_version,
            "fingerprint": digest,
            "servers": servers,
            "policies": policies,
            "files": ["catalog.json", "catalog.jsonl", "policies/", *(["report.json"] if report else [])],
        }
        _dump(new / MANIFEST, manifest)
        _syncfs(new)
        if on_written is not None:
            on_written(new)
        _swap_in(new, export_dir)
    except OSError as e:
        raise _fail(export_dir, e) from None
    finally:
        if new.exists():
            shutil.rmtree(new, ignore_errors=True)
    return ExportSummary(str(export_dir), True, servers, policies, time.monotonic() - started)


# ---------------------------------------------------------------------- the job


@dataclass
class NightlyResult:
    run_id: int | None
    status: str
    crawl: dict[str, Any]
    classified: int
    export: ExportSummary
    diff: history.Diff
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        """1 when a source failed (the rest is stored and exported all the same)."""
        failed = any(s.get("status") == "failed" for s in self.crawl.get("sources", []))
        return 1 if failed or self.errors else 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "status": self.status,
            "seconds": round(self.seconds, 2),
            "crawl": self.crawl,
            "classified": self.classified,
            "export": self.export.as_dict(),
            "errors": self.errors,
            "diff": self.diff.as_dict(),
        }


def _classified_by_run(engine: Engine, run_id: int | None) -> int:
    runs = m.CrawlRun.__table__
    with engine.connect() as conn:
        counts = conn.execute(select(runs.c.counts).where(runs.c.id == run_id)).scalar()
    return int((counts or {}).get("classified") or 0)


def format_result(result: NightlyResult) -> str:
    """The nightly report as text: one line per source, the export, then the diff."""
    lines = [f"nightly run {result.run_id}: {result.status} in {result.seconds:.1f} s"]
    for s in result.crawl.get("sources", []):
        note = f" ({history.printable(s['note'])})" if s.get("note") else ""
        lines.append(
            f"  {s['source']:<10} {s['status']:<8} servers {s['servers']}, tools {s['tools']},"
            f" errors {s['errors']}{note}"
        )
    e = result.export
    state = "written" if e.written else e.note
    lines.append(f"  classified {result.classified} new definitions")
    lines.append(f"  export {e.path}: {state} ({e.servers} servers, {e.policies} policies)")
    lines.extend(f"  error: {err}" for err in result.errors)
    lines.append("")
    lines.append(history.format_diff(result.diff))
    return "\n".join(lines)


def run_nightly(
    db_url: str,
    export_dir: Path,
    *,
    sources: Sequence[str] = (),
    base_urls: dict[str, str] | None = None,
    settings: dict[str, str] | None = None,
    crawl: Callable[..., Any] | None = None,
    log: IO[str] | None = None,
) -> NightlyResult:
    """One nightly run (see the module docstring). `crawl` is crawler.run.run_crawl unless a
    test hands another; it runs once per process (Twisted's reactor cannot restart)."""
    started = time.monotonic()
    export_dir = Path(export_dir)
    with Catalog(db_url) as catalog, nightly_lock(catalog.engine, export_dir.absolute()):
        _prepare(export_dir.absolute())  # an unwritable target fails before hours of crawling
        last = history.latest_finished_run(catalog.engine)
        runner = crawl
        if runner is None:
            from crawler.run import run_crawl

            runner = run_crawl
        result = runner(
            list(sources),
            db_url=db_url,
            base_urls=dict(base_urls or {}),
            overrides=dict(settings or {}),
        )
        errors: list[str] = []
        try:  # run_crawl classified what it stored; this picks up what a killed run left
            classified = catalog.classify_pending()
        except Exception as exc:  # the classifier is another package: report, still export
            classified = 0
            errors.append(f"classification failed: {type(exc).__name__}: {exc}")
        classified += _classified_by_run(catalog.engine, result.run_id)
        cut, since_run = (last[0], last[1]) if last else (datetime(1970, 1, 1, tzinfo=UTC), None)
        diff = history.changes_since(
            catalog.engine, cut, since_run=since_run, classifier_version=catalog.classifier_version
        )
        summary = export_catalog(catalog, export_dir, report=diff.as_dict(), run_id=result.run_id)
    return NightlyResult(
        result.run_id,
        result.status,
        result.as_dict(),
        classified,
        summary,
        diff,
        seconds=time.monotonic() - started,
        errors=errors,
    )
