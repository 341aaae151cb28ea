"""Cancelling and following long core work that yields no frames (making a data set by Monte
Carlo, by a solver) from the thread that runs it: whoever runs core work in a thread (the window's
run worker) sets the thread's `hooks`; a long loop calls `check(text)` now and then, which raises
Cancelled once the run was cancelled and passes `text`, if any, on as progress. Without hooks
(the CLI, tests) `check` does nothing."""
from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Callable, Iterator

from explorer.core.errors import ExplorerError

_local = threading.local()


class Cancelled(ExplorerError):
    """The run this work belongs to was cancelled."""


@contextmanager
def hooks(stop: threading.Event, tell: Callable[[str], None] | None = None) -> Iterator[None]:
    """Within this block, in this thread, `check` raises Cancelled once `stop` is set and hands
    its text to `tell`."""
    before = getattr(_local, "hooks", None)
    _local.hooks = (stop, tell)
    try:
        yield
    finally:
        _local.hooks = before


def check(text: str | None = None) -> None:
    """Raise Cancelled if this thread's run was cancelled; else tell `text` (when given)."""
    current = getattr(_local, "hooks", None)
    if current is None:
        return
    stop, tell = current
    if stop.is_set():
        raise Cancelled("cancelled")
    if text and tell is not None:
        tell(text)
