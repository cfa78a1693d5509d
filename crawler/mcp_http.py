"""JSON-RPC over HTTP to an untrusted MCP server, with the crawler's caps.

`crawler.introspect` speaks the protocol; this module only moves messages. Every answer is
streamed and counted: reading stops at `max_response_bytes` (ResponseTooLarge) and at the
overall deadline (IntrospectionTimeout), whatever the server's Content-Length says. A POST
answer may be `application/json` or an SSE stream of `event: message` frames; both come
back as one `Reply` holding the JSON-RPC response to our request id. Redirects are followed
only within the same origin, so headers given for one host (auth) never reach another.

Built on httpx rather than the `mcp` SDK's client: see the docstring of `crawler.introspect`.
"""

from __future__ import annotations

import contextlib
import json
import socket
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, cast
from urllib.parse import urljoin, urlsplit

import httpx

from crawler.errors import (
    AuthRequired,
    IntrospectionError,
    IntrospectionTimeout,
    NotMCP,
    ResponseTooLarge,
    ServerUnreachable,
)

__all__ = ["Channel", "Reply", "SseEvent", "SseStream", "iter_sse", "same_origin"]

USER_AGENT = "mcpcat/0.1 (MCP tool catalog; tools/list only)"
_REDIRECTS = {301, 302, 303, 307, 308}
_MAX_REDIRECTS = 3
_SNIPPET = 80


def same_origin(a: str, b: str) -> bool:
    """Scheme, host and port equal (default ports filled in)."""
    sa, sb = urlsplit(a), urlsplit(b)
    default = {"http": 80, "https": 443}

    def key(s: Any) -> tuple[str, str, int | None]:
        return (s.scheme.lower(), (s.hostname or "").lower(), s.port or default.get(s.scheme.lower()))

    return key(sa) == key(sb)


def _snippet(data: bytes) -> str:
    text = " ".join(data[:400].decode("utf-8", "replace").split())
    return text if len(text) <= _SNIPPET else text[: _SNIPPET - 1] + "…"


def _mib(n: int) -> str:
    return f"{n / 1048576:g} MiB" if n >= 1048576 else f"{n} bytes"


@dataclass(slots=True)
class SseEvent:
    event: str
    data: str


def iter_sse(chunks: Iterator[bytes]) -> Iterator[SseEvent]:
    """Server-sent events from raw chunks (WHATWG rules: CRLF/LF/CR lines, `:` comments,
    multi-line `data`, a blank line dispatches; an event with no `event:` is "message")."""
    buf = b""
    event, data = "", list[str]()
    for chunk in chunks:
        buf += chunk
        while True:
            cut = min((i for i in (buf.find(b"\n"), buf.find(b"\r")) if i >= 0), default=-1)
            if cut < 0:
                break
            if buf[cut : cut + 1] == b"\r" and cut + 1 == len(buf):
                break  # a CR at the end of the chunk may be the first half of CRLF
            line = buf[:cut].decode("utf-8", "replace")
            step = 2 if buf[cut : cut + 2] == b"\r\n" else 1
            buf = buf[cut + step :]
            if not line:
                if data:
                    yield SseEvent(event or "message", "\n".join(data))
                event, data = "", []
                continue
            if line.startswith(":"):
                continue
            name, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if name == "event":
                event = value
            elif name == "data":
                data.append(value)
    if data:
        yield SseEvent(event or "message", "\n".join(data))


@dataclass(slots=True)
class Reply:
    """What the server answered to one POST.

    `message` is the JSON-RPC response to our id (or an error with a null id), else None;
    `note` says in a few words what came instead ("HTTP 200 text/html: <!doctype html>…").
    """

    status: int
    headers: httpx.Headers
    message: dict[str, Any] | None = None
    note: str = ""
    content_type: str = ""

    def describe(self) -> str:
        return self.note or f"HTTP {self.status}"


@dataclass
class Channel:
    """One httpx client plus the limits of one introspection run."""

    url: str
    headers: Mapping[str, str]
    timeout: float
    max_response_bytes: int
    client: httpx.Client = field(init=False)
    deadline: float = field(init=False)
    _ids: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        self.deadline = time.monotonic() + self.timeout
        base = {"User-Agent": USER_AGENT}
        base.update(self.headers)
        # TCP_NODELAY: a JSON-RPC POST goes out as two writes (headers, body); with Nagle on,
        # each exchange on a kept-alive connection waits for the peer's delayed ACK (~40 ms).
        transport = httpx.HTTPTransport(socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)])
        # trust_env=False: no proxy variables or .netrc credentials from the environment.
        self.client = httpx.Client(headers=base, follow_redirects=False, trust_env=False, transport=transport)

    def close(self) -> None:
        self.client.close()

    def next_id(self) -> int:
        self._ids += 1
        return self._ids

    # -- limits -------------------------------------------------------------------------

    def remaining(self) -> float:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise IntrospectionTimeout(f"{self.url}: no complete answer within {self.timeout:g} s")
        return left

    def _capped(self, response: httpx.Response, url: str) -> Iterator[bytes]:
        """The decoded body, chunk by chunk, stopping at the byte cap and the deadline."""
        size = response.headers.get("content-length", "")
        if size.isdigit() and int(size) > self.max_response_bytes:
            raise ResponseTooLarge(
                f"{url}: answer of {int(size)} bytes is over the {_mib(self.max_response_bytes)} cap"
            )
        total = 0
        with self._errors(url):
            for chunk in response.iter_bytes():
                total += len(chunk)
                if total > self.max_response_bytes:
                    raise ResponseTooLarge(
                        f"{url}: answer passed the {_mib(self.max_response_bytes)} cap; stopped reading"
                    )
                self.remaining()
                yield chunk

    def _errors(self, url: str) -> _HttpErrors:
        return _HttpErrors(self, url)

    # -- requests -----------------------------------------------------------------------

    def _send(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str],
        body: bytes | None,
        cap: float | None = None,
    ) -> httpx.Response:
        """Send and return the open streamed response, following same-origin redirects."""
        for _ in range(_MAX_REDIRECTS + 1):
            wait = min(self.remaining(), cap or self.timeout)
            request = self.client.build_request(
                method, url, headers=dict(headers), content=body, timeout=httpx.Timeout(wait)
            )
            with self._errors(url):
                response = self.client.send(request, stream=True)
            if response.status_code not in _REDIRECTS or "location" not in response.headers:
                _check_auth(response, url)
                return response
            response.close()
            target = urljoin(url, response.headers["location"])
            if not same_origin(url, target):
                raise IntrospectionError(
                    f"{url}: redirects to another origin ({target}); introspect that URL instead"
                )
            if url == self.url:
                self.url = target
            url = target
        raise NotMCP(f"{url}: more than {_MAX_REDIRECTS} redirects")

    def post(self, message: dict[str, Any], *, headers: Mapping[str, str], url: str | None = None) -> Reply:
        """POST one JSON-RPC message; read the answer (JSON or SSE) up to our response."""
        url = url or self.url
        hdrs = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
        hdrs.update(headers)
        body = json.dumps(message, separators=(",", ":")).encode()
        response = self._send("POST", url, headers=hdrs, body=body)
        try:
            return self._read_reply(response, url, message.get("id"))
        finally:
            response.close()

    def _read_reply(self, response: httpx.Response, url: str, want: Any) -> Reply:
        ctype = response.headers.get("content-type", "").split(";")[0].strip().lower()
        reply = Reply(response.status_code, response.headers, content_type=ctype)
        if ctype == "text/event-stream":
            for event in iter_sse(self._capped(response, url)):
                if event.event != "message":
                    continue
                message = _loads(event.data)
                if _answers(message, want):
                    reply.message = message
                    return reply
            reply.note = f"HTTP {response.status_code} event stream ended without a response"
            return reply
        data = b"".join(self._capped(response, url))
        if ctype == "application/json" or ctype.endswith("+json"):
            parsed = _loads(data)
            if isinstance(parsed, list):  # a batch: pick our response out of it
                parsed = next((m for m in parsed if _answers(m, want)), None)
            # A lone error in a POST's JSON body answers that POST whatever its id says
            # (SDK 1.x rejects with id "server-error").
            if _answers(parsed, want) or (isinstance(parsed, dict) and isinstance(parsed.get("error"), dict)):
                reply.message = parsed
                return reply
            what = "empty body" if not data.strip() else f"not a JSON-RPC response: {_snippet(data)}"
        else:
            what = f"{ctype or 'no content type'}" + (f": {_snippet(data)}" if data.strip() else "")
        reply.note = f"HTTP {response.status_code} {what}"
        return reply

    def delete(self, headers: Mapping[str, str]) -> None:
        """End a session, waiting 2 s at most; any failure is ignored (405 is allowed)."""
        with contextlib.suppress(IntrospectionError):
            self._send("DELETE", self.url, headers=headers, body=None, cap=2.0).close()

    def open_sse(self, url: str) -> SseStream:
        """GET an HTTP+SSE (2024-11-05) endpoint; NotMCP unless it answers an event stream."""
        response = self._send("GET", url, headers={"Accept": "text/event-stream"}, body=None)
        ctype = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if response.status_code != 200 or ctype != "text/event-stream":
            response.close()
            raise NotMCP(f"GET answered HTTP {response.status_code} {ctype or 'no content type'}")
        return SseStream(self, response, url)


class _HttpErrors:
    """Turns httpx's exceptions into IntrospectionError subclasses with one-line messages."""

    def __init__(self, channel: Channel, url: str) -> None:
        self.channel, self.url = channel, url

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: Any) -> None:
        if exc is None or not isinstance(exc, httpx.HTTPError):
            return
        if isinstance(exc, httpx.TimeoutException):
            raise IntrospectionTimeout(
                f"{self.url}: no complete answer within {self.channel.timeout:g} s"
            ) from exc
        reason = " ".join(str(exc).split()) or type(exc).__name__
        if isinstance(exc, httpx.ConnectError):
            raise ServerUnreachable(f"{self.url}: cannot connect ({reason})") from exc
        raise IntrospectionError(f"{self.url}: {reason}") from exc


class SseStream:
    """The long-lived GET stream of the HTTP+SSE transport: the endpoint, then responses."""

    def __init__(self, channel: Channel, response: httpx.Response, url: str) -> None:
        self.channel, self.response, self.url = channel, response, url
        self._events = iter_sse(self._chunks())
        self._budget = channel.max_response_bytes

    def _chunks(self) -> Iterator[bytes]:
        with self.channel._errors(self.url):
            for chunk in self.response.iter_bytes():
                self._budget -= len(chunk)
                if self._budget < 0:
                    raise ResponseTooLarge(
                        f"{self.url}: event stream passed the "
                        f"{_mib(self.channel.max_response_bytes)} cap; stopped reading"
                    )
                self.channel.remaining()
                yield chunk

    def _next(self, waiting_for: str) -> SseEvent:
        event = next(self._events, None)
        if event is None:
            raise NotMCP(f"{self.url}: event stream closed while waiting for {waiting_for}")
        return event

    def endpoint(self) -> str:
        """The POST URL from the `endpoint` event, resolved and held to the same origin."""
        while True:
            event = self._next("the endpoint event")
            if event.event == "endpoint":
                target = urljoin(self.url, event.data.strip())
                if not same_origin(self.url, target):
                    raise NotMCP(f"{self.url}: endpoint event names another origin ({target})")
                return target

    def wait_for(self, want: Any) -> dict[str, Any]:
        """The JSON-RPC response with id `want`; each wait has the full byte budget."""
        self._budget = self.channel.max_response_bytes
        while True:
            event = self._next(f"the response to request {want}")
            if event.event == "message":
                message = _loads(event.data)
                if _answers(message, want):
                    return cast(dict[str, Any], message)

    def close(self) -> None:
        self.response.close()


def _check_auth(response: httpx.Response, url: str) -> None:
    """401/403 end the run at once: no era or transport fallback can get past them."""
    if response.status_code not in (401, 403):
        return
    scheme = response.headers.get("www-authenticate", "").split(" ")[0]
    response.close()
    raise AuthRequired(
        f"{url}: HTTP {response.status_code}{f' ({scheme} auth)' if scheme else ''}; "
        "pass credentials with --header 'Authorization: Bearer …'"
    )


def _loads(data: str | bytes) -> Any:
    try:
        return json.loads(data)
    except (ValueError, RecursionError):
        return None


def _answers(message: Any, want: Any) -> bool:
    """A JSON-RPC response to request `want` (an error with a null id counts: it is ours)."""
    if not isinstance(message, dict) or ("result" not in message and "error" not in message):
        return False
    return bool(message.get("id") == want or (message.get("id") is None and "error" in message))
