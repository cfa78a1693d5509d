"""Plain records that cross package boundaries: what a crawler yields, what import reads.

A `ServerRecord` is one MCP server with everything a source told about it. The crawler's
pipelines build them, `catalog.store.Catalog.upsert_servers` stores them, and the JSON Lines
import reads them from the same shape that `export --format jsonl` writes (times and
classifications in that shape are accepted and otherwise ignored by `from_dict`).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from json.encoder import c_make_encoder, encode_basestring_ascii  # type: ignore[attr-defined]
from typing import Any

from catalog.errors import InvalidRecord

__all__ = [
    "ListingRecord",
    "PackageRecord",
    "RemoteRecord",
    "ServerRecord",
    "ToolRecord",
    "canonical_json",
    "clean_text",
    "definition_hash",
    "hash_of_parts",
]


_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"))
# json.dumps builds an encoder, and the C encoder under it, anew for every call; a million
# schemas share this one. Without a cycle check: parsed JSON holds no cycles (a cyclic dict
# would end in RecursionError rather than ValueError).
_C_CANONICAL = (
    None
    if c_make_encoder is None
    else c_make_encoder(None, _CANONICAL.default, encode_basestring_ascii, None, ":", ",", True, False, True)
)


def canonical_json(value: Any) -> str:
    """JSON with sorted keys, no insignificant whitespace and ASCII escapes: equal data, equal
    text, and always encodable (a lone surrogate from a crawled page stays an escape)."""
    if _C_CANONICAL is None:
        return _CANONICAL.encode(value)
    return "".join(_C_CANONICAL(value, 0))


def clean_text(value: str) -> str:
    """Text that UTF-8 can encode: lone surrogates (valid in JSON escapes) become '?'."""
    if value.isascii():  # O(1) in CPython, and most text is ASCII: nothing to encode
        return value
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return value.encode("utf-8", "replace").decode("utf-8")
    return value


def definition_hash(
    name: str,
    description: str | None,
    input_schema: dict[str, Any] | None,
    annotations: dict[str, Any] | None,
) -> str:
    """SHA-256 over the canonical JSON of the parts of a tool that an agent sees (DESIGN.md):
    {"annotations": ..., "description": ..., "input_schema": ..., "name": ...}."""
    return hash_of_parts(
        name, description, canonical_json(input_schema or {}), canonical_json(annotations or {})
    )


def hash_of_parts(name: str, description: str | None, schema_json: str, annotations_json: str) -> str:
    """`definition_hash` from already canonical schema and annotations text (the store's bulk
    path serialises each schema once and reuses the text)."""
    text = (
        f'{{"annotations":{annotations_json},"description":{encode_basestring_ascii(description or "")},'
        f'"input_schema":{schema_json},"name":{encode_basestring_ascii(name)}}}'
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _str(data: dict[str, Any], key: str, *, required: bool = False) -> str | None:
    value = data.get(key)
    if value is None:
        if required:
            raise InvalidRecord(f"missing required field {key!r}")
        return None
    if not isinstance(value, str):
        raise InvalidRecord(f"field {key!r} must be a string, not {type(value).__name__}")
    if required and not value.strip():
        raise InvalidRecord(f"field {key!r} is empty")
    return clean_text(value)


def _obj(data: dict[str, Any], key: str) -> dict[str, Any] | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise InvalidRecord(f"field {key!r} must be an object, not {type(value).__name__}")
    return value


def _list(data: dict[str, Any], key: str) -> list[Any]:
    value = data.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidRecord(f"field {key!r} must be a list, not {type(value).__name__}")
    return value


@dataclass(slots=True)
class ToolRecord:
    """One tool definition as a source, the extractor or a live server gave it."""

    name: str
    title: str | None = None
    description: str | None = None
    input_schema: dict[str, Any] | None = None
    output_schema: dict[str, Any] | None = None
    annotations: dict[str, Any] | None = None
    # Where the definition came from: {"kind": "listed"|"extracted"|"introspected", ...}.
    origin: dict[str, Any] | None = None
    # A classification carried in by an import line; None means "classify me".
    classification: dict[str, Any] | None = None
    # A person's override carried in by an import line: {"label": ..., "reason": ...}.
    override: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        self.name = clean_text(self.name)
        self.title = None if self.title is None else clean_text(self.title)
        self.description = None if self.description is None else clean_text(self.description)

    @property
    def definition_hash(self) -> str:
        return definition_hash(self.name, self.description, self.input_schema, self.annotations)

    @classmethod
    def from_dict(cls, data: Any) -> ToolRecord:
        if not isinstance(data, dict):
            raise InvalidRecord("a tool must be a JSON object")
        name = _str(data, "name", required=True)
        assert name is not None
        return cls(
            name=name,
            title=_str(data, "title"),
            description=_str(data, "description"),
            input_schema=_obj(data, "input_schema"),
            output_schema=_obj(data, "output_schema"),
            annotations=_obj(data, "annotations"),
            origin=_obj(data, "origin"),
            classification=_obj(data, "classification"),
            override=_obj(data, "override"),
        )


@dataclass(slots=True)
class ListingRecord:
    """A source that lists the server: `source` is the spider name, `source_id` its id there."""

    source: str
    source_id: str
    url: str | None = None
    raw: dict[str, Any] | None = None

    @classmethod
    def from_dict(cls, data: Any) -> ListingRecord:
        if not isinstance(data, dict):
            raise InvalidRecord("a listing must be a JSON object")
        source = _str(data, "source", required=True)
        source_id = _str(data, "source_id", required=True)
        assert source is not None and source_id is not None
        return cls(source=source, source_id=source_id, url=_str(data, "url"), raw=_obj(data, "raw"))


@dataclass(slots=True)
class PackageRecord:
    """A package that runs the server: registry_type is npm, pypi, oci, nuget, mcpb, ..."""

    registry_type: str
    identifier: str
    version: str | None = None
    transport: str | None = None

    @classmethod
    def from_dict(cls, data: Any) -> PackageRecord:
        if not isinstance(data, dict):
            raise InvalidRecord("a package must be a JSON object")
        registry_type = _str(data, "registry_type", required=True)
        identifier = _str(data, "identifier", required=True)
        assert registry_type is not None and identifier is not None
        return cls(
            registry_type=registry_type,
            identifier=identifier,
            version=_str(data, "version"),
            transport=_str(data, "transport"),
        )


@dataclass(slots=True)
class RemoteRecord:
    """A hosted endpoint of the server: transport is streamable-http or sse."""

    transport: str
    url: str

    @classmethod
    def from_dict(cls, data: Any) -> RemoteRecord:
        if not isinstance(data, dict):
            raise InvalidRecord("a remote must be a JSON object")
        transport = _str(data, "transport", required=True)
        url = _str(data, "url", required=True)
        assert transport is not None and url is not None
        return cls(transport=transport, url=url)


@dataclass(slots=True)
class ServerRecord:
    """One MCP server. `key` is its canonical identity (see `catalog.identity`).

    `tools_complete` says that `tools` is the server's whole tool list, so a stored tool
    missing from it is marked removed. A source that lists no tools leaves it False.
    """

    key: str
    name: str
    title: str | None = None
    description: str | None = None
    repository_url: str | None = None
    homepage: str | None = None
    language: str | None = None
    listings: list[ListingRecord] = field(default_factory=list)
    packages: list[PackageRecord] = field(default_factory=list)
    remotes: list[RemoteRecord] = field(default_factory=list)
    tools: list[ToolRecord] = field(default_factory=list)
    tools_complete: bool = False

    def __post_init__(self) -> None:
        for name in ("key", "name", "title", "description", "repository_url", "homepage", "language"):
            value = getattr(self, name)
            if value is not None:
                setattr(self, name, clean_text(value))

    @classmethod
    def from_dict(cls, data: Any) -> ServerRecord:
        """Read one server in the export's JSON shape; raise InvalidRecord on a bad shape."""
        if not isinstance(data, dict):
            raise InvalidRecord("a server must be a JSON object")
        key = _str(data, "key", required=True)
        name = _str(data, "name") or key
        assert key is not None and name is not None
        tools = [ToolRecord.from_dict(t) for t in _list(data, "tools")]
        names = [t.name for t in tools]
        if len(set(names)) != len(names):
            dupes = sorted({n for n in names if names.count(n) > 1})
            raise InvalidRecord(f"tool names repeat within server {key!r}: {', '.join(dupes[:5])}")
        complete = data.get("tools_complete", bool(tools))
        return cls(
            key=key,
            name=name,
            title=_str(data, "title"),
            description=_str(data, "description"),
            repository_url=_str(data, "repository_url"),
            homepage=_str(data, "homepage"),
            language=_str(data, "language"),
            listings=[ListingRecord.from_dict(x) for x in _list(data, "listings")],
            packages=[PackageRecord.from_dict(x) for x in _list(data, "packages")],
            remotes=[RemoteRecord.from_dict(x) for x in _list(data, "remotes")],
            tools=tools,
            tools_complete=bool(complete),
        )
