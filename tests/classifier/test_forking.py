"""map_forked: parts in forked children, results in order, failures reported, no child left."""

from __future__ import annotations

import os
import threading

import pytest

from classifier.errors import ClassifierError
from classifier.forking import can_fork, deal, interleave, map_forked


@pytest.fixture
def forking() -> None:
    if not can_fork():
        pytest.skip("no os.fork here, or another thread runs in this test process")


def _no_child_left() -> None:
    with pytest.raises(ChildProcessError):
        os.waitpid(-1, os.WNOHANG)


def test_deal_goes_round_robin_and_interleave_puts_results_back_in_order() -> None:
    parts = deal(list(range(10)), 3)
    assert [list(p) for p in parts] == [[0, 3, 6, 9], [1, 4, 7], [2, 5, 8]]
    assert interleave([[x * 10 for x in p] for p in parts]) == [x * 10 for x in range(10)]
    assert deal([1], 4) == [[1]]
    assert deal([], 2) == [[]]
    assert interleave([[]]) == []
    for n in range(1, 12):
        for k in range(1, 5):
            assert interleave(deal(list(range(n)), k)) == list(range(n))


def test_parts_after_the_first_run_in_other_processes_and_come_back_in_order(forking: None) -> None:
    got = map_forked(lambda part: (os.getpid(), [x * x for x in part]), deal(list(range(9)), 3))
    assert [squares for _, squares in got] == [[0, 9, 36], [1, 16, 49], [4, 25, 64]]
    pids = [pid for pid, _ in got]
    assert pids[0] == os.getpid() and len(set(pids)) == 3
    _no_child_left()


def _fail_in(bad: set[int]):  # type: ignore[no-untyped-def]
    def fn(part: list[int]) -> list[int]:
        if bad & set(part):
            raise ValueError(f"bad part starting at {part[0]}")
        return part

    return fn


@pytest.mark.parametrize(("bad", "first"), [({0}, 0), ({4}, 1), ({5, 7}, 1), ({8}, 2)])
def test_the_first_failing_part_is_raised_and_every_child_reaped(
    bad: set[int], first: int, forking: None
) -> None:
    with pytest.raises(ValueError, match=f"starting at {first}$"):
        map_forked(_fail_in(bad), deal(list(range(9)), 3))
    _no_child_left()


def test_a_child_that_dies_without_results_is_an_error(forking: None) -> None:
    def fn(part: list[int]) -> list[int]:
        if part[0] != 0:
            os._exit(3)
        return part

    with pytest.raises(ClassifierError, match="without its results"):
        map_forked(fn, deal(list(range(4)), 2))
    _no_child_left()


def test_with_another_thread_running_nothing_forks() -> None:
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        assert not can_fork()
        got = map_forked(lambda part: os.getpid(), deal(list(range(6)), 3))
        assert got == [os.getpid()] * 3
    finally:
        stop.set()
        thread.join()
