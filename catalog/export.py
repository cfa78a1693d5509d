"""Import and export: JSON Lines in, JSON / JSON Lines / gateway policies out.

A JSONL line is one server in the shape `catalog.queries` builds; `import` reads the same
shape back, so export -> import round-trips the current catalog (tool history stays in the
catalog it came from). Every file is written atomically: a reader never sees half a file.
"""

from __future__ import annotations

import gc
import hashlib
import json
import os
import re
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from catalog.errors import BadLine, ExportError, InvalidRecord
from catalog.records import ServerRecord
from catalog.store import Catalog, Loader, UpsertStats

__all__ = [
    "SCHEMA_VERSION",
    "ImportResult",
    "atomic_writer",
    "claude_code_settings",
    "gateway_policy",
    "import_jsonl",
    "policy_file_name",
    "read_jsonl",
    "write_json",
    "write_jsonl",
    "write_policies",
]

SCHEMA_VERSION = "1"
MAX_LINE = 64 * 1024 * 1024  # one server's line; a longer one is refused, not read into memory
ACTIONS = {"Read": None, "Write": "require_approval", "Destructive": "deny"}


# ---------------------------------------------------------------------- import


def read_jsonl(path: Path) -> Iterator[tuple[int, ServerRecord]]:
    """Yield (line number, server) for each non-blank line; raise BadLine naming the line."""
    try:
        handle = path.open("rb")
    except OSError as e:
        raise InvalidRecord(f"cannot read {path}: {e.strerror or e}") from None
    with handle:
        for number, raw in enumerate(iter(lambda: handle.readline(MAX_LINE + 1), b""), start=1):
            if len(raw) > MAX_LINE:
                raise BadLine(str(path), number, f"line longer than {MAX_LINE // (1024 * 1024)} MB")
            if not raw.strip():
                continue
            try:
                data = json.loads(raw)
            except (json.JSONDecodeError, UnicodeDecodeError) as e:
                raise BadLine(str(path), number, f"not valid JSON ({e})") from None
            try:
                yield number, ServerRecord.from_dict(data)
            except InvalidRecord as e:
                raise BadLine(str(path), number, str(e)) from None


@dataclass(slots=True)
class ImportResult:
    servers: int = 0
    tools: int = 0
    classified: int = 0
    stats: UpsertStats = field(default_factory=UpsertStats)

    def as_dict(self) -> dict[str, Any]:
        return {
            "servers": self.servers,
            "tools": self.tools,
            "classified": self.classified,
            **self.stats.as_dict(),
        }


def import_jsonl(
    catalog: Catalog,
    path: Path,
    *,
    classify: Callable[[list[Any]], list[dict[str, Any]]] | None = None,
    classifier_version: str | None = None,
    batch_size: int = 500,
    commit_tools: int = 100_000,
    classify_tools: int = 10_000,
    progress: Callable[[ImportResult], None] | None = None,
) -> ImportResult:
    """Load servers from JSON Lines, `batch_size` servers per upsert and a commit once about
    `commit_tools` tools are upserted, or sooner once `classify_tools` definitions wait for
    the classifier (it runs after the commit and holds them in memory). On a bad line, the
    lines before it are stored and BadLine is raised; a killed import leaves whole servers only."""
    result = ImportResult()
    batch: list[ServerRecord] = []
    unclassified: set[str] = set()  # definitions to classify once their servers are committed

    def store(loader: Loader) -> None:
        if not batch:
            return
        result.stats.add(loader.upsert(batch))
        result.servers += len(batch)
        result.tools += sum(len(r.tools) for r in batch)
        if classify is not None and classifier_version is not None:
            # an override's classification is a person's, so the classifier's own is redone
            unclassified.update(
                t.definition_hash
                for r in batch
                for t in r.tools
                if t.classification is None or t.classification.get("source") == "override"
            )
        batch.clear()

    def commit(loader: Loader) -> None:
        store(loader)
        loader.commit()
        if unclassified:
            assert classify is not None and classifier_version is not None
            result.classified += catalog.classify_pending(classify, classifier_version, hashes=unclassified)
            unclassified.clear()
        if progress is not None:
            progress(result)

    records = read_jsonl(path)
    with catalog.loader() as loader, _gc_paused():
        while True:
            try:
                _number, record = next(records)
            except StopIteration:
                break
            except BaseException:
                commit(loader)  # the lines before a bad one are stored
                raise
            batch.append(record)
            if len(batch) >= batch_size:
                store(loader)
                if loader.pending_tools >= commit_tools or len(unclassified) >= classify_tools:
                    commit(loader)
                    gc.collect()
        commit(loader)
    return result


@contextmanager
def _gc_paused() -> Iterator[None]:
    """No cyclic garbage collection while importing: parsed JSON and records hold no cycles,
    and the collector would rescan every live object of the batch many times over. The
    import collects once per commit instead."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


# ---------------------------------------------------------------------- writing files


@contextmanager
def atomic_writer(path: Path | None) -> Iterator[IO[str]]:
    """Write to a temporary file beside `path`, then rename it into place (stdout if None)."""
    if path is None:
        import sys

        yield sys.stdout
        return
    folder = path.parent if str(path.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    except OSError as e:
        raise ExportError(f"cannot write {path}: {e.strerror or e}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError as e:
        Path(tmp).unlink(missing_ok=True)
        raise ExportError(f"cannot write {path}: {e.strerror or e}") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def write_jsonl(catalog: Catalog, out: IO[str], *, server_key: str | None = None) -> int:
    """One server per line, streamed; returns the number of servers written."""
    count = 0
    for line in catalog.iter_server_lines(server_key=server_key):
        out.write(line)
        out.write("\n")
        count += 1
    return count


def write_json(
    catalog: Catalog, out: IO[str], *, server_key: str | None = None, lines: Iterable[str] | None = None
) -> int:
    """One JSON document {schema_version, generated_at, classifier_version, counts, servers},
    streamed server by server so that memory stays flat. `lines`: server lines already written
    by `write_jsonl` (the nightly export reads the catalog once for both files)."""
    stats = catalog.stats()
    counts = {"servers": stats["servers"], "tools": stats["tools"], "classes": stats["classes"]}
    head = {
        "schema_version": SCHEMA_VERSION,
        "generated_at": _now(),
        "classifier_version": catalog.classifier_version,
        "counts": counts,
    }
    text = json.dumps(head, ensure_ascii=False, indent=2)
    out.write(text[:-2] + ',\n  "servers": [')
    count = 0
    if lines is None:
        lines = catalog.iter_server_lines(server_key=server_key)
    for line in lines:
        out.write(",\n    " if count else "\n    ")
        out.write(line.rstrip("\n"))
        count += 1
    out.write("\n  ]\n}\n" if count else "]\n}\n")
    return count


# ---------------------------------------------------------------------- policies


def _decision(tool: dict[str, Any]) -> tuple[str, str]:
    """(action, reason) for one exported tool: allow, require_approval or deny."""
    c = tool.get("classification")
    if c is None:
        return "deny", "not classified yet: unknown tools are treated as the worst case"
    label = c["label"]
    reason = f"{label}: " + "; ".join(c["rationale"][:3])
    if c.get("source") == "override":
        return ACTIONS[label] or "allow", reason
    # low findings (capability tags, a name shared with another server) inform, never block
    flags = [f for f in c.get("flags") or [] if f.get("severity") != "low"]
    high = [f for f in flags if f.get("severity") == "high"]
    if high:
        names = ", ".join(f"{f.get('id')} {f.get('name', '')}".strip() for f in high)
        return "deny", f"flagged {names}; {reason}"
    action = ACTIONS[label] or "allow"
    if action == "allow" and flags:
        names = ", ".join(f"{f.get('id')} {f.get('name', '')}".strip() for f in flags)
        return "require_approval", f"flagged {names}; {reason}"
    return action, reason


def gateway_policy(server: dict[str, Any]) -> dict[str, Any]:
    """{"version": "1", "default": "deny", "tools": {...}}: {} allows, else action and reason."""
    tools: dict[str, Any] = {}
    for tool in server["tools"]:
        action, reason = _decision(tool)
        tools[tool["name"]] = {} if action == "allow" else {"action": action, "reason": reason}
    return {"version": "1", "default": "deny", "tools": tools}


_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")


def client_server_name(server: dict[str, Any]) -> str:
    """The name a client would give this server: the last part of its key, made safe."""
    tail = server["key"].rstrip("/").split("/")[-1].split(":")[-1]
    return _UNSAFE.sub("-", tail).strip("-") or "server"


def claude_code_settings(servers: list[dict[str, Any]], *, name: str | None = None) -> dict[str, Any]:
    """A Claude Code settings fragment: permissions.allow / ask / deny of mcp__<server>__<tool>."""
    lists: dict[str, list[str]] = {"allow": [], "ask": [], "deny": []}
    where = {"allow": "allow", "require_approval": "ask", "deny": "deny"}
    for server in servers:
        prefix = name or client_server_name(server)
        for tool in server["tools"]:
            action, _ = _decision(tool)
            lists[where[action]].append(f"mcp__{prefix}__{tool['name']}")
    return {"permissions": {k: sorted(v) for k, v in lists.items()}}


_UNSAFE_FILE = re.compile(r"[^A-Za-z0-9._-]+")


def policy_file_name(key: str) -> str:
    """`github.com/acme/files` -> `github.com_acme_files.json`: readable, no folders, no dot files."""
    return _UNSAFE_FILE.sub("_", key).strip("._")[:200] + ".json"


def write_policies(catalog: Catalog, folder: Path, *, fmt: str = "policy") -> int:
    """One policy file per server in `folder`, each written atomically."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ExportError(f"cannot create {folder}: {e.strerror or e}") from None
    count = 0
    used: set[str] = set()
    for server in catalog.iter_servers():
        document = gateway_policy(server) if fmt == "policy" else claude_code_settings([server])
        name = policy_file_name(server["key"])
        if name in used:  # two keys that differ only in unsafe characters
            name = name[:-5] + "." + hashlib.sha256(server["key"].encode()).hexdigest()[:8] + ".json"
        used.add(name)
        with atomic_writer(folder / name) as out:
            json.dump(document, out, indent=2, ensure_ascii=False)
            out.write("\n")
        count += 1
    return count
