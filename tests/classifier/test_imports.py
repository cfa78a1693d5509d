"""classifier/ imports neither crawler nor catalog, and only inference-safe modules at import."""

from __future__ import annotations

import ast
from pathlib import Path

import classifier

PACKAGE = Path(classifier.__file__).parent


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module.split(".")[0])
    return out


def test_classifier_imports_neither_crawler_nor_catalog() -> None:
    files = sorted(PACKAGE.rglob("*.py"))
    assert files
    for path in files:
        assert not _imports(path) & {"crawler", "catalog"}, path


def test_sklearn_appears_only_in_the_training_module() -> None:
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name != "model.py":
            assert not _imports(path) & {"sklearn", "scipy"}, path
        # numpy: batch scoring only (imported lazily there; one tool is scored in plain Python).
        if path.name not in ("model.py", "scoring.py"):
            assert "numpy" not in _imports(path), path
