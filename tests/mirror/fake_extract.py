"""A stand-in extractor for the MCPCAT_EXTRACTOR hook test: one tool per server, named after it."""

from __future__ import annotations

import time

from catalog.records import ServerRecord, ToolRecord


def extract(record: ServerRecord) -> list[ToolRecord] | None:
    time.sleep(0.01)  # slow enough that page markers would overtake a careless pipeline
    if record.key.endswith("4"):
        raise RuntimeError("archive too large")
    return [
        ToolRecord(
            name="read_" + record.key.rsplit("/", 1)[-1].replace("-", "_"),
            description="Read something",
            input_schema={"type": "object"},
            origin={"kind": "extracted", "extractor": "fake"},
        )
    ]
