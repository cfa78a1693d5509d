"""`show` reads a current SQLite catalog with sqlite3 alone: the same server as the SQLAlchemy path.

The quick reader must give exactly what `catalog.queries.server_detail` gives (the export's
shape), and step aside (None) whenever it cannot be sure: then SQLAlchemy opens, migrates or
explains as before.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from catalog import quickread
from catalog.errors import NotFound
from catalog.export import import_jsonl
from catalog.queries import server_detail
from catalog.store import Catalog


def _classified(label: str, confidence: float, why: str) -> dict[str, Any]:
    return {"label": label, "confidence": confidence, "rationale": [why], "flags": []}


def _server(key: str, name: str, tools: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"key": key, "name": name, "tools": tools, **extra}


SERVERS = [
    _server(
        "github.com/acme/files",
        "files",
        [
            {
                "name": "read_file",
                "description": 'Read a file \u200b\u00e9\U0001f600 "quoted"\nsecond line',
                "input_schema": {"type": "object", "properties": {"path": {"type": "string"}}},
                "annotations": {"readOnlyHint": True},
            },
            {"name": "delete_file", "description": "Delete a file for good."},
            {"name": "untouched", "description": "No classification stored for this one."},
        ],
        title="Acme Files",
        description="Files on disk",
        repository_url="https://github.com/acme/files",
        listings=[
            {
                "source": "official",
                "source_id": "io.github.acme/files",
                "raw": {"name": "files", "n": [1, 2]},
            },
            {"source": "npm", "source_id": "@acme/files", "url": "https://www.npmjs.com/package/@acme/files"},
        ],
        packages=[
            {"registry_type": "npm", "identifier": "@acme/files", "version": "1.0.0", "transport": "stdio"}
        ],
        remotes=[{"transport": "streamable-http", "url": "https://files.acme.dev/mcp"}],
    ),
    _server("github.com/one/mail", "mail", [{"name": "send_mail", "description": "Send a mail."}]),
    _server("github.com/two/mail", "mail", [{"name": "list_mail", "description": "List mail."}]),
    _server("gitlab.com/solo/notes", "notes", []),
]


@pytest.fixture
def catalog_url(tmp_path: Path) -> str:
    """A SQLite catalog with two classifier versions stored, an override, removed tools, no tools."""
    url = f"sqlite:///{tmp_path / 'catalog.db'}"
    source = tmp_path / "in.jsonl"
    source.write_text("".join(json.dumps(s) + "\n" for s in SERVERS))

    def old(records: list[Any]) -> list[dict[str, Any]]:
        return [_classified("Write", 0.5, f"old {r.name}") for r in records]

    def new(records: list[Any]) -> list[dict[str, Any]]:
        return [_classified("Destructive", 0.91, f"new {r.name}") for r in records]

    with Catalog(url) as cat:
        import_jsonl(cat, source)
        hashes = [
            t["definition_hash"] for s in cat.iter_servers() for t in s["tools"] if t["name"] != "untouched"
        ]
        cat.classify_pending(new, "v2", hashes=hashes)  # stored first: lower ids
        cat.classify_pending(old, "v1", hashes=hashes)  # stored last: the newest ids
        cat.set_override("github.com/acme/files", "delete_file", "Write", "only a local cache")
        cat.set_override("github.com/acme/files", "untouched", "Read", "looked at it")
        # one tool changes its definition and one disappears from a complete listing
        changed = dict(
            SERVERS[0],
            tools=[dict(SERVERS[0]["tools"][0], description="Read a file."), SERVERS[0]["tools"][1]],
        )
        source.write_text(json.dumps(changed) + "\n")
        import_jsonl(cat, source)
    return url


@pytest.mark.parametrize("version", ["v1", "v2", "v3", None])
@pytest.mark.parametrize("key", ["github.com/acme/files", "files", "github.com/one/mail", "notes"])
def test_the_quick_reader_gives_what_the_sqlalchemy_path_gives(
    catalog_url: str, key: str, version: str | None
) -> None:
    with Catalog(catalog_url) as cat:
        expected = server_detail(cat.engine, key, version)
    assert quickread.server_detail(catalog_url, key, version) == expected


def test_it_prefers_the_running_version_then_the_newest_and_overrides_win(catalog_url: str) -> None:
    tools = {t["name"]: t for t in quickread.server_detail(catalog_url, "files", "v2")["tools"]}  # type: ignore[index]
    assert sorted(tools) == ["delete_file", "read_file"]  # 'untouched' was removed
    assert tools["read_file"]["classification"] is None  # its changed definition is not classified yet
    assert tools["delete_file"]["classification"]["source"] == "override"
    assert tools["delete_file"]["classification"]["rationale"][1] == "classifier said Destructive (0.91)"
    older = {t["name"]: t for t in quickread.server_detail(catalog_url, "files", "v9")["tools"]}  # type: ignore[index]
    assert older["delete_file"]["classification"]["rationale"][1] == "classifier said Write (0.50)"


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("nothing/here", "no server 'nothing/here' in the catalog"),
        ("mail", "'mail' names several servers: github.com/one/mail, github.com/two/mail"),
    ],
)
def test_unknown_and_ambiguous_servers_are_the_same_errors(catalog_url: str, key: str, message: str) -> None:
    with pytest.raises(NotFound) as quick:
        quickread.server_detail(catalog_url, key, None)
    with Catalog(catalog_url) as cat, pytest.raises(NotFound) as slow:
        server_detail(cat.engine, key, None)
    assert str(quick.value) == str(slow.value) == message


def test_it_steps_aside_when_it_cannot_be_sure(catalog_url: str, tmp_path: Path) -> None:
    path = catalog_url.removeprefix("sqlite:///")
    missing = tmp_path / "missing.db"
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not a database" * 100)
    for url in (
        "postgresql://u:p@127.0.0.1/x",
        "sqlite://",
        "sqlite:///:memory:",
        f"sqlite:///{missing}",
        f"sqlite:///{junk}",
        f"sqlite:///{path}?mode=ro",
    ):
        assert quickread.server_detail(url, "files", None) is None, url
    assert not missing.exists()  # never created by a read
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '0000'")
    assert quickread.server_detail(catalog_url, "files", None) is None  # an older schema: migrate first


def test_show_on_sqlite_loads_neither_sqlalchemy_nor_the_rules(catalog_url: str) -> None:
    script = (
        "import sys\n"
        "from catalog.cli import main\n"
        f"sys.argv = ['mcpcat', 'show', 'files', '--json', '--db', {catalog_url!r}]\n"
        "try:\n    main()\nexcept SystemExit as e:\n    code = e.code\n"
        "print(code, 'sqlalchemy' in sys.modules, 'classifier.rules' in sys.modules, file=sys.stderr)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False)
    assert done.stderr.split() == ["0", "False", "False"]
    assert json.loads(done.stdout)["key"] == "github.com/acme/files"
