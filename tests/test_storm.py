"""Start and cancel runs 100 times in one window, then run one to completion; nothing leaks."""
import gc
import random

import numpy as np
from PySide6.QtCore import QCoreApplication, QEvent, QSettings, QThread
from windows import open_window


def live(kind) -> int:
    gc.collect()
    return sum(type(o) is kind for o in gc.get_objects())


def settle(qtbot) -> None:
    """Let queued signals arrive and deleteLater() take effect."""
    for _ in range(3):
        qtbot.wait(20)
        QCoreApplication.sendPostedEvents(None, QEvent.DeferredDelete)


def test_run_cancel_storm_leaves_no_thread_worker_or_frame_behind(qtbot, tmp_path, tiny_ckpt):
    from explorer.app.run_controller import RunWorker
    from explorer.core.models import RunSpec
    from explorer.core.sampling.trajectory import Frame, drain

    win = open_window(qtbot, QSettings(str(tmp_path / "s.ini"), QSettings.IniFormat), checkpoint_path=tiny_ckpt.path)
    win.ask_before_closing_a_run = False
    win.show()
    win.run_panel.set_spec(sampler="sde", steps=200, n=4, device="cpu")
    rng = random.Random(0)
    held = []
    for i in range(100):
        assert win.start_run()
        stop_after = rng.randrange(0, 12)
        qtbot.waitUntil(lambda: win.controller.frames_made >= stop_after, timeout=20000)
        win.cancel_run()
        qtbot.waitUntil(lambda: not win.is_running() and win.trajectory is not None, timeout=20000)
        assert len(win.trajectory.frames) <= 201
        if i in (19, 99):
            settle(qtbot)
            held.append((len(win.findChildren(QThread)), live(RunWorker),
                         live(Frame) - len(win.trajectory.frames)))
    win.run_panel.set_spec(steps=12)
    assert win.start_run()
    qtbot.waitUntil(lambda: not win.is_running() and win.trajectory is not None, timeout=30000)
    reference = drain(tiny_ckpt.run(RunSpec("sde", 12, 4, win.run_panel.seed_box.value(), "cpu")))
    assert len(win.trajectory.frames) == 13
    assert np.allclose(win.trajectory.frames[-1].x0_hat, reference.sample.numpy(), atol=1e-5)
    del reference
    settle(qtbot)
    held.append((len(win.findChildren(QThread)), live(RunWorker), live(Frame) - len(win.trajectory.frames)))
    print(f"(QThreads, workers, frames beyond the current run) after 20, 100 cancelled runs and one full run: {held}")
    assert held == [(0, 0, 0)] * 3
    win.close()
