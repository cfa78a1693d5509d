"""Item pipelines, one job each (orders in settings.ITEM_PIPELINES):

100 ValidatePipeline   drop records missing the source's required fields (counted error)
200 NormalisePipeline  catalog identity, safe URLs, packages, remotes, the listing with raw JSON
300 ToolsPipeline      tools the source lists -> ToolRecords (origin listed, annotations kept)
400 ExtractPipeline    hook for crawler.extract: tools from source archives (off by default)
500 StorePipeline      merge records of one server, upsert in batches, checkpoint, classify

Every skipped record is counted and logged through the spider's `fail_record`, which names
the source and the record; the crawl goes on.
"""

from __future__ import annotations

import logging
from typing import Any, Self

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem, NotConfigured
from scrapy.utils.misc import load_object

from catalog.errors import CatalogError, InvalidRecord, StoreError
from catalog.records import ListingRecord, PackageRecord, RemoteRecord, ServerRecord, ToolRecord
from crawler.errors import UnsafeURL
from crawler.identity import canonical_repo, repo_home, safe_http_url, server_key
from crawler.items import PageDone, ServerItem
from crawler.spiders._base import clear_checkpoint, write_checkpoint

__all__ = [
    "ExtractPipeline",
    "NormalisePipeline",
    "StorePipeline",
    "ToolsPipeline",
    "ValidatePipeline",
    "mentioned_packages",
    "merge_records",
]

log = logging.getLogger(__name__)

# Packages that sources name, per registry, in this process: the `pypi` spider crawls these.
_MENTIONED: dict[str, set[str]] = {}


def mentioned_packages(registry: str) -> set[str]:
    return _MENTIONED.setdefault(registry, set())


def _fail(crawler: Crawler, kind: str, record: str, message: str) -> None:
    spider = crawler.spider
    if spider is not None and hasattr(spider, "fail_record"):
        spider.fail_record(kind, record, message)
    else:
        log.error("%s %s: %s", kind, record, message)


def _count(crawler: Crawler, key: str, n: int = 1) -> None:
    if crawler.stats is not None and n:
        crawler.stats.inc_value(f"mcpcat/{key}", n)


class _Stage:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)


class ValidatePipeline(_Stage):
    """Drops a record that lacks what its source's schema requires."""

    def process_item(self, item: Any) -> Any:
        if not isinstance(item, ServerItem):
            return item
        if item.missing:
            reason = f"{item.source}: record {item.source_id!r} lacks required {', '.join(item.missing)}"
            _fail(self.crawler, "missing_fields", f"{item.source}:{item.source_id}", reason)
            raise DropItem(reason)
        return item


class NormalisePipeline(_Stage):
    """Builds the ServerRecord: identity key, safe URLs, packages, remotes and the raw listing."""

    def process_item(self, item: Any) -> Any:
        if not isinstance(item, ServerItem):
            return item
        where = f"{item.source}:{item.source_id}"
        packages = [
            PackageRecord(
                registry_type=str(p["registry"]).lower(),
                identifier=str(p["identifier"]),
                version=p.get("version") if isinstance(p.get("version"), str) else None,
                transport=p.get("transport") if isinstance(p.get("transport"), str) else None,
            )
            for p in item.packages
            if p.get("registry") and p.get("identifier")
        ]
        repo = item.repository_url.strip() if item.repository_url else None
        key = home = None
        if repo:
            try:
                key = canonical_repo(repo, item.repository_subfolder)
                home = repo_home(repo)
            except UnsafeURL as e:
                if safe_http_url(repo) is not None:  # a website, not a repository: keep it as such
                    item.homepage = item.homepage or repo
                    _count(self.crawler, "not_a_repository")
                else:
                    _fail(self.crawler, "unsafe_url", where, str(e))
        if key is None:
            key = server_key(
                registry_name=item.registry_name, packages=[(p.registry_type, p.identifier) for p in packages]
            )
        if key is None:
            key = item.fallback_key
        if key is None:
            reason = f"{where}: no usable identity (no safe repository URL, registry name or package)"
            _fail(self.crawler, "no_identity", where, reason)
            raise DropItem(reason)
        homepage = self._safe(item.homepage, where, "homepage")
        remotes = []
        for r in item.remotes:
            url = self._safe(r.get("url"), where, "remote")
            if url:
                remotes.append(RemoteRecord(transport=str(r.get("transport") or "streamable-http"), url=url))
        for p in packages:
            if p.registry_type in ("pypi", "npm"):
                mentioned_packages(p.registry_type).add(p.identifier)
        item.record = ServerRecord(
            key=key,
            name=item.name or item.title or key,
            title=item.title,
            description=item.description,
            repository_url=home,
            homepage=homepage,
            language=item.language,
            listings=[
                ListingRecord(
                    source=item.source,
                    source_id=item.source_id,
                    url=safe_http_url(item.listing_url),
                    raw=item.raw,
                )
            ],
            packages=packages,
            remotes=remotes,
        )
        return item

    def _safe(self, url: Any, where: str, what: str) -> str | None:
        if url in (None, ""):
            return None
        safe = safe_http_url(url)
        if safe is None:
            _fail(self.crawler, "unsafe_url", where, f"{what} URL is not http(s): {str(url)[:80]!r}")
        return safe


def tool_from_source(data: Any, source: str) -> ToolRecord | None:
    """A ToolRecord from an MCP-shaped tool, or Docker's {name, description, arguments[]}."""
    if not isinstance(data, dict) or not isinstance(data.get("name"), str) or not data["name"].strip():
        return None
    schema = data.get("inputSchema", data.get("input_schema"))
    if not isinstance(schema, dict) and isinstance(data.get("arguments"), list):
        props: dict[str, Any] = {}
        required = []
        for arg in data["arguments"]:
            if not isinstance(arg, dict) or not isinstance(arg.get("name"), str):
                continue
            prop: dict[str, Any] = {"type": arg.get("type") or "string"}
            if arg.get("desc") or arg.get("description"):
                prop["description"] = arg.get("desc") or arg.get("description")
            if isinstance(arg.get("items"), dict):
                prop["items"] = arg["items"]
            props[arg["name"]] = prop
            if not arg.get("optional"):
                required.append(arg["name"])
        schema = {"type": "object", "properties": props, **({"required": required} if required else {})}
    desc = data.get("description")
    out = data.get("outputSchema", data.get("output_schema"))
    ann = data.get("annotations")
    return ToolRecord(
        name=data["name"].strip(),
        title=data.get("title") if isinstance(data.get("title"), str) else None,
        description=desc if isinstance(desc, str) else None,
        input_schema=schema if isinstance(schema, dict) else None,
        output_schema=out if isinstance(out, dict) else None,
        annotations=ann if isinstance(ann, dict) else None,
        origin={"kind": "listed", "source": source},
    )


class ToolsPipeline(_Stage):
    """Carries the tools a source lists into the record; bad or repeated tools are counted."""

    def process_item(self, item: Any) -> Any:
        if not isinstance(item, ServerItem) or item.record is None or item.tools is None:
            return item
        tools: dict[str, ToolRecord] = {}
        for index, data in enumerate(item.tools):
            tool = tool_from_source(data, item.source)
            where = f"{item.source}:{item.source_id} tool #{index}"
            if tool is None:
                _fail(self.crawler, "bad_tool", where, "tool without a name")
            elif tool.name in tools:
                _fail(self.crawler, "bad_tool", where, f"tool name {tool.name!r} repeats")
            else:
                tools[tool.name] = tool
        item.record.tools = list(tools.values())
        item.record.tools_complete = item.tools_complete and bool(tools)
        _count(self.crawler, "tools", len(tools))
        return item


class ExtractPipeline(_Stage):
    """Finds tools for servers that no source listed, in worker threads (when enabled).

    `MCPCAT_EXTRACTOR` names either a class with `from_crawler(crawler)` whose instance has
    `source(record, introspect_only=...) -> crawler.sourcing.Sourced` (the default,
    `crawler.sourcing:Sourcer`: live remote, then repository archive, then package archive),
    or a plain `f(record: ServerRecord) -> list[ToolRecord] | None`. Each tool's origin is set
    by the extractor. At most MCPCAT_EXTRACT_WORKERS servers are worked on at once across the
    whole process. A server's failures are counted under mcpcat/extract/* and kept in the run's
    errors, but do not spend the source's error budget: a registry full of servers without
    reachable source must not stop its crawl. An extractor that raises is a counted error.
    """

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self.extract: Any = None  # off: a pass-through (NotConfigured would log a warning each run)
        self.pending: set[Any] = set()
        s = crawler.settings
        self.always_introspect = set(s.getlist("MCPCAT_INTROSPECT_SOURCES"))
        if not s.getbool("MCPCAT_EXTRACT_ENABLED"):
            return
        path = s.get("MCPCAT_EXTRACTOR", "").replace(":", ".")
        self.extract = _shared_extractor(path, crawler)
        self.sem = _shared_semaphore(max(1, s.getint("MCPCAT_EXTRACT_WORKERS", 2)))

    def process_item(self, item: Any) -> Any:
        if isinstance(item, PageDone) and self.pending:
            # A page is done only when its servers' extractions are: hold the marker till then.
            from twisted.internet.defer import DeferredList

            return DeferredList(list(self.pending), consumeErrors=True).addCallback(lambda _: item)
        record = item.record if isinstance(item, ServerItem) else None
        if self.extract is None or record is None:
            return item
        introspect_only = bool(record.tools)
        if introspect_only and not (record.remotes and item.source in self.always_introspect):
            return item
        if not (record.repository_url or record.remotes or record.packages):
            return item

        def done(result: Any) -> Any:
            tools, complete, via = _unpack_result(result)
            for problem in getattr(result, "problems", ()):
                _note(self.crawler, problem.kind, record.key, problem.message)
            if getattr(result, "skipped", None):
                _count(self.crawler, "extract/skipped")
            if tools and introspect_only and not complete:
                _count(self.crawler, "extract/partial_listing_kept_source")  # the source's whole list stays
            elif tools:
                record.tools = list(tools)
                record.tools_complete = complete
                _count(self.crawler, "tools", len(tools))
                _count(self.crawler, f"extract/servers_{via or 'extracted'}")
            _count(self.crawler, "extract/downloads", int(getattr(result, "downloads", 0)))
            return item

        def failed(failure: Any) -> Any:
            _fail(self.crawler, "extract", record.key, failure.getErrorMessage())
            return item

        from twisted.internet.threads import deferToThread

        extract = self.extract
        if hasattr(extract, "source"):
            d = self.sem.run(deferToThread, extract.source, record, introspect_only=introspect_only)
        else:
            d = self.sem.run(deferToThread, extract, record)
        d.addCallbacks(done, failed)
        self.pending.add(d)

        def settle(result: Any) -> Any:
            self.pending.discard(d)
            return result

        return d.addBoth(settle)


# One extractor and one worker limit per process: sources crawled at once share them, so a
# server listed by several sources is fetched once and at most N archives are worked on.
_EXTRACTORS: dict[str, Any] = {}
_SEMAPHORE: list[Any] = []


def _shared_extractor(path: str, crawler: Crawler) -> Any:
    if path not in _EXTRACTORS:
        try:
            obj = load_object(path)
        except (ImportError, NameError, ValueError, AttributeError) as e:
            raise NotConfigured(f"extractor {path!r} not available: {e}") from None
        _EXTRACTORS[path] = obj.from_crawler(crawler) if hasattr(obj, "from_crawler") else obj
    return _EXTRACTORS[path]


def _shared_semaphore(workers: int) -> Any:
    from twisted.internet.defer import DeferredSemaphore

    if not _SEMAPHORE:
        _SEMAPHORE.append(DeferredSemaphore(workers))
    return _SEMAPHORE[0]


def _unpack_result(result: Any) -> tuple[list[ToolRecord], bool, str | None]:
    """(tools, complete, via) from a Sourced or a plain list (extracted lists are complete)."""
    if result is None:
        return [], False, None
    if isinstance(result, list):
        return result, bool(result), None
    return list(result.tools), bool(result.complete), result.via


def _note(crawler: Crawler, kind: str, record: str, message: str) -> None:
    """A server whose tools could not be sourced: counted, logged and kept, outside the budget."""
    _count(crawler, "extract/problems")
    _count(crawler, f"extract/{kind}")
    spider = crawler.spider
    source = getattr(spider, "source", None) or (spider.name if spider else "?")
    log.warning("%s: extract %s %s: %s", source, kind, record, message)
    errors = getattr(spider, "errors", None)
    if isinstance(errors, list) and len(errors) < getattr(spider, "errors_kept", 200):
        errors.append(
            {"source": source, "kind": f"extract_{kind}", "record": record[:300], "message": message[:500]}
        )


def merge_records(a: ServerRecord, b: ServerRecord) -> ServerRecord:
    """`a` with `b` folded in: fields `a` lacks, listings/packages/remotes/tools unioned."""
    for name in ("title", "description", "repository_url", "homepage", "language"):
        if getattr(a, name) is None:
            setattr(a, name, getattr(b, name))
    if a.name == a.key and b.name != b.key:
        a.name = b.name
    listings = {(x.source, x.source_id): x for x in a.listings}
    listings.update({(x.source, x.source_id): x for x in b.listings})
    a.listings = list(listings.values())
    have = {(p.registry_type, p.identifier) for p in a.packages}
    a.packages += [p for p in b.packages if (p.registry_type, p.identifier) not in have]
    urls = {r.url for r in a.remotes}
    a.remotes += [r for r in b.remotes if r.url not in urls]
    names = {t.name for t in a.tools}
    a.tools += [t for t in b.tools if t.name not in names]
    a.tools_complete = a.tools_complete or b.tools_complete
    return a


def _origin_rank(origin: dict[str, Any] | None, order: list[str]) -> int:
    """Lower is more trusted: a live server's own list, then sources in MCPCAT_TOOL_SOURCES
    order, then other sources, then static extraction."""
    origin = origin or {}
    kind = origin.get("kind")
    if kind == "introspected":
        return 0
    if kind == "listed":
        source = origin.get("source")
        return 1 + (order.index(source) if source in order else len(order))
    return 2 + len(order)


class StorePipeline(_Stage):
    """Upserts servers through catalog.store in batches, one transaction per batch.

    Records of one key within a batch are merged first. A `PageDone` marker flushes a full
    batch and then records the page as the source's checkpoint, so a SIGKILL loses at most
    the unflushed pages, which the next run fetches again (upserts are idempotent).
    """

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        s = crawler.settings
        self.url = s.get("MCPCAT_DB")
        self.batch_size = max(1, s.getint("MCPCAT_STORE_BATCH", 250))
        self.jobdir = s.get("MCPCAT_JOBDIR") or ".mcpcat/jobs"
        self.classify = s.getbool("MCPCAT_CLASSIFY", True)
        self.tool_sources = s.getlist("MCPCAT_TOOL_SOURCES")
        self.buffer: dict[str, ServerRecord] = {}
        self.checkpoint: dict[str, Any] | None = None
        self.source = ""
        self.catalog: Any = None
        self.totals: dict[str, int] = {}

    def open_spider(self) -> None:
        from catalog.store import Catalog

        spider = self.crawler.spider
        self.source = getattr(spider, "source", None) or (spider.name if spider else "")
        self.catalog = Catalog(self.url)

    def process_item(self, item: Any) -> Any:
        if isinstance(item, PageDone):
            if len(self.buffer) >= self.batch_size:
                self.flush()
                write_checkpoint(self.jobdir, item.source, item.checkpoint)
            self.checkpoint = item.checkpoint
            return item
        if isinstance(item, ServerItem) and item.record is not None:
            rec = item.record
            if rec.key in self.buffer:
                merge_records(self.buffer[rec.key], rec)
            else:
                self.buffer[rec.key] = rec
            if len(self.buffer) >= self.batch_size * 4:
                self.flush()  # no marker in sight (a source without pages): store anyway
        return item

    def flush(self) -> None:
        if not self.buffer:
            return
        records = list(self.buffer.values())
        self.buffer.clear()
        try:
            self._keep_trusted_tools(records)
            stats = self.catalog.upsert_servers(records)
        except StoreError as e:
            _fail(self.crawler, "store", self.source, str(e))
            spider = self.crawler.spider
            if spider is not None and hasattr(spider, "stop"):
                spider.stop("fatal", f"the catalog failed: {e}")
            return
        except (InvalidRecord, CatalogError):
            self._one_by_one(records)
            return
        self._add(stats)

    def _keep_trusted_tools(self, records: list[ServerRecord]) -> None:
        """Leave a server's stored tools alone when a more trusted origin gave them.

        Two sources listing one server's tools differently (Smithery and Glama often do) would
        otherwise replace each other's definitions on every crawl: false "changed" versions and
        removals. The more trusted list wins; the other source's listing is still stored."""
        with_tools = [r for r in records if r.tools]
        if not with_tools:
            return
        stored = self.catalog.tool_origins([r.key for r in with_tools])
        for rec in with_tools:
            have = stored.get(rec.key)
            if not have:
                continue
            best = min(_origin_rank(o, self.tool_sources) for o in have)
            mine = rec.tools[0].origin
            if best < _origin_rank(mine, self.tool_sources):
                rec.tools, rec.tools_complete = [], False
                _count(self.crawler, "tools_deferred")

    def _one_by_one(self, records: list[ServerRecord]) -> None:
        """A batch the store refused: store what it accepts, count the rest by key."""
        for rec in records:
            try:
                self._add(self.catalog.upsert_servers([rec]))
            except CatalogError as e:
                _fail(self.crawler, "store_rejected", f"{self.source}:{rec.key}", str(e))

    def _add(self, stats: Any) -> None:
        values = stats.as_dict() if hasattr(stats, "as_dict") else {}
        for k, v in values.items():
            self.totals[k] = self.totals.get(k, 0) + int(v)
            _count(self.crawler, f"store/{k}", int(v))

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        pipeline = cls(crawler)
        crawler.signals.connect(pipeline.spider_closed, signal=signals.spider_closed)
        return pipeline

    def spider_closed(self, spider: Any, reason: str) -> None:
        """A source that ran to its end (or its --limit) starts from the beginning next time."""
        if reason in ("finished", "limit") and not getattr(spider, "fatal", None):
            clear_checkpoint(self.jobdir, self.source)

    def close_spider(self) -> None:
        try:
            self.flush()
            if self.checkpoint:
                write_checkpoint(self.jobdir, self.source, self.checkpoint)
            if self.classify:
                try:
                    _count(self.crawler, "classified", int(self.catalog.classify_pending()))
                except Exception as e:  # the classifier is another package: report, keep the data
                    _fail(self.crawler, "classify", self.source, f"{type(e).__name__}: {e}")
        finally:
            self.catalog.close()
