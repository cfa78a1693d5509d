"""The glue between the catalog and the classifier: classify stored tool records in bulk."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from catalog.records import ToolRecord

__all__ = ["classifier_version", "classify_records"]


def classifier_version() -> str | None:
    """The running classifier's version, None while no classifier is installed."""
    import classifier

    version = getattr(classifier, "CLASSIFIER_VERSION", None)
    return None if version is None else str(version)


def classify_records(records: Sequence[ToolRecord]) -> list[dict[str, Any]]:
    """Classification dicts (label, confidence, rationale, flags) for each record, in order."""
    from classifier import classify

    return [classify(r.name, r.description, r.input_schema, r.annotations).to_dict() for r in records]
