from __future__ import annotations

import random
import re

import pytest

from classifier.tokens import ascii_words, clean, lower_words, name_words, split_name, tool_words, words


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("fetch_playback_progress", ["fetch", "playback", "progress"]),
        ("fetchPlaybackProgress", ["fetch", "playback", "progress"]),
        ("FetchPlaybackProgress", ["fetch", "playback", "progress"]),
        ("fetch-playback_progress", ["fetch", "playback", "progress"]),
        ("github.delete_repo", ["github", "delete", "repo"]),
        ("mcp__github__delete_repo", ["mcp", "github", "delete", "repo"]),
        ("GitHub:create_issue", ["git", "hub", "create", "issue"]),
        ("getHTTPStatus", ["get", "http", "status"]),
        ("list_s3_buckets", ["list", "s3", "buckets"]),
        ("getV2Status", ["get", "v2", "status"]),
        ("API-create-a-comment", ["api", "create", "a", "comment"]),
        ("del\u200bete_\u2060repo\ufeff", ["delete", "repo"]),
        ("🔥nuke_all🔥", ["nuke", "all"]),
        ("删除文件", ["删除文件"]),
        ("удалить_файл", ["удалить", "файл"]),
        ("", []),
        ("___", []),
    ],
)
def test_split_name(name: str, expected: list[str]) -> None:
    assert split_name(name) == expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("mcp__github__delete_repo", ["delete", "repo"]),
        ("github.delete_repo", ["delete", "repo"]),
        ("GitHub:create_issue", ["create", "issue"]),
        ("files/read_file", ["read", "file"]),
        ("plain_name", ["plain", "name"]),
    ],
)
def test_tool_words_drop_the_prefix(name: str, expected: list[str]) -> None:
    assert tool_words(name) == expected


def test_words_of_a_description() -> None:
    expected = ["permanently", "deletes", "it", "cannot", "be", "undone"]
    assert words("Permanently deletes it. Cannot be undone!") == expected
    assert words(None) == []
    assert words("a" * 10 + " tail", limit=5) == ["aaaaa"]


def _fuzzed_names(n: int) -> list[str]:
    rng = random.Random(3)
    pieces = ["get", "s3", "v2", "HTTP", "Status", "_", "__", "___", ".", ":", "/", "-", "12", "0", "a", "B",
              "delete", "Repo", "x1y", "é", "İ", "\u200b", "🔥", "删除", " ", "mcp", "getHTTP", "ec2"]
    return ["".join(rng.choices(pieces, k=rng.randint(0, 7))) for _ in range(n)]


def test_name_words_is_split_name_and_tool_words() -> None:
    """The fast paths of ``name_words`` (plain names, ASCII names) change nothing."""
    names = [*_fuzzed_names(20000), "", "_", "__", "a__", "__a", "a___b", "a_1", "a1", "1a", "a__b__c_d"]
    for name in names:
        assert name_words(name) == (split_name(name), tool_words(name)), name
        all_words, ws = name_words(name)
        assert set(ws) <= set(all_words), name


def test_words_of_ascii_text_are_its_letter_and_digit_runs() -> None:
    rng = random.Random(5)
    chars = [chr(i) for i in range(128)] + ["ab", "Word", "x_y", "12"]
    for _ in range(5000):
        text = "".join(rng.choices(chars, k=rng.randint(0, 30)))
        assert words(text) == re.findall(r"[^\W_]+", text.lower()), text


def test_ascii_words_are_the_ascii_runs_of_lower_case_text() -> None:
    """Each non-ASCII character separates words, so every word is a substring where it begins;
    on ASCII text, the words of ``words``."""
    rng = random.Random(9)
    chars = [chr(i) for i in range(128)] + ["é", "—", "中", "İ", "\u0307", "\u00a0", "ß", "\ud800", "Word"]
    for _ in range(5000):
        text = "".join(rng.choices(chars, k=rng.randint(0, 30))).lower()
        assert ascii_words(text) == re.findall(r"[a-z0-9]+", text), text
        if text.isascii():
            assert ascii_words(text) == words(text), text


def _reference_clean(text: str) -> str:
    """``clean`` as first written: a pattern for the invisible characters, then each format one."""
    import unicodedata

    from classifier.tokens import _INVISIBLE

    if text.isascii():
        return text
    text = _INVISIBLE.sub("", unicodedata.normalize("NFKC", text))
    found = set(re.findall(r"[^\x00-\x7f]", text))
    drop = {ord(ch): None for ch in found if unicodedata.category(ch) == "Cf"}
    return text.translate(drop) if drop else text


def test_clean_is_the_reference() -> None:
    rng = random.Random(11)
    special = [
        "\u00ad", "\u034f", "\u061c", "\u115f", "\u17b4", "\u180e", "\u200b", "\u200d", "\u202e", "\u2060",
        "\u2066", "\u3164", "\ufe0f", "\ufeff", "\uffa0", "\U000e0041", "\U000e0100", "\u0600", "\U0001d173",
        "\ud800", "é", "e\u0301", "ﬁ", "Ⅻ", "①", "İ", "Σ", "删", "🔥", "\xa0", "\u3000", "ｆｕｌｌ",
    ]
    chars = [*special, *(chr(i) for i in range(32, 127)), "\n", "\t"]
    texts = ["".join(rng.choices(chars, k=rng.randint(0, 40))) for _ in range(20000)]
    texts += [chr(i) for i in range(0x110000) if i % 7 == 0 or 0x2000 <= i < 0x2100 or 0xe0000 <= i < 0xe0200]
    for text in texts:
        assert clean(text) == _reference_clean(text), ascii(text)


def test_lower_words_are_the_words_of_lower_case_text() -> None:
    rng = random.Random(13)
    chars = [
        "W\u030a", "\u030a", "İ", "Σ", "ΣΑ", "ﬁ", "ẞ", "\u200b", "é", "E\u0301", "Ⅻ", "ᴬ", "K", "删", "\xa0",
        " ", "_", "-", ".", *(chr(i) for i in range(48, 123)),
    ]
    for _ in range(20000):
        text = "".join(rng.choices(chars, k=rng.randint(0, 30)))
        for lowered in (text.lower(), clean(text).lower()):
            assert lower_words(lowered) == words(lowered), ascii(text)
    long = "Ab" * 3000 + "é"
    assert lower_words(long.lower()) == words(long.lower())
