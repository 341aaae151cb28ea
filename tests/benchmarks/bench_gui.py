"""GUI responsiveness and start-up.

    QT_QPA_PLATFORM=offscreen python tests/benchmarks/bench_gui.py [--repeats 5] [--json PATH]

1. Longest event-loop stall while a run streams frames: a 2 ms QTimer probe records the
   largest gap between its ticks during a 16-sample, 100-step SDE run of the default checkpoint
   (goal < 16 ms: no missed 60 Hz frame), from the click on Run to the finished run shown; baseline
   in the same run: the same probe with no run (the probe's own floor).
2. Redraw time of one slider step, 16 frames of 32x32 (goal < 10 ms): median over a sweep of
   the slider; baseline: pyqtgraph's bare ImageItem.setImage of one 32x32 image.
3. Start-up: a new process from launch to the window shown with the default checkpoint
   (goal < 3 s on CPU); baseline: a new process that shows an empty PySide6 window.
4. The same stall while the Compare tab streams a pair (the first bundled pair, 6 samples, its
   default sampler and steps, to the result shown), and 5. while the trajectory plays at 50
   frames/s during a run (Play pressed after its 10th frame).
6. With --big-checkpoint: the window opening the largest diffusion checkpoint explorer opens (50 M
   parameters, 0.19 GiB: schema.MAX_PARAMETERS; a 1 GiB network is refused before it is read),
   written by explorer's own checkpoint writer: seconds from the request to the model open, and the
   longest stall meanwhile (the file is read and the network built off the GUI thread).
Each stall figure is the largest gap of one run; median and max over the repeats, every value in
the JSON (`--json`, for docs/results/perf/gui.json).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
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
    from explorer.app.launch import show_window
    w = show_window(settings=QSettings(sys.argv[2], QSettings.IniFormat))      # as `explorer gui` does
else:
    from PySide6.QtWidgets import QMainWindow
    w = QMainWindow()
    w.show()
app.processEvents()
shown = time.perf_counter()
while sys.argv[1] == "explorer" and w.opening:     # the model opens off the GUI thread
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


def big_checkpoint(folder: Path) -> Path:
    """A diffusion checkpoint of 49.97 M parameters (0.19 GiB; explorer's limit is 50 M), untrained, by
    explorer's own writer."""
    from explorer.core.models import checkpoint
    from explorer.core.nets.unet import UNetConfig

    arch = UNetConfig(channels=1, size=32, widths=[256, 512, 820], blocks=1)
    config = checkpoint.make_config("diffusion", arch, "big", "the largest network explorer opens, for bench_gui.py")
    return checkpoint.save(folder / "big.safetensors", checkpoint.build_model(config), config)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--json", help="write every measured value here")
    p.add_argument("--big-checkpoint", action="store_true", help="also open the largest checkpoint explorer opens")
    a = p.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import numpy as np
    import pyqtgraph as pg
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from explorer.app.launch import freeze_heap
    from explorer.app.main_window import MainWindow
    from explorer.app.run_process import POOL

    load_at_start = os.getloadavg()[0]
    app = QApplication.instance() or QApplication(sys.argv[:1])
    settings = Path(tempfile.mkdtemp()) / "s.ini"
    win = MainWindow(QSettings(str(settings), QSettings.IniFormat))
    win.show()
    stall_probe(app, lambda: not win.opener.busy)
    freeze_heap()                                       # as `explorer` does once its window is up
    POOL.warm_up()                                      # ... and its run process (started in the background)
    win.run_panel.sampler_box.setCurrentIndex(win.run_panel.sampler_box.findData("sde"))
    win.run_panel.steps_box.setValue(100)
    win.run_panel.batch_box.setValue(16)
    win.run_panel.device_box.setCurrentText("cpu")
    model_name = win.model.name
    print(f"model {model_name}; {os.cpu_count()} cores; offscreen Qt")
    stalls, idles = [], []
    done = lambda: not win.is_running() and win.trajectory is not None      # noqa: E731
    win.start_run()                                     # a first run: the run process holds the model after it
    stall_probe(app, done)
    for _ in range(a.repeats):
        stall_probe(app, lambda: not win.stats_runs.is_running())     # the last run's statistics drawn
        idles.append(stall_probe(app, 1.0))
        win.start_run()
        stalls.append(stall_probe(app, done))
    print(f"1. longest event-loop stall during a run: median {1e3 * statistics.median(stalls):.1f} ms "
          f"(max {1e3 * max(stalls):.1f}); idle baseline {1e3 * statistics.median(idles):.1f} ms; "
          f"ratio {statistics.median(stalls) / statistics.median(idles):.2f}; goal < 16 ms")
    playing = []
    win.view.speed_box.setCurrentText("50 frames/s")
    for _ in range(a.repeats):
        win.start_run()
        stall_probe(app, lambda: len(win.view.frames) >= 10)
        win.view.toggle_play()
        playing.append(stall_probe(app, done))
        if win.view._play_timer.isActive():
            win.view.toggle_play()
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
    pair = []
    win.compare.choose_pair(0)
    win.tabs.setCurrentWidget(win.compare)
    stall_probe(app, lambda: not win.opener.busy)
    win.start_compare()                                 # a first pair: opened, its training sets made and cached
    stall_probe(app, lambda: not win.is_running() and not win.models_opener.busy)
    for _ in range(a.repeats):
        win.start_compare()
        pair.append(stall_probe(app, lambda: not win.is_running() and not win.models_opener.busy))
    big = {}
    if a.big_checkpoint:
        path = big_checkpoint(Path(tempfile.mkdtemp()))
        big["gib"] = round(path.stat().st_size / 2 ** 30, 3)
        opening, seconds = [], []
        for _ in range(a.repeats):
            t0 = time.perf_counter()
            win.open_checkpoint(path, remember=False)
            opening.append(stall_probe(app, lambda: not win.opener.busy))
            seconds.append(time.perf_counter() - t0)
            assert win.model is not None and win.model.path == path, win.opener.last_error
        big.update(stall_ms=[round(1e3 * x, 2) for x in opening], seconds=[round(x, 3) for x in seconds])
        path.unlink()
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
    for n, what, values in ((4, "a pair streams in the Compare tab", pair), (5, "the trajectory plays during a run", playing)):
        print(f"{n}. longest event-loop stall while {what}: median {1e3 * statistics.median(values):.1f} ms "
              f"(max {1e3 * max(values):.1f}); goal < 16 ms")
    if big:
        print(f"6. opening a {big['gib']} GiB checkpoint: median {statistics.median(big['seconds']):.2f} s; longest "
              f"event-loop stall meanwhile median {statistics.median(big['stall_ms']):.1f} ms (max {max(big['stall_ms']):.1f})")
    if a.json:
        ms = lambda v: [round(1e3 * x, 2) for x in v]            # noqa: E731
        Path(a.json).parent.mkdir(parents=True, exist_ok=True)
        Path(a.json).write_text(json.dumps({
            "machine": {"cores": os.cpu_count(), "load_average_1min": load_at_start,
                        "python": platform.python_version(), "qt": "offscreen"},
            "repeats": a.repeats, "model": model_name,
            "stall_ms": {"idle": ms(idles), "run": ms(stalls), "pair": ms(pair), "playing": ms(playing)},
            "slider_step_ms": {"median": round(1e3 * statistics.median(times), 3), "max": round(1e3 * max(times), 3),
                               "bare_set_image_median": round(1e3 * statistics.median(base), 4)},
            "startup_s": {"window_shown": [round(x, 3) for x in shown], "model_open": [round(x, 3) for x in ours],
                          "empty_window": [round(x, 3) for x in bare]},
            **({"big_checkpoint": big} if big else {}),
        }, indent=1) + "\n")


if __name__ == "__main__":
    main()
