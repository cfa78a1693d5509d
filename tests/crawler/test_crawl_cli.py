"""`mcpcat crawl` through typer's CliRunner: help and bad arguments (no reactor is started)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from catalog.cli import app


def test_help_lists_the_options() -> None:
    result = CliRunner().invoke(app, ["crawl", "--help"])
    assert result.exit_code == 0
    for option in ("--source", "--limit", "--base-url", "--db", "--json", "--full", "--setting"):
        assert option in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--source", "nosuch"], "error: unknown source 'nosuch' (known: "),
        (["--source", "official", "--base-url", "official"], "error: --base-url must look like NAME=VALUE"),
        (["--source", "official", "--setting", "=1"], "error: --setting must look like NAME=VALUE"),
        (["--source", "official", "--base-url", "official=file:///etc/passwd"], "not an http(s) URL"),
        (["--source", "official", "--source", "official"], "given twice"),
        (["--limit", "0"], "error: --limit must be at least 1"),
    ],
)
def test_bad_arguments_are_one_line_and_exit_2(args: list[str], message: str, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["crawl", "--db", f"sqlite:///{tmp_path / 'c.db'}", *args])
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert not (tmp_path / "c.db").exists()  # nothing was started
