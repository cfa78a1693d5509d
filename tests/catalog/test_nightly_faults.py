"""`mcpcat nightly` survives faults: SIGKILL at random points, a second run meanwhile, an
unwritable or full export target, and bad input (10 MB description, control characters, a
definition that changes on every crawl). Each run is a subprocess against a small mirror."""

from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.catalog.nightly_support import (
    CONTROL_NAME,
    SmallMirror,
    check_export,
    integrity,
    nightly_cmd,
    nightly_env,
    rows,
    run_nightly,
    smithery_server,
    stored_versions,
    tool,
)

TRIALS = 24


@pytest.fixture
def small(tmp_path: Path) -> Iterator[SmallMirror]:
    mirror = SmallMirror(tmp_path / "mirror")
    yield mirror
    mirror.stop()


def _wait_for(predicate: object, deadline: float) -> bool:
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.005)
    return False


def _locked_by(lock: Path, pid: int) -> bool:
    try:
        return lock.read_text().strip() == str(pid)
    except OSError:
        return False


def test_sigkill_at_random_points_never_corrupts_loses_or_blocks(small: SmallMirror, tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    export = work / "out" / "export"
    lock = work / "catalog.db.nightly.lock"
    rng = random.Random(6)
    started = time.monotonic()
    first = run_nightly(small.mirror, work)
    assert first.code == 0, first.stderr[-2000:]
    manifest = check_export(export)
    versions = stored_versions(work)
    killed_in = {"crawl": 0, "export": 0, "finished": 0}
    for trial in range(TRIALS):
        small.bump()  # every run sees a new definition: there is always something to store
        proc = subprocess.Popen(
            nightly_cmd(small.mirror, work),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=nightly_env(),
            cwd=work,
        )
        deadline = time.monotonic() + 30
        assert _wait_for(lambda p=proc: _locked_by(lock, p.pid) or p.poll() is not None, deadline)
        if trial % 3 == 0:  # aim at the export: its temporary folder appears beside the target
            _wait_for(
                lambda p=proc: any(export.parent.glob(".export.new-*")) or p.poll() is not None, deadline
            )
            time.sleep(rng.uniform(0, 0.01))  # the export of this small mirror lasts a few tens of ms
        else:
            time.sleep(rng.uniform(0, 1.2))
        if proc.poll() is None:
            phase = "export" if any(export.parent.glob(".export.new-*")) else "crawl"
            os.kill(proc.pid, signal.SIGKILL)
        else:
            phase = "finished"
        proc.wait()
        killed_in[phase] += 1
        assert integrity(work) == "ok", trial
        now = stored_versions(work)
        assert versions <= now, f"trial {trial}: lost {versions - now}"
        versions = now
        current = check_export(export)  # the previous set, or the new one: whole either way
        assert current["run_id"] >= manifest["run_id"]
        manifest = current
    last = run_nightly(small.mirror, work, "--json")
    assert last.code == 0, last.stderr[-2000:]
    result = json.loads(last.stdout)
    assert check_export(export)["run_id"] == result["run_id"]
    assert integrity(work) == "ok"
    assert versions <= stored_versions(work)
    assert not list(export.parent.glob(".export.*"))  # what killed runs left is cleared
    assert killed_in["crawl"] >= 5 and killed_in["export"] >= 3, killed_in
    assert time.monotonic() - started < 150


def test_a_second_nightly_meanwhile_is_refused(small: SmallMirror, tmp_path: Path) -> None:
    small.mirror.fault("slow", path="/official/", delay=0.4)
    proc = subprocess.Popen(
        nightly_cmd(small.mirror, tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=nightly_env(),
        cwd=tmp_path,
        text=True,
    )
    try:
        lock = tmp_path / "catalog.db.nightly.lock"
        assert _wait_for(lambda: _locked_by(lock, proc.pid), time.monotonic() + 30)
        second = run_nightly(small.mirror, tmp_path)
        assert second.code == 75
        assert second.stderr.strip().splitlines() == [
            f"error: another mcpcat nightly is running (pid {proc.pid}, lock {lock})"
        ]
        _out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err[-2000:]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert run_nightly(small.mirror, tmp_path).code == 0  # the lock went with the first run


def test_export_target_that_cannot_be_written_fails_in_one_line(
    small: SmallMirror, tmp_path: Path, readonly_dir: Path
) -> None:
    afile = tmp_path / "afile"
    afile.write_text("not a folder")
    for target in (afile / "export", afile, readonly_dir / "export"):
        done = run_nightly(small.mirror, tmp_path, export_dir=target)
        assert done.code == 2, (target, done.stderr[-2000:])
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: cannot write the export"), lines
    assert afile.read_text() == "not a folder"
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    done = run_nightly(small.mirror, tmp_path, export_dir=foreign)
    assert done.code == 2 and "is not an mcpcat export" in done.stderr
    assert (foreign / "notes.txt").read_text() == "mine"


def test_full_disk_keeps_the_previous_export_and_the_catalog(small: SmallMirror, tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(disk)], capture_output=True, check=False
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        export = disk / "export"
        assert run_nightly(small.mirror, tmp_path, export_dir=export).code == 0
        before = check_export(export)
        snapshot = {p.name: p.read_bytes() for p in export.iterdir() if p.is_file()}
        filler = disk / "filler"
        with filler.open("wb") as out:  # fill the disk to the last block
            try:
                while True:
                    out.write(b"\0" * 65536)
                    out.flush()
            except OSError:
                pass
        small.bump()
        done = run_nightly(small.mirror, tmp_path, export_dir=export)
        assert done.code == 2
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and "No space left on device" in lines[0], lines
        assert "the previous export is intact" in lines[0]
        assert check_export(export) == before
        assert {p.name: p.read_bytes() for p in export.iterdir() if p.is_file()} == snapshot
        assert not list(disk.glob(".export.*"))
        gen = f"generation {small.generation}"
        assert rows(tmp_path, f"select count(*) from tool_versions where description like '%{gen}%'") == [
            (1,)
        ]
        filler.unlink()
        again = run_nightly(small.mirror, tmp_path, export_dir=export)
        assert again.code == 0, again.stderr[-2000:]
        assert gen in (export / "catalog.jsonl").read_text("utf-8")
    finally:
        subprocess.run(["umount", str(disk)], check=False)


def test_bad_input_is_stored_and_the_report_stays_readable(small: SmallMirror, tmp_path: Path) -> None:
    huge = "Fetch a page. " + "x" * (10 * 1024 * 1024)
    small.extra = [smithery_server("acme/huge", [tool("fetch", huge)])]
    small.bump()
    assert run_nightly(small.mirror, tmp_path).code == 0
    for n in range(2):
        small.extra = [smithery_server("acme/huge", [tool("fetch", huge + f" v{n}")])]
        small.bump()
        done = run_nightly(small.mirror, tmp_path)
        assert done.code == 0, done.stderr[-2000:]
        assert len(done.stdout) < 100_000  # a 10 MB description is cut in the report
        assert "\x1b" not in done.stdout and "\u202e" not in done.stdout
        assert "acme/huge" in done.stdout
        assert re.search(r"\(10,485,77\d characters, 10,483,77\d to 10,485,77\d compared\)", done.stdout)
        assert re.search(rf"\n +\+  [x v]*{n}\n", done.stdout)  # where the 10 MB texts differ
        assert "generation" in done.stdout  # the definition that changes every crawl
    stored = rows(
        tmp_path,
        "select t.name, count(v.id), max(length(v.description)) from tools t "
        "join tool_versions v on v.tool_id = t.id group by t.id order by t.name",
    )
    by_name = {name: (count, longest) for name, count, longest in stored}
    assert by_name["fetch"][0] == 3 and by_name["fetch"][1] > 10 * 1024 * 1024
    assert by_name["read_file"][0] == 3
    assert by_name[CONTROL_NAME][0] == 1  # stored as it came, shown escaped
    report = json.loads((tmp_path / "out" / "export" / "report.json").read_text("utf-8"))
    assert report["counts"]["definition_changed"] == 2
    assert {c["tool"] for c in report["changes"] if c["kind"] == "definition_changed"} == {
        "fetch",
        "read_file",
    }
    catalog = [json.loads(line) for line in (tmp_path / "out" / "export" / "catalog.jsonl").open()]
    names = {t["name"] for s in catalog for t in s["tools"]}
    assert CONTROL_NAME in names
