"""Errors of the crawler package. The CLI turns each into one line on stderr.

    CrawlerError                    a runtime failure: exit 1
    └── BadArgument                 a bad source name, base URL or option: exit 2
"""

from __future__ import annotations

__all__ = ["BadArgument", "CrawlerError"]


class CrawlerError(Exception):
    """Base of every error the crawler raises on purpose."""

    exit_code = 1


class BadArgument(CrawlerError):
    exit_code = 2
