"""Runs a crawl in-process (Scrapy's CrawlerProcess) and records it in crawl_runs.

`run_crawl()` is what `mcpcat crawl` calls: it checks arguments (BadArgument, exit 2), starts
a run in the catalog, crawls every source but `pypi` at once, then `pypi` (which crawls the
Python packages the others named), reports progress to a callback, and finishes the run
with per-source counts and errors. Twisted's reactor runs once per process: call this once.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from crawler.errors import BadArgument
from crawler.identity import safe_http_url

log = logging.getLogger(__name__)

__all__ = [
    "ALL_SOURCES",
    "CrawlResult",
    "SourceResult",
    "parse_assignments",
    "run_crawl",
]

# Default sources, in display order. Registry-API sources (pulsemcp, github, private ones)
# are crawled by the `official` spider and run only when named.
ALL_SOURCES = ("official", "smithery", "glama", "npm", "docker", "awesome", "pypi")
LATE_SOURCES = ("pypi",)
REGISTRY_API = "official"


@dataclass
class SourceResult:
    source: str
    status: str = "complete"  # complete | partial (stopped at --limit) | failed | skipped
    note: str = ""
    pages: int = 0
    servers: int = 0
    tools: int = 0
    errors: int = 0
    retries: int = 0
    seconds: float = 0.0
    store: dict[str, int] = field(default_factory=dict)
    # Tools found for servers no source listed them for: servers_introspected,
    # servers_repository/npm/pypi, downloads, skipped (up to date), problems and their kinds.
    extract: dict[str, int] = field(default_factory=dict)
    error_list: list[dict[str, Any]] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.servers / self.seconds if self.seconds > 0 else 0.0

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("error_list")
        d["rate"] = round(self.rate, 1)
        d["seconds"] = round(self.seconds, 2)
        return d


@dataclass
class CrawlResult:
    run_id: int | None
    status: str
    sources: list[SourceResult]

    @property
    def exit_code(self) -> int:
        return 1 if any(s.status == "failed" for s in self.sources) else 0

    def as_dict(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "status": self.status, "sources": [s.as_dict() for s in self.sources]}


Progress = Callable[[dict[str, SourceResult]], None]


def parse_assignments(values: Sequence[str], what: str) -> dict[str, str]:
    """`NAME=VALUE` pairs (from repeatable options) as a dict; BadArgument on a bad one."""
    out: dict[str, str] = {}
    for value in values:
        name, sep, rest = value.partition("=")
        if not sep or not name.strip() or not rest.strip():
            raise BadArgument(f"{what} must look like NAME=VALUE, not {value!r}")
        out[name.strip()] = rest.strip()
    return out


def _settings(db_url: str, overrides: dict[str, str]) -> Any:
    from scrapy.settings import Settings

    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    settings.set("MCPCAT_DB", db_url, priority="cmdline")
    settings.set("LOG_LEVEL", os.environ.get("MCPCAT_LOG_LEVEL", "WARNING"), priority="cmdline")
    for key, value in overrides.items():
        settings.set(key, value, priority="cmdline")
    return settings


def _resolve(sources: Sequence[str], settings: Any) -> list[tuple[str, str]]:
    """(source, spider name) pairs; BadArgument for a name no spider or registry answers to."""
    from scrapy.spiderloader import SpiderLoader

    from crawler.spiders.official import registry_sources

    spiders = set(SpiderLoader.from_settings(settings).list())
    registries = set(registry_sources(settings))
    out: list[tuple[str, str]] = []
    for source in sources or ALL_SOURCES:
        if source in spiders:
            out.append((source, source))
        elif source in registries:
            out.append((source, REGISTRY_API))
        else:
            known = ", ".join(sorted(spiders | registries))
            raise BadArgument(f"unknown source {source!r} (known: {known})")
        if out.count(out[-1]) > 1:
            raise BadArgument(f"source {source!r} given twice")
    return out


def _since(catalog: Any, source: str) -> str | None:
    when: datetime | None = catalog.last_successful_run(source)
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def run_crawl(
    sources: Sequence[str] = (),
    *,
    db_url: str,
    limit: int | None = None,
    base_urls: dict[str, str] | None = None,
    overrides: dict[str, str] | None = None,
    full: bool = False,
    extract: bool = True,
    progress: Progress | None = None,
) -> CrawlResult:
    """Crawl `sources` (all by default) into the catalog at `db_url`; never raises on a source's
    failure (that is its SourceResult), only BadArgument before anything starts.

    With `extract` (the default), servers no source lists tools for are introspected when
    they list a remote, else read from their repository or package archive
    (crawler.sourcing); `extract=False` (`--no-extract`) turns both off, and so does the
    setting MCPCAT_EXTRACT_ENABLED=false."""
    base_urls = dict(base_urls or {})
    if limit is not None and limit < 1:
        raise BadArgument("--limit must be at least 1")
    defaults = {"MCPCAT_CLASSIFY": "false"}
    settings = _settings(db_url, {**defaults, **(overrides or {})})
    if not extract:
        settings.set("MCPCAT_EXTRACT_ENABLED", False, priority="cmdline")
    pairs = _resolve(sources, settings)
    names = [s for s, _ in pairs]
    for name, url in base_urls.items():
        if name not in names:
            raise BadArgument(f"--base-url for {name!r}, which is not crawled (sources: {', '.join(names)})")
        if safe_http_url(url) is None:
            raise BadArgument(f"--base-url {name}={url!r}: not an http(s) URL")

    from catalog.store import Catalog

    catalog = Catalog(db_url)
    try:
        run_id = catalog.start_run(names)
        since = {} if full else {s: _since(catalog, s) for s, spider in pairs if spider == REGISTRY_API}
        results = _crawl(pairs, settings, limit=limit, base_urls=base_urls, since=since, progress=progress)
        errors = [e for r in results for e in r.error_list]
        classified = _classify(catalog, errors)
        completed = [r.source for r in results if r.status == "complete"]
        if len(completed) == len(results):
            status = "complete"
        elif completed or any(r.status in ("partial", "skipped") for r in results):
            status = "partial"
        else:
            status = "failed"
        counts: dict[str, Any] = {"completed_sources": completed, "classified": classified}
        for r in results:
            for key in ("pages", "servers", "tools", "errors"):
                counts[f"{r.source}.{key}"] = getattr(r, key)
            for key, value in r.store.items():
                counts[f"{r.source}.{key}"] = value
            for key, value in r.extract.items():
                counts[f"{r.source}.extract.{key}"] = value
        errors += [
            {"source": r.source, "kind": "source_failed", "record": r.source, "message": r.note}
            for r in results
            if r.status == "failed"
        ]
        catalog.finish_run(run_id, status=status, counts=counts, errors=errors)
    finally:
        catalog.close()
    return CrawlResult(run_id, status, results)


def _classify(catalog: Any, errors: list[dict[str, Any]]) -> int:
    """Classify what the crawl added; a classifier failure is a run error, not a lost crawl."""
    try:
        return int(catalog.classify_pending())
    except Exception as e:  # the classifier is another package: any failure is reported
        log.warning("classification failed: %s: %s", type(e).__name__, e)
        errors.append(
            {"source": "*", "kind": "classify", "record": "*", "message": f"{type(e).__name__}: {e}"}
        )
        return 0


def _crawl(
    pairs: list[tuple[str, str]],
    settings: Any,
    *,
    limit: int | None,
    base_urls: dict[str, str],
    since: dict[str, str | None],
    progress: Progress | None,
) -> list[SourceResult]:
    from scrapy.crawler import Crawler, CrawlerProcess
    from scrapy.utils.reactor import install_reactor
    from twisted.internet import task
    from twisted.internet.defer import Deferred, DeferredList

    install_reactor(settings["TWISTED_REACTOR"], settings["ASYNCIO_EVENT_LOOP"])
    process = CrawlerProcess(settings)
    loader = process.spider_loader
    results = {source: SourceResult(source) for source, _ in pairs}
    crawlers: dict[str, Any] = {}
    started: dict[str, float] = {}
    concurrency = settings.getdict("MCPCAT_SOURCE_CONCURRENCY")

    def make(source: str, spider: str) -> tuple[Any, dict[str, Any]]:
        s = settings.copy()
        if source in concurrency:  # "spider" priority: --setting (cmdline) still wins
            conc, delay = concurrency[source]
            s.set("CONCURRENT_REQUESTS_PER_DOMAIN", int(conc), priority="spider")
            s.set("DOWNLOAD_DELAY", float(delay), priority="spider")
        kwargs: dict[str, Any] = {"source": source}
        if source in base_urls:
            kwargs["base_url"] = base_urls[source]
        if limit is not None:
            kwargs["limit"] = limit
        if since.get(source):
            kwargs["updated_since"] = since[source]
        return Crawler(loader.load(spider), s), kwargs

    async def one(source: str, spider: str) -> None:
        started[source] = time.monotonic()
        try:
            crawler, kwargs = make(source, spider)
            crawlers[source] = crawler
            await process.crawl(crawler, **kwargs)
        except Exception as e:
            results[source].status = "failed"
            results[source].note = f"{type(e).__name__}: {e}"
        finally:
            collect(source)

    def collect(source: str) -> None:
        r = results[source]
        crawler = crawlers.get(source)
        if crawler is None:
            return
        r.seconds = time.monotonic() - started.get(source, time.monotonic())
        stats = crawler.stats.get_stats() if crawler.stats else {}
        r.pages = int(stats.get("mcpcat/pages", 0))
        r.servers = int(stats.get("mcpcat/servers", 0))
        r.tools = int(stats.get("mcpcat/tools", 0))
        r.errors = int(stats.get("mcpcat/errors", 0))
        r.retries = int(stats.get("retry/count", 0))
        r.store = {
            k.removeprefix("mcpcat/store/"): int(v) for k, v in stats.items() if k.startswith("mcpcat/store/")
        }
        r.extract = {
            k.removeprefix("mcpcat/extract/"): int(v)
            for k, v in stats.items()
            if k.startswith("mcpcat/extract/")
        }
        spider = getattr(crawler, "spider", None)
        if spider is None or r.status == "failed":
            return
        r.error_list = list(getattr(spider, "errors", []))
        reason = stats.get("finish_reason")
        if reason is None:
            return  # still running: a progress snapshot
        if getattr(spider, "skip_note", None):
            r.status, r.note = "skipped", spider.skip_note
        elif getattr(spider, "fatal", None):
            r.status, r.note = "failed", spider.fatal
        elif reason == "limit":
            r.status, r.note = "partial", f"stopped at --limit {limit}"
        elif reason != "finished":
            r.status, r.note = "failed", f"stopped: {reason}"

    async def main() -> None:
        early = [(s, sp) for s, sp in pairs if s not in LATE_SOURCES]
        late = [(s, sp) for s, sp in pairs if s in LATE_SOURCES]
        await DeferredList([Deferred.fromCoroutine(one(s, sp)) for s, sp in early])
        for s, sp in late:
            await one(s, sp)

    ticker = None
    if progress is not None:

        def tick() -> None:
            for source in crawlers:
                if results[source].status != "failed":
                    collect(source)
            progress(results)

        ticker = task.LoopingCall(tick)

    def done(outcome: Any) -> None:
        if hasattr(outcome, "getTraceback"):
            import logging

            logging.getLogger(__name__).error("crawl failed: %s", outcome.getTraceback())
        if ticker is not None and ticker.running:
            ticker.stop()
        from twisted.internet import reactor as installed

        reactor: Any = installed  # the running reactor (twisted's module stub types it badly)
        if reactor.running:
            reactor.stop()

    def begin() -> None:
        if ticker is not None:
            ticker.start(0.5)
        Deferred.fromCoroutine(main()).addBoth(done)

    from twisted.internet import reactor

    reactor.callWhenRunning(begin)
    process.start(stop_after_crawl=False)
    if progress is not None:
        progress(results)
    return [results[s] for s, _ in pairs]
