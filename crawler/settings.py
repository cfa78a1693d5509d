"""Scrapy settings of mcpcat's crawler (`scrapy crawl <source>` or `mcpcat crawl`).

Every source's base URL is `MCPCAT_SOURCE_URLS[name]`, overridden by the environment
variable `MCPCAT_URL_<NAME>` (e.g. MCPCAT_URL_OFFICIAL) and by the spider argument `base_url`
(which `mcpcat crawl --base-url NAME=URL` sets), so tests and air-gapped sites use a mirror.
"""

from __future__ import annotations

import os

BOT_NAME = "mcpcat"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"

USER_AGENT = "mcpcat/0.1 (+https://github.com/mcpcat/mcpcat; MCP tool risk catalog crawler)"
# APIs, not pages: robots.txt of API hosts (smithery.ai disallows /api/ for browsers) is not
# meant for them, and a mirror has none. Politeness comes from the throttle below.
ROBOTSTXT_OBEY = False

CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 4
DOWNLOAD_DELAY = 0.25
DOWNLOAD_TIMEOUT = 30
# A registry page is well under 1 MB; a 50 MB body is bad input, not data.
DOWNLOAD_MAXSIZE = 16 * 1024 * 1024
DOWNLOAD_WARNSIZE = 4 * 1024 * 1024

AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 2.0

RETRY_ENABLED = True
RETRY_TIMES = 4
RETRY_HTTP_CODES = [429, 500, 502, 503, 504, 522, 524, 408]
# Backoff when a 429/503 has no Retry-After, and the cap on any wait a server asks for.
MCPCAT_RETRY_BACKOFF_BASE = 1.0
MCPCAT_RETRY_BACKOFF_MAX = 60.0
MCPCAT_RETRY_AFTER_MAX = 120.0

DOWNLOADER_MIDDLEWARES = {
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "crawler.middlewares.RetryAfterMiddleware": 550,
}

# Conditional requests: RFC 2616 policy revalidates with If-None-Match / If-Modified-Since.
HTTPCACHE_ENABLED = True
HTTPCACHE_POLICY = "scrapy.extensions.httpcache.RFC2616Policy"
HTTPCACHE_STORAGE = "scrapy.extensions.httpcache.FilesystemCacheStorage"
HTTPCACHE_DIR = os.path.abspath(os.environ.get("MCPCAT_HTTPCACHE_DIR", ".mcpcat/httpcache"))
HTTPCACHE_IGNORE_HTTP_CODES = [401, 403, 404, 408, 429, 500, 502, 503, 504]
HTTPCACHE_GZIP = True

ITEM_PIPELINES = {
    "crawler.pipelines.ValidatePipeline": 100,
    "crawler.pipelines.NormalisePipeline": 200,
    "crawler.pipelines.ToolsPipeline": 300,
    "crawler.pipelines.ExtractPipeline": 400,
    "crawler.pipelines.StorePipeline": 500,
}
# Items of one response go through the pipelines in order; the page checkpoints rely on it.
CONCURRENT_ITEMS = 100

LOG_LEVEL = "INFO"
FEED_EXPORT_ENCODING = "utf-8"
TELNETCONSOLE_ENABLED = False
REMOTE_CONTROL_ENABLED = False
# Dropped items are logged by the spider's fail_record with source and record; no item dumps.
LOG_FORMATTER = "crawler.middlewares.QuietLogFormatter"

# --- mcpcat ---------------------------------------------------------------------------------
MCPCAT_DB = os.environ.get("MCPCAT_DB", "sqlite:///catalog.db")
# Where per-source checkpoints live (a crawl killed with SIGKILL resumes from them).
MCPCAT_JOBDIR = os.path.abspath(os.environ.get("MCPCAT_JOBDIR", ".mcpcat/jobs"))
MCPCAT_STORE_BATCH = 250
MCPCAT_CLASSIFY = True
# Tools for servers no source lists tools for (crawler.sourcing): introspect a listed remote,
# else extract from the repository archive, else from the npm / PyPI package archive. On by
# default (`mcpcat crawl --no-extract` turns it off). `MCPCAT_EXTRACTOR` names a class with
# `from_crawler` (see crawler.pipelines.ExtractPipeline) or a callable
# `f(record: ServerRecord) -> list[ToolRecord] | None`, run in worker threads.
MCPCAT_EXTRACT_ENABLED = True
MCPCAT_EXTRACTOR = "crawler.sourcing:Sourcer"
# Servers worked on at once, in the whole process (each: a download, an unpack, a parse).
MCPCAT_EXTRACT_WORKERS = 2
# Per-server caps: archive bytes downloaded and unpacked, files, seconds per HTTP read, and
# a wall-clock budget checked between steps.
MCPCAT_EXTRACT_MAX_DOWNLOAD = 50 * 1024 * 1024
MCPCAT_EXTRACT_MAX_UNPACKED = 200 * 1024 * 1024
MCPCAT_EXTRACT_MAX_FILES = 20_000
MCPCAT_EXTRACT_TIMEOUT = 30.0
MCPCAT_EXTRACT_SERVER_SECONDS = 120.0
# False: introspection only, no archive downloads.
MCPCAT_EXTRACT_ARCHIVES = True
# Archive hosts; MCPCAT_URL_GITHUB_ARCHIVE, MCPCAT_URL_NPM_ARCHIVE, MCPCAT_URL_PYPI_ARCHIVE
# in the environment override them (tests point them at a mirror).
MCPCAT_ARCHIVE_URLS = {
    "github": "https://api.github.com",
    "npm": "https://registry.npmjs.org",
    "pypi": "https://pypi.org",
}
# Live introspection (tools/list) of a server's streamable-HTTP / SSE remote: the whole run
# is capped at MCPCAT_INTROSPECT_TIMEOUT seconds (answers at 2 MB, 20 pages).
MCPCAT_INTROSPECT_ENABLED = True
MCPCAT_INTROSPECT_TIMEOUT = 10.0
# Sources whose servers are introspected even when the source lists their tools (a live
# server's own list is the most trusted).
MCPCAT_INTROSPECT_SOURCES: list[str] = []
# Errors (bad records, failed requests) one source may have before it is stopped as failed.
MCPCAT_ERROR_BUDGET = 100
# Pages a paginated source may have; a cursor that never ends is bad input past this.
MCPCAT_MAX_PAGES = 5000
# Page size of paginated sources (0: each spider's own default, the API's maximum).
MCPCAT_PAGE_SIZE = 0
# Consecutive pages without a new record before a cursor is called a loop.
MCPCAT_STALE_PAGES = 3
# Most errors kept per source for crawl_runs (all are counted).
MCPCAT_ERRORS_KEPT = 200

MCPCAT_SOURCE_URLS = {
    "official": "https://registry.modelcontextprotocol.io",
    "pulsemcp": "https://api.pulsemcp.com",
    "github": "https://api.mcp.github.com",
    "smithery": "https://registry.smithery.ai",
    "glama": "https://glama.ai/api/mcp/v1",
    "npm": "https://registry.npmjs.org",
    "pypi": "https://pypi.org",
    "docker": "https://raw.githubusercontent.com/docker/mcp-registry/main",
    "awesome": "https://raw.githubusercontent.com",
}
# Other registries that speak the official registry's API: crawled by the `official` spider
# under their own name. A header value "env:VAR" is read from the environment; a source whose
# `requires` variables are unset is skipped with a note. More come from MCPCAT_REGISTRIES
# (a JSON object of the same shape) in the environment.
MCPCAT_REGISTRY_SOURCES = {
    "pulsemcp": {"headers": {"X-API-Key": "env:PULSEMCP_API_KEY"}, "requires": ["PULSEMCP_API_KEY"]},
    "github": {"headers": {}},
}
# Per-source politeness: requests in flight and the least delay between them.
MCPCAT_SOURCE_CONCURRENCY = {
    "official": (1, 1.0),
    "pulsemcp": (1, 1.0),
    "github": (2, 0.2),
    "smithery": (2, 0.5),
    "glama": (4, 0.1),
    "npm": (4, 0.1),
    "pypi": (4, 0.1),
    "docker": (4, 0.1),
    "awesome": (1, 0.5),
}
# The Docker catalog's server list: GitHub's contents API (raw files can't be listed).
# With a non-default docker base URL it is `<base>/servers/index.json` unless set.
MCPCAT_DOCKER_INDEX_URL = "https://api.github.com/repos/docker/mcp-registry/contents/servers?ref=main"
# Curated lists: (repository, path under the raw base, format).
MCPCAT_AWESOME_LISTS = [
    ("punkpeye/awesome-mcp-servers", "main/README.md", "awesome"),
    ("modelcontextprotocol/servers", "main/README.md", "reference"),
]
# When sources list different tools for one server, whose list is kept (most trusted first;
# a live server's own tools/list beats any, static extraction loses to all).
MCPCAT_TOOL_SOURCES = ["docker", "smithery", "glama"]
MCPCAT_NPM_KEYWORDS = ["mcp", "mcp-server", "modelcontextprotocol"]
