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
    """Classification dicts (label, confidence, rationale, flags) for each record, in order.

    One batch (``classifier.classify_many``: vectorised scoring, and a long batch split over
    the CPUs), the same results as classifying each record alone.
    """
    from classifier import classify_many

    tools = [
        {"name": r.name, "description": r.description, "input_schema": r.input_schema,
         "annotations": r.annotations}
        for r in records
    ]
    return [c.to_dict() for c in classify_many(tools)]
