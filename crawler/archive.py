"""Safe download and unpacking of source archives (GitHub tarballs, npm tarballs, PyPI sdists).

An archive comes from a stranger, so nothing in it is trusted:

- the download is streamed and stops at `Limits.max_download_bytes` (a lying or missing
  Content-Length changes nothing: bytes are counted as they arrive);
- unpacking writes only regular files and directories. Symlinks, hard links, devices and
  fifos are skipped (recorded with a reason), so no later write can be redirected outside
  the tree. A member named with an absolute path or a `..` component refuses the whole
  archive (`UnsafeArchive`): such a name has no innocent use;
- bytes unpacked are counted while decompressing, never taken from headers alone, and
  capped in total, per file and as a ratio to the compressed size (zip bombs);
- the number of members is capped before anything is written where the format allows it
  (zip's central directory) and while iterating otherwise (tar);
- nothing is executed, and file modes from the archive are ignored (0644 / 0755).
"""

from __future__ import annotations

import os
import shutil
import tarfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO
from urllib.parse import quote

import httpx

from crawler.errors import ArchiveTooLarge, CorruptArchive, DownloadError, UnsafeArchive

__all__ = [
    "Limits",
    "UnpackResult",
    "download",
    "fetch_and_unpack",
    "github_tarball_url",
    "npm_tarball_url",
    "pypi_sdist_url",
    "safe_member_path",
    "unpack",
]

MB = 1024 * 1024
_CHUNK = 64 * 1024


@dataclass(frozen=True, slots=True)
class Limits:
    """Caps for one archive. The defaults fit a large monorepo's source, not its history."""

    max_download_bytes: int = 200 * MB
    max_unpacked_bytes: int = 1024 * MB
    max_file_bytes: int = 100 * MB
    max_files: int = 60_000
    # Unpacked bytes per compressed byte. Source compresses 4-10x; a zip bomb 1000x and more.
    max_ratio: float = 100.0
    # Below this many unpacked bytes the ratio is not checked (tiny archives compress oddly).
    ratio_floor_bytes: int = 4 * MB
    timeout: float = 60.0


@dataclass(slots=True)
class UnpackResult:
    """Where an archive went: `root` is the single top folder when there is one."""

    dest: Path
    root: Path
    files: int = 0
    bytes: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)


def github_tarball_url(
    owner: str, repo: str, ref: str = "HEAD", *, base: str = "https://api.github.com"
) -> str:
    """The tarball of a repository at a ref (a commit, tag or branch); GitHub redirects to codeload."""
    return f"{base.rstrip('/')}/repos/{quote(owner)}/{quote(repo)}/tarball/{quote(ref)}"


def npm_tarball_url(name: str, version: str, *, base: str = "https://registry.npmjs.org") -> str:
    """`@scope/pkg` 1.2.3 -> <base>/@scope/pkg/-/pkg-1.2.3.tgz (the registry's fixed layout)."""
    leaf = name.rsplit("/", 1)[-1]
    return f"{base.rstrip('/')}/{name}/-/{leaf}-{version}.tgz"


def pypi_sdist_url(
    name: str,
    version: str | None = None,
    *,
    base: str = "https://pypi.org",
    client: httpx.Client | None = None,
) -> str:
    """Ask PyPI's JSON API for the sdist of a release (the latest without a version)."""
    path = f"/pypi/{quote(name)}/json" if version is None else f"/pypi/{quote(name)}/{quote(version)}/json"
    own = client is None
    c = client or httpx.Client(timeout=30.0, follow_redirects=True)
    try:
        resp = c.get(base.rstrip("/") + path)
        if resp.status_code != 200:
            raise DownloadError(f"PyPI answered {resp.status_code} for {name} {version or ''}".strip())
        for f in resp.json().get("urls", []):
            if f.get("packagetype") == "sdist" and isinstance(f.get("url"), str):
                return str(f["url"])
    except httpx.HTTPError as e:
        raise DownloadError(f"PyPI lookup of {name} failed: {e}") from e
    finally:
        if own:
            c.close()
    raise DownloadError(f"{name} {version or ''} has no sdist on PyPI".strip())


def download(
    url: str, dest: Path, *, limits: Limits | None = None, client: httpx.Client | None = None
) -> Path:
    """Stream `url` into the file `dest`, stopping at the download cap. Returns `dest`."""
    lim = limits or Limits()
    own = client is None
    c = client or httpx.Client(timeout=lim.timeout, follow_redirects=True, max_redirects=5)
    received = 0
    try:
        with c.stream("GET", url) as resp:
            if resp.status_code != 200:
                raise DownloadError(f"GET {url} answered {resp.status_code}")
            declared = resp.headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > lim.max_download_bytes:
                raise ArchiveTooLarge(
                    f"{url} declares {int(declared)} bytes, over the cap of {lim.max_download_bytes}"
                )
            with open(dest, "wb") as out:
                for chunk in resp.iter_raw(_CHUNK):
                    received += len(chunk)
                    if received > lim.max_download_bytes:
                        raise ArchiveTooLarge(
                            f"{url} sent more than the cap of {lim.max_download_bytes} bytes"
                        )
                    out.write(chunk)
    except httpx.HTTPError as e:
        dest.unlink(missing_ok=True)
        raise DownloadError(f"GET {url} failed: {type(e).__name__}: {e}") from e
    except BaseException:
        dest.unlink(missing_ok=True)
        raise
    finally:
        if own:
            c.close()
    return dest


def safe_member_path(name: str) -> PurePosixPath | None:
    """The relative path a member may be written to; None for an empty name (`./`).

    Raises UnsafeArchive for an absolute path, a drive letter, a `..` component or a NUL.
    Backslashes count as separators, so `..\\x` is caught as well.
    """
    if "\x00" in name:
        raise UnsafeArchive(f"member name contains NUL: {name!r}")
    norm = name.replace("\\", "/")
    if norm.startswith("/") or (len(norm) > 1 and norm[1] == ":"):
        raise UnsafeArchive(f"member has an absolute path: {name!r}")
    parts = [p for p in norm.split("/") if p not in ("", ".")]
    if any(p == ".." for p in parts):
        raise UnsafeArchive(f"member path leaves the tree: {name!r}")
    return PurePosixPath(*parts) if parts else None


class _Budget:
    """Counts files and bytes across one archive and raises when a cap is hit."""

    def __init__(self, limits: Limits, compressed_size: int) -> None:
        self.limits = limits
        self.compressed = max(compressed_size, 1)
        self.files = 0
        self.bytes = 0

    def add_file(self, name: str, declared_size: int) -> None:
        self.files += 1
        if self.files > self.limits.max_files:
            raise ArchiveTooLarge(f"more than {self.limits.max_files} files")
        if declared_size > self.limits.max_file_bytes:
            raise ArchiveTooLarge(
                f"member {name!r} declares {declared_size} bytes, over the per-file cap"
                f" of {self.limits.max_file_bytes}"
            )
        if self.bytes + declared_size > self.limits.max_unpacked_bytes:
            raise ArchiveTooLarge(f"unpacking {name!r} would pass {self.limits.max_unpacked_bytes} bytes")

    def add_bytes(self, name: str, n: int, file_bytes: int) -> None:
        self.bytes += n
        lim = self.limits
        if file_bytes > lim.max_file_bytes:
            raise ArchiveTooLarge(f"member {name!r} unpacks past the per-file cap of {lim.max_file_bytes}")
        if self.bytes > lim.max_unpacked_bytes:
            raise ArchiveTooLarge(f"archive unpacks past {lim.max_unpacked_bytes} bytes")
        if self.bytes > lim.ratio_floor_bytes and self.bytes / self.compressed > lim.max_ratio:
            raise ArchiveTooLarge(
                f"archive unpacks to more than {lim.max_ratio:g} times its compressed size"
                f" ({self.compressed} bytes): a decompression bomb?"
            )


def _write(dest: Path, rel: PurePosixPath, src: IO[bytes], budget: _Budget, name: str) -> None:
    target = dest.joinpath(*rel.parts)
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o755)
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(target, flags, 0o644)
    written = 0
    with os.fdopen(fd, "wb") as out:
        while chunk := src.read(_CHUNK):
            written += len(chunk)
            budget.add_bytes(name, len(chunk), written)
            out.write(chunk)


def _tar_members(tf: tarfile.TarFile) -> Iterator[tarfile.TarInfo]:
    try:
        yield from tf
    except (tarfile.TarError, EOFError, OSError) as e:
        raise CorruptArchive(f"tar archive is truncated or corrupt: {e}") from e


def _unpack_tar(path: Path, dest: Path, budget: _Budget, result: UnpackResult) -> None:
    try:
        # Stream mode reads members one by one: the file count cap acts before a huge index is built.
        tf = tarfile.open(path, mode="r|*")  # noqa: SIM115 - closed by the `with` below
    except (tarfile.TarError, OSError) as e:
        raise CorruptArchive(f"not a readable tar archive: {e}") from e
    with tf:
        for m in _tar_members(tf):
            rel = safe_member_path(m.name)
            if rel is None:
                continue
            if m.isdir():
                dest.joinpath(*rel.parts).mkdir(parents=True, exist_ok=True, mode=0o755)
                continue
            if not m.isreg():
                kind = "symlink" if m.issym() else "hard link" if m.islnk() else "device or fifo"
                result.skipped.append((m.name, f"{kind} skipped"))
                continue
            budget.add_file(m.name, m.size)
            try:
                fobj = tf.extractfile(m)
                if fobj is None:
                    continue
                _write(dest, rel, fobj, budget, m.name)
            except (tarfile.TarError, EOFError, OSError) as e:
                raise CorruptArchive(f"tar archive is truncated or corrupt at {m.name!r}: {e}") from e


def _unpack_zip(path: Path, dest: Path, budget: _Budget, result: UnpackResult) -> None:
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as e:
        raise CorruptArchive(f"not a readable zip archive: {e}") from e
    with zf:
        infos = zf.infolist()
        if len(infos) > budget.limits.max_files:
            raise ArchiveTooLarge(
                f"zip lists {len(infos)} members, over the cap of {budget.limits.max_files}"
            )
        for info in infos:
            rel = safe_member_path(info.filename)
            if rel is None:
                continue
            if info.is_dir():
                dest.joinpath(*rel.parts).mkdir(parents=True, exist_ok=True, mode=0o755)
                continue
            mode = (info.external_attr >> 16) & 0o170000
            if mode and mode != 0o100000:  # a symlink or anything other than a regular file
                result.skipped.append((info.filename, "not a regular file, skipped"))
                continue
            budget.add_file(info.filename, info.file_size)
            try:
                with zf.open(info) as fobj:
                    _write(dest, rel, fobj, budget, info.filename)
            except (zipfile.BadZipFile, EOFError, OSError, NotImplementedError) as e:
                raise CorruptArchive(f"zip member {info.filename!r} is unreadable: {e}") from e


def unpack(archive: Path, dest: Path, *, limits: Limits | None = None) -> UnpackResult:
    """Unpack a tar (plain, gz, bz2, xz) or zip file into the empty or new folder `dest`.

    On any error the partly written `dest` is removed, so a refused archive leaves nothing.
    """
    lim = limits or Limits()
    try:
        size = archive.stat().st_size
    except OSError as e:
        raise CorruptArchive(f"cannot read {archive}: {e}") from e
    dest.mkdir(parents=True, exist_ok=True)
    budget = _Budget(lim, size)
    result = UnpackResult(dest=dest, root=dest)
    try:
        if zipfile.is_zipfile(archive):
            _unpack_zip(archive, dest, budget, result)
        else:
            _unpack_tar(archive, dest, budget, result)
    except BaseException:
        shutil.rmtree(dest, ignore_errors=True)
        raise
    result.files, result.bytes = budget.files, budget.bytes
    entries = list(dest.iterdir())
    if len(entries) == 1 and entries[0].is_dir():
        result.root = entries[0]
    return result


def fetch_and_unpack(
    url: str, workdir: Path, *, limits: Limits | None = None, client: httpx.Client | None = None
) -> UnpackResult:
    """Download `url` into `workdir` and unpack it into `workdir/src`; the download is then removed."""
    workdir.mkdir(parents=True, exist_ok=True)
    tmp = workdir / "archive.download"
    download(url, tmp, limits=limits, client=client)
    try:
        return unpack(tmp, workdir / "src", limits=limits)
    finally:
        tmp.unlink(missing_ok=True)
