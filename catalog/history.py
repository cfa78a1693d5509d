"""What changed in the catalog since a point in time, read from the history it already keeps.

No event table: every fact comes from the timestamps the store writes anyway. A server or
tool was added after the cut when its `first_seen` is later; a tool was removed when its
`removed_at` is; a definition changed when the tool's current definition differs from the one
that was current at the cut. That one is the version with the latest `last_seen` not after
the cut (each version's `last_seen` is the last crawl in which it was the current one).

The cut is a run's `finished_at` (`--since RUN_ID`), a date, or by default the end of the
finished crawl run before the newest one: "what the last run changed". Class changes compare
the classes of the old and the new definition under the running classifier (else the newest
stored class), plus definitions the running classifier classes differently from an older one.

Dangerous changes come first: a class that went up (Read -> Write or Destructive) and a
description rewritten under an unchanged name (the "rug pull" of a trusted tool).
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, and_, func, select

from catalog import models as m
from catalog.errors import InvalidRecord, NotFound

__all__ = [
    "Change",
    "Diff",
    "changes_since",
    "format_diff",
    "resolve_since",
]

RANK = {"Read": 0, "Write": 1, "Destructive": 2}
DIFF_FIELD_CHARS = 20_000  # a 10 MB description is diffed on its first 20,000 characters
DIFF_LINE_CHARS = 400
DIFF_MAX_LINES = 200
TEXT_LIST_LIMIT = 50
_CONTROL = re.compile(
    r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]"
)


def printable(text: str) -> str:
    """Control, zero-width and bidi characters made visible (`\\x1b`, `\\u202e`): a name or a
    description cannot move the cursor, recolour the terminal or reorder what a reader sees."""
    return _CONTROL.sub(lambda mo: mo.group().encode("unicode_escape").decode("ascii"), text)


@dataclass(slots=True)
class Change:
    """One line of the report: `kind` is server_added, server_removed, tool_added,
    tool_removed, definition_changed or class_changed; `danger` names why it comes first."""

    kind: str
    server: str
    tool: str | None = None
    old_class: str | None = None
    new_class: str | None = None
    danger: list[str] = field(default_factory=list)
    fields: list[str] = field(default_factory=list)
    old_hash: str | None = None
    new_hash: str | None = None
    diff: str | None = None
    note: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v not in (None, [])}


@dataclass(slots=True)
class Diff:
    since: datetime
    until: datetime
    since_run: int | None
    classifier_version: str | None
    changes: list[Change]

    def of(self, kind: str) -> list[Change]:
        return [c for c in self.changes if c.kind == kind]

    @property
    def dangerous(self) -> list[Change]:
        return [c for c in self.changes if c.danger]

    def counts(self) -> dict[str, int]:
        kinds = (
            "server_added",
            "server_removed",
            "tool_added",
            "tool_removed",
            "definition_changed",
            "class_changed",
        )
        out = {k: len(self.of(k)) for k in kinds}
        out["dangerous"] = len(self.dangerous)
        return out

    def as_dict(self) -> dict[str, Any]:
        return {
            "since": _iso(self.since),
            "since_run": self.since_run,
            "until": _iso(self.until),
            "classifier_version": self.classifier_version,
            "counts": self.counts(),
            "changes": [c.as_dict() for c in self.changes],
        }


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


# ---------------------------------------------------------------------- the cut


def resolve_since(engine: Engine, since: str | None) -> tuple[datetime, int | None]:
    """(cut, run id) for `--since`: a run id, an ISO date or time (UTC unless it says), or
    None for the end of the finished run before the newest finished one (the epoch if none)."""
    runs = m.CrawlRun.__table__
    with engine.connect() as conn:
        if since is None or not since.strip():
            rows = conn.execute(
                select(runs.c.id, runs.c.finished_at)
                .where(runs.c.finished_at.is_not(None))
                .order_by(runs.c.id.desc())
                .limit(2)
            ).all()
            if len(rows) < 2:
                return datetime(1970, 1, 1, tzinfo=UTC), None
            return _aware(rows[1].finished_at), int(rows[1].id)
        text = since.strip()
        if text.isdigit():
            row = conn.execute(
                select(runs.c.id, runs.c.started_at, runs.c.finished_at).where(runs.c.id == int(text))
            ).first()
            if row is None:
                raise NotFound(f"no crawl run {text} (see the crawl_runs of this catalog)")
            return _aware(row.finished_at or row.started_at), int(row.id)
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidRecord(
            f"--since {since!r}: not a run id or an ISO date (2026-01-31 or 2026-01-31T02:00)"
        ) from None
    return _aware(when), None


def latest_finished_run(engine: Engine) -> tuple[datetime, int] | None:
    """(finished_at, id) of the newest finished crawl run, if any: the nightly's cut."""
    runs = m.CrawlRun.__table__
    with engine.connect() as conn:
        row = conn.execute(
            select(runs.c.id, runs.c.finished_at)
            .where(runs.c.finished_at.is_not(None))
            .order_by(runs.c.id.desc())
            .limit(1)
        ).first()
    return None if row is None else (_aware(row.finished_at), int(row.id))


# ---------------------------------------------------------------------- reading history


def _labels(engine: Engine, hashes: Iterable[str], version: str | None) -> dict[str, str]:
    """Each hash's class: the running classifier's if stored, else the newest stored."""
    table = m.Classification.__table__
    wanted = sorted(set(hashes))
    best: dict[str, tuple[bool, int, str]] = {}
    with engine.connect() as conn:
        for start in range(0, len(wanted), 5000):
            query = select(table.c.id, table.c.definition_hash, table.c.classifier_version, table.c.label)
            for row in conn.execute(query.where(table.c.definition_hash.in_(wanted[start : start + 5000]))):
                rank = (row.classifier_version == version, row.id, row.label)
                if row.definition_hash not in best or rank > best[row.definition_hash]:
                    best[row.definition_hash] = rank
    return {h: r[2] for h, r in best.items()}


def _added_and_removed(engine: Engine, cut: datetime, version: str | None) -> list[Change]:
    servers, tools = m.Server.__table__, m.Tool.__table__
    out: list[Change] = []
    with engine.connect() as conn:
        for row in conn.execute(
            select(servers.c.key).where(servers.c.first_seen > cut).order_by(servers.c.key)
        ):
            out.append(Change("server_added", row.key))
        added = conn.execute(
            select(servers.c.key, tools.c.name, tools.c.definition_hash)
            .join(servers, servers.c.id == tools.c.server_id)
            .where(tools.c.first_seen > cut, tools.c.removed_at.is_(None))
            .order_by(servers.c.key, tools.c.name)
        ).all()
        removed = conn.execute(
            select(servers.c.key, tools.c.name, tools.c.definition_hash)
            .join(servers, servers.c.id == tools.c.server_id)
            .where(tools.c.removed_at > cut, tools.c.first_seen <= cut)
            .order_by(servers.c.key, tools.c.name)
        ).all()
        # The catalog keeps no removal mark for a server: it is gone when its last tool is.
        live = select(tools.c.id).where(tools.c.server_id == servers.c.id, tools.c.removed_at.is_(None))
        gone_servers = conn.execute(
            select(servers.c.key)
            .where(servers.c.first_seen <= cut, ~live.exists())
            .where(
                select(tools.c.id).where(tools.c.server_id == servers.c.id, tools.c.removed_at > cut).exists()
            )
            .order_by(servers.c.key)
        ).all()
    labels = _labels(engine, [r.definition_hash for r in (*added, *removed)], version)
    for row in gone_servers:
        out.append(Change("server_removed", row.key, note="every tool of the server was removed"))
    for row in added:
        out.append(Change("tool_added", row.key, row.name, new_class=labels.get(row.definition_hash)))
    for row in removed:
        out.append(Change("tool_removed", row.key, row.name, old_class=labels.get(row.definition_hash)))
    return out


@dataclass(slots=True)
class _Version:
    id: int
    tool_id: int
    definition_hash: str
    first_seen: datetime
    last_seen: datetime


def _changed_definitions(
    engine: Engine, cut: datetime, run_started: datetime | None
) -> list[tuple[int, int, int]]:
    """(tool id, old version id, new version id) of present tools whose definition changed."""
    tools, versions = m.Tool.__table__, m.ToolVersion.__table__
    touched = select(versions.c.tool_id).where(versions.c.last_seen > cut).distinct()
    several = select(versions.c.tool_id).group_by(versions.c.tool_id).having(func.count(versions.c.id) > 1)
    query = (
        select(
            versions.c.id,
            versions.c.tool_id,
            versions.c.definition_hash,
            versions.c.first_seen,
            versions.c.last_seen,
            tools.c.definition_hash.label("current"),
        )
        .join(tools, tools.c.id == versions.c.tool_id)
        .where(
            tools.c.removed_at.is_(None),
            tools.c.first_seen <= cut,
            versions.c.tool_id.in_(touched),
            versions.c.tool_id.in_(several),
        )
        .order_by(versions.c.tool_id, versions.c.id)
    )
    by_tool: dict[int, list[_Version]] = {}
    current: dict[int, str] = {}
    with engine.connect() as conn:
        for row in conn.execute(query):
            by_tool.setdefault(row.tool_id, []).append(
                _Version(
                    row.id, row.tool_id, row.definition_hash, _aware(row.first_seen), _aware(row.last_seen)
                )
            )
            current[row.tool_id] = row.current
    out: list[tuple[int, int, int]] = []
    for tool_id, found in by_tool.items():
        now = next((v for v in found if v.definition_hash == current[tool_id]), None)
        before = [v for v in found if v.first_seen <= cut]
        if now is None or not before:
            continue
        # Current at the cut: the version last known current before it. One seen after the
        # cut too is known current at its first sighting (and maybe longer): no later proof.
        old = max(before, key=lambda v: (v.last_seen if v.last_seen <= cut else v.first_seen, v.id))
        if old.id == now.id:
            continue
        # A brand-new definition changed after the cut. An older one that came back did so
        # after the cut only if the one it replaced was still current in the run before it.
        if now.first_seen > cut or (run_started is not None and old.last_seen >= run_started):
            out.append((tool_id, old.id, now.id))
    return out


def _field_text(value: Any) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, str):
        return value
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)


def _first_difference(a: str, b: str) -> int:
    """Where two texts first differ, by halving (slice comparisons run in C: 10 MB in ms)."""
    lo, hi = 0, min(len(a), len(b))
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if a[:mid] == b[:mid]:
            lo = mid
        else:
            hi = mid - 1
    return lo


def _wrap(line: str) -> list[str]:
    """A long line as lines of DIFF_LINE_CHARS: a change at its end still shows."""
    return [line[i : i + DIFF_LINE_CHARS] for i in range(0, len(line), DIFF_LINE_CHARS)] or [""]


def _blocks(old: Any, new: Any) -> tuple[list[str], list[str]]:
    """Both definitions as lines, field by field. A field longer than DIFF_FIELD_CHARS is cut
    to the same window of both texts, around where they first differ, and says so."""
    left: list[str] = []
    right: list[str] = []
    for title in ("description", "input_schema", "annotations"):
        a, b = _field_text(getattr(old, title)), _field_text(getattr(new, title))
        notes = ["", ""]
        if max(len(a), len(b)) > DIFF_FIELD_CHARS:
            start = max(0, _first_difference(a, b) - DIFF_FIELD_CHARS // 10)
            end = start + DIFF_FIELD_CHARS
            for i, text in enumerate((a, b)):
                if len(text) > DIFF_FIELD_CHARS:
                    notes[i] = f"… ({len(text):,} characters, {start:,} to {min(end, len(text)):,} compared)"
            a, b = a[start:end], b[start:end]
        for out, text, note in ((left, a, notes[0]), (right, b, notes[1])):
            lines = [chunk for line in text.splitlines() for chunk in _wrap(printable(line))] or [""]
            out.extend([f"{title}:", *("  " + line for line in lines), *(["  " + note] if note else [])])
    return left, right


def _unified(old: Any, new: Any, name: str) -> str:
    left, right = _blocks(old, new)
    lines = list(
        difflib.unified_diff(
            left,
            right,
            fromfile=f"{name} ({_iso(_aware(old.first_seen))[:19]}Z)",
            tofile=f"{name} ({_iso(_aware(new.first_seen))[:19]}Z)",
            lineterm="",
            n=2,
        )
    )
    if len(lines) > DIFF_MAX_LINES:
        lines = [*lines[:DIFF_MAX_LINES], f"… {len(lines) - DIFF_MAX_LINES} more diff lines"]
    return "\n".join(lines)


def _definition_changes(
    engine: Engine, cut: datetime, run_started: datetime | None, version: str | None
) -> list[Change]:
    pairs = _changed_definitions(engine, cut, run_started)
    if not pairs:
        return []
    tools, versions, servers = m.Tool.__table__, m.ToolVersion.__table__, m.Server.__table__
    wanted = sorted({v for _, a, b in pairs for v in (a, b)})
    rows: dict[int, Any] = {}
    names: dict[int, tuple[str, str]] = {}
    with engine.connect() as conn:
        for start in range(0, len(wanted), 2000):
            for row in conn.execute(select(versions).where(versions.c.id.in_(wanted[start : start + 2000]))):
                rows[row.id] = row
        ids = sorted({t for t, _, _ in pairs})
        for start in range(0, len(ids), 2000):
            query = (
                select(tools.c.id, servers.c.key, tools.c.name)
                .join(servers, servers.c.id == tools.c.server_id)
                .where(tools.c.id.in_(ids[start : start + 2000]))
            )
            for row in conn.execute(query):
                names[row.id] = (row.key, row.name)
    labels = _labels(engine, [r.definition_hash for r in rows.values()], version)
    out: list[Change] = []
    for tool_id, old_id, new_id in pairs:
        old, new = rows[old_id], rows[new_id]
        key, name = names[tool_id]
        fields = [
            f for f in ("description", "input_schema", "annotations") if getattr(old, f) != getattr(new, f)
        ]
        old_class, new_class = labels.get(old.definition_hash), labels.get(new.definition_hash)
        danger = []
        if _went_up(old_class, new_class):
            danger.append("class_up")
        if "description" in fields:
            danger.append("rug_pull")
        out.append(
            Change(
                "definition_changed",
                key,
                name,
                old_class=old_class,
                new_class=new_class,
                danger=danger,
                fields=fields or ["name"],
                old_hash=old.definition_hash,
                new_hash=new.definition_hash,
                diff=_unified(old, new, f"{key} {name}"),
            )
        )
    return out


def _went_up(old: str | None, new: str | None) -> bool:
    return old in RANK and new in RANK and RANK[new] > RANK[old]


def _reclassified(engine: Engine, cut: datetime, version: str | None) -> list[Change]:
    """Unchanged definitions of present tools the running classifier, since the cut, classes
    differently from the newest class stored before it (a new classifier version)."""
    if version is None:
        return []
    table, tools, servers = m.Classification.__table__, m.Tool.__table__, m.Server.__table__
    with engine.connect() as conn:
        fresh = conn.execute(
            select(servers.c.key, tools.c.name, table.c.definition_hash, table.c.label)
            .join(tools, tools.c.definition_hash == table.c.definition_hash)
            .join(servers, servers.c.id == tools.c.server_id)
            .where(
                table.c.classifier_version == version,
                table.c.created_at > cut,
                tools.c.removed_at.is_(None),
            )
        ).all()
        hashes = sorted({r.definition_hash for r in fresh})
        before: dict[str, tuple[int, str, str]] = {}
        for start in range(0, len(hashes), 5000):
            query = select(
                table.c.id, table.c.definition_hash, table.c.label, table.c.classifier_version
            ).where(
                and_(table.c.definition_hash.in_(hashes[start : start + 5000]), table.c.created_at <= cut)
            )
            for row in conn.execute(query):
                held = before.get(row.definition_hash)
                if held is None or row.id > held[0]:
                    before[row.definition_hash] = (row.id, row.label, row.classifier_version)
    out = []
    for row in fresh:
        old = before.get(row.definition_hash)
        if old is None or old[1] == row.label:
            continue
        out.append(
            Change(
                "class_changed",
                row.key,
                row.name,
                old_class=old[1],
                new_class=row.label,
                danger=["class_up"] if _went_up(old[1], row.label) else [],
                new_hash=row.definition_hash,
                note=f"classifier {old[2]} -> {version}",
            )
        )
    return out


def _order(changes: Sequence[Change]) -> list[Change]:
    """Dangerous first (a class that went up, highest new class first; then rug pulls), then
    by kind and name."""
    kinds = [
        "definition_changed",
        "class_changed",
        "tool_added",
        "tool_removed",
        "server_added",
        "server_removed",
    ]

    def key(c: Change) -> tuple[Any, ...]:
        up = "class_up" in c.danger
        return (
            0 if up else 1 if c.danger else 2,
            -RANK.get(c.new_class or "", -1) if up else 0,
            kinds.index(c.kind),
            c.server,
            c.tool or "",
        )

    return sorted(changes, key=key)


def changes_since(
    engine: Engine,
    cut: datetime,
    *,
    since_run: int | None = None,
    classifier_version: str | None = None,
    until: datetime | None = None,
) -> Diff:
    """Everything the catalog's history says changed after `cut`, dangerous changes first."""
    cut = _aware(cut)
    run_started = None
    if since_run is not None:
        runs = m.CrawlRun.__table__
        with engine.connect() as conn:
            started = conn.execute(select(runs.c.started_at).where(runs.c.id == since_run)).scalar()
        run_started = None if started is None else _aware(started)
    changes = [
        *_added_and_removed(engine, cut, classifier_version),
        *_definition_changes(engine, cut, run_started, classifier_version),
        *_reclassified(engine, cut, classifier_version),
    ]
    return Diff(cut, until or datetime.now(UTC), since_run, classifier_version, _order(changes))


# ---------------------------------------------------------------------- text


def format_diff(diff: Diff, *, limit: int = TEXT_LIST_LIMIT) -> str:
    """The report as text: a summary line, dangerous changes, then each kind, each list cut at
    `limit` lines (the JSON output has them all)."""
    c = diff.counts()
    since = f"run {diff.since_run} ({_iso(diff.since)})" if diff.since_run else _iso(diff.since)
    lines = [
        f"changes since {since} until {_iso(diff.until)}",
        f"  servers +{c['server_added']} -{c['server_removed']},"
        f" tools +{c['tool_added']} -{c['tool_removed']},"
        f" definitions changed {c['definition_changed']}, class changes {c['class_changed']},"
        f" dangerous {c['dangerous']}",
    ]

    def who(ch: Change) -> str:
        return printable(ch.server) + (f"  {printable(ch.tool)}" if ch.tool is not None else "")

    def section(title: str, items: list[Change], render: Any) -> None:
        if not items:
            return
        lines.append("")
        lines.append(f"{title} ({len(items)})")
        for ch in items[:limit]:
            lines.extend(render(ch))
        if len(items) > limit:
            lines.append(f"  … and {len(items) - limit} more (--json lists them all)")

    def danger(ch: Change) -> list[str]:
        what = []
        if "class_up" in ch.danger:
            what.append(f"class up {ch.old_class} -> {ch.new_class}")
        if "rug_pull" in ch.danger:
            what.append("description changed under the same name")
        return [f"  ! {who(ch)}: {'; '.join(what)}"]

    def changed(ch: Change) -> list[str]:
        head = f"  {who(ch)}: {', '.join(ch.fields)} changed"
        if ch.old_class != ch.new_class:
            head += f"; class {ch.old_class or 'unclassified'} -> {ch.new_class or 'unclassified'}"
        return [head, *("      " + line for line in (ch.diff or "").splitlines())]

    def classed(ch: Change) -> list[str]:
        return [f"  {who(ch)}: {ch.old_class} -> {ch.new_class} ({ch.note})"]

    def plain(ch: Change) -> list[str]:
        label = ch.new_class or ch.old_class
        return [f"  {who(ch)}" + (f" [{label}]" if label else "")]

    section("DANGEROUS", diff.dangerous, danger)
    section("definitions changed", diff.of("definition_changed"), changed)
    section("class changes", diff.of("class_changed"), classed)
    section("tools added", diff.of("tool_added"), plain)
    section("tools removed", diff.of("tool_removed"), plain)
    section("servers added", diff.of("server_added"), plain)
    section("servers removed", diff.of("server_removed"), plain)
    if not diff.changes:
        lines.append("  nothing changed")
    return "\n".join(lines)
