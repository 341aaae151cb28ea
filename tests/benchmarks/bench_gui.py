"""GUI responsiveness and start-up.

    QT_QPA_PLATFORM=offscreen python tests/benchmarks/bench_gui.py [--repeats 5]

1. Longest event-loop stall while a run streams frames: a 2 ms QTimer probe records the
   largest gap between its ticks during a 16-sample, 100-step SDE run of the default checkpoint
   (goal < 50 ms); baseline in the same run: the same probe with no run.
2. Redraw time of one slider step, 16 frames of 32x32 (goal < 10 ms): median over a sweep of
   the slider; baseline: pyqtgraph's bare ImageItem.setImage of one 32x32 image.
3. Start-up: a new process from launch to the window shown with the default checkpoint
   (goal < 3 s on CPU); baseline: a new process that shows an empty PySide6 window.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

STARTUP = r"""
import os, sys, time
from PySide6.QtWidgets import QApplication
app = QApplication(sys.argv[:1])
if sys.argv[1] == "explorer":
    from PySide6.QtCore import QSettings
    from explorer.app.main_window import MainWindow
    w = MainWindow(QSettings(sys.argv[2], QSettings.IniFormat))
else:
    from PySide6.QtWidgets import QMainWindow
    w = QMainWindow()
w.show()
app.processEvents()
shown = time.perf_counter()
while sys.argv[1] == "explorer" and w.opener.busy:     # the model opens off the GUI thread
    app.processEvents()
    time.sleep(0.001)
assert sys.argv[1] != "explorer" or w.model is not None
print(time.perf_counter() - shown)
sys.stdout.flush()
os._exit(0)        # measured: the window is up; skip the teardown
"""


def stall_probe(app, seconds_or_done, interval_ms=2):
    from PySide6.QtCore import QTimer
    last = [time.perf_counter()]
    worst = [0.0]

    def tick():
        now = time.perf_counter()
        worst[0] = max(worst[0], now - last[0])
        last[0] = now
    timer = QTimer(interval=interval_ms)
    timer.timeout.connect(tick)
    timer.start()
    t0 = time.perf_counter()
    done = seconds_or_done if callable(seconds_or_done) else (lambda: time.perf_counter() - t0 > seconds_or_done)
    last[0] = time.perf_counter()
    while not done():
        app.processEvents()
        time.sleep(0.0005)
    timer.stop()
    return worst[0]


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--repeats", type=int, default=5)
    a = p.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import numpy as np
    import pyqtgraph as pg
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from explorer.app.launch import freeze_heap
    from explorer.app.main_window import MainWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    settings = Path(tempfile.mkdtemp()) / "s.ini"
    win = MainWindow(QSettings(str(settings), QSettings.IniFormat))
    win.show()
    stall_probe(app, lambda: not win.opener.busy)
    freeze_heap()                                       # as `explorer` does once its window is up
    win.run_panel.sampler_box.setCurrentIndex(win.run_panel.sampler_box.findData("sde"))
    win.run_panel.steps_box.setValue(100)
    win.run_panel.batch_box.setValue(16)
    win.run_panel.device_box.setCurrentText("cpu")
    print(f"model {win.model.name}; {os.cpu_count()} cores; offscreen Qt")
    stalls, idles = [], []
    for _ in range(a.repeats):
        idles.append(stall_probe(app, 1.0))
        win.start_run()
        stalls.append(stall_probe(app, lambda: not win.is_running() and win.trajectory is not None))
    print(f"1. longest event-loop stall during a run: median {1e3 * statistics.median(stalls):.1f} ms "
          f"(max {1e3 * max(stalls):.1f}); idle baseline {1e3 * statistics.median(idles):.1f} ms; "
          f"ratio {statistics.median(stalls) / statistics.median(idles):.2f}; goal < 50 ms")
    view = win.view
    times = []
    for k in list(range(len(view.frames))) * 3:
        t0 = time.perf_counter()
        view.go(k)
        view.canvas.repaint()
        times.append(time.perf_counter() - t0)
    item = pg.ImageItem()
    img = np.random.default_rng(0).normal(size=(32, 32)).astype(np.float32)
    base = []
    for _ in range(300):
        t0 = time.perf_counter()
        item.setImage(img, autoLevels=False, levels=(0, 1))
        base.append(time.perf_counter() - t0)
    print(f"2. one slider step, 16 frames of 32x32 (both panels, repaint): median {1e3 * statistics.median(times):.2f} ms "
          f"(max {1e3 * max(times):.2f}); bare setImage baseline {1e3 * statistics.median(base):.3f} ms; goal < 10 ms")
    win.ask_before_closing_a_run = False
    win.close()
    ours, shown, bare = [], [], []
    for _ in range(a.repeats):
        t0 = time.perf_counter()
        waited = subprocess.run([sys.executable, "-c", STARTUP, "explorer", str(settings) + ".startup"], check=True,
                                capture_output=True, text=True).stdout
        ours.append(time.perf_counter() - t0)
        shown.append(ours[-1] - float(waited))
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", STARTUP, "bare", ""], check=True, capture_output=True)
        bare.append(time.perf_counter() - t0)
    o, w, b = statistics.median(ours), statistics.median(shown), statistics.median(bare)
    print(f"3. start-up: window shown {w:.2f} s, the default checkpoint open {o:.2f} s (medians); empty PySide6 "
          f"window {b:.2f} s; ratios {w / b:.2f} and {o / b:.2f}; goal < 3 s")


if __name__ == "__main__":
    main()
