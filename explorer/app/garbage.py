"""Cyclic garbage collected in the GUI thread while a window is open (see `GuiThreadGarbage`)."""
from __future__ import annotations

import gc

from pyqtgraph.util.garbage_collector import GarbageCollector


class GuiThreadGarbage:
    """Cyclic garbage is collected in the GUI thread, never in a run's thread, while a window is
    open: collected there, a dead Qt object's destructor holds Qt's lock and waits for the GIL that
    the GUI thread holds while it waits for that lock (the window froze so, in the test suite).
    pyqtgraph's GarbageCollector turns automatic collection off and collects on a GUI timer; the
    last window to close turns it back on."""

    windows = 0
    collector: GarbageCollector | None = None

    @classmethod
    def hold(cls) -> None:
        if cls.windows == 0:
            cls.collector = GarbageCollector(interval=0.5)
        cls.windows += 1

    @classmethod
    def release(cls) -> None:
        cls.windows -= 1
        if cls.windows == 0:
            cls.collector.timer.stop()
            cls.collector = None
            gc.enable()
