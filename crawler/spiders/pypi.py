"""PyPI's JSON API (`/pypi/<name>/json`) for the Python packages other sources name.

PyPI has no search: the names come from the `names` argument (comma separated), the packages
the sources crawled before it in this process named (`registryType: pypi`), and the catalog's
stored PyPI packages (`Catalog.package_identifiers`). Without any, the source has nothing to do.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from typing import Any

from scrapy.http import Response

from crawler.items import ServerItem
from crawler.spiders._base import SourceSpider, obj

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$")
_MCP_NAME = re.compile(r"^\s*mcp-name:\s*(\S+)", re.M)
_REPO_KEYS = ("source", "source code", "repository", "code", "github", "homepage", "home")


def repository_of(info: dict[str, Any]) -> str | None:
    urls = obj(info.get("project_urls"))
    ranked = sorted(
        urls.items(),
        key=lambda kv: _REPO_KEYS.index(kv[0].lower()) if kv[0].lower() in _REPO_KEYS else len(_REPO_KEYS),
    )
    for _, url in ranked:
        if isinstance(url, str) and any(
            h in url for h in ("github.com", "gitlab.com", "codeberg.org", "bitbucket.org")
        ):
            return url
    home = info.get("home_page")
    return home if isinstance(home, str) and "github.com" in home else None


def catalog_names(db_url: str | None) -> set[str]:
    """PyPI names stored in the catalog (empty when there is no catalog yet)."""
    if not db_url:
        return set()
    from catalog.errors import CatalogError
    from catalog.store import Catalog

    try:
        cat = Catalog(db_url)
    except CatalogError:
        return set()
    try:
        return set(cat.package_identifiers("pypi"))
    finally:
        cat.close()


class PypiSpider(SourceSpider):
    name = "pypi"

    def __init__(self, *args: Any, names: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.names_arg = names

    async def start(self) -> AsyncIterator[Any]:
        from crawler.pipelines import mentioned_packages

        names = {n.strip() for n in (self.names_arg or "").split(",") if n.strip()}
        names |= mentioned_packages("pypi")
        names |= catalog_names(self.settings.get("MCPCAT_DB"))
        if not names:
            self.logger.info("pypi: no Python packages named by other sources; nothing to crawl")
        for name in sorted(names)[: self.limit]:
            if not _NAME.match(name):
                self.fail_record("bad_record", name[:80], "not a valid PyPI project name")
                continue
            yield self.request(f"{self.base_url}/pypi/{name}/json", self.parse, meta={"name": name})

    def parse(self, response: Response) -> Iterator[Any]:
        data = self.json(response)
        if data is None:
            return
        info = data.get("info")
        if not isinstance(info, dict) or not isinstance(info.get("name"), str):
            self.fail_record("missing_fields", response.meta["name"], "no info.name in the JSON")
            return
        desc = info.get("description") if isinstance(info.get("description"), str) else ""
        m = _MCP_NAME.search(desc or "")
        if not self.take():
            return
        raw = {k: v for k, v in data.items() if k != "releases"}  # releases: every file ever uploaded
        yield ServerItem(
            source=self.source,
            source_id=info["name"],
            name=info["name"],
            description=info.get("summary") if isinstance(info.get("summary"), str) else None,
            registry_name=m.group(1) if m else None,
            repository_url=repository_of(info),
            language="Python",
            listing_url=f"https://pypi.org/project/{info['name']}/",
            packages=[
                {
                    "registry": "pypi",
                    "identifier": info["name"],
                    "version": info.get("version"),
                    "transport": "stdio",
                }
            ],
            raw=raw,
        )
