"""The window in tests: models open off the GUI thread, so a test waits for them to arrive."""
from __future__ import annotations

from explorer.app.main_window import MainWindow


def wait_open(qtbot, window: MainWindow) -> MainWindow:
    """Wait until every model `window` is opening has arrived (or failed)."""
    qtbot.waitUntil(lambda: not window.opening, timeout=60_000)
    return window


def open_window(qtbot, *args, **kwargs) -> MainWindow:
    """A MainWindow, closed after the test, once the model it opens at start has arrived."""
    window = MainWindow(*args, **kwargs)
    qtbot.addWidget(window)
    return wait_open(qtbot, window)


def opened(qtbot, window: MainWindow, path, **kwargs) -> bool:
    """Open `path` in `window` and wait: True when it is the model now."""
    if not window.open_checkpoint(path, **kwargs):
        return False
    wait_open(qtbot, window)
    return window.opener.last_error is None


def run(qtbot, window: MainWindow, **spec) -> None:
    """Run `window`'s model with the Run panel set to `spec` (on the CPU) to its end."""
    window.run_panel.set_spec(device="cpu", **spec)
    assert window.start_run()
    qtbot.waitUntil(lambda: not window.is_running() and window.trajectory is not None, timeout=60000)
