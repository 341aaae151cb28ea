"""The run controller: owns each run's thread and worker from start to deletion.

A run is any core generator of Frames (`model.run(spec)`, the S1/S2 comparison, ...) or of
progress values (`basis.basis_steps`). The worker drains it in a QThread, moves each Frame to CPU
numpy once (read-only) and emits it;
nothing emitted is mutated. Cancel is checked after every frame, so a run stops within one step.

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

import os
import threading
import time
import traceback

import torch
from PySide6.QtCore import QCoreApplication, QObject, QThread, Signal, Slot

from explorer.core import interrupt
from explorer.core.errors import ExplorerError
from explorer.core.sampling.trajectory import Trajectory


def out_of_memory_message(exc: BaseException, batch: int | None) -> str | None:
    """The message for a CUDA out-of-memory error, or None if exc is not one."""
    oom = isinstance(exc, torch.cuda.OutOfMemoryError) or (isinstance(exc, RuntimeError) and "out of memory" in str(exc))
    if not oom:
        return None
    return (f"The GPU ran out of memory{f' at batch {batch}' if batch else ''}. "
            "Try a smaller batch, or choose the CPU as device.")


class RunWorker(QObject):
    """Drains `make_run()` in the thread it lives in; one terminal signal, then it moves itself
    back to the GUI thread (a finished thread runs no deleteLater) and quits its thread."""

    yielded = Signal(object)
    returned = Signal(object)
    errored = Signal(str)
    aborted = Signal()
    told = Signal(str)                      # progress of work that yields no frames (`core.interrupt`)

    def __init__(self, make_run, batch: int | None, threads: int):
        super().__init__()
        self._make_run = make_run
        self._batch = batch
        self._threads = threads
        self._stop = threading.Event()
        self.made = 0                       # frames made so far (read from the GUI thread)

    def cancel(self) -> None:
        """Thread-safe: the run stops after the step in progress."""
        self._stop.set()

    @property
    def cancelled(self) -> bool:
        return self._stop.is_set()

    @Slot()
    def run(self) -> None:
        torch.set_num_threads(self._threads)
        try:
            with interrupt.hooks(self._stop, self.told.emit):      # long work between frames stops too
                run = self._make_run()
                while not self._stop.is_set():
                    try:
                        frame = next(run)
                    except StopIteration as stop:
                        self.returned.emit(stop.value)
                        return
                    frame = frame.to_numpy() if hasattr(frame, "to_numpy") else frame    # a Frame, or progress
                    self.made += 1
                    self.yielded.emit(frame)
                run.close()
            self.aborted.emit()
        except interrupt.Cancelled:
            self.aborted.emit()
        except ExplorerError as e:
            self.errored.emit(str(e))
        except Exception as e:                                    # noqa: BLE001 - shown to the user
            traceback.print_exc()
            self.errored.emit(out_of_memory_message(e, self._batch) or f"The run failed: {type(e).__name__}: {e}")
        finally:              # back to the GUI thread, where deleteLater() can run, then end this thread
            self.moveToThread(QCoreApplication.instance().thread())
            QThread.currentThread().quit()


class RunController(QObject):
    """One run at a time; see the module docstring for its signals."""

    yielded = Signal(object)
    returned = Signal(object, list)
    errored = Signal(str, list)
    aborted = Signal(list)
    told = Signal(str)
    finished = Signal()

    def __init__(self, parent=None, threads: int | None = None):
        super().__init__(parent)
        self._threads = threads or max(1, (os.cpu_count() or 2) - 1)    # leave one core for the GUI
        self._thread: QThread | None = None
        self._worker: RunWorker | None = None
        self._frames: list = []
        self.total = 0
        self.count = 0                      # frames received in the current (or last) run
        self.started_at = 0.0
        self.ended_at = 0.0

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
        """(frames received, frames per second, seconds left or None when the total is unknown)."""
        n = self.count
        rate = n / max(self.elapsed, 1e-9)
        left = (self.total - n) / max(rate, 1e-9) if self.total else None
        return n, rate, left

    # --- control --------------------------------------------------------------------------------
    def start(self, make_run, total: int | None = None, batch: int | None = None) -> bool:
        """Run `make_run()` (a generator of Frames) in a new thread; False if a run is in progress."""
        if self.is_running():
            return False
        self._frames = []
        self.total = total or 0
        self.count = 0
        self._thread = QThread(self)
        self._worker = RunWorker(make_run, batch, self._threads)
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
