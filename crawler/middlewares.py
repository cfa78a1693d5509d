"""Retries that honour Retry-After (429, 503) and back off exponentially otherwise."""

from __future__ import annotations

import logging
import random
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.http import Request, Response
from scrapy.logformatter import LogFormatter
from scrapy.utils.defer import deferred_to_future
from scrapy.utils.response import response_status_message
from twisted.internet.task import deferLater

__all__ = ["QuietLogFormatter", "RetryAfterMiddleware", "retry_after_seconds"]


def retry_after_seconds(value: str | bytes | None, *, now: datetime | None = None) -> float | None:
    """Seconds a Retry-After header asks for (delta-seconds or an HTTP date), None if unusable."""
    if value is None:
        return None
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    text = text.strip()
    if not text:
        return None
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class RetryAfterMiddleware(RetryMiddleware):
    """Scrapy's retry, but a retried response first waits: Retry-After, else base * 2**n."""

    def __init__(self, settings: Any) -> None:
        super().__init__(settings)
        self.backoff_base = settings.getfloat("MCPCAT_RETRY_BACKOFF_BASE", 1.0)
        self.backoff_max = settings.getfloat("MCPCAT_RETRY_BACKOFF_MAX", 60.0)
        self.retry_after_max = settings.getfloat("MCPCAT_RETRY_AFTER_MAX", 120.0)

    def _delay(self, request: Request, response: Response | None) -> float:
        if response is not None and response.status in (429, 503):
            asked = retry_after_seconds(response.headers.get(b"Retry-After"))
            if asked is not None:
                return min(asked, float(self.retry_after_max))
        n = int(request.meta.get("retry_times", 0))
        wait = min(float(self.backoff_base) * (2**n), float(self.backoff_max))
        return float(wait * (0.75 + random.random() / 2))  # noqa: S311 - jitter, not crypto

    async def _wait(self, seconds: float) -> None:
        if seconds > 0:
            from twisted.internet import reactor  # the crawler's (asyncio) reactor, once installed

            await deferred_to_future(deferLater(reactor, seconds, lambda: None))

    async def process_response(  # type: ignore[override]
        self, request: Request, response: Response
    ) -> Request | Response:
        if request.meta.get("dont_retry", False) or response.status not in self.retry_http_codes:
            return response
        retry = self._retry(request, response_status_message(response.status))
        if retry is None:
            return response
        stats = self.crawler.stats
        if stats is not None:
            stats.inc_value(f"mcpcat/retries/{response.status}")
        await self._wait(self._delay(request, response))
        return retry

    async def process_exception(  # type: ignore[override]
        self, request: Request, exception: Exception
    ) -> Request | Response | None:
        if request.meta.get("dont_retry", False) or not isinstance(exception, self.exceptions_to_retry):
            return None
        retry = self._retry(request, exception)
        if retry is None:
            return None
        await self._wait(self._delay(request, None))
        return retry


class QuietLogFormatter(LogFormatter):
    """Logs a dropped item by its reason only (the item with its raw JSON is too long to read)."""

    def dropped(self, item: Any, exception: BaseException, response: Any, spider: Any = None) -> Any:
        entry = super().dropped(item, exception, response, spider)
        entry["level"] = logging.INFO
        entry["msg"] = "Dropped: %(exception)s"
        return entry
