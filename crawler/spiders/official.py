"""The official MCP Registry API (`/v0.1/servers`), and every registry that speaks it.

Cursor pagination (`metadata.nextCursor`), `version=latest`, `updated_since` for incremental
runs (the registry then includes deleted servers, so deletions are seen). The same spider
crawls PulseMCP, GitHub's MCP registry or a private registry under another source name:
`scrapy crawl official -a source=pulsemcp` with headers from MCPCAT_REGISTRY_SOURCES or
MCPCAT_REGISTRIES (JSON in the environment).
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import quote, urlencode

from scrapy.http import Response

from crawler.errors import BadArgument
from crawler.items import PageDone, ServerItem
from crawler.spiders._base import PageGuard, SourceSpider, obj, read_checkpoint

OFFICIAL_META = "io.modelcontextprotocol.registry/official"
# server.json requires a description too, but 15 % of the real seed has an empty one: such a
# server is stored without it rather than lost.
REQUIRED = ("name", "version")
PAGE_SIZE = 100


def registry_sources(settings: Any) -> dict[str, dict[str, Any]]:
    """Registries crawled by this spider beyond `official`: settings plus MCPCAT_REGISTRIES."""
    sources = {k: dict(v) for k, v in settings.getdict("MCPCAT_REGISTRY_SOURCES").items()}
    extra = os.environ.get("MCPCAT_REGISTRIES")
    if extra:
        try:
            parsed = json.loads(extra)
        except ValueError as e:
            raise BadArgument(f"MCPCAT_REGISTRIES is not JSON: {e}") from None
        if not isinstance(parsed, dict) or not all(isinstance(v, dict) for v in parsed.values()):
            raise BadArgument("MCPCAT_REGISTRIES must be a JSON object of objects")
        sources.update(parsed)
    return sources


def _header_value(value: str) -> str:
    return os.environ.get(value[4:], "") if value.startswith("env:") else value


class OfficialSpider(SourceSpider):
    name = "official"
    guard: PageGuard
    page_size: int

    def __init__(
        self, *args: Any, updated_since: str | None = None, page_size: str | int | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.updated_since = updated_since or None
        self.page_size_arg = page_size
        self.seen: set[str] = set()
        self.extra_headers: dict[str, str] = {}

    @classmethod
    def from_crawler(cls, crawler: Any, *args: Any, **kwargs: Any) -> OfficialSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        if spider.source != "official":
            conf = registry_sources(crawler.settings).get(spider.source)
            if conf is None and not kwargs.get("base_url"):
                raise BadArgument(f"unknown registry source {spider.source!r}")
            conf = conf or {}
            spider.extra_headers = {k: _header_value(str(v)) for k, v in (conf.get("headers") or {}).items()}
            missing = [v for v in conf.get("requires", []) if not os.environ.get(v)]
            if missing:
                spider.skip_note = f"{spider.source}: skipped, set {', '.join(missing)} to crawl it"
        spider.guard = PageGuard(spider.max_pages, spider.stale_pages)
        spider.page_size = spider.int_arg(
            "page_size", spider.page_size_arg or spider.default_page_size or PAGE_SIZE, 1, 100
        )
        return spider

    def headers(self) -> dict[str, str]:
        return {"Accept": "application/json", **{k: v for k, v in self.extra_headers.items() if v}}

    def page_url(self, cursor: str | None) -> str:
        params: dict[str, str] = {"limit": str(self.page_size), "version": "latest"}
        if self.updated_since:
            params["updated_since"] = self.updated_since
        if cursor:
            params["cursor"] = cursor
        return f"{self.base_url}/v0.1/servers?{urlencode(params)}"

    async def start(self) -> AsyncIterator[Any]:
        if self.skip_note:
            self.logger.warning(self.skip_note)
            return
        cursor = None
        point = read_checkpoint(self.jobdir, self.source)
        if point and point.get("base_url") == self.base_url and point.get("cursor"):
            cursor = point["cursor"]
            self.updated_since = point.get("updated_since", self.updated_since)
            self.logger.info("%s: resuming at cursor %r", self.source, cursor)
        # Cursor pages are not cached: with updated_since every run's URLs are new anyway.
        yield self.request(
            self.page_url(cursor), self.parse, fatal=True, dont_filter=True, meta={"dont_cache": True}
        )

    def parse(self, response: Response) -> Iterator[Any]:
        data = self.json(response)
        entries = data.get("servers") if data is not None else None
        if data is not None and not isinstance(entries, list):
            self.fail_record("bad_shape", response.url, "no 'servers' list in the page")
        if not isinstance(entries, list):
            if response.meta.get("fatal"):
                self.stop("fatal", f"{response.url}: the first page is not a registry page")
            else:
                self.incomplete(f"pagination broken at {response.url}")
            return
        new = 0
        for index, entry in enumerate(entries):
            item = self.server_item(entry, f"{response.url}#{index}")
            if item is None:
                continue
            key = f"{item.source_id}@{(item.raw or {}).get('server', {}).get('version')}"
            if key in self.seen:
                continue
            self.seen.add(key)
            new += 1
            if not self.take():
                return
            yield item
        meta = obj(data.get("metadata"))
        cursor = meta.get("nextCursor") or meta.get("next_cursor")
        yield PageDone(
            self.source, {"base_url": self.base_url, "cursor": cursor, "updated_since": self.updated_since}
        )
        if not cursor or not isinstance(cursor, str):
            return
        why = self.guard.check(cursor, new)
        if why:
            self.fail_record("cursor_loop", response.url, why)
            self.incomplete(f"pagination stopped: {why}")
            return
        yield self.request(
            self.page_url(cursor), self.parse, dont_filter=True, meta={"page": True, "dont_cache": True}
        )

    def server_item(self, entry: Any, where: str) -> ServerItem | None:
        if not isinstance(entry, dict) or not isinstance(entry.get("server"), dict):
            self.fail_record("bad_record", where, "entry is not {server, _meta}")
            return None
        server: dict[str, Any] = entry["server"]
        name = server.get("name") if isinstance(server.get("name"), str) else None
        missing = [f for f in REQUIRED if not isinstance(server.get(f), str) or not server[f].strip()]
        repo = obj(server.get("repository"))
        packages = []
        for p in server.get("packages") or []:
            if isinstance(p, dict) and p.get("identifier"):
                transport = obj(p.get("transport"))
                packages.append(
                    {
                        "registry": str(p.get("registryType") or p.get("registry_name") or "unknown"),
                        "identifier": str(p["identifier"]),
                        "version": p.get("version"),
                        "transport": transport.get("type"),
                    }
                )
        remotes = [
            {"transport": str(r.get("type") or "streamable-http"), "url": r["url"]}
            for r in server.get("remotes") or []
            if isinstance(r, dict) and isinstance(r.get("url"), str)
        ]
        return ServerItem(
            source=self.source,
            source_id=name or where,
            name=name,
            title=server.get("title") if isinstance(server.get("title"), str) else None,
            description=server.get("description") if isinstance(server.get("description"), str) else None,
            registry_name=name,
            repository_url=repo.get("url") if isinstance(repo.get("url"), str) else None,
            repository_subfolder=repo.get("subfolder") if isinstance(repo.get("subfolder"), str) else None,
            homepage=server.get("websiteUrl") if isinstance(server.get("websiteUrl"), str) else None,
            listing_url=f"{self.base_url}/v0.1/servers/{quote(name, safe='')}/versions/latest"
            if name
            else None,
            packages=packages,
            remotes=remotes,
            missing=missing,
            raw=entry,
        )
