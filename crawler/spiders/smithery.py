"""Smithery's registry API: `/servers?page=&pageSize=` then `/servers/{qualifiedName}` (tools).

Needs SMITHERY_API_KEY (Bearer); without it the source is skipped with a note. Tools come only
from the detail, and only for deployed servers: an empty or missing list is not "no tools".
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import quote, urlencode

from scrapy.http import Response

from crawler.items import ServerItem
from crawler.spiders._base import SourceSpider, obj

PAGE_SIZE = 50


class SmitherySpider(SourceSpider):
    name = "smithery"

    def __init__(self, *args: Any, page_size: str | int | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.page_size_arg = page_size
        self.api_key = os.environ.get("SMITHERY_API_KEY", "")
        self.queued: set[str] = set()

    def headers(self) -> dict[str, str]:
        return {"Accept": "application/json", "Authorization": f"Bearer {self.api_key}"}

    def page_url(self, page: int) -> str:
        return f"{self.base_url}/servers?{urlencode({'page': page, 'pageSize': self.page_size})}"

    async def start(self) -> AsyncIterator[Any]:
        self.page_size = self.int_arg(
            "page_size", self.page_size_arg or self.default_page_size or PAGE_SIZE, 1, 100
        )
        if not self.api_key:
            self.skip_note = "smithery: skipped, set SMITHERY_API_KEY to crawl it"
            self.logger.warning(self.skip_note)
            return
        yield self.request(self.page_url(1), self.parse, fatal=True, meta={"page": 1})

    def parse(self, response: Response) -> Iterator[Any]:
        data = self.json(response)
        servers = data.get("servers") if data is not None else None
        if data is not None and not isinstance(servers, list):
            self.fail_record("bad_shape", response.url, "no 'servers' list in the page")
        if not isinstance(servers, list):
            if response.meta.get("fatal"):
                self.stop("fatal", f"{response.url}: the first page is not a Smithery page")
            else:
                self.incomplete(f"pagination broken at {response.url}")
            return
        for index, entry in enumerate(servers):
            name = entry.get("qualifiedName") if isinstance(entry, dict) else None
            if not isinstance(name, str) or not name.strip():
                self.fail_record(
                    "missing_fields", f"{response.url}#{index}", "list entry without qualifiedName"
                )
                continue
            if name in self.queued:
                continue
            if self.limit is not None and len(self.queued) >= self.limit:
                break
            self.queued.add(name)
            yield self.request(
                f"{self.base_url}/servers/{quote(name, safe='@/')}", self.parse_detail, meta={"entry": entry}
            )
        pagination = obj(data.get("pagination"))
        page = int(response.meta.get("page", 1))
        total = pagination.get("totalPages")
        more = isinstance(total, int) and page < total and servers
        if more and page < self.max_pages and (self.limit is None or len(self.queued) < self.limit):
            yield self.request(self.page_url(page + 1), self.parse, meta={"page": page + 1})

    def parse_detail(self, response: Response) -> Iterator[Any]:
        detail = self.json(response)
        if detail is None:
            return
        entry = response.meta.get("entry") or {}
        name = detail.get("qualifiedName") or entry.get("qualifiedName")
        missing = [f for f in ("qualifiedName",) if not detail.get(f)]
        repo = detail.get("repository") or entry.get("repository")
        if isinstance(repo, dict):
            repo = repo.get("url")
        tools = detail.get("tools")
        remotes = []
        for conn in detail.get("connections") or []:
            if (
                isinstance(conn, dict)
                and conn.get("type") == "http"
                and isinstance(conn.get("deploymentUrl"), str)
            ):
                remotes.append({"transport": "streamable-http", "url": conn["deploymentUrl"]})
        if not self.take():
            return
        yield ServerItem(
            source=self.source,
            source_id=str(name),
            name=str(name) if name else None,
            title=detail.get("displayName") or entry.get("displayName"),
            description=detail.get("description") or entry.get("description"),
            repository_url=repo if isinstance(repo, str) else None,
            homepage=entry.get("homepage") or detail.get("homepage"),
            listing_url=f"https://smithery.ai/server/{name}",
            fallback_key=f"smithery:{name}" if name else None,
            remotes=remotes,
            tools=tools if isinstance(tools, list) else None,
            tools_complete=isinstance(tools, list) and bool(tools) and bool(detail.get("deploymentUrl")),
            missing=missing,
            raw=detail,
        )
