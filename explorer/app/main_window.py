"""The main window: wiring only. Open a Model, run it through the RunController, show its frames
in the views, export them. It never asks which kind of model it holds."""
from __future__ import annotations

import sys
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Callable, Generator

import numpy as np
from PySide6.QtCore import QEvent, QSettings, QSize, Qt, QTimer
from PySide6.QtGui import QAction, QGuiApplication, QKeySequence
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMessageBox,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from explorer import __version__
from explorer.app.analysis import Analysis, no_denoiser
from explorer.app.export_actions import ExportActions, Shown
from explorer.app.help import HelpMenu
from explorer.app.model_dock import ModelDock, ask_model_path
from explorer.app.opener import NewestWins, OpenRequest, open_models, read_run
from explorer.app.run_controller import RunController
from explorer.app.run_feed import RunFeed, Sink
from explorer.app.run_panel import RunPanel
from explorer.app.run_process import run_model
from explorer.app.settings import CheckedSettings, RecentMenu, default_settings
from explorer.app.tour import Tour
from explorer.core.errors import ExplorerError
from explorer.core.lazy import Later
from explorer.core.models import Model, RunSpec, bundle, run_meta, run_title
from explorer.core.sampling import catalogue
from explorer.core.sampling.trajectory import Frame, Trajectory, is_run_file
from explorer.core.state import ExplorerState
from explorer.core.statistics import stats

MAX_RECENT = 8
TAB_NAMES = ("Trajectory", "Scales", "Compare S1 / S2", "Statistics", "Basis", "Fork")
# the core that needs torch, imported where first used: after the first paint (the model's opener imports torch)
generalization = Later("explorer.core.analysis.generalization")
data = Later("explorer.core.data")
RunFactory = Callable[[Model, RunSpec], Generator[Frame, None, Trajectory]]    # picklable: it runs in a run process


class MainWindow(QMainWindow):
    def __init__(self, settings: QSettings | None = None, checkpoint_path: str | Path | None = None,
                 run_factory: RunFactory = run_model, paint_first: bool = False):
        """`paint_first`: the window paints once with its docks, menus and empty tabs, then builds
        its views (pyqtgraph) and opens its first model (torch) (`explorer gui`); else all at once."""
        super().__init__()
        self.settings, self._settings_note = (settings, "") if settings is not None else default_settings()
        self.run_factory = run_factory
        self.state = ExplorerState()          # model, run shown, pair: what the widgets below observe
        self.state.observe("model", self._show_model)
        self.state.observe("run", self._show_run)
        self.ask_before_closing_a_run = True
        self.controller = RunController(self)
        self.stats_runs = RunController(self)                   # a finished run's statistics, in the run process
        self._stats_job = None                                  # (job, field, run) waiting for stats_runs
        self._stats_for = (False, None)                         # (field, run) of the comparison computing
        self._models_opened = (None, None)                      # ((path, mtime, size) of each file, the models)
        self.stats_runs.returned.connect(self._statistics_arrived)
        self.stats_runs.errored.connect(lambda message, frames: self.statistics.clear(
            f"The statistics could not be computed: {message}"))
        self.stats_runs.finished.connect(self._start_statistics)
        self._closed = False
        self._banner_for_run = False                            # the banner is a refusal while a run goes on
        self.setWindowTitle(f"explorer {__version__}")
        self.setAcceptDrops(True)

        self.tabs = QTabWidget()
        self.message = QLabel()                         # the red banner: what went wrong, until closed or solved
        self.message.setWordWrap(True)
        self.message.setStyleSheet("QLabel { color: #7a1712; padding: 6px; }")
        self.message.setTextInteractionFlags(Qt.TextSelectableByMouse)
        close = QToolButton(text="×", autoRaise=True, toolTip="Close this message")
        close.clicked.connect(self.hide_message)
        self.banner = QFrame()
        self.banner.setStyleSheet("QFrame { background: #fde2e1; border-radius: 4px; }")
        row = QHBoxLayout(self.banner)
        row.setContentsMargins(0, 0, 4, 0)
        row.addWidget(self.message, 1)
        row.addWidget(close, 0, Qt.AlignTop)
        self.banner.hide()
        self.message.hide()
        central = QWidget()
        lay = QVBoxLayout(central)
        lay.addWidget(self.banner)
        lay.addWidget(self.tabs, 1)
        self.setCentralWidget(central)

        self._build_model_panel()
        self.run_panel = RunPanel()
        self.run_panel.run_clicked.connect(self.start_run)
        self.run_panel.cancel_clicked.connect(self.cancel_run)
        self._add_dock("Run", self.run_panel)
        self._build_menus()
        self.feed = RunFeed(self.controller, self.statusBar(), fail=self.show_message,
                            level=lambda: self.model.display.level, ended=self._run_ended,
                            samples=lambda n: (self.basis.set_samples(n), self.forks.set_samples(n)))
        self.progress, self.rate_label = self.feed.progress, self.feed.rate_label
        self.opener = NewestWins(self, opened=self._opened, failed=self._open_failed)
        self.run_opener = NewestWins(self, fn=lambda job: read_run(*job), opened=self._run_arrived,
                                      failed=self._run_failed)                                    # saved runs
        self.models_opener = NewestWins(self, fn=open_models, opened=lambda models, then: then[0](models),
                                         failed=lambda error, then: then[1](error))    # `with_models`
        checked = self._restore_settings()
        default = self._default_checkpoint()
        path = checkpoint_path or checked.path("last_checkpoint") or default
        notes = [n for n in (self._settings_note, self.model_dock.problem) if n]
        if checked.dropped:
            notes.append("Settings that could not be used were dropped: " + "; ".join(checked.dropped) + ".")
        note = " ".join(notes)
        if note:
            self.show_message(note)
        remembered = checkpoint_path is None          # the remembered model, off the GUI thread; if it fails, the default
        self._first_open = partial(self.open_checkpoint, path, remember=not remembered, note=note,
                                   fallback=default if remembered and default != path else None) if path else None
        self.tour = Tour(self)                     # Help → Guided tour; `offer` at a first launch
        self._when_built: list[Callable[[], None]] | None = []
        if paint_first:
            for name in TAB_NAMES:
                self.tabs.addTab(QLabel("Preparing the views; then the model opens (torch loads first, once).",
                                        alignment=Qt.AlignCenter), name)
            self.statusBar().showMessage("Preparing the views…")
            self.tabs.installEventFilter(self)               # built after the first paint (`eventFilter`)
        else:
            self._build_views()

    def eventFilter(self, watched, event) -> bool:
        """The window's first paint: once it has ended, the views are built and the model opened."""
        if watched is self.tabs and event.type() == QEvent.Paint:
            self.tabs.removeEventFilter(self)
            QTimer.singleShot(0, self._build_views)
        return False

    def _build_views(self) -> None:
        """The six tabs (pyqtgraph, imported here), the export and figure actions, the Basis and
        Fork tabs' background work; then the first model opens (torch with it)."""
        from explorer.app.figure_actions import FigureActions
        from explorer.app.garbage import GuiThreadGarbage
        from explorer.app.views.basis import BasisView
        from explorer.app.views.compare import CompareView
        from explorer.app.views.fork import ForkView
        from explorer.app.views.scales import ScaleView
        from explorer.app.views.statistics import StatisticsView
        from explorer.app.views.trajectory import TrajectoryView

        self.view = TrajectoryView()
        self.scales = ScaleView()
        self.compare = CompareView()
        self.statistics = StatisticsView()
        self.basis = BasisView()
        self.forks = ForkView()
        self.tabs.setUpdatesEnabled(False)
        self.tabs.clear()                               # the placeholders of the first paint, if any
        for w, name in zip((self.view, self.scales, self.compare, self.statistics, self.basis, self.forks), TAB_NAMES):
            self.tabs.addTab(w, name)
        self.tabs.setUpdatesEnabled(True)
        self.view.step_changed.connect(lambda k: self.scales.show_frame(self.view.frames[k], k, len(self.view.frames),
                                                                        self.view.stage(self.view.frames, k)))
        self.scales.step_requested.connect(self.view.go)
        self.compare.run_requested.connect(self.start_compare)
        self.compare.choose_requested.connect(self.compare_dialog)
        self.compare.cancel_requested.connect(self.cancel_run)
        self.compare.samplers_wanted.connect(lambda pair: self.with_models(
            pair[1:], lambda models: self.compare.set_samplers(pair[1], models[0]), lambda error: None))
        self.compare.set_pairs(self.compare.bundled_pairs())
        self.compare.load_sweep(*self.compare.sweep_paths())
        self.exports = ExportActions(self, Shown(trajectory=lambda: self.trajectory, step=lambda: self.view.current,
                                                 display=self.view.display, xt_display=self.view.xt_display,
                                                 wavelet=self.scales.wavelet_choice,
                                                 play_fps=lambda: self.view.speed_box.currentData()),
                                     report=lambda text: self.statusBar().showMessage(text, 8000),
                                     fail=self.show_message, settings=self.settings)
        self.figures = FigureActions(self, self.tabs, self.exports.report, self.exports.fail, self.settings)
        self.file_menu.insertActions(self._quit_separator, [*self.exports.actions, *self.figures.actions])
        self.analysis = Analysis(self)                  # the Basis and Fork tabs' background work
        GuiThreadGarbage.hold()
        self._refresh_export_actions()
        self.statusBar().clearMessage()
        first, self._first_open = self._first_open, None
        if first is not None:
            first()
        done, self._when_built = self._when_built, None
        for fn in done:
            fn()

    def when_built(self, fn: Callable[[], None]) -> None:
        """`fn()` once the views are built (now, if they are)."""
        if self._when_built is None:
            fn()
        else:
            self._when_built.append(fn)

    @property
    def model(self) -> Model | None:
        return self.state.model

    @property
    def opening(self) -> bool:
        """A model (or a saved run) is on its way: being opened off the GUI thread, or the first,
        waiting for the views."""
        return self.opener.busy or self.run_opener.busy or self._first_open is not None

    @property
    def trajectory(self) -> Trajectory | None:
        return self.state.run

    # --- panels -------------------------------------------------------------------------------
    def _add_dock(self, title: str, widget: QWidget) -> None:
        """A movable dock on the left holding `widget`."""
        dock = QDockWidget(title, self)
        dock.setObjectName(f"{title.lower()}_dock")
        dock.setFeatures(QDockWidget.DockWidgetMovable)
        dock.setWidget(widget)
        self.addDockWidget(Qt.LeftDockWidgetArea, dock)

    def _build_model_panel(self) -> None:
        self.model_dock = ModelDock()
        self.bundled, self.info = self.model_dock.bundled, self.model_dock.info
        self.model_dock.open_requested.connect(self.open_checkpoint)
        self.model_dock.dialog_requested.connect(self.open_dialog)
        self._add_dock("Model", self.model_dock)

    def _build_menus(self) -> None:
        self.file_menu = file_menu = self.menuBar().addMenu("&File")
        file_menu.addAction(QAction("&Open model…", self, shortcut=QKeySequence.Open, triggered=self.open_dialog))
        self.recent = RecentMenu(file_menu.addMenu("Open &recent"), self.settings, self.open_checkpoint, MAX_RECENT)
        file_menu.addAction(QAction("Open &run (.npz)…", self, triggered=self.open_run_dialog))
        file_menu.addAction(QAction("&Compare two checkpoints…", self, triggered=self.compare_dialog))
        file_menu.addSeparator()
        self._quit_separator = file_menu.addSeparator()            # the export and figure actions go above it
        file_menu.addAction(QAction("&Quit", self, shortcut=QKeySequence.Quit, triggered=self.close))
        self.help = HelpMenu(self, self.menuBar().addMenu("&Help"))

    # --- settings -----------------------------------------------------------------------------
    def _restore_settings(self) -> CheckedSettings:
        """The window as it was left, every value checked; the reader says what it dropped."""
        s = CheckedSettings(self.settings)
        for key, restore in (("geometry", self.restoreGeometry), ("state", self.restoreState)):
            blob = s.blob(key)
            if blob is not None and not restore(blob):
                s.drop(key, "not a saved window layout")
        self.fit_to_screen(remembered=s.blob("geometry") is not None)
        self.run_panel.restore(s)
        self.recent.rebuild(s)
        return s

    def fit_to_screen(self, remembered: bool = False) -> None:
        """1280 x 820 where the screen has room, else the screen's available area (a 1000 x 700 screen
        shows Run, the status bar and every panel); a remembered size is kept when it fits."""
        screen = self.screen() or QGuiApplication.primaryScreen()
        if screen is None:
            return
        room = screen.availableGeometry()
        want = self.size() if remembered else QSize(1280, 820)
        frame = QSize(16, 40)                            # the window manager's frame and title bar (a guess)
        size = want.boundedTo(room.size() - frame)
        self.resize(size.expandedTo(self.minimumSizeHint().boundedTo(room.size() - frame)))
        if not room.contains(self.frameGeometry()):
            self.move(room.topLeft())

    def save_settings(self) -> None:
        s = self.settings
        s.setValue("geometry", self.saveGeometry())
        s.setValue("state", self.saveState())
        self.run_panel.save(s)
        if self.model is not None:
            s.setValue("last_checkpoint", str(self.model.path))
        s.sync()

    # --- models ---------------------------------------------------------------------------------
    @staticmethod
    def _default_checkpoint() -> str | None:
        try:
            return str(bundle.default_checkpoint())
        except ExplorerError:
            return None

    def _models_folder(self) -> str:
        """Where a model file dialog starts: the loaded model's folder, else the bundled models'."""
        return str(Path(self.model.path).parent if self.model is not None else bundle.bundled_dir())

    def open_dialog(self) -> None:
        path = ask_model_path(self, "Open model", self._models_folder())
        if path:
            self.open_checkpoint(path)

    def compare_dialog(self) -> None:
        if self.is_running():
            self.show_message("Cancel the current run before choosing another pair.", until_run_ends=True)
            return
        paths = []
        for side in ("S1", "S2"):
            path, _ = QFileDialog.getOpenFileName(self, f"The {side} model", self._models_folder(),
                                                  "Models (*.safetensors index.json);;All files (*)")
            if not path:
                return
            paths.append(path)
        def add(models) -> None:
            try:
                generalization.check_pair(*models)                            # refused now, not at Run both
            except ExplorerError as e:
                return self.show_message(f"Could not pair these models. {e}")
            self.hide_message()
            self.compare.add_pair(models[0].data.get("n"), *paths)
            self.tabs.setCurrentWidget(self.compare)
        self.with_models(paths, add, lambda error: self.show_message(f"Could not pair these models. {error}"))

    def open_checkpoint(self, path: str | Path, remember: bool = True, fallback: str | None = None,
                        note: str = "") -> bool:
        """Start opening any model off the GUI thread (False: refused now). When it arrives it is
        the model and `note` is shown; a bad file becomes a message, and `fallback` (or the model
        open now) is the model."""
        if self.is_running():
            self.show_message("Cancel the current run before opening another model.", until_run_ends=True)
            self.model_dock.select(self.model.path if self.model is not None else None)   # not the one clicked
            return False
        if is_run_file(path):                                  # a saved run dropped or chosen: shown as a run
            return self.open_run(path)
        first = "torch" not in sys.modules                     # the first open loads torch (about a second)
        self.statusBar().showMessage(f"Opening {Path(path).name}" + (", loading torch first…" if first else "…"))
        self.opener.open(path, OpenRequest(str(path), remember, fallback, note))
        return True

    def _opened(self, model: Model, request: OpenRequest) -> None:
        if self.is_running():          # a run started with the model before: that one stays
            self.show_message(f"{model.name} arrived while a run was going; open it again when the run ends.")
            return
        self._adopt(model, request.remember)
        if request.note:
            self.show_message(request.note)

    def _adopt(self, model: Model, remember: bool) -> None:
        """`model` is the window's: shown, remembered as the last model (and a recent file)."""
        self.set_model(model)
        path = str(Path(model.path).resolve())
        if remember:
            self.recent.remember(path)
        self.settings.setValue("last_checkpoint", path)

    def _open_failed(self, error: str, request: OpenRequest) -> None:
        self.statusBar().clearMessage()
        failure = f"Could not open this model. {error}"
        if request.fallback:
            note = " ".join(n for n in (request.note, failure, "The default model is open instead.") if n)
            self.open_checkpoint(request.fallback, remember=False, note=note)
        else:
            self.show_message(" ".join(n for n in (request.note, failure) if n))

    def set_model(self, model: Model) -> None:
        """Make `model` the one Run runs (a run another model made is dropped: `ExplorerState`)."""
        self.state.set_model(model)

    def _show_run(self, run: Trajectory | None, why: str) -> None:
        """The state's run changed: a stale run's views are emptied, with why."""
        if run is None and why:
            self._clear_run_views(why)
        self._refresh_export_actions()

    def _show_model(self, model: Model) -> None:
        """The state's model changed: every widget shows it, and what it cannot do."""
        self.basis.set_refusal("" if model.denoiser is not None else no_denoiser(model))
        self.forks.set_refusal(model.fork_refusal or "")
        if self.trajectory is None:
            self.view.clear(f"{model.name} loaded: press Run")
        self.model_dock.show_model(model)
        self.compare.choose_pair_of(model.path)          # its own pair, when it is one of a pair
        self.setWindowTitle(f"explorer {__version__} — {model.name}")
        hints = model.display
        self.view.set_display(hints, model.stage, model.data.get("stats"))
        self.scales.set_colormap(hints.colormap)
        self.scales.level = hints.level
        self.forks.set_colormap(hints.colormap)
        self.scales.set_wavelet(hints.J, hints.wavelet)
        self.run_panel.set_model(model)
        self.hide_message()
        self.statusBar().showMessage(f"loaded {model.name}", 5000)

    def _clear_run_views(self, title: str = "") -> None:
        """Every view of the shown run emptied, and the last run's progress and speed."""
        self.view.clear(title)
        for view in (self.statistics, self.basis, self.forks, self.scales):
            view.clear()
        self.feed.reset()

    def _show_statistics(self, model: Model, frames: list) -> None:
        """The Statistics tab for the final samples of a run of `model`, compared with its data in the
        run process (20-30 ms for 16 shapes on the window's thread; the bispectra of a field more)."""
        reference, field = model.data.get("stats"), model.data.get("name") in data.MAGNETISED
        if reference is None:
            self.statistics.show_comparison(None, field=field)
            return
        self.statistics.clear("comparing the samples with the data…")
        self.stats_runs.cancel()                                # an older run's comparison is not shown
        self._stats_job = (partial(stats.compare_to_summary, np.asarray(frames[-1].x0_hat), reference), field,
                           self.state.run)
        self._start_statistics()

    def _start_statistics(self) -> None:
        if self._stats_job is None or self.stats_runs.is_running():
            return                                              # the next starts when the one cancelled ends
        job, *self._stats_for = self._stats_job
        self._stats_job = None
        self.stats_runs.start(job)

    def _statistics_arrived(self, result: dict, _frames: list) -> None:
        field, run = self._stats_for
        if self.state.run is run:                               # still the run shown
            self.statistics.show_comparison(result, field=field)

    def dragEnterEvent(self, event) -> None:
        urls = event.mimeData().urls()
        if urls and urls[0].isLocalFile():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        self.open_checkpoint(event.mimeData().urls()[0].toLocalFile())

    # --- runs -----------------------------------------------------------------------------------
    def is_running(self) -> bool:
        return self.controller.is_running()

    def _spec(self, model: Model, **changes) -> RunSpec | None:
        """The Run panel's spec for `model`, checked; None (and a message) when it does not fit. Its
        coarse-scale row is for a model with a coarse scale only (not the Compare tab's pair)."""
        if not model.coarse_samplers:
            changes = {"coarse_sampler": None, "coarse_steps": None, **changes}
        try:
            return replace(self.run_panel.spec(), **changes).resolved(model)
        except ExplorerError as e:
            self.show_message(str(e))
            return None

    def _start(self, sink: Sink, make_run, total: int | None, batch: int) -> bool:
        self.hide_message()
        self.run_panel.set_running(True)
        self.feed.start(sink, make_run, total, batch)
        self._refresh_export_actions()
        return True

    def _run_ended(self) -> None:
        self.run_panel.set_running(False)
        self.compare.running(False)
        self._refresh_export_actions()
        if self._banner_for_run:                                # "cancel the current run first": no longer true
            self.hide_message()

    def start_run(self) -> bool:
        """Run the model with the Run panel's spec; frames stream into the Trajectory tab."""
        if self.model is None or self.opening:
            self.show_message("A model is opening: press Run when it has opened." if self.opening else
                              "Open a model first (File → Open model…, or drop a .safetensors file here).")
            return False
        if self.is_running():
            return False
        model, factory = self.model, self.run_factory
        spec = self._spec(model)                # checked as a run that keeps its frames, which the controller keeps
        if spec is None:
            return False
        spec = replace(spec, keep_frames=False)            # ... as numpy arrays, not the core
        total = model.frame_count(spec)
        self.state.set_run(None)
        self.view.clear(run_title(run_meta(model, spec)) + " · running…")
        self.view.expect(total or 0)
        self.statistics.clear()
        self.basis.clear()
        if self.tabs.currentWidget() is self.compare:
            self.tabs.setCurrentWidget(self.view)

        def returned(traj: Trajectory, frames: list) -> None:
            self._keep(traj)
            # the statistics when the run has finished: two short stalls of the event loop, not one long
            self.feed.after_run = lambda: self._show_statistics(model, frames)

        def stopped(note: str, frames: list) -> None:
            self._keep(Trajectory(frames=frames, meta=run_meta(model, spec)), f" · {note} after {len(frames)} frames")
            self.statistics.clear(f"The run was {note} after {len(frames)} frames: its samples are not finished, so "
                                  "they are not compared with the data. Run it to its end.")

        self.view.setFocus()                                    # the arrow keys scrub at once
        stopping = catalogue.STOPPING.get(spec.sampler, "")
        return self._start(Sink(self.view.add_frame, returned, stopped, stopping), partial(factory, model, spec),
                           total, spec.n)

    def start_compare(self) -> bool:
        """Both models of the chosen S1/S2 pair from the same noise, with the Compare tab's sampler,
        steps and seed (unless chosen there, the S1 model's default sampler and steps, for both);
        of the Run panel, which is the open model's, only the device."""
        pair = self.compare.current_pair()
        if pair is None or self.is_running():
            return False
        return self.with_models(pair[1:], lambda models: self._run_pair(*models),
                              lambda error: self.show_message(f"Could not open the pair. {error}"))

    def _run_pair(self, model1: Model, model2: Model) -> bool:
        if self.is_running():
            return False
        self.compare.set_samplers(str(model1.path), model1)         # the tab's list, if it was not known yet
        n, k = self.compare.settings()
        sampler, steps, seed = self.compare.run_choice()
        spec = RunSpec(sampler=sampler, steps=steps, n=n, seed=seed, device=self.run_panel.spec().device,
                       keep_frames=False)
        try:
            spec = generalization.pair_specs(model1, model2, spec)[0]          # S1's defaults filled in: S2 runs the same
            self.state.set_pair(model1, model2)
        except ExplorerError as e:
            self.show_message(f"Could not compare the pair. {e}")
            return False
        count = model1.frame_count(spec)
        self.compare.running(True)
        cmap = model1.display.colormap

        def returned(result: dict, frames: list) -> None:
            self.compare.show_result(result, frames, cmap)

        return self._start(Sink(self.compare.add_frame, returned, lambda note, frames: self.compare.show_stopped(note)),
                           partial(generalization.compare_run, model1, model2, spec, k), 2 * count if count else None, n)

    def with_models(self, paths, then: Callable[[tuple], object], failed: Callable[[str], None]) -> bool:
        """`then(models)` with the models of `paths` (an S1/S2 pair, a model's twin): at once when
        they are those asked for last, the same files with the same size and modification time,
        else once they have been opened off the GUI thread (on it, opening a pair held the window
        15-70 ms; a large model would hold it for seconds); `failed(message)` if they cannot be.
        The newest request wins. True: done or under way."""
        def stamp(path) -> tuple:
            st = Path(path).stat()
            return str(path), st.st_mtime_ns, st.st_size
        try:
            stamps = tuple(stamp(p) for p in paths)
        except OSError:
            stamps = None                                       # opening them says what is wrong
        if stamps is not None and self._models_opened[0] == stamps:
            return then(self._models_opened[1]) is not False

        def arrived(models) -> None:
            self._models_opened = (stamps, models)
            self.statusBar().clearMessage()
            then(models)
        self.statusBar().showMessage(f"Opening {', '.join(Path(p).name for p in paths)}…")
        self.models_opener.open(tuple(paths), (arrived, failed))
        return True

    def cancel_run(self) -> None:
        """Cancel the run (within a step), or a pair still opening to run."""
        if self.models_opener.busy:
            self.models_opener.cancel()
            self.statusBar().showMessage("cancelled", 5000)
        if self.is_running():
            self.controller.cancel()
            self.run_panel.set_cancelling()
            self.compare.set_cancelling()
            self.statusBar().showMessage("cancelling…")

    def _keep(self, traj: Trajectory, note: str = "") -> None:
        """The run's trajectory becomes the one shown and exported."""
        self.state.set_run(traj)
        self.view.set_title(run_title(traj.meta) + note)
        self.view.set_frames(traj.frames)

    def show_message(self, text: str, until_run_ends: bool = False) -> None:
        """The red banner (and the status line) say `text`; `until_run_ends`: a refusal because a run
        goes on, closed when it ends (it stayed, and the tabs moved when the next run closed it)."""
        self._banner_for_run = until_run_ends
        self.message.setText(text)
        self.message.show()
        self.banner.show()
        self.statusBar().showMessage(text.splitlines()[0], 10000)

    def hide_message(self) -> None:
        self.banner.hide()
        self.message.hide()
        self.message.setText("")

    # --- runs from files -------------------------------------------------------------------------
    def open_run_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open run", "", "Runs (*.npz)")
        if path:
            self.open_run(path)

    def open_run(self, path) -> bool:
        """Show a saved run with the model that made it: the loaded one, else the run's recorded
        file (`open_maker`). When that cannot be opened the run is shown alone, and a message says
        that Run, Basis and Fork belong to the loaded model (Basis and Fork then refuse the run).
        Read off the GUI thread (a run of large fields is hundreds of MB); False: refused now."""
        if self.is_running() or self.opening:
            self.show_message("Cancel the current run before opening another." if self.is_running() else
                              "A model is opening: open the run when it has opened.", until_run_ends=self.is_running())
            return False
        self.statusBar().showMessage(f"Opening the run {Path(path).name}…")
        self.run_opener.open((path, None if self.model is None else self.model.sha256), path)
        return True

    def _run_failed(self, error: str, path) -> None:
        self.statusBar().clearMessage()
        self.show_message(error)

    def _run_arrived(self, read: tuple, path) -> None:
        traj, maker, why = read
        if maker is not None:
            self.state.set_run(None)
            self._adopt(maker, remember=True)
        self.hide_message()
        self._clear_run_views()
        self._keep(traj)
        model = self.model
        if why:
            self.show_message(f"This run is shown alone: {why}."
                              + (f" Run, Basis and Fork use the loaded model, {model.name}." if model else ""))
        else:
            spec = self.state.run_spec()                        # Run repeats this run
            self.run_panel.set_spec(sampler=spec.sampler, steps=spec.steps, n=spec.n, seed=spec.seed,
                                    coarse_sampler=spec.coarse_sampler or "", coarse_steps=spec.coarse_steps)
            if self.state.whole_run():                          # finished samples: their statistics
                self._show_statistics(model, traj.frames)
        self._refresh_export_actions()
        self.statusBar().showMessage(f"opened the run {Path(path).name}: {len(traj.frames)} frames", 8000)

    def _refresh_export_actions(self) -> None:
        self.exports.set_enabled(self.trajectory is not None and bool(self.trajectory.frames) and not self.is_running())

    # --- closing --------------------------------------------------------------------------------------
    def closeEvent(self, event) -> None:
        if not self.analysis.controller.stop():
            self.show_message("The computation did not stop within 30 s; explorer will close when its step ends.")
            event.ignore()
            return
        if self.is_running():
            if self.ask_before_closing_a_run:
                answer = QMessageBox.question(self, "A run is in progress", "Stop the run and close explorer?")
                if answer != QMessageBox.Yes:
                    event.ignore()
                    return
            if not self.controller.stop():
                self.show_message("The run did not stop within 30 s; explorer will close when its step ends.")
                event.ignore()
                return
        self.save_settings()
        if not self._closed:
            self._closed = True
            # Every worker thread ends before the collector is turned back on: a thread left opening
            # a pair (the Compare tab asks for one when shown) collected the closed window's Qt
            # objects off the GUI thread, and a CI run of the tests hung there. A tour's data set
            # still being made after 30 s keeps the collector off (its daemon thread ends with it).
            for opener in (self.opener, self.run_opener, self.models_opener):
                opener.close()
            ended = self.tour.data.stop(wait=30)
            if self._when_built is None and ended:             # the views were built: they hold it
                from explorer.app.garbage import GuiThreadGarbage
                GuiThreadGarbage.release()
        event.accept()
