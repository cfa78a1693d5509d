"""What every source spider shares: base URL, limit, error accounting, JSON, pagination guard.

Recipe for a new source (see `glama.py` for a short one): subclass `SourceSpider`, set
`name` to the source slug, add the default base URL to `MCPCAT_SOURCE_URLS`, build requests
with `self.request(url, callback)`, parse bodies with `self.json(response)`, yield
`ServerItem`s, call `self.fail_record(...)` for anything skipped, and add
`tests/fixtures/<name>/` plus a route in `tests/mirror/`.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, Self

import scrapy
from scrapy.crawler import Crawler
from scrapy.http import Request, Response
from twisted.python.failure import Failure

from crawler.errors import BadArgument
from crawler.identity import safe_http_url


def obj(value: Any) -> dict[str, Any]:
    """`value` if it is a JSON object, else an empty one (sources omit and mistype fields)."""
    return value if isinstance(value, dict) else {}


__all__ = [
    "PageGuard",
    "SourceSpider",
    "checkpoint_path",
    "clear_checkpoint",
    "obj",
    "read_checkpoint",
    "write_checkpoint",
]

log = logging.getLogger(__name__)

FAILED_REASONS = ("error_budget", "fatal")


def checkpoint_path(jobdir: str, source: str) -> Path:
    return Path(jobdir) / f"{source}.checkpoint.json"


def read_checkpoint(jobdir: str, source: str) -> dict[str, Any] | None:
    try:
        data = json.loads(checkpoint_path(jobdir, source).read_text("utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def write_checkpoint(jobdir: str, source: str, data: dict[str, Any]) -> None:
    """Atomic write (temp file + rename): a kill leaves the old checkpoint or the new one."""
    path = checkpoint_path(jobdir, source)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data), "utf-8")
    os.replace(tmp, path)


def clear_checkpoint(jobdir: str, source: str) -> None:
    checkpoint_path(jobdir, source).unlink(missing_ok=True)


class PageGuard:
    """Stops a pagination that never ends: a repeated cursor, stale pages, or too many pages."""

    def __init__(self, max_pages: int, stale_pages: int) -> None:
        self.max_pages = max_pages
        self.stale_pages = stale_pages
        self.pages = 0
        self.stale = 0
        self.cursors: set[str] = set()

    def check(self, next_cursor: str, new_records: int) -> str | None:
        """Why not to follow `next_cursor` after a page with `new_records` unseen records, or None."""
        self.pages += 1
        self.stale = 0 if new_records else self.stale + 1
        if next_cursor in self.cursors:
            return f"cursor {next_cursor[:60]!r} repeats after {self.pages} pages"
        if self.stale >= self.stale_pages:
            return f"{self.stale} pages in a row brought no new record (cursor {next_cursor[:60]!r})"
        if self.pages >= self.max_pages:
            return f"more than {self.max_pages} pages"
        self.cursors.add(next_cursor)
        return None


class SourceSpider(scrapy.Spider):
    """Base of the source spiders. Arguments: base_url, limit (servers), source (listing name)."""

    name = ""
    # Read from the settings in from_crawler.
    error_budget = 100
    errors_kept = 200
    max_pages = 5000
    stale_pages = 3
    jobdir = ".mcpcat/jobs"
    default_page_size = 0

    def __init__(
        self,
        *args: Any,
        base_url: str | None = None,
        limit: str | int | None = None,
        source: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.source = source or self.name
        self._base_url_arg = base_url
        try:
            self.limit = int(limit) if limit not in (None, "") else None
        except (TypeError, ValueError):
            raise BadArgument(f"{self.name}: limit must be a whole number, not {limit!r}") from None
        if self.limit is not None and self.limit < 1:
            raise BadArgument(f"{self.name}: limit must be at least 1")
        self.base_url = ""
        self.errors: list[dict[str, Any]] = []
        self.error_count = 0
        self.servers = 0
        self.skip_note: str | None = None
        self.fatal: str | None = None
        self._stopping = False

    def int_arg(self, name: str, value: Any, low: int, high: int) -> int:
        try:
            n = int(value)
        except (TypeError, ValueError):
            raise BadArgument(f"{self.name}: {name} must be a whole number, not {value!r}") from None
        if not low <= n <= high:
            raise BadArgument(f"{self.name}: {name} must be between {low} and {high}")
        return n

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> Self:
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider.base_url = spider.resolve_base_url()
        s = crawler.settings
        spider.error_budget = s.getint("MCPCAT_ERROR_BUDGET", 100)
        spider.errors_kept = s.getint("MCPCAT_ERRORS_KEPT", 200)
        spider.max_pages = s.getint("MCPCAT_MAX_PAGES", 5000)
        spider.stale_pages = s.getint("MCPCAT_STALE_PAGES", 3)
        spider.jobdir = s.get("MCPCAT_JOBDIR") or ".mcpcat/jobs"
        spider.default_page_size = s.getint("MCPCAT_PAGE_SIZE", 0)
        return spider

    def resolve_base_url(self) -> str:
        """Spider argument, else MCPCAT_URL_<SOURCE>, else MCPCAT_SOURCE_URLS[source]."""
        urls = self.settings.getdict("MCPCAT_SOURCE_URLS")
        env = os.environ.get(f"MCPCAT_URL_{self.source.upper().replace('-', '_')}")
        url = self._base_url_arg or env or urls.get(self.source) or urls.get(self.name)
        if not url:
            raise BadArgument(f"{self.source}: no base URL (set --base-url {self.source}=URL)")
        if safe_http_url(url) is None:
            raise BadArgument(f"{self.source}: base URL must be http(s), not {url!r}")
        return url.rstrip("/")

    # --- accounting ---------------------------------------------------------------------------
    def count(self, key: str, n: int = 1) -> None:
        if self.crawler.stats is not None:
            self.crawler.stats.inc_value(f"mcpcat/{key}", n)

    def fail_record(self, kind: str, record: str, message: str) -> None:
        """Count, log and keep one skipped record or failed request; stop past the error budget."""
        self.error_count += 1
        self.count("errors")
        self.count(f"errors/{kind}")
        self.logger.error("%s: %s %s: %s", self.source, kind, record, message)
        if len(self.errors) < self.errors_kept:
            self.errors.append(
                {"source": self.source, "kind": kind, "record": record[:300], "message": message[:500]}
            )
        if self.error_count > self.error_budget and not self._stopping:
            self.stop("error_budget", f"more than {self.error_budget} errors")

    def stop(self, reason: str, message: str) -> None:
        """Close this source's crawl early; `reason` error_budget or fatal marks it failed."""
        if self._stopping:
            return
        self._stopping = True
        if reason in FAILED_REASONS:
            self.fatal = self.fatal or message
        self.logger.warning("%s: stopping (%s): %s", self.source, reason, message)
        engine = self.crawler.engine
        if engine is not None:
            from scrapy.utils.defer import deferred_from_coro

            deferred_from_coro(engine.close_spider_async(reason=reason))

    def incomplete(self, message: str) -> None:
        """A page of the source's listing is lost: what was stored stays, the source is failed
        (so an incremental run does not start after it)."""
        self.fatal = self.fatal or message

    def take(self) -> bool:
        """Whether one more server may be yielded under --limit (and counts it)."""
        if self.limit is not None and self.servers >= self.limit:
            if not self._stopping:
                self.stop("limit", f"limit of {self.limit} servers reached")
            return False
        self.servers += 1
        self.count("servers")
        return True

    # --- requests and bodies ------------------------------------------------------------------
    def headers(self) -> dict[str, str]:
        return {"Accept": "application/json"}

    def request(
        self,
        url: str,
        callback: Callable[..., Any],
        *,
        fatal: bool = False,
        meta: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> Request:
        headers = {**self.headers(), **kwargs.pop("headers", {})}
        return Request(
            url,
            callback=callback,
            errback=self.on_error,
            headers=headers,
            meta={"fatal": fatal, **(meta or {})},
            **kwargs,
        )

    def on_error(self, failure: Failure) -> None:
        request = getattr(failure, "request", None)
        url = request.url if request is not None else "?"
        response = getattr(failure.value, "response", None)
        if response is not None:
            kind, message = "http", f"HTTP {response.status}"
            if response.status in (401, 403):
                kind = "auth"
                message += " (missing or wrong API key?)"
        else:
            kind = "timeout" if "Timeout" in type(failure.value).__name__ else "download"
            message = f"{type(failure.value).__name__}: {failure.getErrorMessage()}"
        self.fail_record(kind, url, message)
        if request is not None and request.meta.get("fatal"):
            self.stop("fatal", f"{url}: {message}")
        elif request is not None and request.meta.get("page"):
            self.incomplete(f"a listing page failed: {url}: {message}")

    def json(self, response: Response, *, expect: type = dict) -> Any:
        """The parsed body, or None after counting why not (HTML, bad or truncated JSON, shape)."""
        self.count("pages")
        body = response.body
        ctype = (response.headers.get(b"Content-Type") or b"").decode("latin-1").lower()
        head = body[:64].lstrip()
        if "html" in ctype or head[:1] == b"<":
            self.fail_record("not_json", response.url, f"HTML instead of JSON ({len(body)} bytes)")
            return None
        try:
            data = json.loads(body)
        except (ValueError, UnicodeDecodeError) as e:
            self.fail_record("bad_json", response.url, f"malformed or truncated JSON: {e}")
            return None
        if not isinstance(data, expect):
            self.fail_record("bad_shape", response.url, f"expected a JSON {expect.__name__}")
            return None
        return data

    def closed(self, reason: str) -> None:
        self.logger.info(
            "%s: closed (%s): %d servers, %d errors", self.source, reason, self.servers, self.error_count
        )
