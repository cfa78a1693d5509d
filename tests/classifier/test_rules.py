"""The rules table: well-formed ids, and each rule against its fixture tests/classifier/rules/<id>.jsonl."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from classifier.rules import LABELS, RULES, RULES_BY_ID, evaluate, view

FIXTURES = Path(__file__).parent / "rules"


def test_ids_unique_and_well_formed() -> None:
    ids = [r.id for r in RULES]
    assert len(ids) == len(set(ids))
    names = [r.name for r in RULES]
    assert len(names) == len(set(names))
    for r in RULES:
        assert re.fullmatch(r"R\d{3}", r.id), r.id
        assert re.fullmatch(r"[a-z][a-z0-9]*(_[a-z0-9]+)*", r.name), r.name
        assert r.votes in LABELS
        assert 0 < r.strength <= 1
        assert r.message


def test_every_rule_has_a_fixture_and_no_fixture_is_orphaned() -> None:
    assert {p.stem for p in FIXTURES.glob("*.jsonl")} == set(RULES_BY_ID)


@pytest.mark.parametrize("rule_id", sorted(RULES_BY_ID))
def test_rule_fixture(rule_id: str) -> None:
    rule = RULES_BY_ID[rule_id]
    cases = [json.loads(line) for line in (FIXTURES / f"{rule_id}.jsonl").read_text().splitlines() if line]
    assert any(c["fires"] for c in cases) and not all(c["fires"] for c in cases), "needs both kinds of case"
    for case in cases:
        v = view(case["name"], case.get("description"), case.get("input_schema"), case.get("annotations"))
        lines = [h.line for h in evaluate(v) if h.rule.id == rule_id]
        assert bool(lines) == case["fires"], case
        for line in lines:
            assert line.startswith(f"{rule.id} {rule.name}: ")


def test_rationale_line_renders_the_message() -> None:
    hits = evaluate(view("delete_repo"))
    assert "R101 destructive_verb: name starts with 'delete'" in [h.line for h in hits]


def test_annotations_can_be_left_out() -> None:
    v = view("x", annotations={"readOnlyHint": True})
    assert any(h.rule.id == "R401" for h in evaluate(v))
    assert not any(h.rule.id.startswith("R4") for h in evaluate(v, annotations=False))
