"""The rules table: well-formed ids, and each rule against its fixture tests/classifier/rules/<id>.jsonl."""

from __future__ import annotations

import json
import random
import re
import re._parser as parser
from pathlib import Path
from typing import Any

import pytest

from classifier import rules
from classifier.rules import LABELS, RULES, RULES_BY_ID, evaluate, evaluate_all, view
from tests.classifier.regex_samples import sample

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


# --- the trigger gate: evaluate runs only the rules a tool triggers; it must never hide a hit ---

ROWS = [
    json.loads(line)
    for path in [*sorted((FIXTURES.parents[2] / "classifier" / "data" / "train").glob("*.jsonl")),
                 *sorted(FIXTURES.glob("*.jsonl"))]
    for line in path.read_text(encoding="utf-8").splitlines()
    if line.strip()
]


def _same_as_ungated(name: str, description: Any, schema: Any, annotations: Any) -> None:
    v = view(name, description, schema, annotations)
    for with_annotations in (True, False):
        gated = evaluate(v, annotations=with_annotations)
        assert gated == evaluate_all(v, annotations=with_annotations), (name, description, schema)


def test_triggers_hide_no_hit_on_the_training_and_fixture_rows() -> None:
    assert len(ROWS) > 2000
    for r in ROWS:
        _same_as_ungated(r["name"], r.get("description"), r.get("input_schema"), r.get("annotations"))


def _vocabulary() -> list[str]:
    found: set[str] = set()
    for t in rules._TRIGGERS.values():
        found |= t.name | t.params | t.param_words | t.text_starts | t.opening
    for value in vars(rules).values():  # every lexicon, with its words' plurals
        if isinstance(value, frozenset) and all(isinstance(w, str) for w in value):
            found |= value | {w + "s" for w in value}
    odd = {"and", "or", "then", "x", "zpa", "gitlab", "12", "удалить", "删除", "İndex", "ﬁle"}
    return sorted(found | odd)


def test_triggers_hide_no_hit_on_fuzzed_tools() -> None:
    rng = random.Random(7)
    vocab = _vocabulary()
    texts = [r.get("description") for r in ROWS[::7]] + [None, "", "x"]
    annotations = [None, {}, {"readOnlyHint": True}, {"readOnlyHint": False}, {"destructiveHint": True},
                   {"readOnlyHint": False, "destructiveHint": False}, {"title": "t"}]

    def compound() -> str:
        parts = rng.sample(vocab, rng.randint(1, 4))
        style = rng.randrange(4)
        if style == 0:
            return "_".join(parts)
        if style == 1:
            return parts[0] + "".join(p[:1].upper() + p[1:] for p in parts[1:])
        if style == 2:
            return "-".join(p.upper() for p in parts)
        return rng.choice(["mcp__gh__", "gh.", "GitHub:", "a/"]) + "_".join(parts)

    for _ in range(4000):
        name = compound()
        schema = {"type": "object", "properties": {
            compound(): {"type": "string", "description": rng.choice(texts) or ""}
            for _ in range(rng.randint(0, 4))
        }}
        description = rng.choice(texts)
        if description and rng.random() < 0.3:
            description += " " + " ".join(rng.sample(vocab, 5))
        _same_as_ungated(name, description, schema, rng.choice(annotations))


def test_description_triggers_hide_no_hit_on_random_phrase_matches() -> None:
    """Texts built from random matches of every description pattern of the rules."""
    patterns = [rules._SIDE_EFFECT, rules._READ_ONLY, rules._NEGATED]
    for check in rules._CHECKS.values():
        patterns += [cell.cell_contents for cell in check.__closure__ or ()
                     if isinstance(cell.cell_contents, re.Pattern)]
    rng = random.Random(11)
    schema: dict[str, Any] = {"properties": {"query": {}, "method": {}, "pipeline": {}}}  # read the text too
    context = ["", " ", "x", "_", ". ", "\n- ", "1) ", "the", "not", "a file", "use it"]
    for pattern in dict.fromkeys(patterns):
        tree = parser.parse(pattern.pattern, pattern.flags)
        for _ in range(400):
            phrases = [sample(tree.data, rng) for _ in range(rng.randint(1, 2))]
            text = "".join(rng.choice(context) + p + rng.choice(context) for p in phrases)
            for name in ("x", "run_query", "manage_items"):
                _same_as_ungated(name, text, schema, None)


def test_find_is_search_where_the_words_start() -> None:
    """``_find`` tries a pattern only where a word with one of its ``starts`` begins: the same match
    as ``search`` on every row and on random matches of every such pattern, amid other words."""
    rng = random.Random(13)
    texts = [r.get("description") or "" for r in ROWS]
    context = ["", " ", "x", "_", "-", ". ", "\n- ", "1) ", "a1", "the", "not ", "a file", "use it",
               "é", "—", "中文", "İ", "ß ", "\u0307"]
    for rx, starts in rules._PHRASES:
        tree = parser.parse(rx.pattern, rx.flags)
        # Its starts alone too: where the pattern does not match, before and after where it does.
        words = context + [f"{w} " for w in starts] + [f"{w}s " for w in starts]
        for _ in range(400):
            parts = [sample(tree.data, rng) for _ in range(rng.randint(1, 3))]
            texts.append("".join(rng.choice(words) + p + rng.choice(words) for p in parts))
    for text in texts:
        v = view("x", text)
        for rx, starts in rules._PHRASES:
            expected = rx.search(v.text)
            found = rules._find(v, rx, starts)
            assert (found and found.span()) == (expected and expected.span()), (rx.pattern, text)


def test_word_masks_start_afresh_when_full(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rules, "_MAX_WORDS", 4)
    prefixes = {"del": 1, "re": 2, "rem": 4}
    masks = rules._WordMasks(prefixes)
    words = ["delete", "remove", "read", "x", "de", "deleted", "reset", "z", "remove", "r", "delete"]

    def expected(w: str) -> int:
        return sum(m for p, m in prefixes.items() if w.startswith(p))

    for i in range(len(words)):
        chunk = words[i : i + 3]
        assert masks.marked(chunk) == {w for w in chunk if expected(w)}
        assert [masks.mask(w) for w in reversed(chunk)] == [expected(w) for w in reversed(chunk)]


def test_dispatch_starts_afresh_when_full(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rules, "_MAX_MASKS", 3)
    monkeypatch.setattr(rules, "_DISPATCH", {})
    for r in ROWS[:300]:
        _same_as_ungated(r["name"], r.get("description"), r.get("input_schema"), r.get("annotations"))
        assert len(rules._DISPATCH) <= 3


def test_side_effect_statement_is_the_search() -> None:
    """R213 tries its pattern only before its verbs: the same phrase as a search of the whole text."""
    rng = random.Random(17)
    tree = parser.parse(rules._SIDE_EFFECT.pattern, rules._SIDE_EFFECT.flags)
    context = ["", " ", "x", "a1", "1", ". ", ".", "\n", "\n- ", "\n 2) ", "  ", "é", "—", "•", "the",
               "creates", "recreates ", "creates is ", "updates ", ":", "\t"]
    texts = [r.get("description") or "" for r in ROWS]
    for _ in range(6000):
        parts = [sample(tree.data, rng) for _ in range(rng.randint(0, 3))]
        texts.append("".join(rng.choice(context) + p + rng.choice(context) for p in parts))
    for text in texts:
        v = view("x", text)
        m = rules._SIDE_EFFECT.search(v.text)
        assert rules._CHECKS["R213"](v) == ({"phrase": m.group("phrase")} if m else None), text
