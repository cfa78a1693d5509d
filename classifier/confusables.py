"""Unicode findings (F110-F115) and helpers: invisible characters, smuggled text, lookalikes.

Nothing here raises on any ``str``. The lookalike table is a hand-picked subset of Unicode's
confusables (Cyrillic, Greek, Armenian, Cherokee and a few Latin/IPA letters that pass for ASCII);
NFKC already folds fullwidth and mathematical letters (``ａ``, ``𝐚``) to ASCII.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from typing import Final

#: ``add(flag_id, evidence)``: how checks report to ``classifier.flags.find_flags``.
Add = Callable[[str, str], None]

__all__ = [
    "BIDI",
    "HOMOGLYPHS",
    "INVISIBLE",
    "Add",
    "check_name",
    "check_text",
    "decode_tags",
    "decode_variation_selectors",
    "homoglyphs",
    "show",
    "skeleton",
    "strip_invisible",
]

#: Bidi embeddings, overrides and isolates (Trojan Source) plus the implicit marks.
BIDI: Final = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
#: The ones that reorder what follows: embeddings, overrides, isolates.
BIDI_REORDER: Final = frozenset("\u202a\u202b\u202d\u202e\u2066\u2067\u2068")

# Lookalike -> ASCII. Keys are single code points that NFKC leaves alone.
HOMOGLYPHS: Final[dict[str, str]] = {
    # Cyrillic
    "а": "a", "в": "b", "с": "c", "ԁ": "d", "е": "e", "һ": "h", "і": "i", "ј": "j", "к": "k",
    "ӏ": "l", "м": "m", "п": "n", "о": "o", "р": "p", "ԛ": "q", "г": "r", "ѕ": "s", "т": "t",
    "ѵ": "v", "ԝ": "w", "х": "x", "у": "y", "ӡ": "z", "ɡ": "g",
    "А": "A", "В": "B", "С": "C", "Е": "E", "Н": "H", "І": "I", "Ј": "J", "К": "K", "М": "M",
    "О": "O", "Р": "P", "Ѕ": "S", "Т": "T", "Х": "X", "У": "Y", "Ԝ": "W", "Ԛ": "Q", "Ь": "b",
    # Greek
    "α": "a", "ϲ": "c", "ε": "e", "ι": "i", "ϳ": "j", "κ": "k", "ν": "v", "ο": "o", "ρ": "p",
    "τ": "t", "υ": "u", "χ": "x", "γ": "y", "Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H",
    "Ι": "I", "Κ": "K", "Μ": "M", "Ν": "N", "Ο": "O", "Ρ": "P", "Τ": "T", "Υ": "Y", "Χ": "X",
    # Armenian
    "օ": "o", "ս": "u", "հ": "h", "ո": "n", "զ": "q", "ց": "g", "ա": "w", "Ս": "U", "Օ": "O",
    # Cherokee
    "Ꭺ": "A", "Ᏼ": "B", "Ꮯ": "C", "Ꭼ": "E", "Ꮋ": "H", "Ꭻ": "J", "Ꮶ": "K", "Ꮮ": "L", "Ꮇ": "M",
    "Ꮲ": "P", "Ꭲ": "T", "Ꮃ": "W", "Ꮪ": "S", "Ꮓ": "Z", "Ꭰ": "D", "Ꮐ": "G", "Ꮢ": "R", "Ꮩ": "V",
    # Latin and IPA letters outside ASCII
    "ı": "i", "ɩ": "i", "ɑ": "a", "ʏ": "y", "ȷ": "j", "ɪ": "i", "ᴏ": "o", "ᴄ": "c", "ᴠ": "v",
    "ᴡ": "w", "ᴢ": "z", "ꜱ": "s", "ℓ": "l", "ǀ": "l",
}  # fmt: skip

_HOMOGLYPH_TABLE: Final = str.maketrans(HOMOGLYPHS)
#: Any lookalike: most non-ASCII texts (CJK, accented Latin) hold none, and ``translate`` with a
#: table costs a dictionary lookup per character.
_HOMOGLYPH_ANY: Final = re.compile("[" + "".join(map(re.escape, sorted(HOMOGLYPHS))) + "]")

# Default-ignorable and format characters: what a reader does not see.
_INVISIBLE_CLASS: Final = (
    "\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e"
    "\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\U000e0000-\U000e0fff\U0001d173-\U0001d17a"
)
INVISIBLE: Final = re.compile(f"[{_INVISIBLE_CLASS}]")
_INVISIBLE_RUN: Final = re.compile(f"[{_INVISIBLE_CLASS}]+")
_TAGS: Final = re.compile("[\U000e0000-\U000e007f]+")
_ASCII_LETTER: Final = re.compile("[A-Za-z]")
_NON_ASCII: Final = re.compile(r"[^\x00-\x7f]")
_FLAG_TAGS: Final = re.compile("[\U000e0030-\U000e0039\U000e0061-\U000e007a]{2,7}\U000e007f")
_VS_RUN: Final = re.compile("[\ufe00-\ufe0f\U000e0100-\U000e01ef]{2,}")


def strip_invisible(text: str) -> str:
    """Drop invisible characters so that ``ig\\u200bnore`` reads as ``ignore``."""
    return text if text.isascii() else INVISIBLE.sub("", text)


def skeleton(text: str) -> str:
    """NFKC, invisible characters dropped, lookalikes mapped to ASCII (case kept)."""
    if text.isascii():
        return text
    text = unicodedata.normalize("NFKC", strip_invisible(text))
    if text.isascii() or not _HOMOGLYPH_ANY.search(text):
        return text
    return text.translate(_HOMOGLYPH_TABLE)


def homoglyphs(text: str) -> list[tuple[str, str]]:
    """(character, the ASCII letter it passes for) for each lookalike in ``text``, in order."""
    out: list[tuple[str, str]] = []
    if text.isascii():
        return out
    for ch in text:
        if ch.isascii():
            continue
        ascii_ = HOMOGLYPHS.get(ch)
        if ascii_ is None and unicodedata.decomposition(ch).startswith("<"):  # compatibility forms only
            folded = unicodedata.normalize("NFKC", ch)
            if len(folded) == 1 and folded.isascii() and folded.isalnum():
                ascii_ = folded
        if ascii_ is not None:
            out.append((ch, ascii_))
    return out


def decode_tags(text: str) -> str:
    """What runs of Unicode tag characters (U+E0020..E007E mirror ASCII) spell."""
    parts = []
    for m in _TAGS.finditer(text):
        if m.start() and text[m.start() - 1] == "\U0001f3f4" and _FLAG_TAGS.fullmatch(m.group()):
            continue  # a subdivision flag emoji: 🏴 + gbsct + cancel tag
        parts.append("".join(chr(ord(c) - 0xE0000) for c in m.group() if 0xE0020 <= ord(c) <= 0xE007E))
    return " ".join(p for p in parts if p)


def decode_variation_selectors(text: str, *, minimum: int = 4) -> str:
    """Bytes hidden as runs of variation selectors (one byte per selector), as text.

    VS1..16 carry 0..15 and VS17..256 carry 16..255; a run of ``minimum`` or more selectors is
    far beyond what any emoji needs (one VS16 after a symbol).
    """
    out = []
    for m in _VS_RUN.finditer(text):
        run = m.group()
        if len(run) < minimum:
            continue
        data = bytes(
            ord(c) - 0xFE00 if ord(c) <= 0xFE0F else ord(c) - 0xE0100 + 16 for c in run
        )
        out.append(data.decode("utf-8", errors="replace"))
    return " ".join(out)


def invisible_runs(text: str) -> list[tuple[int, str]]:
    """(offset, run) of every run of invisible characters."""
    if text.isascii():
        return []
    return [(m.start(), m.group()) for m in _INVISIBLE_RUN.finditer(text)]


_SPACES: Final = re.compile(r" {2,}")


def show(text: str, limit: int = 120) -> str:
    """A short, printable excerpt: invisible, control and non-printing characters as ``\\uXXXX``."""
    if len(text) < limit and text.isascii() and text.isprintable():
        # Nothing to escape and nothing to cut (the common case, e.g. a parameter name).
        return (_SPACES.sub(" ", text) if "  " in text else text).strip()
    out: list[str] = []
    size = 0
    for ch in text:
        if ch == " " or (ch.isprintable() and not INVISIBLE.match(ch)):
            piece = ch
        elif ch in "\n\r\t":
            piece = " "
        else:
            cp = ord(ch)
            piece = f"\\u{cp:04x}" if cp <= 0xFFFF else f"\\U{cp:08x}"
        out.append(piece)
        size += len(piece)
        if size >= limit:
            out.append("…")
            break
    return _SPACES.sub(" ", "".join(out)).strip()


def check_name(name: str, where: str, add: Add) -> None:
    """F110-F112, F114 on a tool or parameter name."""
    if name.isascii() and name.isprintable():
        return
    bidi = [ch for ch in name if ch in BIDI]
    if bidi:
        add("F111", f"{where} {show(name, 80)} has {_codes(bidi)}")
    hidden = [ch for ch in name if ch not in BIDI and (INVISIBLE.match(ch) or unicodedata.category(ch) in
                                                         ("Cc", "Cf", "Co", "Cn", "Zl", "Zp"))]
    if hidden:
        tags = decode_tags(name)
        spelled = f" spelling '{show(tags, 60)}'" if tags else ""
        add("F110" if tags else "F112", f"{where} {show(name, 80)} has {_codes(hidden)}{spelled}")
    _check_homoglyph_words(name, where, add, name_check=True)


def _codes(chars: Iterable[str]) -> str:
    uniq = list(dict.fromkeys(chars))
    return ", ".join(f"U+{ord(c):04X}" for c in uniq[:5]) + (" …" if len(uniq) > 5 else "")


_RTL = re.compile("[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufeff]")


def check_text(text: str, where: str, add: Add, *, limit: int = 128 * 1024) -> None:
    """F110, F111, F113, F115 on a description; invisible characters are looked for in all of it."""
    if text.isascii():
        return
    runs = _runs(text)  # one pass over the whole text; the rest reads only the runs
    if not runs:
        _check_homoglyph_words(text[:limit], where, add, name_check=False)
        return
    tags = " ".join(t for pos, run in runs if (t := decode_tags(text[pos - 1 : pos] + run)))
    if tags:
        add("F110", f"{where}: tag characters spell '{show(tags, 100)}'")
    hidden_bytes = " ".join(b for _, run in runs if (b := decode_variation_selectors(run)))
    if hidden_bytes:
        add("F110", f"{where}: variation selectors spell '{show(hidden_bytes, 100)}'")
    rtl = _RTL.search(text[:limit]) is not None or _RTL.search(text[-limit:]) is not None
    suspicious = 0
    first = ""
    for start, run in runs:
        for k, ch in enumerate(run[:64]):
            pos = start + k
            if 0xE0000 <= ord(ch) <= 0xE0FFF:
                continue
            if ch in ("\u202d", "\u202e") or (ch in BIDI_REORDER and not rtl):
                add("F111", f"{where}: {show(text[max(0, pos - 30) : pos + 50])}")
                continue
            if _legit_invisible(text, pos, ch, rtl):
                continue
            suspicious += 1
            first = first or show(text[max(0, pos - 30) : pos + 40])
    if suspicious:
        add("F113", f"{where}: {suspicious} invisible character(s), first at: {first}")
    _check_homoglyph_words(text[:limit], where, add, name_check=False)


def _runs(text: str, chunk: int = 1 << 16, most: int = 10_000) -> list[tuple[int, str]]:
    """(offset, run) of invisible runs; ASCII chunks are skipped at C speed (10 MB in milliseconds)."""
    runs: list[tuple[int, str]] = []
    for base in range(0, len(text), chunk):
        piece = text[base : base + chunk + 64]  # overlap: a run across the boundary stays whole
        if piece.isascii():
            continue
        for m in _INVISIBLE_RUN.finditer(piece):
            start = base + m.start()
            if m.start() >= chunk or (runs and start < runs[-1][0] + len(runs[-1][1])):
                continue
            runs.append((start, m.group()))
            if len(runs) >= most:
                return runs
    return runs


def _neighbours(text: str, pos: int) -> tuple[str, str]:
    i, j = pos - 1, pos + 1
    while i >= 0 and pos - i < 16 and INVISIBLE.match(text[i]):
        i -= 1
    while j < len(text) and j - pos < 16 and INVISIBLE.match(text[j]):
        j += 1
    return (text[i] if i >= 0 else " ", text[j] if j < len(text) else " ")


def _legit_invisible(text: str, pos: int, ch: str, rtl: bool) -> bool:
    """Emoji joiners and selectors, joiners in Indic/Arabic script, soft hyphens, marks in RTL text."""
    before, after = _neighbours(text, pos)
    run = 0 < pos < len(text) - 1 and INVISIBLE.match(text[pos + 1]) and INVISIBLE.match(text[pos - 1])
    if run and ch not in "\u200d\ufe0f":
        return False
    if ch in "\ufe0e\ufe0f\u200d":  # emoji presentation / ZWJ sequences
        return not before.isascii() or not after.isascii()
    if ch in "\u200c\u200b\u00ad\u034f" or ch in "\u200e\u200f\u061c":
        if ch in "\u200e\u200f\u061c" and rtl:
            return True
        return not (before.isascii() and after.isascii()) or (ch == "\u00ad" and before.isalpha())
    if ch == "\ufeff":
        return pos == 0
    return False


def _check_homoglyph_words(text: str, where: str, add: Add, *, name_check: bool) -> None:
    """Lookalikes mixed into Latin words (and, in names, whole words of lookalikes)."""
    if text.isascii():
        return
    flag_id = "F114" if name_check else "F115"
    pos = 0
    for _ in range(2000):
        m = _NON_ASCII.search(text, pos)
        if m is None:
            break
        start, end = m.start(), m.end()
        while start > 0 and m.start() - start < 64 and (text[start - 1].isalpha()):
            start -= 1
        while end < len(text) and end - m.end() < 64 and (text[end].isalpha()):
            end += 1
        pos = end
        if end - start < 2:
            continue  # a lone character (a dash, an emoji): no word of two letters
        word = strip_invisible(text[start:end])
        if not name_check and _ASCII_LETTER.search(word) is None:
            continue  # Greek or Russian prose: only Latin words mixed with lookalikes count
        letters = [c for c in word if c.isalpha()]
        if len(letters) < 2:
            continue
        looks = homoglyphs(word)
        looks = [(c, a) for c, a in looks if a.isalpha()]
        if not looks:
            continue
        ascii_letters = sum(c.isascii() for c in letters)
        whole = len(looks) == len(letters) - ascii_letters and ascii_letters == 0 and name_check
        if (ascii_letters and ascii_letters < len(letters)) or (whole and len(letters) >= 3):
            chars = ", ".join(f"U+{ord(c):04X} {unicodedata.name(c, '?')} as '{a}'" for c, a in looks[:3])
            add(flag_id, f"{where}: '{show(word, 40)}' reads as '{skeleton(word)}' ({chars})")
            return
