"""The guided tour of the lecture: a dock beside the Model dock shows a stop's title, formula and
text with Back / Next / Leave, while the stop opens its model (or S1/S2 pair), chooses its tab and
view, runs and computes, all through the window's own public methods. Help → Guided tour,
`explorer tour`, and offered once at first launch (`offer`). The stops are data: `tour_stops`.

A stop goes through phases, advanced by a timer: settle (the work of the stop before is
cancelled and has ended), open, show, warm (a pair's training sets), run, then (Basis or Fork
work), ready. Moving on or leaving cancels what runs; nothing else is waited for."""
from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
from PySide6.QtCore import QCoreApplication, QObject, Qt, QTimer
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QDockWidget,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from explorer.app.tour_stops import STOPS, Stop
from explorer.core import interrupt
from explorer.core.errors import ExplorerError
from explorer.core.models import bundle

OFFERED = "tour/offered"                 # the settings key: the tour was offered at a first launch


class TourPanel(QWidget):
    """A stop's number, title, formula, text and progress; Back / Next / Leave."""

    def __init__(self) -> None:
        super().__init__()
        self.title = QLabel()
        self.title.setStyleSheet("QLabel { font-weight: bold; font-size: 11pt; }")
        self.formula = QLabel()
        self.formula.setStyleSheet("QLabel { background: #eef3fb; border: 1px solid #c5d3ea; border-radius: 4px; "
                                   "padding: 3px; font-family: serif; font-size: 9pt; }")
        self.text = QLabel()
        self.status = QLabel()
        self.status.setStyleSheet("QLabel { color: #555; font-style: italic; }")
        for label in (self.title, self.formula, self.text, self.status):
            label.setWordWrap(True)
            label.setTextFormat(Qt.PlainText)
            label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        page = QWidget()
        column = QVBoxLayout(page)
        column.setContentsMargins(2, 2, 2, 2)
        for w in (self.title, self.formula, self.text, self.status):
            column.addWidget(w)
        column.addStretch(1)
        scroll = QScrollArea()                       # a short dock scrolls the text, never cuts it
        scroll.setWidget(page)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.back_button = QPushButton("&Back")
        self.next_button = QPushButton("&Next")
        self.leave_button = QPushButton("&Leave")
        self.leave_button.setToolTip("End the tour (a run in progress is cancelled); Help → Guided tour starts it again")
        buttons = QHBoxLayout()
        for b in (self.back_button, self.next_button, self.leave_button):
            buttons.addWidget(b)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(scroll, 1)
        lay.addLayout(buttons)
        self.setMinimumWidth(240)

    def show_stop(self, index: int, count: int, stop: Stop) -> None:
        self.title.setText(stop.title)
        self.formula.setText(stop.formula)
        self.text.setText(stop.text)
        self.back_button.setEnabled(index > 0)
        self.next_button.setText("&Next" if index < count - 1 else "&Finish")

    def shown_text(self) -> str:
        """Everything the panel says now."""
        return "\n".join(w.text() for w in (self.title, self.formula, self.text, self.status))


class TrainingSets:
    """The tour's S1/S2 pairs' training sets, made off the GUI thread while the stops before them
    are read (cached on disk after: the first N = 10⁴ pair takes about 45 s on two cores). A
    daemon thread, stopped between chunks by `stop` (`core.interrupt`)."""

    def __init__(self) -> None:
        self.ready: set[int] = set()              # the N of each pair whose sets are made (or failed)
        self.told = ""                            # the progress the data set's maker last told
        self._queue: list[tuple[int, str, str]] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def make(self, pairs: list[tuple[int, str, str]]) -> None:
        """Make these pairs' sets after those asked for before."""
        with self._lock:
            self._queue += [p for p in pairs if p[0] not in self.ready and p not in self._queue]
            if self._queue and self._thread is None:
                self._stop = threading.Event()
                self._thread = threading.Thread(target=self._work, args=(self._stop,), name="explorer-tour-data",
                                                daemon=True)
                self._thread.start()

    def stop(self, wait: float = 0.0) -> bool:
        """Make no more; wait up to `wait` seconds for the thread to end (it ends at its next
        check). True when no thread is left running."""
        with self._lock:
            self._queue.clear()
            self._stop.set()
            thread = self._thread
        if thread is not None and wait > 0:
            thread.join(wait)
        return thread is None or not thread.is_alive()

    def _tell(self, text: str) -> None:
        self.told = text

    def _work(self, stop: threading.Event) -> None:
        from explorer.core.analysis.generalization import training_images
        from explorer.core.models import open_model
        with interrupt.hooks(stop, self._tell):
            while True:
                with self._lock:
                    if stop.is_set() or not self._queue:
                        self._thread = None
                        return
                    pair = self._queue[0]
                try:
                    for path in pair[1:]:
                        training_images(open_model(path))
                except interrupt.Cancelled:
                    continue                                 # the queue is empty: the loop ends
                except ExplorerError:
                    pass                                     # the comparison itself will say what is wrong
                with self._lock:
                    self.ready.add(pair[0])
                    if pair in self._queue:
                        self._queue.remove(pair)


class Tour(QObject):
    """The tour over `window` (a MainWindow): Help → Guided tour, the dock, the first-launch offer."""

    TICK_MS = 50

    def __init__(self, window, stops: tuple[Stop, ...] = STOPS) -> None:
        super().__init__(window)
        self.window, self.stops = window, stops
        self.index = -1                            # the stop shown; -1 when the tour is not on
        self.phase = ""                            # where the stop is: see the module docstring
        self._then: list[str] = []
        self.data = TrainingSets()
        self.banner: QFrame | None = None
        self.panel = TourPanel()
        self.panel.back_button.clicked.connect(self.back)
        self.panel.next_button.clicked.connect(self.next)
        self.panel.leave_button.clicked.connect(self.leave)
        self.dock = QDockWidget("Guided tour", window)
        self.dock.setObjectName("tour_dock")
        self.dock.setFeatures(QDockWidget.DockWidgetMovable)
        self.dock.setWidget(self.panel)
        window.addDockWidget(Qt.LeftDockWidgetArea, self.dock)
        model_dock = window.findChild(QDockWidget, "model_dock")
        if model_dock is not None:
            window.tabifyDockWidget(model_dock, self.dock)       # the tour opens the models: it takes their place
        self.dock.hide()
        self.action = QAction("Guided &tour", window, triggered=lambda: self.start())
        self.action.setToolTip(f"The lecture in {len(stops)} stops, each a model that runs and what to look at")
        menu = window.help.menu
        first = menu.actions()[0] if menu.actions() else None
        menu.insertAction(first, self.action)
        menu.insertSeparator(first)
        self._timer = QTimer(self, interval=self.TICK_MS)
        self._timer.timeout.connect(self._tick)
        QCoreApplication.instance().aboutToQuit.connect(self._quit)

    def _quit(self) -> None:
        self.data.stop(wait=10)                  # torch in a daemon thread at exit aborts the process

    # --- the user's moves ------------------------------------------------------------------------
    @property
    def active(self) -> bool:
        return self.index >= 0

    @property
    def ready(self) -> bool:
        """The stop shows what it says (or why it cannot)."""
        return self.phase == "ready"

    def start(self, index: int = 0) -> None:
        """Show the dock and go to stop `index`; the pairs' training sets start being made."""
        if self.banner is not None:
            self.banner.hide()
        self.data.make([p for s in self.stops[index:] if s.pair is not None for p in self._pairs(s.pair)])
        self.dock.show()
        self.dock.raise_()
        self.window.resizeDocks([self.dock], [self.window.height()], Qt.Vertical)    # the text as tall as it may be
        self.go(index)

    def go(self, index: int) -> None:
        """Stop `index` (cancelling what the stop before left running)."""
        self.index = max(0, min(index, len(self.stops) - 1))
        self.panel.show_stop(self.index, len(self.stops), self.stops[self.index])
        self.dock.setWindowTitle(f"Guided tour · {self.index + 1} of {len(self.stops)}")
        self._cancel()
        self._then = list(self.stops[self.index].then)
        self._enter("settle", "waiting for the last run to stop…" if self._busy() else "")
        self._timer.start()

    def next(self) -> None:
        if self.index < len(self.stops) - 1:
            self.go(self.index + 1)
        else:
            self.leave()

    def back(self) -> None:
        if self.index > 0:
            self.go(self.index - 1)

    def leave(self) -> None:
        """End the tour: what runs is cancelled, what is shown stays to explore."""
        self._cancel()
        self.data.stop()
        self._timer.stop()
        self.index, self.phase = -1, ""
        self.dock.hide()

    def offer(self) -> bool:
        """At a first launch (no OFFERED in the window's settings), a banner above the tabs offers
        the tour; remembered at once, so it is offered once. True when offered now."""
        settings = self.window.settings
        if settings.value(OFFERED, False, type=bool):
            return False
        settings.setValue(OFFERED, True)
        self.banner = QFrame()
        self.banner.setStyleSheet("QFrame { background: #e8f1fb; border-radius: 4px; }")
        row = QHBoxLayout(self.banner)
        row.setContentsMargins(8, 4, 8, 4)
        text = QLabel(f"New here? A guided tour walks through the lecture in {len(self.stops)} stops, each a model "
                      "that runs (Help → Guided tour, any time).")
        text.setWordWrap(True)
        take = QPushButton("Take the tour")
        take.clicked.connect(lambda: self.start())
        close = QPushButton("No, thanks")
        close.clicked.connect(self.banner.hide)
        row.addWidget(text, 1)
        row.addWidget(take)
        row.addWidget(close)
        self.window.centralWidget().layout().insertWidget(0, self.banner)
        self.banner.show()                       # a widget added to a shown window is not shown with it
        return True

    # --- a stop, phase by phase ------------------------------------------------------------------
    def _pairs(self, n: int) -> list[tuple[int, str, str]]:
        return [p for p in self.window.compare.pairs if p[0] == n]

    def _busy(self) -> bool:
        w = self.window
        return w.is_running() or w.analysis.is_running() or w.opening

    def _cancel(self) -> None:
        self.window.cancel_run()                  # a run, or a pair opening to run
        self.window.analysis.controller.cancel()

    def _enter(self, phase: str, status: str = "") -> None:
        self.phase = phase
        self.panel.status.setText(status)
        if phase == "ready":
            self._timer.stop()

    def _fail(self, why: str) -> None:
        self._enter("ready", f"This stop cannot be shown: {why}")

    def _model_path(self, stop: Stop) -> str | None:
        if stop.pair is not None:
            pairs = self._pairs(stop.pair)
            return pairs[0][1] if pairs else None
        return str(bundle.bundled_dir() / stop.model)

    def _tick(self) -> None:
        """One step of the stop's phases, when the window is free for it."""
        if not self.active:
            self._timer.stop()
            return
        w, stop = self.window, self.stops[self.index]
        phase = self.phase
        if phase == "settle" and not self._busy():
            path = self._model_path(stop)
            if path is None:
                return self._fail(f"no bundled S1/S2 pair of N = {stop.pair}.")
            if w.model is not None and Path(w.model.path).resolve() == Path(path).resolve():
                return self._enter("show")
            if not w.open_checkpoint(path, remember=False):
                return self._fail(w.message.text())
            self._enter("open", f"opening {Path(path).name}…")
        elif phase == "open" and not w.opening:
            if w.model is None or Path(w.model.path).resolve() != Path(self._model_path(stop)).resolve():
                return self._fail(w.opener.last_error or w.message.text() or "the model did not open.")
            self._enter("show")
        elif phase == "show":
            self._show(stop)
            warm = stop.pair is not None and stop.pair not in self.data.ready
            self._enter("warm", "making the training sets of the pair (once; cached after)…" if warm else "")
        elif phase == "warm" and stop.pair is not None and stop.pair not in self.data.ready:
            self.data.make(self._pairs(stop.pair))
            if self.data.told:
                self.panel.status.setText(self.data.told)
        elif phase == "warm":
            started = w.start_compare() if stop.pair is not None else w.start_run()
            if not started:
                return self._fail(w.message.text() or "the run did not start.")
            self._enter("run", "running…")
        elif phase == "run" and not w.is_running() and not w.models_opener.busy:
            self._ran(stop)
        elif phase == "then" and not w.analysis.is_running():
            if not self._then:
                return self._enter("ready", "ready")
            what = self._then.pop(0)
            sample, n = 0, w.forks.n_box.value()
            start = {"basis": lambda: w.analysis.compute_basis(sample), "fork": lambda: w.analysis.fork_here(sample, n),
                     "spread": lambda: w.analysis.fork_curve(sample, n)}[what]
            if not start():
                return self._fail(f"the {what} did not start.")
            self.panel.status.setText({"basis": "computing the Jacobian's eigenvectors…", "fork": "forking the run…",
                                       "spread": "forking at 8 steps along the run…"}[what])

    def _show(self, stop: Stop) -> None:
        """The stop's tab, view and Run panel (and pair)."""
        w = self.window
        self._choose_tab(stop)
        w.view.xt_box.setCurrentText(stop.xt)
        w.run_panel.set_spec(**stop.run)
        if stop.pair is not None:
            w.compare.choose_pair([p[0] for p in w.compare.pairs].index(stop.pair))
            w.compare.samples_box.setValue(stop.samples)

    def _choose_tab(self, stop: Stop) -> None:
        tabs = self.window.tabs
        index = next((i for i in range(tabs.count()) if tabs.tabText(i) == stop.tab), tabs.currentIndex())
        tabs.setCurrentIndex(index)
        if stop.panel:
            for inner in tabs.widget(index).findChildren(QTabWidget):
                for i in range(inner.count()):
                    if inner.tabText(i).startswith(stop.panel):
                        inner.setCurrentIndex(i)

    def _ran(self, stop: Stop) -> None:
        """The run has ended: its step shown, then the stop's computations."""
        w = self.window
        done = w.compare.result is not None if stop.pair is not None else w.feed.outcome == "done"
        if not done:
            return self._enter("ready", f"The run ended before its end ({w.feed.outcome or 'refused'}): "
                                        "press Run (or Run both) to try again.")
        self._choose_tab(stop)                       # a run leaves the Compare tab for the Trajectory tab
        frames = w.view.frames
        if stop.at is not None and stop.pair is None and frames:
            level = np.array([f.level for f in frames], float)
            with np.errstate(divide="ignore", invalid="ignore"):
                gap = np.where(level > 0, np.abs(np.log(level / stop.at)), np.inf)
            w.view.go(int(np.argmin(gap)))
        self._enter("then")
