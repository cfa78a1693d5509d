"""The README keeps its promises: the two opening commands, and every command documented."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import typer.main

from catalog.cli import app

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text()


def commands() -> dict[str, object]:
    group = typer.main.get_command(app)
    return dict(group.commands)  # type: ignore[attr-defined]


def test_readme_opens_with_the_setup_and_the_test_command() -> None:
    first_block = re.search(r"```bash\n(.*?)```", README, re.S)
    assert first_block is not None and README.index("```bash") < README.index("\n## ")
    lines = first_block.group(1).strip().splitlines()
    assert len(lines) == 2
    assert "pip install -e ." in lines[0] and "mcpcat" in lines[0]
    assert "pytest" in lines[1]
    assert "awk" in (REPO / ".ci/run").read_text()  # CI runs that very line


@pytest.mark.parametrize("name", sorted(commands()))
def test_every_command_has_an_example_and_is_in_the_readme(name: str) -> None:
    command = commands()[name]
    assert "Example:" in (command.help or ""), f"{name}: the docstring needs an 'Example:' line"  # type: ignore[attr-defined]
    assert re.search(rf"^\$ mcpcat {name}\b", README, re.M), f"README shows no '$ mcpcat {name}' example"
