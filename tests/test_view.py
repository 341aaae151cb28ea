"""What a person sees: readable panels at every step, no stale state, controls that keep what was typed."""
import os

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtCore import QEvent
from PySide6.QtWidgets import QApplication
from windows import opened, run

from explorer.core.models import bundle

pytest.importorskip("pytestqt")


def saturated(mosaic: np.ndarray, levels) -> float:
    """The fraction of pixels clipped: beyond the display range, so their differences are lost."""
    v = mosaic[np.isfinite(mosaic)]
    lo, hi = levels
    return float(((v < lo) | (v > hi)).mean())


def test_x_t_is_readable_at_every_stage_of_a_run(qtbot, window):
    run(qtbot, window, sampler="sde", steps=100, n=16, seed=0)
    view = window.view
    for fraction in (0.25, 0.5, 0.75):
        view.go(int(fraction * 100))
        (xt, x0), (r_xt, r_x0) = view.displayed(), view.ranges()
        print(f"{fraction:.0%}: saturated x_t {saturated(xt, r_xt):.1%}, x0_hat {saturated(x0, r_x0):.1%}")
        assert saturated(xt, r_xt) < 0.2 and saturated(x0, r_x0) < 0.2


def test_lock_holds_the_ranges_and_data_scale_divides_by_alpha(qtbot, window):
    run(qtbot, window, sampler="ddim", steps=20, n=4, seed=1)
    view = window.view
    view.go(5)
    view.lock_box.setChecked(True)
    held = view.ranges()
    view.go(15)
    assert view.ranges() == held
    view.lock_box.setChecked(False)
    assert view.ranges() != held
    view.xt_box.setCurrentText("x_t / α")
    f = view.frames[15]
    from explorer.core.display import render
    assert np.allclose(view.displayed()[0], render.tile(np.asarray(f.x_t) / np.exp(-f.t)), equal_nan=True)
    assert "data scale" in view.panel_titles[0].text
    opened(qtbot, window, window.model.path)                          # another model keeps the mode: and its title
    assert view.xt_box.currentText() == "x_t / α" and "data scale" in view.panel_titles[0].text


def test_loading_another_model_clears_the_old_run(qtbot, window, tiny_ckpt, tmp_path):
    from conftest import make_tiny_checkpoint
    run(qtbot, window, sampler="ddim", steps=4, n=2, seed=0)
    assert window.trajectory is not None and "tiny" in window.view.title.text()
    qtbot.waitUntil(lambda: window.statistics.result is not None, timeout=5000)
    window.forks.show_message("8 endings from step 3")                  # what a fork of the old run said
    other = make_tiny_checkpoint(tmp_path / "other.safetensors", split="S2", seed=3)
    assert opened(qtbot, window, other.path)
    assert window.trajectory is None and window.view.frames == [] and window.view.displayed()[0] is None
    assert "other" in window.view.title.text() and window.statistics.result is None
    assert window.statistics.summary.text() == window.statistics.HINT and window.forks.status.text() == window.forks.HINT
    assert window.rate_label.text() == "" and window.progress.value() == -1         # no old speed, no old steps
    values, _ = window.view.histogram.plot.getData()
    assert values is None or len(values) == 0                                       # no old histogram
    assert not any(a.isEnabled() for a in window.exports.actions)
    assert opened(qtbot, window, tiny_ckpt.path)                       # its own runs are kept for a model


def test_the_bundled_list_follows_the_loaded_model(qtbot, window):
    entries = bundle.bundled_index()
    if len(entries) < 2:
        pytest.skip("needs two bundled models")
    path = bundle.bundled_dir() / entries[1]["file"]
    assert opened(qtbot, window, path)
    assert window.bundled.currentItem().text().startswith(entries[1]["name"])
    last = bundle.bundled_dir() / entries[-1]["file"]
    assert opened(qtbot, window, last)
    window.resize(1000, 700)                                           # a short list: scrolled to it
    qtbot.waitUntil(lambda: 0 <= window.bundled.visualItemRect(window.bundled.currentItem()).top() and
                    window.bundled.visualItemRect(window.bundled.currentItem()).bottom()
                    <= window.bundled.viewport().height(), timeout=3000)
    opened(qtbot, window, window.settings.value("recent")[-1])         # a model that is not bundled
    assert not window.bundled.selectedItems()


def test_typed_steps_survive_a_sampler_change(qtbot, window):
    panel = window.run_panel
    panel.set_spec(sampler="sde")
    assert panel.steps_box.value() == 100                                # the default, set for the user
    panel.set_spec(sampler="ddim")
    assert panel.steps_box.value() == 50
    panel.steps_box.setValue(40)                                         # typed by the user
    panel.set_spec(sampler="ascent")
    panel.set_spec(sampler="ode")
    assert panel.steps_box.value() == 40


def test_the_final_denoising_step_is_offered_only_where_it_applies(qtbot, window):
    panel = window.run_panel
    for sampler, offered in (("ddim", True), ("ascent", False), ("sde", True)):
        panel.set_spec(sampler=sampler)
        assert panel.final_denoise.isEnabled() == offered, sampler


def test_no_time_left_is_shown_after_a_cancel(qtbot, window):
    window.run_panel.set_spec(sampler="sde", steps=400, n=2, device="cpu")
    assert window.start_run()
    qtbot.waitUntil(lambda: window.controller.frames_made >= 3, timeout=30000)
    window.cancel_run()
    qtbot.waitUntil(lambda: not window.is_running(), timeout=30000)
    assert "left" not in window.rate_label.text() and "cancelled" in window.statusBar().currentMessage()
    assert "cancelled after" in window.view.title.text()


def test_exports_have_the_usual_permissions(qtbot, window, tmp_path):
    run(qtbot, window, sampler="ddim", steps=3, n=2, seed=0)
    mask = os.umask(0)
    os.umask(mask)
    png = window.exports.png(tmp_path / "f.png")
    assert (png.stat().st_mode & 0o777) == 0o666 & ~mask


def test_an_ascent_says_why_it_stopped(qtbot, window):
    run(qtbot, window, sampler="ascent", steps=1000, n=2, seed=0)
    n = len(window.trajectory.frames)
    assert n < 1000 and "stops by itself" in window.statusBar().currentMessage()


def test_models_of_your_own_images_are_compared_without_a_baseline(qtbot, window, tmp_path, capsys):
    """Two models trained on the user's own images (an array file): no generator of fresh images,
    so the comparison runs without the baseline and says so, in the CLI and in the window."""
    from explorer.cli import main
    from explorer.core.nets.unet import UNetConfig
    from explorer.core.training.train import TrainConfig, train_diffusion
    rng = np.random.default_rng(0)
    np.save(tmp_path / "mine.npy", rng.normal(size=(40, 1, 16, 16)).astype(np.float32))
    paths = []
    for split in ("S1", "S2"):
        data = {"name": "user", "path": str(tmp_path / "mine.npy"), "n": 8, "split": split, "seed": 0,
                "params": {"size": 16, "channels": 1}}
        m = train_diffusion(data, UNetConfig(channels=1, size=16, widths=[8, 16]), tmp_path / f"{split}.safetensors",
                            TrainConfig(steps=2, batch=4, save_every=1000), "cpu", progress=False)
        paths.append(str(m.path))
    assert main(["compare", "--s1", paths[0], "--s2", paths[1], "--n", "2", "--steps", "3", "--sampler", "ddim"]) == 0
    assert "no fresh-image baseline" in capsys.readouterr().out
    window.compare.add_pair(8, *paths)
    window.compare.samples_box.setValue(2)
    window.compare.set_run_choice("ddim", 3)
    assert window.start_compare()
    qtbot.waitUntil(lambda: not window.is_running() and window.compare.result is not None, timeout=60000)
    assert "No fresh-image baseline" in window.compare.summary.text()


def test_a_colour_folder_is_trained_sampled_and_shown_in_colour(qtbot, window, tmp_path):
    from PIL import Image

    from explorer.cli import main
    from explorer.core.models import open_model
    folder = tmp_path / "colour"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(12):
        Image.fromarray(rng.integers(0, 255, (16, 16, 3), dtype=np.uint8)).save(folder / f"{i}.png")
    out = tmp_path / "c.safetensors"
    assert main(["train", "diffusion", "--data", str(folder), "--n", "6", "--split", "all", "--size", "16",
                 "--widths", "8,16", "--steps", "2", "--batch", "4", "--out", str(out)]) == 0
    model = open_model(out)
    assert model.image_shape == (3, 16, 16)
    assert opened(qtbot, window, out)
    run(qtbot, window, sampler="ddim", steps=3, n=2, seed=0)
    xt, x0 = window.view.displayed()
    assert x0.ndim == 3 and x0.shape[-1] == 3                          # an RGB mosaic


def test_training_progress_is_printed_without_a_terminal(tmp_path):
    import subprocess
    import sys
    r = subprocess.run([sys.executable, "-m", "explorer", "train", "diffusion", "--data", "shapes", "--n", "4",
                        "--size", "16", "--widths", "8,16", "--steps", "3", "--batch", "4",
                        "--out", str(tmp_path / "p.safetensors")], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "3/3" in r.stderr                                           # a plain line, not a silent bar


def test_export_names_come_from_the_run_and_the_folder_is_remembered(qtbot, window, tmp_path):
    run(qtbot, window, sampler="ddim", steps=3, n=2, seed=7)
    window.view.go(2)
    assert window.exports.suggested_path(".png").name == "tiny-ddim-seed7-step0002.png"
    window.exports.png(tmp_path / "first.png")
    suggested = window.exports.suggested_path(".png")
    assert suggested.parent == tmp_path
    window.exports.png(suggested)
    assert window.exports.suggested_path(".png").name == "tiny-ddim-seed7-step0002-2.png"   # never over a file


def test_the_scales_tab_has_its_own_step_slider(qtbot, window):
    run(qtbot, window, sampler="ddim", steps=6, n=2, seed=0)
    window.tabs.setCurrentWidget(window.scales)
    assert window.scales.slider.maximum() == 6
    window.scales.slider.setValue(2)
    assert window.view.current == 2 and window.scales.frame is window.view.frames[2]


def test_a_streamed_frame_is_painted_twice_images_then_histogram(qtbot, window, tiny_ckpt):
    """Each paint of the image canvas is event-loop time lost while a run streams (#11, #31): a
    streamed frame costs exactly two paints, its images first and x0_hat's histogram in a turn of
    its own (no paint holds both; a frame whose value range moves costs no third)."""
    from PySide6.QtCore import QEvent, QObject

    from explorer.core.models import RunSpec
    from explorer.core.sampling.trajectory import drain

    frames = [f.to_numpy() for f in drain(tiny_ckpt.run(RunSpec("ddim", 6, 16, 0, "cpu"))).frames]
    view = window.view
    view.clear()
    paints = []

    class Counter(QObject):
        def eventFilter(self, obj, event):
            if event.type() == QEvent.Paint:
                drawn, of_image = view.histogram.plot.getData()[1], view.images[1].getHistogram()[1]
                paints.append((view.current, view._histogram_timer.isActive(),
                               drawn is not None and of_image is not None and np.array_equal(drawn, of_image)))
            return False

    counter = Counter()
    view.canvas.viewport().installEventFilter(counter)
    for k, frame in enumerate(frames):
        view.add_frame(frame)
        qtbot.waitUntil(lambda: view.current == k and (k, False) in [p[:2] for p in paints], timeout=5000)
        qtbot.wait(150)                                            # room for a third paint of frame k
    view.canvas.viewport().removeEventFilter(counter)
    for k in range(2, len(frames)):                                # past the first layouts
        of_k = [p for p in paints if p[0] == k]
        assert [p[1] for p in of_k] == [True, False], paints      # the images (histogram pending), then it
        assert of_k[1][2], paints                                   # the second paint drew frame k's histogram


def test_a_frame_with_infinite_or_no_finite_pixels_is_shown_without_error(qtbot, window, tiny_ckpt):
    from dataclasses import replace

    from explorer.core.models import RunSpec
    from explorer.core.sampling.trajectory import drain

    frame = drain(tiny_ckpt.run(RunSpec("ddim", 2, 2, 0, "cpu"))).frames[-1].to_numpy()
    x = np.array(frame.x0_hat)
    x[0, 0, 0, 0] = np.inf
    view = window.view
    view.clear()
    view.set_frames([frame, replace(frame, x0_hat=x), replace(frame, x0_hat=np.full_like(x, np.nan))])
    for k in (1, 2, 0):                                   # show_step raised on a histogram of inf / NaN bins
        view.go(k)
        assert view.current == k
        values, _ = view.histogram.plot.getData()
        if k != 1:                                    # (pyqtgraph bins an image holding inf into NaN edges)
            assert (values is None or len(values) == 0) if k == 2 else np.isfinite(values).all()
    lo, hi = view.histogram.getHistogramRange()
    assert np.isfinite(lo) and np.isfinite(hi)


def test_both_panels_show_the_whole_grid_after_a_resize(qtbot, window):
    run(qtbot, window, sampler="ddim", steps=3, n=4, seed=0)
    for size in ((1000, 700), (1600, 1000)):
        window.resize(*size)
        qtbot.wait(300)                                             # the refit waits for the layout
        widths = [b.size().width() for b in window.view.boxes]
        assert abs(widths[0] - widths[1]) <= 2, widths               # the same size, side by side
        for box, img in zip(window.view.boxes, window.view.images):
            (x0, x1), (y0, y1) = box.viewRange()
            h, w = img.image.shape[:2]
            assert x0 <= 0 and x1 >= w and y0 <= 0 and y1 >= h, (size, box.viewRange(), (w, h))   # nothing cut off
            assert max(w / (x1 - x0), h / (y1 - y0)) > 0.8                                         # and not tiny


def test_a_click_on_the_slider_goes_to_the_step_clicked(qtbot, window):
    from PySide6.QtCore import QPoint, Qt
    from PySide6.QtTest import QTest

    run(qtbot, window, sampler="ddim", steps=4, n=1, seed=0)
    slider = window.view.slider
    assert slider.maximum() == 4 and slider.value() == 4
    QTest.mouseClick(slider, Qt.LeftButton, pos=QPoint(slider.width() // 2, slider.height() // 2))
    assert slider.value() == 2 and window.view.current == 2          # not one page towards it: an end


def test_the_value_under_a_still_mouse_follows_the_step(qtbot, window):
    """Scrubbing with the keyboard under a still mouse: the readout is the new step's value."""
    run(qtbot, window, sampler="ddim", steps=6, n=1, seed=2)
    view = window.view
    view.go(2)
    box = view.boxes[1]                                            # x0_hat, pixel (3, 5) of sample 0
    view._mouse_moved(box.mapViewToScene(pg.Point(5.5, 3.5)))
    assert f"value {float(view.frames[2].x0_hat[0, 0, 3, 5]):.4g}" in view.readout.text()
    view.go(5)
    assert "pixel (3, 5)" in view.readout.text()
    assert f"value {float(view.frames[5].x0_hat[0, 0, 3, 5]):.4g}" in view.readout.text()
    QApplication.sendEvent(view.canvas, QEvent(QEvent.Leave))       # the mouse leaves the panels:
    assert view.readout.text().strip() == ""                       # no value, and none comes back
    view.go(3)
    assert view.readout.text().strip() == ""


def test_an_own_level_axis_gets_readable_log_ticks():
    from explorer.app.views.trajectory import log_ticks
    major, minor = log_ticks(0.01, 5.0)
    assert [label for _, label in major] == ["0.01", "0.1", "1"] and minor == []  # 2.7 decades: decades only
    assert [label for _, label in log_ticks(0.0813, 1.6)[0]] == ["0.1", "0.2", "0.5", "1"]   # less: 2 and 5 too
    assert [label for _, label in log_ticks(0.3, 1.9)[0]] == ["0.5", "1"]
    assert [label for _, label in log_ticks(0.31, 0.33)[0]] == ["0.31"]          # none inside: the low end
