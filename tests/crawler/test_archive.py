"""crawler.archive against hostile archives built here, and downloads from a local HTTP server."""

from __future__ import annotations

import gzip
import http.server
import io
import os
import tarfile
import threading
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest

from crawler.archive import (
    Limits,
    download,
    fetch_and_unpack,
    github_tarball_url,
    npm_tarball_url,
    safe_member_path,
    unpack,
)
from crawler.errors import ArchiveTooLarge, CorruptArchive, DownloadError, UnsafeArchive


def make_tar(path: Path, members: list[tuple[tarfile.TarInfo, bytes | None]], mode: str = "w:gz") -> Path:
    with tarfile.open(path, mode) as tf:
        for info, data in members:
            tf.addfile(info, io.BytesIO(data) if data is not None else None)
    return path


def reg(name: str, data: bytes = b"x") -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    return info, data


def special(name: str, kind: bytes, target: str = "") -> tuple[tarfile.TarInfo, None]:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = target
    return info, None


def test_unpacks_a_normal_tarball_into_its_single_root(tmp_path: Path) -> None:
    arc = make_tar(
        tmp_path / "a.tgz", [reg("repo-abc/src/index.ts", b"export {}\n"), reg("repo-abc/README.md")]
    )
    res = unpack(arc, tmp_path / "out")
    assert res.root == tmp_path / "out" / "repo-abc"
    assert (res.root / "src" / "index.ts").read_bytes() == b"export {}\n"
    assert (res.files, res.skipped) == (2, [])


@pytest.mark.parametrize("name", ["../../etc/cron.d/x", "/etc/passwd", "repo/../../x", "..\\..\\x", "C:/x"])
def test_refuses_paths_that_leave_the_tree(tmp_path: Path, name: str) -> None:
    arc = make_tar(tmp_path / "a.tgz", [reg("repo/ok.txt"), reg(name)])
    with pytest.raises(UnsafeArchive):
        unpack(arc, tmp_path / "out")
    assert not (tmp_path / "out").exists()  # nothing left behind
    assert not (tmp_path.parent / "etc").exists()


def test_skips_links_devices_and_fifos(tmp_path: Path) -> None:
    arc = make_tar(
        tmp_path / "a.tgz",
        [
            reg("repo/a.txt"),
            special("repo/root", tarfile.SYMTYPE, "/"),
            special("repo/up", tarfile.SYMTYPE, "../../.."),
            special("repo/hard", tarfile.LNKTYPE, "/etc/passwd"),
            special("repo/dev", tarfile.CHRTYPE),
            special("repo/fifo", tarfile.FIFOTYPE),
            reg("repo/root/escaped.txt"),  # would land in / if the symlink had been made
        ],
    )
    res = unpack(arc, tmp_path / "out")
    assert sorted(p.name for p in res.root.iterdir()) == ["a.txt", "root"]
    assert (res.root / "root").is_dir() and not (res.root / "root").is_symlink()
    assert [r for _, r in res.skipped] == [
        "symlink skipped",
        "symlink skipped",
        "hard link skipped",
        "device or fifo skipped",
        "device or fifo skipped",
    ]


def test_refuses_a_member_claiming_10_gb_without_writing_it(tmp_path: Path) -> None:
    # A header that claims 10 GB over a tiny body: refused on the header, before any byte is written.
    info = tarfile.TarInfo("repo/huge.bin")
    info.size = 10 * 1024**3
    buf = io.BytesIO()
    buf.write(info.tobuf(format=tarfile.GNU_FORMAT))
    buf.write(b"\0" * 1024)
    arc = tmp_path / "sparse.tar.gz"
    arc.write_bytes(gzip.compress(buf.getvalue()))
    with pytest.raises(ArchiveTooLarge, match="declares"):
        unpack(arc, tmp_path / "out")


def test_refuses_a_zip_bomb_on_the_ratio(tmp_path: Path) -> None:
    arc = tmp_path / "bomb.zip"
    with zipfile.ZipFile(arc, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        zf.writestr("bomb/zeros.txt", b"\0" * (64 * 1024 * 1024))
    assert arc.stat().st_size < 200_000
    t0 = time.perf_counter()
    with pytest.raises(ArchiveTooLarge, match="times its compressed size"):
        unpack(arc, tmp_path / "out")
    assert time.perf_counter() - t0 < 5
    assert not (tmp_path / "out").exists()


def test_refuses_a_gzip_bomb_on_total_bytes(tmp_path: Path) -> None:
    arc = make_tar(tmp_path / "b.tgz", [reg("repo/zeros", b"\0" * (8 * 1024 * 1024))])
    with pytest.raises(ArchiveTooLarge):
        unpack(arc, tmp_path / "out", limits=Limits(max_unpacked_bytes=1024 * 1024))


def test_caps_a_100000_file_tree(tmp_path: Path) -> None:
    # 100,000 tiny members; the cap stops the stream long before the end.
    headers = b"".join(_header(f"t/{i:06d}") for i in range(100_000))
    arc = tmp_path / "many.tar.gz"
    arc.write_bytes(gzip.compress(headers + b"\0" * 1024, compresslevel=1))
    t0 = time.perf_counter()
    with pytest.raises(ArchiveTooLarge, match="more than 1000 files"):
        unpack(arc, tmp_path / "out", limits=Limits(max_files=1000))
    assert time.perf_counter() - t0 < 5


_TEMPLATE = bytearray(tarfile.TarInfo("t/000000").tobuf(format=tarfile.USTAR_FORMAT))


def _header(name: str) -> bytes:
    """A ustar header for an empty file, patched from one template (tarfile is too slow for 100k)."""
    raw = name.encode()
    assert len(raw) == 8
    h = bytearray(_TEMPLATE)
    h[0:8] = raw
    h[148:156] = b" " * 8
    h[148:156] = b"%06o\0 " % sum(h)
    return bytes(h)


def test_caps_zip_member_count_from_the_directory(tmp_path: Path) -> None:
    arc = tmp_path / "many.zip"
    with zipfile.ZipFile(arc, "w") as zf:
        for i in range(2000):
            zf.writestr(f"z/{i}", b"")
    with pytest.raises(ArchiveTooLarge, match="2000 members"):
        unpack(arc, tmp_path / "out", limits=Limits(max_files=1000))


def test_zip_symlink_member_is_skipped(tmp_path: Path) -> None:
    arc = tmp_path / "l.zip"
    with zipfile.ZipFile(arc, "w") as zf:
        link = zipfile.ZipInfo("z/link")
        link.external_attr = 0o120777 << 16
        zf.writestr(link, "/")
        zf.writestr("z/a.py", "x = 1\n")
    res = unpack(arc, tmp_path / "out")
    assert [p.name for p in res.root.iterdir()] == ["a.py"]
    assert res.skipped == [("z/link", "not a regular file, skipped")]


def test_truncated_tarball_is_corrupt(tmp_path: Path) -> None:
    full = make_tar(tmp_path / "a.tgz", [reg("repo/a", os.urandom(200_000)), reg("repo/b", b"z")])
    cut = tmp_path / "cut.tgz"
    cut.write_bytes(full.read_bytes()[:100_000])
    with pytest.raises(CorruptArchive):
        unpack(cut, tmp_path / "out")


def test_garbage_is_corrupt(tmp_path: Path) -> None:
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"this is not an archive" * 10)
    with pytest.raises(CorruptArchive):
        unpack(junk, tmp_path / "out")


def test_safe_member_path() -> None:
    with pytest.raises(UnsafeArchive):
        safe_member_path("a/\x00b")
    assert str(safe_member_path("./a/./b/c.txt")) == "a/b/c.txt"
    assert safe_member_path("./") is None


def test_url_builders() -> None:
    assert github_tarball_url("o", "r", "abc") == "https://api.github.com/repos/o/r/tarball/abc"
    assert npm_tarball_url("@scope/pkg", "1.2.3") == "https://registry.npmjs.org/@scope/pkg/-/pkg-1.2.3.tgz"


# ---- downloads from a real HTTP server on 127.0.0.1 ----


class _Handler(http.server.BaseHTTPRequestHandler):
    routes: ClassVar[dict[str, tuple[int, dict[str, str], bytes]]] = {}

    def do_GET(self) -> None:
        status, headers, body = self.routes.get(self.path, (404, {}, b"missing"))
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        if "Content-Length" not in headers and status != 302:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if status != 302:
            self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture()
def server() -> Iterator[tuple[str, dict[str, tuple[int, dict[str, str], bytes]]]]:
    routes: ClassVar[dict[str, tuple[int, dict[str, str], bytes]]] = {}
    handler = type("H", (_Handler,), {"routes": routes})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", routes
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_download_follows_a_redirect_and_unpacks(tmp_path: Path, server) -> None:
    base, routes = server
    arc = make_tar(tmp_path / "a.tgz", [reg("o-r-abc/server.py", b"print(1)\n")])
    routes["/repos/o/r/tarball/abc"] = (302, {"Location": "/codeload/abc.tgz", "Content-Length": "0"}, b"")
    routes["/codeload/abc.tgz"] = (200, {}, arc.read_bytes())
    res = fetch_and_unpack(github_tarball_url("o", "r", "abc", base=base), tmp_path / "w")
    assert (res.root / "server.py").read_bytes() == b"print(1)\n"
    assert not (tmp_path / "w" / "archive.download").exists()


def test_download_stops_at_the_byte_cap(tmp_path: Path, server) -> None:
    base, routes = server
    routes["/big"] = (200, {}, b"a" * 300_000)
    with pytest.raises(ArchiveTooLarge, match="declares"):
        download(base + "/big", tmp_path / "x", limits=Limits(max_download_bytes=100_000))
    # A server that hides the length is stopped while streaming.
    routes["/chunked"] = (200, {"Content-Length": "10"}, b"a" * 10)
    assert download(base + "/chunked", tmp_path / "y").read_bytes() == b"a" * 10
    assert not (tmp_path / "x").exists()


def test_download_stops_streaming_past_the_cap_without_length(tmp_path: Path) -> None:
    class NoLength(_Handler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Connection", "close")
            self.end_headers()
            for _ in range(50):
                self.wfile.write(b"b" * 10_000)

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), NoLength)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        with pytest.raises(ArchiveTooLarge, match="sent more than"):
            download(
                f"http://127.0.0.1:{httpd.server_address[1]}/",
                tmp_path / "z",
                limits=Limits(max_download_bytes=100_000),
            )
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert not (tmp_path / "z").exists()


def test_download_error_status(tmp_path: Path, server) -> None:
    base, _ = server
    with pytest.raises(DownloadError, match="404"):
        download(base + "/nope", tmp_path / "x")
