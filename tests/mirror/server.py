"""A local mirror of every MCP source's API on 127.0.0.1, for spider tests and benchmarks.

Each source is mounted under `/<source>` and served from `<data>/<source>/` in that source's
real format (tests/fixtures/ by default), with real pagination, auth checks, ETag/304
revalidation and switchable faults:

    mirror = Mirror(FIXTURES).start()
    mirror.base("official")                       # http://127.0.0.1:PORT/official
    mirror.fault("status", path="/official/", status=429, retry_after=1, times=2)
    mirror.fault("cursor_repeat", path="/official/")

Files beyond a source's API (archives, GitHub's commit lookup) are served from `blobs`,
keyed by the unquoted path: `mirror.blobs["/github/repos/o/r/tarball/SHA"] = Reply(200, tgz)`.

Fault kinds: status (with retry_after), slow (delay), malformed, truncated, html, huge
(a 50 MB body), cursor_repeat (nextCursor echoes the request's forever), cursor_endless (a
fresh cursor forever, same records). Bad records (missing fields, javascript: and file:
URLs) live in the fixture data itself.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

__all__ = ["DEFAULT_KEYS", "Fault", "Mirror", "Reply"]

DEFAULT_KEYS = {"smithery": "test-smithery-key", "glama": "test-glama-key", "pulsemcp": "test-pulse-key"}
OFFICIAL_META = "io.modelcontextprotocol.registry/official"


@dataclass
class Fault:
    kind: str
    path: str = "/"
    times: int | None = None
    status: int = 500
    retry_after: float | None = None
    delay: float = 0.0
    hits: int = 0

    def matches(self, target: str) -> bool:
        return self.path in target and (self.times is None or self.hits < self.times)


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    ctype: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


def _json(data: Any, status: int = 200) -> Reply:
    return Reply(status, json.dumps(data).encode())


class SourceData:
    """Loads `<data>/<source>/` lazily; the official data may also be a generator (benchmarks)."""

    def __init__(self, root: Path, official: list[dict[str, Any]] | None = None) -> None:
        self.root = root
        self._official = official
        self._cache: dict[str, Any] = {}

    def load(self, source: str, name: str) -> Any:
        key = f"{source}/{name}"
        if key not in self._cache:
            self._cache[key] = json.loads((self.root / source / name).read_text("utf-8"))
        return self._cache[key]

    def official(self, source: str) -> list[dict[str, Any]]:
        if source.startswith("reg-"):
            source = "official"
        if source == "official" and self._official is not None:
            return self._official
        key = f"sorted:{source}"
        if key not in self._cache:
            path = self.root / source / "servers.json"
            entries = self.load(source if path.exists() else "official", "servers.json")
            self._cache[key] = sorted(entries, key=_entry_key)
        return self._cache[key]  # type: ignore[no-any-return]


def _entry_key(e: dict[str, Any]) -> str:
    server = e.get("server") or {}
    return f"{server.get('name') or ''}:{server.get('version') or ''}"


def _meta(e: dict[str, Any]) -> dict[str, Any]:
    meta = e.get("_meta") or {}
    for k in (OFFICIAL_META, "com.pulsemcp/server-version"):
        if isinstance(meta.get(k), dict):
            return meta[k]  # type: ignore[no-any-return]
    return {}


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client hanging up mid-body (size caps, timeouts) is what the faults are for


class Mirror:
    def __init__(
        self,
        data: Path,
        *,
        keys: dict[str, str] | None = None,
        official: list[dict[str, Any]] | None = None,
        port: int = 0,
    ) -> None:
        self.data = SourceData(Path(data), official)
        self.keys = dict(DEFAULT_KEYS if keys is None else keys)
        self.faults: list[Fault] = []
        self.blobs: dict[str, Reply] = {}
        self.hits: Counter[str] = Counter()
        self.requests: list[str] = []
        self.user_agents: set[str] = set()
        self.lock = threading.Lock()
        self._port = port
        self.httpd: ThreadingHTTPServer | None = None
        self.routes: dict[str, Callable[[str, dict[str, str], dict[str, str]], Reply]] = {
            "official": self.registry("official"),
            "pulsemcp": self.registry("pulsemcp"),
            "github": self.registry("github"),
            "smithery": self.smithery,
            "glama": self.glama,
            "npm": self.npm,
            "pypi": self.pypi,
            "docker": self.docker,
            "awesome": self.raw,
        }

    # --- lifecycle ----------------------------------------------------------------------------
    def start(self) -> Mirror:
        mirror = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                mirror.handle(self)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = _QuietServer(("127.0.0.1", self._port), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.httpd is not None:
            self.httpd.shutdown()
            self.httpd.server_close()

    @property
    def port(self) -> int:
        assert self.httpd is not None
        return int(self.httpd.server_address[1])

    def base(self, source: str) -> str:
        return f"http://127.0.0.1:{self.port}/{source}"

    def fault(self, kind: str, **kw: Any) -> Fault:
        f = Fault(kind, **kw)
        with self.lock:
            self.faults.append(f)
        return f

    def clear(self) -> None:
        with self.lock:
            self.faults.clear()
            self.hits.clear()
            self.requests.clear()

    # --- dispatch -----------------------------------------------------------------------------
    def handle(self, h: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(h.path)
        segs = parts.path.split("/", 2)
        source = segs[1] if len(segs) > 1 else ""
        rest = "/" + (segs[2] if len(segs) > 2 else "")
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        headers = {k.lower(): v for k, v in h.headers.items()}
        with self.lock:
            self.hits[source] += 1
            self.requests.append(h.path)
            self.user_agents.add(headers.get("user-agent", ""))
            fault = next((f for f in self.faults if f.matches(h.path)), None)
            if fault is not None:
                fault.hits += 1
        if fault is not None and fault.kind == "slow":
            time.sleep(fault.delay)
        reply = self.check_auth(source, headers)
        if reply is None and fault is not None and fault.kind in ("truncated", "huge"):
            self.raw_fault(fault, h)
            return
        if reply is None and fault is not None:
            reply = self.faulty(fault)
        if reply is None and unquote(parts.path) in self.blobs:
            reply = self.blobs[unquote(parts.path)]
        if reply is None:
            route = self.routes.get(source)
            if route is None and source.startswith("reg-"):  # more registries on the official data
                route = self.registry(source)
            try:
                reply = route(rest, query, headers) if route else Reply(404, b'{"error":"no such source"}')
                if fault is not None and fault.kind.startswith("cursor_"):
                    reply = self.loop_cursor(fault, reply, query)
            except FileNotFoundError:
                reply = Reply(404, b'{"error":"not found"}')
        self.send(h, reply, headers)

    def check_auth(self, source: str, headers: dict[str, str]) -> Reply | None:
        key = self.keys.get(source)
        if not key:
            return None
        if source == "pulsemcp":
            ok = headers.get("x-api-key") == key
        else:
            ok = headers.get("authorization") == f"Bearer {key}"
        if ok:
            return None
        return _json(
            {"error": {"code": "unauthorized", "message": "This endpoint requires an API key."}}, 401
        )

    def faulty(self, f: Fault) -> Reply | None:
        if f.kind == "status":
            headers = {"Retry-After": f"{f.retry_after:g}"} if f.retry_after is not None else {}
            return Reply(f.status, b'{"title":"Too Many Requests","status":%d}' % f.status, headers=headers)
        if f.kind == "malformed":
            return Reply(200, b'{"servers": [{"server": {"name": "io.github.x/y", "desc')
        if f.kind == "html":
            return Reply(200, b"<!DOCTYPE html><html><body>Just a moment...</body></html>", "text/html")
        return None  # slow and cursor_* faults change the normal reply

    def raw_fault(self, f: Fault, h: BaseHTTPRequestHandler) -> None:
        """Replies that break HTTP itself: a body shorter than its Content-Length, a 50 MB body."""
        if f.kind == "truncated":
            body = b'{"servers": [], "metadata": {"count": 0}}'
            h.send_response(200)
            h.send_header("Content-Type", "application/json")
            h.send_header("Content-Length", str(len(body) + 500))
            h.end_headers()
            h.wfile.write(body)
            h.wfile.flush()
            h.close_connection = True
            return
        if f.kind == "huge":
            size = 50 * 1024 * 1024
            h.send_response(200)
            h.send_header("Content-Type", "application/json")
            h.send_header("Content-Length", str(size))
            h.end_headers()
            chunk = b" " * 65536
            try:
                h.wfile.write(b'{"servers": [')
                for _ in range(size // len(chunk)):
                    h.wfile.write(chunk)
            except OSError:
                pass  # the client hung up at its size cap, as it should
            h.close_connection = True

    def loop_cursor(self, f: Fault, reply: Reply, query: dict[str, str]) -> Reply:
        data = json.loads(reply.body)
        meta = data.setdefault("metadata", {})
        if f.kind == "cursor_repeat":
            meta["nextCursor"] = query.get("cursor") or "loop:0"
        else:
            n = int((query.get("cursor") or "endless:0").rsplit(":", 1)[-1] or 0)
            meta["nextCursor"] = f"endless:{n + 1}"
        return _json(data)

    def send(self, h: BaseHTTPRequestHandler, reply: Reply, headers: dict[str, str]) -> None:
        body = reply.body
        extra = dict(reply.headers)
        if reply.status == 200:
            etag = '"' + hashlib.sha1(body).hexdigest()[:20] + '"'
            extra.update({"ETag": etag, "Cache-Control": "max-age=0, must-revalidate"})
            if headers.get("if-none-match") == etag:
                reply, body = Reply(304), b""
                with self.lock:
                    self.hits["304"] += 1
        h.send_response(reply.status)
        if reply.status != 304:
            h.send_header("Content-Type", reply.ctype)
        for k, v in extra.items():
            h.send_header(k, v)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    # --- sources ------------------------------------------------------------------------------
    def registry(self, source: str) -> Callable[[str, dict[str, str], dict[str, str]], Reply]:
        def route(rest: str, q: dict[str, str], headers: dict[str, str]) -> Reply:
            if rest.rstrip("/") != "/v0.1/servers":
                return Reply(404, b'{"title":"Not Found"}')
            return self.registry_page(source, q)

        return route

    def registry_page(self, source: str, q: dict[str, str]) -> Reply:
        entries = self.data.official(source)
        limit = min(max(int(q.get("limit") or 30), 1), 100)
        since = q.get("updated_since")
        deleted = since is not None or q.get("include_deleted") == "true"
        cursor = q.get("cursor")
        start = 0
        if cursor and not cursor.startswith(("loop:", "endless:")):
            # entries are sorted by name:version; the cursor is the last key of the previous page
            lo, hi = 0, len(entries)
            while lo < hi:
                mid = (lo + hi) // 2
                if _entry_key(entries[mid]) <= cursor:
                    lo = mid + 1
                else:
                    hi = mid
            start = lo
        page: list[dict[str, Any]] = []
        i = start
        while i < len(entries) and len(page) < limit:
            e = entries[i]
            i += 1
            meta = _meta(e)
            if q.get("version") == "latest" and meta.get("isLatest") is False:
                continue
            if not deleted and meta.get("status") == "deleted":
                continue
            if since and str(meta.get("updatedAt") or "") < since:
                continue
            if (
                q.get("search")
                and q["search"].lower() not in str((e.get("server") or {}).get("name")).lower()
            ):
                continue
            page.append(e)
        metadata: dict[str, Any] = {"count": len(page)}
        if i < len(entries) and page:
            metadata["nextCursor"] = _entry_key(page[-1])
        return _json({"servers": page, "metadata": metadata})

    def smithery(self, rest: str, q: dict[str, str], headers: dict[str, str]) -> Reply:
        servers: list[dict[str, Any]] = self.data.load("smithery", "servers.json")
        if rest.rstrip("/") == "/servers":
            size = min(max(int(q.get("pageSize") or 10), 1), 100)
            page = max(int(q.get("page") or 1), 1)
            chunk = servers[(page - 1) * size : page * size]
            keys = (
                "qualifiedName",
                "displayName",
                "description",
                "iconUrl",
                "verified",
                "useCount",
                "remote",
                "isDeployed",
                "createdAt",
                "homepage",
            )
            items = [{k: s[k] for k in keys if k in s} for s in chunk]
            total = len(servers)
            pages = max((total + size - 1) // size, 1)
            return _json(
                {
                    "servers": items,
                    "pagination": {
                        "currentPage": page,
                        "pageSize": size,
                        "totalPages": pages,
                        "totalCount": total,
                    },
                }
            )
        if rest.startswith("/servers/"):
            name = unquote(rest[len("/servers/") :])
            for s in servers:
                if s.get("qualifiedName") == name:
                    return _json(s)
        return Reply(404, b'{"error":"Server not found"}')

    def glama(self, rest: str, q: dict[str, str], headers: dict[str, str]) -> Reply:
        servers: list[dict[str, Any]] = self.data.load("glama", "servers.json")
        if rest.rstrip("/") == "/servers":
            first = min(max(int(q.get("first") or 10), 1), 100)
            start = 0
            if q.get("after"):
                after = json.loads(base64.b64decode(q["after"]))
                start = next((i + 1 for i, s in enumerate(servers) if s["id"] == after["id"]), len(servers))
            chunk = servers[start : start + first]

            def cur(s: dict[str, Any]) -> str:
                return base64.b64encode(json.dumps({"id": s["id"]}).encode()).decode()

            info = {
                "hasNextPage": start + first < len(servers),
                "hasPreviousPage": start > 0,
                "startCursor": cur(chunk[0]) if chunk else None,
                "endCursor": cur(chunk[-1]) if chunk else None,
            }
            return _json({"pageInfo": info, "servers": chunk})
        parts = rest.strip("/").split("/")
        if len(parts) == 3 and parts[0] == "servers":
            for s in servers:
                if s.get("namespace") == parts[1] and s.get("slug") == parts[2]:
                    return _json(s)
        return Reply(404, b'{"error":"not found"}')

    def npm(self, rest: str, q: dict[str, str], headers: dict[str, str]) -> Reply:
        docs: dict[str, Any] = self.data.load("npm", "packages.json")
        if rest.rstrip("/") == "/-/v1/search":
            text = q.get("text", "")
            wanted = set(text.removeprefix("keywords:").split(",")) if text.startswith("keywords:") else set()
            hits = [
                d
                for d in docs.values()
                if wanted & set(d.get("keywords") or []) or (not wanted and text in d.get("name", ""))
            ]
            size = min(max(int(q.get("size") or 20), 1), 250)
            start = int(q.get("from") or 0)
            objects = []
            for d in hits[start : start + size]:
                latest = d["versions"][d["dist-tags"]["latest"]]
                repo = (d.get("repository") or {}).get("url")
                objects.append(
                    {
                        "package": {
                            "name": d["name"],
                            "version": latest["version"],
                            "description": d.get("description"),
                            "keywords": d.get("keywords"),
                            "date": d["time"]["modified"],
                            "links": {
                                "npm": f"https://www.npmjs.com/package/{d['name']}",
                                **({"repository": repo} if repo else {}),
                            },
                            "publisher": {"username": "example"},
                        },
                        "score": {
                            "final": 0.5,
                            "detail": {"quality": 0.5, "popularity": 0.1, "maintenance": 0.9},
                        },
                        "searchScore": 0.001,
                    }
                )
            return _json({"objects": objects, "total": len(hits), "time": "2026-01-01T00:00:00.000Z"})
        path = unquote(rest.lstrip("/"))
        latest = path.endswith("/latest")
        name = path.removesuffix("/latest")
        doc = docs.get(name)
        if doc is None:
            return Reply(404, b'{"error":"Not found"}')
        if latest:
            return _json(doc["versions"][doc["dist-tags"]["latest"]])
        return _json(doc)

    def pypi(self, rest: str, q: dict[str, str], headers: dict[str, str]) -> Reply:
        parts = rest.strip("/").split("/")
        if len(parts) == 3 and parts[0] == "pypi" and parts[2] == "json":
            projects: dict[str, Any] = self.data.load("pypi", "projects.json")
            norm = parts[1].lower().replace("_", "-").replace(".", "-")
            for name, doc in projects.items():
                if name.lower().replace("_", "-").replace(".", "-") == norm:
                    return _json(doc)
        return Reply(404, b'{"message": "Not Found"}')

    def docker(self, rest: str, q: dict[str, str], headers: dict[str, str]) -> Reply:
        root = self.data.root / "docker"
        if rest.rstrip("/") == "/servers/index.json":
            dirs = sorted(p.name for p in (root / "servers").iterdir() if p.is_dir())
            return _json([{"name": d, "path": f"servers/{d}", "type": "dir"} for d in dirs])
        return self.raw(rest, q, headers, root=root)

    def raw(self, rest: str, q: dict[str, str], headers: dict[str, str], root: Path | None = None) -> Reply:
        base = (root or self.data.root / "awesome").resolve()
        path = (base / rest.lstrip("/")).resolve()
        if not path.is_relative_to(base) or not path.is_file():
            return Reply(404, b"404: Not Found", "text/plain")
        ctype = "application/json" if path.suffix == ".json" else "text/plain; charset=utf-8"
        return Reply(200, path.read_bytes(), ctype)
