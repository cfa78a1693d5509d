"""Curated GitHub lists: the awesome-mcp-servers README format and the reference servers README.

Each list is `(repository, path, format)` in MCPCAT_AWESOME_LISTS, fetched as a raw file from
the base URL (raw.githubusercontent.com). Lines that are not server entries are ignored;
entries whose link is not a safe repository URL are counted by the pipeline.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import urlsplit

from scrapy.http import Response

from crawler.items import ServerItem
from crawler.spiders._base import SourceSpider

AWESOME = re.compile(r"^\s*[-*] \[(?P<name>[^\]]+)\]\((?P<url>[^)\s]+)\)(?P<rest>.*)$")
REFERENCE = re.compile(
    r"^- (?:<img [^>]*src=\"(?P<logo>[^\"]*)\"[^>]*/?>\s*)?\*\*\[(?P<name>[^\]]+)\]\((?P<url>[^)]+)\)\*\*"
    r"\s*[-–—:]?\s*(?P<desc>.*)$"
)
LANGUAGES = {
    "🐍": "Python",
    "📇": "TypeScript/JavaScript",
    "🏎": "Go",
    "🦀": "Rust",
    "#️⃣": "C#",
    "☕": "Java",
    "🌊": "C/C++",
}
SCOPES = {"☁": "cloud", "🏠": "local", "📟": "embedded"}
_SEPARATOR = re.compile(r"\s[-–—]\s|^[-–—]\s")
_WORD = re.compile(r"[A-Za-z0-9]")


def split_awesome_rest(rest: str) -> tuple[list[str], str]:
    """The emoji tokens before the description, and the description, of an awesome-list line."""
    m = _SEPARATOR.search(rest)
    if m is not None and not _WORD.search(rest[: m.start()]):
        head, desc = rest[: m.start()], rest[m.end() :]
    else:
        w = _WORD.search(rest)
        cut = w.start() if w else len(rest)
        head, desc = rest[:cut], rest[cut:]
    return [t for t in re.split(r"[\s/]+", head) if t], desc.strip()


def web_key(url: str) -> str | None:
    """``web:host/path`` for an entry whose link is a product site rather than a repository."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    host = parts.hostname.lower().removeprefix("www.")
    return f"web:{host}{parts.path.rstrip('/').lower()}"


def parse_awesome_line(line: str) -> dict[str, Any] | None:
    m = AWESOME.match(line)
    if not m:
        return None
    emoji, desc = split_awesome_rest(m.group("rest"))
    joined = "".join(emoji)
    return {
        "name": m.group("name").strip(),
        "url": m.group("url").strip(),
        "description": desc or None,
        "emoji": emoji,
        "official": "🎖" in joined,
        "language": next((lang for e, lang in LANGUAGES.items() if e in joined), None),
        "scopes": [s for e, s in SCOPES.items() if e in joined],
    }


def parse_reference_line(line: str) -> dict[str, Any] | None:
    m = REFERENCE.match(line.rstrip())
    if not m:
        return None
    return {
        "name": m.group("name").strip(),
        "url": m.group("url").strip(),
        "description": m.group("desc").strip() or None,
        "logo": m.group("logo"),
    }


class AwesomeSpider(SourceSpider):
    name = "awesome"

    async def start(self) -> AsyncIterator[Any]:
        for entry in self.settings.getlist("MCPCAT_AWESOME_LISTS"):
            repo, path, fmt = entry
            yield self.request(
                f"{self.base_url}/{repo}/{path}",
                self.parse,
                fatal=False,
                meta={"repo": repo, "format": fmt},
                headers={"Accept": "text/plain, */*"},
            )

    def parse(self, response: Response) -> Iterator[Any]:
        self.count("pages")
        repo, fmt = response.meta["repo"], response.meta["format"]
        section = None
        for lineno, line in enumerate(response.text.splitlines(), 1):
            if line.startswith("#"):
                section = line.lstrip("#").strip()
                continue
            entry = parse_reference_line(line) if fmt == "reference" else parse_awesome_line(line)
            if entry is None:
                continue
            url = entry["url"]
            if fmt == "reference" and not re.match(r"^[a-z][a-z0-9+.-]*:", url, re.I):
                url = f"https://github.com/{repo}/tree/main/{url.lstrip('./')}"  # src/fetch
            name = entry["name"]
            if re.match(r"^https?://", name):  # link text that is the URL itself
                name = "/".join(name.rstrip("/").split("/")[-2:])
            if not self.take():
                return
            yield ServerItem(
                source=self.source,
                source_id=f"{repo}:{entry['name']}",
                name=name,
                description=entry.get("description"),
                repository_url=url,
                language=entry.get("language"),
                listing_url=f"https://github.com/{repo}#readme",
                fallback_key=web_key(url),
                raw={**entry, "list": repo, "section": section, "line": lineno},
            )
