"""Glama's MCP server API: `/servers?first=&after=` (Relay cursors); every entry lists its tools.

GLAMA_API_KEY is sent as a Bearer token when set; Glama answers 401 without one (2026), which
fails the source with a note saying so.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import urlencode

from scrapy.http import Response

from crawler.items import ServerItem
from crawler.spiders._base import PageGuard, SourceSpider, obj

PAGE_SIZE = 100


class GlamaSpider(SourceSpider):
    name = "glama"

    def __init__(self, *args: Any, page_size: str | int | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.page_size_arg = page_size
        self.api_key = os.environ.get("GLAMA_API_KEY", "")
        self.seen: set[str] = set()

    def headers(self) -> dict[str, str]:
        h = {"Accept": "application/json"}
        if self.api_key:
            h["Authorization"] = f"Bearer {self.api_key}"
        return h

    def page_url(self, after: str | None) -> str:
        params = {"first": str(self.page_size), **({"after": after} if after else {})}
        return f"{self.base_url}/servers?{urlencode(params)}"

    async def start(self) -> AsyncIterator[Any]:
        self.guard = PageGuard(self.max_pages, self.stale_pages)
        self.page_size = self.int_arg(
            "page_size", self.page_size_arg or self.default_page_size or PAGE_SIZE, 1, 100
        )
        yield self.request(self.page_url(None), self.parse, fatal=True)

    def on_error(self, failure: Any) -> None:
        response = getattr(failure.value, "response", None)
        if response is not None and response.status == 401 and not self.api_key:
            self.fatal = "glama: 401 unauthorized; set GLAMA_API_KEY"
        super().on_error(failure)

    def parse(self, response: Response) -> Iterator[Any]:
        data = self.json(response)
        servers = data.get("servers") if data is not None else None
        if data is not None and not isinstance(servers, list):
            self.fail_record("bad_shape", response.url, "no 'servers' list in the page")
        if not isinstance(servers, list):
            if response.meta.get("fatal"):
                self.stop("fatal", f"{response.url}: the first page is not a Glama page")
            else:
                self.incomplete(f"pagination broken at {response.url}")
            return
        new = 0
        for index, s in enumerate(servers):
            if not isinstance(s, dict):
                self.fail_record("bad_record", f"{response.url}#{index}", "entry is not an object")
                continue
            sid = str(s["id"]) if isinstance(s.get("id"), str) else f"{response.url}#{index}"
            if sid in self.seen:
                continue
            self.seen.add(sid)
            new += 1
            if not self.take():
                return
            yield self.item(s, sid)
        info = obj(data.get("pageInfo"))
        after = info.get("endCursor")
        if not info.get("hasNextPage") or not isinstance(after, str) or not after:
            return
        why = self.guard.check(after, new)
        if why:
            self.fail_record("cursor_loop", response.url, why)
            self.incomplete(f"pagination stopped: {why}")
            return
        yield self.request(self.page_url(after), self.parse, meta={"page": True})

    def item(self, s: dict[str, Any], sid: str) -> ServerItem:
        repo = obj(s.get("repository"))
        missing = [f for f in ("name", "namespace", "slug") if not s.get(f)]
        tools = s.get("tools")
        return ServerItem(
            source=self.source,
            source_id=sid,
            name=f"{s.get('namespace')}/{s.get('slug')}" if not missing else s.get("name"),
            title=s.get("name"),
            description=s.get("description"),
            repository_url=repo.get("url") if isinstance(repo.get("url"), str) else None,
            listing_url=s.get("url") if isinstance(s.get("url"), str) else None,
            fallback_key=f"glama:{s.get('namespace')}/{s.get('slug')}" if not missing else None,
            tools=tools if isinstance(tools, list) else None,
            tools_complete=isinstance(tools, list) and bool(tools),
            missing=missing,
            raw=s,
        )
