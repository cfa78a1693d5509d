"""Deterministic rules: each reads one kind of evidence and votes for a class.

Every rule has an id (``R`` + 3 digits, never reused), a snake_case name, the label it votes
for, a strength (0..1) and a message template. A hit renders as a rationale line
``"<id> <name>: <message>"``, e.g. ``R101 destructive_verb: name starts with 'delete'``.

    R1xx  the tool name (verb lexicon, code execution)
    R2xx  the description (phrases)
    R3xx  the input schema (parameter names)
    R4xx  the MCP annotations declared by the author (strong but fallible)

Rules are also features of the model (``classifier.model``); R4xx are not, so that the model
judges the definition alone and annotations are weighed in ``classifier.classify``.

Each rule also declares its triggers, what a tool must have before the rule can fire (a name
word, a parameter, a word of the description starting with some letters, ...): ``evaluate``
runs only the checks of the rules a tool triggers, ``evaluate_all`` every check (the two agree;
the tests compare them).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import chain, islice
from typing import Any, Final, NamedTuple

from classifier.tokens import (
    ASCII_WORD_BYTES,
    MAX_TEXT,
    ascii_words,
    clean,
    lower_words,
    name_words,
    split_name,
)

__all__ = [
    "DESTRUCTIVE",
    "FLOOR_STRENGTH",
    "LABELS",
    "READ",
    "RULES",
    "RULES_BY_ID",
    "WRITE",
    "Hit",
    "Rule",
    "ToolView",
    "evaluate",
    "evaluate_all",
    "severity",
    "view",
]

READ: Final = "Read"
WRITE: Final = "Write"
DESTRUCTIVE: Final = "Destructive"
LABELS: Final = (READ, WRITE, DESTRUCTIVE)
_SEVERITY = {READ: 0, WRITE: 1, DESTRUCTIVE: 2}

#: A hit at least this strong sets a floor: the answer is never less severe than its label.
FLOOR_STRENGTH: Final = 0.8


def severity(label: str) -> int:
    return _SEVERITY[label]


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    name: str
    votes: str
    strength: float
    message: str

    def render(self, **values: str) -> str:
        return f"{self.id} {self.name}: {self.message.format(**values)}"


@dataclass(frozen=True, slots=True)
class Hit:
    rule: Rule
    line: str

    @property
    def label(self) -> str:
        return self.rule.votes

    @property
    def strength(self) -> float:
        return self.rule.strength


RULES: Final[tuple[Rule, ...]] = (
    Rule("R101", "destructive_verb", DESTRUCTIVE, 0.9, "name starts with '{verb}'"),
    Rule("R102", "destructive_verb_in_name", DESTRUCTIVE, 0.85, "name contains the verb '{verb}'"),
    Rule("R103", "risky_verb", DESTRUCTIVE, 0.6, "name uses '{verb}', which often replaces or undoes"),
    Rule("R104", "bulk_change", DESTRUCTIVE, 0.8, "name changes '{scope}' at once: '{verb}'"),
    Rule("R105", "create_or_replace", DESTRUCTIVE, 0.8, "name says '{words}': replaces what exists"),
    Rule("R106", "money_movement", DESTRUCTIVE, 0.8, "name moves money or trades: '{words}'"),
    Rule("R107", "replaces_running_software", DESTRUCTIVE, 0.8,
         "name says '{verb}': installs or deploys over what runs now"),
    Rule("R111", "code_execution_name", DESTRUCTIVE, 0.9, "name says it runs code: '{words}'"),
    Rule("R112", "execute_verb", DESTRUCTIVE, 0.7, "name says '{verb}' (what it runs may be unbounded)"),
    Rule("R113", "page_interaction", DESTRUCTIVE, 0.8, "'{verb}' on a live page may submit anything"),
    Rule("R121", "write_verb", WRITE, 0.8, "name starts with '{verb}'"),
    Rule("R122", "write_verb_in_name", WRITE, 0.8, "name contains the verb '{verb}'"),
    Rule("R123", "ambiguous_write_verb", WRITE, 0.5, "name starts with '{verb}' (verb or noun)"),
    Rule("R131", "read_verb", READ, 0.7, "name starts with '{verb}'"),
    Rule("R132", "read_verb_in_name", READ, 0.4, "name contains the verb '{verb}'"),
    Rule("R141", "no_known_verb", WRITE, 0.2, "name has no known verb"),
    Rule("R142", "no_words", WRITE, 0.8, "name has no words to judge by"),
    Rule("R201", "destructive_phrase", DESTRUCTIVE, 0.85, "description says '{phrase}'"),
    Rule("R202", "code_execution_phrase", DESTRUCTIVE, 0.9, "description says '{phrase}'"),
    Rule("R203", "removal_phrase", DESTRUCTIVE, 0.6, "description says '{phrase}'"),
    Rule("R204", "query_execution_phrase", DESTRUCTIVE, 0.6, "description says '{phrase}'"),
    Rule("R211", "write_phrase", WRITE, 0.6, "description starts with '{phrase}'"),
    Rule("R212", "write_operation_phrase", WRITE, 0.6, "description says '{phrase}'"),
    Rule("R213", "side_effect_statement", WRITE, 0.8, "description states a lasting change: '{phrase}'"),
    Rule("R221", "read_only_phrase", READ, 0.75, "description says '{phrase}'"),
    Rule("R222", "read_phrase", READ, 0.4, "description starts with '{phrase}'"),
    Rule("R223", "returns_phrase", READ, 0.3, "description says '{phrase}'"),
    Rule("R301", "force_parameter", DESTRUCTIVE, 0.7, "parameter '{param}' forces, drops or overwrites"),
    Rule("R302", "confirm_parameter", DESTRUCTIVE, 0.6, "parameter '{param}' asks for confirmation"),
    Rule("R303", "code_parameter", DESTRUCTIVE, 0.85, "parameter '{param}' takes code or a command"),
    Rule("R304", "sql_write_parameter", DESTRUCTIVE, 0.8, "parameter '{param}' takes SQL that may write"),
    Rule("R305", "path_with_content", DESTRUCTIVE, 0.7, "parameters '{path}' and '{content}' write a file"),
    Rule("R306", "output_file_parameter", DESTRUCTIVE, 0.8, "parameter '{param}' writes a file"),
    Rule("R307", "dry_run_parameter", WRITE, 0.6, "parameter '{param}' implies it changes something"),
    Rule("R308", "sql_parameter", DESTRUCTIVE, 0.8, "parameter '{param}' takes SQL, not declared read-only"),
    Rule("R309", "database_query", DESTRUCTIVE, 0.8, "'{param}' takes a {engine} query, not read-only"),
    Rule("R310", "filename_parameter", DESTRUCTIVE, 0.5, "parameter '{param}' may name a file to write"),
    Rule("R311", "operation_selector", DESTRUCTIVE, 0.8,
         "parameter '{param}' picks one of several operations: the worst one governs"),
    Rule("R312", "aggregation_pipeline", DESTRUCTIVE, 0.8,
         "parameter '{param}' takes a pipeline whose stages may write, not declared read-only"),
    Rule("R313", "whole_object_update", DESTRUCTIVE, 0.6,
         "'{verb}' with parameter '{param}' may replace the whole object"),
    Rule("R401", "annotation_read_only", READ, 0.85, "readOnlyHint is true"),
    Rule("R402", "annotation_destructive", DESTRUCTIVE, 0.85, "destructiveHint is true"),
    Rule("R403", "annotation_write", WRITE, 0.85, "readOnlyHint and destructiveHint are false"),
    Rule("R404", "annotation_not_read_only", WRITE, 0.6, "readOnlyHint is false"),
)
RULES_BY_ID: Final = {r.id: r for r in RULES}

# --- the verb lexicon -------------------------------------------------------------------------


def _w(text: str) -> frozenset[str]:
    return frozenset(text.split())


DESTRUCTIVE_VERBS: Final = _w(
    "delete remove drop destroy purge wipe truncate terminate kill revoke reset overwrite "
    "uninstall erase unlink rm rmdir del evict flush prune nuke obliterate shred expunge discard "
    "clear deprovision decommission deregister unregister unpublish demolish annihilate scrub "
    "teardown forcepush unshare reimage"
)
RISKY_VERBS: Final = _w(
    "cancel replace revert rollback restore rotate write put void refund detach disable ban block "
    "suspend deactivate reassign unassign expire invalidate reindex rebuild migrate format close "
    "stop abort reject transfer import"
)
EXEC_VERBS: Final = _w("execute exec eval evaluate run invoke")
CODE_WORDS: Final = _w(
    "code command commands cmd shell bash sh zsh powershell script scripts python py javascript "
    "js sql query queries statement cypher terminal repl sudo subprocess process cli kubectl"
)
ALWAYS_CODE: Final = _w("shell bash powershell terminal repl sudo subprocess")
WRITE_VERBS: Final = _w(
    "create add update edit modify insert append send publish upload start approve rename invite "
    "enable activate toggle move copy submit apply deploy install configure assign trigger "
    "subscribe unsubscribe patch save set upsert increment decrement restart reboot pause resume "
    "unsuspend retry rerun requeue provision attach mark reopen acknowledge ack mute unmute "
    "complete accept decline grant promote demote fork clone sync generate dispatch notify "
    "forward register connect disconnect change click press fill navigate scroll hover drag type "
    "upsert archive unarchive unlock enqueue schedule reschedule commit push merge reply star "
    "unstar follow unfollow like react pin unpin tag untag label unlabel comment post book "
    "reserve order buy purchase pay charge run store record log resolve bump scale annotate rate "
    "vote share lock request transition escalate snooze claim initialize init setup link upgrade "
    "downgrade build compile render finalize dismiss prioritize reprioritize enroll unenroll allocate "
    "respond hide unhide skip emulate ingest vacuum reorder switch unresolve reactivate"
)
# Words that are as often nouns as verbs: they count only at the start of the name.
NOUN_LIKE: Final = _w(
    "comment label tag post order message link share merge branch book schedule queue star pin "
    "lock rate review request vote record note reply run push commit transfer charge log store "
    "type build render setup init format import close stop block switch"
)
READ_VERBS: Final = _w(
    "get fetch list search find read describe show query count check validate preview explain "
    "diff retrieve lookup look view inspect browse scan analyze analyse audit summarize summarise "
    "compare calculate compute estimate convert lint verify ping whoami poll watch tail grep cat "
    "ls stat echo parse detect recommend suggest autocomplete test measure monitor trace profile "
    "visualize plot explore discover identify match rank score classify predict forecast sample "
    "peek print capture screenshot snapshot resolve review dump examine probe evaluate assess "
    "diagnose troubleshoot translate extract interpret health status info details metadata wait scrape "
    "blame embed"
) - {"resolve", "evaluate"}


def _verb_forms(lexicon: frozenset[str]) -> dict[str, str]:
    """The words that count as a verb of ``lexicon``, each with that verb: the verb itself and its
    third person (``deletes`` -> ``delete``). One dict lookup tells whether a word is a verb."""
    forms = {w + "s": w for w in lexicon}
    forms.update((w, w) for w in lexicon)  # a word of the lexicon is itself, even if it ends in s
    return forms


_ALL_VERBS: Final = DESTRUCTIVE_VERBS | RISKY_VERBS | EXEC_VERBS | WRITE_VERBS | READ_VERBS
_ALL_FORMS: Final = _verb_forms(_ALL_VERBS)


# --- what a rule looks at ---------------------------------------------------------------------


@dataclass(slots=True)
class ToolView:
    """A tool definition prepared once for every rule and the model."""

    name: str
    name_words: list[str]
    words: list[str]
    text: str
    text_words: list[str]
    params: dict[str, str]
    param_words: frozenset[str]
    annotations: Mapping[str, Any]
    #: Index in ``words`` of the leading verb: 1 after a product prefix (``zpa_create_group``).
    lead: int = 0
    #: The rules that ``params`` and ``param_words`` trigger (part of the mask ``evaluate`` finds).
    param_mask: int = 0
    #: The leading verb's place, ``words[lead]`` ("" for a name without words): a verb of some
    #: lexicon ``forms`` leads the name if ``forms.get(head)``.
    head: str = ""
    #: Results of description searches that several rules share, by ``id`` of the pattern
    #: (hashing a compiled pattern hashes its whole program; see ``_search``).
    memo: dict[int, bool] = field(default_factory=dict)
    #: The words of ``text`` that begin with a prefix of some description pattern (``_start_words``),
    #: found on first need.
    start_words: set[str] | None = None


_PARAM_SPLIT = re.compile(r"[^a-z0-9]+")


@lru_cache(maxsize=16384)
def param_words(pname: str) -> tuple[str, ...]:
    """The words of a normalised parameter name (``ToolView.params`` keys), in order."""
    return tuple(filter(None, _PARAM_SPLIT.split(pname)))


_NO_WORDS: Final[frozenset[str]] = frozenset()


@lru_cache(maxsize=16384)
def _param(key: str) -> tuple[str, frozenset[str], int]:
    """A parameter's key -> its normalised name (``ToolView.params``), that name's words and the
    mask of the rules they trigger (``_BY_PARAM``, ``_BY_PARAM_WORD``)."""
    pname = "_".join(split_name(key)) or key.lower()
    pwords = frozenset(param_words(pname))
    mask = _BY_PARAM.get(pname, 0)
    for w in pwords:
        mask |= _BY_PARAM_WORD.get(w, 0)
    return pname, pwords, mask


def _lead(ws: list[str]) -> int:
    """1 when the name starts with a product or namespace word and its second word is a plain verb
    (``zpa_create_segment_group``, ``gitlab_delete_branch``), else 0."""
    if len(ws) > 2 and ws[0] not in _ALL_FORMS and not ws[0].isdigit():
        second = ws[1]
        if second in _ALL_FORMS and second not in NOUN_LIKE:
            return 1
    return 0


def _search(v: ToolView, rx: re.Pattern[str]) -> bool:
    """``rx`` found in the description, searched once per tool however many rules ask."""
    key = id(rx)
    found = v.memo.get(key)
    if found is None:
        found = v.memo[key] = _find(v, rx, _SHARED_STARTS[key]) is not None
    return found


def _find(v: ToolView, rx: re.Pattern[str], starts: tuple[str, ...]) -> re.Match[str] | None:
    """``rx.search(v.text)``, for a pattern whose every match begins at a word boundary with one of
    ``starts``: tried only where a word of the description that starts so begins (``_start_words``),
    a few places rather than every character."""
    text = v.text
    at: list[int] = []
    for w in v.start_words if v.start_words is not None else _start_words(v):
        if w.startswith(starts):
            i = text.find(w)
            while i >= 0:
                at.append(i)
                i = text.find(w, i + 1)
    at.sort()  # a place twice (one word inside another) is only tried twice
    match = rx.match
    for i in at:
        if m := match(text, i):
            return m
    return None


def _start_words(v: ToolView) -> set[str]:
    """The distinct words of ``v.text`` that begin with a prefix of some description pattern.

    Its ASCII words (``ascii_words``; ``text_words`` when it is ASCII), each a substring where it
    begins. A match of a pattern starts at a word boundary with an ASCII prefix: with that a word
    of these, even where ``text`` has other characters (a non-ASCII character never joins words)."""
    found = v.start_words
    if found is None:
        found = v.start_words = _START_MASKS.marked(_ascii_words(v))
    return found


def _ascii_words(v: ToolView) -> list[str]:
    return v.text_words if v.text.isascii() else ascii_words(v.text)


def view(
    name: str,
    description: str | None = None,
    input_schema: Mapping[str, Any] | None = None,
    annotations: Mapping[str, Any] | None = None,
) -> ToolView:
    # Written for the common tool (an ASCII description, a dict schema of a few parameters, no
    # annotations): the quickest test first, and no call that a line can do.
    if not description:
        text = ""
        text_words: list[str] = []
    else:
        text = description[:MAX_TEXT]
        if text.isascii():
            text = text.lower()
            # = ascii_words(text), without a call
            text_words = text.encode("ascii").translate(ASCII_WORD_BYTES).decode("ascii").split()
        else:
            text = clean(text).lower()
            text_words = lower_words(text)
    params: dict[str, str] = {}
    mask = 0
    pwords = _NO_WORDS
    if type(input_schema) is dict or (input_schema is not None and isinstance(input_schema, Mapping)):
        props = input_schema.get("properties")
        if type(props) is dict or (props is not None and isinstance(props, Mapping)):
            word_sets = []
            for key, spec in props.items() if len(props) <= 200 else islice(props.items(), 200):
                # Most specs are dicts, most keys str; a description is a str or missing.
                desc = spec.get("description") if type(spec) is dict or isinstance(spec, Mapping) else None
                pname, pws, pmask = _param(key if type(key) is str else str(key))
                params[pname] = "" if desc is None else desc[:500].lower() if isinstance(desc, str) else ""
                word_sets.append(pws)
                mask |= pmask
            if word_sets:
                pwords = _NO_WORDS.union(*word_sets)
    all_words, ws = name_words(name)
    if type(annotations) is not dict and (annotations is None or not isinstance(annotations, Mapping)):
        annotations = {}
    lead = _lead(ws) if len(ws) > 2 else 0
    head = ws[lead] if ws else ""
    return ToolView(name, all_words, ws, text, text_words, params, pwords, annotations, lead, mask, head)


# --- checks: one function per rule id, each returns the values for its message (or None) -------
#
# A rule also says what a tool must have before it can fire, its triggers (see ``_check``):
# ``evaluate`` runs only the checks of rules whose triggers the tool has, so a tool pays for the
# few rules that concern it rather than for all of them. Triggers must be conservative: a rule
# that fires on a tool must always be triggered by it (tests compare with ``evaluate_all``).

Values = dict[str, str]
Check = Callable[[ToolView], "Values | None"]
_CHECKS: dict[str, Check] = {}
class _Triggers(NamedTuple):
    """What a tool must have before a rule can fire: any one of these."""

    name: frozenset[str]  # one of these among the tool's ``name_words``
    params: frozenset[str]  # one of these among its parameter names (``params``)
    param_words: frozenset[str]  # one of these among its ``param_words``
    text_starts: frozenset[str]  # a description word starting with one of these (``\b`` + it)
    opening: frozenset[str]  # the description's first word starts with one of these
    #: "annotations": any; "nameless": the name has no words; "verbless": no word of the name is
    #: a verb of the lexicon (``_ALL_FORMS``)
    kinds: frozenset[str]


_TRIGGERS: dict[str, _Triggers] = {}


def _check(
    rule_id: str,
    *,
    name: Iterable[str] = (),
    params: Iterable[str] = (),
    param_words: Iterable[str] = (),
    text_starts: Iterable[str] = (),
    opening: Iterable[str] = (),
    kinds: Iterable[str] = (),
) -> Callable[[Check], Check]:
    """Register the check of ``rule_id`` with its triggers (see ``_Triggers``)."""
    triggers = _Triggers(
        frozenset(name), frozenset(params), frozenset(param_words), frozenset(text_starts),
        frozenset(opening), frozenset(kinds),
    )

    def register(fn: Check) -> Check:
        _CHECKS[rule_id] = fn
        _TRIGGERS[rule_id] = triggers
        return fn

    return register


_CONJUNCTIONS = _w("and or then")
#: Read verbs that are rarely nouns: a name that leads with one reads what follows it.
_PLAIN_READS = _w(
    "get fetch list search find read describe show query count check validate preview explain "
    "retrieve lookup view inspect browse scan analyze analyse summarize summarise compare "
    "calculate estimate verify poll grep lint detect"
)
_PLAIN_READ_FORMS: Final = _verb_forms(_PLAIN_READS)


def _read_object(v: ToolView, verb: str, forms: dict[str, str]) -> bool:
    """After a leading read verb the later words are what is read (``list_change_events``,
    ``get_tcp_resets_data``): ``verb`` is an action only where a conjunction joins it to the read
    (``get_or_create_user``, ``search_and_delete_messages``)."""
    ws = v.words
    if v.head not in _PLAIN_READ_FORMS:
        return False
    return not any(
        forms.get(ws[i]) == verb and ws[i - 1] in _CONJUNCTIONS for i in range(v.lead + 1, len(ws))
    )


def _later(v: ToolView, forms: dict[str, str], skip: frozenset[str] = frozenset()) -> str | None:
    """The first verb of ``forms`` after the leading word, not in ``skip``, that is an action
    rather than the object of a leading read (``_read_object``)."""
    ws = v.words
    for i in range(v.lead + 1, len(ws)):
        verb = forms.get(ws[i])
        if verb and verb not in skip and not _read_object(v, verb, forms):
            return verb
    return None


_DESTRUCTIVE_FORMS: Final = _verb_forms(DESTRUCTIVE_VERBS)
_RISKY_FORMS: Final = _verb_forms(RISKY_VERBS)
_WRITE_FORMS: Final = _verb_forms(WRITE_VERBS)
_AMBIGUOUS_WRITE_FORMS: Final = _verb_forms(NOUN_LIKE & WRITE_VERBS)
_READ_FORMS: Final = _verb_forms(READ_VERBS)


@_check("R101", name=_DESTRUCTIVE_FORMS)
def _destructive_verb(v: ToolView) -> Values | None:
    verb = _DESTRUCTIVE_FORMS.get(v.head)
    return {"verb": verb} if verb else None


@_check("R102", name=_DESTRUCTIVE_FORMS)
def _destructive_verb_in_name(v: ToolView) -> Values | None:
    verb = _later(v, _DESTRUCTIVE_FORMS)
    return {"verb": verb} if verb else None


@_check("R103", name=_RISKY_FORMS)
def _risky_verb(v: ToolView) -> Values | None:
    for i, w in enumerate(v.words):
        verb = _RISKY_FORMS.get(w)
        if verb and (i == v.lead or verb not in NOUN_LIKE):
            return {"verb": verb}
    return None


_BULK = _w("many all bulk batch every mass")
_CHANGE_VERBS = _w("update delete remove modify edit set patch replace overwrite clear reset archive")
_CHANGE_FORMS: Final = _verb_forms(_CHANGE_VERBS)
_REPLACE_WORDS = _w("upsert apply put overwrite")
_MONEY = _w("refund payout withdraw trade sell buy purchase")
_MONEY_FORMS: Final = _verb_forms(_MONEY)


@_check("R104", name=_BULK)
def _bulk_change(v: ToolView) -> Values | None:
    scope = next((w for w in v.words if w in _BULK), None)
    verb = next((w for w in v.words if w in _CHANGE_FORMS), None)
    return {"scope": scope, "verb": verb} if scope and verb else None


@_check("R105", name={"update", "replace", *_REPLACE_WORDS})
def _create_or_replace(v: ToolView) -> Values | None:
    ws = v.words
    if ("create" in ws and ("update" in ws or "replace" in ws)) or ("or" in ws and "replace" in ws):
        return {"words": " ".join(ws)}
    found = next((w for w in ws if w in _REPLACE_WORDS), None)
    return {"words": found} if found else None


@_check("R106", name={*_MONEY_FORMS, "pay", "charge", "transfer", "place"})
def _money_movement(v: ToolView) -> Values | None:
    ws = v.words
    if not ws or v.head in _READ_FORMS:
        return None
    found = [w for w in ws if w in _MONEY_FORMS]
    if v.head in ("pay", "charge", "transfer"):
        found.insert(0, v.head)
    if "place" in ws and "order" in ws:
        found.append("place order")
    return {"words": found[0]} if found else None


_INSTALL_VERBS = _w("install reinstall upgrade downgrade deploy redeploy rollout")
_INSTALL_FORMS: Final = _verb_forms(_INSTALL_VERBS)
_INSTALL_NOUNS = _w("deployment deployments")
_LAUNCH_VERBS = _w("create start trigger")
_LAUNCH_FORMS: Final = _verb_forms(_LAUNCH_VERBS)


@_check("R107", name={*_INSTALL_FORMS, *_INSTALL_NOUNS})
def _replaces_running_software(v: ToolView) -> Values | None:
    ws = v.words
    if not ws or v.head in _READ_FORMS:
        return None
    verb = next((w for w in ws if w in _INSTALL_FORMS), None)
    if verb is None and v.head in _LAUNCH_FORMS and any(w in _INSTALL_NOUNS for w in ws):
        verb = " ".join(ws)
    return {"verb": verb} if verb else None


@_check("R111", name=EXEC_VERBS | ALWAYS_CODE)
def _code_execution_name(v: ToolView) -> Values | None:
    ws = v.name_words
    if (not EXEC_VERBS.isdisjoint(ws) and not CODE_WORDS.isdisjoint(ws)) or not ALWAYS_CODE.isdisjoint(ws):
        return {"words": " ".join(w for w in ws if w in EXEC_VERBS or w in CODE_WORDS)}
    return None


_EXECUTE = ("execute", "exec", "eval", "evaluate")


@_check("R112", name=_EXECUTE)
def _execute_verb(v: ToolView) -> Values | None:
    verb = next((w for w in v.name_words if w in _EXECUTE), None)
    return {"verb": verb} if verb else None


@_check("R121", name=_WRITE_FORMS)
def _write_verb(v: ToolView) -> Values | None:
    verb = _WRITE_FORMS.get(v.head)
    return {"verb": verb} if verb and verb not in NOUN_LIKE else None


@_check("R122", name=_WRITE_FORMS)
def _write_verb_in_name(v: ToolView) -> Values | None:
    verb = _later(v, _WRITE_FORMS, NOUN_LIKE)
    return {"verb": verb} if verb else None


@_check("R123", name=_AMBIGUOUS_WRITE_FORMS)
def _ambiguous_write_verb(v: ToolView) -> Values | None:
    verb = _AMBIGUOUS_WRITE_FORMS.get(v.head)
    return {"verb": verb} if verb else None


@_check("R131", name=_READ_FORMS)
def _read_verb(v: ToolView) -> Values | None:
    verb = _READ_FORMS.get(v.head)
    return {"verb": verb} if verb else None


@_check("R132", name=_READ_FORMS)
def _read_verb_in_name(v: ToolView) -> Values | None:
    ws = v.words
    for i in range(v.lead + 1, len(ws)):
        if verb := _READ_FORMS.get(ws[i]):
            return {"verb": verb}
    return None


@_check("R141", kinds=["verbless"])
def _no_known_verb(v: ToolView) -> Values | None:
    return {} if v.words and _ALL_FORMS.keys().isdisjoint(v.name_words) else None


@_check("R142", kinds=["nameless"])
def _no_words(v: ToolView) -> Values | None:
    return None if v.name_words else {}


#: Every pattern that ``_find`` searches, with its ``starts`` (for the tests).
_PHRASES: Final[list[tuple[re.Pattern[str], tuple[str, ...]]]] = []
_OPENING_NOISE = " \t\n*#>-_`'\""


def _phrase_rule(
    rule_id: str,
    pattern: str,
    *,
    starts: Iterable[str] = (),
    opening_stems: Iterable[str] = (),
    unless: re.Pattern[str] | None = None,
) -> None:
    """Register a description phrase rule. ``starts``: every match of ``pattern`` begins at a word
    boundary with one of these (its alternatives' opening literals, all word characters). Or
    ``opening``: ``pattern`` is matched at the opening of the description (after list marks and
    quotes), and every match begins with one of ``opening_stems``. ``unless``: a pattern of ``_SHARED_STARTS``
    that, found too, keeps the rule from firing."""
    rx = re.compile(pattern)
    opening = tuple(starts)
    first = tuple(opening_stems)
    if opening:
        _PHRASES.append((rx, opening))

    def check(v: ToolView) -> Values | None:
        text = v.text
        if not text:
            return None
        m = _find(v, rx, opening) if opening else rx.match(text.lstrip(_OPENING_NOISE))
        if m and not (unless and _search(v, unless)):
            return {"phrase": " ".join(m.group(0).split())}
        return None

    _check(rule_id, text_starts=opening, opening=first)(check)


_READ_ONLY = re.compile(
    r"\bread[- ]only\b|\bdoes ?n[o']t (?:modify|change|alter|write|delete|mutate)|\bwithout "
    r"(?:modifying|changing|making (?:any )?changes|side[- ]effects)|\bno side[- ]effects\b|"
    r"\bnon[- ]destructive\b|\bsafe to (?:call|run|use)\b|\bread operation\b|\bonly (?:reads|select)"
)
_NEGATED = re.compile(r"\b(?:not|never|without|no)\s+(?:\w+\s+)?(?:delet|remov|destroy|overwrit)")
#: Some operation a multi-operation tool offers removes, cancels or overwrites.
_OPERATION_REMOVAL = re.compile(
    r"\b(?:delet|remov|cancel|destroy|drop|purg|overwrit|replac|revok|clear|reset)\w*"
)
_READ_ONLY_STARTS: Final = ("read", "does", "without", "no", "safe", "only")
#: The description patterns that several rules search (``_search``), each with the prefixes its
#: matches begin with at a word boundary (as ``starts`` of ``_phrase_rule``), by ``id``.
_SHARED_STARTS: Final = {
    id(_READ_ONLY): _READ_ONLY_STARTS,
    id(_NEGATED): ("no", "never", "without"),
    id(_OPERATION_REMOVAL): ("delet", "remov", "cancel", "destroy", "drop", "purg", "overwrit", "replac",
                             "revok", "clear", "reset"),
}
_PHRASES += [(rx, _SHARED_STARTS[id(rx)]) for rx in (_READ_ONLY, _NEGATED, _OPERATION_REMOVAL)]
_phrase_rule(
    "R201",
    r"\bpermanent(?:ly)?\b[^.]{0,40}?\b(?:delet|remov|destroy|eras|purg)\w*|\bcannot be (?:undone|reversed|"
    r"recovered)|\bcan ?not be (?:undone|reversed|recovered)|\birreversibl\w*|\birrecoverabl\w*|"
    r"\bnot (?:be )?reversible\b|\bdestructive\b|\b(?:deletes?|destroys?|erases?|purges?|wipes?|"
    r"truncates?|overwrites?|terminates?|revokes?|uninstalls?)\b|\bdrops? (?:the |a )?(?:table|database|"
    r"collection|index|schema)\b|\bdata loss\b(?! prevention| protection)",
    unless=_NEGATED,
    starts=("permanent", "can", "irreversibl", "irrecoverabl", "not", "destructive", "delete", "destroy",
            "erase", "purge", "wipe", "truncate", "overwrite", "terminate", "revoke", "uninstall", "drop",
            "data"),
)
_phrase_rule(
    "R202",
    r"\b(?:execut|run|eval)\w* (?:an? |the )?(?:arbitrary|any|raw|custom|given|provided)\b"
    r"(?:(?!read[- ]?only|select)[^.]){0,30}?"
    r"\b(?:code|commands?|scripts?|sql|python|javascript|js|shell|queries|query|statements?)\b|"
    r"\b(?:shell|terminal|bash|powershell) commands?\b|\bremote code execution\b|\brce\b|"
    r"\b(?:execut|run|eval)\w* (?:a |the )?(?:python|javascript|js|bash|shell) (?:code|script|snippet)s?\b|"
    r"\barbitrary (?:code|commands?|sql|javascript|python)\b",
    starts=("execut", "run", "eval", "shell", "terminal", "bash", "powershell", "remote", "rce", "arbitrary"),
)
_phrase_rule(
    "R203",
    r"\b(?:removes?|cancels?|replaces?|clears?|resets?|discards?|detaches?)\b|\bclean(?:s|ing)? up\b|"
    r"\bcleanup\b",
    unless=_NEGATED,
    starts=("remove", "cancel", "replace", "clear", "reset", "discard", "detach", "clean"),
)
_phrase_rule(
    "R204",
    r"\b(?:execut|run)\w* (?:an? |the )?(?:sql|cypher|database|db|graphql|kql|promql)?\s?(?:query|queries|"
    r"statements?|sql)\b",
    unless=_READ_ONLY,
    starts=("execut", "run"),
)
_phrase_rule(
    "R211",
    r"(?:creates?|adds?|updates?|sends?|posts?|publish(?:es)?|uploads?|sets?|modif(?:y|ies)|changes?|"
    r"starts?|schedules?|assigns?|invites?|submits?|triggers?|edits?|inserts?|appends?|enables?|disables?|"
    r"moves?|renames?|saves?|writes?|applies|apply|deploys?|installs?|approves?|merges?)\b",
    opening_stems=("create", "add", "update", "send", "post", "publish", "upload", "set", "modif", "change",
                   "start", "schedule", "assign", "invite", "submit", "trigger", "edit", "insert", "append",
                   "enable", "disable", "move", "rename", "save", "write", "appl", "deploy", "install",
                   "approve", "merge"),
)
_phrase_rule(
    "R212",
    r"\bwrite operation\b|\bmodif(?:y|ies) (?:the|an?|existing)\b|\bmakes? changes\b|\bmutat\w+|"
    r"\bpersist(?:s|ed)?\b",
    starts=("write", "modif", "make", "mutat", "persist"),
)
# A sentence or list item of the description (not its opening, which R211 reads) that says the
# tool stores something: "... run. Creates tables and inserts test data", "- saves the report to".
# Not "Updates are returned ..." (a noun), and not inside a sentence ("use X, which creates").
_SIDE_EFFECT = re.compile(
    r"(?:[.:;!?]\s+|\n\s*(?:[-*\u2022]|\d+[.)])?\s*)(?P<phrase>(?:creates|inserts|saves|writes|stores|"
    r"modifies|updates|uploads|appends|persists) (?!(?:are|is|were|will|may|can|from|since|of|for|by|to|"
    r"in|made|and|or|nothing|no)\b)\w+)"
)
_SIDE_EFFECT_NEEDS = frozenset(("creates", "inserts", "saves", "writes", "stores", "modifies", "updates",
                                "uploads", "appends", "persists"))
#: The characters a match of ``_SIDE_EFFECT`` may start with (its separator's first).
_SIDE_EFFECT_OPENERS = ".:;!?\n"


# The verb follows whitespace or punctuation: it starts a word.
@_check("R213", text_starts=_SIDE_EFFECT_NEEDS)
def _side_effect_statement(v: ToolView) -> Values | None:
    """``_SIDE_EFFECT.search(v.text)``, tried only just before where its verbs occur.

    A match's verb is a word of the description (followed by a space) and comes right after its
    separator, which holds no letter: a match with the verb at ``i`` starts within the letterless
    run before ``i``, at one of ``_SIDE_EFFECT_OPENERS``; the first verb with such a match has
    the leftmost match (a later verb's separator starts after this verb's letters)."""
    text = v.text
    at = []
    for w in _start_words(v):
        if w in _SIDE_EFFECT_NEEDS:
            i = text.find(w)
            while i >= 0:
                at.append(i)
                i = text.find(w, i + 1)
    at.sort()
    match = _SIDE_EFFECT.match
    for i in at:
        run = i
        while run and not text[run - 1].isalpha():
            run -= 1
        for start in range(run, i):
            if text[start] in _SIDE_EFFECT_OPENERS and (m := match(text, start)):
                return {"phrase": m.group("phrase")}
    return None


@_check("R221", text_starts=_READ_ONLY_STARTS)
def _read_only_phrase(v: ToolView) -> Values | None:
    if v.memo.get(id(_READ_ONLY)) is False:
        return None
    m = _find(v, _READ_ONLY, _READ_ONLY_STARTS)
    v.memo[id(_READ_ONLY)] = m is not None  # what ``_search`` would find
    return {"phrase": " ".join(m.group(0).split())} if m else None


_phrase_rule(
    "R222",
    r"(?:gets?|fetch(?:es)?|lists?|retrieves?|returns?|searche?s?|shows?|reads?|finds?|quer(?:y|ies)|"
    r"looks? up|describes?|checks?|validates?|counts?|inspects?|views?|displays?|provides?|"
    r"summari[sz]es?|analy[sz]es?|calculates?|computes?|compares?|explains?|verif(?:y|ies))\b",
    opening_stems=("get", "fetch", "list", "retrieve", "return", "search", "show", "read", "find", "quer",
                   "look", "describe", "check", "validate", "count", "inspect", "view", "display", "provide",
                   "summari", "analy", "calculate", "compute", "compare", "explain", "verif"),
)
_phrase_rule(
    "R223", r"\breturns? (?:a |the )?(?:list|details|information|summary|count)\b", starts=("return",)
)

_FORCE = _w("force overwrite force_delete allow_overwrite replace_existing purge hard_delete")
_CONFIRM = _w("confirm confirmation confirmed i_understand are_you_sure acknowledge_risk")
_CODE_PARAMS = _w(
    "command cmd commands script code shell bash python javascript js snippet source_code "
    "python_code js_code script_content shell_command code_snippet program"
)
_SQL_PARAMS = _w("sql query_sql sql_query statement statements cypher raw_sql sql_statement")
_SQL_WRITE = re.compile(r"\b(?:insert|update|delete|drop|alter|truncate|create|merge|ddl|dml|write)\b")
_PATH_PARAMS = _w("path file filename file_path filepath file_name target_path dest destination")
_CONTENT_PARAMS = _w("content contents data text body file_content new_content source")
_OUT_PARAMS = _w(
    "output_path output_file save_path save_to out_file outfile backup_path export_path "
    "output_dir output_filename dest_path destination_path target_file"
)
_DB_ENGINES = _w(
    "sql database db postgres postgresql mysql mariadb sqlite mssql oracle snowflake bigquery "
    "redshift athena clickhouse influxdb influxql trino presto duckdb databricks cassandra cql "
    "cypher neo4j warehouse"
)
_UI_VERBS = _w(
    "click tap press type fill select submit drag check uncheck upload keyboard keypress hotkey "
    "dblclick doubleclick dialog"
)
_MOUSE_PRESS = _w("down up click")
_UI_ELEMENT_PARAMS = _w("element selector button")
_UI_CONTEXT = _w("browser page element selector ref web playwright puppeteer form ui button")
_DRY = _w("dry_run dryrun preview_only validate_only plan_only")


def _param_rule(rule_id: str, names: frozenset[str]) -> None:
    """A rule that fires on the first parameter named one of ``names``."""

    @_check(rule_id, params=names)
    def check(v: ToolView) -> Values | None:
        if names.isdisjoint(v.params):
            return None
        return {"param": next(p for p in v.params if p in names)}


_FORCE_WORDS = _w("force overwrite drop purge wipe truncate destroy")
#: An order's time in force (GTC, IOC, FOK) says how long it stays open, not that anything is forced.
_FORCE_EXEMPT = _w("time_in_force")


@_check("R301", param_words=_FORCE_WORDS | {w for p in _FORCE for w in p.split("_")})
def _force_parameter(v: ToolView) -> Values | None:
    for p in v.params:
        if p in _FORCE_EXEMPT:
            continue
        if p in _FORCE or not _FORCE_WORDS.isdisjoint(p.split("_")):
            return {"param": p}
    return None


_param_rule("R302", _CONFIRM)
#: Read verbs that may run what they are given: their code or query parameter still counts.
_RUNNING_READS = _w("query compute test profile trace measure monitor watch poll sample capture probe")


def _inspects_input(v: ToolView) -> bool:
    """The name leads with a read verb that examines its input rather than running it
    (``explain_command``, ``analyze_code_snippet``, ``count`` with a filter ``query``)."""
    verb = _READ_FORMS.get(v.head)
    return verb is not None and verb not in _RUNNING_READS


#: Verbs that store something for later: their ``code`` may be a discount code, a PIN or the body
#: of a function that runs when someone calls it, not code run by this call.
_DEFINE_VERBS = _w("create add register define save store")
_DEFINE_FORMS: Final = _verb_forms(_DEFINE_VERBS)


@_check("R303", params=_CODE_PARAMS)
def _code_parameter(v: ToolView) -> Values | None:
    if _inspects_input(v):
        return None
    defines = _DEFINE_FORMS.get(v.head) is not None
    for p in v.params:
        if p in _CODE_PARAMS and not (defines and p == "code"):
            return {"param": p}
    return None


_param_rule("R307", _DRY)


@_check("R304", params=_SQL_PARAMS | {"query"})
def _sql_write_parameter(v: ToolView) -> Values | None:
    for p, desc in v.params.items():
        if (p in _SQL_PARAMS or p == "query") and (
            _SQL_WRITE.search(desc) or (p == "query" and "sql" in v.text and _SQL_WRITE.search(v.text))
        ):
            return {"param": p}
    return None


@_check("R305", params=_PATH_PARAMS)
def _path_with_content(v: ToolView) -> Values | None:
    path = next((p for p in v.params if p in _PATH_PARAMS), None)
    content = next((p for p in v.params if p in _CONTENT_PARAMS), None)
    return {"path": path, "content": content} if path and content else None


_param_rule("R306", _OUT_PARAMS)
_param_rule("R310", frozenset({"filename", "file_name"}))
_OPERATION_PARAMS = _w("method operation op action mode")
_OPERATION_SUFFIXES = _w("method operation action")
_PIPELINE_PARAMS = _w("pipeline stages aggregation aggregate_pipeline")
_DATA_CONTEXT = _w("collection collections database db documents aggregate aggregation mongo mongodb")
_WRITES_REFUSED = re.compile(r"\breject|\bnot (?:be )?allowed|\bdisallow|\bforbidden|\brefuse")


_UPDATE_VERBS = _w("update put patch set replace modify edit")
_PAYLOAD_WORDS = _w(
    "config configuration profile properties data body settings definition spec payload document "
    "content policy template manifest json yaml"
)


@_check("R313", name=_UPDATE_VERBS)
def _whole_object_update(v: ToolView) -> Values | None:
    if v.head not in _UPDATE_VERBS:
        return None
    for p in v.params:
        if p.rsplit("_", 1)[-1] in _PAYLOAD_WORDS:
            return {"verb": v.head, "param": p}
    return None


@_check("R312", params=_PIPELINE_PARAMS)
def _aggregation_pipeline(v: ToolView) -> Values | None:
    param = next((p for p in v.params if p in _PIPELINE_PARAMS), None)
    if param is None or _search(v, _READ_ONLY) or _WRITES_REFUSED.search(v.text):
        return None
    if _DATA_CONTEXT & (set(v.name_words) | set(v.text_words[:40]) | v.param_words - {param}):
        return {"param": param}
    return None


def _declared_reader(v: ToolView) -> bool:
    """The description opens with a read ("List and inspect ...") and calls the tool read-only:
    its operations are ways of reading. A read-only note on some operations of a tool that
    opens otherwise ("Execute API operations ...") does not count."""
    return _search(v, _READ_ONLY) and _CHECKS["R222"](v) is not None


# A parameter's last word is one of its parameter words (``_`` separates both ways).
@_check("R311", param_words=_OPERATION_PARAMS | _OPERATION_SUFFIXES)
def _operation_selector(v: ToolView) -> Values | None:
    # Only on tools that change something: a read tool's "mode" or "method" is a way of reading.
    if _READ_FORMS.get(v.head) or _declared_reader(v):
        return None
    for p, desc in v.params.items():
        if (p in _OPERATION_PARAMS or p.rsplit("_", 1)[-1] in _OPERATION_SUFFIXES) and (
            _search(v, _OPERATION_REMOVAL) or _OPERATION_REMOVAL.search(desc) is not None
        ):
            return {"param": p}
    return None


@_check("R309", params={"query"})
def _database_query(v: ToolView) -> Values | None:
    if "query" not in v.params or _search(v, _READ_ONLY) or _inspects_input(v):
        return None
    engine = next((w for w in v.name_words if w in _DB_ENGINES), None)
    if engine is None:
        engine = next((w for w in v.text_words[:30] if w in _DB_ENGINES), None)
    return {"param": "query", "engine": engine} if engine is not None else None


@_check("R113", name=_UI_VERBS | {"mouse"})
def _page_interaction(v: ToolView) -> Values | None:
    verb = next((w for w in v.words if w in _UI_VERBS), None)
    if verb is None and "mouse" in v.words and not _MOUSE_PRESS.isdisjoint(v.words):
        verb = "mouse " + next(w for w in v.words if w in _MOUSE_PRESS)
    if verb and (not _UI_CONTEXT.isdisjoint(v.name_words) or any(_ui_param(p) for p in v.params)):
        return {"verb": verb}
    return None


def _ui_param(p: str) -> bool:
    """A parameter naming a page element (``selector``, ``ref``, ``start_element``), not one that
    only contains such a word (``booking_ref``, ``fields_page``) nor a page number (``page``)."""
    return (p in _UI_CONTEXT and p != "page") or p.rsplit("_", 1)[-1] in _UI_ELEMENT_PARAMS


@_check("R308", params=_SQL_PARAMS)
def _sql_parameter(v: ToolView) -> Values | None:
    if _search(v, _READ_ONLY):
        return None
    return next(({"param": p} for p in v.params if p in _SQL_PARAMS), None)


# A hint counts only as a JSON boolean: ``is True`` / ``is False`` (never ``==``: 1 == True).


@_check("R401", kinds=["annotations"])
def _annotation_read_only(v: ToolView) -> Values | None:
    return {} if v.annotations.get("readOnlyHint") is True else None


@_check("R402", kinds=["annotations"])
def _annotation_destructive(v: ToolView) -> Values | None:
    a = v.annotations
    return {} if a.get("destructiveHint") is True and a.get("readOnlyHint") is not True else None


@_check("R403", kinds=["annotations"])
def _annotation_write(v: ToolView) -> Values | None:
    a = v.annotations
    return {} if a.get("readOnlyHint") is False and a.get("destructiveHint") is False else None


@_check("R404", kinds=["annotations"])
def _annotation_not_read_only(v: ToolView) -> Values | None:
    a = v.annotations
    if a.get("readOnlyHint") is not False:
        return None
    destructive = a.get("destructiveHint")
    return {} if destructive is not True and destructive is not False else None


ANNOTATION_RULES: Final = frozenset(r.id for r in RULES if r.id.startswith("R4"))


# --- dispatch ------------------------------------------------------------------------------------
# Rule i of ``RULES`` is bit ``1 << i`` of a mask; a tool's candidates are the OR of the masks
# of the triggers it has, and its checks run from the lowest bit up: in table order.

_ALL_CHECKS: Final = tuple((r, _CHECKS[r.id]) for r in RULES)
_ALL_MASK: Final = (1 << len(RULES)) - 1
_DEFINITION_MASK: Final = sum(1 << i for i, r in enumerate(RULES) if r.id not in ANNOTATION_RULES)


def _masks(part: str) -> dict[str, int]:
    """Trigger -> mask of the rules it triggers, for one ``part`` of the triggers (a field name)."""
    out: dict[str, int] = {}
    for i, r in enumerate(RULES):
        for trigger in getattr(_TRIGGERS[r.id], part):
            out[trigger] = out.get(trigger, 0) | 1 << i
    return out


def _kind_mask(kind: str) -> int:
    return sum(1 << i for i, r in enumerate(RULES) if kind in _TRIGGERS[r.id].kinds)


#: Bits past the rules': a word starts a pattern of ``_SHARED_STARTS`` (and may trigger no rule);
#: a word of the name is a verb (``_ALL_FORMS``).
_SHARED_BIT: Final = 1 << len(RULES)
_VERB_BIT: Final = 1 << len(RULES) + 1
_BY_NAME_WORD: Final = {form: _VERB_BIT for form in _ALL_FORMS}
for _word, _mask in _masks("name").items():
    _BY_NAME_WORD[_word] = _BY_NAME_WORD.get(_word, 0) | _mask
_BY_PARAM: Final = _masks("params")
_BY_PARAM_WORD: Final = _masks("param_words")


def _by_head(bits: dict[str, int]) -> dict[str, tuple[tuple[str, int], ...]]:
    """Prefix -> mask, grouped by the prefix's first two letters (every prefix has two or more)."""
    out: dict[str, list[tuple[str, int]]] = {}
    for p, mask in bits.items():
        assert len(p) >= 2, p
        out.setdefault(p[:2], []).append((p, mask))
    return {head: tuple(entries) for head, entries in out.items()}


#: Most distinct words a ``_WordMasks`` keeps (beyond, it starts afresh).
_MAX_WORDS: Final = 1 << 16


class _WordMasks:
    """Word -> OR of the masks of the prefixes it starts with (``mask``), each word worked out on
    first sight; ``marked`` finds a text's words with a mask by two set operations."""

    __slots__ = ("_by_head", "_marked", "_seen", "known")

    def __init__(self, prefixes: dict[str, int]) -> None:
        self._by_head = _by_head(prefixes)
        self._seen: set[str] = set()
        self.known: dict[str, int] = {}  # the words seen whose mask is not 0, with it
        self._marked: set[str] = set()  # their keys, as a set

    def _learn(self, words: Iterable[str]) -> None:
        if len(self._seen) >= _MAX_WORDS:
            self._seen.clear()
            self.known.clear()
            self._marked.clear()
        for word in words:
            if word not in self._seen:
                self._seen.add(word)
                mask = 0
                for p, m in self._by_head.get(word[:2], ()):
                    if word.startswith(p):
                        mask |= m
                if mask:
                    self.known[word] = mask
                    self._marked.add(word)

    def mask(self, word: str) -> int:
        if word not in self._seen:
            self._learn((word,))
        return self.known.get(word, 0)

    def marked(self, words: list[str]) -> set[str]:
        """The distinct ``words`` whose mask is not 0 (each then in ``known``)."""
        if not self._seen.issuperset(words):
            self._learn(words)
        return self._marked.intersection(words)


#: Description word -> the rules it triggers (``text_starts``), with ``_SHARED_BIT`` if it begins
#: with a prefix of some description pattern, else 0.
_START_MASKS: Final = _WordMasks({
    **{p: _SHARED_BIT for starts in _SHARED_STARTS.values() for p in starts},
    **{p: mask | _SHARED_BIT for p, mask in _masks("text_starts").items()},
})
#: First word of a description -> the rules it triggers (``opening``).
_OPENING_MASKS: Final = _WordMasks(_masks("opening"))
_ANNOTATIONS_MASK: Final = _kind_mask("annotations")
_NAMELESS_MASK: Final = _kind_mask("nameless")
_VERBLESS_MASK: Final = _kind_mask("verbless")


#: The checks of each byte of a mask (the lowest first), for each of its 256 values, in table order.
_BYTE_CHECKS: Final = tuple(
    tuple(
        tuple((RULES[i].id, _CHECKS[RULES[i].id]) for i in range(base, min(base + 8, len(RULES)))
              if value >> i - base & 1)
        for value in range(256)
    )
    for base in range(0, len(RULES), 8)
)
#: Most masks ``_DISPATCH`` keeps (beyond, it starts afresh).
_MAX_MASKS: Final = 4096
#: Mask of rules -> their ids and checks in table order, each mask worked out on first sight.
_DISPATCH: dict[int, tuple[tuple[str, Check], ...]] = {}


def _new_checks(mask: int) -> tuple[tuple[str, Check], ...]:
    """The ids and checks of the rules of ``mask``, in table order (a few look-ups in
    ``_BYTE_CHECKS``), kept in ``_DISPATCH``."""
    if len(_DISPATCH) >= _MAX_MASKS:
        _DISPATCH.clear()
    by_byte = map(tuple.__getitem__, _BYTE_CHECKS, mask.to_bytes(len(_BYTE_CHECKS), "little"))
    checks = _DISPATCH[mask] = tuple(chain.from_iterable(by_byte))
    return checks


def evaluate(v: ToolView, *, annotations: bool = True) -> list[Hit]:
    """Every rule hit on a prepared tool, in table order.

    Only the checks of the rules whose triggers ``v`` has run: the mask of those rules is the OR
    of the masks of its name words, parameters (``param_mask``), description words and opening."""
    mask = v.param_mask
    get = _BY_NAME_WORD.get
    for w in v.name_words:
        mask |= get(w, 0)
    if not v.name_words:
        mask |= _NAMELESS_MASK
    elif not mask & _VERB_BIT:
        mask |= _VERBLESS_MASK
    text = v.text
    if text:
        ws = v.text_words if text.isascii() else ascii_words(text)
        # Each word that starts a match starts with its prefix (see ``_start_words``).
        v.start_words = found = _START_MASKS.marked(ws)
        known = _START_MASKS.known
        for w in found:
            mask |= known[w]
        if ws:  # what ``lstrip`` leaves of the text starts with its first word
            mask |= _OPENING_MASKS.mask(ws[0])
    if v.annotations:
        mask |= _ANNOTATIONS_MASK
    mask &= _ALL_MASK if annotations else _DEFINITION_MASK
    checks = _DISPATCH.get(mask)
    if checks is None:
        checks = _new_checks(mask)
    hits = []
    for rule_id, check in checks:
        values = check(v)
        if values is not None:
            hits.append(_hit(rule_id, tuple(values.items()) if values else ()))
    return hits


def evaluate_all(v: ToolView, *, annotations: bool = True) -> list[Hit]:
    """``evaluate`` without triggers: every check on every tool (the reference for tests)."""
    mask = _ALL_MASK if annotations else _DEFINITION_MASK
    return [
        _hit(rule.id, tuple(values.items()))
        for i, (rule, check) in enumerate(_ALL_CHECKS)
        if mask >> i & 1 and (values := check(v)) is not None
    ]


@lru_cache(maxsize=16384)
def _hit(rule_id: str, values: tuple[tuple[str, str], ...]) -> Hit:
    """One hit per rule and message values (hits are immutable: a verb's hit is rendered once)."""
    rule = RULES_BY_ID[rule_id]
    return Hit(rule, rule.render(**dict(values)))
