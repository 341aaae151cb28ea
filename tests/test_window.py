"""The real window, driven offscreen with a tiny checkpoint made in the test."""
import threading
from functools import partial
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QSettings, Qt
from windows import open_window, opened, wait_open

from explorer.app.main_window import MainWindow
from explorer.app.run_process import run_model
from explorer.core.display import export, figure, render
from explorer.core.models import RunSpec, open_model, registry
from explorer.core.sampling.trajectory import drain

pytest.importorskip("pytestqt")


def configure(win, sampler="ddim", steps=8, n=4, seed=3):
    win.run_panel.set_spec(sampler=sampler, steps=steps, n=n, seed=seed, device="cpu")


def run_to_end(qtbot, win, timeout=60000):
    """Run, and wait for the run and its samples' statistics (computed in the run process after it)."""
    assert win.start_run()
    qtbot.waitUntil(lambda: not win.is_running() and win.trajectory is not None, timeout=timeout)
    qtbot.waitUntil(lambda: not win.stats_runs.is_running(), timeout=timeout)


def test_run_shows_the_frames_the_core_made(qtbot, window, tiny_ckpt):
    configure(window, "ddim", 8, 4, 3)
    run_to_end(qtbot, window)
    frames = window.trajectory.frames
    assert len(frames) == 9 and not window.message.isVisible()
    reference = drain(tiny_ckpt.run(RunSpec("ddim", 8, 4, 3, "cpu")))
    for k in (0, 4, 8):
        window.view.go(k)
        shown_xt, shown_x0 = window.view.displayed()
        assert np.array_equal(shown_x0, render.tile(frames[k].x0_hat), equal_nan=True)
        assert np.array_equal(shown_xt, render.tile(frames[k].x_t), equal_nan=True)
        assert np.allclose(frames[k].x0_hat, reference.frames[k].x0_hat.numpy(), atol=1e-5)
        assert f"step {k}/8" in window.view.label.text()
    assert window.progress.value() == 9
    view = window.view                                     # while a run streams: its last step is the expected one
    view.clear()
    view.expect(9)
    for f in frames[:4]:
        view.add_frame(f)
    view._catch_up()
    assert "step 3/8" in view.label.text()
    view.set_frames(frames[:4])                            # cancelled there: it has 4 frames
    assert "step 3/3" in view.label.text()



def test_a_run_whose_frames_exceed_the_memory_limit_is_refused_before_it_starts(window, monkeypatch):
    """The window keeps every frame, so it checks them as `explorer sample` does."""
    from conftest import allow_a_tenth_of_the_frames
    configure(window, "ddim", 50, 8, 0)
    allow_a_tenth_of_the_frames(monkeypatch, window.model.image_shape)
    assert not window.start_run() and not window.is_running()
    assert "GiB a run may keep" in window.message.text()

def test_keyboard_scrubbing(qtbot, window):
    configure(window, "ddim", 30, 2, 0)
    run_to_end(qtbot, window)
    view = window.view
    view.setFocus()
    qtbot.keyClick(view, Qt.Key_Home)
    assert view.current == 0 and not view.follow
    qtbot.keyClick(view, Qt.Key_Right)
    assert view.current == 1 and view.slider.value() == 1
    qtbot.keyClick(view, Qt.Key_PageDown)
    assert view.current == 11
    qtbot.keyClick(view, Qt.Key_Left)
    qtbot.keyClick(view, Qt.Key_PageUp)
    assert view.current == 0
    qtbot.keyClick(view, Qt.Key_End)
    assert view.current == 30 and view.follow
    assert "σ =" in view.label.text() and "t =" in view.label.text()
    qtbot.keyClick(view, Qt.Key_Home)
    qtbot.keyClick(view, Qt.Key_Space)                       # play
    qtbot.waitUntil(lambda: view.current >= 3, timeout=5000)
    qtbot.keyClick(view, Qt.Key_Space)                       # pause
    k = view.current
    qtbot.wait(300)
    assert view.current == k


def test_cancel_stops_within_one_step_and_keeps_frames(qtbot, window):
    configure(window, "sde", 400, 4, 0)
    assert window.start_run()
    qtbot.waitUntil(lambda: len(window.view.frames) >= 5, timeout=30000)
    window.cancel_run()
    made_at_cancel = window.controller.frames_made           # read after the flag is set
    qtbot.waitUntil(lambda: not window.is_running() and window.trajectory is not None, timeout=30000)
    made = len(window.trajectory.frames)
    assert made_at_cancel <= made <= made_at_cancel + 1 < 401  # the step in progress may finish, no more
    assert window.run_panel.run_button.isEnabled() and not window.run_panel.cancel_button.isEnabled()
    assert "cancelled" in window.statusBar().currentMessage()
    configure(window, "ddim", 4, 2, 0)                        # the window stays usable
    run_to_end(qtbot, window)
    assert len(window.trajectory.frames) == 5


def phi4_data_for_hours():
    """A run that first makes its phi4 data by Monte Carlo, with a burn-in of 10^6 sweeps (hours).
    The run process imports its own phi4, so the burn-in is set here, in that process, and put back."""
    from explorer.core.data import phi4
    measured = phi4.equilibrium
    phi4.equilibrium = lambda *a, **k: {"enough": True, "burn_in": 10 ** 6, "tau_int_abs_m": 4}
    try:
        phi4.samples(6, L=8, beta=0.53, chains=3, seed=125, progress=False)
    finally:
        phi4.equilibrium = measured
    yield from ()


def test_cancel_stops_a_data_set_made_for_the_run(qtbot, window):
    """A run that first makes its data (an S1/S2 pair's phi4 training sets, by Monte Carlo) shows
    how far that is in the status bar, and Cancel stops it there (it ran on for minutes)."""
    from explorer.app.run_feed import Sink
    stopped = []
    assert window._start(Sink(lambda f: None, lambda r, f: None, lambda note, f: stopped.append(note), ""),
                         phi4_data_for_hours, None, 1)
    qtbot.waitUntil(lambda: "by Monte Carlo" in window.statusBar().currentMessage(), timeout=20000)
    window.cancel_run()
    qtbot.waitUntil(lambda: not window.is_running(), timeout=20000)
    assert stopped == ["cancelled"] and window.statusBar().currentMessage().startswith("cancelled")


def test_corrupt_file_gives_a_message_and_keeps_the_model(qtbot, window, tmp_path):
    bad = tmp_path / "corrupt.safetensors"
    bad.write_bytes(b"\x00" * 3)
    before = window.model
    assert not opened(qtbot, window, bad)
    assert window.message.isVisible() and "truncated" in window.message.text()
    assert window.model is before


def test_exports_from_the_window(qtbot, window, tmp_path):
    configure(window, "ddim", 6, 3, 1)
    run_to_end(qtbot, window)
    window.view.go(2)
    png = window.exports.png(tmp_path / "f.png")
    meta = export.read_png_metadata(png)
    assert meta["step"] == "2" and meta["sampler"] == "ddim" and meta["seed"] == "1" and meta["checkpoint"] == "tiny"
    assert float(meta["sigma"]) == pytest.approx(window.trajectory.frames[2].sigma, rel=1e-5)
    window.view.xt_box.setCurrentText("x_t / α")          # the x_t panel as on screen: x_t / alpha, in a range
    window.view.lock_box.setChecked(True)                 # the user holds, not x_t's own
    window.view.images[0].setLevels((-0.3, 0.4))
    window.view.go(3)
    screen = render.to_rgb(window.view.displayed()[0], window.view.ranges()[0], window.view.display()[1], 4)
    assert window.view.ranges()[0] == pytest.approx((-0.3, 0.4))
    shot = np.asarray(Image.open(window.exports.png(tmp_path / "g.png")).convert("RGB"))
    top, left, h, w = figure.frame_figure(window.trajectory, 3, "both", *window.view.display(), 4,
                                          window.view.ranges()[0], True).boxes[0]
    assert np.array_equal(shot[top:top + h, left:left + w], screen)
    assert len(window.exports.frames(tmp_path / "frames")) == 7
    assert window.exports.gif(tmp_path / "a.gif").stat().st_size > 0
    assert export.read_png_metadata(window.exports.sheet(tmp_path / "s.png"))["sampler"] == "ddim"
    window.view.go(0)                                     # an early step's range on screen: not the sheet's, nor
    sheet = window.exports.sheet(tmp_path / "s0.png")     # the GIF's (it saturated every later row)
    cli = export.save_contact_sheet(tmp_path / "cli.png", window.trajectory, 8, "x0_hat", cmap=window.view.display()[1])
    assert Image.open(sheet).tobytes() == Image.open(cli).tobytes()
    assert window.exports.npz(tmp_path / "run.npz").exists()
    assert window.exports.gif(tmp_path / "missing" / "a.gif") is None
    assert "no such folder" in window.message.text()


def test_settings_persist(qtbot, tmp_path, tiny_ckpt):
    path = str(tmp_path / "s.ini")
    win = open_window(qtbot, QSettings(path, QSettings.IniFormat), checkpoint_path=tiny_ckpt.path)
    configure(win, "ode", 17, 5, 42)
    win.close()
    again = open_window(qtbot, QSettings(path, QSettings.IniFormat))
    assert again.run_panel.sampler_box.currentData() == "ode" and again.run_panel.steps_box.value() == 17
    assert again.run_panel.batch_box.value() == 5 and again.run_panel.seed_box.value() == 42
    assert again.model is not None and again.model.sha256 == tiny_ckpt.sha256
    assert again.recent.files()[0].endswith("tiny.safetensors")


def test_the_first_model_gets_its_own_defaults_unless_the_settings_were_for_its_kind(qtbot, tmp_path, tiny_ckpt):
    """Settings saved with a model of another kind (here a WCRG's ODE 17), or saved before the
    kind was recorded, do not carry over to the first model opened: it gets its own default
    sampler and steps; the batch and seed are kept."""
    for kind in ("wcrg", None):
        path = str(tmp_path / f"{kind}.ini")
        s = QSettings(path, QSettings.IniFormat)
        for key, value in (("sampler", "ode"), ("steps", 17), ("batch", 5), ("seed", 42)) + ((("kind", kind),) if kind else ()):
            s.setValue(key, value)
        s.sync()
        win = open_window(qtbot, QSettings(path, QSettings.IniFormat), checkpoint_path=tiny_ckpt.path)
        qtbot.addWidget(win)
        first = win.model.samplers[0]
        assert (first, win.model.default_steps(first)) != ("ode", 17)
        assert win.run_panel.sampler_box.currentData() == first
        assert win.run_panel.steps_box.value() == win.model.default_steps(first)
        assert win.run_panel.batch_box.value() == 5 and win.run_panel.seed_box.value() == 42
        assert not win.run_panel.coarse_box.isEnabled()      # a diffusion model has one scale
        win.close()


def test_a_models_recorded_default_run_reaches_the_run_panel_unless_the_user_chose(window, qtbot, tmp_path, tiny_ckpt):
    """Two models of one kind: the second's default run (its file's) replaces the first's while
    the panel shows the first's untouched; steps the user typed stay."""
    import shutil
    tuned = tmp_path / "tuned.safetensors"
    shutil.copy(tiny_ckpt.path, tuned)
    open_model(tuned).write_default("dpm2m", 7, "test")
    panel = window.run_panel
    first = (window.model.samplers[0], window.model.default_steps(window.model.samplers[0]))
    assert (panel.sampler_box.currentData(), panel.steps_box.value()) == first != ("dpm2m", 7)
    assert opened(qtbot, window, tuned)
    assert (panel.sampler_box.currentData(), panel.steps_box.value()) == ("dpm2m", 7)
    panel.steps_box.setValue(9)                                    # the user's own
    assert opened(qtbot, window, tiny_ckpt.path)
    assert (panel.sampler_box.currentData(), panel.steps_box.value()) == ("dpm2m", 9)


def test_the_batch_is_the_models_default_until_the_user_sets_one(window, qtbot, tiny_ckpt):
    """16 fields of a small model, 1 of a 256 x 256 one (`default_batch`: at most 16 x 64 x 64
    values), as `explorer sample` draws without --n; a batch the user set stays."""
    from explorer.core.models import bundle, default_batch

    big = bundle.bundled_dir() / "turbulence256-gaussian.gauss.safetensors"
    panel = window.run_panel
    assert panel.batch_box.value() == 16 == RunSpec().resolved(window.model).n
    assert opened(qtbot, window, big)
    assert panel.batch_box.value() == 1 == default_batch(window.model) == RunSpec().resolved(window.model).n
    assert opened(qtbot, window, tiny_ckpt.path)
    assert panel.batch_box.value() == 16
    panel.batch_box.setValue(3)                                    # the user's own
    assert opened(qtbot, window, big)
    assert panel.batch_box.value() == 3


def test_closing_during_a_run_stops_it_cleanly(qtbot, window):
    configure(window, "sde", 2000, 4, 0)
    window.start_run()
    qtbot.waitUntil(lambda: len(window.view.frames) >= 2, timeout=30000)
    window.close()
    assert window.controller.stop(timeout_ms=0)              # the thread has already ended


def test_many_repaints_in_one_process(qtbot):
    """Catches the PySide6 6.12.0 refcount corruption (abort after ~60 frame changes)."""
    import pyqtgraph as pg
    iv = pg.ImageView()
    qtbot.addWidget(iv)
    iv.show()
    rng = np.random.default_rng(0)
    for k in range(300):
        iv.setImage(rng.normal(size=(32, 32)).astype(np.float32), autoLevels=k % 50 == 0)
        iv.repaint()
        qtbot.wait(0)
    assert iv.image.shape == (32, 32)


def test_wcrg_model_runs_and_the_scale_view_shows_its_pyramid(qtbot, window, tiny_wcrg, tiny_ckpt):
    import torch

    from explorer.core.statistics import wavelets
    assert opened(qtbot, window, tiny_wcrg.path)
    assert window.model.kind == "wcrg" and "WCRG" in window.info.toPlainText()
    panel = window.run_panel
    assert panel.coarse_box.isEnabled() and panel.coarse_box.currentData() is None
    assert not panel.coarse_steps_box.isEnabled()          # "as above": no steps of its own to show
    configure(window, "ddim", 3, 2, 0)
    panel.set_spec(coarse_sampler="sde", coarse_steps=5)          # x_J by its own sampler, then the details
    assert panel.coarse_steps_box.isEnabled()
    run_to_end(qtbot, window)
    assert len(window.trajectory.frames) == 6 + 2 * 4 and window.trajectory.meta["coarse_sampler"] == "sde"
    assert "ddim, 3 steps (coarse scale: sde, 5 steps), seed 0" in window.view.title.text()
    one_scale = open_model(tiny_ckpt.path)                        # e.g. the Compare tab's pair: the row is not theirs
    assert window._spec(one_scale).coarse_sampler is None and window._spec(tiny_wcrg).coarse_steps == 5
    panel.set_spec(coarse_sampler="")
    assert panel.coarse_box.isEnabled() and not panel.coarse_steps_box.isEnabled()
    run_to_end(qtbot, window)
    frames = window.trajectory.frames
    assert len(frames) == 3 * 4 and [f.scale for f in frames][-1] == 1
    view = window.view
    assert view.scale_slider.isVisible() and (view.scale_slider.minimum(), view.scale_slider.maximum()) == (1, 2)
    assert not window.analysis.fork_here(0, 2) and "one after another" in window.forks.status.text()
    view.scale_slider.setValue(2)                                  # the end of scale 2
    assert frames[view.current].scale == 2 and frames[view.current + 1].scale == 1
    labels = []                                                     # coarse x_2 (4 frames), then the details
    for k in range(len(frames)):
        view.go(k)
        labels.append(view.scale_label.text())
    assert labels == ["coarse x_2"] * 4 + ["details of scale 2"] * 4 + ["details of scale 1"] * 4
    window.tabs.setCurrentWidget(window.scales)                    # the Scales tab says the same
    view.go(1)
    assert "coarse x_2: no details are drawn yet" in window.scales.title.text()
    view.go(9)
    assert "details of scale 1" in window.scales.title.text()
    window.tabs.setCurrentWidget(window.view)
    window.tabs.setCurrentWidget(window.scales)
    window.view.go(len(frames) - 1)
    assert window.scales.J_box.value() == 2 and len(window.scales.images) == 2
    top = window.scales.images[0]                                   # the coarsest scale, j = 2
    expected = wavelets.pyramid(torch.as_tensor(frames[-1].x0_hat[:1], dtype=torch.float64), 2)
    assert np.allclose(top[0].image, expected[1]["low"][0, 0].numpy())
    assert np.allclose(window.scales.images[1][4].image, expected[0]["reconstruction"][0, 0].numpy())
    strip = window.exports.strip(window.settings.fileName() + ".strip.png")
    assert export.read_png_metadata(strip)["columns"].startswith("x_2")


def test_a_runs_statistics_arrive_from_the_run_process_only_while_it_is_the_run_shown(qtbot, window):
    """The statistics of a finished run are computed in the run process; a run replaced before they
    arrive (another run, a model change) does not get the old run's statistics drawn over it."""
    configure(window, "ddim", 4, 3, 0)
    run_to_end(qtbot, window)
    shown = window.statistics.result
    assert shown is not None and shown["n_generated"] == 3
    frames = window.trajectory.frames
    window._show_statistics(window.model, frames)                # the same run: computed again, shown
    assert window.statistics.result is None and "comparing" in window.statistics.summary.text()
    qtbot.waitUntil(lambda: not window.stats_runs.is_running() and window.statistics.result is not None, timeout=30000)
    assert window.statistics.result["power_generated"] == shown["power_generated"]
    window._show_statistics(window.model, frames)
    window.state.set_run(None)                                   # replaced before the result arrives
    qtbot.waitUntil(lambda: not window.stats_runs.is_running(), timeout=30000)
    qtbot.wait(50)
    assert window.statistics.result is None


def test_one_sample_is_shown_without_standard_errors(qtbot, window):
    """A batch of 1 (the default at 256 x 256): the statistics have no spread to make an error of, so
    the summary says so instead of "nan standard errors" and "± 0.000"."""
    from explorer.core.statistics import stats

    x = np.random.default_rng(0).normal(size=(16, 1, 16, 16)).astype(np.float32)
    window.statistics.show_samples(x[:1], stats.summary(x))
    summary = window.statistics.summary.text()
    assert "nan" not in summary and "±" not in summary and "standard errors" not in summary.split("One sample")[0]
    assert "One sample has no standard errors: raise the batch to 2 or more" in summary
    assert summary.startswith("1 generated sample against 16 of the training data.")
    window.statistics.show_samples(x[:2], stats.summary(x))
    assert "± one standard error, bootstrapped over the 2 samples" in window.statistics.summary.text()


def test_statistics_panel_compares_with_the_recorded_training_statistics(qtbot, window):
    configure(window, "ddim", 4, 6, 0)
    run_to_end(qtbot, window)
    r = window.statistics.result
    assert r is not None and r["n_generated"] == 6 and r["n_reference"] == 8
    from explorer.core.statistics import stats
    assert np.allclose(r["power_generated"], stats.radial_power_spectrum(window.trajectory.frames[-1].x0_hat)[1])
    summary = window.statistics.summary.text()
    assert "P(k)" in summary and "<|m|>" not in summary                  # images: no magnetisation
    assert "± one standard error, bootstrapped over the 6 samples" in summary
    box = window.statistics.histogram.getViewBox()
    box.updateAutoRange()                                                 # what the next paint would do
    assert box.viewRange() != [[0, 1], [0, 1]]
    key = window.statistics.key.text()                                    # what the numbered ticks stand for
    assert "triangles |k1|, |k2|, |k3|: 1: 2,2,2;" in key and "octave bands of |k|: 1: 1; 2: 2-3" in key
    ticks = window.statistics.bispectrum.getAxis("bottom")._tickLevels
    assert sorted(int(s) for level in ticks for _, s in level) == list(range(1, 1 + sum(map(len, ticks))))
    pairs = window.statistics.trispectrum.getAxis("bottom")._tickLevels[0]          # every pair labelled
    assert [s for _, s in pairs][:2] == ["1×1", "1×2"] and len(pairs) == len(r["trispectrum"]["pairs"])
    assert window.statistics.spectrum.getAxis("bottom")._tickLevels is not None
    window.statistics.clear()                                             # another model: no old axes
    box.updateAutoRange()
    assert box.viewRange() == [[0, 1], [0, 1]] and window.statistics.key.text() == ""   # nor their bands
    assert all(window.statistics.__dict__[p].getAxis("bottom")._tickLevels is None
               for p in ("spectrum", "bispectrum", "trispectrum"))



def test_an_opened_run_comes_with_the_model_that_made_it(qtbot, window, tiny_ckpt, tiny_wcrg, tmp_path):
    """File → Open run: the run's own model is opened with it (and the statistics of its
    samples shown); when that model's file is gone, Basis and Fork refuse the run, which another
    model did not make, instead of differentiating the loaded model's denoiser on it."""
    from conftest import make_tiny_checkpoint
    traj = drain(tiny_wcrg.run(RunSpec("ddim", 3, 2, 0)))
    assert window.open_run(traj.save_npz(tmp_path / "w.npz"))
    wait_open(qtbot, window)
    assert window.model.sha256 == tiny_wcrg.sha256 and tiny_wcrg.name in window.info.toPlainText()
    assert len(window.view.frames) == len(traj.frames) and not window.message.isVisible()
    qtbot.waitUntil(lambda: window.statistics.result is not None, timeout=30000)   # computed in the run process
    assert window.statistics.result["n_generated"] == 2
    spec = window.run_panel.spec()                                         # Run repeats the opened run
    assert (spec.sampler, spec.steps, spec.n, spec.seed) == ("ddim", 3, 2, 0)

    gone = make_tiny_checkpoint(tmp_path / "gone.safetensors", seed=1)
    run = drain(gone.run(RunSpec("sde", 4, 2, 0))).save_npz(tmp_path / "gone.npz")
    gone.path.unlink()
    assert opened(qtbot, window, tiny_ckpt.path) and window.open_run(run)
    wait_open(qtbot, window)
    assert window.model.sha256 == tiny_ckpt.sha256 and len(window.view.frames) == 5
    assert "shown alone" in window.message.text() and window.statistics.result is None
    window.view.go(2)
    assert not window.analysis.compute_basis(0) and "not by tiny" in window.basis.status.text()
    assert not window.analysis.fork_here(0, 2) and "not by tiny" in window.forks.status.text()


def test_compare_view_runs_both_models_from_the_same_noise(qtbot, window, tiny_ckpt, tmp_path):
    from conftest import make_tiny_checkpoint
    from PySide6.QtWidgets import QLabel

    from explorer.app.views.compare import pixmap
    from explorer.core.analysis.generalization import cosine_pairs, verdict
    other = make_tiny_checkpoint(tmp_path / "s2.safetensors", split="S2", seed=1)
    window.compare.add_pair(8, str(tiny_ckpt.path), str(other.path))
    window.compare.choose_pair(0)
    assert opened(qtbot, window, other.path)                             # a model of a pair: its pair is chosen
    assert window.compare.current_pair() == (8, str(tiny_ckpt.path), str(other.path))
    view = window.compare
    view.samples_box.setValue(3)
    view.k_box.setValue(2)
    view.set_run_choice("ddim", 4, 5)                                       # the tab's own choice
    assert view.run_choice() == ("ddim", 4, 5)
    assert window.start_compare()
    qtbot.waitUntil(lambda: not window.is_running() and window.compare.result is not None, timeout=60000)
    s1, s2 = view.s1_frames, view.s2_frames
    assert view.result["ran"] == {"S1": "tiny", "S2": "s2", "N": 8, "sampler": "ddim", "steps": 4, "seed": 5, "n": 3}
    assert len(s1) == len(s2) == 5 and np.array_equal(s1[0].x_t, s2[0].x_t)    # the same noise
    rows = view.result["analysis"]["samples"]
    assert view.table.rowCount() == 3
    assert np.allclose([r["cos_s1_s2"] for r in rows], cosine_pairs(s1[-1].x0_hat, s2[-1].x0_hat), atol=1e-5)
    assert view.result["neighbours"]["S1"].shape == (3, 2, 1, 16, 16)
    assert "Median cos(S1, S2)" in view.summary.text() and "Baseline" in view.summary.text()
    # the rows' verdicts and nearest training images: one row an event-loop turn, every row in the end
    qtbot.waitUntil(lambda: all(view.table.cellWidget(i, 4) is not None for i in range(3)), timeout=5000)
    for i, r in enumerate(rows):
        assert view.table.cellWidget(i, 2).text() == verdict(r)
        labels = [w.text() for w in view.table.cellWidget(i, 3).findChildren(QLabel) if w.text()]
        assert labels == [f"#{n}  {c:.3f}" for n, c in zip(r["S1"]["nearest_own"], r["S1"]["cos_own"])]
    models = window.state.pair
    assert window.start_compare()                                  # the same files: the same models, not reopened
    qtbot.waitUntil(lambda: not window.is_running(), timeout=60000)
    assert window.state.pair[0] is models[0] and window.state.pair[1] is models[1]
    import os
    os.utime(other.path, ns=(os.stat(other.path).st_atime_ns, os.stat(other.path).st_mtime_ns + 10 ** 9))
    assert window.start_compare() and window.models_opener.busy    # a file changed since: opened again, off the GUI thread
    window.cancel_run()                                            # cancelled while the pair opens: it does not run
    qtbot.waitUntil(lambda: not window.models_opener.busy, timeout=60000)
    qtbot.wait(50)
    assert not window.is_running() and window.state.pair[0] is models[0]
    assert window.start_compare() and window.models_opener.busy
    qtbot.waitUntil(lambda: not window.models_opener.busy and not window.is_running(), timeout=60000)
    assert window.state.pair[0] is not models[0] and window.state.pair[1] is not models[1]
    view.slider.setValue(0)
    assert "step 0" in view.step_label.text()
    along = view.result["along"]                                 # the along-the-run plot, its line at the step
    assert view.sweep_tabs.currentIndex() == 0 and view.step_line.isVisible()
    assert view.step_line.value() == pytest.approx(np.log10(along["level"][0]))
    assert f"cos {along['cos_s1_s2']['samples'][0][1]:.2f}" in view.table.verticalHeaderItem(1).text()
    view.step_line.setValue(np.log10(along["level"][2]) + 0.01)      # dragged near step 2: both runs go there
    view.step_line.sigPositionChangeFinished.emit(view.step_line)
    assert view.slider.value() == 2 and f"σ/α = {along['level'][2]:.3g}" in view.step_label.text()
    assert f"cos(S1, S2) {along['cos_s1_s2']['mean'][2]:.2f}" in view.along_plot.getPlotItem().titleLabel.text
    view.shown_box.setCurrentIndex(view.shown_box.findData("x_t"))               # the samples' x_t at that step
    x_t = np.asarray(s2[2].x_t)
    assert view.table.cellWidget(0, 1).pixmap().toImage() == pixmap(render.tile(x_t[:1]),
                                                                    render.default_display_range(x_t), "grey").toImage()
    label = view.table.cellWidget(0, 1)
    view.slider.setValue(4)
    assert view.table.cellWidget(0, 1) is label                      # a step redraws the cell's label, not a new one
    assert not view.step_line.isVisible()                            # the final denoised step: σ/α = 0
    assert window.run_panel.run_button.isEnabled(), window.statusBar().currentMessage()
    last = view.table.rowCount() - 1
    view.show_result(dict(view.result), view.frames, "grey")           # as many rows again: none shows the old cells
    assert view.table.cellWidget(last, 3) is None and view.table.cellWidget(last, 2) is None
    qtbot.waitUntil(lambda: view.table.cellWidget(last, 3) is not None, timeout=5000)
    window.compare.add_pair(8, str(other.path), str(tiny_ckpt.path))     # another pair: not under the old result
    assert view.result is None and view.table.rowCount() == 0 and view.summary.text() == view.HINT


def test_a_pair_runs_with_its_own_defaults_not_the_open_models_run_panel(qtbot, window, tiny_ckpt, tiny_wcrg, tmp_path):
    """Defect 8: after opening a model of another kind and changing the Run panel, a pair still runs
    with the S1 model's default sampler and steps and says what ran; the training sets are announced."""
    from conftest import make_tiny_checkpoint
    other = make_tiny_checkpoint(tmp_path / "s2.safetensors", split="S2", seed=1)
    view = window.compare
    view.add_pair(8, str(tiny_ckpt.path), str(other.path))
    assert opened(qtbot, window, tiny_wcrg.path)
    configure(window, "ode", 7, 2, 9)
    view.samples_box.setValue(2)
    default = tiny_ckpt.samplers[0]
    assert view.sampler_box.count() == 0                          # the pair's samplers are read when the tab is shown
    window.tabs.setCurrentWidget(view)                            # ... off the GUI thread: the pair opens
    qtbot.waitUntil(lambda: view.sampler_box.currentText() == f"default: {default}", timeout=10000)
    assert view.sampler_box.currentData() is None
    assert view.steps_box.text() == f"default ({tiny_ckpt.default_steps(default)})"
    told, bar = [], []
    window.controller.told.connect(told.append)
    window.controller.told.connect(lambda text: bar.append(window.progress.maximum()))   # after the feed's slot
    assert window.start_compare()
    assert not view.samples_box.isEnabled() and not view.k_box.isEnabled()     # what runs is what was set
    qtbot.waitUntil(lambda: not window.is_running() and view.result is not None, timeout=120000)
    assert view.samples_box.isEnabled() and view.k_box.isEnabled()
    assert bar[0] == 0 and window.progress.maximum() > 0          # busy while the sets are built, then frames
    n, rate, _ = window.controller.progress()
    assert rate > n / window.controller.elapsed                   # the rate from the first frame on, not the build
    for side in ("S1", "S2"):
        meta = view.result["meta"][side]
        assert (meta["sampler"], meta["steps"], meta["seed"]) == (default, tiny_ckpt.default_steps(default), 0)
    assert (f"Ran {default}, {tiny_ckpt.default_steps(default)} steps, seed 0, 2 samples per model; N = 8 training "
            f"images each.") in view.summary.text()
    assert told[:2] == [f"building the {s} training set (8 images; made once, then cached)…" for s in ("S1", "S2")]


def faulty_run(fault, at_step, model, spec):
    """A run for the window (a module-level function: runs travel to the run process by pickle):
    the real model's run, whose denoiser faults from call `at_step` on."""
    from explorer.core.sampling import samplers as s

    calls = {"n": 0}

    def denoiser(x, t):
        calls["n"] += 1
        y = model.denoiser(x, t)
        return fault(y) if calls["n"] > at_step else y
    x = s.initial_noise((spec.n, *model.image_shape), seed=spec.seed)
    return s.sample(denoiser, x, spec.sampler, spec.steps, seed=spec.seed)


def nan_fault(y):
    return y * float("nan")


def oom_fault(y):
    import torch

    raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 8.00 GiB")


def faulty_window(qtbot, tmp_path, tiny_ckpt, fault, at_step):
    win = open_window(qtbot, QSettings(str(tmp_path / "f.ini"), QSettings.IniFormat), checkpoint_path=tiny_ckpt.path,
                     run_factory=partial(faulty_run, fault, at_step))
    win.show()
    return win


def test_nan_mid_run_stops_with_the_step_and_keeps_the_frames(qtbot, tmp_path, tiny_ckpt):
    window = faulty_window(qtbot, tmp_path, tiny_ckpt, nan_fault, 4)
    configure(window, "ddim", 10, 2, 0)
    run_to_end(qtbot, window)
    assert "NaN or Inf at step 4" in window.message.text()
    assert len(window.trajectory.frames) == 4 and "kept" in window.message.text()
    assert window.run_panel.run_button.isEnabled()


def test_out_of_memory_mid_run_suggests_a_smaller_batch(qtbot, tmp_path, tiny_ckpt):
    window = faulty_window(qtbot, tmp_path, tiny_ckpt, oom_fault, 3)
    configure(window, "ddim", 10, 2, 0)
    run_to_end(qtbot, window)
    assert "smaller batch" in window.message.text() and "CPU" in window.message.text()
    assert len(window.trajectory.frames) == 3
    window.run_factory = run_model
    configure(window, "ddim", 3, 2, 0)                          # still usable
    run_to_end(qtbot, window)
    assert len(window.trajectory.frames) == 4 and not window.message.isVisible()


def test_basis_tab_computes_the_basis_of_the_current_step(qtbot, tiny_ckpt, tmp_path):
    from PySide6.QtCore import QSettings

    win = open_window(qtbot, QSettings(str(tmp_path / "s.ini"), QSettings.IniFormat), checkpoint_path=tiny_ckpt.path)
    win.show()
    assert not win.analysis.compute_basis(0) and "Run the model first" in win.basis.status.text()
    win.run_panel.set_spec(sampler="ddim", steps=6, n=2, seed=0, device="cpu")
    win.start_run()
    qtbot.waitUntil(lambda: not win.is_running(), timeout=60000)
    win.view.go(len(win.view.frames) - 1)                  # the final image has no noise: the step before it
    assert win.view.frames[-1].t == 0 and win.view.frames[-2].t > 0
    assert win.analysis.compute_basis(0)
    qtbot.waitUntil(lambda: not win.analysis.is_running(), timeout=60000)
    last = len(win.view.frames) - 1
    assert win.basis.status.text().startswith(f"step {last - 1} (step {last}, the final image, has no noise level), "
                                              "sample 0"), win.basis.status.text()
    win.view.go(3)
    shown = []
    win.analysis.controller.yielded.connect(lambda _: shown.append(win.basis.status.text()))    # after the tab's slot
    assert win.analysis.compute_basis(1)
    qtbot.waitUntil(lambda: not win.analysis.is_running(), timeout=60000)
    dim = win.view.frames[0].x_t[0].size
    assert shown[-1] == f"computing: {dim} of {dim} Jacobian columns…"        # columns done, not chunks
    text = win.basis.status.text()
    assert text.startswith("step 3, sample 1") and "effective dimension" in text, text
    assert len(win.basis.values_plot.getPlotItem().listDataItems()) == 1
    assert win.analysis.compute_effective_dimension(0)
    qtbot.waitUntil(lambda: not win.analysis.is_running(), timeout=60000)
    assert "effective dimension tr A at every step" in win.basis.status.text(), win.basis.status.text()
    win.basis.pair_box.setChecked(True)
    assert not win.analysis.compute_basis(0) and "not one of the bundled" in win.basis.status.text()



def test_fork_tab_forks_the_run_and_draws_the_spread(qtbot, tiny_ckpt, tmp_path):
    from PySide6.QtCore import QSettings

    win = open_window(qtbot, QSettings(str(tmp_path / "s.ini"), QSettings.IniFormat), checkpoint_path=tiny_ckpt.path)
    win.show()
    assert not win.analysis.fork_here(0, 4) and "Run the model" in win.forks.status.text()
    win.run_panel.set_spec(sampler="sde", steps=6, n=2, seed=0, device="cpu")
    win.start_run()
    qtbot.waitUntil(lambda: not win.is_running() and win.trajectory is not None, timeout=60000)
    win.view.go(2)
    assert win.analysis.fork_here(1, 4)
    qtbot.waitUntil(lambda: not win.analysis.is_running(), timeout=60000)
    assert win.forks.status.text().startswith("4 endings from step 2"), win.forks.status.text()
    assert win.analysis.fork_curve(0, 3)
    qtbot.waitUntil(lambda: not win.analysis.is_running(), timeout=60000)
    assert win.forks.status.text().startswith("the spread of the endings")
    assert len(win.forks.spread_plot.getPlotItem().listDataItems()) == 1


def allocating_run(model, spec):
    junk = [[i] for i in range(50000)]           # 5e4 containers: far past gen 0's threshold of 700
    del junk
    return (yield from model.run(spec))


def test_garbage_is_collected_in_the_gui_thread_while_a_run_allocates(qtbot, tmp_path, tiny_ckpt):
    """Collected in a run's thread, a dead Qt object deadlocks the window (Qt's lock against the GIL)."""
    import threading


    threads = []

    class Cycle:
        def __init__(self):
            self.me = self

        def __del__(self):
            threads.append(threading.current_thread())

    win = open_window(qtbot, QSettings(str(tmp_path / "g.ini"), QSettings.IniFormat), checkpoint_path=tiny_ckpt.path,
                     run_factory=allocating_run)
    win.show()
    for _ in range(100):
        Cycle()                                       # unreachable, left for the cyclic collector
    configure(win, "ddim", 3, 1, 0)
    run_to_end(qtbot, win)
    kept = [[i] for i in range(1000)]                # past gen 0's threshold, so the GUI timer collects
    qtbot.waitUntil(lambda: len(threads) == 100, timeout=5000)
    del kept
    assert set(threads) == {threading.main_thread()}
    win.close()
    import gc
    assert gc.isenabled()


def test_the_window_fits_a_1000_by_700_screen_with_every_tab(window):
    """Qt cannot shrink a window below its layouts' minimum: a wider minimum cuts every tab off on the right."""
    need = window.minimumSizeHint()
    assert need.width() <= 1000 and need.height() <= 700, need
    window.resize(1000, 700)
    for i in range(window.tabs.count()):
        window.tabs.setCurrentIndex(i)
        tab = window.tabs.widget(i)
        assert tab.minimumSizeHint().width() <= window.tabs.width(), window.tabs.tabText(i)


def test_closing_the_window_ends_every_thread_it_started(window):
    """The Compare tab, shown, opens its pair off the GUI thread; closed at once, the window waits
    for that thread. Left running, it collected the closed window's Qt objects off the GUI thread
    and the suite hung (in CI, right after the test above)."""
    before = set(threading.enumerate())
    window.tabs.setCurrentWidget(window.compare)
    assert window.models_opener.busy
    started = set(threading.enumerate()) - before
    assert started
    window.close()
    assert not [t.name for t in started if t.is_alive()]
    window.with_models([window.model.path], print, print)          # a closed window opens nothing more
    assert not window.models_opener.busy


def test_basis_and_fork_with_no_model_loaded_ask_for_one(qtbot, tmp_path, tiny_ckpt):
    """A run shown alone (its model's file gone) in a window that has no model: a message, no crash."""
    from conftest import make_tiny_checkpoint

    gone = make_tiny_checkpoint(tmp_path / "gone.safetensors", seed=2)
    run = drain(gone.run(RunSpec("sde", 4, 2, 0))).save_npz(tmp_path / "gone.npz")
    gone.path.unlink()
    win = open_window(qtbot, QSettings(str(tmp_path / "s.ini"), QSettings.IniFormat), checkpoint_path=tmp_path / "missing")
    assert win.model is None and win.open_run(run)
    wait_open(qtbot, win)
    assert "shown alone" in win.message.text()
    assert not win.analysis.compute_basis(0) and win.basis.status.text() == "Open a model first."
    assert not win.analysis.fork_here(0, 2) and win.forks.status.text() == "Open a model first."


def test_choosing_two_models_that_cannot_pair_is_refused_at_once(qtbot, window, tiny_ckpt, tmp_path, monkeypatch):
    from conftest import make_tiny_checkpoint
    from PySide6.QtWidgets import QFileDialog
    small = make_tiny_checkpoint(tmp_path / "small.safetensors", size=8, split="S2")
    answers = iter([(str(tiny_ckpt.path), ""), (str(small.path), "")])
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: next(answers))
    pairs = window.compare.pair_count()
    window.compare_dialog()
    qtbot.waitUntil(lambda: "Could not pair these models" in window.message.text(), timeout=10000)
    assert window.compare.pair_count() == pairs


def test_what_a_model_cannot_do_is_shown_when_it_loads(qtbot, window, tiny_wcrg, tiny_ckpt):
    """The Basis and Fork buttons follow the model's declared capabilities, with the reason shown."""
    assert window.basis.compute_button.isEnabled() and window.forks.fork_button.isEnabled()
    assert opened(qtbot, window, tiny_wcrg.path)
    assert not window.basis.compute_button.isEnabled() and "no single denoiser" in window.basis.status.text()
    assert not window.forks.curve_button.isEnabled() and window.forks.status.text() == tiny_wcrg.fork_refusal
    window.basis.set_busy(False)                                     # the end of a computation does not undo it
    assert not window.basis.dimension_button.isEnabled()
    assert opened(qtbot, window, tiny_ckpt.path)
    assert window.basis.compute_button.isEnabled() and window.forks.fork_button.isEnabled()
    assert window.forks.status.text() == window.forks.HINT


def test_the_window_answers_while_a_slow_model_opens_and_the_newest_request_wins(qtbot, tmp_path, tiny_ckpt,
                                                                                 tiny_wcrg, monkeypatch):
    """A model is opened off the GUI thread: the window is built and answers while it arrives, Run
    waits for it, and of two requests the later one is the model."""
    gate, real = threading.Event(), registry.open_model

    def slow(path):
        if Path(path) == Path(tiny_ckpt.path):
            assert gate.wait(30)
        return real(path)

    monkeypatch.setattr(registry, "open_model", slow)
    win = MainWindow(QSettings(str(tmp_path / "s.ini"), QSettings.IniFormat), checkpoint_path=tiny_ckpt.path)
    qtbot.addWidget(win)
    win.show()
    qtbot.wait(100)                                                    # the event loop turns meanwhile
    assert win.opener.busy and win.model is None and "Opening tiny.safetensors" in win.statusBar().currentMessage()
    assert not win.start_run() and "opening" in win.message.text()
    assert win.open_checkpoint(tiny_wcrg.path)                         # asked for after: it wins
    gate.set()
    wait_open(qtbot, win)
    assert win.model.kind == "wcrg" and win.opener.last_error is None
