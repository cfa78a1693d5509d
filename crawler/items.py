"""What spiders yield: plain dataclasses, turned into `catalog.records` by the pipelines.

A spider only reports what its source said; identity, URL safety, tools and merging are the
pipelines' jobs, so every source is normalised the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from catalog.records import ServerRecord

__all__ = ["PageDone", "ServerItem"]


@dataclass(slots=True)
class ServerItem:
    """One server as one source lists it. `raw` is the source's record, kept as the listing's JSON."""

    source: str
    source_id: str
    name: str | None = None
    title: str | None = None
    description: str | None = None
    # Registry name (io.github.owner/name), when the source has one.
    registry_name: str | None = None
    repository_url: str | None = None
    repository_subfolder: str | None = None
    homepage: str | None = None
    language: str | None = None
    listing_url: str | None = None
    # The last resort for identity when the source knows no repository, registry name or
    # package: the source's own namespace, e.g. "smithery:linear/linear".
    fallback_key: str | None = None
    # {"registry", "identifier", "version", "transport"} each.
    packages: list[dict[str, Any]] = field(default_factory=list)
    # {"transport", "url"} each.
    remotes: list[dict[str, Any]] = field(default_factory=list)
    # Tool definitions as the source gives them (MCP shape, or Docker's `arguments` shape).
    tools: list[dict[str, Any]] | None = None
    # True when `tools` is the server's whole list (a deployed Smithery server, a Glama entry).
    tools_complete: bool = False
    # Required fields the source's schema demands but the record lacks (the pipeline drops it).
    missing: list[str] = field(default_factory=list)
    raw: dict[str, Any] | None = None
    # Filled by NormalisePipeline.
    record: ServerRecord | None = None


@dataclass(slots=True)
class PageDone:
    """Marks that every server item of one page has been yielded before it.

    The store pipeline writes `checkpoint` to the job directory once everything before the
    marker is committed, so a crawl killed with SIGKILL resumes from the last stored page.
    """

    source: str
    checkpoint: dict[str, Any]
