"""The compare view: S1 and S2 models from the same noise, side by side with their nearest
training images and the similarity numbers; one slider scrubs both runs together, and the
along-the-run plot shows cos(S1, S2) of x0_hat and each one's nearest-training cosine against
σ/α with the slider's step marked; the sweep panels plot the generalise-or-memorise curves
against N with the fresh-image baseline. A pair runs with its own sampler, steps and seed (the
S1 model's defaults unless chosen here), never the Run panel's."""
from __future__ import annotations

import html
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, Signal
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
from explorer.core.analysis.sweep_file import read_sweep
from explorer.core.display import render
from explorer.core.errors import ExplorerError
from explorer.core.files import schema
from explorer.core.lazy import Later
from explorer.core.models import bundle
from explorer.core.sampling.catalogue import LABELS

generalization = Later("explorer.core.analysis.generalization")      # torch: its texts are needed after a run

COLUMNS = ("S1 sample", "S2 sample", "verdict", "nearest S1 training images (cos)", "nearest S2 training images (cos)")
SWEEP_CURVES = (("cos_s1_s2", "#1f77b4", "cos(S1 sample, S2 sample)"),
                ("cos_nearest_own", "#d62728", "cos(sample, nearest own training image)"),
                ("baseline", "#777777", "fresh images: cos(nearest training image)"))


CAPACITY_COLOURS = ("#2ca02c", "#1f77b4", "#9467bd", "#ff7f0e", "#8c564b")
ALONG_CURVES = (("cos_s1_s2", "#1f77b4", Qt.SolidLine, "cos(S1 x0_hat, S2 x0_hat)"),
                ("nearest_S1", "#d62728", Qt.SolidLine, "S1 x0_hat: cos(nearest S1 training image)"),
                ("nearest_S2", "#ff7f0e", Qt.DashLine, "S2 x0_hat: cos(nearest S2 training image)"))


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


def _along_plot() -> tuple[pg.PlotWidget, QLabel]:
    """Cosines against σ/α on a log axis that decreases to the right, as the run goes (x is
    log10 σ/α, ticked at σ/α), and its legend."""
    plot = pg.PlotWidget(background="w")
    plot.invertX(True)
    plot.setLabel("bottom", "σ/α  (log axis; the run goes from left to right)")
    plot.setLabel("left", "cosine similarity")
    plot.setTitle("run a pair: its two runs' cosines at every step")
    legend = QLabel("")
    legend.setWordWrap(True)
    return plot, legend


def _log_ticks(lo: float, hi: float) -> list:
    """Ticks of a log10 axis from lo to hi (log10 values): the decades labelled as σ/α, 2..9 unlabelled."""
    decades = range(int(np.floor(lo)), int(np.ceil(hi)) + 1)
    major = [(float(d), f"{10.0 ** d:g}") for d in decades if lo <= d <= hi]
    minor = [(float(d + np.log10(m)), "") for d in decades for m in range(2, 10) if lo <= d + np.log10(m) <= hi]
    return [major, minor]


def _draw_along(plot: pg.PlotWidget, along: dict) -> str:
    """The mean over the samples of each curve of `along_the_run` with its [q25, q75] band, at the
    steps with σ/α > 0 (the final denoised step, σ/α = 0, is off a log axis). Returns the legend."""
    plot.clear()
    level = np.asarray(along["level"])
    on = level > 0
    x = np.log10(level[on])
    low = 0.0
    for key, color, style, _ in ALONG_CURVES:
        mean, q25, q75 = (np.asarray(along[key][q])[on] for q in ("mean", "q25", "q75"))
        band = pg.mkColor(color)
        band.setAlpha(50)
        plot.addItem(pg.FillBetweenItem(pg.PlotCurveItem(x, q25), pg.PlotCurveItem(x, q75), brush=pg.mkBrush(band)))
        plot.plot(x, mean, pen=pg.mkPen(color, width=2, style=style))
        low = min(low, float(q25.min()))
    plot.setYRange(low - 0.02, 1.02, padding=0)
    plot.setXRange(float(x.min()), float(x.max()), padding=0.02)
    plot.getAxis("bottom").setTicks(_log_ticks(float(x.min()), float(x.max())))
    entries = [f"<span style='color:{c}'>{'━━' if st == Qt.SolidLine else '╍╍'}</span>&nbsp;{label.replace(' ', '&nbsp;')}"
               for _, c, st, label in ALONG_CURVES]
    return ("  ".join(entries) + "  (lines: the mean over the samples; bands: q25 to q75)<br>"
            + html.escape(generalization.settles_text(along))
            + (" (the final step, σ/α = 0, is off the log axis)." if not on.all() else "."))


def _2f(v: float) -> str:
    """v to two decimals, never "-0.00"."""
    return f"{round(v, 2) + 0.0:.2f}"


def pixmap(img: np.ndarray, display_range, cmap: str, scale: int = 3) -> QPixmap:
    """A (C, H, W) or mosaic array as a QPixmap through the core's colormap."""
    rgb = np.ascontiguousarray(render.to_rgb(img, display_range, cmap, scale))
    h, w, _ = rgb.shape
    return QPixmap.fromImage(QImage(rgb.data, w, h, 3 * w, QImage.Format_RGB888).copy())


class CompareView(QWidget):
    run_requested = Signal()
    cancel_requested = Signal()
    choose_requested = Signal()                 # the user wants to pick two models of their own
    samplers_wanted = Signal(object)            # (N, S1 path, S2 path): open the pair, then `set_samplers`

    HINT = ("A pair runs with the S1 model's default sampler and steps unless chosen here, and with this tab's "
            "seed (the Run panel is the open model's).")

    def __init__(self, parent=None):
        super().__init__(parent)
        self.result: dict | None = None
        self._rows_left: list = []                  # "along" and the rows of the result still to be drawn
        self._row_timer = QTimer(self, interval=5)  # one row an event-loop turn (all at once: 20-45 ms)
        self._row_timer.timeout.connect(self._draw_next_row)
        self._running_pair = None                   # (N, path S1, path S2) of the run in progress
        self._defaults: dict[str, tuple[tuple[str, ...], dict[str, int]]] = {}   # S1 path: samplers, default steps
        self._samplers_stale = False                                              # the pair changed while hidden
        self._wanted_sampler: str | None = None                                   # chosen before the samplers were known
        self.frames: list = []
        self.cmap = "grey"
        self.pairs = []
        self.pair_box = QComboBox()
        self.sampler_box = QComboBox()
        self.sampler_box.setToolTip("The pair's sampler: the S1 model's default unless another is chosen")
        self.steps_box = QSpinBox(minimum=0, maximum=schema.MAX_STEPS, value=0)
        self.steps_box.setToolTip("Steps of each run: the model's default for the sampler unless set (0: the default)")
        self.steps_box.setMinimumWidth(self.steps_box.fontMetrics().horizontalAdvance("default (1000)") + 30)
        self.seed_box = QSpinBox(minimum=0, maximum=2 ** 31 - 1, value=0)
        self.seed_box.setToolTip("The seed of the initial noise (and the SDE increments) both models start from")
        self.samples_box = QSpinBox(minimum=1, maximum=64, value=6)
        self.k_box = QSpinBox(minimum=1, maximum=8, value=3)
        self.run_button = QPushButton("Run both")
        self.run_button.setToolTip("Run the S1 and the S2 model from the same noise (this tab's sampler, steps and seed)")
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
        pick.addWidget(self.run_button)
        pick.addWidget(self.cancel_button)
        top = QHBoxLayout()
        top.setSpacing(4)
        self.seed_box.setMaximumWidth(self.seed_box.fontMetrics().horizontalAdvance("00000000") + 30)
        self.sampler_box.setMinimumContentsLength(len("default: dpm2m"))
        self.sampler_box.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
        self.k_box.setToolTip("The nearest training images shown for each sample")
        for label, w in (("sampler", self.sampler_box), ("steps", self.steps_box), ("seed", self.seed_box),
                         ("samples", self.samples_box), ("nearest", self.k_box)):
            top.addWidget(QLabel(label))
            top.addWidget(w)
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
        self.shown_box = QComboBox()
        self.shown_box.addItem("x0_hat", "x0_hat")
        self.shown_box.addItem("x_t", "x_t")
        self.shown_box.setToolTip("The sample columns show each run's x0_hat (the denoiser's estimate) or its state x_t")
        self.shown_box.currentIndexChanged.connect(lambda: self.show_step(self.slider.value()))
        self.step_label = QLabel("")
        scrub = QHBoxLayout()
        scrub.addWidget(QLabel("both runs at step"))
        scrub.addWidget(self.slider, 1)
        scrub.addWidget(self.shown_box)
        scrub.addWidget(self.step_label)
        self.sweep_plot, self.sweep_legend = _sweep_plot()
        self.capacity_plot, self.capacity_legend = _sweep_plot()
        self.along_plot, self.along_legend = _along_plot()
        self.current_n_line = pg.InfiniteLine(angle=90, pen=pg.mkPen("#999", style=Qt.DashLine))
        self.step_line = pg.InfiniteLine(angle=90, movable=True, pen=pg.mkPen("#333", width=2),
                                         hoverPen=pg.mkPen("#000", width=3))
        self.step_line.setToolTip("The slider's step: drag it to move both runs")
        self.step_line.sigPositionChangeFinished.connect(self._step_line_moved)
        self.along_plot.addItem(self.step_line)
        self.step_line.hide()                             # until a pair has run
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
        for legend, plot, name in ((self.along_legend, self.along_plot, "along the run: cosines against σ/α"),
                                   (self.sweep_legend, self.sweep_plot, "bundled pairs: medians against N (bars: quartiles)"),
                                   (self.capacity_legend, self.capacity_plot, "capacity axis: cos(S1, S2) per network size")):
            page = QWidget()
            column = QVBoxLayout(page)
            column.setContentsMargins(2, 2, 2, 2)
            column.addWidget(legend)
            column.addWidget(plot, 1)
            self.sweep_tabs.addTab(page, name)
        self.sweep_tabs.setCurrentIndex(1)          # the sweep, until a pair has run
        split.addWidget(self.sweep_tabs)
        split.setSizes([500, 320])
        lay = QVBoxLayout(self)
        lay.addWidget(split)
        self.sampler_box.currentIndexChanged.connect(self._show_default_steps)
        self.pair_box.currentIndexChanged.connect(self._mark_current_n)
        self.pair_box.currentIndexChanged.connect(self._forget_other_pair)
        self.pair_box.currentIndexChanged.connect(self._offer_samplers)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._samplers_stale:
            self._offer_samplers()

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

    def run_choice(self) -> tuple[str | None, int | None, int]:
        """(sampler, steps, seed) chosen in this tab; None: the pair's own default."""
        return self.sampler_box.currentData() or self._wanted_sampler, self.steps_box.value() or None, self.seed_box.value()

    def set_run_choice(self, sampler: str | None, steps: int | None, seed: int = 0) -> None:
        """Choose the pair's sampler and steps (None: the S1 model's default; a sampler the pair's
        S1 model does not run is the default) and seed, as `run_choice` gives them back; a sampler
        chosen before the pair's samplers are known is chosen when they are."""
        self._wanted_sampler = sampler
        self.sampler_box.setCurrentIndex(max(0, self.sampler_box.findData(sampler)) if sampler else 0)
        self.steps_box.setValue(steps or 0)
        self.seed_box.setValue(seed)

    def set_samplers(self, path: str, model) -> None:
        """The samplers and default steps of the model at `path` (the S1 model of a pair), which
        the window opened off its thread after `samplers_wanted`; shown if its pair is chosen."""
        self._defaults[path] = model.samplers, {s: model.default_steps(s) for s in model.samplers}
        pair = self.current_pair()
        if pair is not None and pair[1] == path:
            self._offer_samplers()

    def _offer_samplers(self, *_) -> None:
        """The sampler list of the chosen pair's S1 model, its default first ("default: …"); a
        sampler chosen before stays chosen when this model runs it. Unknown until the window has
        opened the pair (`samplers_wanted`), which it is asked to do when the tab is shown: torch
        is not loaded for it at the window's start."""
        pair = self.current_pair()
        chosen = self.sampler_box.currentData() or self._wanted_sampler
        self._samplers_stale = not self.isVisible()
        if pair is None or self._samplers_stale:
            return
        if pair[1] not in self._defaults:
            self.samplers_wanted.emit(pair)
        samplers, _ = self._defaults.get(pair[1], ((), {}))
        if samplers:
            self._wanted_sampler = None
        self.sampler_box.blockSignals(True)
        self.sampler_box.clear()
        self.sampler_box.addItem(f"default: {samplers[0]}" if samplers else "the model's default", None)
        for key in samplers:
            self.sampler_box.addItem(key, key)
            self.sampler_box.setItemData(self.sampler_box.count() - 1, LABELS.get(key, key), Qt.ToolTipRole)
        self.sampler_box.setCurrentIndex(max(0, self.sampler_box.findData(chosen)) if chosen else 0)
        self.sampler_box.blockSignals(False)
        self._show_default_steps()

    def _show_default_steps(self, *_) -> None:
        """The steps box at 0 reads the default steps of the chosen sampler."""
        pair = self.current_pair()
        samplers, steps = self._defaults.get(pair[1], ((), {})) if pair else ((), {})
        sampler = self.sampler_box.currentData() or (samplers[0] if samplers else None)
        self.steps_box.setSpecialValueText(f"default ({steps[sampler]})" if sampler in steps else "default")

    def load_sweep(self, path: Path, capacity: Path | None = None) -> bool:
        """The bundled pairs' sweep (`path`: its curves against N, with the fresh baseline) and the
        capacity axis (`capacity`: cos(S1, S2) per network size, with N*); False if `path` is missing."""
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

    def _clear_result(self, text: str) -> None:
        """No result shown: the table, the slider and the along-the-run plot emptied; `text` says why."""
        self.result, self.frames = None, []
        self._rows_left = []
        self._row_timer.stop()
        self.table.setRowCount(0)
        self.slider.setRange(0, 0)
        self.step_label.setText("")
        self.summary.setText(text)
        self.along_plot.clear()
        self.along_plot.addItem(self.step_line)          # kept in a scene: an item of none outlives Qt at exit
        self.step_line.hide()
        self.along_plot.setTitle("run a pair: its two runs' cosines at every step")
        self.along_legend.setText("")

    def _forget_other_pair(self, *_) -> None:
        """Another pair chosen: the last result, of the pair it ran, is not shown under its name."""
        if self.result is not None and self.current_pair() != self.result.get("pair"):
            self._clear_result(self.HINT)

    def _mark_current_n(self, *_):
        pair = self.current_pair()
        if pair and pair[0]:
            self.current_n_line.setValue(np.log10(pair[0]))

    # --- a run -----------------------------------------------------------------------------------------------
    def running(self, on: bool) -> None:
        self.run_button.setEnabled(not on and bool(self.pairs))
        self.cancel_button.setEnabled(on)
        for w in (self.pair_box, self.choose_button, self.sampler_box, self.steps_box, self.seed_box, self.samples_box,
                  self.k_box):
            w.setEnabled(not on)                             # the pair and the run shown are the ones that ran
        if on:
            self._running_pair = self.current_pair()
            self._clear_result("running S1, then S2, from the same noise… (the first run of a pair builds its two "
                               "training sets first: the status bar says so)")

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
        for i in range(len(rows)):                            # a row not drawn yet is empty, not the last result's
            for col in (2, 3, 4):
                self.table.removeCellWidget(i, col)
        self._rows_left = ["along", *range(len(rows))]        # the along-the-run plot first, then each row
        self._row_timer.start()
        s, ran = a["summary"], result["ran"]
        self.summary.setText(
            f"Ran {ran['sampler']}, {ran['steps']} steps, seed {ran['seed']}, {ran['n']} samples per model; N = "
            f"{ran['N']} training images each.  "
            f"Median cos(S1, S2) = {s['cos_s1_s2_median']:.3f};  median cos(sample, nearest own training image) = "
            f"{s['cos_nearest_own_median']:.3f};  {generalization.summary_text(s)}.   "
            + (f"Baseline: fresh images of the data set have median nearest-training cosine {b['median']:.3f} "
               f"(a sample at or below it is not a copy)." if b else
               "No fresh-image baseline: this data set has no generator of fresh images."))
        self.sweep_tabs.setCurrentIndex(0)
        self.slider.setRange(0, max(len(self.s1_frames), len(self.s2_frames)) - 1)
        self.slider.setValue(self.slider.maximum())
        self.show_step(self.slider.maximum())

    def _draw_next_row(self) -> None:
        """The next part of the result: the along-the-run plot, or row i: its verdict and each
        side's k nearest training images, with their number and cosine."""
        if not self._rows_left or self.result is None:
            self._row_timer.stop()
            return
        i = self._rows_left.pop(0)
        if i == "along":
            self.along_legend.setText(_draw_along(self.along_plot, self.result["along"]))
            self.along_plot.addItem(self.step_line)
            return
        r = self.result["analysis"]["samples"][i]
        for col, side in ((3, "S1"), (4, "S2")):
            neigh = self.result["neighbours"][side][i]                  # (k, C, H, W)
            cell = QWidget()
            lay = QHBoxLayout(cell)
            lay.setContentsMargins(2, 2, 2, 2)
            for j in range(len(neigh)):
                lab = QLabel()
                lab.setPixmap(pixmap(render.tile(neigh[j:j + 1]), self.display_range, self.cmap))
                lab.setToolTip(f"training image #{r[side]['nearest_own'][j]}")
                box = QVBoxLayout()
                box.addWidget(lab)
                box.addWidget(QLabel(f"#{r[side]['nearest_own'][j]}  {r[side]['cos_own'][j]:.3f}"))
                lay.addLayout(box)
            self.table.setCellWidget(i, col, cell)
        self.table.setCellWidget(i, 2, QLabel(generalization.verdict(r)))
        self.table.resizeRowToContents(i)

    def show_step(self, k: int) -> None:
        """Step k of both runs: their x0_hat (or x_t) per sample, each row headed by its cos(S1, S2)
        of x0_hat there, the step's σ/α and the mean cosines in the label, the plot's line at σ/α."""
        if self.result is None:
            return
        shown = self.shown_box.currentData()
        for col, frames in ((0, self.s1_frames), (1, self.s2_frames)):
            x = np.asarray(getattr(frames[min(k, len(frames) - 1)], shown))
            span = self.display_range if shown == "x0_hat" else render.default_display_range(x, self.cmap == "diverging")
            for i in range(self.table.rowCount()):
                lab = self.table.cellWidget(i, col)
                if not isinstance(lab, QLabel):               # the cell's label, made once and redrawn
                    lab = QLabel()
                    self.table.setCellWidget(i, col, lab)
                lab.setPixmap(pixmap(render.tile(x[i:i + 1]), span, self.cmap, 3))
        along = self.result["along"]
        j = min(k, len(along["step"]) - 1)
        cos = along["cos_s1_s2"]["samples"][j]
        self.table.setVerticalHeaderLabels([f"sample {i}\ncos {_2f(c)}" for i, c in enumerate(cos)])  # as `explorer compare`
        level = along["level"][j]
        self.step_label.setText(f"step {k}: σ/α = {level:.3g}")
        self.along_plot.setTitle(f"step {k}, σ/α = {level:.3g}:  cos(S1, S2) {_2f(along['cos_s1_s2']['mean'][j])},  nearest "
                                 f"training S1 {_2f(along['nearest_S1']['mean'][j])}, S2 {_2f(along['nearest_S2']['mean'][j])}"
                                 f"  (means)", size="10pt")
        self.step_line.setVisible(level > 0)                  # σ/α = 0 (the final denoised step) is off the log axis
        if level > 0:
            self.step_line.setValue(np.log10(level))

    def _step_line_moved(self, line) -> None:
        """The plot's step line dragged: the slider goes to the step whose σ/α is nearest."""
        level = np.asarray(self.result["along"]["level"]) if self.result else np.zeros(0)
        on = np.flatnonzero(level > 0)
        if len(on):
            self.slider.setValue(int(on[np.argmin(np.abs(np.log10(level[on]) - line.value()))]))

    def bundled_pairs(self) -> list:
        try:
            return bundle.bundled_pairs()
        except (ExplorerError, OSError, ValueError, KeyError):      # a damaged bundled folder: no pairs offered
            return []

    def sweep_paths(self) -> tuple[Path, Path]:
        """The bundled pairs' sweep and the capacity axis's."""
        return bundle.bundled_dir() / "sweep.json", bundle.bundled_dir() / "capacity" / "sweep.json"
