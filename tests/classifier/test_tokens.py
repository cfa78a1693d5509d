from __future__ import annotations

import pytest

from classifier.tokens import split_name, tool_words, words


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
