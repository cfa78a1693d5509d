"""Errors of the classifier package. The CLI turns each into one line on stderr.

    ClassifierError                 a runtime failure: exit 1
    └── InvalidInput                a bad name, schema or batch line: exit 2
"""

from __future__ import annotations

__all__ = ["ClassifierError", "InvalidInput"]


class ClassifierError(Exception):
    """Base of every error the classifier raises on purpose."""

    exit_code = 1


class InvalidInput(ClassifierError):
    exit_code = 2
