"""List the tools of a live remote MCP server: `introspect(url) -> IntrospectionResult`.

Only `tools/list` is ever sent (plus what a handshake needs); no tool is called. Three ways
in, tried in this order when `transport="auto"` and `era="auto"` (registries.md section 8):

1. **Stateless, 2026-07-28.** A bare `tools/list` POST with `MCP-Protocol-Version` and
   `Mcp-Method` headers and the envelope in `params._meta`. Accepted when the result has the
   2026-07-28 shape (`resultType`). Anything else except 401/403 or a network failure (a 400
   with a JSON-RPC error or an empty body, a 404/405, HTML, a result without `resultType`
   from a session-less 2025 server) is not evidence of the new era, so we fall back; a
   -32022 error that names only versions unknown to us is a real incompatibility.
2. **Streamable HTTP handshake, 2025-03-26 … 2025-11-25.** `initialize`, then
   `notifications/initialized`, then `tools/list` pages carrying `Mcp-Session-Id` and
   `MCP-Protocol-Version`; `DELETE` at the end.
3. **HTTP+SSE, 2024-11-05.** When the `initialize` POST gets a 4xx (what the spec's
   backwards-compatibility note says to watch for): GET the URL as an event stream, wait for
   the `endpoint` event, POST there and read each response from the stream.

Pages follow `nextCursor` up to `max_pages`; a cursor seen before ends the listing. Both end
it early with `complete=False` and a warning, keeping the tools read so far (the catalog
stores them but must not mark missing tools removed). Every answer is capped in bytes and
the whole run in time (`crawler.mcp_http`). Failures are `IntrospectionError` subclasses.

Why httpx and not the `mcp` SDK's client: mcp 2.3.0's `Client` does speak all three eras
(`mode="auto"` probes `server/discover`, then falls back to `initialize`), but it reads an
`application/json` answer whole with no byte cap (only single SSE events are capped, at
1 MiB), validates each page as a whole with pydantic (one tool with a string `inputSchema`
loses the page, checked), and runs transports in background tasks whose failures surface
as nested exception groups rather than one clear reason. A catalog that talks to thousands of
untrusted servers needs the caps and the one-line errors, so `mcp` stays a test dependency:
the tests check this module against real SDK servers and against the SDK's own client.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit

from catalog.records import ToolRecord
from crawler.errors import BadArgument, IntrospectionError, NotMCP, RemoteError
from crawler.mcp_http import Channel, Reply

__all__ = [
    "DEFAULT_MAX_PAGES",
    "DEFAULT_MAX_RESPONSE_BYTES",
    "DEFAULT_TIMEOUT",
    "HANDSHAKE_VERSION",
    "STATELESS_VERSION",
    "IntrospectionResult",
    "introspect",
]

STATELESS_VERSION = "2026-07-28"
HANDSHAKE_VERSION = "2025-11-25"  # what `initialize` offers; the server may answer an older one
DEFAULT_TIMEOUT = 30.0
DEFAULT_MAX_RESPONSE_BYTES = 4 * 1024 * 1024
DEFAULT_MAX_PAGES = 50
CLIENT_INFO = {"name": "mcpcat", "version": "0.1.0"}

_META_VERSION = "io.modelcontextprotocol/protocolVersion"
_META_CLIENT = "io.modelcontextprotocol/clientInfo"
_META_CAPS = "io.modelcontextprotocol/clientCapabilities"
_META_SERVER = "io.modelcontextprotocol/serverInfo"
_UNSUPPORTED_VERSION = -32022
_KNOWN_VERSIONS = ("2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25", STATELESS_VERSION)

Transport = Literal["auto", "streamable-http", "sse"]
Era = Literal["auto", "stateless", "handshake"]


@dataclass(slots=True)
class IntrospectionResult:
    """What one run learnt. `complete` is False when paging stopped early (see `warnings`)."""

    url: str
    transport: Literal["streamable-http", "sse"]
    protocol_version: str
    server_info: dict[str, Any] | None = None
    instructions: str | None = None
    tools: list[ToolRecord] = field(default_factory=list)
    pages: int = 0
    complete: bool = True
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "transport": self.transport,
            "protocol_version": self.protocol_version,
            "server_info": self.server_info,
            "instructions": self.instructions,
            "complete": self.complete,
            "pages": self.pages,
            "warnings": list(self.warnings),
            "tools": [
                {
                    "name": t.name,
                    "title": t.title,
                    "description": t.description,
                    "input_schema": t.input_schema,
                    "output_schema": t.output_schema,
                    "annotations": t.annotations,
                    "origin": t.origin,
                }
                for t in self.tools
            ],
        }


def introspect(
    url: str,
    *,
    headers: Mapping[str, str] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
    max_pages: int = DEFAULT_MAX_PAGES,
    transport: Transport = "auto",
    era: Era = "auto",
) -> IntrospectionResult:
    """List the tools of the MCP server at `url` (see the module docstring for the order).

    `timeout` bounds the whole run in seconds; `max_response_bytes` each answer (and each
    wait on an SSE stream); `max_pages` the number of `tools/list` requests. `headers` go on
    every request (e.g. `{"Authorization": "Bearer …"}`).
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BadArgument(f"not an http(s) URL: {url!r}")
    if timeout <= 0 or max_response_bytes <= 0 or max_pages <= 0:
        raise BadArgument("timeout, max_response_bytes and max_pages must be positive")
    if transport not in ("auto", "streamable-http", "sse") or era not in ("auto", "stateless", "handshake"):
        raise BadArgument(f"unknown transport {transport!r} or era {era!r}")
    channel = Channel(url, dict(headers or {}), timeout, max_response_bytes)
    try:
        return _Run(channel, url, max_pages, transport, era).run()
    finally:
        channel.close()


class _Run:
    def __init__(self, channel: Channel, url: str, max_pages: int, transport: Transport, era: Era) -> None:
        self.ch, self.url, self.max_pages = channel, url, max_pages
        self.transport, self.era = transport, era

    def run(self) -> IntrospectionResult:
        if self.transport == "sse":
            return self.via_sse()
        stateless_said = ""
        if self.era != "handshake":
            outcome = self.via_stateless()
            if isinstance(outcome, IntrospectionResult):
                return outcome
            if self.era == "stateless":
                raise NotMCP(f"{self.url}: no 2026-07-28 answer to tools/list ({outcome})")
            stateless_said = outcome
        try:
            return self.via_handshake()
        except _InitializeRejected as rejected:
            if self.transport == "streamable-http":
                raise NotMCP(f"{self.url}: initialize answered {rejected.reply.describe()}") from None
            try:
                return self.via_sse()
            except NotMCP as e:
                tried = f"2026-07-28 tools/list answered {stateless_said}; " if stateless_said else ""
                raise NotMCP(
                    f"{self.url}: not an MCP server: {tried}initialize answered "
                    f"{rejected.reply.describe()}; {_strip_url(str(e), self.url)}"
                ) from None

    # -- 2026-07-28 -----------------------------------------------------------------------

    def via_stateless(self) -> IntrospectionResult | str:
        """The result, or why the answer is no evidence of the stateless era (to fall back)."""
        first = self.stateless_page(None)
        message = first.message
        if message is None:
            return first.describe()
        if "error" in message:
            code, text, data = _error_parts(message)
            if code == _UNSUPPORTED_VERSION and isinstance(data, dict):
                supported = [v for v in data.get("supported") or [] if isinstance(v, str)]
                if supported and not any(v in _KNOWN_VERSIONS for v in supported):
                    raise RemoteError(
                        f"{self.url}: the server speaks only {', '.join(supported)}; "
                        f"mcpcat speaks {STATELESS_VERSION} and the initialize handshake",
                        code,
                    )
            return f"HTTP {first.status} JSON-RPC error {code}: {text}"
        result = message.get("result")
        if not isinstance(result, dict) or "resultType" not in result:
            return f"HTTP {first.status} a result without the 2026-07-28 resultType"
        meta = result.get("_meta")
        info = meta.get(_META_SERVER) if isinstance(meta, dict) else None
        out = IntrospectionResult(self.url, "streamable-http", STATELESS_VERSION, _obj(info))
        self.collect(out, lambda cursor: self.result_of(self.stateless_page(cursor), "tools/list"), result)
        return out

    def stateless_page(self, cursor: str | None) -> Reply:
        params: dict[str, Any] = {
            "_meta": {_META_VERSION: STATELESS_VERSION, _META_CLIENT: CLIENT_INFO, _META_CAPS: {}}
        }
        if cursor is not None:
            params["cursor"] = cursor
        headers = {"MCP-Protocol-Version": STATELESS_VERSION, "Mcp-Method": "tools/list"}
        return self.ch.post(self.request("tools/list", params), headers=headers)

    # -- 2025 streamable HTTP ---------------------------------------------------------------

    def via_handshake(self) -> IntrospectionResult:
        init = self.ch.post(self.request("initialize", _initialize_params()), headers={})
        if init.message is None and 400 <= init.status < 500:
            raise _InitializeRejected(init)
        result = self.result_of(init, "initialize")
        version = result.get("protocolVersion")
        if not isinstance(version, str) or not version:
            raise NotMCP(f"{self.url}: initialize result has no protocolVersion")
        headers = {"MCP-Protocol-Version": version}
        session = init.headers.get("mcp-session-id")
        if session:
            headers["Mcp-Session-Id"] = session
        info, instructions = _obj(result.get("serverInfo")), _str(result.get("instructions"))
        out = IntrospectionResult(self.url, "streamable-http", version, info, instructions)
        try:
            # The answer (202 by the spec) carries nothing we need; failures show on tools/list.
            self.ch.post({"jsonrpc": "2.0", "method": "notifications/initialized"}, headers=headers)
            self.collect(
                out,
                lambda cursor: self.result_of(
                    self.ch.post(self.request("tools/list", _cursor(cursor)), headers=headers), "tools/list"
                ),
            )
        finally:
            if session:
                self.ch.delete(headers)
        return out

    # -- 2024-11-05 HTTP+SSE ------------------------------------------------------------------

    def via_sse(self) -> IntrospectionResult:
        stream = self.ch.open_sse(self.ch.url)
        try:
            endpoint = stream.endpoint()

            def call(method: str, params: dict[str, Any]) -> dict[str, Any]:
                message = self.request(method, params)
                reply = self.ch.post(message, headers={}, url=endpoint)
                if reply.message is None:
                    if reply.status >= 300:
                        raise NotMCP(f"{endpoint}: {method} answered {reply.describe()}")
                    reply.message = stream.wait_for(message["id"])
                return self.result_of(reply, method)

            result = call("initialize", _initialize_params())
            version = result.get("protocolVersion")
            if not isinstance(version, str) or not version:
                raise NotMCP(f"{self.url}: initialize result has no protocolVersion")
            out = IntrospectionResult(
                self.url, "sse", version, _obj(result.get("serverInfo")), _str(result.get("instructions"))
            )
            self.ch.post({"jsonrpc": "2.0", "method": "notifications/initialized"}, headers={}, url=endpoint)
            self.collect(out, lambda cursor: call("tools/list", _cursor(cursor)))
            return out
        finally:
            stream.close()

    # -- shared ---------------------------------------------------------------------------

    def request(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        return {"jsonrpc": "2.0", "id": self.ch.next_id(), "method": method, "params": params}

    def result_of(self, reply: Reply, method: str) -> dict[str, Any]:
        """The `result` object of a reply, else NotMCP or RemoteError saying what came."""
        message = reply.message
        if message is None:
            raise NotMCP(f"{self.url}: {method} answered {reply.describe()}")
        if "error" in message:
            code, text, _ = _error_parts(message)
            raise RemoteError(f"{self.url}: {method} failed: JSON-RPC error {code}: {text}", code)
        result = message.get("result")
        if not isinstance(result, dict):
            raise NotMCP(f"{self.url}: {method} result is not an object")
        return result

    def collect(
        self,
        out: IntrospectionResult,
        fetch: Callable[[str | None], dict[str, Any]],
        first: dict[str, Any] | None = None,
    ) -> None:
        """Page through tools/list into `out`, stopping at max_pages or a repeated cursor."""
        origin = {"kind": "introspected", "url": self.url, "protocol_version": out.protocol_version}
        seen_cursors: set[str] = set()
        seen_names: set[str] = set()
        cursor: str | None = None
        while True:
            result = first if first is not None and out.pages == 0 else fetch(cursor)
            out.pages += 1
            tools = result.get("tools")
            if not isinstance(tools, list):
                raise NotMCP(f"{self.url}: tools/list result has no tools list (page {out.pages})")
            for raw in tools:
                record = _tool_record(raw, origin, out.warnings)
                if record is None:
                    continue
                if record.name in seen_names:
                    out.warnings.append(f"tool {record.name!r} listed twice; kept the first")
                    continue
                seen_names.add(record.name)
                out.tools.append(record)
            cursor = result.get("nextCursor")
            if cursor is None or cursor == "":
                return
            if not isinstance(cursor, str):
                raise NotMCP(f"{self.url}: nextCursor is not a string (page {out.pages})")
            if cursor in seen_cursors:
                out.complete = False
                out.warnings.append(f"the server repeated cursor {_short(cursor)} after page {out.pages}")
                return
            if out.pages >= self.max_pages:
                out.complete = False
                out.warnings.append(f"stopped after {self.max_pages} pages; the server offered more")
                return
            seen_cursors.add(cursor)


class _InitializeRejected(IntrospectionError):
    """The initialize POST got a 4xx without JSON-RPC: the cue to try HTTP+SSE."""

    def __init__(self, reply: Reply) -> None:
        super().__init__(reply.describe())
        self.reply = reply


def _initialize_params() -> dict[str, Any]:
    return {"protocolVersion": HANDSHAKE_VERSION, "capabilities": {}, "clientInfo": CLIENT_INFO}


def _cursor(cursor: str | None) -> dict[str, Any]:
    return {} if cursor is None else {"cursor": cursor}


def _error_parts(message: dict[str, Any]) -> tuple[Any, str, Any]:
    error = message.get("error")
    if not isinstance(error, dict):
        return None, "malformed error", None
    text = " ".join(str(error.get("message", "")).split())[:200]
    return error.get("code"), text or "no message", error.get("data")


def _obj(value: Any) -> dict[str, Any] | None:
    return value if isinstance(value, dict) else None


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _short(text: str) -> str:
    return repr(text if len(text) <= 40 else text[:39] + "…")


def _strip_url(message: str, url: str) -> str:
    return message.removeprefix(f"{url}: ")


def _tool_record(raw: Any, origin: dict[str, Any], warnings: list[str]) -> ToolRecord | None:
    """One tool as the server gave it; a tool without a usable name is skipped with a warning,
    a field of the wrong type is dropped with one. Nothing is filled in or invented."""
    if not isinstance(raw, dict) or not isinstance(raw.get("name"), str) or not raw["name"].strip():
        warnings.append(f"skipped a tool without a name: {_short(str(raw))}")
        return None
    name: str = raw["name"]
    fields: dict[str, Any] = {}
    for key, attr, kind in (
        ("title", "title", str),
        ("description", "description", str),
        ("inputSchema", "input_schema", dict),
        ("outputSchema", "output_schema", dict),
        ("annotations", "annotations", dict),
    ):
        value = raw.get(key)
        if value is not None and not isinstance(value, kind):
            expected = "an object" if kind is dict else "a string"
            warnings.append(f"tool {name!r}: {key} is not {expected}; dropped")
            value = None
        fields[attr] = value
    return ToolRecord(name=name, origin=dict(origin), **fields)
