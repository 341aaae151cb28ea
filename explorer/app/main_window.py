"""The main window: pick a model, run a sampler in the background, scrub and export the run."""
from __future__ import annotations

import random
import sys

import numpy as np
import time
from pathlib import Path

from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (QApplication, QCheckBox, QComboBox, QDockWidget, QFileDialog, QFormLayout, QHBoxLayout,
                               QLabel, QListWidget, QListWidgetItem, QMainWindow, QMessageBox, QPlainTextEdit,
                               QProgressBar, QPushButton, QSpinBox, QTabWidget, QVBoxLayout, QWidget)

from explorer import __version__
from explorer.app.views.compare import CompareView
from explorer.app.views.scales import ScaleView
from explorer.app.views.statistics import StatisticsView
from explorer.app.views.trajectory import TrajectoryView
from explorer.app.worker import RunThread, SamplingWorker
from explorer.core import checkpoint, export, samplers, wcrg
from explorer.core.errors import ExplorerError
from explorer.core.sampling import run_meta, sample_checkpoint
from explorer.core.trajectory import Trajectory

SAMPLER_LABELS = {"sde": "SDE (reverse Langevin)", "ode": "ODE (probability flow, Heun)", "ddim": "DDIM",
                  "ascent": "Stochastic ascent (Kadkhodaie-Simoncelli)"}
MAX_RECENT = 8


def default_settings() -> QSettings:
    return QSettings("explorer", "explorer")


class MainWindow(QMainWindow):
    def __init__(self, settings: QSettings | None = None, checkpoint_path: str | Path | None = None):
        super().__init__()
        self.settings = settings or default_settings()
        self.model: checkpoint.Checkpoint | wcrg.WCRGModel | None = None
        self.thread: RunThread | None = None
        self.trajectory: Trajectory | None = None
        self.run_meta: dict = {}
        self.ask_before_closing_a_run = True
        self.setWindowTitle(f"explorer {__version__}")
        self.setAcceptDrops(True)
        self.resize(1280, 820)

        self.view = TrajectoryView()
        self.scales = ScaleView()
        self.compare = CompareView()
        self.statistics = StatisticsView()
        self.tabs = QTabWidget()
        for w, name in ((self.view, "Trajectory"), (self.scales, "Scales"), (self.compare, "Compare S1 / S2"),
                        (self.statistics, "Statistics")):
            self.tabs.addTab(w, name)
        self.view.step_changed.connect(lambda k: self.scales.show_frame(self.view.frames[k]))
        self.compare.run_requested.connect(self.start_compare)
        self.compare.cancel_requested.connect(self.cancel_run)
        self.compare.set_pairs(self.compare.bundled_pairs())
        self.compare.load_sweep(self.compare.sweep_path())
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setStyleSheet("QLabel { background: #fde2e1; color: #7a1712; padding: 6px; border-radius: 4px; }")
        self.message.hide()
        central = QWidget()
        lay = QVBoxLayout(central)
        lay.addWidget(self.message)
        lay.addWidget(self.tabs, 1)
        self.setCentralWidget(central)

        self._build_model_panel()
        self._build_run_panel()
        self._build_menus()
        self._build_status_bar()
        self._restore_settings()
        self._refresh_export_actions()
        path = checkpoint_path or self.settings.value("last_checkpoint") or self._default_checkpoint()
        if path:
            self.open_checkpoint(path, remember=checkpoint_path is not None)

    @property
    def is_wcrg(self) -> bool:
        return isinstance(self.model, wcrg.WCRGModel)

    # --- panels -------------------------------------------------------------------------------
    def _add_dock(self, title: str) -> QWidget:
        """A movable dock on the left holding a new, empty widget (returned)."""
        dock = QDockWidget(title, self)
        dock.setObjectName(f"{title.lower()}_dock")
        dock.setFeatures(QDockWidget.DockWidgetMovable)
        w = QWidget()
        dock.setWidget(w)
        self.addDockWidget(Qt.LeftDockWidgetArea, dock)
        return w

    def _build_model_panel(self) -> None:
        lay = QVBoxLayout(self._add_dock("Model"))
        lay.addWidget(QLabel("Bundled checkpoints"))
        self.bundled = QListWidget()
        for e in checkpoint.bundled_index():
            item = QListWidgetItem(f"{e['name']}   ·  {e['data']}  N={e['n']}  {e['split']}")
            item.setData(Qt.UserRole, str(checkpoint.bundled_dir() / e["file"]))
            item.setToolTip(e.get("description", ""))
            self.bundled.addItem(item)
        self.bundled.itemActivated.connect(lambda it: self.open_checkpoint(it.data(Qt.UserRole)))
        self.bundled.itemClicked.connect(lambda it: self.open_checkpoint(it.data(Qt.UserRole)))
        lay.addWidget(self.bundled, 1)
        open_button = QPushButton("Open checkpoint…")
        open_button.clicked.connect(self.open_dialog)
        lay.addWidget(open_button)
        lay.addWidget(QLabel("Loaded model"))
        self.info = QPlainTextEdit()
        self.info.setReadOnly(True)
        self.info.setLineWrapMode(QPlainTextEdit.NoWrap)
        self.info.setStyleSheet("QPlainTextEdit { font-family: monospace; font-size: 9pt; }")
        lay.addWidget(self.info, 1)

    def _build_run_panel(self) -> None:
        form = QFormLayout(self._add_dock("Run"))
        self.sampler_box = QComboBox()
        for key, label in SAMPLER_LABELS.items():
            self.sampler_box.addItem(label, key)
        self.sampler_box.currentIndexChanged.connect(self._sampler_changed)
        self.steps_box = QSpinBox(minimum=1, maximum=5000, value=samplers.DEFAULT_STEPS["sde"])
        self.batch_box = QSpinBox(minimum=1, maximum=1024, value=16)
        self.seed_box = QSpinBox(minimum=0, maximum=2 ** 31 - 1, value=0)
        randomise = QPushButton("Randomise")
        randomise.clicked.connect(lambda: self.seed_box.setValue(random.randrange(2 ** 31 - 1)))
        seed_row = QHBoxLayout()
        seed_row.addWidget(self.seed_box, 1)
        seed_row.addWidget(randomise)
        self.device_box = QComboBox()
        self.device_box.addItems(["auto", "cpu", "cuda"])
        self.final_denoise = QCheckBox("final denoising step")
        self.final_denoise.setChecked(True)
        self.run_button = QPushButton("Run")
        self.run_button.setDefault(True)
        self.run_button.clicked.connect(self.start_run)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel_run)
        buttons = QHBoxLayout()
        buttons.addWidget(self.run_button)
        buttons.addWidget(self.cancel_button)
        form.addRow("sampler", self.sampler_box)
        form.addRow("steps", self.steps_box)
        form.addRow("batch", self.batch_box)
        form.addRow("seed", seed_row)
        form.addRow("device", self.device_box)
        form.addRow("", self.final_denoise)
        form.addRow(buttons)

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        act = QAction("&Open checkpoint…", self, shortcut=QKeySequence.Open, triggered=self.open_dialog)
        file_menu.addAction(act)
        self.recent_menu = file_menu.addMenu("Open &recent")
        file_menu.addAction(QAction("Open &run (.npz)…", self, triggered=self.open_run_dialog))
        file_menu.addAction(QAction("&Compare two checkpoints…", self, triggered=self.compare_dialog))
        file_menu.addSeparator()
        self.export_actions = [
            QAction("Export current frame as PNG…", self, triggered=self.export_png),
            QAction("Export all frames as PNGs…", self, triggered=self.export_frames),
            QAction("Export animated GIF…", self, triggered=self.export_gif),
            QAction("Export contact sheet…", self, triggered=self.export_sheet),
            QAction("Export coarse-to-fine strip…", self, triggered=self.export_strip),
            QAction("Save run (.npz)…", self, triggered=self.export_npz),
        ]
        for a in self.export_actions:
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
        i = self.sampler_box.findData(s.value("sampler", "sde"))
        self.sampler_box.setCurrentIndex(max(i, 0))
        self.steps_box.setValue(int(s.value("steps", self.steps_box.value())))
        self.batch_box.setValue(int(s.value("batch", 16)))
        self.seed_box.setValue(int(s.value("seed", 0)))
        self.device_box.setCurrentText(str(s.value("device", "auto")))

    def save_settings(self) -> None:
        s = self.settings
        s.setValue("geometry", self.saveGeometry())
        s.setValue("state", self.saveState())
        s.setValue("sampler", self.sampler_box.currentData())
        s.setValue("steps", self.steps_box.value())
        s.setValue("batch", self.batch_box.value())
        s.setValue("seed", self.seed_box.value())
        s.setValue("device", self.device_box.currentText())
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

    def open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open checkpoint", "",
                                              "Checkpoints (*.safetensors index.json);;All files (*)")
        if path:
            self.open_checkpoint(path)

    def compare_dialog(self) -> None:
        paths = []
        for side in ("S1", "S2"):
            path, _ = QFileDialog.getOpenFileName(self, f"The {side} model", "", "Checkpoints (*.safetensors)")
            if not path:
                return
            paths.append(path)
        try:
            n = (checkpoint.read_config(paths[0]).get("data") or {}).get("n")
        except ExplorerError as e:
            self.show_message(str(e))
            return
        self.compare.add_pair(n, *paths)
        self.tabs.setCurrentWidget(self.compare)

    def open_checkpoint(self, path: str | Path, remember: bool = True) -> bool:
        """Load a checkpoint; a bad file becomes a message and the current model stays."""
        if self.is_running():
            self.show_message("Cancel the current run before opening another model.")
            return False
        try:
            model = wcrg.load(path) if wcrg.is_wcrg(path) else checkpoint.load(path, expect_kind="diffusion")
        except ExplorerError as e:
            self.show_message(f"Could not open this checkpoint. {e}")
            return False
        self.model = model
        is_wcrg = isinstance(model, wcrg.WCRGModel)
        self.info.setPlainText(wcrg.describe(model) if is_wcrg else checkpoint.describe(model))
        self.setWindowTitle(f"explorer {__version__} — {model.name}")
        data = (model.index if is_wcrg else model.config).get("data") or {}
        cmap = "diverging" if data.get("name") == "phi4" else "grey"
        self.view.set_colormap(cmap)
        self.scales.set_colormap(cmap)
        self.scales.set_model_levels(model.levels if is_wcrg else None, model.wavelet if is_wcrg else None)
        ascent = self.sampler_box.model().item(self.sampler_box.findData("ascent"))
        ascent.setEnabled(not is_wcrg)
        if is_wcrg and self.sampler_box.currentData() == "ascent":
            self.sampler_box.setCurrentIndex(self.sampler_box.findData("ode"))
        self.hide_message()
        self.statusBar().showMessage(f"loaded {model.name}", 5000)
        if remember:
            self._remember(Path(path).resolve())
        self.settings.setValue("last_checkpoint", str(Path(path).resolve()))
        return True

    def dragEnterEvent(self, event) -> None:
        urls = event.mimeData().urls()
        if urls and urls[0].toLocalFile().rstrip("/").endswith((".safetensors", ".wcrg", "index.json")):
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        self.open_checkpoint(event.mimeData().urls()[0].toLocalFile())

    # --- runs -----------------------------------------------------------------------------------
    def _sampler_changed(self) -> None:
        self.steps_box.setValue(samplers.DEFAULT_STEPS[self.sampler_box.currentData()])

    def is_running(self) -> bool:
        return self.thread is not None and self.thread.isRunning()

    def run_settings(self) -> dict:
        return {"sampler": self.sampler_box.currentData(), "steps": self.steps_box.value(),
                "n": self.batch_box.value(), "seed": self.seed_box.value(), "device": self.device_box.currentText(),
                "final_denoise": self.final_denoise.isChecked()}

    def _device(self):
        from explorer.core.train import resolve_device
        try:
            return resolve_device(self.device_box.currentText())
        except ExplorerError as e:
            self.show_message(str(e))
            return None

    def _launch(self, make_run, batch: int, total: int, on_frame, on_finished) -> None:
        """Start `make_run()` in a RunThread; total = frames expected (0: unknown)."""
        worker = SamplingWorker(make_run, batch=batch)
        worker.frame.connect(on_frame)
        worker.finished.connect(on_finished)
        worker.cancelled.connect(self._on_cancelled)
        worker.failed.connect(self._on_failed)
        self.thread = RunThread(worker, self)
        self.hide_message()
        self.progress.setRange(0, total)
        self.progress.setValue(0)
        self.rate_label.setText("")
        self.run_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self._refresh_export_actions()
        self._started = time.perf_counter()
        self._frames_seen = 0
        self.thread.start()

    def start_run(self) -> bool:
        if self.model is None:
            self.show_message("Open a checkpoint first (File → Open checkpoint…, or drop a .safetensors file here).")
            return False
        if self.is_running():
            return False
        r = self.run_settings()
        device = self._device()
        if device is None:
            return False
        model = self.model
        if self.is_wcrg:
            if r["sampler"] == "ascent":
                self.show_message("The wavelet RG runs the SDE, ODE or DDIM sampler at each scale; choose one of them.")
                return False
            self.run_meta = {"checkpoint": model.name, "checkpoint_sha256": model.sha256, "sampler": r["sampler"],
                             "steps": r["steps"], "seed": r["seed"], "levels": model.levels, "wavelet": model.wavelet,
                             "version": __version__}
            frames_per_scale = r["steps"] + 1
            total = frames_per_scale * (model.levels + 1)

            def make_run():
                return wcrg.generate(model, r["n"], r["sampler"], r["steps"], None, r["seed"], device, r["final_denoise"])
        else:
            self.run_meta = run_meta(model, r["sampler"], r["steps"], r["seed"], device, r["final_denoise"])
            total = 0 if r["sampler"] == "ascent" else r["steps"] + 1

            def make_run():
                return sample_checkpoint(model, r["n"], r["sampler"], r["steps"], r["seed"], device, r["final_denoise"])
        self.trajectory = None
        self.view.clear()
        self.view.expect(total)
        self.statistics.clear()
        if self.tabs.currentWidget() is self.compare:
            self.tabs.setCurrentWidget(self.view)
        self._launch(make_run, r["n"], total, self._on_frame, self._on_finished)
        return True

    def start_compare(self) -> bool:
        """Both models of the chosen S1/S2 pair from the same noise (sampler, steps, seed from the Run panel)."""
        from explorer.core.generalization import compare_run
        pair = self.compare.current_pair()
        if pair is None or self.is_running():
            return False
        r = self.run_settings()
        device = self._device()
        if device is None:
            return False
        try:
            ckpt1, ckpt2 = (checkpoint.load(p, expect_kind="diffusion") for p in pair[1:])
        except ExplorerError as e:
            self.show_message(f"Could not open the pair. {e}")
            return False
        n, k = self.compare.samples_box.value(), self.compare.k_box.value()
        self.run_meta = {"compare": [ckpt1.name, ckpt2.name], "sampler": r["sampler"], "seed": r["seed"]}
        self.compare.running(True)
        total = 0 if r["sampler"] == "ascent" else 2 * (r["steps"] + 1)
        self._launch(lambda: compare_run(ckpt1, ckpt2, n, r["sampler"], r["steps"], r["seed"], k, device), n, total,
                     self._on_compare_frame, self._on_compare_finished)
        self.compare.cancel_button.setEnabled(True)
        return True

    def _on_compare_frame(self, frame) -> None:
        self.compare.add_frame(frame)
        self._count_frame(frame)

    def _on_compare_finished(self, result) -> None:
        frames = list(self.thread.worker.frames)
        self.compare.running(False)
        self.compare.show_result(result, frames, self.view.colormap_box.currentText())
        self._finish_controls(f"compared: {len(frames)} frames")
        self._refresh_export_actions()

    def cancel_run(self) -> None:
        if self.thread is not None:
            self.thread.worker.cancel()
            self.cancel_button.setEnabled(False)
            self.compare.cancel_button.setEnabled(False)
            self.statusBar().showMessage("cancelling…")

    def _on_frame(self, frame) -> None:
        self.view.add_frame(frame)
        self._count_frame(frame)

    def _count_frame(self, frame) -> None:
        self._frames_seen += 1
        n = self._frames_seen
        elapsed = time.perf_counter() - self._started
        rate = n / max(elapsed, 1e-9)
        if self.progress.maximum() > 0:
            self.progress.setValue(min(n, self.progress.maximum()))
            left = (self.progress.maximum() - n) / max(rate, 1e-9)
            self.rate_label.setText(f"{rate:.1f} steps/s · {left:.0f} s left")
        else:
            self.rate_label.setText(f"{rate:.1f} steps/s · σ = {frame.sigma:.3g}")

    def _finish_controls(self, note: str) -> None:
        self.run_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        if self.compare.cancel_button.isEnabled():
            self.compare.running(False)
        elapsed = time.perf_counter() - self._started
        self.statusBar().showMessage(f"{note} in {elapsed:.1f} s")
        if self.thread is not None:
            self.thread.wait(5000)

    def _end_run(self, traj: Trajectory, note: str) -> None:
        if "compare" in self.run_meta:                     # a cancelled or failed comparison
            self._finish_controls(f"{note}: {len(traj.frames)} frames")
            self.compare.summary.setText(f"{note}: the comparison needs both runs to finish.")
            return
        self.trajectory = Trajectory(frames=traj.frames, meta={**self.run_meta, **traj.meta})
        self.view.set_frames(traj.frames)
        self._finish_controls(f"{note}: {len(traj.frames)} frames")
        self._refresh_export_actions()

    def _on_finished(self, traj) -> None:
        self.progress.setRange(0, max(len(traj.frames), 1))
        self.progress.setValue(len(traj.frames))
        self._end_run(traj, "done")
        data = (self.model.index if self.is_wcrg else self.model.config).get("data") or {}
        self.statistics.show_samples(np.asarray(traj.frames[-1].x0_hat), data.get("stats"))

    def _on_cancelled(self, traj) -> None:
        self._end_run(traj, "cancelled")

    def _on_failed(self, message: str, traj) -> None:
        self._end_run(traj, "failed")
        self.show_message(message + (f" The {len(traj.frames)} frames made before are kept." if traj.frames else ""))

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
        try:
            traj = Trajectory.load_npz(path)
        except ExplorerError as e:
            self.show_message(str(e))
            return False
        self.trajectory = traj
        self.view.clear()
        self.view.set_frames(traj.frames)
        self._refresh_export_actions()
        return True

    # --- export -----------------------------------------------------------------------------------
    def _refresh_export_actions(self) -> None:
        ok = self.trajectory is not None and bool(self.trajectory.frames) and not self.is_running()
        for a in self.export_actions:
            a.setEnabled(ok)

    def _export_options(self) -> dict:
        return {"levels": tuple(self.view.histogram.getLevels()), "cmap": self.view.colormap_box.currentText()}

    def _export(self, write, *args) -> Path | None:
        try:
            out = write(*args)
        except ExplorerError as e:
            self.show_message(f"Export failed. {e}")
            return None
        self.statusBar().showMessage(f"wrote {out if not isinstance(out, list) else Path(out[0]).parent}", 8000)
        return out

    def _ask_path(self, title: str, filt: str, suffix: str) -> Path | None:
        path, _ = QFileDialog.getSaveFileName(self, title, f"explorer{suffix}", filt)
        return Path(path) if path else None

    def export_png(self, path: Path | None = None):
        path = path or self._ask_path("Export frame", "PNG (*.png)", ".png")
        return path and self._export(export.save_frame_png, path, self.trajectory, max(self.view.current, 0), "both",
                                     *self._export_options().values())

    def export_frames(self, folder: Path | None = None):
        folder = folder or QFileDialog.getExistingDirectory(self, "Export all frames into folder")
        return folder and self._export(export.save_frame_sequence, Path(folder), self.trajectory, "both",
                                       *self._export_options().values())

    def export_gif(self, path: Path | None = None):
        path = path or self._ask_path("Export GIF", "GIF (*.gif)", ".gif")
        return path and self._export(export.save_gif, path, self.trajectory, "both", *self._export_options().values())

    def export_sheet(self, path: Path | None = None):
        path = path or self._ask_path("Export contact sheet", "PNG (*.png)", "-sheet.png")
        o = self._export_options()
        return path and self._export(export.save_contact_sheet, path, self.trajectory, 8, "x0_hat", o["levels"], o["cmap"])

    def export_strip(self, path: Path | None = None):
        path = path or self._ask_path("Export coarse-to-fine strip", "PNG (*.png)", "-strip.png")
        o = self._export_options()
        return path and self._export(export.save_coarse_to_fine_strip, path, self.trajectory, self.scales.levels_box.value(),
                                     self.scales.wavelet_box.currentText(), None, o["cmap"])

    def export_npz(self, path: Path | None = None):
        path = path or self._ask_path("Save run", "Runs (*.npz)", ".npz")
        return path and self._export(self.trajectory.save_npz, path)

    # --- closing --------------------------------------------------------------------------------------
    def closeEvent(self, event) -> None:
        if self.is_running():
            if self.ask_before_closing_a_run:
                answer = QMessageBox.question(self, "A run is in progress", "Stop the run and close explorer?")
                if answer != QMessageBox.Yes:
                    event.ignore()
                    return
            self.thread.stop()
        self.save_settings()
        event.accept()


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
    return app.exec()


def screenshot(out: Path, checkpoint_path: str | None = None, step: int | None = None, view: str = "trajectory",
               settings_path: str | None = None, **run) -> Path:
    """Open the real window (offscreen when there is no display), run the sampler to the end,
    show step `step` and save the window as PNG."""
    import os
    import tempfile

    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    app = QApplication.instance() or QApplication(sys.argv[:1])
    settings_path = settings_path or str(Path(tempfile.mkdtemp()) / "settings.ini")
    win = MainWindow(QSettings(settings_path, QSettings.IniFormat), checkpoint_path=checkpoint_path)
    if win.model is None:
        raise ExplorerError(win.message.text() or "no checkpoint to open")
    for key, box in (("sampler", None), ("steps", win.steps_box), ("n", win.batch_box), ("seed", win.seed_box)):
        if run.get(key) is not None:
            if key == "sampler":
                win.sampler_box.setCurrentIndex(win.sampler_box.findData(run[key]))
                if run.get("steps") is None:
                    continue
            else:
                box.setValue(int(run[key]))
    win.device_box.setCurrentText("cpu")
    win.resize(1280, 820)
    win.show()
    tab = {"trajectory": win.view, "scales": win.scales, "compare": win.compare, "statistics": win.statistics}[view]
    if view == "compare":
        if run.get("pair") is not None:
            win.compare.pair_box.setCurrentIndex(int(run["pair"]))
        if not win.start_compare():
            raise ExplorerError(win.message.text() or "no S1/S2 pair to compare")
        done = lambda: not win.is_running() and win.compare.result is not None  # noqa: E731
    else:
        win.start_run()
        done = lambda: not win.is_running() and win.trajectory is not None  # noqa: E731
    while not done():
        app.processEvents()
        time.sleep(0.005)
        if win.message.isVisible() and not win.is_running():
            raise ExplorerError(win.message.text())
    win.tabs.setCurrentWidget(tab)
    if view != "compare":
        win.view.go(len(win.view.frames) // 2 if step is None else step)
    elif step is not None:
        win.compare.slider.setValue(step)
    for _ in range(10):
        app.processEvents()
    out = Path(out)
    pixmap = win.grab()
    export.atomic_write(out, lambda f: f.write(_png_bytes(pixmap)))
    win.ask_before_closing_a_run = False
    win.close()
    return out


def _png_bytes(pixmap) -> bytes:
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice
    data = QByteArray()
    buf = QBuffer(data)
    buf.open(QIODevice.WriteOnly)
    pixmap.save(buf, "PNG")
    return bytes(data)
