"""Start and cancel runs 100 times in one window, then run one to completion."""
import gc
import random
import threading

import numpy as np
from PySide6.QtCore import QSettings


def rss_kib() -> int:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))


def test_run_cancel_storm(qtbot, tmp_path, tiny_ckpt):
    from explorer.app.main_window import MainWindow
    from explorer.core import samplers
    from explorer.core.sampling import sample_checkpoint

    win = MainWindow(QSettings(str(tmp_path / "s.ini"), QSettings.IniFormat), checkpoint_path=tiny_ckpt.path)
    win.ask_before_closing_a_run = False
    qtbot.addWidget(win)
    win.show()
    win.sampler_box.setCurrentIndex(win.sampler_box.findData("sde"))
    win.steps_box.setValue(200)
    win.batch_box.setValue(4)
    win.device_box.setCurrentText("cpu")
    rng = random.Random(0)
    threads_before = threading.active_count()
    rss = []
    for i in range(100):
        assert win.start_run()
        stop_after = rng.randrange(0, 12)
        qtbot.waitUntil(lambda: len(win.thread.worker.frames) >= stop_after, timeout=20000)
        win.cancel_run()
        qtbot.waitUntil(lambda: not win.is_running() and win.trajectory is not None, timeout=20000)
        assert len(win.trajectory.frames) <= 201
        if i in (19, 99):
            gc.collect()
            qtbot.wait(50)
            rss.append(rss_kib())
    win.steps_box.setValue(12)
    assert win.start_run()
    qtbot.waitUntil(lambda: not win.is_running() and win.trajectory is not None, timeout=30000)
    reference = samplers.run(sample_checkpoint(tiny_ckpt, 4, "sde", 12, win.seed_box.value(), "cpu"))
    assert len(win.trajectory.frames) == 13
    assert np.allclose(win.trajectory.frames[-1].x0_hat, reference.sample.numpy(), atol=1e-5)
    qtbot.wait(100)
    threads_after = threading.active_count()
    growth = rss[1] / rss[0] - 1
    print(f"threads before {threads_before}, after {threads_after}; RSS after 20 runs {rss[0]} KiB, "
          f"after 100 {rss[1]} KiB ({growth:+.1%})")
    assert threads_after <= threads_before
    assert growth < 0.05
    win.close()
