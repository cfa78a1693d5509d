"""npm: the search API (`/-/v1/search?text=keywords:<k>`) for MCP packages, then each package's
latest manifest (`/<name>/latest`: repository with its monorepo directory, version, mcpName)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import quote, urlencode

from scrapy.http import Response

from crawler.items import ServerItem
from crawler.spiders._base import SourceSpider

PAGE_SIZE = 250


def repo_of(manifest: dict[str, Any]) -> tuple[str | None, str | None]:
    """(url, directory) of package.json `repository` in its string or object form."""
    repo = manifest.get("repository")
    if isinstance(repo, str):
        if repo.startswith("github:") or ("/" in repo and ":" not in repo):
            return f"https://github.com/{repo.removeprefix('github:')}", None
        return repo, None
    if isinstance(repo, dict) and isinstance(repo.get("url"), str):
        directory = repo.get("directory")
        return repo["url"], directory if isinstance(directory, str) else None
    return None, None


class NpmSpider(SourceSpider):
    name = "npm"

    def __init__(
        self, *args: Any, keywords: str | None = None, page_size: str | int = PAGE_SIZE, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.keywords_arg = keywords
        self.page_size = self.int_arg("page_size", page_size, 1, 250)
        self.queued: set[str] = set()

    def search_url(self, keyword: str, offset: int) -> str:
        params = {"text": f"keywords:{keyword}", "size": str(self.page_size), "from": str(offset)}
        return f"{self.base_url}/-/v1/search?{urlencode(params)}"

    async def start(self) -> AsyncIterator[Any]:
        keywords = (
            self.keywords_arg.split(",")
            if self.keywords_arg
            else self.settings.getlist("MCPCAT_NPM_KEYWORDS")
        )
        for kw in keywords:
            yield self.request(
                self.search_url(kw, 0), self.parse_search, fatal=True, meta={"keyword": kw, "offset": 0}
            )

    def parse_search(self, response: Response) -> Iterator[Any]:
        data = self.json(response)
        objects = data.get("objects") if data is not None else None
        if data is not None and not isinstance(objects, list):
            self.fail_record("bad_shape", response.url, "no 'objects' list in the search result")
        if not isinstance(objects, list):
            self.incomplete(f"search broken at {response.url}")
            return
        for index, obj in enumerate(objects):
            pkg = obj.get("package") if isinstance(obj, dict) else None
            name = pkg.get("name") if isinstance(pkg, dict) else None
            if not isinstance(name, str) or not name:
                self.fail_record("missing_fields", f"{response.url}#{index}", "search result without a name")
                continue
            if name in self.queued:
                continue
            if self.limit is not None and len(self.queued) >= self.limit:
                return
            self.queued.add(name)
            yield self.request(
                f"{self.base_url}/{quote(name, safe='@')}/latest", self.parse_package, meta={"search": obj}
            )
        offset = int(response.meta["offset"]) + len(objects)
        total = data.get("total")
        pages = offset // max(self.page_size, 1)
        if objects and isinstance(total, int) and offset < total and pages < self.max_pages:
            kw = response.meta["keyword"]
            yield self.request(
                self.search_url(kw, offset),
                self.parse_search,
                meta={"keyword": kw, "offset": offset, "page": True},
            )

    def parse_package(self, response: Response) -> Iterator[Any]:
        manifest = self.json(response)
        if manifest is None:
            return
        search = response.meta.get("search") or {}
        name = manifest.get("name") or (search.get("package") or {}).get("name")
        missing = [f for f in ("name", "version") if not isinstance(manifest.get(f), str)]
        url, directory = repo_of(manifest)
        if url is None:
            links = (search.get("package") or {}).get("links") or {}
            url = links.get("repository") if isinstance(links.get("repository"), str) else None
        mcp_name = manifest.get("mcpName")
        if not self.take():
            return
        yield ServerItem(
            source=self.source,
            source_id=str(name),
            name=str(name) if name else None,
            description=manifest.get("description") if isinstance(manifest.get("description"), str) else None,
            registry_name=mcp_name if isinstance(mcp_name, str) else None,
            repository_url=url,
            repository_subfolder=directory,
            homepage=manifest.get("homepage") if isinstance(manifest.get("homepage"), str) else None,
            language="TypeScript/JavaScript",
            listing_url=f"https://www.npmjs.com/package/{name}",
            packages=[
                {
                    "registry": "npm",
                    "identifier": name,
                    "version": manifest.get("version"),
                    "transport": "stdio",
                }
            ]
            if name
            else [],
            missing=missing,
            raw={"search": search, "manifest": manifest},
        )
