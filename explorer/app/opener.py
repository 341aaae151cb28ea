"""Models opened on a worker thread: a slow file (a large diffusers folder, a scattering bank to
build) never freezes the window, the window's first paint included: the first open imports torch,
on the worker thread, after the window is up."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from PySide6.QtCore import QObject, Signal

from explorer.core.errors import ExplorerError
from explorer.core.lazy import Later
from explorer.core.models import Model
from explorer.core.sampling.trajectory import Trajectory

registry = Later("explorer.core.models.registry")     # torch and every kind: imported by the first open, here


def open_models(paths) -> tuple[Model, ...]:
    """Each of `paths` opened (the two models of an S1/S2 pair)."""
    return tuple(registry.open_model(p) for p in paths)


def read_run(path: str | Path, loaded_sha256: str | None) -> tuple[Trajectory, Model | None, str]:
    """A saved run and the model that made it: (run, None, "") when it is the loaded model's
    (`loaded_sha256`), (run, its maker, "") when its recorded file opens, else (run, None, why)."""
    traj = Trajectory.load_npz(path)
    if loaded_sha256 is not None and traj.meta.get("checkpoint_sha256") == loaded_sha256:
        return traj, None, ""
    try:
        return traj, registry.open_maker(traj.meta), ""
    except ExplorerError as e:
        return traj, None, str(e)


@dataclass(frozen=True)
class OpenRequest:
    """A model asked for: whether it joins the recent files, and what to open if it fails."""
    path: str
    remember: bool
    fallback: str | None
    note: str                 # shown once it is open (what failed before it, settings dropped)


class NewestWins(QObject):
    """Opens one thing at a time off the GUI thread: `fn(arg)`, by default a model from its path
    (the window also reads saved runs and S1/S2 pairs so); the newest request wins (one asked for
    and then replaced by another request is dropped when it arrives). `opened(result, request)` and
    `failed(message, request)` arrive on the GUI thread; `request` is what `open` was given."""

    opened = Signal(object, object)
    failed = Signal(str, object)
    _arrived = Signal(int, object, str, object)          # worker → GUI thread (a queued connection)

    def __init__(self, parent: QObject | None = None, fn: Callable[[object], object] | None = None,
                 opened: Callable | None = None, failed: Callable | None = None):
        super().__init__(parent)
        for signal, slot in ((self.opened, opened), (self.failed, failed)):
            if slot is not None:
                signal.connect(slot)
        self._fn = fn or (lambda path: registry.open_model(path))
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="explorer-open")
        self._ticket = 0
        self._pending = 0
        self.last_error: str | None = None
        self._closed = False
        self._arrived.connect(self._deliver)

    @property
    def busy(self) -> bool:
        return self._pending > 0

    def open(self, arg: object, request: object = None) -> None:
        """Run fn(arg) off the GUI thread (nothing, once closed: the window is going)."""
        if self._closed:
            return
        self._ticket += 1
        self._pending += 1
        self._pool.submit(self._work, self._ticket, arg, request)

    def cancel(self) -> None:
        """The request under way is dropped when it arrives (busy until then)."""
        self._ticket += 1

    def _work(self, ticket: int, arg: object, request: object) -> None:
        try:
            result, error = self._fn(arg), ""
        except ExplorerError as e:
            result, error = None, str(e)
        except Exception as e:                 # a loader's bug must not leave the window waiting forever
            result, error = None, f"explorer failed while opening it ({type(e).__name__}: {e})."
        self._arrived.emit(ticket, result, error, request)

    def _deliver(self, ticket: int, result: object, error: str, request: object) -> None:
        self._pending -= 1
        if ticket != self._ticket:
            return                             # a newer request replaced this one
        self.last_error = error or None
        if result is None:
            self.failed.emit(error, request)
        else:
            self.opened.emit(result, request)

    def close(self) -> None:
        """Drop what is asked for and wait for the job under way: when this returns, the worker
        thread has ended, and nothing arrives after."""
        self._ticket += 1
        self._closed = True
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._arrived.disconnect(self._deliver)
        self._pending = 0
