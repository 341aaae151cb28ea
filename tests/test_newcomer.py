"""What a new user tripped on (#32): each test failed before its fix."""
import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPoint, Qt, QUrl
from PySide6.QtGui import QDropEvent
from windows import opened, run, wait_open

from explorer.core.models import bundle, open_model

pytest.importorskip("pytestqt")


def test_the_window_fits_the_screen_and_shows_run(qtbot, window):
    """Defect 4: the window opened at 1280 x 820 whatever the screen. Every panel now fits a
    1000 x 700 screen (less a window manager's frame), and the window takes the screen's room."""
    least = window.minimumSizeHint()
    assert least.width() <= 1000 - 16 and least.height() <= 700 - 40, least
    room = window.screen().availableGeometry()                  # offscreen: 800 x 800
    assert window.width() <= max(room.width() - 16, least.width()) and window.height() <= room.height() - 40
    button = window.run_panel.run_button
    corner = button.mapTo(window, QPoint(button.width(), button.height()))
    assert button.isVisible() and window.rect().contains(corner)


def test_a_model_clicked_during_a_run_is_not_highlighted(qtbot, window):
    """Defect 3: the list highlighted the clicked model though the window kept (and re-ran) the old one."""
    bundled = window.model_dock.bundled
    window.run_panel.set_spec(device="cpu", sampler="sde", steps=400, n=4)
    assert window.start_run()
    other = bundled.item(1)
    bundled.setCurrentItem(other)
    bundled.itemClicked.emit(other)
    assert "Cancel the current run" in window.message.text()
    assert bundled.currentItem() is None or bundled.currentItem() is not other
    window.cancel_run()
    qtbot.waitUntil(lambda: not window.is_running(), timeout=30000)
    assert bundled.currentItem() is not other
    assert window.banner.isHidden()                       # the refusal ended with the run (the tabs move once, now)


def test_a_dropped_run_opens_as_a_run(qtbot, window, tmp_path):
    """Defect 5: dropping a saved run was refused as 'not a safetensors file (it looks like a pickle…)'."""
    run(qtbot, window, sampler="ddim", steps=5, n=2)
    path = window.trajectory.save_npz(tmp_path / "a run.npz")
    frames = len(window.trajectory.frames)
    window.view.clear()
    data = QMimeData()
    data.setUrls([QUrl.fromLocalFile(str(path))])
    event = QDropEvent(QPoint(5, 5), Qt.CopyAction, data, Qt.LeftButton, Qt.NoModifier)
    window.dropEvent(event)
    wait_open(qtbot, window)
    assert len(window.view.frames) == frames and not window.message.isVisible()


def test_a_zip_opened_as_a_model_says_what_it_is(tmp_path):
    """Defect 5: an npz is a zip, not a pickle."""
    z = tmp_path / "run.safetensors"
    np.savez(z.with_suffix(".npz"), a=np.zeros(3))
    z.write_bytes(z.with_suffix(".npz").read_bytes())
    with pytest.raises(Exception) as e:
        open_model(z)
    assert "zip" in str(e.value) and "Open run" in str(e.value)


def test_the_open_dialog_hides_the_bundled_list(qtbot, tmp_path):
    """Defect 11: the Open model dialog offered checkpoints/index.json, which no model is."""
    from PySide6.QtWidgets import QFileSystemModel, QWidget

    from explorer.app.model_dock import ModelFilter

    wcrg = tmp_path / "m.wcrg"
    wcrg.mkdir()
    for name in ("index.json", "lowpass.safetensors"):
        (wcrg / name).write_text("{}")
    (tmp_path / "index.json").write_text("{}")
    (tmp_path / "a.safetensors").write_text("")
    owner = QWidget()                         # the model's file-watcher thread ends with the test, not at exit
    qtbot.addWidget(owner)
    source = QFileSystemModel(owner)
    proxy = ModelFilter(owner)
    proxy.setSourceModel(source)

    def listed(folder):
        root = source.setRootPath(str(folder))
        qtbot.waitUntil(lambda: source.rowCount(root) > 0, timeout=5000)
        rows = [source.index(r, 0, root) for r in range(source.rowCount(root))]
        return {source.fileName(i) for i in rows if proxy.filterAcceptsRow(i.row(), root)}

    assert listed(tmp_path) == {"m.wcrg", "a.safetensors"}
    assert listed(wcrg) == {"index.json", "lowpass.safetensors"}


def test_a_bundled_model_tooltip_says_each_thing_once(qtbot):
    """Defect 12: the tooltip repeated the data, N and split its description gives."""
    from explorer.app.model_dock import tooltip

    for e in bundle.bundled_index():
        tip = tooltip(e)
        assert tip.count(f"N={e['n']}") + tip.count(f"N = {e['n']}") <= 1, tip
        assert e["file"] in tip


def test_x_t_over_alpha_is_shown_in_x0_hat_colours(qtbot, window):
    """Defect 6: each frame auto-ranged, x_t and x_t / α gave pixel-identical pictures."""
    run(qtbot, window, sampler="ddim", steps=20, n=4, seed=1)
    view = window.view
    view.go(10)
    xt_raw = view.xt_bar.levels()
    view.xt_box.setCurrentText("x_t / α")
    assert view.ranges()[0] == view.ranges()[1] == tuple(view.xt_bar.levels())       # x0 + (σ/α) z in x0_hat's colours
    assert tuple(xt_raw) != tuple(view.xt_bar.levels())


def test_the_colour_bars_read_the_colour_scale(qtbot, window, tiny_ckpt):
    """Defect 7: the colour bar's numbers were the histogram's range, not where the colours saturate;
    before a run it kept the last run's range; x_t had no colour bar."""
    from explorer.app.views.trajectory import TrajectoryView
    fresh = TrajectoryView()
    qtbot.addWidget(fresh)
    assert not fresh.histogram.region.isVisible()                 # a new view: no band over no data
    run(qtbot, window, sampler="ddim", steps=20, n=4, seed=1)
    view = window.view
    view.go(10)
    assert view.histogram.getHistogramRange() == pytest.approx(view.histogram.getLevels())
    assert tuple(view.xt_bar.levels()) == pytest.approx(view.ranges()[0])
    assert view.histogram.region.isVisible()                      # the levels' region over the histogram
    window.view.clear("next")                                     # blanked in an event-loop turn of their own
    qtbot.waitUntil(lambda: view.histogram.getLevels() == pytest.approx((0, 1)), timeout=2000)
    assert tuple(view.xt_bar.levels()) == pytest.approx((0, 1))
    assert not view.histogram.region.isVisible()                  # no blue band over an empty histogram


def test_play_speed_and_loop(qtbot, window):
    """Build item 6: the trajectory plays at a chosen speed and, looped, starts again after the last step."""
    run(qtbot, window, sampler="ddim", steps=6, n=1)
    view = window.view
    view.speed_box.setCurrentText("50 frames/s")
    assert view._play_timer.interval() == 20
    view.loop_box.setChecked(True)
    view.go(0)
    view.toggle_play()
    shown = []
    view.step_changed.connect(shown.append)
    qtbot.waitUntil(lambda: 6 in shown and 1 in shown[shown.index(6):], timeout=5000)     # after the last, round again
    assert view._play_timer.isActive()
    view.loop_box.setChecked(False)
    qtbot.waitUntil(lambda: not view._play_timer.isActive(), timeout=5000)
    assert view.current == 6 and view.play_button.text() == "Play"


def test_the_run_panel_offers_the_model_s_samplers_only_and_keeps_its_size(qtbot, window, tiny_ckpt, tiny_wcrg):
    """Defect 13: greyed-out lbfgs / spectral listed for a diffusion model; the panel (and Run) changed
    size with the model kind; the Scales tab wrote σ where the Trajectory tab writes σ/α."""
    from explorer.core.sampling import catalogue

    panel = window.run_panel
    scattering = bundle.bundled_dir() / "phi4-scattering.scat.safetensors"
    assert opened(qtbot, window, scattering, remember=False)             # adds its sampler, lbfgs, to the list
    assert opened(qtbot, window, tiny_ckpt.path, remember=False)             # a diffusion model again
    listed = [panel.sampler_box.itemData(i) for i in range(panel.sampler_box.count())
              if not panel.sampler_box.view().isRowHidden(i)]
    assert set(listed) == set(window.model.samplers) and "lbfgs" not in listed
    assert all(panel.sampler_box.itemData(i, Qt.ToolTipRole) for i in range(panel.sampler_box.count()))
    before = panel.run_button.mapTo(window, QPoint(0, 0)), panel.run_button.size()
    assert opened(qtbot, window, tiny_wcrg.path, remember=False)
    qtbot.wait(50)
    assert (panel.run_button.mapTo(window, QPoint(0, 0)), panel.run_button.size()) == before
    assert panel.coarse_box.isEnabled()
    run(qtbot, window, sampler="ddim", steps=2, n=1)
    window.scales.show_frame(window.trajectory.frames[1], 1, len(window.trajectory.frames))
    window.scales.redraw()
    assert "σ/α = " in window.scales.title.text() and catalogue.TIPS


def test_no_minus_sign_on_zero():
    """Defect 13: '-0.0' on the Basis tab."""
    from explorer.core.display.render import number

    assert number(-0.04, ".1f") == "0.0" and number(-0.06, ".1f") == "-0.1" and number(0.0, ".3f") == "0.000"


def test_a_model_that_cannot_fork_says_so_after_a_run(qtbot, window, tiny_wcrg):
    """Defect 13: Fork on a WCRG model did not say it refused once a run had cleared the tab."""
    assert opened(qtbot, window, tiny_wcrg.path, remember=False)
    run(qtbot, window, sampler="ddim", steps=2, n=1)
    assert not window.forks.fork_button.isEnabled()
    assert window.forks.status.text() == window.model.fork_refusal


def axis_labels(axis) -> list[tuple[float, str]]:
    """The (position, text) of every labelled tick of a pyqtgraph axis as it would draw them."""
    lo, hi = axis.range
    if axis._tickLevels is not None:
        return [(v, s) for level in axis._tickLevels for v, s in level if lo <= v <= hi]
    out = []
    for spacing, values in axis.tickValues(lo, hi, axis.width()):
        out += [(v, s) for v, s in zip(values, axis.tickStrings(values, axis.autoSIPrefixScale, spacing)) if s]
    return out


def test_the_fork_curve_s_log_axis_labels_stand_apart(qtbot, window):
    """Defect 10: the spread curve's log axis wrote '0.050.060.070.08', one label on another."""
    from PySide6.QtGui import QFontMetrics

    view = window.forks
    window.tabs.setCurrentWidget(view)
    view.show_curve([{"level": s, "spread": 0.1 * s} for s in np.geomspace(0.02, 20, 8)])     # 8 forks along a run
    qtbot.wait(50)
    axis = view.spread_plot.getAxis("bottom")
    lo, hi = axis.range
    metrics = QFontMetrics(axis.style.get("tickFont") or view.font())
    placed = sorted(((v - lo) / (hi - lo) * axis.width(), metrics.horizontalAdvance(s)) for v, s in axis_labels(axis))
    assert placed
    for (x1, w1), (x2, w2) in zip(placed, placed[1:]):
        assert x2 - x1 > (w1 + w2) / 2, placed


def test_an_error_banner_can_be_closed(qtbot, window):
    """Defect 11: error banners had no close button."""
    from PySide6.QtWidgets import QToolButton

    window.show_message("Something went wrong.")
    assert window.message.isVisible()
    (close,) = window.banner.findChildren(QToolButton)
    close.click()
    assert not window.message.isVisible() and not window.banner.isVisible()


def test_what_a_new_user_met_in_the_second_look(qtbot, window, tmp_path):
    """A second look as a new user (#32): the hint "End follows the run" stayed under a finished run;
    a saved Statistics plot had no legend (it sat outside the plot); opening a run said "loaded MODEL"."""
    run(qtbot, window, sampler="ddim", steps=6, n=4)
    window.view.go(2)
    assert "step 2/6" in window.view.label.text() and "End follows" not in window.view.label.text()
    qtbot.waitUntil(lambda: window.statistics.spectrum.getPlotItem().legend is not None
                    and len(window.statistics.spectrum.getPlotItem().legend.items) == 2, timeout=10000)
    path = window.trajectory.save_npz(tmp_path / "r.npz")
    assert window.open_run(path)
    wait_open(qtbot, window)
    assert window.statusBar().currentMessage() == "opened the run r.npz: 7 frames"
