"""The Docker MCP catalog (docker/mcp-registry): `servers/<name>/server.yaml` and `tools.json`.

Raw files can't be listed, so the server names come from an index: GitHub's contents API
(MCPCAT_DOCKER_INDEX_URL) or, with a mirror as base URL, `<base>/servers/index.json` in the
same shape. `tools.json` is optional; `[]` for a remote or dynamic server means "unknown".
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from typing import Any

import yaml
from scrapy.http import Response

from crawler.items import ServerItem
from crawler.spiders._base import SourceSpider, obj

_DIR = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,100}$")


class DockerSpider(SourceSpider):
    name = "docker"

    def __init__(self, *args: Any, index_url: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.index_url = index_url

    async def start(self) -> AsyncIterator[Any]:
        url = self.index_url
        if not url:
            default = self.settings.getdict("MCPCAT_SOURCE_URLS").get("docker", "").rstrip("/")
            url = (
                self.settings.get("MCPCAT_DOCKER_INDEX_URL")
                if self.base_url == default
                else f"{self.base_url}/servers/index.json"
            )
        yield self.request(url, self.parse_index, fatal=True)

    def parse_index(self, response: Response) -> Iterator[Any]:
        entries = self.json(response, expect=list)
        if entries is None:
            self.stop("fatal", f"{response.url}: the server index is not a JSON list")
            return
        names = [e.get("name") for e in entries if isinstance(e, dict) and e.get("type", "dir") == "dir"]
        for name in names[: self.limit]:
            if not isinstance(name, str) or not _DIR.match(name):
                self.fail_record("bad_record", str(name)[:80], "not a server directory name")
                continue
            yield self.request(
                f"{self.base_url}/servers/{name}/server.yaml",
                self.parse_server,
                meta={"dir": name},
                headers={"Accept": "text/plain, */*"},
            )

    def parse_server(self, response: Response) -> Iterator[Any]:
        self.count("pages")
        name = response.meta["dir"]
        try:
            server = yaml.safe_load(response.text)
        except (yaml.YAMLError, ValueError) as e:
            self.fail_record("bad_yaml", f"servers/{name}/server.yaml", str(e)[:200])
            return
        if not isinstance(server, dict):
            self.fail_record("bad_shape", f"servers/{name}/server.yaml", "not a YAML mapping")
            return
        yield self.request(
            f"{self.base_url}/servers/{name}/tools.json",
            self.parse_tools,
            meta={"dir": name, "server": server, "handle_httpstatus_list": [404]},
        )

    def parse_tools(self, response: Response) -> Iterator[Any]:
        name, server = response.meta["dir"], response.meta["server"]
        tools: list[Any] | None = None
        if response.status != 404:
            tools = self.json(response, expect=list)
        elif "tools" in server and isinstance(server["tools"], list):
            tools = server["tools"]  # a few servers list tools inline
        about = obj(server.get("about"))
        source = obj(server.get("source"))
        remote = obj(server.get("remote"))
        dynamic = isinstance(server.get("dynamic"), dict) and bool(server["dynamic"].get("tools"))
        image = server.get("image") if isinstance(server.get("image"), str) else None
        missing = [f for f in ("name",) if not server.get(f)]
        if not self.take():
            return
        yield ServerItem(
            source=self.source,
            source_id=name,
            name=str(server.get("name") or name),
            title=about.get("title"),
            description=about.get("description"),
            repository_url=source.get("project") if isinstance(source.get("project"), str) else None,
            repository_subfolder=source.get("directory")
            if isinstance(source.get("directory"), str)
            else None,
            listing_url=f"https://hub.docker.com/mcp/server/{name}",
            fallback_key=f"docker:{name}",
            packages=[{"registry": "oci", "identifier": image, "transport": "stdio"}] if image else [],
            remotes=[{"transport": remote.get("transport_type") or "streamable-http", "url": remote["url"]}]
            if isinstance(remote.get("url"), str)
            else [],
            tools=tools,
            tools_complete=bool(tools) and not dynamic,
            missing=missing,
            raw={"dir": f"servers/{name}", "server": server, "tools": tools},
        )
