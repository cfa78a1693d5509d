"""Errors of the crawler package. The CLI turns each into one line on stderr.

CrawlerError                    a runtime failure: exit 1
├── BadArgument                 a bad source name, base URL or option: exit 2
├── UnsafeURL                   a link the crawler won't follow or store (javascript:, file:)
├── BadRecord                   a source record that cannot become a server (crawl goes on)
├── ArchiveError                a source archive that cannot be fetched or used safely
│   ├── DownloadError           HTTP failure, bad status or timeout while downloading
│   ├── ArchiveTooLarge         a cap on bytes downloaded or unpacked, files or ratio hit
│   ├── UnsafeArchive           an absolute path or `..` in a member name: refused whole
│   └── CorruptArchive          truncated, not a tar or zip, or unreadable
└── IntrospectionError          a live MCP server could not be listed (crawler.introspect)
    ├── ServerUnreachable       connection refused, DNS or TLS failure
    ├── IntrospectionTimeout    no complete answer within the timeout
    ├── AuthRequired            the server answered 401 or 403: pass --header
    ├── NotMCP                  the answer is not MCP: HTML, bad JSON, bad JSON-RPC, bad result
    ├── RemoteError             the server answered with a JSON-RPC error (`.code`)
    └── ResponseTooLarge        an answer passed the byte cap; reading stopped there
"""

from __future__ import annotations

__all__ = [
    "ArchiveError",
    "ArchiveTooLarge",
    "AuthRequired",
    "BadArgument",
    "BadRecord",
    "CorruptArchive",
    "CrawlerError",
    "DownloadError",
    "IntrospectionError",
    "IntrospectionTimeout",
    "NotMCP",
    "RemoteError",
    "ResponseTooLarge",
    "ServerUnreachable",
    "UnsafeArchive",
    "UnsafeURL",
]


class CrawlerError(Exception):
    """Base of every error the crawler raises on purpose."""

    exit_code = 1


class BadArgument(CrawlerError):
    exit_code = 2


class ArchiveError(CrawlerError):
    """A source archive could not be downloaded or unpacked safely; nothing from it was run."""


class DownloadError(ArchiveError):
    pass


class ArchiveTooLarge(ArchiveError):
    pass


class UnsafeArchive(ArchiveError):
    pass


class CorruptArchive(ArchiveError):
    pass


class IntrospectionError(CrawlerError):
    """A live MCP server could not be listed; the message names the URL and the reason."""


class ServerUnreachable(IntrospectionError):
    pass


class IntrospectionTimeout(IntrospectionError):
    pass


class AuthRequired(IntrospectionError):
    pass


class NotMCP(IntrospectionError):
    pass


class RemoteError(IntrospectionError):
    """The server answered a request with a JSON-RPC error; `code` is that error's code."""

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


class ResponseTooLarge(IntrospectionError):
    pass


class UnsafeURL(CrawlerError):
    """Raised by `crawler.identity` for a repository URL that is not http(s)/git/ssh."""


class BadRecord(CrawlerError):
    """A source record that cannot become a server; the crawl counts it and goes on."""
