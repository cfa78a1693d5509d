"""Fixtures every test area shares: where ../shared is, and a database URL per backend."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("MCPCAT_SHARED", REPO.parent / "shared")).resolve()
CORPUS = SHARED / "corpus" / "dev.jsonl"
MIRROR = SHARED / "mirror"


@pytest.fixture(scope="session")
def corpus_path() -> Path:
    """../shared/corpus/dev.jsonl, or a clean skip where ../shared is absent."""
    if not CORPUS.is_file():
        pytest.skip(f"needs {CORPUS} (../shared is absent)")
    return CORPUS


@pytest.fixture(scope="session")
def mirror_dir() -> Path:
    """../shared/mirror, or a clean skip where ../shared is absent."""
    if not MIRROR.is_dir():
        pytest.skip(f"needs {MIRROR} (../shared is absent)")
    return MIRROR
