"""The statistics panel: radially averaged power spectrum, value histogram, reduced bispectrum
and trispectrum of the run's final samples against the training data's statistics recorded in
the checkpoint."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from explorer.core.statistics import stats

TABLE_TIPS = {
    "max |ΔP/P| (s.e.)": "the largest relative error of the radial power spectrum P(|k|) over the resolved shells, "
                         "and the largest difference over them in standard errors (the model's and the data's "
                         "combined; the largest of many shells is above 2 by chance: a perfect model's is below "
                         "3.0 for 16 shells and 3.2 for 32, 19 times in 20); (–) where the data record no P(k) "
                         "errors (the training summaries of models made before them): then a few samples' noise "
                         "reads as tens of per cent",
    "histogram TV ± s.e.": "total-variation distance between the value histograms (0: the same, 1: disjoint) and "
                           "its bootstrap standard error over the generated samples: near a critical point "
                           "whole fields flip sign, so it falls only as 1/sqrt(samples)",
    "bispectrum (s.e.)": "the largest difference of the reduced bispectrum (averaged over a triangle and its mirror "
                         "image) over its triangles, in standard errors (below ~2: within noise); – when the data "
                         "record none",
    "odd part (s.e.)": "the same for the bispectrum's parity-odd part, on scalene triangles: a triangle against its "
                       "mirror image. Alive in 2-D turbulence (the enstrophy cascade), 0 for a mirror-symmetric law",
    "trispectrum: rel. (s.e.)": "the largest difference of the reduced trispectrum over pairs of octave bands, "
                                "relative to the data's largest |t| (– when the data are Gaussian within their "
                                "errors), and in standard errors (about 2.5 is the noise of the largest of 10); "
                                "the fourth-order statistic that tells a field even under x → −x from a Gaussian one",
    "⟨|m|⟩ (data)": "the magnetisation: the mean over fields of |field mean|, generated (and of the data)",
    "GFLOP per sample": "the compute of one sample: the FLOPs of one evaluation of each network at its own "
                        "resolution (counted by torch) times the evaluations of the run; – for a model without a "
                        "network",
    "seconds": "the time the model took to make its samples",
}
TABLE_COLUMNS = (
    ("model", lambda r: r["name"]),
    ("kind", lambda r: r["kind"]),
    ("parameters", lambda r: f"{r['parameters']:,}"),
    ("sampler, steps", lambda r: f"{r['sampler']}, {r['steps']}"),
    ("max |ΔP/P| (s.e.)", lambda r: f"{r['spectrum_error']:.1%} "
     f"({'–' if r.get('spectrum_z') is None else format(r['spectrum_z'], '.1f')})"),
    ("histogram TV ± s.e.", lambda r: f"{r['histogram_tv']:.3f} ± {r['histogram_tv_se']:.3f}"),
    ("bispectrum (s.e.)", lambda r: "–" if r["bispectrum_z"] is None else f"{r['bispectrum_z']:.1f}"),
    ("odd part (s.e.)", lambda r: "–" if r.get("bispectrum_odd_z") is None else f"{r['bispectrum_odd_z']:.1f}"),
    ("trispectrum: rel. (s.e.)", lambda r: "–" if r["trispectrum_z"] is None else
     f"{'–' if r['trispectrum_error'] is None else format(r['trispectrum_error'], '.0%')} "
     f"({r['trispectrum_z']:.1f})"),
    ("⟨|m|⟩ (data)", lambda r: f"{r['abs_m']:.3f} ({r['abs_m_reference']:.3f})"),
    ("GFLOP per sample", lambda r: "–" if r.get("flops") is None else f"{r['flops'] / 1e9:.3g}"),
    ("seconds", lambda r: f"{r['seconds']:.0f}"),
)


class StatisticsView(QWidget):
    HINT = "Run a model: its final samples are compared here with its training data."
    BANDS_AXIS = "octave bands a × b (listed below)"
    TRIANGLES_AXIS = "triangle (listed below)"
    field_requested = Signal(int)               # every model of this field, n samples each
    cancel_requested = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.result: dict | None = None
        self.rows: list[dict] = []
        self.summary = QLabel(self.HINT)
        self.summary.setWordWrap(True)
        self.spectrum = pg.PlotWidget(background="w", title="power spectrum")
        self.spectrum.setLogMode(True, True)
        self.spectrum.setLabel("bottom", "|k| (cycles per image)")
        self.spectrum.setLabel("left", "P(|k|), radially averaged")
        self.histogram = pg.PlotWidget(background="w", title="histogram of values")
        self.histogram.setLabel("bottom", "value")
        self.histogram.setLabel("left", "fraction of values")
        self.histogram.getAxis("left").enableAutoSIPrefix(False)
        for plot in (self.spectrum, self.histogram):
            # inside the plot, on white: a saved plot says which curve is which
            plot.addLegend(offset=(-8, 8), labelTextColor="#333", brush=pg.mkBrush(255, 255, 255, 210))
        self.bispectrum = pg.PlotWidget(background="w")
        self.bispectrum.setLabel("bottom", self.TRIANGLES_AXIS)
        self.bispectrum.setLabel("left", "b (±2 s.e.): 0 for a Gaussian field")
        self.bispectrum_odd = pg.PlotWidget(background="w")
        self.bispectrum_odd.setLabel("bottom", self.TRIANGLES_AXIS)
        self.bispectrum_odd.setLabel("left", "b_odd (±2 s.e.): 0 for a mirror-symmetric law")
        self.trispectrum = pg.PlotWidget(background="w")
        self.trispectrum.setLabel("bottom", self.BANDS_AXIS)
        self.trispectrum.setLabel("left", "t (±2 s.e.): 0 for a Gaussian field")
        small = QFont()
        small.setPointSize(7)                      # every configuration labelled: ten "a×b" in a third of the width
        for plot in (self.bispectrum, self.bispectrum_odd, self.trispectrum):
            plot.getAxis("left").enableAutoSIPrefix(False)
            plot.getAxis("bottom").setStyle(tickFont=small)
        self.key = QLabel("")                   # what the polyspectra's numbered ticks stand for
        self.key.setWordWrap(True)
        plots = QHBoxLayout()
        plots.addWidget(self.spectrum, 1)          # three equal columns, whichever polyspectrum is shown
        plots.addWidget(self.histogram, 1)
        # the two polyspectra share one place (three plots fit a 1000-px window, four did not): the
        # trispectrum first, the test of fields even under x -> -x, whose bispectrum is 0
        self.polyspectra = QTabWidget()
        self.polyspectra.addTab(self.trispectrum, "trispectrum")
        self.polyspectra.addTab(self.bispectrum, "bispectrum")
        self.polyspectra.addTab(self.bispectrum_odd, "odd part")
        plots.addWidget(self.polyspectra, 1)
        self.field_n = QSpinBox(minimum=2, maximum=256, value=16)
        self.field_button = QPushButton("Every model of this field")
        self.field_button.setToolTip("Run each bundled model of the loaded model's data (its own sampler and steps, "
                                     "seed 0) and compare them all with these data")
        self.field_button.clicked.connect(lambda: self.field_requested.emit(self.field_n.value()))
        self.field_cancel = QPushButton("Cancel", enabled=False)
        self.field_cancel.clicked.connect(self.cancel_requested)
        self.field_status = QLabel("")
        self.field_status.setWordWrap(True)
        self.table = QTableWidget(0, len(TABLE_COLUMNS))
        self.table.setHorizontalHeaderLabels([c for c, _ in TABLE_COLUMNS])
        for j, (name, _) in enumerate(TABLE_COLUMNS):
            self.table.horizontalHeaderItem(j).setToolTip(TABLE_TIPS.get(name, ""))
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeToContents)
        self.table.verticalHeader().hide()
        self.table.setMaximumHeight(160)
        self.table.hide()                               # until there are rows
        bar = QHBoxLayout()
        bar.addWidget(self.field_button)
        bar.addWidget(QLabel("samples"))
        bar.addWidget(self.field_n)
        bar.addWidget(self.field_cancel)
        bar.addStretch(1)
        lay = QVBoxLayout(self)
        lay.addWidget(self.summary)
        lay.addLayout(plots, 1)
        lay.addWidget(self.key)
        lay.addLayout(bar)
        lay.addWidget(self.field_status)
        lay.addWidget(self.table)

    def clear(self, why: str = "") -> None:
        """Forget the run's statistics (a new run, another model) and the table of the field; `why`
        says why there are none (a cancelled run's samples are not finished)."""
        self.result = None
        self._clear_table()
        self.field_status.setText("")
        self.summary.setText(why or self.HINT)
        self.key.setText("")
        for plot in (self.spectrum, self.histogram, self.bispectrum, self.bispectrum_odd, self.trispectrum):
            plot.clear()
            plot.getAxis("bottom").setTicks(None)                       # nor its |k|, triangles or bands
            plot.setRange(xRange=(0, 1), yRange=(0, 1), padding=0)   # not the last model's axes, empty
            plot.enableAutoRange()                                      # the next samples set their own

    def show_samples(self, samples: np.ndarray, reference: dict | None, label: str = "training data",
                     field: bool = False) -> None:
        """samples: (B, C, H, W) final samples; reference: data statistics (`stats.summary`), by
        default the training data's, recorded in the checkpoint; field: a field whose
        magnetisation <|m|> is worth showing. Computed on the calling thread (`show_comparison`
        draws a comparison computed elsewhere)."""
        self.show_comparison(None if reference is None else stats.compare_to_summary(samples, reference), label, field)

    def show_comparison(self, r: dict | None, label: str = "training data", field: bool = False) -> None:
        """r: `stats.compare_to_summary` of the final samples against the reference (computed where
        it does not hold the window: the run process), None when there is no reference."""
        self.clear()
        if r is None:
            self.summary.setText("This checkpoint records no statistics of its training data (trained by an older "
                                 "explorer): retrain it, or use `explorer stats` against fresh data.")
            return
        self.result = r
        ref_pen, gen_pen = pg.mkPen("#333", width=2), pg.mkPen("#d62728", width=2)
        ks = [k for k in (1, 2, 4, 8, 16, 32, 64, 128) if k <= max(r["k"])]
        self.spectrum.getAxis("bottom").setTicks([[(float(np.log10(k)), str(k)) for k in ks], []])
        names = f"{label} ({r['n_reference']})", f"generated ({r['n_generated']})"
        self.spectrum.plot(r["k"], r["power_reference"], pen=ref_pen, name=names[0])
        self.spectrum.plot(r["k"], r["power_generated"], pen=gen_pen, symbol="o", symbolSize=5, symbolBrush="#d62728",
                           name=names[1])
        edges = np.asarray(r["hist_edges"])
        self.histogram.plot(edges, r["hist_reference"], stepMode="center", pen=ref_pen, name=names[0])
        self.histogram.plot(edges, r["hist_generated"], stepMode="center", pen=gen_pen, name=names[1])
        bi, tri = r.get("bispectrum"), r.get("trispectrum")
        errors = r["n_generated"] >= 2                          # one sample has no spread to make an error of
        triangles = [tuple(t) for t in bi["triangles"]] if bi else []
        said = self._draw_polyspectrum(self.bispectrum, "Bispectrum", bi, "triangles",
                                     lambda t: str(triangles.index(tuple(t)) + 1), ref_pen, gen_pen, errors=errors)
        if bi:                   # the odd part where it is recorded: on the bispectrum's scalene triangles
            said += self._draw_polyspectrum(self.bispectrum_odd, "Its parity-odd part", r.get("bispectrum_odd"),
                                            "triangles", lambda t: str(triangles.index(tuple(t)) + 1), ref_pen, gen_pen,
                                            missing="", errors=errors)
        else:
            self.polyspectra.setTabVisible(self.polyspectra.indexOf(self.bispectrum_odd), False)
        bands = sorted({tuple(p[:2]) for p in tri["pairs"]} | {tuple(p[2:]) for p in tri["pairs"]}) if tri else []
        key = []
        if triangles:
            key.append("Bispectrum triangles |k1|, |k2|, |k3|: "
                       + "; ".join(f"{i + 1}: {','.join(map(str, t))}" for i, t in enumerate(triangles)))
        if bands:
            key.append("Trispectrum octave bands of |k|: "
                       + "; ".join(f"{i + 1}: {lo}" + (f"-{hi - 1}" if hi > lo + 1 else "") for i, (lo, hi) in enumerate(bands)))
        self.key.setText("   ".join(key))
        said += self._draw_polyspectrum(self.trispectrum, "Trispectrum", tri, "pairs",
                                      lambda p: f"{bands.index(tuple(p[:2])) + 1}×{bands.index(tuple(p[2:])) + 1}",
                                      ref_pen, gen_pen, errors=errors)
        err = np.abs(np.asarray(r["power_relative_error"]))
        magnetisation = (f"<|m|> (the magnetisation): generated {r['abs_m_generated']:.4f}, {label} "
                         f"{r['abs_m_reference']:.4f}.   " if field else "")
        self.summary.setText(
            f"{r['n_generated']} generated sample{'s' if r['n_generated'] != 1 else ''} against {r['n_reference']} of "
            f"the {label}.   " + magnetisation +
            f"P(k): median relative error {np.median(err):.1%}, largest {err.max():.1%}.   "
            f"Histogram total-variation distance {r['histogram_tv']:.3f}"
            + (f" ± {r['histogram_tv_se']:.3f} (0: the same; ± one standard error, bootstrapped over the "
               f"{r['n_generated']} samples).   " if errors else " (0: the same).   ")
            + (f"{said}(Few samples give noisy curves: raise the batch, or use `explorer stats`.)" if errors else
               "One sample has no standard errors: raise the batch to 2 or more for them, or use `explorer stats`."))


    # --- every model of the field (the head-to-head table) ----------------------------------------------
    def set_busy(self, busy: bool) -> None:
        """A table is being made: the last one goes (a cancelled run leaves none half-explained)."""
        self.field_button.setEnabled(not busy)
        self.field_cancel.setEnabled(busy)
        if busy:
            self._clear_table()

    def _clear_table(self) -> None:
        self.rows = []
        self.table.setRowCount(0)
        self.table.hide()

    def show_message(self, text: str) -> None:
        self.field_status.setText(text)

    def show_table(self, rows: list[dict], label: str, field: bool = False) -> None:
        """One row per model (`core.head_to_head.table_steps`), judged against `label`; field: a
        field whose magnetisation ⟨|m|⟩ is worth a column."""
        self.rows = rows
        self.table.setRowCount(len(rows))
        for i, r in enumerate(rows):
            for j, (_, cell) in enumerate(TABLE_COLUMNS):
                self.table.setItem(i, j, QTableWidgetItem(cell(r)))
        self.table.setColumnHidden([c for c, _ in TABLE_COLUMNS].index("⟨|m|⟩ (data)"), not field)
        self.table.setVisible(bool(rows))
        self.field_status.setText(f"{len(rows)} models of this field against the {label}; each ran its own default "
                                  f"sampler and steps from seed 0 (few samples give noisy errors).")

    def _draw_polyspectrum(self, plot: pg.PlotWidget, name: str, d: dict | None, configurations: str, tick,
                           ref_pen, gen_pen, missing: str | None = None, errors: bool = True) -> str:
        """A polyspectrum per configuration (triangle, pair of bands), reference and generated with
        ±2 standard errors, in `plot`; the summary's sentence. tick(c): a configuration's short
        label (the key line says what it stands for). errors False (one generated sample): no error
        bar of the samples and no sentence of standard errors."""
        self.polyspectra.setTabVisible(self.polyspectra.indexOf(plot), bool(d))
        self.polyspectra.setVisible(any(self.polyspectra.isTabVisible(i) for i in range(self.polyspectra.count())))
        if not d:
            return missing if missing is not None else (
                f"{name}: not in this model's record of its data (trained before explorer recorded it; "
                f"`explorer field MODEL --reference fresh` measures it on fresh data).   ")
        x = np.arange(len(d[configurations]), dtype=float)
        plot.setXRange(-1, len(x), padding=0)                    # room for the end ticks' labels
        plot.getAxis("bottom").setTicks([[(i, tick(c)) for i, c in enumerate(d[configurations])], []])   # all shown
        plot.addItem(pg.InfiniteLine(pos=0, angle=0, pen=pg.mkPen("#aaa")))
        for offset, key, pen, color in ((-0.1, "reference", ref_pen, "#333"), (0.1, "generated", gen_pen, "#d62728")):
            v, se = np.asarray(d[key]), np.asarray(d[f"{key}_se"])
            if errors or key == "reference":
                plot.addItem(pg.ErrorBarItem(x=x + offset, y=v, height=4 * se, beam=0.1, pen=pen))
            plot.plot(x + offset, v, pen=None, symbol="o", symbolSize=6, symbolBrush=color)
        return f"{name}: largest difference {stats.difference_z(d):.1f} standard errors.   " if errors else ""


def save_plot(path, samples: np.ndarray, reference: dict, title: str = "", label: str = "training data") -> None:
    """Render the statistics panel offscreen for `samples` against `reference` and save it as PNG."""
    from explorer.app.qt_platform import application
    from explorer.core.files.io import atomic_write

    app = application(offscreen=True)
    view = StatisticsView()
    view.resize(1100, 520)
    view.show_samples(samples, reference, label)
    if title:
        view.summary.setText(f"{title}\n{view.summary.text()}")
    view.show()
    app.processEvents()
    image = view.grab().toImage()
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice
    data = QByteArray()
    buf = QBuffer(data)
    buf.open(QIODevice.WriteOnly)
    image.save(buf, "PNG")
    atomic_write(path, lambda f: f.write(bytes(data)))
    view.close()
