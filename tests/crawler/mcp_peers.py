"""MCP peers for the introspection tests, all on 127.0.0.1 and a free port.

Real servers come from the official `mcp` SDK (2.3.0, which itself serves both the
2025 handshake and the stateless 2026-07-28 revision on one streamable HTTP endpoint, and
the 2024-11-05 HTTP+SSE transport through `sse_app`). Around them:

- `Recorder`: an ASGI wrapper that notes each request and the answer's status and type.
- `handshake_only`: an ASGI wrapper that makes an SDK server answer like a 2025-era
  server that predates 2026-07-28 (a 400 to any other `MCP-Protocol-Version`). The body
  is what SDK 1.x sends, or empty.
- `require_bearer`: a 401 gate in front of an SDK server.
- `BadPeer`: a hand-written `http.server` for what no SDK server does (HTML, endless
  bodies, repeated cursors, hanging, odd tools). It speaks just enough 2025 JSON-RPC.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import uvicorn
from mcp.server.lowlevel import Server
from mcp.server.mcpserver import MCPServer
from mcp_types import ListToolsResult, Tool, ToolAnnotations
from pydantic import BaseModel

Asgi = Callable[..., Any]


# -- running ASGI apps -------------------------------------------------------------------


@contextmanager
def serve(app: Asgi) -> Iterator[str]:
    """Run `app` with uvicorn in a thread; yield its base URL ("http://127.0.0.1:PORT").

    Port 0 lets uvicorn bind: a socket handed in through `sockets=` would lack TCP_NODELAY,
    and every kept-alive exchange would then wait ~40 ms for a delayed ACK."""
    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, log_level="error", lifespan="on", timeout_graceful_shutdown=1
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(5)


# -- SDK servers ------------------------------------------------------------------------


class Totals(BaseModel):
    files: int
    bytes: int


def demo_server() -> MCPServer:
    """Four tools: annotations, a title, an output schema, a docstring description."""
    mcp = MCPServer("demo-files", version="1.2.3", instructions="Files in a sandbox.")

    @mcp.tool(
        title="Delete file",
        annotations=ToolAnnotations(readOnlyHint=False, destructiveHint=True, idempotentHint=True),
    )
    def delete_file(path: str) -> str:
        """Delete a file from the workspace."""
        return path

    @mcp.tool(annotations=ToolAnnotations(title="Read a file", readOnlyHint=True, openWorldHint=False))
    def read_file(path: str, max_bytes: int = 4096) -> str:
        """Read a file.

        Returns at most max_bytes."""
        return path

    @mcp.tool()
    def count_files(folder: str) -> Totals:
        """Count files and bytes under a folder."""
        return Totals(files=0, bytes=0)

    @mcp.tool(name="write-note")
    def write_note(text: str) -> str:
        return text

    return mcp


def paged_server(n_tools: int, page_size: int) -> Server[Any]:
    """A low-level SDK server whose tools/list hands out `page_size` tools a page."""
    tools = [
        Tool(name=f"tool_{i:02d}", description=f"Tool number {i}", input_schema={"type": "object"})
        for i in range(n_tools)
    ]

    async def list_tools(ctx: Any, params: Any) -> ListToolsResult:
        start = int(params.cursor) if params is not None and params.cursor else 0
        end = start + page_size
        return ListToolsResult(tools=tools[start:end], next_cursor=str(end) if end < n_tools else None)

    return Server("paged", version="0.1", on_list_tools=list_tools)


# -- ASGI wrappers ------------------------------------------------------------------------


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    status: int = 0
    content_type: str = ""


@dataclass
class Recorder:
    """Notes each request (method, path, headers, body) and its answer's status and type."""

    app: Asgi
    seen: list[Seen] = field(default_factory=list)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        entry = Seen(scope["method"], scope["path"], headers, b"")
        self.seen.append(entry)

        async def recv() -> Any:
            message = await receive()
            if message["type"] == "http.request":
                entry.body += message.get("body", b"")
            return message

        async def snd(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                entry.status = message["status"]
                for k, v in message.get("headers", []):
                    if k.lower() == b"content-type":
                        entry.content_type = v.decode("latin-1").split(";")[0]
            await send(message)

        await self.app(scope, recv, snd)

    def methods(self) -> list[str]:
        """"METHOD json-rpc-method STATUS content-type" for each request, for asserting a flow."""
        out = []
        for s in self.seen:
            rpc = json.loads(s.body).get("method", "") if s.body.startswith(b"{") else ""
            out.append(" ".join(x for x in (s.method, rpc, str(s.status), s.content_type) if x))
        return out


_SDK1_REJECTION = json.dumps(
    {
        "jsonrpc": "2.0",
        "id": "server-error",
        "error": {
            "code": -32600,
            "message": "Bad Request: Unsupported protocol version: 2026-07-28. "
            "Supported versions: 2024-11-05, 2025-03-26, 2025-06-18, 2025-11-25",
        },
    }
).encode()


def handshake_only(app: Asgi, body: bytes = _SDK1_REJECTION) -> Asgi:
    """`app` as a 2025-era server: a 400 with `body` to an `MCP-Protocol-Version` it does not know."""
    known = {b"2024-11-05", b"2025-03-26", b"2025-06-18", b"2025-11-25"}

    async def wrapped(scope: dict[str, Any], receive: Any, send: Any) -> None:
        version = dict(scope.get("headers", [])).get(b"mcp-protocol-version")
        if scope["type"] == "http" and version is not None and version not in known:
            while (await receive()).get("more_body"):
                pass
            ctype = [(b"content-type", b"application/json")] if body else []
            await send({"type": "http.response.start", "status": 400, "headers": ctype})
            await send({"type": "http.response.body", "body": body})
            return
        await app(scope, receive, send)

    return wrapped


def require_bearer(app: Asgi, token: str) -> Asgi:
    """A 401 with a Bearer challenge unless `Authorization: Bearer <token>` is sent."""

    async def wrapped(scope: dict[str, Any], receive: Any, send: Any) -> None:
        auth = dict(scope.get("headers", [])).get(b"authorization", b"")
        if scope["type"] == "http" and auth != f"Bearer {token}".encode():
            headers = [(b"www-authenticate", b'Bearer realm="mcp"'), (b"content-type", b"text/plain")]
            await send({"type": "http.response.start", "status": 401, "headers": headers})
            await send({"type": "http.response.body", "body": b"unauthorized"})
            return
        await app(scope, receive, send)

    return wrapped


# -- hand-written bad peers -------------------------------------------------------------


class BadPeer:
    """A threaded `http.server` whose POST handler is `behaviour(handler, message)`.

    Used as a context manager; yields itself with `.url`. `release` wakes hanging handlers
    on exit so the server stops at once.
    """

    def __init__(self, behaviour: Callable[[BaseHTTPRequestHandler, dict[str, Any]], None]) -> None:
        self.behaviour = behaviour
        self.release = threading.Event()
        peer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                message = json.loads(self.rfile.read(length) or b"{}")
                with suppress(BrokenPipeError, ConnectionResetError):
                    peer.behaviour(self, message)

            do_GET = do_DELETE = do_POST

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/mcp"

    def __enter__(self) -> BadPeer:
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


def send_json(
    handler: BaseHTTPRequestHandler, status: int, payload: Any, ctype: str = "application/json"
) -> None:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", ctype)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


def handshake_peer(
    tools_page: Callable[[str | None], dict[str, Any]],
) -> Callable[[BaseHTTPRequestHandler, dict[str, Any]], None]:
    """A minimal 2025-11-25 JSON-RPC server: 400 to the stateless request, then the handshake,
    and `tools_page(cursor)` as each tools/list result."""

    def behaviour(handler: BaseHTTPRequestHandler, message: dict[str, Any]) -> None:
        if handler.headers.get("MCP-Protocol-Version") == "2026-07-28":
            send_json(handler, 400, b"")
        elif message.get("method") == "initialize":
            result = {"protocolVersion": "2025-06-18", "capabilities": {"tools": {}},
                      "serverInfo": {"name": "hand-written", "version": "0"}}
            send_json(handler, 200, {"jsonrpc": "2.0", "id": message["id"], "result": result})
        elif "id" not in message:
            handler.send_response(202)
            handler.send_header("Content-Length", "0")
            handler.end_headers()
        else:
            cursor = (message.get("params") or {}).get("cursor")
            send_json(handler, 200, {"jsonrpc": "2.0", "id": message["id"], "result": tools_page(cursor)})

    return behaviour


def free_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
