"""Sort MCP tools into Read, Write or Destructive, with a rationale.

``classify(name, description, input_schema, annotations)`` returns a ``Classification``.
Importing this package is cheap: its names load on first use (the rules and flags when a tool
is classified, the model artifact when one is scored; scikit-learn only to train, in
``classifier.model``), and ``CLASSIFIER_VERSION`` hashes files without loading them. That
keeps one-off commands that only read the catalog (``mcpcat show``) fast.
"""

from __future__ import annotations

import sys
from importlib import import_module
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

_HOME = {
    "Classification": "classifier.classify",
    "classify": "classifier.classify",
    "classify_many": "classifier.classify",
    "mcp_annotations": "classifier.classify",
    "ClassifierError": "classifier.errors",
    "InvalidInput": "classifier.errors",
    "DESTRUCTIVE": "classifier.rules",
    "LABELS": "classifier.rules",
    "READ": "classifier.rules",
    "RULES": "classifier.rules",
    "WRITE": "classifier.rules",
}


def __getattr__(name: str) -> Any:
    if name == "CLASSIFIER_VERSION":
        from classifier.version import classifier_version

        value: Any = classifier_version()
    elif name in _HOME:
        value = getattr(import_module(_HOME[name]), name)
    else:
        raise AttributeError(f"module 'classifier' has no attribute {name!r}")
    globals()[name] = value
    return value


class _Package(ModuleType):
    """Keeps ``classifier.classify`` the function: loading the submodule of the same name would
    otherwise set the package attribute to the module (an eager import used to overwrite it)."""

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "classify" and isinstance(value, ModuleType):
            value = value.classify
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
