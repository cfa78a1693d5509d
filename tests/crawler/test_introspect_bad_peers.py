"""crawler.introspect against peers that misbehave: every case ends fast with one clear reason."""

from __future__ import annotations

import time
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest

from crawler.errors import (
    AuthRequired,
    BadArgument,
    IntrospectionError,
    IntrospectionTimeout,
    NotMCP,
    RemoteError,
    ResponseTooLarge,
    ServerUnreachable,
)
from crawler.introspect import introspect
from tests.crawler.mcp_peers import (
    BadPeer,
    Recorder,
    demo_server,
    free_port,
    handshake_peer,
    require_bearer,
    send_json,
    serve,
)

CAP = 64 * 1024


def tool(name: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "inputSchema": {"type": "object"}, **extra}


def test_html_page() -> None:
    def html(handler: BaseHTTPRequestHandler, message: dict[str, Any]) -> None:
        page = b"<!doctype html>\n<html><body>Welcome to   our site</body></html>"
        send_json(handler, 200, page, "text/html")

    with BadPeer(html) as peer, pytest.raises(NotMCP) as info:
        introspect(peer.url, timeout=5)
    assert str(info.value) == (
        f"{peer.url}: initialize answered HTTP 200 text/html: "
        "<!doctype html> <html><body>Welcome to our site</body></html>"
    )


def test_not_found_everywhere() -> None:
    def missing(handler: BaseHTTPRequestHandler, message: dict[str, Any]) -> None:
        send_json(handler, 404, b"Not Found", "text/plain")

    with BadPeer(missing) as peer, pytest.raises(NotMCP) as info:
        introspect(peer.url, timeout=5)
    assert str(info.value) == (
        f"{peer.url}: not an MCP server: 2026-07-28 tools/list answered HTTP 404 text/plain: Not Found; "
        "initialize answered HTTP 404 text/plain: Not Found; GET answered HTTP 404 text/plain"
    )


def test_bad_json() -> None:
    def garbage(handler: BaseHTTPRequestHandler, message: dict[str, Any]) -> None:
        send_json(handler, 200, b"{not json", "application/json")

    with BadPeer(garbage) as peer, pytest.raises(NotMCP, match=r"initialize answered HTTP 200 not a JSON"):
        introspect(peer.url, timeout=5)


def _endless(handler: BaseHTTPRequestHandler, ctype: str, piece: bytes) -> None:
    handler.send_response(200)
    handler.send_header("Content-Type", ctype)
    handler.send_header("Connection", "close")
    handler.end_headers()
    for _ in range(10_000):  # 10,000 pieces: far past the cap, and an end for the thread
        handler.wfile.write(piece)


@pytest.mark.parametrize(
    ("ctype", "piece"),
    [
        ("application/json", b'{"jsonrpc": "2.0", "id": 1, "result": {"tools": [' + b" " * 1000),
        ("text/event-stream", b": keep-alive padding " + b"." * 1000 + b"\n"),
        ("text/event-stream", b"data: " + b"x" * 1000 + b"\n"),
    ],
    ids=["json", "sse-comments", "sse-one-endless-event"],
)
def test_body_over_the_cap_stops_reading(ctype: str, piece: bytes) -> None:
    with BadPeer(lambda h, m: _endless(h, ctype, piece)) as peer, pytest.raises(ResponseTooLarge) as info:
        introspect(peer.url, timeout=5, max_response_bytes=CAP)
    assert str(info.value) == f"{peer.url}: answer passed the 65536 bytes cap; stopped reading"


def test_declared_length_over_the_cap_is_refused_unread() -> None:
    def big(handler: BaseHTTPRequestHandler, message: dict[str, Any]) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(10 * 1024 * 1024))
        handler.send_header("Connection", "close")
        handler.end_headers()

    with BadPeer(big) as peer, pytest.raises(ResponseTooLarge) as info:
        introspect(peer.url, timeout=5, max_response_bytes=CAP)
    assert str(info.value) == f"{peer.url}: answer of 10485760 bytes is over the 65536 bytes cap"


def test_repeated_cursor_ends_the_listing() -> None:
    def page(cursor: str | None) -> dict[str, Any]:
        return {"tools": [tool("list_items")], "nextCursor": "again"}

    with BadPeer(handshake_peer(page)) as peer:
        result = introspect(peer.url, timeout=5)
    assert (result.pages, result.complete, result.protocol_version) == (2, False, "2025-06-18")
    assert [t.name for t in result.tools] == ["list_items"]
    assert result.warnings == [
        "tool 'list_items' listed twice; kept the first",
        "the server repeated cursor 'again' after page 2",
    ]


def test_endless_fresh_cursors_stop_at_max_pages() -> None:
    def page(cursor: str | None) -> dict[str, Any]:
        n = int(cursor or 0)
        return {"tools": [tool(f"t{n}")], "nextCursor": str(n + 1)}

    with BadPeer(handshake_peer(page)) as peer:
        result = introspect(peer.url, timeout=5, max_pages=7)
    assert (result.pages, result.complete, len(result.tools)) == (7, False, 7)
    assert result.warnings == ["stopped after 7 pages; the server offered more"]


def test_odd_tools_are_kept_or_skipped_never_invented() -> None:
    def page(cursor: str | None) -> dict[str, Any]:
        return {
            "tools": [
                tool("ok", annotations={"readOnlyHint": True}),
                {"description": "no name"},
                "not an object",
                tool("bad_schema", inputSchema="string", description=7),
            ]
        }

    with BadPeer(handshake_peer(page)) as peer:
        result = introspect(peer.url, timeout=5)
    assert result.complete
    assert [(t.name, t.input_schema, t.description) for t in result.tools] == [
        ("ok", {"type": "object"}, None),
        ("bad_schema", None, None),
    ]
    assert result.warnings == [
        "skipped a tool without a name: \"{'description': 'no name'}\"",
        "skipped a tool without a name: 'not an object'",
        "tool 'bad_schema': description is not a string; dropped",
        "tool 'bad_schema': inputSchema is not an object; dropped",
    ]


def test_bad_next_cursor_type() -> None:
    with BadPeer(handshake_peer(lambda c: {"tools": [], "nextCursor": 5})) as peer, pytest.raises(
        NotMCP, match=r"nextCursor is not a string \(page 1\)"
    ):
        introspect(peer.url, timeout=5)


def test_jsonrpc_error_carries_code() -> None:
    behaviour = handshake_peer(lambda c: {"tools": []})

    def erroring(handler: BaseHTTPRequestHandler, message: dict[str, Any]) -> None:
        handshaken = handler.headers.get("MCP-Protocol-Version") == "2025-06-18"
        if message.get("method") == "tools/list" and handshaken:
            error = {"code": -32601, "message": "Method not found"}
            send_json(handler, 200, {"jsonrpc": "2.0", "id": message["id"], "error": error})
        else:
            behaviour(handler, message)

    with BadPeer(erroring) as peer, pytest.raises(RemoteError) as info:
        introspect(peer.url, timeout=5)
    assert info.value.code == -32601
    assert str(info.value) == f"{peer.url}: tools/list failed: JSON-RPC error -32601: Method not found"


def test_modern_server_with_no_version_in_common() -> None:
    def future(handler: BaseHTTPRequestHandler, message: dict[str, Any]) -> None:
        error = {"code": -32022, "message": "Unsupported protocol version",
                 "data": {"supported": ["2027-01-01"], "requested": "2026-07-28"}}
        send_json(handler, 400, {"jsonrpc": "2.0", "id": message.get("id"), "error": error})

    with BadPeer(future) as peer, pytest.raises(RemoteError, match=r"speaks only 2027-01-01; mcpcat speaks"):
        introspect(peer.url, timeout=5)


def test_hanging_server_times_out_fast() -> None:
    peer_box: list[BadPeer] = []

    def hang(handler: BaseHTTPRequestHandler, message: dict[str, Any]) -> None:
        peer_box[0].release.wait(10)

    with BadPeer(hang) as peer:
        peer_box.append(peer)
        start = time.monotonic()
        with pytest.raises(IntrospectionTimeout) as info:
            introspect(peer.url, timeout=0.3)
        assert time.monotonic() - start < 1.5
    assert str(info.value) == f"{peer.url}: no complete answer within 0.3 s"


def test_slow_drip_is_bounded_by_the_whole_run_timeout() -> None:
    """A byte every 0.1 s never trips a read timeout; the run's deadline still ends it."""
    peer_box: list[BadPeer] = []

    def drip(handler: BaseHTTPRequestHandler, message: dict[str, Any]) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "text/event-stream")
        handler.end_headers()
        while not peer_box[0].release.wait(0.1):
            handler.wfile.write(b":\n")
            handler.wfile.flush()

    with BadPeer(drip) as peer:
        peer_box.append(peer)
        start = time.monotonic()
        with pytest.raises(IntrospectionTimeout):
            introspect(peer.url, timeout=0.5)
        assert time.monotonic() - start < 1.5


def test_401_then_the_right_header() -> None:
    rec = Recorder(require_bearer(demo_server().streamable_http_app(json_response=True), "s3cret"))
    with serve(rec) as base:
        url = base + "/mcp"
        with pytest.raises(AuthRequired) as info:
            introspect(url, timeout=5)
        assert str(info.value) == (
            f"{url}: HTTP 401 (Bearer auth); pass credentials with --header 'Authorization: Bearer …'"
        )
        assert len(rec.seen) == 1  # no fallback after a 401
        result = introspect(url, timeout=5, headers={"Authorization": "Bearer s3cret"})
    assert result.protocol_version == "2026-07-28"
    assert len(result.tools) == 4


def test_unreachable_port() -> None:
    url = f"http://127.0.0.1:{free_port()}/mcp"
    with pytest.raises(ServerUnreachable, match=r"cannot connect \(.*refused"):
        introspect(url, timeout=2)


@pytest.mark.parametrize("url", ["ftp://example.org/mcp", "file:///etc/passwd", "localhost:8000", "http://"])
def test_bad_url(url: str) -> None:
    with pytest.raises(BadArgument):
        introspect(url)


def test_redirects_same_origin_only() -> None:
    def redirect(target: str) -> Any:
        def behaviour(handler: BaseHTTPRequestHandler, message: dict[str, Any]) -> None:
            handler.send_response(307)
            handler.send_header("Location", target)
            handler.send_header("Content-Length", "0")
            handler.end_headers()

        return behaviour

    away = "https://elsewhere.example/mcp"
    with BadPeer(redirect(away)) as peer, pytest.raises(IntrospectionError) as info:
        introspect(peer.url, timeout=5)
    assert str(info.value) == f"{peer.url}: redirects to another origin ({away}); introspect that URL instead"
    app = demo_server().streamable_http_app(json_response=True)
    with (
        serve(app) as base,
        BadPeer(redirect(base + "/mcp")) as peer,
        pytest.raises(IntrospectionError, match="another origin"),
    ):
        introspect(peer.url, timeout=5)  # another port is another origin

    rec = Recorder(demo_server().streamable_http_app(json_response=True))

    async def moved(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] == "/old":
            await send({"type": "http.response.start", "status": 308, "headers": [(b"location", b"/mcp")]})
            await send({"type": "http.response.body", "body": b""})
            return
        await rec(scope, receive, send)

    with serve(moved) as base:
        result = introspect(base + "/old", timeout=5, era="handshake")
    assert len(result.tools) == 4
    assert all(s.path == "/mcp" for s in rec.seen)
