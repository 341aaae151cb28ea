"""The compare view: S1 and S2 models from the same noise, side by side with their nearest
training images and the similarity numbers; one slider scrubs both runs together; the sweep
panel plots the generalise-or-memorise curves against N with the fresh-image baseline."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSpinBox,
    QSplitter,
    QTableWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from explorer.app.views.slider import step_slider
from explorer.core.analysis.generalization import summary_text, verdict
from explorer.core.display import render
from explorer.core.errors import ExplorerError
from explorer.core.models import checkpoint

COLUMNS = ("S1 sample", "S2 sample", "verdict", "nearest S1 training images (cos)", "nearest S2 training images (cos)")
SWEEP_CURVES = (("cos_s1_s2", "#1f77b4", "cos(S1 sample, S2 sample)"),
                ("cos_nearest_own", "#d62728", "cos(sample, nearest own training image)"),
                ("baseline", "#777777", "fresh images: cos(nearest training image)"))


CAPACITY_COLOURS = ("#2ca02c", "#1f77b4", "#9467bd", "#ff7f0e", "#8c564b")


def _sweep_plot() -> tuple[pg.PlotWidget, QLabel]:
    """A cosine-against-N plot (its title carries only messages: no sweep yet, unreadable) and its legend."""
    plot = pg.PlotWidget(background="w")
    plot.setLogMode(x=True, y=False)
    plot.setLabel("bottom", "N (training images per model)")
    plot.setLabel("left", "cosine similarity")
    plot.setYRange(0, 1.02)
    legend = QLabel("")
    legend.setWordWrap(True)
    return plot, legend


def _draw_sweep(plot: pg.PlotWidget, curves: list[dict]) -> str:
    """One curve: its three medians against N (S1-S2, nearest own, fresh baseline) with quartile
    bars; several (the capacity axis): cos(S1, S2) per curve, N* marked. Returns the legend's HTML."""
    n_all = sorted({r["N"] for c in curves for r in c["rows"]})
    plot.getAxis("bottom").setTicks([[(float(np.log10(v)), f"{v}") for v in n_all], []])

    def draw(rows, key, color, style=Qt.SolidLine):
        n = np.array([r["N"] for r in rows], float)
        med, lo, hi = (np.array([r[f"{key}_{q}"] for r in rows]) for q in ("median", "q25", "q75"))
        plot.plot(n, med, pen=pg.mkPen(color, width=2, style=style), symbol="o", symbolBrush=color, symbolSize=7)
        plot.addItem(pg.ErrorBarItem(x=np.log10(n), y=med, top=hi - med, bottom=med - lo, beam=0.05, pen=pg.mkPen(color)))

    if len(curves) == 1:
        rows = curves[0]["rows"]
        shown = [(key, color, label) for key, color, label in SWEEP_CURVES
                 if all(r.get(f"{key}_median") is not None for r in rows)]
        for key, color, _ in shown:
            draw(rows, key, color, Qt.DashLine if key == "baseline" else Qt.SolidLine)
        return "  ".join(f"<span style='color:{c}'>━━</span> {label}" for _, c, label in shown)
    legend = []
    for curve, color in zip(curves, CAPACITY_COLOURS * len(curves)):
        draw(curve["rows"], "cos_s1_s2", color)
        n_star = curve.get("N_star")
        if n_star:
            plot.addItem(pg.InfiniteLine(pos=float(np.log10(n_star)), angle=90, pen=pg.mkPen(color, style=Qt.DotLine)))
        entry = f"{curve['label']}: N* = {'not bracketed' if not n_star else f'{n_star:.0f}'}"
        legend.append(f"<span style='color:{color}'>━━</span>&nbsp;" + entry.replace(" ", "&nbsp;"))   # wraps between entries
    return "  ".join(legend) + "  (N*: the median crosses 0.5)"


def pixmap(img: np.ndarray, display_range, cmap: str, scale: int = 3) -> QPixmap:
    """A (C, H, W) or mosaic array as a QPixmap through the core's colormap."""
    rgb = np.ascontiguousarray(render.to_rgb(img, display_range, cmap, scale))
    h, w, _ = rgb.shape
    return QPixmap.fromImage(QImage(rgb.data, w, h, 3 * w, QImage.Format_RGB888).copy())


class CompareView(QWidget):
    run_requested = Signal()
    cancel_requested = Signal()
    choose_requested = Signal()                 # the user wants to pick two models of their own

    HINT = "Sampler, steps and seed come from the Run panel."

    def __init__(self, parent=None):
        super().__init__(parent)
        self.result: dict | None = None
        self._running_pair = None                   # (N, path S1, path S2) of the run in progress
        self.frames: list = []
        self.cmap = "grey"
        self.pairs = []
        self.pair_box = QComboBox()
        self.samples_box = QSpinBox(minimum=1, maximum=64, value=6)
        self.k_box = QSpinBox(minimum=1, maximum=8, value=3)
        self.run_button = QPushButton("Run both")
        self.run_button.setToolTip("Run the S1 and the S2 model from the same noise (sampler, steps and seed from the "
                                   "Run panel)")
        self.choose_button = QPushButton("Choose two models…")
        self.choose_button.setToolTip("Compare any two checkpoints: an S1 and an S2 model of the same images")
        self.choose_button.clicked.connect(self.choose_requested)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.run_button.clicked.connect(self.run_requested)
        self.cancel_button.clicked.connect(self.cancel_requested)
        pick = QHBoxLayout()
        pick.addWidget(QLabel("pair"))
        pick.addWidget(self.pair_box, 1)
        pick.addWidget(self.choose_button)
        top = QHBoxLayout()
        for label, w in (("samples", self.samples_box), ("neighbours", self.k_box)):
            top.addWidget(QLabel(label))
            top.addWidget(w)
        top.addWidget(self.run_button)
        top.addWidget(self.cancel_button)
        top.addStretch(1)
        self.pair_box.setMinimumContentsLength(12)
        self.pair_box.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
        self.summary = QLabel(self.HINT)
        self.summary.setWordWrap(True)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeToContents)
        self.slider = step_slider()
        self.slider.valueChanged.connect(self.show_step)
        self.step_label = QLabel("")
        scrub = QHBoxLayout()
        scrub.addWidget(QLabel("both runs at step"))
        scrub.addWidget(self.slider, 1)
        scrub.addWidget(self.step_label)
        self.sweep_plot, self.sweep_legend = _sweep_plot()
        self.capacity_plot, self.capacity_legend = _sweep_plot()
        self.current_n_line = pg.InfiniteLine(angle=90, pen=pg.mkPen("#999", style=Qt.DashLine))
        upper = QWidget()
        ul = QVBoxLayout(upper)
        ul.setContentsMargins(0, 0, 0, 0)
        ul.addLayout(pick)
        ul.addLayout(top)
        ul.addWidget(self.summary)
        ul.addWidget(self.table, 1)
        ul.addLayout(scrub)
        split = QSplitter(Qt.Vertical)
        split.addWidget(upper)
        self.sweep_tabs = QTabWidget()              # one plot at a time: each has the full width
        for legend, plot, name in ((self.sweep_legend, self.sweep_plot, "bundled pairs: medians against N (bars: quartiles)"),
                                   (self.capacity_legend, self.capacity_plot, "capacity axis: cos(S1, S2) per network size")):
            page = QWidget()
            column = QVBoxLayout(page)
            column.setContentsMargins(2, 2, 2, 2)
            column.addWidget(legend)
            column.addWidget(plot, 1)
            self.sweep_tabs.addTab(page, name)
        split.addWidget(self.sweep_tabs)
        split.setSizes([500, 320])
        lay = QVBoxLayout(self)
        lay.addWidget(split)
        self.pair_box.currentIndexChanged.connect(self._mark_current_n)
        self.pair_box.currentIndexChanged.connect(self._forget_other_pair)

    # --- pairs and the sweep -------------------------------------------------------------------------------
    def set_pairs(self, pairs: list[tuple[int, str, str]]) -> None:
        self.pairs = pairs
        self.pair_box.clear()
        for n, a, b in pairs:
            self.pair_box.addItem(f"N = {n}:  {Path(a).stem} / {Path(b).stem}", (n, a, b))
        self.run_button.setEnabled(bool(pairs))

    def add_pair(self, n, path1: str, path2: str) -> None:
        self.pairs.append((n, path1, path2))
        self.pair_box.addItem(f"{Path(path1).stem} / {Path(path2).stem}", (n, path1, path2))
        self.pair_box.setCurrentIndex(self.pair_box.count() - 1)
        self.run_button.setEnabled(True)

    def choose_pair_of(self, path: str | Path) -> None:
        """Choose the pair that holds the model at `path` (none does: the choice stays)."""
        path = Path(path).resolve()
        for i in range(self.pair_box.count()):
            if path in (Path(p).resolve() for p in self.pair_box.itemData(i)[1:]):
                self.pair_box.setCurrentIndex(i)
                return

    def current_pair(self) -> tuple[int, str, str] | None:
        """(N, S1 path, S2 path) of the chosen pair."""
        return self.pair_box.currentData()

    def settings(self) -> tuple[int, int]:
        """(samples per model, nearest neighbours k) as chosen now."""
        return self.samples_box.value(), self.k_box.value()

    def load_sweep(self, path: Path, capacity: Path | None = None) -> bool:
        """The bundled pairs' sweep (`path`: its curves against N, with the fresh baseline) and the
        capacity axis (`capacity`: cos(S1, S2) per network size, with N*); False if `path` is missing."""
        from explorer.core.analysis.generalization import read_sweep

        shown = False
        for plot, legend, file, hint in ((self.sweep_plot, self.sweep_legend, path, "--json checkpoints/sweep.json"),
                                         (self.capacity_plot, self.capacity_legend, capacity,
                                          "--folder checkpoints/capacity --json checkpoints/capacity/sweep.json")):
            plot.clear()
            plot.setTitle(None)
            if file is None or not Path(file).exists():
                plot.setTitle(f"no sweep yet: `explorer sweep {hint}` makes it")
                legend.setText("")
                continue
            try:
                curves = read_sweep(file)
            except ExplorerError as e:
                plot.setTitle(f"unreadable sweep: {e}")
                legend.setText("")
                continue
            legend.setText(_draw_sweep(plot, curves))
            shown = shown or plot is self.sweep_plot
        self.sweep_plot.addItem(self.current_n_line)
        self._mark_current_n()
        return shown

    def _forget_other_pair(self, *_) -> None:
        """Another pair chosen: the last result, of the pair it ran, is not shown under its name."""
        if self.result is not None and self.current_pair() != self.result.get("pair"):
            self.result, self.frames = None, []
            self.table.setRowCount(0)
            self.slider.setRange(0, 0)
            self.step_label.setText("")
            self.summary.setText(self.HINT)

    def _mark_current_n(self, *_):
        pair = self.current_pair()
        if pair and pair[0]:
            self.current_n_line.setValue(np.log10(pair[0]))

    # --- a run -----------------------------------------------------------------------------------------------
    def running(self, on: bool) -> None:
        self.run_button.setEnabled(not on and bool(self.pairs))
        self.cancel_button.setEnabled(on)
        self.pair_box.setEnabled(not on)                     # the pair that runs is the one named
        self.choose_button.setEnabled(not on)
        if on:
            self._running_pair = self.current_pair()
            self.frames, self.result = [], None
            self.table.setRowCount(0)
            self.summary.setText("running S1, then S2, from the same noise…")

    def add_frame(self, frame) -> None:
        self.frames.append(frame)

    def set_cancelling(self) -> None:
        self.cancel_button.setEnabled(False)

    def pair_count(self) -> int:
        return self.pair_box.count()

    def choose_pair(self, index: int) -> None:
        self.pair_box.setCurrentIndex(index)

    def show_step_of_both(self, k: int) -> None:
        """Show step k of both runs (the slider follows)."""
        self.slider.setValue(k)

    def show_stopped(self, note: str) -> None:
        """A cancelled or failed comparison: nothing to analyse."""
        self.running(False)
        self.summary.setText(f"{note}: the comparison needs both runs to finish.")

    def show_result(self, result: dict, frames: list, cmap: str = "grey") -> None:
        self.result, self.frames, self.cmap = {**result, "pair": self._running_pair}, frames, cmap
        a, b = result["analysis"], result["baseline"]
        rows = a["samples"]
        n1 = result["n_frames_s1"]
        self.s1_frames, self.s2_frames = frames[:n1], frames[n1:]
        final = np.asarray(self.s1_frames[-1].x0_hat)
        self.display_range = render.default_display_range(final, cmap == "diverging")
        self.table.setRowCount(len(rows))
        self.table.setVerticalHeaderLabels([f"sample {i}" for i in range(len(rows))])   # numbered as `explorer compare`
        for i, r in enumerate(rows):
            for col, side in ((3, "S1"), (4, "S2")):
                neigh = result["neighbours"][side][i]                  # (k, C, H, W)
                cell = QWidget()
                lay = QHBoxLayout(cell)
                lay.setContentsMargins(2, 2, 2, 2)
                for j in range(len(neigh)):
                    lab = QLabel()
                    lab.setPixmap(pixmap(render.tile(neigh[j:j + 1]), self.display_range, cmap))
                    lab.setToolTip(f"training image #{r[side]['nearest_own'][j]}")
                    box = QVBoxLayout()
                    box.addWidget(lab)
                    box.addWidget(QLabel(f"#{r[side]['nearest_own'][j]}  {r[side]['cos_own'][j]:.3f}"))
                    lay.addLayout(box)
                self.table.setCellWidget(i, col, cell)
            self.table.setCellWidget(i, 2, QLabel(verdict(r)))
        self.table.resizeRowsToContents()
        s = a["summary"]
        self.summary.setText(
            f"median cos(S1, S2) = {s['cos_s1_s2_median']:.3f};  median cos(sample, nearest own training image) = "
            f"{s['cos_nearest_own_median']:.3f};  {summary_text(s)}.   "
            + (f"Baseline: fresh images of the data set have median nearest-training cosine {b['median']:.3f} "
               f"(a sample at or below it is not a copy)." if b else
               "No fresh-image baseline: this data set has no generator of fresh images."))
        self.slider.setRange(0, max(len(self.s1_frames), len(self.s2_frames)) - 1)
        self.slider.setValue(self.slider.maximum())
        self.show_step(self.slider.maximum())

    def show_step(self, k: int) -> None:
        if self.result is None:
            return
        for col, frames in ((0, self.s1_frames), (1, self.s2_frames)):
            f = frames[min(k, len(frames) - 1)]
            for i in range(self.table.rowCount()):
                lab = QLabel()
                lab.setPixmap(pixmap(render.tile(np.asarray(f.x0_hat)[i:i + 1]), self.display_range, self.cmap, 3))
                self.table.setCellWidget(i, col, lab)
        f = self.s1_frames[min(k, len(self.s1_frames) - 1)]
        self.step_label.setText(f"step {k}: σ = {f.sigma:.3g}  (x0_hat shown)")

    def bundled_pairs(self) -> list:
        from explorer.core.analysis.generalization import bundled_pairs
        try:
            return bundled_pairs()
        except (ExplorerError, OSError, ValueError, KeyError):      # a damaged bundled folder: no pairs offered
            return []

    def sweep_paths(self) -> tuple[Path, Path]:
        """The bundled pairs' sweep and the capacity axis's."""
        return checkpoint.bundled_dir() / "sweep.json", checkpoint.bundled_dir() / "capacity" / "sweep.json"
