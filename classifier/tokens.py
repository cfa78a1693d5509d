"""Split tool names and descriptions into lower-case words.

Names come in every convention: ``snake_case``, ``camelCase``, ``PascalCase``, ``kebab-case``,
dotted (``github.delete_repo``), client-prefixed (``mcp__github__delete_repo``,
``GitHub:create_issue``), with digits and acronyms (``getHTTPStatus`` -> get http status).
Nothing here may raise on odd text: invisible characters are dropped, emoji are separators,
other scripts stay words.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

__all__ = [
    "ASCII_WORD_BYTES", "MAX_TEXT", "ascii_words", "clean", "lower_words", "name_segments", "name_words",
    "split_name", "tool_words", "words",
]

#: Longest description prefix used for features; a 10 MB description costs no more than this.
MAX_TEXT = 4000

_INVISIBLE = re.compile("[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f"
                        "\u202a-\u202e\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\U000e0000-\U000e0fff]")
# Separators between the namespace and the tool: "mcp__gh__x", "gh.x", "GitHub:x", "gh/x".
_SEGMENT = re.compile(r"__|[.:/]")
_CHUNK = re.compile(r"[^\W_]+")
_CAMEL = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+|[^\W\d_A-Za-z]+")
_TEXT_WORD = re.compile(r"[^\W_]+")
#: Each ASCII byte lower-cased, those that are not letters or digits -> space: the words of ASCII
#: text are then what ``str.split`` finds (faster than ``_TEXT_WORD.findall``, and the same). A
#: byte table, because ``bytes.translate`` is one C loop where ``str.translate`` looks every
#: distinct character up in a dict.
ASCII_WORD_BYTES = bytes(ord(chr(i).lower()) if chr(i).isalnum() else 32 for i in range(128)) + bytes(128)
#: A name of lower-case words and numbers joined by ``_`` (most names): each part is one word.
_PLAIN_NAME = re.compile(r"_*(?:(?:[a-z]+|[0-9]+)(?:_+|\Z))*")
#: The commonest plain name: single ``_`` between its parts, none at its ends (a quicker test).
_SNAKE_NAME = re.compile(r"(?:[a-z]+|[0-9]+)(?:_(?:[a-z]+|[0-9]+))*")


#: Every ASCII byte, deleted by ``bytes.translate`` to leave a UTF-8 text's non-ASCII characters.
_ASCII_BYTES = bytes(range(128))


@lru_cache(maxsize=4096)
def _is_dropped(ch: str) -> bool:
    """An invisible (``_INVISIBLE``) or format (``Cf``) character, which ``clean`` drops."""
    return _INVISIBLE.match(ch) is not None or unicodedata.category(ch) == "Cf"


def clean(text: str) -> str:
    """Drop invisible and format characters (zero-width, bidi controls, tag characters).

    All of them are non-ASCII: the distinct non-ASCII characters of the normalised text (its
    UTF-8 bytes less the ASCII ones, which never occur inside a multi-byte character) say which
    to drop, in a few C passes rather than a pattern scan per character."""
    if text.isascii():
        return text
    text = unicodedata.normalize("NFKC", text)
    utf8 = text.encode("utf-8", "surrogatepass")
    rest = utf8.translate(None, _ASCII_BYTES).decode("utf-8", "surrogatepass")
    drop = {ord(ch): None for ch in set(rest) if _is_dropped(ch)}
    return text.translate(drop) if drop else text


@lru_cache(maxsize=65536)
def _camel(chunk: str) -> tuple[str, ...]:
    parts = _CAMEL.findall(chunk)
    out: list[str] = []
    for part in parts:
        # Keep a single letter with its number together: s3, v2, r2, d1.
        if part.isdigit() and out and len(out[-1]) == 1 and out[-1].isalpha():
            out[-1] += part
        else:
            out.append(part.lower())
    return tuple(out)


def split_name(name: str) -> list[str]:
    """All words of a tool name, lower case, in order (namespace words included)."""
    out: list[str] = []
    for chunk in _CHUNK.findall(clean(name)):
        out.extend(_camel(chunk))
    return out


def name_segments(name: str) -> list[list[str]]:
    """Words of each namespace segment: ``mcp__github__delete_repo`` -> [[mcp], [github], [delete, repo]]."""
    segments = [split_name(part) for part in _SEGMENT.split(clean(name))]
    return [s for s in segments if s] or [[]]


def tool_words(name: str) -> list[str]:
    """Words of the tool's own part, after any client or server prefix."""
    return name_segments(name)[-1]


def name_words(name: str) -> tuple[list[str], list[str]]:
    """``(split_name(name), tool_words(name))``, splitting a plain ASCII name only once.

    The segment separators are never inside a word, and ``clean`` leaves ASCII as it is: the
    words of the whole name are the words of its segments, one after the other. In a plain name
    (``_PLAIN_NAME``) the words are the parts between underscores and the only separator is ``__``.
    """
    if _SNAKE_NAME.fullmatch(name):
        ws = name.split("_")
        return ws, ws.copy()
    if _PLAIN_NAME.fullmatch(name):
        if "__" not in name:
            ws = [w for w in name.split("_") if w]
            return ws, ws.copy()
        parts = [[w for w in part.split("_") if w] for part in name.split("__")]
        return [w for s in parts for w in s], next((s for s in reversed(parts) if s), [])
    if not name.isascii():
        return split_name(name), tool_words(name)
    segments = [split_name(part) for part in _SEGMENT.split(name)]
    return [w for s in segments for w in s], next((s for s in reversed(segments) if s), [])


def words(text: str | None, limit: int = MAX_TEXT) -> list[str]:
    """Words of a description, lower case, from its first ``limit`` characters."""
    if not text:
        return []
    text = text[:limit]
    if text.isascii():
        return ascii_words(text)
    return _TEXT_WORD.findall(clean(text).lower())


def lower_words(text: str) -> list[str]:
    """``words(text)`` for a text that is lower case already (``str.lower`` of something): it need
    not be lowered again where ``clean`` leaves it as it is (``lower`` is idempotent)."""
    text = text[:MAX_TEXT]
    if text.isascii():
        return ascii_words(text)
    cleaned = clean(text)
    return _TEXT_WORD.findall(cleaned if cleaned == text else cleaned.lower())


def ascii_words(text: str) -> list[str]:
    """The runs of ASCII letters and digits of ``text``, lower case, any other character a separator:
    ``words(text)`` if ``text`` is ASCII. Each non-ASCII character counts as one separator, so in
    lower-case text each word found is the substring of ``text`` where it begins."""
    return text.encode("ascii", "replace").translate(ASCII_WORD_BYTES).decode("ascii").split()
