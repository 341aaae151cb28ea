"""The run controller: owns each run's thread and worker from start to deletion.

A run is any core generator of Frames (`model.run(spec)`, the S1/S2 comparison, ...) or of
progress values (`basis.basis_steps`), handed over as a picklable `make_run` (a functools.partial
of a module-level function). It is drained in a process of its own (`run_process`: no Python of
the run holds the window's GIL), which moves each Frame to CPU numpy once; a QThread of the window
receives the messages and emits them; nothing emitted is mutated. Cancel is checked after every
frame, so a run stops within one step.

Signals, in the GUI thread, modelled on napari's thread_worker:
    yielded(frame)            each NumpyFrame, in order
    returned(result, frames)  the generator's return value (a Trajectory of the numpy frames, or
                              whatever else it returns) and every frame
    errored(message, frames)  a message a person can act on, and the frames made before
    aborted(frames)           cancelled: the frames made before
    told(text)                progress of long work between frames (a data set made for the run)
    finished()                always, and always last: the thread has ended and the thread
                              and worker are scheduled for deletion; a new run may start
Exactly one of returned / errored / aborted fires per run, before finished.
"""
from __future__ import annotations

import threading
import time

from PySide6.QtCore import QCoreApplication, QObject, QThread, Signal, Slot

from explorer.app.run_process import POOL, Pool, RunProcess
from explorer.core.sampling.trajectory import Trajectory


class RunWorker(QObject):
    """Receives the messages of `make_run()` from a run process in the thread it lives in; one
    terminal signal, then it moves itself back to the GUI thread (a finished thread runs no
    deleteLater) and quits its thread."""

    yielded = Signal(object)
    returned = Signal(object)
    errored = Signal(str)
    aborted = Signal()
    told = Signal(str)                      # progress of work that yields no frames (`core.interrupt`)

    def __init__(self, make_run, batch: int | None, pool: Pool):
        super().__init__()
        self._make_run = make_run
        self._batch = batch
        self._pool = pool
        self._process: RunProcess | None = None
        self._stop = threading.Event()
        self._received = 0

    def cancel(self) -> None:
        """Thread-safe: the run stops after the step in progress."""
        self._stop.set()
        process = self._process                                   # read once: the worker may let go of it
        if process is not None:
            process.stop.set()

    @property
    def cancelled(self) -> bool:
        return self._stop.is_set()

    @Slot()
    def run(self) -> None:
        signals = {"frame": self._frame, "told": self.told.emit, "returned": self.returned.emit,
                   "errored": self.errored.emit, "aborted": lambda _: self.aborted.emit()}
        process = self._pool.acquire()
        self._process = process
        if self._stop.is_set():                                   # cancelled while the process was found
            process.stop.set()
        try:
            for kind, value in process.run(self._make_run, self._batch):
                signals[kind](value)
        finally:              # back to the GUI thread, where deleteLater() can run, then end this thread
            self._process = None                                  # every frame received: `made` counts them
            self._pool.release(process)
            self.moveToThread(QCoreApplication.instance().thread())
            QThread.currentThread().quit()

    def _frame(self, item) -> None:
        self._received += 1
        self.yielded.emit(item)

    @property
    def made(self) -> int:
        """Frames the run has made so far (read from the GUI thread), received or still on their way."""
        process = self._process
        return max(self._received, process.made.value) if process is not None else self._received


class RunController(QObject):
    """One run at a time; see the module docstring for its signals."""

    yielded = Signal(object)
    returned = Signal(object, list)
    errored = Signal(str, list)
    aborted = Signal(list)
    told = Signal(str)
    finished = Signal()

    def __init__(self, parent=None, pool: Pool = POOL):
        super().__init__(parent)
        self._pool = pool
        self._thread: QThread | None = None
        self._worker: RunWorker | None = None
        self._frames: list = []
        self.total = 0
        self.count = 0                      # frames received in the current (or last) run
        self.started_at = 0.0
        self.ended_at = 0.0
        self.first_at = 0.0                   # when the current run's first frame arrived

    # --- state ----------------------------------------------------------------------------------
    def is_running(self) -> bool:
        """True from start() until finished() has fired."""
        return self._thread is not None

    @property
    def frames_made(self) -> int:
        """Frames the worker has made (ahead of those delivered while signals are queued)."""
        return self._worker.made if self._worker is not None else self.count

    @property
    def elapsed(self) -> float:
        """Seconds since the current run started (or that the last run took)."""
        return (time.perf_counter() if self.is_running() else self.ended_at) - self.started_at

    def progress(self) -> tuple[int, float, float | None]:
        """(frames received, frames per second, seconds left or None when the total is unknown).
        The rate is counted from the first frame on: what comes before it (a pair's training sets
        built, the process's first network) is not the sampler's speed."""
        n = self.count
        since_first = self.elapsed - (self.first_at - self.started_at)
        rate = (n - 1) / max(since_first, 1e-9) if n >= 2 else n / max(self.elapsed, 1e-9)
        left = (self.total - n) / max(rate, 1e-9) if self.total else None
        return n, rate, left

    # --- control --------------------------------------------------------------------------------
    def start(self, make_run, total: int | None = None, batch: int | None = None) -> bool:
        """Run `make_run()` (a generator of Frames; picklable) in a run process; False if a run is in progress."""
        if self.is_running():
            return False
        self._frames = []
        self.total = total or 0
        self.count = 0
        self._thread = QThread(self)
        self._worker = RunWorker(make_run, batch, self._pool)
        self._worker.moveToThread(self._thread)
        self._thread.started.connect(self._worker.run)
        self._worker.yielded.connect(self._on_yielded)
        self._worker.returned.connect(self._on_returned)
        self._worker.errored.connect(self._on_errored)
        self._worker.aborted.connect(self._on_aborted)
        self._worker.told.connect(self.told)
        self._thread.finished.connect(self._on_thread_finished)
        self.started_at = time.perf_counter()
        self._thread.start()
        return True

    def cancel(self) -> None:
        if self._worker is not None:
            self._worker.cancel()

    @property
    def cancelling(self) -> bool:
        """A run is in progress and has been told to stop."""
        return self._worker is not None and self._worker.cancelled

    def stop(self, timeout_ms: int = 30000) -> bool:
        """Cancel and wait for the thread to end (closing the window); True when it has."""
        if self._thread is None:
            return True
        self.cancel()
        return self._thread.wait(timeout_ms)

    # --- worker signals (GUI thread) ---------------------------------------------------------------
    def _on_yielded(self, frame) -> None:
        self._frames.append(frame)
        self.count += 1
        if self.count == 1:
            self.first_at = time.perf_counter()
        self.yielded.emit(frame)

    def _on_returned(self, result) -> None:
        frames = self._frames
        if isinstance(result, Trajectory):
            result = Trajectory(frames=list(frames), meta=result.meta)
        self.returned.emit(result, frames)

    def _on_errored(self, message: str) -> None:
        self.errored.emit(message, self._frames)

    def _on_aborted(self) -> None:
        self.aborted.emit(self._frames)

    def _on_thread_finished(self) -> None:
        thread, worker = self._thread, self._worker
        thread.wait()
        worker.deleteLater()
        thread.deleteLater()
        self._thread = self._worker = None
        self._frames = []
        self.ended_at = time.perf_counter()
        self.finished.emit()
