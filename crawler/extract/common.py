"""What every language extractor shares: the result types, unresolved values, string helpers.

Values read out of source are plain Python (str, int, float, bool, None, list, dict) or an
`Unresolved` marker that says why not. A marker never turns into text: a tool field whose
value is unresolved stays None and its name goes into `ExtractedTool.unresolved`.
"""

from __future__ import annotations

import inspect
import re
import textwrap
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import tree_sitter as ts

from catalog.records import ToolRecord

__all__ = [
    "ANNOTATION_KEYS",
    "ExtractResult",
    "ExtractedTool",
    "Skipped",
    "Unresolved",
    "cleandoc",
    "dedent",
    "is_tool_name",
    "node_text",
    "schema_from_properties",
]

# The MCP ToolAnnotations keys; snake_case and C#-style spellings are mapped onto them.
ANNOTATION_KEYS = ("title", "readOnlyHint", "destructiveHint", "idempotentHint", "openWorldHint")
_ANNOTATION_ALIASES = {
    "read_only_hint": "readOnlyHint",
    "destructive_hint": "destructiveHint",
    "idempotent_hint": "idempotentHint",
    "open_world_hint": "openWorldHint",
}

_TOOL_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.:/-]{0,127}$")


class Unresolved:
    """A value that could not be read statically (built at run time, from another package...)."""

    __slots__ = ("reason",)

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def __repr__(self) -> str:
        return f"Unresolved({self.reason!r})"


def is_tool_name(value: object) -> bool:
    """A plausible MCP tool name: one token, no spaces (what clients accept)."""
    return isinstance(value, str) and bool(_TOOL_NAME.match(value))


def node_text(node: ts.Node) -> str:
    return (node.text or b"").decode("utf-8", "replace")


def cleandoc(doc: str) -> str:
    """A Python docstring as `inspect.cleandoc` gives it (what SDKs show after stripping)."""
    return inspect.cleandoc(doc)


def dedent(text: str) -> str:
    return textwrap.dedent(text)


def annotations_from(value: Any) -> dict[str, Any] | None:
    """Keep the known annotation keys of a resolved dict (aliases mapped), drop unresolved ones."""
    if not isinstance(value, dict):
        return None
    out: dict[str, Any] = {}
    for k, v in value.items():
        key = _ANNOTATION_ALIASES.get(k, k)
        if key in ANNOTATION_KEYS and not isinstance(v, Unresolved):
            out[key] = v
    return out or None


def schema_from_properties(props: dict[str, dict[str, Any]], required: list[str]) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": props}
    if required:
        schema["required"] = required
    return schema


def strip_unresolved(value: Any) -> Any:
    """A JSON-able copy: unresolved leaves are dropped from dicts and lists."""
    if isinstance(value, dict):
        return {k: strip_unresolved(v) for k, v in value.items() if not isinstance(v, Unresolved)}
    if isinstance(value, list):
        return [strip_unresolved(v) for v in value if not isinstance(v, Unresolved)]
    return value


@dataclass(slots=True)
class ExtractedTool:
    """One tool definition found in source, with where it is and what could not be read."""

    name: str
    file: str
    line: int
    language: str
    pattern: str
    title: str | None = None
    description: str | None = None
    input_schema: dict[str, Any] | None = None
    annotations: dict[str, Any] | None = None
    unresolved: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def set_text(self, key: str, value: Any) -> None:
        """Set `title` or `description` from a resolved value, or mark it unresolved."""
        if isinstance(value, str):
            setattr(self, key, value)
        elif isinstance(value, Unresolved):
            if key not in self.unresolved:
                self.unresolved.append(key)
            self.notes.append(f"{key}: {value.reason}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_record(self, **origin: Any) -> ToolRecord:
        return ToolRecord(
            name=self.name,
            title=self.title,
            description=self.description,
            input_schema=self.input_schema,
            annotations=self.annotations,
            origin={
                "kind": "extracted",
                "file": self.file,
                "line": self.line,
                "pattern": self.pattern,
                **({"unresolved": list(self.unresolved)} if self.unresolved else {}),
                **origin,
            },
        )


@dataclass(slots=True)
class Skipped:
    """A file, or one definition in it, left out, and why."""

    file: str
    reason: str
    line: int | None = None


@dataclass(slots=True)
class ExtractResult:
    root: Path
    tools: list[ExtractedTool] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    files_scanned: int = 0
    bytes_scanned: int = 0

    def unique_tools(self) -> list[ExtractedTool]:
        """One tool per name (the first seen, in file order): variants of one tool collapse."""
        seen: dict[str, ExtractedTool] = {}
        for t in self.tools:
            prev = seen.get(t.name)
            if prev is None or (prev.description is None and t.description is not None):
                seen[t.name] = t
        return list(seen.values())

    def records(self, **origin: Any) -> list[ToolRecord]:
        return [t.to_record(**origin) for t in self.unique_tools()]

    def to_dict(self) -> dict[str, Any]:
        return {
            "root": str(self.root),
            "files_scanned": self.files_scanned,
            "bytes_scanned": self.bytes_scanned,
            "tools": [t.to_dict() for t in self.tools],
            "skipped": [asdict(s) for s in self.skipped],
        }
