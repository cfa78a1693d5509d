"""A source tree being read: parsers per language and a cache of parsed modules.

Extractors look constants up in the module beside the one they read (`from .consts import X`,
`import { X } from './constants'`, another file of the same Go package). This class parses
such a module once, on demand, and never follows a path out of the root.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import tree_sitter as ts
import tree_sitter_c_sharp
import tree_sitter_go
import tree_sitter_javascript
import tree_sitter_python
import tree_sitter_typescript

from crawler.extract.common import Skipped

__all__ = ["MAX_FILE_BYTES", "Project", "language_of", "parser_for"]

MAX_FILE_BYTES = 1024 * 1024

_LANGS: dict[str, Callable[[], Any]] = {
    "python": tree_sitter_python.language,
    "typescript": tree_sitter_typescript.language_typescript,
    "tsx": tree_sitter_typescript.language_tsx,
    "javascript": tree_sitter_javascript.language,
    "go": tree_sitter_go.language,
    "csharp": tree_sitter_c_sharp.language,
}
_EXT = {
    ".py": "python",
    ".ts": "typescript",
    ".mts": "typescript",
    ".cts": "typescript",
    ".tsx": "tsx",
    ".js": "javascript",
    ".mjs": "javascript",
    ".cjs": "javascript",
    ".jsx": "javascript",
    ".go": "go",
    ".cs": "csharp",
}
# Parsers per thread: a parser is not to be shared by threads (the crawl extracts in two).
_LOCAL = threading.local()
_LANGUAGES: dict[str, ts.Language] = {}
# Compiled queries by (language, node types): immutable, so shared by every Project.
_QUERIES: dict[tuple[str, tuple[str, ...]], ts.Query] = {}


def language_of(path: Path) -> str | None:
    if path.name.endswith(".d.ts"):
        return None  # declarations only: no values to read
    return _EXT.get(path.suffix.lower())


def ts_language(lang: str) -> ts.Language:
    if lang not in _LANGUAGES:
        _LANGUAGES[lang] = ts.Language(_LANGS[lang]())
    return _LANGUAGES[lang]


def parser_for(lang: str) -> ts.Parser:
    parsers: dict[str, ts.Parser] | None = getattr(_LOCAL, "parsers", None)
    if parsers is None:
        parsers = _LOCAL.parsers = {}
    if lang not in parsers:
        parsers[lang] = ts.Parser(ts_language(lang))
    return parsers[lang]


class Project:
    """The root folder and the modules parsed so far (keyed by resolved path)."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self._modules: dict[Path, Any] = {}
        self.trees: dict[Path, ts.Tree] = {}
        # Per-language indexes built once per tree (e.g. a Go package's constants by folder).
        self.indexes: dict[Any, Any] = {}
        # Definitions an extractor recognised but could not read (a name built at run time).
        self.skipped: list[Skipped] = []

    @staticmethod
    def key(path: Path) -> Path:
        """A cache key: walked paths are already absolute and clean, so resolve() (slow) is rare."""
        return path if path.is_absolute() and ".." not in path.parts else path.resolve()

    def rel(self, path: Path) -> str:
        try:
            return self.key(path).relative_to(self.root).as_posix()
        except ValueError:
            return path.as_posix()

    def inside(self, path: Path) -> bool:
        try:
            path.resolve().relative_to(self.root)
        except (ValueError, OSError):
            return False
        return True

    def module(self, path: Path, build: Callable[[Path, bytes, ts.Tree], Any], lang: str) -> Any | None:
        """The module at `path`, parsed once; None when it is missing, outside the root or too big."""
        key = self.key(path)
        if key in self._modules:
            return self._modules[key]
        mod = None
        if key.is_file() and self.inside(key) and not key.is_symlink():
            try:
                src = key.read_bytes()
            except OSError:
                src = b""
            if src and len(src) <= MAX_FILE_BYTES:
                tree = self.trees.get(key) or parser_for(lang).parse(src)
                self.trees[key] = tree
                mod = build(key, src, tree)
        self._modules[key] = mod
        return mod

    def put(self, path: Path, mod: Any) -> None:
        self._modules[self.key(path)] = mod

    def parse(self, path: Path, src: bytes, lang: str) -> ts.Tree:
        """The tree of a file, parsed once even when a neighbour's lookup parsed it first."""
        key = self.key(path)
        tree = self.trees.get(key)
        if tree is None:
            tree = self.trees[key] = parser_for(lang).parse(src)
        return tree

    def find(self, tree: ts.Tree, lang: str, node_types: tuple[str, ...]) -> list[ts.Node]:
        """Nodes of the given types in source order, found by tree-sitter's C query engine
        (walking every node from Python would cost more than parsing)."""
        query = _QUERIES.get((lang, node_types))
        if query is None:
            pattern = " ".join(f"({t}) @n" for t in node_types)
            query = _QUERIES[(lang, node_types)] = ts.Query(ts_language(lang), pattern)
        nodes = ts.QueryCursor(query).captures(tree.root_node).get("n", [])
        nodes.sort(key=lambda n: (n.start_byte, -n.end_byte))
        return nodes
