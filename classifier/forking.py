"""Run one function over the parts of a batch: the first part here, each other in a forked child.

``fork`` rather than ``multiprocessing``: a child inherits the loaded model, the derived screens
and its part of the input, so nothing is pickled on the way in and no interpreter starts; only
the results come back, pickled through a pipe. Where ``fork`` is missing, or other threads
run, the parts run here one after the other.
"""

from __future__ import annotations

import os
import pickle
import signal
import threading
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from classifier.errors import ClassifierError

__all__ = ["can_fork", "deal", "interleave", "map_forked"]

P = TypeVar("P")
R = TypeVar("R")


def can_fork() -> bool:
    """``fork`` exists and this process runs one thread: a child forked while another thread
    holds a lock (logging, a database driver's) could wait on it forever."""
    return hasattr(os, "fork") and threading.active_count() == 1


def deal(items: Sequence[P], parts: int) -> list[Sequence[P]]:
    """``items`` dealt round-robin into ``parts`` parts (none empty unless ``items`` is): part k
    holds items k, k + parts, k + 2 * parts, ... Unlike consecutive slices, this gives each
    process a fair share of the costly items when they cluster (one server's long
    descriptions, a file sorted by source). ``interleave`` puts results back in order."""
    parts = max(1, min(parts, len(items)))
    return [items[k::parts] for k in range(parts)]


def interleave(results: Sequence[Sequence[R]]) -> list[R]:
    """The inverse of ``deal``: the results of the dealt parts, one per item, in item order."""
    out: list[R] = [None] * sum(map(len, results))  # type: ignore[list-item]  # every slot is filled below
    for k, part in enumerate(results):
        out[k :: len(results)] = part
    return out


def map_forked(fn: Callable[[P], R], parts: Sequence[P]) -> list[R]:
    """``[fn(p) for p in parts]``, the parts after the first each in a forked child, at once.

    If ``fn`` raises, the exception of the first failing part is raised here, after every child
    has ended and been reaped (children still running when this process fails are killed).
    """
    if not parts:
        return []
    if len(parts) == 1 or not can_fork():
        return [fn(p) for p in parts]
    children = [_fork(fn, p) for p in parts[1:]]
    try:
        first = fn(parts[0])
    except BaseException:
        for pid, fd in children:
            os.kill(pid, signal.SIGKILL)
            os.close(fd)
            os.waitpid(pid, 0)
        raise
    results: list[R] = [first]
    failure: BaseException | None = None
    for pid, fd in children:
        ok, got = _receive(fd)
        os.waitpid(pid, 0)
        if not ok:
            failure = failure or got
        results.append(got)
    if failure is not None:
        raise failure
    return results


def _receive(fd: int) -> tuple[bool, Any]:
    with os.fdopen(fd, "rb") as pipe:
        try:
            return pickle.load(pipe)  # type: ignore[no-any-return]  # noqa: S301 -- our own child wrote it
        except EOFError:
            return False, ClassifierError("a worker process ended without its results")


def _fork(fn: Callable[[P], Any], part: P) -> tuple[int, int]:
    """Start a child computing ``fn(part)``; returns its pid and the pipe its result comes through."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid:
        os.close(write_end)
        return pid, read_end
    os.close(read_end)
    status = 0
    try:
        payload: tuple[bool, Any] = (True, fn(part))
    except BaseException as e:  # sent to the parent, which raises it
        payload = (False, e if _picklable(e) else ClassifierError(f"{type(e).__name__}: {e}"))
    try:
        with os.fdopen(write_end, "wb") as pipe:
            pickle.dump(payload, pipe, protocol=pickle.HIGHEST_PROTOCOL)
    except BaseException:
        status = 1
    finally:
        os._exit(status)  # no cleanup of the parent's state: atexit handlers, buffered output


def _picklable(e: BaseException) -> bool:
    try:
        pickle.loads(pickle.dumps(e))  # noqa: S301 -- our own object, round-tripped
    except Exception:
        return False
    return True
