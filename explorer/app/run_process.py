"""Runs drained in a process of their own, so that no Python of a run holds the window's GIL.

A run in a thread of the window's process shares its interpreter lock: between torch calls its
Python (the sampler loop, module calls) holds the lock while the window waits to paint. Measured
with the same 30 Hz stream of frames: p90 of the event loop's gaps 4.6 ms alone, 9.9 ms beside a
run in a thread, 4.4 ms beside the same run in a process (tests/benchmarks/bench_gui.py).

A `RunProcess` is a spawned child (its own interpreter; no Qt is imported there) that serves one
job at a time. A job is a picklable callable that returns a generator of Frames or progress values
(`functools.partial(run_model, model, spec)`, `partial(compare_run, ...)`), or a value (a
computation too long for the window's thread: `partial(stats.compare_to_summary, ...)`). Its networks (every
torch.nn.Module in it) travel once per child, their tensors by shared memory, and stay there while
jobs use them; a job refers to them by number (`_Packer`). Pickling the shapes model whole took
2.6-104 ms a run (torch's shared-memory handles), the rest of the job 0.04 ms. The child sends
back, in order,

    ("frame", item)           each item, a Frame already as numpy (`to_numpy`)
    ("told", text)            progress of long work between frames (`core.interrupt.check`)
    then exactly one of ("returned", value), ("errored", message), ("aborted", None).

Cancelling sets an event both processes share: the child stops after the step in progress (and
long work at its next `interrupt.check`). A child that dies (killed, out of memory) ends its job
with ("errored", why) and is replaced at the next job. Children are kept in a pool once started
(starting one imports torch: about a second) and ended when the window's process exits.
"""
from __future__ import annotations

import atexit
import io
import itertools
import multiprocessing
import os
import pickle
import threading
import traceback
import weakref
from multiprocessing.reduction import ForkingPickler
from typing import Callable, Generator, Iterator

_CONTEXT = multiprocessing.get_context("spawn")     # fork would copy the window's threads and Qt state


def run_model(model, spec) -> Generator:
    """The window's default run: the model's own run."""
    return model.run(spec)


def out_of_memory_message(exc: BaseException, batch: int | None) -> str | None:
    """The message for a CUDA out-of-memory error, or None if exc is not one."""
    import torch

    oom = isinstance(exc, torch.cuda.OutOfMemoryError) or (isinstance(exc, RuntimeError) and "out of memory" in str(exc))
    if not oom:
        return None
    return (f"The GPU ran out of memory{f' at batch {batch}' if batch else ''}. "
            "Try a smaller batch, or choose the CPU as device.")


def drain(make_run: Callable[[], Generator], stop, tell: Callable[[str], None], batch: int | None) -> Iterator[tuple]:
    """The messages of one job (see the module docstring), made where the job runs."""
    from explorer.core import interrupt
    from explorer.core.errors import ExplorerError
    from explorer.core.sampling.trajectory import Trajectory

    try:
        with interrupt.hooks(stop, tell):
            run = make_run()
            if not isinstance(run, Generator):                    # a plain computation: its value
                yield "returned", run
                return
            while not stop.is_set():
                try:
                    item = next(run)
                except StopIteration as end:
                    value = end.value
                    # the frames have been sent one by one: the trajectory returns with its meta only
                    yield "returned", (Trajectory(frames=[], meta=value.meta) if isinstance(value, Trajectory) else value)
                    return
                yield "frame", item.to_numpy() if hasattr(item, "to_numpy") else item
            run.close()
        yield "aborted", None
    except interrupt.Cancelled:
        yield "aborted", None
    except ExplorerError as e:
        yield "errored", str(e)
    except Exception as e:                                    # noqa: BLE001 - shown to the user
        traceback.print_exc()
        yield "errored", out_of_memory_message(e, batch) or f"The run failed: {type(e).__name__}: {e}"


_NUMBERS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()     # network -> its number, never reused
_COUNTER = itertools.count()


class _Packer(ForkingPickler):
    """Pickles a job with each torch.nn.Module replaced by its number; `new` collects the networks
    the child does not hold yet, `used` every number the job refers to."""

    def __init__(self, file, held: set[int]):
        super().__init__(file)
        self.file, self.held, self.new, self.used = file, held, {}, set()

    def persistent_id(self, obj):
        import torch

        if not isinstance(obj, torch.nn.Module):
            return None
        number = _NUMBERS.get(obj)
        if number is None:
            number = _NUMBERS[obj] = next(_COUNTER)
        if number not in self.held:
            self.new[number] = obj
        self.used.add(number)
        return number


class _Unpacker(pickle.Unpickler):
    def __init__(self, file, networks: dict):
        super().__init__(file)
        self.networks = networks

    def persistent_load(self, number):
        return self.networks[number]


def serve(jobs, results, stop, made, threads: int) -> None:
    """The child's loop: a job (new networks, job bytes, batch) at a time until None arrives or the
    window's process has gone. It keeps the networks of its last job only (the window keeps the same
    count: `RunProcess._held`)."""
    import torch

    torch.set_num_threads(threads)
    networks: dict = {}
    while True:
        try:
            job = jobs.recv()
        except (EOFError, OSError):
            return
        if job is None:
            return
        new, packed, used, batch = job
        networks = {k: v for k, v in {**networks, **new}.items() if k in used}
        try:
            make_run = _Unpacker(io.BytesIO(packed), networks).load()
        except Exception as e:                                    # noqa: BLE001 - shown to the user
            results.send(("errored", f"The sampling process could not read this run ({type(e).__name__}: {e})."))
            continue
        messages = drain(make_run, stop, lambda text: results.send(("told", text)), batch)
        for message in messages:
            if message[0] == "frame":
                made.value += 1                                   # made, though perhaps not yet received
            try:
                results.send(message)
            except (pickle.PicklingError, TypeError, AttributeError) as e:     # a frame or result that cannot travel
                messages.close()                                  # the job ends here: one ending, nothing after it
                results.send(("errored", f"The run's result could not be sent to the window ({e})."))
                break


class RunProcess:
    """One child process and its two pipes; `run(make_run, batch)` from one thread at a time."""

    def __init__(self, threads: int):
        self._held: set[int] = set()          # numbers of the networks the child holds
        self.stop = _CONTEXT.Event()
        self.made = _CONTEXT.Value("q", 0, lock=False)       # frames the child has made in this job
        jobs_end, self._jobs = _CONTEXT.Pipe(duplex=False)             # (reader, writer)
        self._results, results_end = _CONTEXT.Pipe(duplex=False)
        self.process = _CONTEXT.Process(target=serve, args=(jobs_end, results_end, self.stop, self.made, threads),
                                        name="explorer-run", daemon=True)
        self.process.start()
        jobs_end.close()
        results_end.close()

    @property
    def alive(self) -> bool:
        return self.process.is_alive()

    def run(self, make_run: Callable[[], Generator], batch: int | None = None) -> Iterator[tuple]:
        """The job's messages as they arrive (blocking between them, without the GIL). `stop` is
        cleared by `Pool.acquire`, not here: a run cancelled before it was sent stays cancelled."""
        try:
            packer = _Packer(io.BytesIO(), self._held)
            packer.dump(make_run)
            self._jobs.send((packer.new, packer.file.getvalue(), packer.used, batch))
            self._held = packer.used
        except (pickle.PicklingError, TypeError, AttributeError) as e:
            yield "errored", f"explorer could not hand this run to its sampling process ({type(e).__name__}: {e})."
            return
        except OSError:
            yield "errored", self._died()
            return
        while True:
            try:
                kind, value = self._results.recv()
            except (EOFError, OSError):
                yield "errored", self._died()
                return
            yield kind, value
            if kind in ("returned", "errored", "aborted"):
                return

    def _died(self) -> str:
        self.process.join(5)
        code = self.process.exitcode
        why = {-9: " (killed: perhaps out of memory)", -11: " (a crash)"}.get(code, "")
        return (f"The sampling process ended unexpectedly, exit code {code}{why}. The next run starts a new one; "
                "a smaller batch may help.")

    def close(self, timeout: float = 5.0) -> None:
        """End the child: asked first, then terminated."""
        try:
            self._jobs.send(None)
        except OSError:
            pass
        self.process.join(timeout)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(timeout)
        self._jobs.close()
        self._results.close()


class Pool:
    """Children kept for reuse; `acquire` gives an idle live one (starting it if none)."""

    def __init__(self, threads: int | None = None):
        self.threads = threads or max(1, (os.cpu_count() or 2) - 1)    # leave one core for the window
        self._idle: list[RunProcess] = []
        self._all: list[RunProcess] = []
        self._lock = threading.Lock()

    def warm_up(self) -> None:
        """Start a child now (in the background of the window's first seconds), if none is idle."""
        with self._lock:
            if not any(p.alive for p in self._idle):
                self._idle.append(self._start())

    def acquire(self) -> RunProcess:
        with self._lock:
            while self._idle:
                p = self._idle.pop()
                if p.alive:
                    p.stop.clear()
                    p.made.value = 0
                    return p
            return self._start()

    def release(self, p: RunProcess) -> None:
        """Back to the idle ones; a child that died is closed and forgotten (its pipes with it)."""
        with self._lock:
            if p.alive:
                self._idle.append(p)
            else:
                p.close()
                self._all.remove(p)

    def _start(self) -> RunProcess:
        p = RunProcess(self.threads)
        self._all.append(p)
        return p

    def close(self) -> None:
        with self._lock:
            for p in self._all:
                p.close()
            self._all, self._idle = [], []


POOL = Pool()
atexit.register(POOL.close)
