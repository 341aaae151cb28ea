"""`explorer screenshot`: the real window (offscreen when there is no display), run to the end,
at a chosen step and tab, saved as PNG. Uses only the window's public interface."""
from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from PySide6.QtCore import (
    QBuffer,
    QByteArray,
    QCoreApplication,
    QEvent,
    QIODevice,
    QSettings,
    qInstallMessageHandler,
)

from explorer.app.qt_platform import application
from explorer.core.errors import ExplorerError
from explorer.core.files.io import atomic_write, check_outputs


def screenshot(out: Path, checkpoint_path: str | None = None, step: int | None = None, view: str = "trajectory",
               settings_path: str | None = None, **run) -> Path:
    """Open the window on `checkpoint_path`, run it with `run` (sampler, steps, n, seed; pair for
    the compare view), show step `step` (default: the middle) of tab `view` and save the window.
    The window's settings go to `settings_path`, else to a temporary folder removed afterwards."""
    from explorer.core.models import bundle

    (out,) = check_outputs([out], [checkpoint_path or bundle.default_checkpoint()])
    qInstallMessageHandler(_quiet_offscreen)
    app = application(offscreen=True)
    with tempfile.TemporaryDirectory(prefix="explorer-screenshot-") as tmp:
        settings = QSettings(settings_path or str(Path(tmp) / "settings.ini"), QSettings.IniFormat)
        try:
            return _screenshot(app, settings, out, checkpoint_path, step, view, run)
        finally:
            del settings


def _screenshot(app, settings, out, checkpoint_path, step, view, run) -> Path:
    from explorer.app.main_window import MainWindow

    win = MainWindow(settings, checkpoint_path=checkpoint_path)
    try:
        while win.opening:                          # the model opens off the GUI thread
            app.processEvents()
            time.sleep(0.005)
        if win.model is None:
            raise ExplorerError(win.message.text() or "no model to open")
        win.run_panel.set_spec(sampler=run.get("sampler"), device="cpu")
        win.run_panel.set_spec(steps=run.get("steps"), n=run.get("n"), seed=run.get("seed"))
        win.resize(1280, 820)
        win.show()
        tab = {"trajectory": win.view, "scales": win.scales, "compare": win.compare, "statistics": win.statistics}[view]
        if view == "compare":
            if run.get("pair") is not None:
                if not 0 <= run["pair"] < win.compare.pair_count():
                    raise ExplorerError(f"--pair {run['pair']}: there are {win.compare.pair_count()} bundled pairs "
                                        f"(0 to {win.compare.pair_count() - 1})")
                win.compare.choose_pair(int(run["pair"]))
            started = win.start_compare()
        else:
            started = win.start_run()
        if not started:
            raise ExplorerError(win.message.text() or "nothing to run")
        while win.is_running():
            app.processEvents()
            time.sleep(0.005)
        if win.message.isVisible():
            raise ExplorerError(win.message.text())
        win.tabs.setCurrentWidget(tab)
        if view != "compare":
            win.view.go(len(win.view.frames) // 2 if step is None else step)
        elif step is not None:
            win.compare.show_step_of_both(step)
        for _ in range(10):
            app.processEvents()
        return atomic_write(out, lambda f: f.write(_png_bytes(win.grab())))
    finally:                        # however it ended: no run left, the window closed and deleted
        if win.is_running():
            win.cancel_run()
        while win.is_running():
            app.processEvents()
            time.sleep(0.005)
        win.ask_before_closing_a_run = False
        win.close()
        win.deleteLater()
        for _ in range(5):
            app.processEvents()
        QCoreApplication.sendPostedEvents(None, QEvent.DeferredDelete)


def _quiet_offscreen(mode, context, message: str) -> None:
    """Qt's messages, less the offscreen platform's notice that it cannot resize native windows."""
    if "propagateSizeHints" not in message:
        print(message, file=sys.stderr)


def _png_bytes(pixmap) -> bytes:
    """The PNG of `pixmap`, with the version of explorer that drew it as a text chunk (a stale
    picture in the docs is then found: tests/test_docs.py)."""
    from explorer import __version__

    image = pixmap.toImage()
    image.setText("explorer_version", __version__)
    data = QByteArray()
    buf = QBuffer(data)
    buf.open(QIODevice.WriteOnly)
    image.save(buf, "PNG")
    return bytes(data)
