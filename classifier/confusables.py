"""Unicode helpers for the security findings: invisible characters, smuggled text, lookalikes.

Nothing here raises on any ``str``. The lookalike table is a hand-picked subset of Unicode's
confusables (Cyrillic, Greek, Armenian, Cherokee and a few Latin/IPA letters that pass for ASCII);
NFKC already folds fullwidth and mathematical letters (``ａ``, ``𝐚``) to ASCII.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Final

__all__ = [
    "BIDI",
    "HOMOGLYPHS",
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

# Default-ignorable and format characters: what a reader does not see.
_INVISIBLE_CLASS: Final = (
    "\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e"
    "\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\U000e0000-\U000e0fff\U0001d173-\U0001d17a"
)
INVISIBLE: Final = re.compile(f"[{_INVISIBLE_CLASS}]")
_INVISIBLE_RUN: Final = re.compile(f"[{_INVISIBLE_CLASS}]+")
_TAGS: Final = re.compile("[\U000e0000-\U000e007f]+")
_VS_RUN: Final = re.compile("[\ufe00-\ufe0f\U000e0100-\U000e01ef]{2,}")


def strip_invisible(text: str) -> str:
    """Drop invisible characters so that ``ig\\u200bnore`` reads as ``ignore``."""
    return text if text.isascii() else INVISIBLE.sub("", text)


def skeleton(text: str) -> str:
    """NFKC, invisible characters dropped, lookalikes mapped to ASCII (case kept)."""
    if text.isascii():
        return text
    text = unicodedata.normalize("NFKC", strip_invisible(text))
    if text.isascii():
        return text
    return "".join(HOMOGLYPHS.get(ch, ch) for ch in text)


def homoglyphs(text: str) -> list[tuple[str, str]]:
    """(character, the ASCII letter it passes for) for each lookalike in ``text``, in order."""
    out: list[tuple[str, str]] = []
    if text.isascii():
        return out
    for ch in text:
        if ch.isascii():
            continue
        ascii_ = HOMOGLYPHS.get(ch)
        if ascii_ is None:
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


def show(text: str, limit: int = 120) -> str:
    """A short, printable excerpt: invisible, control and non-printing characters as ``\\uXXXX``."""
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
    return re.sub(r" {2,}", " ", "".join(out)).strip()
