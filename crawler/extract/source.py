"""Extract from whatever `mcpcat extract` is given: a folder, a source file, an archive file or URL."""

from __future__ import annotations

import tarfile
import tempfile
import zipfile
from pathlib import Path

from crawler.archive import Limits, fetch_and_unpack, unpack
from crawler.errors import BadArgument
from crawler.extract import extract_tree
from crawler.extract.common import ExtractResult
from crawler.extract.project import language_of

__all__ = ["extract_source"]


def _is_archive(path: Path) -> bool:
    try:
        return zipfile.is_zipfile(path) or tarfile.is_tarfile(path)
    except OSError:
        return False


def extract_source(target: str, *, limits: Limits | None = None) -> ExtractResult:
    """Tools declared in `target`. Archives are unpacked (safely, within `limits`) into a
    temporary folder that is removed afterwards; file names in the result are relative."""
    if target.startswith(("http://", "https://")):
        with tempfile.TemporaryDirectory(prefix="mcpcat-extract-") as tmp:
            res = fetch_and_unpack(target, Path(tmp), limits=limits)
            return extract_tree(res.root)
    path = Path(target)
    if path.is_dir():
        return extract_tree(path)
    if not path.is_file():
        raise BadArgument(f"no such file or folder: {target}")
    if language_of(path) is not None:
        return extract_tree(path)
    if _is_archive(path):
        with tempfile.TemporaryDirectory(prefix="mcpcat-extract-") as tmp:
            res = unpack(path, Path(tmp) / "src", limits=limits)
            return extract_tree(res.root)
    raise BadArgument(f"{target} is neither a folder, a source file nor a tar or zip archive")
