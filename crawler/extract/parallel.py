"""Parsing a large source tree in worker processes (tree-sitter parsing holds the GIL).

`extract_tree` hands the files of a tree above `PARALLEL_MIN_BYTES` to a process pool of
`MAX_WORKERS` workers that lives as long as this process (started once, on first use; by
`fork` from a single-threaded process, else by `forkserver`: forking a crawler that runs
threads could copy a lock another thread holds). The
files are cut into contiguous runs in walk order, so a file and its folder's neighbours
mostly land in one worker. Each worker reads its run with its own `Project` on the same
root: constants imported from the module beside a file, or another file of a Go package,
are read from disk there exactly as in one process (a neighbour in another run is parsed
twice, never missed). Results come back per file and are put together in walk order, so
the result is the one a single process gives.

A pool that breaks (a worker killed by the OOM killer or a crash in a parser on hostile
input) is dropped, and the tree is read in the calling process instead.
"""

from __future__ import annotations

import atexit
import logging
import multiprocessing
import os
import threading
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from crawler.extract.common import ExtractedTool, ExtractResult, Skipped
from crawler.extract.project import Project

__all__ = ["MAX_WORKERS", "PARALLEL_MIN_BYTES", "PARALLEL_MIN_FILES", "extract_files", "workers_for"]

log = logging.getLogger(__name__)

# Below these a tree is read in-process: handing files to workers costs more than it saves.
PARALLEL_MIN_BYTES = 384 * 1024
PARALLEL_MIN_FILES = 16
MAX_WORKERS = max(1, min(2, int(os.environ.get("MCPCAT_EXTRACT_PROCESSES", "2")), os.cpu_count() or 1))
# Runs handed out per worker: more balance the load, fewer parse shared neighbours less often.
RUNS_PER_WORKER = 4

FileOutcome = tuple[list[ExtractedTool], list[Skipped], int, int]

_pool: ProcessPoolExecutor | None = None
_lock = threading.Lock()


def workers_for(files: int, size: int) -> int:
    """How many processes a tree of `files` source files and `size` bytes is worth."""
    if MAX_WORKERS < 2 or files < PARALLEL_MIN_FILES or size < PARALLEL_MIN_BYTES:
        return 1
    return MAX_WORKERS


def _get_pool() -> ProcessPoolExecutor:
    global _pool
    with _lock:
        if _pool is None:
            _pool = ProcessPoolExecutor(max_workers=MAX_WORKERS, mp_context=_context())
        return _pool


def _context() -> multiprocessing.context.BaseContext:
    """`fork` from a process with one thread (cheap: nothing to import again; the pool's
    workers are all started before its own manager thread), else `forkserver`."""
    methods = multiprocessing.get_all_start_methods()
    if threading.active_count() == 1 and "fork" in methods:
        return multiprocessing.get_context("fork")
    if "forkserver" in methods:
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["crawler.extract"])
        return ctx
    return multiprocessing.get_context("spawn")


def _drop_pool() -> None:
    global _pool
    with _lock:
        pool, _pool = _pool, None
    if pool is not None:
        pool.shutdown(wait=False, cancel_futures=True)


atexit.register(_drop_pool)


def _runs(files: list[tuple[Path, int]], n: int) -> list[list[Path]]:
    """The files (with sizes) in about `n` contiguous runs of about equal bytes, cut only
    where the folder changes: a folder (a Go package, a TS module's neighbours) is never
    split, so its shared lookups are parsed by one worker."""
    target = max(1, sum(size for _, size in files) // n)
    runs: list[list[Path]] = [[]]
    acc = 0
    for path, size in files:
        run = runs[-1]
        if run and acc >= target and run[-1].parent != path.parent:
            runs.append([])
            acc = 0
        runs[-1].append(path)
        acc += size
    return [r for r in runs if r]


def _extract_run(root: str, paths: list[str]) -> tuple[list[FileOutcome], list[Skipped]]:
    """In a worker: each file of one run, read with one Project on `root`."""
    from crawler.extract import extract_file

    project = Project(Path(root))
    out: list[FileOutcome] = []
    for p in paths:
        r = ExtractResult(root=project.root)
        extract_file(project, Path(p), r)
        out.append((r.tools, r.skipped, r.files_scanned, r.bytes_scanned))
    return out, project.skipped


def extract_files(
    root: Path, files: list[tuple[Path, int]], workers: int
) -> tuple[dict[Path, FileOutcome], list[Skipped]] | None:
    """Each file's (path, size) tools, skips and counts (by path), plus the definitions the extractors
    skipped (in run order); None when the pool is unavailable (the caller reads in-process)."""
    runs = _runs(files, max(1, workers) * RUNS_PER_WORKER)
    try:
        pool = _get_pool()
        futures: list[Future[tuple[list[FileOutcome], list[Skipped]]]] = [
            pool.submit(_extract_run, str(root), [str(p) for p in run]) for run in runs
        ]
        outcomes: dict[Path, FileOutcome] = {}
        late: list[Skipped] = []
        for run, future in zip(runs, futures, strict=True):
            per_file, skipped = future.result()
            outcomes.update(zip(run, per_file, strict=True))
            late.extend(skipped)
    except (BrokenProcessPool, OSError, RuntimeError) as e:
        log.warning("extraction workers failed (%s: %s); reading %s in-process", type(e).__name__, e, root)
        _drop_pool()
        return None
    return outcomes, late
