"""The guided tour, walked offscreen on the bundled models: every stop opens what it names, shows its
tab, runs, and says its formula; moving on or leaving in the middle of a run cancels it."""
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QTabWidget
from windows import open_window

from explorer.app.tour import OFFERED
from explorer.app.tour_stops import STOPS

pytest.importorskip("pytestqt")


@pytest.fixture
def window(qtbot, tmp_path):
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat)
    win = open_window(qtbot, settings)                       # the bundled default model
    win.ask_before_closing_a_run = False
    win.show()
    yield win
    win.tour.leave()
    win.tour.data.stop(wait=60)
    win.controller.stop()
    win.analysis.controller.stop()


def shows_what_it_claims(window, stop) -> None:
    tour = window.tour
    said = tour.panel.shown_text()
    assert stop.title in said and stop.formula in said and tour.panel.status.text() == "ready", said
    assert window.tabs.tabText(window.tabs.currentIndex()) == stop.tab
    if stop.pair is not None:
        n, s1, _ = window.compare.current_pair()
        assert n == stop.pair and Path(window.model.path).resolve() == Path(s1).resolve()
        result = window.compare.result
        assert result is not None and result["pair"][0] == stop.pair
        assert window.compare.table.rowCount() == stop.samples
    else:
        assert Path(window.model.path).name == stop.model
        meta, frames = window.trajectory.meta, window.view.frames
        assert window.feed.outcome == "done" and len(frames) > 1
        assert (meta["sampler"], meta["steps"], meta["n"]) == (stop.run["sampler"], stop.run["steps"], stop.run["n"])
        assert window.view.xt_box.currentText() == stop.xt
        if stop.at is not None:
            assert abs(np.log(frames[window.view.current].level / stop.at)) < 0.7
    if stop.panel:
        inner = [t for t in window.tabs.currentWidget().findChildren(QTabWidget)
                 if any(t.tabText(i).startswith(stop.panel) for i in range(t.count()))]
        assert inner and inner[0].tabText(inner[0].currentIndex()).startswith(stop.panel)
    if "basis" in stop.then:
        assert window.basis.status.text().startswith("step") and window.basis.values_plot.isVisible()
    if "fork" in stop.then:
        assert "endings from step" in window.forks.status.text() or window.forks.spread_plot.isVisible()
    if "spread" in stop.then:
        assert window.forks.spread_plot.isVisible()
    if stop.tab == "Statistics":
        assert window.statistics.result is not None
    if stop.tab == "Scales":
        assert window.scales.frame is not None


def wait_for(qtbot, tour, done, timeout: int = 60_000) -> None:
    """Wait for done(); on a timeout, say where the tour stood."""
    try:
        qtbot.waitUntil(done, timeout=timeout)
    except qtbot.TimeoutError:
        pytest.fail(f"stop {tour.index + 1}, phase {tour.phase!r}: {tour.panel.status.text()!r}; "
                    f"{tour.window.message.text()!r}")


def waits_for_its_training_sets(window, stop) -> None:
    """A pair whose training sets are being made: chosen, its tab and plot shown, and it says so."""
    tour = window.tour
    assert tour.phase == "warm" and "training" in tour.panel.status.text() and not window.is_running()
    assert window.tabs.tabText(window.tabs.currentIndex()) == stop.tab and window.compare.current_pair()[0] == stop.pair
    assert window.compare.sweep_tabs.tabText(window.compare.sweep_tabs.currentIndex()).startswith(stop.panel)


def walk(qtbot, window, make_big_training_sets: bool) -> None:
    """Every stop in turn by Next. The N = 10⁴ pair's 2 x 10⁴ training images take 45 s to 2 min to
    make on two cores (once: cached after); unless `make_big_training_sets`, its stop is checked
    while it makes them, and Next moves on."""
    tour = window.tour
    assert window.help.menu.actions()[0] is tour.action
    tour.action.trigger()
    assert tour.dock.isVisible() and tour.index == 0
    for k, stop in enumerate(STOPS):
        big = stop.pair is not None and stop.pair >= 1000 and not make_big_training_sets
        wait_for(qtbot, tour, (lambda: tour.phase == "warm") if big else (lambda: tour.ready),
                 timeout=60_000 if not make_big_training_sets else 300_000)
        if big:
            waits_for_its_training_sets(window, stop)
        else:
            shows_what_it_claims(window, stop)
        assert tour.panel.back_button.isEnabled() == (k > 0)
        tour.panel.next_button.click()
    assert not tour.active and not tour.dock.isVisible()          # Finish leaves


def test_every_stop_shows_what_it_claims(qtbot, window):
    walk(qtbot, window, make_big_training_sets=False)


@pytest.mark.slow             # the N = 10⁴ pair's training sets: 45 s to 2 min on 2 cores
def test_every_stop_shows_what_it_claims_the_n_10000_comparison_too(qtbot, window):
    walk(qtbot, window, make_big_training_sets=True)


def test_next_and_leave_in_the_middle_of_a_run_cancel_it(qtbot, window):
    tour = window.tour
    tour.start(1)                                                 # reverse diffusion: 51 frames
    wait_for(qtbot, tour, lambda: tour.phase == "run" and window.controller.count > 0)
    with qtbot.waitSignal(window.controller.aborted, timeout=30_000):
        tour.panel.next_button.click()                            # moved on mid-run: that run is cancelled...
        assert window.controller.cancelling and tour.index == 2
    wait_for(qtbot, tour, lambda: tour.phase == "run" and window.is_running() and window.controller.count > 0)  # the pair
    tour.panel.leave_button.click()                               # left mid-comparison: cancelled too
    assert not tour.active and not tour.dock.isVisible()
    qtbot.waitUntil(lambda: not window.is_running(), timeout=30_000)
    assert window.feed.outcome == "cancelled" and "cancelled" in window.compare.summary.text()
    tour.data.stop(wait=60)
    assert tour.data._thread is None


def test_the_tour_is_offered_once(qtbot, window):
    assert window.tour.offer() and window.tour.banner.isVisible()
    assert window.settings.value(OFFERED, type=bool)
    assert not window.tour.offer()
    window.tour.banner.findChildren(type(window.tour.panel.next_button))[0].click()     # Take the tour
    assert window.tour.active and not window.tour.banner.isVisible()
