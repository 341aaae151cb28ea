"""`explorer` with no command: the window, on a display. It paints before torch is loaded: its
first model (and torch with it) is opened after the first paint, then the heap is frozen and the
run process started."""
from __future__ import annotations

import gc

from PySide6.QtCore import QSettings, Qt, QTimer

from explorer.app.main_window import MainWindow
from explorer.app.qt_platform import application
from explorer.app.run_process import POOL


def freeze_heap() -> None:
    """Put every object alive once the window is up (~2e5: Qt wrappers, torch, pyqtgraph) out of
    the cyclic garbage collector's reach, so that its collections scan only what is new. Without
    it, collections paused the event loop up to 11 ms (young) and 26 ms (middle generation) while a
    run streamed; after it, 0.5 ms. What is frozen is never collected: call it once, not per window."""
    gc.collect()
    gc.freeze()


def show_window(checkpoint_path: str | None = None, settings: QSettings | None = None) -> MainWindow:
    """The window shown: it paints, then builds its views and opens its first model; the heap is
    frozen when the model has arrived."""
    win = MainWindow(settings, checkpoint_path=checkpoint_path, paint_first=True)
    for signal in (win.opener.opened, win.opener.failed):
        signal.connect(freeze_heap, Qt.SingleShotConnection)      # torch's objects are in by then
    win.show()
    win.when_built(lambda: win.view.setFocus())                   # the arrow keys scrub at once
    return win


def launch(checkpoint_path: str | None = None, tour: int | None = None) -> int:
    """The window; on the guided tour at stop `tour` (1 is the first), else the tour offered at a first launch."""
    app = application()
    app.setApplicationName("explorer")
    win = show_window(checkpoint_path)
    if tour:
        win.when_built(lambda: win.tour.start(tour - 1))
    else:
        win.tour.offer()
    QTimer.singleShot(0, POOL.warm_up)            # the run process starts (imports torch) while the user looks
    return app.exec()
