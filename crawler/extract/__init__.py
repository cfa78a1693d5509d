"""Static extraction of MCP tool definitions from a source tree (parsed, never run).

`extract_tree(path)` walks a folder, picks source files by extension, skips what is not the
server's own source (dependencies, build output, tests, minified bundles, files over 1 MB)
and hands each file to its language's extractor. A file that cannot be read or parsed is
recorded in `ExtractResult.skipped` with a reason and the walk goes on.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import tree_sitter as ts

from crawler.extract.common import ExtractedTool, ExtractResult, Skipped, Unresolved
from crawler.extract.csharp import extract_csharp
from crawler.extract.go import extract_go
from crawler.extract.project import MAX_FILE_BYTES, Project, language_of
from crawler.extract.python import extract_python
from crawler.extract.typescript import extract_typescript

__all__ = ["ExtractResult", "ExtractedTool", "Skipped", "Unresolved", "extract_file", "extract_tree"]

Extractor = Callable[[Project, Path, bytes, ts.Tree], list[ExtractedTool]]

_EXTRACTORS: dict[str, Extractor] = {
    "python": extract_python,
    "typescript": extract_typescript,
    "tsx": extract_typescript,
    "javascript": extract_typescript,
    "go": extract_go,
    "csharp": extract_csharp,
}

# Folders that hold dependencies, build output, tests or fixtures, not the server's declarations.
SKIP_DIRS = frozenset(
    {
        ".git", ".hg", ".svn", "node_modules", "vendor", "third_party", "dist", "build", "out",
        ".next", ".turbo", "coverage", "__pycache__", ".venv", "venv", ".tox", "site-packages",
        "test", "tests", "__tests__", "__mocks__", "testdata", "testing", "fixtures", "e2e",
        "bin", "obj", "examples", "example", "docs", "benchmarks",
    }
)  # fmt: skip
_TEST_FILE = re.compile(r"(^test_.*\.py$|_test\.(py|go)$|\.(test|spec)\.[cm]?[jt]sx?$|Tests?\.cs$)")
# Cheap text markers: a file without any cannot declare a tool, so it is not parsed at all.
_TEST_DIR = re.compile(r"(^|[-_.])(tests?|specs?|mocks?|fixtures?)($|[-_.])", re.I)
_MARKER = re.compile(rb"[Tt]ool")
_MINIFIED_LINE = 2000


def _minified(src: bytes) -> bool:
    """A bundle or minified file: very long lines (real source wraps long before 2,000 bytes)."""
    lines = src.count(b"\n") + 1
    return len(src) / lines > 300 or any(len(line) > _MINIFIED_LINE * 5 for line in src.split(b"\n", 50)[:50])


def extract_file(project: Project, path: Path, result: ExtractResult, src: bytes | None = None) -> None:
    lang = language_of(path)
    if lang is None:
        return
    rel = project.rel(path)
    if src is None:
        try:
            src = path.read_bytes()
        except OSError as e:
            result.skipped.append(Skipped(rel, f"unreadable: {e.strerror or e}"))
            return
    result.files_scanned += 1
    result.bytes_scanned += len(src)
    if not _MARKER.search(src):
        return
    if lang in ("javascript", "typescript", "tsx") and _minified(src):
        result.skipped.append(Skipped(rel, "minified or bundled code"))
        return
    tree = project.parse(path, src, lang)
    if tree.root_node.has_error:
        errors = _count_errors(tree.root_node)
        if errors > 50:
            result.skipped.append(Skipped(rel, f"does not parse as {lang} (over 50 syntax errors)"))
            return
        # Tree-sitter recovers around errors: what parsed is still read, and the file is noted.
        result.skipped.append(
            Skipped(rel, f"partly unparseable as {lang} ({errors} syntax errors); the rest was read")
        )
    try:
        tools = _EXTRACTORS[lang](project, path, src, tree)
    except RecursionError:
        result.skipped.append(Skipped(rel, "nesting too deep to read"))
        return
    result.tools.extend(tools)


def _count_errors(root: ts.Node) -> int:
    n, stack = 0, [root]
    while stack and n <= 50:
        node = stack.pop()
        if node.is_error or node.is_missing:
            n += 1
        elif node.has_error:
            stack.extend(node.children)
    return n


def _walk(
    project: Project, include_tests: bool, keep_dirs: frozenset[str]
) -> Iterator[Skipped | tuple[Path, int]]:
    """The source files under the root in a fixed order (sorted, depth first) with their
    sizes, and the files left out by the walk itself (symlinks, too large)."""
    skip = (
        SKIP_DIRS - ({"test", "tests", "__tests__", "testing", "e2e"} if include_tests else set()) - keep_dirs
    )
    for dirpath, dirnames, filenames in os.walk(project.root):
        dirnames[:] = sorted(
            d
            for d in dirnames
            if d not in skip and not d.startswith(".") and (include_tests or not _TEST_DIR.search(d))
        )
        for fname in sorted(filenames):
            if language_of(Path(fname)) is None:
                continue
            fpath = Path(dirpath, fname)
            if not include_tests and _TEST_FILE.search(fname):
                continue
            if fpath.is_symlink():
                yield Skipped(project.rel(fpath), "symlink not followed")
                continue
            try:
                size = fpath.stat().st_size
            except OSError:
                continue
            if size > MAX_FILE_BYTES:
                yield Skipped(project.rel(fpath), f"larger than {MAX_FILE_BYTES} bytes")
                continue
            yield fpath, size


def extract_tree(
    path: Path | str,
    *,
    include_tests: bool = False,
    keep_dirs: frozenset[str] = frozenset(),
    workers: int | None = None,
) -> ExtractResult:
    """Every tool declared in the source under `path` (a folder or one file).

    `keep_dirs` are folder names read although SKIP_DIRS has them (a package archive's
    `dist/` or `build/` is the only code it ships). A large tree is parsed by `workers`
    processes (default: `parallel.workers_for` its size, 2 at most; 1 keeps it in this
    process); the result is the same, in the same order, as in one process."""
    from crawler.extract import parallel

    root = Path(path)
    project = Project(root if root.is_dir() else root.parent)
    result = ExtractResult(root=project.root)
    if root.is_file():
        extract_file(project, root, result)
        result.skipped.extend(project.skipped)
        return result
    items = list(_walk(project, include_tests, keep_dirs))
    files = [it for it in items if isinstance(it, tuple)]
    n = parallel.workers_for(len(files), sum(size for _, size in files)) if workers is None else workers
    per_file = parallel.extract_files(project.root, files, n) if n > 1 else None
    if per_file is None:  # in this process (small tree, or the pool is unavailable)
        for it in items:
            if isinstance(it, Skipped):
                result.skipped.append(it)
            else:
                extract_file(project, it[0], result)
        result.skipped.extend(project.skipped)
        return result
    outcomes, late = per_file
    for it in items:
        if isinstance(it, Skipped):
            result.skipped.append(it)
            continue
        tools, skipped, scanned, size = outcomes[it[0]]
        result.tools.extend(tools)
        result.skipped.extend(skipped)
        result.files_scanned += scanned
        result.bytes_scanned += size
    result.skipped.extend(late)
    return result
