"""Errors of the catalog package. The CLI turns each into one line on stderr.

CatalogError                    a runtime failure: exit 1
├── StoreError                  the database could not be used
│   ├── UnknownDatabaseURL      a --db URL with a scheme we do not support: exit 2
│   ├── DatabaseUnreachable     the server refused or timed out
│   └── NotADatabase            the file exists but is not a SQLite database
├── NotFound                    no such server or tool in the catalog
├── InvalidRecord               a record of the wrong shape (bad import line, bad item)
│   └── BadLine                 ... with the line number of a JSON Lines file: exit 2
└── ExportError                 an export target could not be written: exit 2
"""

from __future__ import annotations

__all__ = [
    "BadLine",
    "CatalogError",
    "DatabaseUnreachable",
    "ExportError",
    "InvalidRecord",
    "NotADatabase",
    "NotFound",
    "StoreError",
    "UnknownDatabaseURL",
]


class CatalogError(Exception):
    """Base of every error the catalog raises on purpose."""

    exit_code = 1


class StoreError(CatalogError):
    pass


class UnknownDatabaseURL(StoreError):
    exit_code = 2


class DatabaseUnreachable(StoreError):
    exit_code = 2


class NotADatabase(StoreError):
    exit_code = 2


class NotFound(CatalogError):
    pass


class InvalidRecord(CatalogError):
    exit_code = 2


class BadLine(InvalidRecord):
    def __init__(self, path: str, line_no: int, message: str) -> None:
        super().__init__(f"{path}:{line_no}: {message}")
        self.path = path
        self.line_no = line_no


class ExportError(CatalogError):
    exit_code = 2
