"""The main window: wiring only. Open a Model, run it through the RunController, show its frames
in the views, export them. It never asks which kind of model it holds."""
from __future__ import annotations

import gc
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Generator

import numpy as np
from pyqtgraph.util.garbage_collector import GarbageCollector
from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QFileDialog,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMessageBox,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from explorer import __version__
from explorer.app.analysis import Analysis
from explorer.app.export_actions import ExportActions, Shown
from explorer.app.run_controller import RunController
from explorer.app.run_panel import RunPanel
from explorer.app.views.basis import BasisView
from explorer.app.views.compare import CompareView
from explorer.app.views.fork import ForkView
from explorer.app.views.scales import ScaleView
from explorer.app.views.statistics import StatisticsView
from explorer.app.views.trajectory import TrajectoryView
from explorer.core.analysis.generalization import check_pair, compare_run, pair_specs
from explorer.core.data import MAGNETISED
from explorer.core.errors import ExplorerError
from explorer.core.models import Model, RunSpec, checkpoint, open_maker, open_model, run_meta
from explorer.core.sampling import samplers
from explorer.core.sampling.trajectory import Frame, NumpyFrame, Trajectory
from explorer.core.state import ExplorerState

MAX_RECENT = 8
RunFactory = Callable[[Model, RunSpec], Generator[Frame, None, Trajectory]]


def default_settings() -> QSettings:
    return QSettings("explorer", "explorer")


def run_model(model: Model, spec: RunSpec) -> Generator[Frame, None, Trajectory]:
    """The window's default run factory: the model's own run."""
    return model.run(spec)


@dataclass
class _Sink:
    """Where one run's frames and end go (a sampling run, or an S1/S2 comparison)."""

    frame: Callable[[NumpyFrame], None]
    returned: Callable[[object, list], None]
    stopped: Callable[[str, list], None]          # note ("cancelled", "failed"), frames made
    stopping: str = ""                            # why a run of unknown length ends where it ends


def run_title(meta: dict) -> str:
    """What a run's frames are: model, sampler, steps (and the coarse scale's, when its own) and seed."""
    coarse = (meta.get("coarse_sampler"), meta.get("coarse_steps"))
    own = (f" (coarse scale: {coarse[0]}, {coarse[1]} steps)"
           if coarse[0] and coarse != (meta.get("sampler"), meta.get("steps")) else "")
    return (f"{meta.get('checkpoint', '?')} · {meta.get('sampler', '?')}, {meta.get('steps', '?')} steps{own}, "
            f"seed {meta.get('seed', '?')}")


class _GuiThreadGarbage:
    """Cyclic garbage is collected in the GUI thread, never in a run's thread, while a window is
    open: collected there, a dead Qt object's destructor holds Qt's lock and waits for the GIL that
    the GUI thread holds while it waits for that lock (the window froze so, in the test suite).
    pyqtgraph's GarbageCollector turns automatic collection off and collects on a GUI timer; the
    last window to close turns it back on."""

    windows = 0
    collector: GarbageCollector | None = None

    @classmethod
    def hold(cls) -> None:
        if cls.windows == 0:
            cls.collector = GarbageCollector(interval=0.5)
        cls.windows += 1

    @classmethod
    def release(cls) -> None:
        cls.windows -= 1
        if cls.windows == 0:
            cls.collector.timer.stop()
            cls.collector = None
            gc.enable()


class MainWindow(QMainWindow):
    def __init__(self, settings: QSettings | None = None, checkpoint_path: str | Path | None = None,
                 run_factory: RunFactory = run_model):
        super().__init__()
        self.settings = settings or default_settings()
        self.run_factory = run_factory
        self.state = ExplorerState()          # model, run shown, pair: what the widgets below observe
        self.state.observe("model", self._show_model)
        self.state.observe("run", self._show_run)
        self.ask_before_closing_a_run = True
        self.controller = RunController(self)
        self._sink: _Sink | None = None
        self._outcome = ""                    # "done", "cancelled" or "failed": how the last run ended
        self._told = False                    # the status bar shows progress of work before the frames
        self._after_run: Callable[[], None] | None = None    # work left for when the run has finished
        self._closed = False
        self.setWindowTitle(f"explorer {__version__}")
        self.setAcceptDrops(True)
        self.resize(1280, 820)

        self.view = TrajectoryView()
        self.scales = ScaleView()
        self.compare = CompareView()
        self.statistics = StatisticsView()
        self.basis = BasisView()
        self.forks = ForkView()
        self.tabs = QTabWidget()
        for w, name in ((self.view, "Trajectory"), (self.scales, "Scales"), (self.compare, "Compare S1 / S2"),
                        (self.statistics, "Statistics"), (self.basis, "Basis"), (self.forks, "Fork")):
            self.tabs.addTab(w, name)
        self.view.step_changed.connect(lambda k: self.scales.show_frame(self.view.frames[k], k, len(self.view.frames),
                                                                        self.view.stage(self.view.frames, k)))
        self.scales.step_requested.connect(self.view.go)
        self.compare.run_requested.connect(self.start_compare)
        self.compare.choose_requested.connect(self.compare_dialog)
        self.compare.cancel_requested.connect(self.cancel_run)
        self.compare.set_pairs(self.compare.bundled_pairs())
        self.compare.load_sweep(*self.compare.sweep_paths())
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setStyleSheet("QLabel { background: #fde2e1; color: #7a1712; padding: 6px; border-radius: 4px; }")
        self.message.hide()
        central = QWidget()
        lay = QVBoxLayout(central)
        lay.addWidget(self.message)
        lay.addWidget(self.tabs, 1)
        self.setCentralWidget(central)

        self.exports = ExportActions(self, Shown(trajectory=lambda: self.trajectory, step=lambda: self.view.current,
                                                 display=self.view.display, xt_display=self.view.xt_display,
                                                 wavelet=self.scales.wavelet_choice),
                                     report=lambda text: self.statusBar().showMessage(text, 8000),
                                     fail=self.show_message, settings=self.settings)
        self._build_model_panel()
        self.run_panel = RunPanel()
        self.run_panel.run_clicked.connect(self.start_run)
        self.run_panel.cancel_clicked.connect(self.cancel_run)
        self._add_dock("Run", self.run_panel)
        self._build_menus()
        self._build_status_bar()
        self.controller.yielded.connect(self._on_frame)
        self.controller.returned.connect(self._on_returned)
        self.controller.errored.connect(self._on_errored)
        self.controller.aborted.connect(self._on_aborted)
        self.controller.told.connect(self._on_told)
        self.controller.finished.connect(self._on_finished)
        self.analysis = Analysis(self)                  # the Basis and Fork tabs' background work
        self._restore_settings()
        self._refresh_export_actions()
        path = checkpoint_path or self.settings.value("last_checkpoint") or self._default_checkpoint()
        if path:
            self.open_checkpoint(path, remember=checkpoint_path is not None)
        _GuiThreadGarbage.hold()

    @property
    def model(self) -> Model | None:
        return self.state.model

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
        panel = QWidget()
        lay = QVBoxLayout(panel)
        lay.addWidget(QLabel("Bundled models"))
        self.bundled = QListWidget()
        for e in checkpoint.bundled_index():
            item = QListWidgetItem(e["name"])          # the names say field, N and split; the rest clipped them
            item.setData(Qt.UserRole, str(checkpoint.bundled_dir() / e["file"]))
            item.setToolTip(f"{e['data']}, N = {e['n']}, split {e['split']}: {e.get('description', '')}")
            self.bundled.addItem(item)
        self.bundled.verticalScrollBar().rangeChanged.connect(    # resized: keep the loaded model in sight
            lambda *_: self.bundled.currentItem() and self.bundled.scrollToItem(self.bundled.currentItem()))
        self.bundled.itemActivated.connect(lambda it: self.open_checkpoint(it.data(Qt.UserRole)))
        self.bundled.itemClicked.connect(lambda it: self.open_checkpoint(it.data(Qt.UserRole)))
        lay.addWidget(self.bundled, 1)
        open_button = QPushButton("Open model…")
        open_button.clicked.connect(self.open_dialog)
        lay.addWidget(open_button)
        lay.addWidget(QLabel("Loaded model"))
        self.info = QPlainTextEdit()
        self.info.setReadOnly(True)
        self.info.setLineWrapMode(QPlainTextEdit.WidgetWidth)     # the whole config, not cut at the dock's edge
        self.info.setStyleSheet("QPlainTextEdit { font-family: monospace; font-size: 9pt; }")
        lay.addWidget(self.info, 1)
        for w in (self.bundled, self.info):
            w.setMinimumWidth(180)                              # the dock may shrink on small screens
        panel.setMinimumWidth(200)
        self._add_dock("Model", panel)

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        file_menu.addAction(QAction("&Open model…", self, shortcut=QKeySequence.Open, triggered=self.open_dialog))
        self.recent_menu = file_menu.addMenu("Open &recent")
        file_menu.addAction(QAction("Open &run (.npz)…", self, triggered=self.open_run_dialog))
        file_menu.addAction(QAction("&Compare two checkpoints…", self, triggered=self.compare_dialog))
        file_menu.addSeparator()
        for a in self.exports.actions:
            file_menu.addAction(a)
        file_menu.addSeparator()
        file_menu.addAction(QAction("&Quit", self, shortcut=QKeySequence.Quit, triggered=self.close))
        self._rebuild_recent_menu()

    def _build_status_bar(self) -> None:
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(260)
        self.progress.setFormat("%v / %m steps")
        self.rate_label = QLabel("")
        self.statusBar().addPermanentWidget(self.rate_label)
        self.statusBar().addPermanentWidget(self.progress)

    # --- settings -----------------------------------------------------------------------------
    def _restore_settings(self) -> None:
        s = self.settings
        if s.value("geometry"):
            self.restoreGeometry(s.value("geometry"))
        if s.value("state"):
            self.restoreState(s.value("state"))
        self.run_panel.restore(s)

    def save_settings(self) -> None:
        s = self.settings
        s.setValue("geometry", self.saveGeometry())
        s.setValue("state", self.saveState())
        self.run_panel.save(s)
        if self.model is not None:
            s.setValue("last_checkpoint", str(self.model.path))
        s.sync()

    def recent_files(self) -> list[str]:
        value = self.settings.value("recent", [])
        return [value] if isinstance(value, str) else list(value or [])

    def _remember(self, path: Path) -> None:
        recent = [str(path)] + [p for p in self.recent_files() if p != str(path)]
        self.settings.setValue("recent", recent[:MAX_RECENT])
        self._rebuild_recent_menu()

    def _rebuild_recent_menu(self) -> None:
        self.recent_menu.clear()
        for p in self.recent_files():
            self.recent_menu.addAction(QAction(p, self, triggered=lambda _=False, p=p: self.open_checkpoint(p)))
        self.recent_menu.setEnabled(bool(self.recent_files()))

    # --- models ---------------------------------------------------------------------------------
    @staticmethod
    def _default_checkpoint() -> str | None:
        try:
            return str(checkpoint.default_checkpoint())
        except ExplorerError:
            return None

    def _models_folder(self) -> str:
        """Where a model file dialog starts: the loaded model's folder, else the bundled models'."""
        return str(Path(self.model.path).parent if self.model is not None else checkpoint.bundled_dir())

    def open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open model", self._models_folder(),
                                              "Models (*.safetensors index.json);;All files (*)")
        if path:
            self.open_checkpoint(path)

    def compare_dialog(self) -> None:
        if self.is_running():
            self.show_message("Cancel the current run before choosing another pair.")
            return
        paths = []
        for side in ("S1", "S2"):
            path, _ = QFileDialog.getOpenFileName(self, f"The {side} model", self._models_folder(),
                                                  "Models (*.safetensors index.json);;All files (*)")
            if not path:
                return
            paths.append(path)
        try:
            s1, s2 = (open_model(p) for p in paths)
            check_pair(s1, s2)                                 # refused now, not at Run both
        except ExplorerError as e:
            self.show_message(f"Could not pair these models. {e}")
            return
        self.hide_message()
        self.compare.add_pair(s1.data.get("n"), *paths)
        self.tabs.setCurrentWidget(self.compare)

    def open_checkpoint(self, path: str | Path, remember: bool = True) -> bool:
        """Open any model; a bad file becomes a message and the current model stays."""
        if self.is_running():
            self.show_message("Cancel the current run before opening another model.")
            return False
        try:
            model = open_model(path)
        except ExplorerError as e:
            self.show_message(f"Could not open this model. {e}")
            return False
        self.set_model(model)
        if remember:
            self._remember(Path(path).resolve())
        self.settings.setValue("last_checkpoint", str(Path(path).resolve()))
        return True

    def set_model(self, model: Model) -> None:
        """Make `model` the one Run runs (a run another model made is dropped: `ExplorerState`)."""
        self.state.set_model(model)

    def _show_run(self, run: Trajectory | None, why: str) -> None:
        """The state's run changed: a stale run's views are emptied, with why."""
        if run is None and why:
            self._clear_run_views(why)
        self._refresh_export_actions()

    def _show_model(self, model: Model) -> None:
        """The state's model changed: every widget shows it."""
        if self.trajectory is None:
            self.view.clear(f"{model.name} loaded: press Run")
        self._select_bundled(model.path)
        self.compare.choose_pair_of(model.path)          # its own pair, when it is one of a pair
        self.info.setPlainText(model.describe())
        self.setWindowTitle(f"explorer {__version__} — {model.name}")
        hints = model.display
        self.view.set_display(hints, model.stage)
        self.scales.set_colormap(hints.colormap)
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
        self.progress.reset()
        self.rate_label.setText("")

    def _show_statistics(self, model: Model, frames: list) -> None:
        """The Statistics tab for the final samples of a run of `model`."""
        self.statistics.show_samples(np.asarray(frames[-1].x0_hat), model.data.get("stats"),
                                     field=model.data.get("name") in MAGNETISED)

    def _select_bundled(self, path: Path) -> None:
        """The bundled list shows the loaded model selected (none when it is not bundled)."""
        self.bundled.clearSelection()
        for i in range(self.bundled.count()):
            item = self.bundled.item(i)
            if Path(item.data(Qt.UserRole)).resolve() == Path(path).resolve():
                self.bundled.setCurrentItem(item)
                self.bundled.scrollToItem(item)

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

    def _start(self, sink: _Sink, make_run, total: int | None, batch: int) -> bool:
        self._sink = sink
        self.hide_message()
        self.progress.setRange(0, total or 0)
        self.progress.setValue(0)
        self.rate_label.setText("")
        self.statusBar().showMessage("running…")            # not the last run's "done: …"
        self.run_panel.set_running(True)
        self._outcome = ""
        self.controller.start(make_run, total, batch)
        self._refresh_export_actions()
        return True

    def start_run(self) -> bool:
        """Run the model with the Run panel's spec; frames stream into the Trajectory tab."""
        if self.model is None:
            self.show_message("Open a model first (File → Open model…, or drop a .safetensors file here).")
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
            self._after_run = lambda: self._show_statistics(model, frames)

        def stopped(note: str, frames: list) -> None:
            self._keep(Trajectory(frames=frames, meta=run_meta(model, spec)), f" · {note} after {len(frames)} frames")

        self.view.setFocus()                                    # the arrow keys scrub at once
        stopping = samplers.STOPPING.get(spec.sampler, "")
        return self._start(_Sink(self.view.add_frame, returned, stopped, stopping), lambda: factory(model, spec),
                           total, spec.n)

    def start_compare(self) -> bool:
        """Both models of the chosen S1/S2 pair from the same noise (sampler, steps, seed from the Run panel)."""
        pair = self.compare.current_pair()
        if pair is None or self.is_running():
            return False
        try:
            model1, model2 = (open_model(p) for p in pair[1:])
        except ExplorerError as e:
            self.show_message(f"Could not open the pair. {e}")
            return False
        n, k = self.compare.settings()
        spec = self._spec(model1, n=n)                     # as above, for each of the two runs
        if spec is None:
            return False
        spec = replace(spec, keep_frames=False)
        try:
            pair_specs(model1, model2, spec)
            self.state.set_pair(model1, model2)
        except ExplorerError as e:
            self.show_message(f"Could not compare the pair. {e}")
            return False
        count = model1.frame_count(spec)
        self.compare.running(True)
        cmap = model1.display.colormap

        def returned(result: dict, frames: list) -> None:
            self.compare.show_result(result, frames, cmap)

        return self._start(_Sink(self.compare.add_frame, returned, lambda note, frames: self.compare.show_stopped(note)),
                           lambda: compare_run(model1, model2, spec, k), 2 * count if count else None, n)

    def cancel_run(self) -> None:
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

    def _on_told(self, text: str) -> None:
        """Progress of work before the frames (a data set being made), unless the run is cancelling."""
        if not self.controller.cancelling:
            self.statusBar().showMessage(text)
            self._told = True

    def _on_frame(self, frame: NumpyFrame) -> None:
        if self._told:                                        # that work is done: the frames say how far now
            self.statusBar().showMessage("running…")
            self._told = False
        self._sink.frame(frame)
        self.basis.set_samples(len(frame.x_t))
        self.forks.set_samples(len(frame.x_t))
        n, rate, left = self.controller.progress()
        if self.progress.maximum() > 0:
            self.progress.setValue(min(n, self.progress.maximum()))
            self.rate_label.setText(f"{rate:.1f} steps/s · {left:.0f} s left")
        else:
            self.rate_label.setText(f"{rate:.1f} steps/s · {self.model.display.level} = {frame.level:.3g}")

    def _on_returned(self, result, frames: list) -> None:
        self._outcome = "done"
        self._sink.returned(result, frames)

    def _on_aborted(self, frames: list) -> None:
        self._outcome = "cancelled"
        self._sink.stopped("cancelled", frames)

    def _on_errored(self, message: str, frames: list) -> None:
        self._outcome = "failed"
        self._sink.stopped("failed", frames)
        self.show_message(message + (f" The {len(frames)} frames made before are kept." if frames else ""))

    def _on_finished(self) -> None:
        stopping, self._sink = self._sink.stopping, None
        if self._after_run is not None:
            self._after_run()
            self._after_run = None
        self.run_panel.set_running(False)
        self.compare.running(False)
        n, rate, _ = self.controller.progress()
        self.rate_label.setText(f"{rate:.1f} steps/s")                # no time left once it has ended
        if self._outcome != "failed":
            why = f" ({stopping})" if self._outcome == "done" and stopping else ""
            self.statusBar().showMessage(f"{self._outcome}: {n} frames in {self.controller.elapsed:.1f} s{why}")
        self._refresh_export_actions()

    def show_message(self, text: str) -> None:
        self.message.setText(text)
        self.message.show()
        self.statusBar().showMessage(text.splitlines()[0], 10000)

    def hide_message(self) -> None:
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
        that Run, Basis and Fork belong to the loaded model (Basis and Fork then refuse the run)."""
        if self.is_running():
            self.show_message("Cancel the current run before opening another.")
            return False
        try:
            traj = Trajectory.load_npz(path)
        except ExplorerError as e:
            self.show_message(str(e))
            return False
        why = ""
        if self.model is None or traj.meta.get("checkpoint_sha256") != self.model.sha256:   # not the loaded model's
            try:
                maker = open_maker(traj.meta)
            except ExplorerError as e:
                why = str(e)
            else:
                self.state.set_run(None)
                self.set_model(maker)
                self._remember(Path(maker.path).resolve())
                self.settings.setValue("last_checkpoint", str(Path(maker.path).resolve()))
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
        return True

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
            _GuiThreadGarbage.release()
        event.accept()


def freeze_heap() -> None:
    """Put every object alive once the window is up (~2e5: Qt wrappers, torch, pyqtgraph) out of
    the cyclic garbage collector's reach, so that its collections scan only what is new. Without
    it, collections paused the event loop up to 11 ms (young) and 26 ms (middle generation) while a
    run streamed; after it, 0.5 ms. What is frozen is never collected: call it once, not per window."""
    gc.collect()
    gc.freeze()


def launch(checkpoint_path: str | None = None) -> int:
    import os
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
                                                 or os.environ.get("QT_QPA_PLATFORM")):
        raise ExplorerError("no display to open the window on (DISPLAY is not set); run it in a desktop session, "
                            "or use the headless commands: explorer --help")
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("explorer")
    win = MainWindow(checkpoint_path=checkpoint_path)
    win.show()
    win.view.setFocus()
    freeze_heap()
    return app.exec()
