"""Background sampling: a core sampler runs in a QThread and streams frames to the window.

Each Frame is moved to CPU numpy once (read-only) and emitted; nothing emitted is mutated.
Cancel is checked after every frame, so a run stops within one step and keeps what it made.
Errors become a `failed(message)` signal, never an exception in the GUI thread.
"""
from __future__ import annotations

import os
import threading
import time
import traceback

import torch
from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot

from explorer.core.errors import ExplorerError
from explorer.core.trajectory import Trajectory


def out_of_memory_message(exc: BaseException, batch: int | None) -> str | None:
    """The message for a CUDA out-of-memory error, or None if exc is not one."""
    oom = isinstance(exc, torch.cuda.OutOfMemoryError) or (isinstance(exc, RuntimeError) and "out of memory" in str(exc))
    if not oom:
        return None
    return (f"The GPU ran out of memory{f' at batch {batch}' if batch else ''}. "
            "Try a smaller batch, or choose the CPU as device.")


class SamplingWorker(QObject):
    """Drains `make_run()` (a core sampling generator) in its own thread.

    Signals: frame(Frame with numpy arrays); finished(result): a Trajectory of the numpy frames
    when the generator returns a Trajectory, else whatever it returns (the compare run's dict);
    cancelled(Trajectory of the frames made so far); failed(str message, Trajectory so far).
    """

    frame = Signal(object)
    finished = Signal(object)
    cancelled = Signal(object)
    failed = Signal(str, object)

    def __init__(self, make_run, batch: int | None = None, threads: int | None = None):
        super().__init__()
        self._make_run = make_run
        self._batch = batch
        self._stop = threading.Event()
        self._threads = threads or max(1, (os.cpu_count() or 2) - 1)    # leave one core for the GUI
        self.frames: list = []
        self.started_at = 0.0

    def cancel(self) -> None:
        """Thread-safe: the run stops after the step in progress."""
        self._stop.set()

    @property
    def is_cancelled(self) -> bool:
        return self._stop.is_set()

    @Slot()
    def run(self) -> None:
        torch.set_num_threads(self._threads)
        self.started_at = time.perf_counter()
        meta = {}
        try:
            gen = self._make_run()
            while not self._stop.is_set():
                try:
                    f = next(gen)
                except StopIteration as stop:
                    result = stop.value
                    if isinstance(result, Trajectory):
                        result = Trajectory(frames=list(self.frames), meta=result.meta)
                    self.finished.emit(result)
                    return
                f = f.to_numpy()
                self.frames.append(f)
                self.frame.emit(f)
            gen.close()
            self.cancelled.emit(Trajectory(frames=list(self.frames), meta=meta))
        except ExplorerError as e:
            self.failed.emit(str(e), Trajectory(frames=list(self.frames), meta=meta))
        except Exception as e:                                    # noqa: BLE001 - shown to the user
            message = out_of_memory_message(e, self._batch) or f"The run failed: {type(e).__name__}: {e}"
            traceback.print_exc()
            self.failed.emit(message, Trajectory(frames=list(self.frames), meta=meta))


class RunThread(QThread):
    """A QThread that owns one SamplingWorker and starts it when the thread starts."""

    def __init__(self, worker: SamplingWorker, parent=None):
        super().__init__(parent)
        self.worker = worker
        worker.moveToThread(self)
        self.started.connect(worker.run)
        for sig in (worker.finished, worker.cancelled, worker.failed):
            sig.connect(self.quit, Qt.DirectConnection)      # quit from the worker thread, before the GUI hears

    def stop(self, timeout_ms: int = 30000) -> bool:
        """Cancel the run and wait for the thread to end; True when it has."""
        self.worker.cancel()
        self.quit()
        return self.wait(timeout_ms)
