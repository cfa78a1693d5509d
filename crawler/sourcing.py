"""Tools for a server that no source listed: ask its live remote, else read its source.

`Sourcer.source(record)` is what the crawl's ExtractPipeline runs in a worker thread, in
this order, stopping at the first step that yields tools:

1. **Introspection** of each streamable-HTTP / SSE remote the server lists
   (`crawler.introspect`, short timeout, byte and page caps). Origin kind "introspected";
   only a complete listing may mark missing tools removed.
2. **The repository archive**: GitHub's tarball of the commit the default branch points at
   (a one-line `commits/HEAD` lookup first, so an unchanged repository is not downloaded
   again), limited to the server's sub-folder of a monorepo.
3. **The package archive**: the npm tarball (version from the record, else the registry
   document's `latest`), then the PyPI sdist.

Archives are downloaded and unpacked by `crawler.archive` within `SourcingConfig.limits`
into a temporary folder that is removed afterwards, and read by the static extractors;
nothing from them is ever run. Every failure (404, unsafe or oversized archive, no tools,
unreachable remote) is a `Problem` in the result, never an exception: the crawl goes on.

Incremental: a server whose stored tools were extracted from the same commit or package
version is skipped (`Catalog.tool_origins`), as is one whose stored tools a source listed
(those are more trusted; extraction would lose to them anyway). One server is sourced at
most once per process, however many sources list it.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self
from urllib.parse import quote

import httpx

from catalog.records import ServerRecord, ToolRecord
from crawler.archive import Limits, fetch_and_unpack, github_tarball_url, npm_tarball_url, pypi_sdist_url
from crawler.errors import ArchiveError, CrawlerError, DownloadError, IntrospectionError
from crawler.identity import canonical_repo

__all__ = [
    "Problem",
    "Sourced",
    "Sourcer",
    "SourcingConfig",
    "extract_server_tools",
]

log = logging.getLogger(__name__)

MB = 1024 * 1024
_SHA = re.compile(r"^[0-9a-f]{40}$")
# Build output that package archives ship instead of source (kept there, skipped in repositories).
PACKAGE_DIRS = frozenset({"dist", "build", "out", "lib"})
DEFAULT_ARCHIVE_URLS = {
    "github": "https://api.github.com",
    "npm": "https://registry.npmjs.org",
    "pypi": "https://pypi.org",
}


def archive_urls(configured: dict[str, str] | None = None) -> dict[str, str]:
    """Base URLs of the archive hosts: defaults < `configured` < MCPCAT_URL_GITHUB_ARCHIVE,
    MCPCAT_URL_NPM_ARCHIVE, MCPCAT_URL_PYPI_ARCHIVE in the environment."""
    out = {**DEFAULT_ARCHIVE_URLS, **(configured or {})}
    for name in DEFAULT_ARCHIVE_URLS:
        env = os.environ.get(f"MCPCAT_URL_{name.upper()}_ARCHIVE")
        if env:
            out[name] = env
    return {k: v.rstrip("/") for k, v in out.items()}


# One server's archive in a crawl: a source tree, not a repository's assets.
CRAWL_LIMITS = Limits(
    max_download_bytes=50 * MB,
    max_unpacked_bytes=200 * MB,
    max_file_bytes=20 * MB,
    max_files=20_000,
    timeout=30.0,
)


@dataclass(frozen=True, slots=True)
class SourcingConfig:
    """Caps and switches for one crawl (settings MCPCAT_EXTRACT_*, MCPCAT_INTROSPECT_*)."""

    urls: dict[str, str] = field(default_factory=archive_urls)
    limits: Limits = CRAWL_LIMITS
    # Wall-clock budget for one server: checked between steps (a started step finishes
    # within its own caps: the archive timeout per read, the introspection timeout).
    server_seconds: float = 120.0
    extract: bool = True
    introspect: bool = True
    introspect_timeout: float = 10.0
    introspect_max_bytes: int = 2 * MB
    introspect_max_pages: int = 20
    db_url: str | None = None
    github_token: str | None = None

    @classmethod
    def from_settings(cls, settings: Any) -> SourcingConfig:
        lim = CRAWL_LIMITS
        return cls(
            urls=archive_urls(settings.getdict("MCPCAT_ARCHIVE_URLS")),
            limits=Limits(
                max_download_bytes=settings.getint("MCPCAT_EXTRACT_MAX_DOWNLOAD", lim.max_download_bytes),
                max_unpacked_bytes=settings.getint("MCPCAT_EXTRACT_MAX_UNPACKED", lim.max_unpacked_bytes),
                max_file_bytes=lim.max_file_bytes,
                max_files=settings.getint("MCPCAT_EXTRACT_MAX_FILES", lim.max_files),
                timeout=settings.getfloat("MCPCAT_EXTRACT_TIMEOUT", lim.timeout),
            ),
            server_seconds=settings.getfloat("MCPCAT_EXTRACT_SERVER_SECONDS", 120.0),
            extract=settings.getbool("MCPCAT_EXTRACT_ARCHIVES", True),
            introspect=settings.getbool("MCPCAT_INTROSPECT_ENABLED", True),
            introspect_timeout=settings.getfloat("MCPCAT_INTROSPECT_TIMEOUT", 10.0),
            db_url=settings.get("MCPCAT_DB"),
            github_token=os.environ.get("GITHUB_TOKEN") or None,
        )


@dataclass(slots=True)
class Problem:
    """Why one step gave no tools: kind (not_found, unsafe_archive, too_large, no_tools, ...)."""

    kind: str
    message: str


@dataclass(slots=True)
class Sourced:
    """What sourcing one server found. `skipped` says why nothing was tried (up to date)."""

    tools: list[ToolRecord] = field(default_factory=list)
    complete: bool = False
    via: str | None = None  # introspected | repository | npm | pypi
    problems: list[Problem] = field(default_factory=list)
    skipped: str | None = None
    downloads: int = 0


def _problem_kind(e: Exception) -> str:
    name = type(e).__name__
    kinds = {
        "UnsafeArchive": "unsafe_archive",
        "ArchiveTooLarge": "too_large",
        "CorruptArchive": "corrupt_archive",
        "AuthRequired": "auth_required",
        "ServerUnreachable": "unreachable",
        "IntrospectionTimeout": "timeout",
        "NotMCP": "not_mcp",
        "RemoteError": "remote_error",
        "ResponseTooLarge": "too_large",
    }
    if isinstance(e, DownloadError):
        return "not_found" if " 404" in str(e) else "download"
    return kinds.get(name, "error")


def _find_folder(root: Path, sub: str) -> Path | None:
    """`root/sub` matched case-insensitively (keys are lower case, folders may not be)."""
    here = root
    for part in [p for p in sub.split("/") if p]:
        exact = here / part
        if exact.is_dir() and not exact.is_symlink():
            here = exact
            continue
        match = next(
            (
                c
                for c in here.iterdir()
                if c.name.lower() == part.lower() and c.is_dir() and not c.is_symlink()
            ),
            None,
        )
        if match is None:
            return None
        here = match
    return here


class Sourcer:
    """Callable hook for ExtractPipeline (`MCPCAT_EXTRACTOR = "crawler.sourcing:Sourcer"`)."""

    def __init__(self, config: SourcingConfig | None = None) -> None:
        self.config = config or SourcingConfig()
        self._catalog: Any = None
        self._catalog_lock = threading.Lock()
        # Servers sourced (or being sourced) by this instance: the crawl keeps one per process,
        # so a server listed by five sources is fetched once.
        self.seen: set[str] = set()
        self._seen_lock = threading.Lock()
        # GitHub's API rate limit, once hit, holds for the rest of the hour: until then the
        # repository step is skipped (packages are still tried) instead of asking again.
        self.github_blocked_until = 0.0

    @classmethod
    def from_crawler(cls, crawler: Any) -> Self:
        return cls(SourcingConfig.from_settings(crawler.settings))

    def __call__(self, record: ServerRecord) -> list[ToolRecord] | None:
        return self.source(record).tools or None

    def close(self) -> None:
        if self._catalog is not None:
            self._catalog.close()
            self._catalog = None

    # --- the steps ----------------------------------------------------------------------------
    def source(self, record: ServerRecord, *, introspect_only: bool = False) -> Sourced:
        out = Sourced()
        with self._seen_lock:
            if record.key in self.seen:
                out.skipped = "already sourced in this crawl"
                return out
            self.seen.add(record.key)
        deadline = time.monotonic() + self.config.server_seconds
        if self.config.introspect and self._introspect(record, out):
            return out
        if introspect_only or not self.config.extract:
            return out
        stored = self._stored_origins(record.key)
        if any(o.get("kind") in ("listed", "introspected") for o in stored):
            out.skipped = "tools already stored from a more trusted origin"
            return out
        extracted = [o for o in stored if o.get("kind") == "extracted"]
        with httpx.Client(
            timeout=self.config.limits.timeout, follow_redirects=True, max_redirects=5
        ) as client:
            steps: list[Callable[[], bool]] = [
                lambda: self._repository(record, out, extracted, client),
                lambda: self._npm(record, out, extracted, client),
                lambda: self._pypi(record, out, extracted, client),
            ]
            for step in steps:
                if out.tools or out.skipped:
                    break
                if time.monotonic() > deadline:
                    out.problems.append(
                        Problem("time_cap", f"over {self.config.server_seconds:g} s for this server; stopped")
                    )
                    break
                step()
        return out

    def _introspect(self, record: ServerRecord, out: Sourced) -> bool:
        from crawler.introspect import introspect

        for remote in record.remotes:
            transport = {"streamable-http": "streamable-http", "http": "streamable-http", "sse": "sse"}.get(
                remote.transport.lower()
            )
            if transport is None or "{" in remote.url:
                continue  # stdio, or a templated URL ({tenant}.example.com) there is no way to fill
            try:
                result = introspect(
                    remote.url,
                    timeout=self.config.introspect_timeout,
                    max_response_bytes=self.config.introspect_max_bytes,
                    max_pages=self.config.introspect_max_pages,
                    transport=transport,  # type: ignore[arg-type]
                )
            except (IntrospectionError, CrawlerError) as e:
                out.problems.append(Problem(f"introspect_{_problem_kind(e)}", str(e)[:300]))
                continue
            if result.tools:
                out.tools, out.complete, out.via = list(result.tools), result.complete, "introspected"
                return True
            out.problems.append(Problem("introspect_no_tools", f"{remote.url} listed no tools"))
        return False

    def _stored_origins(self, key: str) -> list[dict[str, Any]]:
        if not self.config.db_url:
            return []
        with self._catalog_lock:
            if self._catalog is None:
                from catalog.store import Catalog

                self._catalog = Catalog(self.config.db_url)
        origins: dict[str, list[dict[str, Any]]] = self._catalog.tool_origins([key])
        return origins.get(key, [])

    def _extract(
        self,
        url: str,
        out: Sourced,
        client: httpx.Client,
        origin: dict[str, Any],
        *,
        sub: str | None = None,
        keep_dirs: frozenset[str] = frozenset(),
    ) -> bool:
        from crawler.extract import extract_tree

        tmp = Path(tempfile.mkdtemp(prefix="mcpcat-source-"))
        try:
            out.downloads += 1
            unpacked = fetch_and_unpack(url, tmp, limits=self.config.limits, client=client)
            root = unpacked.root
            if sub:
                found = _find_folder(root, sub)
                if found is None:
                    out.problems.append(Problem("no_subfolder", f"{url} has no folder {sub!r}"))
                    return False
                root = found
            result = extract_tree(root, keep_dirs=keep_dirs)
            tools = result.records(**origin)
            if sub:
                prefix = root.relative_to(unpacked.root).as_posix()
                for t in tools:
                    if t.origin is not None:
                        t.origin["file"] = f"{prefix}/{t.origin['file']}"
            if not tools:
                out.problems.append(
                    Problem("no_tools", f"{url}: no tool declarations in {result.files_scanned} source files")
                )
                return False
            out.tools, out.complete, out.via = tools, True, origin["from"]
            return True
        except ArchiveError as e:
            out.problems.append(Problem(_problem_kind(e), str(e)[:300]))
            return False
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def _repository(
        self, record: ServerRecord, out: Sourced, stored: list[dict[str, Any]], client: httpx.Client
    ) -> bool:
        if not record.repository_url:
            return False
        try:
            home = canonical_repo(record.repository_url)
        except CrawlerError:
            return False
        host, _, path = home.partition("/")
        if host != "github.com":
            out.problems.append(Problem("no_archive_host", f"no archive URL for {host} repositories"))
            return False
        owner, _, name = path.partition("/")
        sub = record.key[len(home) + 1 :] if record.key.startswith(home + "/") else None
        base = self.config.urls["github"]
        headers = {"Accept": "application/vnd.github.sha"}
        if self.config.github_token:
            headers["Authorization"] = f"Bearer {self.config.github_token}"
        if time.time() < self.github_blocked_until:
            out.problems.append(
                Problem("rate_limited", "GitHub API rate limit reached earlier in this crawl")
            )
            return False
        try:
            resp = client.get(f"{base}/repos/{quote(owner)}/{quote(name)}/commits/HEAD", headers=headers)
        except httpx.HTTPError as e:
            out.problems.append(Problem("download", f"{home}: commit lookup failed: {type(e).__name__}: {e}"))
            return False
        if resp.status_code in (403, 429) and resp.headers.get("x-ratelimit-remaining") == "0":
            reset = resp.headers.get("x-ratelimit-reset", "")
            self.github_blocked_until = float(reset) if reset.isdigit() else time.time() + 3600
            out.problems.append(Problem("rate_limited", f"{home}: GitHub API rate limit (set GITHUB_TOKEN)"))
            return False
        if resp.status_code != 200:
            kind = "not_found" if resp.status_code == 404 else "download"
            out.problems.append(Problem(kind, f"{home}: commit lookup answered {resp.status_code}"))
            return False
        sha = resp.text.strip()[:64]
        if not _SHA.match(sha):
            out.problems.append(Problem("download", f"{home}: commit lookup gave no SHA"))
            return False
        if any(o.get("from") == "repository" and o.get("commit") == sha for o in stored):
            out.skipped = f"tools already extracted at commit {sha[:12]}"
            return False
        url = github_tarball_url(owner, name, sha, base=base)
        origin = {"from": "repository", "url": url, "repository": f"https://{home}", "commit": sha}
        return self._extract(url, out, client, origin, sub=sub)

    def _npm(
        self, record: ServerRecord, out: Sourced, stored: list[dict[str, Any]], client: httpx.Client
    ) -> bool:
        base = self.config.urls["npm"]
        for pkg in record.packages:
            if pkg.registry_type != "npm":
                continue
            version = pkg.version
            if not version or version == "latest":
                try:
                    resp = client.get(f"{base}/{pkg.identifier.replace('/', '%2F')}")
                    doc = resp.json() if resp.status_code == 200 else None
                except (httpx.HTTPError, ValueError) as e:
                    out.problems.append(Problem("download", f"npm {pkg.identifier}: {type(e).__name__}: {e}"))
                    continue
                latest = doc.get("dist-tags", {}).get("latest") if isinstance(doc, dict) else None
                if not isinstance(latest, str):
                    kind = "not_found" if resp.status_code == 404 else "download"
                    out.problems.append(
                        Problem(kind, f"npm {pkg.identifier}: no latest version ({resp.status_code})")
                    )
                    continue
                version = latest
            if self._up_to_date(stored, "npm", pkg.identifier, version, out):
                return False
            url = npm_tarball_url(pkg.identifier, version, base=base)
            origin = {"from": "npm", "url": url, "package": pkg.identifier, "version": version}
            if self._extract(url, out, client, origin, keep_dirs=PACKAGE_DIRS):
                return True
        return False

    def _pypi(
        self, record: ServerRecord, out: Sourced, stored: list[dict[str, Any]], client: httpx.Client
    ) -> bool:
        base = self.config.urls["pypi"]
        for pkg in record.packages:
            if pkg.registry_type != "pypi":
                continue
            version = pkg.version if pkg.version and pkg.version != "latest" else None
            if version and self._up_to_date(stored, "pypi", pkg.identifier, version, out):
                return False
            try:
                url = pypi_sdist_url(pkg.identifier, version, base=base, client=client)
            except DownloadError as e:
                out.problems.append(Problem(_problem_kind(e), str(e)[:300]))
                continue
            origin = {"from": "pypi", "url": url, "package": pkg.identifier, "version": version}
            if self._extract(url, out, client, origin, keep_dirs=PACKAGE_DIRS):
                return True
        return False

    @staticmethod
    def _up_to_date(
        stored: list[dict[str, Any]], kind: str, package: str, version: str, out: Sourced
    ) -> bool:
        if any(
            o.get("from") == kind and o.get("package") == package and o.get("version") == version
            for o in stored
        ):
            out.skipped = f"tools already extracted from {kind} {package} {version}"
            return True
        return False


def extract_server_tools(
    server: ServerRecord, config: SourcingConfig | None = None
) -> list[ToolRecord] | None:
    """Tools of `server` from its live remote, repository or package archive; None if none.

    The plain-function form of `Sourcer` (problems are logged, not returned)."""
    sourcer = Sourcer(config)
    try:
        result = sourcer.source(server)
    finally:
        sourcer.close()
    for p in result.problems:
        log.info("%s: %s: %s", server.key, p.kind, p.message)
    return result.tools or None
