"""Sort MCP tools into Read, Write or Destructive, with a rationale.

``classify(name, description, input_schema, annotations)`` returns a ``Classification``.
Importing this package is cheap: the model artifact loads on first use, and scikit-learn is
needed only to train (``classifier.model``).
"""

from __future__ import annotations

from typing import Any

from classifier.classify import Classification, classify, classify_many, mcp_annotations
from classifier.errors import ClassifierError, InvalidInput
from classifier.rules import DESTRUCTIVE, LABELS, READ, RULES, WRITE

__all__ = [
    "CLASSIFIER_VERSION",
    "DESTRUCTIVE",
    "LABELS",
    "READ",
    "RULES",
    "WRITE",
    "Classification",
    "ClassifierError",
    "InvalidInput",
    "classify",
    "classify_many",
    "mcp_annotations",
]


def __getattr__(name: str) -> Any:
    # CLASSIFIER_VERSION hashes the artifact, so it is computed on first access only.
    if name == "CLASSIFIER_VERSION":
        from classifier.classify import classifier_version

        value = classifier_version()
        globals()[name] = value
        return value
    raise AttributeError(f"module 'classifier' has no attribute {name!r}")
