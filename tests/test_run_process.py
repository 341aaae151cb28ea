"""Runs drained in a process of their own (explorer.app.run_process): what arrives, in order;
cancel; a child that dies; networks sent once; a job that cannot travel. The jobs are module-level
functions: a job travels to the child by pickle."""
import os
import signal
import threading
import time
from functools import partial

import pytest
import torch

from explorer.app.run_process import Pool
from explorer.core import interrupt
from explorer.core.errors import DataError


@pytest.fixture(scope="module")
def pool():
    p = Pool(threads=1)
    yield p
    p.close()


def counting(n, fail_at=None, told_at=None, pause=0.0):
    """Yields (pid, k) for k < n; tells a progress line at `told_at`; an ExplorerError at `fail_at`."""
    for k in range(n):
        if k == told_at:
            interrupt.check("making a data set")
        if k == fail_at:
            raise DataError(f"no data at step {k}")
        time.sleep(pause)
        yield os.getpid(), k
    return "all done"


def long_work():
    """Work between frames that only `interrupt.check` can stop."""
    yield "first"
    while True:
        interrupt.check()
        time.sleep(0.01)


def unsendable_frame():
    """A frame that cannot be pickled, then more work: the job must end at the frame."""
    yield 0
    yield threading.Lock()
    yield 2
    return "never"


def network_ids(net):
    """The child's identity of `net` and its first weight."""
    yield id(net), float(next(net.parameters()).detach().flatten()[0])
    return None


def run(pool, job):
    p = pool.acquire()
    try:
        return list(p.run(job)), p
    finally:
        pool.release(p)


def test_a_job_runs_in_another_process_and_its_messages_arrive_in_order(pool):
    messages, _ = run(pool, partial(counting, 3, told_at=1))
    kinds = [m[0] for m in messages]
    assert kinds == ["frame", "told", "frame", "frame", "returned"]
    frames = [m[1] for m in messages if m[0] == "frame"]
    assert [k for _, k in frames] == [0, 1, 2]
    assert {pid for pid, _ in frames} != {os.getpid()}          # not this process
    assert messages[1] == ("told", "making a data set") and messages[-1] == ("returned", "all done")


def test_an_explorer_error_ends_the_run_with_its_message_and_the_process_serves_the_next(pool):
    messages, _ = run(pool, partial(counting, 5, fail_at=2))
    assert [m[0] for m in messages] == ["frame", "frame", "errored"]
    assert messages[-1][1] == "no data at step 2"
    assert run(pool, partial(counting, 2))[0][-1] == ("returned", "all done")


def test_cancel_stops_after_the_step_in_progress_and_long_work_at_its_next_check(pool):
    p = pool.acquire()
    try:
        got = []
        for kind, value in p.run(partial(counting, 1000, pause=0.01)):
            got.append(kind)
            if len(got) == 3:
                p.stop.set()
        assert got[-1] == "aborted" and got.count("frame") <= 5
    finally:
        pool.release(p)
    p = pool.acquire()                            # acquire clears the stop of the last run
    try:
        t0 = time.perf_counter()
        kinds = []
        for kind, _ in p.run(long_work):
            kinds.append(kind)
            p.stop.set()
        assert kinds == ["frame", "aborted"] and time.perf_counter() - t0 < 5
    finally:
        pool.release(p)


def test_a_child_that_dies_ends_its_run_with_a_message_and_a_new_one_serves_the_next(pool):
    p = pool.acquire()
    messages = []
    try:
        for kind, value in p.run(partial(counting, 1000, pause=0.01)):
            messages.append((kind, value))
            if len(messages) == 2:
                os.kill(p.process.pid, signal.SIGKILL)
    finally:
        pool.release(p)
    assert messages[-1][0] == "errored" and "ended unexpectedly" in messages[-1][1] and "-9" in messages[-1][1]
    messages, q = run(pool, partial(counting, 2))
    assert q is not p and messages[-1] == ("returned", "all done")


def test_a_network_travels_once_and_stays_in_the_child_while_jobs_use_it(pool):
    net = torch.nn.Linear(3, 2)
    p = pool.acquire()
    try:
        first = list(p.run(partial(network_ids, net)))
        held = set(p._held)
        second = list(p.run(partial(network_ids, net)))
        assert first[0] == second[0]                       # the same object in the child, not a new copy
        assert first[0][1][1] == pytest.approx(float(net.weight.detach().flatten()[0]))
        assert p._held == held and len(held) == 1
        other = torch.nn.Linear(3, 2)
        third = list(p.run(partial(network_ids, other)))
        assert third[0][1][1] == pytest.approx(float(other.weight.detach().flatten()[0])) and p._held.isdisjoint(held)
    finally:
        pool.release(p)


def test_a_job_that_cannot_travel_is_refused_with_a_message(pool):
    messages, p = run(pool, lambda: iter([1]))
    assert [m[0] for m in messages] == ["errored"] and "could not hand this run" in messages[0][1]
    assert run(pool, partial(counting, 1))[0][-1] == ("returned", "all done")        # still serving


def test_a_frame_that_cannot_travel_ends_its_run_and_nothing_of_it_reaches_the_next(pool):
    messages, _ = run(pool, unsendable_frame)
    assert [m[0] for m in messages] == ["frame", "errored"] and "could not be sent" in messages[-1][1]
    messages, _ = run(pool, partial(counting, 2))                # its own messages only, none of the last run's
    assert [m[0] for m in messages] == ["frame", "frame", "returned"] and messages[-1] == ("returned", "all done")
    assert len(pool._all) == len({id(p) for p in pool._all}) and all(p.alive for p in pool._all)   # dead ones dropped
