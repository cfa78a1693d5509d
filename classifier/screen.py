"""Screens: cheap tests that must pass before a regular expression can match a text.

Most texts match none of the long instruction or phrase patterns, yet ``re`` tries every
position of the text against every alternative. A screen is derived from the pattern itself:
the words and literal strings that any match must contain (``\\bignore\\s+previous`` needs the
words "ignore" and "previous"), combined with and/or as the pattern combines them, and tested
against the set of the text's words (one lookup each) or with ``in``. When the screen fails
the pattern cannot match, so skipping the search changes nothing; when it passes, the pattern
runs as before. Derivation is conservative: whatever it does not understand needs nothing.

A literal counts as a word only where the pattern fixes both its ends (``\\b``, a space, a
non-word character); the text's words are its runs of letters and digits (``_`` separates,
so a word literal with ``_`` needs each of its parts). Case-insensitive patterns are screened
on ``fold(text)``: ``lower()`` plus the four non-ASCII letters that ``re.IGNORECASE`` equates
with ASCII ones (İ ı ſ K); neither changes which characters are word characters.

Screens derive themselves after a few uses, so that one cold ``classify`` pays nothing.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Iterable, Iterator, Sequence
from itertools import islice, product
from typing import Any, Final

__all__ = ["Branches", "Screen", "ScreenGroup", "ScreenText", "fold", "prepare_all"]

#: Uses after which a screen derives itself (a cold single classification stays as it was).
DERIVE_AFTER: Final = 8
_MAX_STRINGS: Final = 64
_MAX_REPEAT_EXPANDED: Final = 3
_ALNUM: Final = re.compile(r"[^\W_]+")
#: The characters ``fold`` maps before ``lower()``; replaced where present (``translate`` looks up every one).
_FOLD: Final = (("\u0130", "i"), ("\u0131", "i"), ("\u017f", "s"), ("\u212a", "k"))
_COMMON_WORDS: Final = (
    "a an the to of in on for and or is are be it its this that with as at by from you your not no "
    "all any if use used using user users data do does can will may must should also when new only "
    "other has have need set get list tool tools file files name type value before after first each "
    "every one more than then there which what how such these those into out up about message system "
    "context local access api key time"
)
#: Words in most descriptions: poor keys (see ``_cost``).
_COMMON: Final = frozenset(_COMMON_WORDS.split(" "))
#: Substrings shorter than this are in many words: poor keys.
_SHORT_SUBSTRING: Final = 5


#: Each ASCII byte that is no letter or digit -> space: the words of ASCII text are then what
#: ``str.split`` finds (the same as ``_ALNUM.findall``, without a category lookup per character).
_ASCII_ALNUM_BYTES: Final = bytes(b if b < 128 and chr(b).isalnum() else 32 for b in range(256))


#: A letter or digit outside ASCII (the range first: most characters are ASCII, their test the cheap one).
_NON_ASCII_ALNUM: Final = re.compile(r"[^\x00-\x7f\W]")


def words_of(text: str) -> set[str]:
    """The set of the alphanumeric runs of ``text`` (``_ALNUM``)."""
    if text.isascii():
        return set(text.encode("ascii").translate(_ASCII_ALNUM_BYTES).decode("ascii").split())
    if _NON_ASCII_ALNUM.search(text) is None:
        # Only non-ASCII signs and spaces (dashes, arrows, emoji): each ends a word as "?" does.
        return set(text.encode("ascii", "replace").translate(_ASCII_ALNUM_BYTES).decode("ascii").split())
    return set(_ALNUM.findall(text))


def fold(text: str) -> str:
    """Lower case as ``re.IGNORECASE`` sees it, for screening case-insensitive patterns."""
    if text.isascii():
        return text.lower()
    for ch, ascii_ in _FOLD:
        if ch in text:
            text = text.replace(ch, ascii_)
    return text.lower()


class ScreenText:
    """A text with what screens read, computed on first need: its fold and the words of each."""

    __slots__ = ("folded", "folded_words", "text", "words")

    def __init__(
        self,
        text: str,
        words: frozenset[str] | set[str] | None = None,
        folded: tuple[str, set[str] | frozenset[str]] | None = None,
    ) -> None:
        """``words``: the alphanumeric runs of ``text``, ``folded``: ``fold(text)`` and its runs,
        when the caller has them already."""
        self.text = text
        self.words = words
        self.folded, self.folded_words = folded if folded is not None else (None, None)

    def view(self, ignore_case: bool) -> tuple[str, set[str] | frozenset[str]]:
        """The text a screen reads and its words: as it is, or folded for a case-insensitive pattern."""
        if not ignore_case:
            if self.words is None:
                self.words = words_of(self.text)
            return self.text, self.words
        if self.folded_words is None:
            self.folded = fold(self.text)
            self.folded_words = words_of(self.folded)
        return self.folded, self.folded_words  # type: ignore[return-value]


# --- conditions ---------------------------------------------------------------------------------
# A condition is True (nothing needed), ("w", word), ("s", substring), ("&", parts) or ("|", parts).

Cond = Any
_TRUE: Final = True


def _and(parts: list[Cond]) -> Cond:
    out: list[Cond] = []
    for p in parts:
        if p is _TRUE:
            continue
        out.extend(p[1] if p[0] == "&" else (p,))
    out = list(dict.fromkeys(out))
    if not out:
        return _TRUE
    return out[0] if len(out) == 1 else ("&", tuple(out))


def _or(parts: list[Cond]) -> Cond:
    out: list[Cond] = []
    for p in parts:
        if p is _TRUE:
            return _TRUE
        out.extend(p[1] if p[0] == "|" else (p,))
    out = list(dict.fromkeys(out))
    return out[0] if len(out) == 1 else ("|", tuple(out))


# --- derivation from the parsed pattern ---------------------------------------------------------

_NONE, _EDGE, _BOUNDARY = 0, 1, 2  # what is known of the character beside a piece


class _Deriver:
    def __init__(self, pattern: re.Pattern[str]) -> None:
        import re._constants as c
        import re._parser as parser

        self.c = c
        self.ignore_case = bool(pattern.flags & re.IGNORECASE)
        # With ASCII or LOCALE word boundaries differ from the words of str: substrings only.
        self.words_ok = not pattern.flags & (re.ASCII | re.LOCALE)
        self.tree = parser.parse(pattern.pattern, pattern.flags)

    def condition(self) -> Cond:
        return self.sequence(list(self.tree.data), _NONE, _NONE)

    # Finite languages: the strings a piece of pattern matches, when they are few.

    def char(self, code: int) -> str | None:
        ch = chr(code)
        if not self.ignore_case:
            return ch
        return ch.lower() if ch.isascii() else None

    def finite(self, op: Any, av: Any) -> set[str] | None:
        c = self.c
        if op is c.LITERAL:
            ch = self.char(av)
            return None if ch is None else {ch}
        if op is c.IN:
            out: set[str] = set()
            for iop, iav in av:
                ch = self.char(iav) if iop is c.LITERAL else None
                if ch is None:
                    return None
                out.add(ch)
            return out
        if op is c.SUBPATTERN:
            _, add, remove, sub = av
            if (add | remove) & (re.IGNORECASE | re.ASCII | re.LOCALE):
                return None
            return self.finite_sequence(list(sub.data))
        if op is c.BRANCH:
            out = set()
            for alt in av[1]:
                lang = self.finite_sequence(list(alt.data))
                if lang is None:
                    return None
                out |= lang
            return out if len(out) <= _MAX_STRINGS else None
        if op in (c.MAX_REPEAT, c.MIN_REPEAT, c.POSSESSIVE_REPEAT):
            lo, hi, sub = av
            if hi > _MAX_REPEAT_EXPANDED:
                return None
            body = self.finite_sequence(list(sub.data))
            if body is None:
                return None
            out = set()
            for k in range(lo, hi + 1):
                for parts in product(body, repeat=k):
                    out.add("".join(parts))
                    if len(out) > _MAX_STRINGS:
                        return None
            return out
        return None

    def finite_sequence(self, items: list[tuple[Any, Any]]) -> set[str] | None:
        out = {""}
        for op, av in items:
            lang = self.finite(op, av)
            if lang is None or len(out) * len(lang) > _MAX_STRINGS:
                return None
            out = {a + b for a in out for b in lang}
        return out

    def prefixes(self, items: list[tuple[Any, Any]]) -> set[str] | None:
        """Strings one of which begins every match of ``items`` (as ``condition`` reads the text:
        folded when ignoring case), None when not known. Zero-width items are passed over."""
        c = self.c
        for k, (op, av) in enumerate(items):
            if op in (c.AT, c.ASSERT, c.ASSERT_NOT):
                continue
            lang = self.finite(op, av)
            if lang is not None:  # the longest run of finite items from here
                for nop, nav in items[k + 1 :]:
                    nxt = self.finite(nop, nav)
                    if nxt is None or len(lang) * len(nxt) > _MAX_STRINGS:
                        break
                    lang = {a + b for a in lang for b in nxt}
                return None if "" in lang else lang
            if op is c.BRANCH:
                out: set[str] = set()
                for alt in av[1]:
                    sub = self.prefixes(list(alt.data))
                    if sub is None:
                        return None
                    out |= sub
                return out
            if op is c.SUBPATTERN and not (av[1] | av[2]) & (re.IGNORECASE | re.ASCII | re.LOCALE):
                return self.prefixes(list(av[3].data))
            if op in (c.MAX_REPEAT, c.MIN_REPEAT, c.POSSESSIVE_REPEAT):
                first = self.prefixes(list(av[2].data))
                if av[0] >= 1 or first is None:
                    return first
                rest = self.prefixes(items[k + 1 :])  # optional: a match begins with it or without it
                return None if rest is None else first | rest
            return None
        return None

    def plain_non_word(self, ch: str) -> bool:
        """Not a letter or digit: it ends a word of the text (``_`` does too, see ``_ALNUM``)."""
        # Ignoring case, a few non-ASCII non-word characters equal letters (U+0345 and iota).
        return not ch.isalnum() and (ch.isascii() or not self.ignore_case)

    # What a neighbour says about the character next to a piece.

    def non_word(self, op: Any, av: Any) -> bool:
        """True when ``op`` always matches at least one character, none a letter or digit."""
        c = self.c
        if op is c.LITERAL:
            return self.plain_non_word(chr(av))
        if op is c.IN:
            for iop, iav in av:
                if iop is c.LITERAL:
                    if not self.plain_non_word(chr(iav)):
                        return False
                elif not (iop is c.CATEGORY and iav in (c.CATEGORY_SPACE, c.CATEGORY_NOT_WORD)):
                    return False
            return bool(av)
        if op in (c.MAX_REPEAT, c.MIN_REPEAT, c.POSSESSIVE_REPEAT):
            lo, _, sub = av
            return lo >= 1 and len(sub.data) == 1 and self.non_word(*sub.data[0])
        return False

    def side(self, items: list[tuple[Any, Any]], i: int, step: int, outer: int) -> int:
        """What is known of the character beside ``items[i]`` towards ``step`` (-1 left, +1 right)."""
        j = i + step
        if j < 0 or j >= len(items):
            return outer
        op, av = items[j]
        c = self.c
        if op is c.AT:
            if av is c.AT_BOUNDARY:
                return _BOUNDARY
            edges = (c.AT_BEGINNING, c.AT_BEGINNING_STRING) if step < 0 else (c.AT_END, c.AT_END_STRING)
            return _EDGE if av in edges else _NONE
        if self.non_word(op, av):
            return _EDGE
        if op in (c.MAX_REPEAT, c.MIN_REPEAT, c.POSSESSIVE_REPEAT) and av[0] == 0 and self.ends_non_word(
            list(av[2].data), step
        ):
            # Optional (``(?:the\s+)?``), and what it puts beside the piece is no letter or digit: the
            # piece is closed on that side when it is also closed without it.
            return self.side(items, j, step, outer)
        return _NONE

    def ends_non_word(self, items: list[tuple[Any, Any]], step: int) -> bool:
        """True when ``items``, matching any characters at all, ends with one that is no letter or
        digit: the last one for ``step`` -1 (they lie left of a piece), else the first."""
        if not items:
            return True
        op, av = items[-1] if step < 0 else items[0]
        if self.non_word(op, av):
            return True
        if op in (self.c.MAX_REPEAT, self.c.MIN_REPEAT, self.c.POSSESSIVE_REPEAT) and av[0] == 0:
            rest = items[:-1] if step < 0 else items[1:]
            return self.ends_non_word(list(av[2].data), step) and self.ends_non_word(rest, step)
        return False

    # Conditions.

    def sequence(self, items: list[tuple[Any, Any]], left: int, right: int) -> Cond:
        conds: list[Cond] = []
        i = 0
        while i < len(items):
            lang = self.finite(*items[i])
            if lang is None:
                conds.append(self.element(items, i, left, right))
                i += 1
                continue
            j = i + 1
            while j < len(items):
                nxt = self.finite(*items[j])
                if nxt is None or len(lang) * len(nxt) > _MAX_STRINGS:
                    break
                lang = {a + b for a in lang for b in nxt}
                j += 1
            before = self.side(items, i, -1, left)
            after = self.side(items, j - 1, +1, right)
            conds.append(_or([self.string(s, before, after) for s in sorted(lang)]))
            i = j
        return _and(conds)

    def element(self, items: list[tuple[Any, Any]], i: int, left: int, right: int) -> Cond:
        c = self.c
        op, av = items[i]
        before = self.side(items, i, -1, left)
        after = self.side(items, i, +1, right)
        if op is c.SUBPATTERN:
            _, add, remove, sub = av
            if (add | remove) & (re.IGNORECASE | re.ASCII | re.LOCALE):
                return _TRUE
            return self.sequence(list(sub.data), before, after)
        if op is c.BRANCH:
            return _or([self.sequence(list(alt.data), before, after) for alt in av[1]])
        if op in (c.MAX_REPEAT, c.MIN_REPEAT, c.POSSESSIVE_REPEAT):
            lo, hi, sub = av
            if lo < 1:
                return _TRUE
            if hi == 1:
                return self.sequence(list(sub.data), before, after)
            return self.sequence(list(sub.data), _NONE, _NONE)
        if op is c.ATOMIC_GROUP:
            return self.sequence(list(av.data), before, after)
        return _TRUE

    def string(self, s: str, before: int, after: int) -> Cond:
        """What a match of the literal ``s`` needs, given what lies before and after it."""
        if not s:
            return _TRUE
        runs = [(m.start(), m.end()) for m in re.finditer(r"\w+", s)]
        needs: list[Cond] = []
        whole = False
        for start, end in runs:
            closed_left = start > 0 or before in (_EDGE, _BOUNDARY)
            closed_right = end < len(s) or after in (_EDGE, _BOUNDARY)
            if closed_left and closed_right and self.words_ok:
                needs.extend(("w", part) for part in _ALNUM.findall(s[start:end]))
            else:
                whole = True
        if whole or (s.strip() and not runs):
            needs.append(("s", s))
        return _and(needs)


# --- the normal form tested per text ------------------------------------------------------------
# Alternatives, each a list of clauses, each clause words and substrings of which one must occur.

Clause = tuple[frozenset[str], tuple[str, ...]]


def _clauses(cond: Cond) -> list[list[Clause]] | None:
    """``cond`` as alternatives of clauses; None when it needs nothing."""
    if cond is _TRUE:
        return None
    kind = cond[0]
    if kind == "w":
        return [[(frozenset({cond[1]}), ())]]
    if kind == "s":
        return [[(frozenset(), (cond[1],))]]
    if kind == "|":
        alts: list[list[Clause]] = []
        for part in cond[1]:
            sub = _clauses(part)
            if sub is None:
                return None
            alts.extend(sub)
        return alts
    alt: list[Clause] = []
    for part in cond[1]:
        sub = _clauses(part)
        if sub is None:
            continue
        if len(sub) == 1:
            alt.extend(sub[0])
        else:  # an or inside an and: each alternative weakened to its best clause, then merged
            best = [min(a, key=_cost) for a in sub]
            alt.append(
                (
                    frozenset().union(*(b[0] for b in best)),
                    tuple(dict.fromkeys(s for b in best for s in b[1])),
                )
            )
    return [alt] if alt else None


def _cost(clause: Clause) -> tuple[int, int, int]:
    """Lower is a better key: no common word or short substring (``be``, ``use``: in most texts),
    no substring (a scan of the text), long atoms."""
    words, subs = clause
    common = sum(w in _COMMON or len(w) < 3 for w in words)
    common += sum(len(s.strip()) < _SHORT_SUBSTRING or s.strip() in _COMMON for s in subs)
    shortest = min(map(len, (*words, *subs)))
    return common, len(subs), -shortest


class _Test:
    """The derived test. Each alternative has a key, its most selective clause: the text's words
    and substrings that satisfy some key (one set intersection, a few ``in``) name the only
    alternatives worth testing in full. Most texts satisfy no key and are rejected at once."""

    __slots__ = ("alternatives", "by_sub", "by_word", "key_subs", "key_words")

    def __init__(self, alternatives: list[list[Clause]]) -> None:
        self.alternatives = tuple(
            tuple((words, _fewest_substrings(subs)) for words, subs in sorted(alt, key=_cost))
            for alt in alternatives
        )
        by_word: dict[str, list[int]] = {}
        by_sub: dict[str, list[int]] = {}
        for i, alt in enumerate(self.alternatives):
            key_words, key_subs = alt[0]
            for w in key_words:
                by_word.setdefault(w, []).append(i)
            for sub in key_subs:
                by_sub.setdefault(sub, []).append(i)
        self.by_word = {w: tuple(ids) for w, ids in by_word.items()}
        self.key_words = frozenset(by_word)
        # A substring that contains another is found whenever it is: the shorter one stands for it.
        self.key_subs = _fewest_substrings(by_sub)
        merged: dict[str, list[int]] = {sub: [] for sub in self.key_subs}
        for sub, ids in by_sub.items():
            merged[next(r for r in self.key_subs if r in sub)].extend(ids)
        self.by_sub = tuple((sub, tuple(ids)) for sub, ids in merged.items())

    def __call__(self, text: str, words: set[str] | frozenset[str]) -> bool:
        if self.key_words.isdisjoint(words) and not any(map(text.__contains__, self.key_subs)):
            return False
        return self.passes(text, words)

    def passes(self, text: str, words: set[str] | frozenset[str]) -> bool:
        """The alternatives whose key the text satisfies, in full."""
        candidates: list[int] = []
        for w in self.key_words.intersection(words):
            candidates.extend(self.by_word[w])
        for sub, ids in self.by_sub:
            if sub in text:
                candidates.extend(ids)
        alternatives = self.alternatives
        for i in candidates:
            for clause_words, clause_subs in alternatives[i][1:]:
                if clause_words.isdisjoint(words) and not any(map(text.__contains__, clause_subs)):
                    break
            else:
                return True
        return False


def _fewest_substrings(subs: Iterable[str]) -> tuple[str, ...]:
    """Substrings of which one must occur, without those that contain another (implied by it)."""
    unique = list(dict.fromkeys(subs))
    return tuple(s for s in unique if not any(o != s and o in s for o in unique))


def starts(pattern: re.Pattern[str]) -> re.Pattern[str] | None:
    """A pattern that finds, in the text a screen reads (``fold(text)`` when ``pattern`` ignores
    case, of the same length), the strings one of which begins every match of ``pattern``; None
    when they are not known. No match of ``pattern`` starts before the first of them, and none
    at all where there is none."""
    found = start_strings(pattern)
    return None if found is None else _strings_pattern(found)


def _strings_pattern(strings: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile("|".join(map(re.escape, strings)))


def start_strings(pattern: re.Pattern[str]) -> tuple[str, ...] | None:
    """The strings that ``starts`` finds, longest first; None when they are not known."""
    try:
        deriver = _Deriver(pattern)
        found = deriver.prefixes(list(deriver.tree.data))
    except Exception:  # an unknown parser shape: no shortcut
        return None
    return tuple(sorted(found, key=lambda s: (-len(s), s))) if found else None


def derive(pattern: re.Pattern[str]) -> _Test | None:
    """The test for ``pattern``, or None when nothing is certain to be in its matches."""
    try:
        alternatives = _clauses(_Deriver(pattern).condition())
    except Exception:  # an unknown parser shape: no screen, the pattern still runs
        return None
    return None if alternatives is None else _Test(alternatives)


# --- screens ------------------------------------------------------------------------------------

_ALL: list[Screen] = []
_ALL_BRANCHES: list[Branches] = []


class Screen:
    """A pattern with its screen: ``search`` runs it only where it may match."""

    __slots__ = ("_ignore_case", "_test", "_uses", "pattern")

    def __init__(self, pattern: re.Pattern[str]) -> None:
        self.pattern = pattern
        self._ignore_case = bool(pattern.flags & re.IGNORECASE)
        self._test: _Test | None = None
        self._uses = 0
        _ALL.append(self)

    def prepare(self) -> None:
        if self._uses < DERIVE_AFTER:
            self._uses = DERIVE_AFTER
            self._test = derive(self.pattern)

    def may_match(self, text: ScreenText) -> bool:
        test = self._test
        if test is None:
            if self._uses >= DERIVE_AFTER:
                return True  # derived: nothing to screen on
            self._uses += 1
            if self._uses < DERIVE_AFTER:
                return True
            test = self._test = derive(self.pattern)
            if test is None:
                return True
        return self._passes(test, text)

    def _passes(self, test: _Test, text: ScreenText) -> bool:
        """The fast path of ``test``: most texts hold no key and are turned away here."""
        if self._ignore_case:
            words, screened = text.folded_words, text.folded
        else:
            words, screened = text.words, text.text
        if words is None or screened is None:
            screened, words = text.view(self._ignore_case)
        if test.key_words.isdisjoint(words) and not any(map(screened.__contains__, test.key_subs)):
            return False
        return test.passes(screened, words)

    def search(self, text: ScreenText) -> re.Match[str] | None:
        return self.pattern.search(text.text) if self.may_match(text) else None


def prepare_all() -> None:
    """Derive every screen now (before forking workers, so that each does not derive its own)."""
    for b in list(_ALL_BRANCHES):
        b.prepare()
    for s in _ALL:
        s.prepare()


class ScreenGroup:
    """Screens that always read the same texts, with one first test for all of them.

    The keys of every screen (its words and substrings, of which a text must hold one for the
    screen to pass) are united and each mapped to the screens it keys: one set intersection and
    one C-level run of ``in`` find the keys a text holds, hence the screens worth testing in
    full. Most texts hold none and fail every screen at once.
    """

    __slots__ = ("_bits", "_ignore_case", "_key_subs", "_key_words", "_ready", "_sub_bits", "_word_bits",
                 "screens")

    def __init__(self, screens: Iterable[Screen]) -> None:
        self.screens: Sequence[Screen] = tuple(screens)
        self._ready = False
        self._ignore_case = False
        self._key_words: frozenset[str] = frozenset()
        self._key_subs: tuple[str, ...] = ()
        self._word_bits: dict[str, int] = {}
        self._sub_bits: dict[str, int] = {}
        self._bits: tuple[tuple[int, _Test], ...] = ()

    def _prepare(self) -> bool:
        """True once every screen is derived (and has a test, on the same view) and the keys united."""
        screens = self.screens
        if not all(s._test is not None or s._uses >= DERIVE_AFTER for s in screens):
            return False
        tests = [s._test for s in screens]
        if any(t is None for t in tests) or len({s._ignore_case for s in screens}) != 1:
            return False  # some screen passes every text: no first test for the group
        bits: list[tuple[int, _Test]] = []
        for i, test in enumerate(tests):
            assert test is not None
            bit = 1 << i
            bits.append((bit, test))
            for w in test.key_words:
                self._word_bits[w] = self._word_bits.get(w, 0) | bit
            for sub in test.key_subs:
                self._sub_bits[sub] = self._sub_bits.get(sub, 0) | bit
        self._bits = tuple(bits)
        self._key_words = frozenset(self._word_bits)
        self._key_subs = tuple(self._sub_bits)
        self._ignore_case = screens[0]._ignore_case
        self._ready = True
        return True

    def passing(self, text: ScreenText) -> int:
        """Which screens may match ``text``, as bits (screen ``i``: ``1 << i``); 0, the common answer,
        is found quickest."""
        if not (self._ready or self._prepare()):
            return sum(1 << i for i, s in enumerate(self.screens) if s.may_match(text))
        screened, words = text.view(self._ignore_case)
        keyed = 0  # the screens whose first test the text passes: the others fail
        word_bits = self._word_bits
        for w in self._key_words.intersection(words):
            keyed |= word_bits[w]
        for sub in filter(screened.__contains__, self._key_subs):
            keyed |= self._sub_bits[sub]
        if not keyed:
            return 0
        out = 0
        for bit, test in self._bits:
            if keyed & bit and test.passes(screened, words):
                out |= bit
        return out

    def may_match_all(self, text: ScreenText) -> list[bool]:
        """``[s.may_match(text) for s in self.screens]``."""
        return self.unpack(self.passing(text))

    def unpack(self, bits: int) -> list[bool]:
        """``passing``'s bits as one bool per screen."""
        return [bool(bits >> i & 1) for i in range(len(self.screens))]

    def keys(self) -> tuple[frozenset[str], tuple[str, ...]] | None:
        """The united keys (words, substrings), None before they are known."""
        return (self._key_words, self._key_subs) if self._ready or self._prepare() else None


# --- searching only the alternatives a text may match -------------------------------------------


def split_branches(source: str) -> list[str]:
    """The top-level alternatives of a pattern's source (``A|B|C``), in order.

    An alternative that is one group between a leading ``\\b`` (or nothing) and a rest without
    groups or quantifiers is distributed: ``\\b(?:A|B)\\b`` is ``\\b(?:A)\\b``, ``\\b(?:B)\\b``
    (a named group stays in each). The ordered choice of ``re`` makes that the same pattern:
    ``(?:A|B)S`` tries ``A`` then ``S``, then ``B`` then ``S``. A source this does not understand
    is one alternative.
    """
    out: list[str] = []
    for branch in _split_top(source) or [source]:
        out.extend(_distribute(branch))
    return out


_GROUP_START: Final = re.compile(r"(?:\\b)?\((?:\?:|\?P<\w+>)")


def _distribute(branch: str) -> list[str]:
    m = _GROUP_START.match(branch)
    if m is None:
        return [branch]
    close = _closing(branch, m.end() - 1 - len(m.group()) + m.group().index("("))
    if close is None:
        return [branch]
    suffix = branch[close + 1 :]
    if suffix[:1] in ("?", "*", "+", "{") or any(ch in suffix for ch in "()|"):
        return [branch]
    inner = split_branches(branch[m.end() : close])
    if len(inner) == 1:
        return [branch]
    return [f"{m.group()}{b}){suffix}" for b in inner]


def _scan(source: str) -> list[tuple[int, str]] | None:
    """The positions and characters of ``(``, ``)`` and ``|`` outside escapes and classes."""
    out: list[tuple[int, str]] = []
    i, n = 0, len(source)
    while i < n:
        ch = source[i]
        if ch == "\\":
            i += 2
            continue
        if ch == "[":
            i += 1
            if i < n and source[i] == "^":
                i += 1
            if i < n and source[i] == "]":
                i += 1
            while i < n and source[i] != "]":
                i += 2 if source[i] == "\\" else 1
            if i >= n:
                return None
        elif ch in "()|":
            out.append((i, ch))
        i += 1
    return out


def _split_top(source: str) -> list[str] | None:
    marks = _scan(source)
    if marks is None:
        return None
    depth, start, out = 0, 0, []
    for i, ch in marks:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif depth == 0:
            out.append(source[start:i])
            start = i + 1
    out.append(source[start:])
    return out if depth == 0 else None


def _closing(source: str, open_at: int) -> int | None:
    """The index of the ``)`` that closes the ``(`` at ``open_at``."""
    marks = _scan(source)
    if marks is None:
        return None
    depth = 0
    for i, ch in marks:
        if i < open_at or ch == "|":
            continue
        depth += 1 if ch == "(" else -1
        if depth == 0:
            return i
    return None


class Branches:
    """A pattern whose matches are found with only the alternatives a text may match.

    ``A|B|C`` matches, at each position, with the first alternative that matches there; an
    alternative whose screen fails cannot match anywhere in the text, so leaving it out changes
    no match. One candidate is searched alone; several are searched each, the next match of
    the pattern being the leftmost of theirs (the earliest alternative at equal starts) and each
    searched again from its end, as ``finditer`` does. Matches are those of the whole pattern,
    but a named group exists only in the match of the alternative that holds it.
    """

    __slots__ = ("_branches", "_group", "_ignore_case", "_ready", "_starts", "_strings", "_uses", "pattern")

    def __init__(self, pattern: re.Pattern[str]) -> None:
        self.pattern = pattern
        self._ignore_case = bool(pattern.flags & re.IGNORECASE)
        self._branches: tuple[re.Pattern[str], ...] = ()
        self._starts: tuple[re.Pattern[str] | None, ...] = ()
        self._strings: tuple[tuple[str, ...] | None, ...] = ()
        self._group: ScreenGroup | None = None
        self._ready = False
        self._uses = 0
        _ALL_BRANCHES.append(self)

    def prepare(self) -> None:
        """Split, compile and screen the alternatives (after a few uses: importing pays nothing)."""
        if self._ready:
            return
        self._ready = True
        import re._parser as parser

        pattern = self.pattern
        sources = split_branches(pattern.pattern)
        branches = tuple(re.compile(s, pattern.flags) for s in sources) if len(sources) > 1 else ()
        # No empty matches (finditer steps past those differently): each alternative needs a character.
        if any(parser.parse(b.pattern, b.flags).getwidth()[0] < 1 for b in branches):
            branches = ()
        self._branches = branches
        self._strings = tuple(map(start_strings, branches))
        self._starts = tuple(None if s is None else _strings_pattern(s) for s in self._strings)
        self._group = ScreenGroup(Screen(b) for b in branches) if branches else None
        for screen in self._group.screens if self._group is not None else ():
            screen.prepare()

    def finditer(self, text: ScreenText) -> Iterator[re.Match[str]]:
        """``self.pattern.finditer(text.text)``, up to the named groups (see the class).

        An alternative whose first strings (``starts``) are not in the text is no candidate, and
        one is searched from the first of them: no match starts before it.
        """
        if not self._ready:
            self._uses += 1
            if self._uses < DERIVE_AFTER:
                return self.pattern.finditer(text.text)
            self.prepare()
        group = self._group
        if group is None:
            return self.pattern.finditer(text.text)
        screened: str | None = None
        candidates: list[re.Pattern[str]] = []
        starts: list[_Start] = []
        froms: list[int] = []
        found = zip(self._branches, self._starts, self._strings, group.may_match_all(text), strict=True)
        for branch, pattern, strings, may in found:
            if not may:
                continue
            pos = 0
            start: _Start = pattern
            if pattern is not None and strings is not None:
                if screened is None:
                    screened = text.view(self._ignore_case)[0]
                places = _places(strings, screened)
                if places is not None:
                    if not places:
                        continue
                    start, pos = places, places[0]
                else:
                    first = pattern.search(screened)
                    if first is None:
                        continue
                    pos = first.start()
            candidates.append(branch)
            starts.append(start)
            froms.append(pos)
        if len(candidates) == 1:
            if starts[0] is None:
                return candidates[0].finditer(text.text, froms[0])
            return _each(candidates[0], text.text, starts[0], screened, froms[0])
        if len(candidates) == len(self._branches):
            return self.pattern.finditer(text.text, min(froms))
        return _merged(candidates, text.text, starts, screened, froms)


#: How ``_search`` finds the places where a match may begin: a pattern of the start strings, their
#: places (``_places``), or None (anywhere).
_Start = re.Pattern[str] | list[int] | None
#: At most this many places of start strings are listed (``_places``); more are found as needed.
_MAX_PLACES: Final = 256


def _places(strings: tuple[str, ...], screened: str) -> list[int] | None:
    """Where one of ``strings`` begins in ``screened``, in order (what the pattern of them, ``starts``,
    finds one by one, found by ``str.find``, quicker than a pattern of many strings); None when there
    are more than ``_MAX_PLACES``."""
    out: list[int] = []
    find = screened.find
    for s in strings:
        i = find(s)
        while i != -1:
            out.append(i)
            if len(out) > _MAX_PLACES:
                return None
            i = find(s, i + 1)
    return sorted(set(out)) if len(strings) > 1 else out


def _merged(
    patterns: list[re.Pattern[str]],
    text: str,
    starts: list[_Start],
    screened: str | None,
    froms: list[int],
) -> Iterator[re.Match[str]]:
    """The matches of ``A|B|...`` from those of ``A``, ``B``, ...: none of them empty.

    ``starts``, ``screened``, ``froms``: as ``Branches.finditer`` found them (a start needs ``screened``).
    """
    found = [_search(p, text, start, screened, pos)
             for p, start, pos in zip(patterns, starts, froms, strict=True)]
    while True:
        best: re.Match[str] | None = None
        for m in found:
            if m is not None and (best is None or m.start() < best.start()):
                best = m
        if best is None:
            return
        yield best
        end = best.end()
        for i, m in enumerate(found):
            if m is not None and m.start() < end:
                found[i] = _search(patterns[i], text, starts[i], screened, end)


#: Places where a start string begins that ``_search`` tries one by one before it searches on (a
#: bound for texts full of them; most texts hold far fewer).
_TRIES: Final = 64


def _search(pattern: re.Pattern[str], text: str, start: _Start, screened: str | None, pos: int
            ) -> re.Match[str] | None:
    """``pattern.search(text, pos)``, where every match of ``pattern`` begins with a string that
    ``start`` finds in ``screened`` (``starts``), or at one of its places: it is tried only where
    one does (the first few), which in a long text skips most places."""
    if start is None:
        return pattern.search(text, pos)
    if type(start) is list:
        k = bisect_left(start, pos)
        for place in islice(start, k, k + _TRIES):
            m = pattern.match(text, place)
            if m is not None:
                return m
        return pattern.search(text, start[k + _TRIES]) if k + _TRIES < len(start) else None
    assert isinstance(start, re.Pattern)
    assert screened is not None
    for _ in range(_TRIES):
        first = start.search(screened, pos)
        if first is None:
            return None
        m = pattern.match(text, first.start())
        if m is not None:
            return m
        pos = first.start() + 1
    first = start.search(screened, pos)
    return None if first is None else pattern.search(text, first.start())


def _each(
    pattern: re.Pattern[str], text: str, start: _Start, screened: str | None, pos: int
) -> Iterator[re.Match[str]]:
    """``pattern.finditer(text, pos)`` through ``_search`` (``pattern`` matches no empty string)."""
    while (m := _search(pattern, text, start, screened, pos)) is not None:
        yield m
        pos = m.end()
