"""crawler.introspect against real SDK servers on 127.0.0.1 (see mcp_peers for the peers)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import anyio
import pytest
from mcp import Client

from crawler.errors import NotMCP
from crawler.introspect import introspect
from tests.crawler.mcp_peers import Recorder, demo_server, handshake_only, paged_server, serve

EXPECTED_TOOLS: list[dict[str, Any]] = [
    {
        "name": "delete_file",
        "title": "Delete file",
        "description": "Delete a file from the workspace.",
        "input_schema": {
            "type": "object",
            "properties": {"path": {"title": "Path", "type": "string"}},
            "required": ["path"],
            "title": "delete_fileArguments",
        },
        "output_schema": {
            "type": "object",
            "properties": {"result": {"title": "Result", "type": "string"}},
            "required": ["result"],
            "title": "delete_fileOutput",
        },
        "annotations": {"readOnlyHint": False, "destructiveHint": True, "idempotentHint": True},
    },
    {
        "name": "read_file",
        "title": None,
        "description": "Read a file.\n\n        Returns at most max_bytes.",
        "input_schema": {
            "type": "object",
            "properties": {
                "path": {"title": "Path", "type": "string"},
                "max_bytes": {"default": 4096, "title": "Max Bytes", "type": "integer"},
            },
            "required": ["path"],
            "title": "read_fileArguments",
        },
        "output_schema": {
            "type": "object",
            "properties": {"result": {"title": "Result", "type": "string"}},
            "required": ["result"],
            "title": "read_fileOutput",
        },
        "annotations": {"title": "Read a file", "readOnlyHint": True, "openWorldHint": False},
    },
    {
        "name": "count_files",
        "title": None,
        "description": "Count files and bytes under a folder.",
        "input_schema": {
            "type": "object",
            "properties": {"folder": {"title": "Folder", "type": "string"}},
            "required": ["folder"],
            "title": "count_filesArguments",
        },
        "output_schema": {
            "type": "object",
            "properties": {
                "files": {"title": "Files", "type": "integer"},
                "bytes": {"title": "Bytes", "type": "integer"},
            },
            "required": ["files", "bytes"],
            "title": "Totals",
        },
        "annotations": None,
    },
    {
        "name": "write-note",
        "title": None,
        "description": "",  # the SDK sends "" for a function without a docstring
        "input_schema": {
            "type": "object",
            "properties": {"text": {"title": "Text", "type": "string"}},
            "required": ["text"],
            "title": "write_noteArguments",
        },
        "output_schema": {
            "type": "object",
            "properties": {"result": {"title": "Result", "type": "string"}},
            "required": ["result"],
            "title": "write_noteOutput",
        },
        "annotations": None,
    },
]


def tools_without_origin(result: Any) -> list[dict[str, Any]]:
    return [{k: v for k, v in t.items() if k != "origin"} for t in result.to_dict()["tools"]]


@pytest.fixture(scope="module")
def json_server() -> Iterator[tuple[str, Recorder]]:
    rec = Recorder(demo_server().streamable_http_app(json_response=True))
    with serve(rec) as base:
        yield base + "/mcp", rec


@pytest.fixture(scope="module")
def sse_response_server() -> Iterator[tuple[str, Recorder]]:
    rec = Recorder(demo_server().streamable_http_app(json_response=False))
    with serve(rec) as base:
        yield base + "/mcp", rec


@pytest.fixture(scope="module")
def legacy_sse_server() -> Iterator[tuple[str, Recorder]]:
    rec = Recorder(demo_server().sse_app())
    with serve(rec) as base:
        yield base + "/sse", rec


@pytest.fixture(scope="module")
def handshake_server() -> Iterator[tuple[str, Recorder]]:
    rec = Recorder(handshake_only(demo_server().streamable_http_app(json_response=True)))
    with serve(rec) as base:
        yield base + "/mcp", rec


@pytest.fixture(scope="module")
def paged() -> Iterator[str]:
    with serve(paged_server(23, 5).streamable_http_app(json_response=True)) as base:
        yield base + "/mcp"


def test_stateless_era_first(json_server: tuple[str, Recorder]) -> None:
    url, rec = json_server
    rec.seen.clear()
    result = introspect(url, timeout=5)
    assert (result.transport, result.protocol_version, result.complete, result.pages) == (
        "streamable-http", "2026-07-28", True, 1,
    )
    assert result.server_info == {"name": "demo-files", "version": "1.2.3"}
    assert tools_without_origin(result) == EXPECTED_TOOLS
    assert result.tools[0].origin == {"kind": "introspected", "url": url, "protocol_version": "2026-07-28"}
    assert result.warnings == []
    # One POST, no initialize, the headers and envelope of section 8.
    assert rec.methods() == ["POST tools/list 200 application/json"]
    sent = rec.seen[0]
    assert sent.headers["mcp-protocol-version"] == "2026-07-28"
    assert sent.headers["mcp-method"] == "tools/list"
    assert "mcp-session-id" not in sent.headers
    meta = json.loads(sent.body)["params"]["_meta"]
    assert meta["io.modelcontextprotocol/protocolVersion"] == "2026-07-28"
    assert meta["io.modelcontextprotocol/clientCapabilities"] == {}
    assert meta["io.modelcontextprotocol/clientInfo"]["name"] == "mcpcat"


def test_handshake_with_json_responses(json_server: tuple[str, Recorder]) -> None:
    url, rec = json_server
    rec.seen.clear()
    result = introspect(url, timeout=5, era="handshake")
    assert (result.transport, result.protocol_version) == ("streamable-http", "2025-11-25")
    assert result.server_info == {"name": "demo-files", "version": "1.2.3"}
    assert result.instructions == "Files in a sandbox."
    assert tools_without_origin(result) == EXPECTED_TOOLS
    assert rec.methods() == [
        "POST initialize 200 application/json",
        "POST notifications/initialized 202 application/json",
        "POST tools/list 200 application/json",
        "DELETE 200 application/json",
    ]
    session = rec.seen[0].headers.get("mcp-session-id")
    assert session is None  # the server hands it out; we carry it from then on
    for later in rec.seen[1:]:
        assert later.headers["mcp-session-id"]
        assert later.headers["mcp-protocol-version"] == "2025-11-25"


def test_handshake_with_sse_framed_responses(sse_response_server: tuple[str, Recorder]) -> None:
    url, rec = sse_response_server
    rec.seen.clear()
    result = introspect(url, timeout=5, era="handshake")
    assert result.protocol_version == "2025-11-25"
    assert tools_without_origin(result) == EXPECTED_TOOLS
    assert rec.methods() == [
        "POST initialize 200 text/event-stream",
        "POST notifications/initialized 202 application/json",
        "POST tools/list 200 text/event-stream",
        "DELETE 200 application/json",
    ]


def test_stateless_on_sse_mode_server(sse_response_server: tuple[str, Recorder]) -> None:
    url, _ = sse_response_server
    result = introspect(url, timeout=5)
    assert result.protocol_version == "2026-07-28"
    assert tools_without_origin(result) == EXPECTED_TOOLS


@pytest.mark.parametrize("body", [None, b""], ids=["sdk1-jsonrpc-400", "empty-400"])
def test_falls_back_to_handshake_on_400(body: bytes | None) -> None:
    app = demo_server().streamable_http_app(json_response=True)
    rec = Recorder(handshake_only(app) if body is None else handshake_only(app, body))
    with serve(rec) as base:
        result = introspect(base + "/mcp", timeout=5)
    assert (result.transport, result.protocol_version) == ("streamable-http", "2025-11-25")
    assert tools_without_origin(result) == EXPECTED_TOOLS
    assert rec.methods()[:2] == [
        "POST tools/list 400" + (" application/json" if body is None else ""),
        "POST initialize 200 application/json",
    ]


def test_legacy_http_sse_transport(legacy_sse_server: tuple[str, Recorder]) -> None:
    url, rec = legacy_sse_server
    rec.seen.clear()
    result = introspect(url, timeout=5)
    assert (result.transport, result.protocol_version) == ("sse", "2025-11-25")
    assert result.server_info == {"name": "demo-files", "version": "1.2.3"}
    assert tools_without_origin(result) == EXPECTED_TOOLS
    flow = rec.methods()
    # stateless try, initialize try (both 405 on the SSE path), then GET + POSTs to the endpoint
    assert flow[:3] == ["POST 405 text/plain", "POST 405 text/plain", "GET 200 text/event-stream"]
    assert flow[3:] == ["POST initialize 202", "POST notifications/initialized 202", "POST tools/list 202"]
    assert all(s.path == "/messages/" for s in rec.seen[3:])


def test_forced_sse_transport(legacy_sse_server: tuple[str, Recorder]) -> None:
    url, rec = legacy_sse_server
    rec.seen.clear()
    result = introspect(url, timeout=5, transport="sse")
    assert result.transport == "sse"
    assert [t.name for t in result.tools] == ["delete_file", "read_file", "count_files", "write-note"]
    assert rec.methods()[0] == "GET 200 text/event-stream"


@pytest.mark.parametrize("era", ["auto", "handshake"])
def test_pagination(paged: str, era: Any) -> None:
    result = introspect(paged, timeout=5, era=era)
    assert result.pages == 5
    assert result.complete
    assert [t.name for t in result.tools] == [f"tool_{i:02d}" for i in range(23)]
    assert result.tools[7].description == "Tool number 7"


def test_max_pages_stops_a_long_listing(paged: str) -> None:
    result = introspect(paged, timeout=5, max_pages=2)
    assert (result.pages, result.complete, len(result.tools)) == (2, False, 10)
    assert result.warnings == ["stopped after 2 pages; the server offered more"]


def test_stateless_only_refuses_a_handshake_server(handshake_server: tuple[str, Recorder]) -> None:
    url, _ = handshake_server
    with pytest.raises(NotMCP, match=r"no 2026-07-28 answer to tools/list \(HTTP 400 JSON-RPC error -32600"):
        introspect(url, timeout=5, era="stateless")


def test_streamable_only_refuses_a_legacy_sse_server(legacy_sse_server: tuple[str, Recorder]) -> None:
    url, _ = legacy_sse_server
    with pytest.raises(NotMCP, match=r"/sse: initialize answered HTTP 405 text/plain: Method Not Allowed$"):
        introspect(url, timeout=5, transport="streamable-http")


def test_agrees_with_the_sdk_client(json_server: tuple[str, Recorder]) -> None:
    """The official client, in its own auto mode, sees the same tools as we do."""
    url, _ = json_server

    async def sdk_tools() -> tuple[str, list[dict[str, Any]]]:
        async with Client(url) as client:
            listed = await client.list_tools()
            dumped = [t.model_dump(by_alias=True, exclude_none=True) for t in listed.tools]
            return client.protocol_version, dumped

    version, theirs = anyio.run(sdk_tools)
    ours = introspect(url, timeout=5)
    assert version == ours.protocol_version
    assert [t["name"] for t in theirs] == [t.name for t in ours.tools]
    for sdk, mine in zip(theirs, ours.tools, strict=True):
        assert sdk.get("description") == mine.description
        assert sdk["inputSchema"] == mine.input_schema
        assert sdk.get("outputSchema") == mine.output_schema
        assert sdk.get("annotations") == mine.annotations


def test_spec_examples_over_a_hand_written_stateless_peer(mirror_dir: Any) -> None:
    """A hand-written 2026-07-28 peer (registries.md section 8) that answers with the spec's
    own example payloads: page 1 is ListToolsResultResponse (icons, ttlMs, cacheScope,
    nextCursor), page 2 the Tool examples. It also checks our request against ListToolsRequest."""
    from tests.crawler.mcp_peers import BadPeer, send_json

    examples = json.loads((mirror_dir / "mcp-spec-2026-07-28-tool-examples.json").read_text())["examples"]
    page1 = examples["ListToolsResultResponse/list-tools-result-response.json"]["result"]
    spec_request = examples["ListToolsRequest/list-tools-request.json"]
    page2_tools = [v for k, v in sorted(examples.items()) if k.startswith("Tool/")]
    seen: list[dict[str, Any]] = []

    def stateless(handler: Any, message: dict[str, Any]) -> None:
        seen.append({"headers": dict(handler.headers), "message": message})
        meta = (message.get("params") or {}).get("_meta") or {}
        modern = handler.headers.get("MCP-Protocol-Version") == "2026-07-28"
        if not modern or "io.modelcontextprotocol/protocolVersion" not in meta:
            send_json(handler, 400, b"")
            return
        cursor = message["params"].get("cursor")
        result = page1 if cursor is None else {"resultType": "complete", "tools": page2_tools}
        send_json(handler, 200, {"jsonrpc": "2.0", "id": message["id"], "result": result})

    with BadPeer(stateless) as peer:
        result = introspect(peer.url, timeout=5)
    assert (result.protocol_version, result.pages, result.complete) == ("2026-07-28", 2, True)
    assert [t.name for t in result.tools] == [
        "get_weather", "list_users", "find_resource", "calculate_sum", "get_current_time", "get_weather_data",
    ]
    assert result.warnings == ["tool 'calculate_sum' listed twice; kept the first"]
    assert result.tools[0].title == "Weather Information Provider"
    array_out = examples["Tool/tool-with-array-output-schema.json"]["outputSchema"]
    assert result.tools[1].output_schema == array_out
    assert result.tools[2].input_schema is not None and "oneOf" in result.tools[2].input_schema
    first = seen[0]["message"]
    assert first["method"] == spec_request["method"] and "cursor" not in first["params"]
    assert set(first["params"]["_meta"]) == set(spec_request["params"]["_meta"])
    assert seen[1]["message"]["params"]["cursor"] == "next-page-cursor"
    assert seen[1]["headers"]["Mcp-Method"] == "tools/list"
