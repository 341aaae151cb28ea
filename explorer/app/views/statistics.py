"""The statistics panel: radially averaged power spectrum, value histogram and reduced
bispectrum of the run's final samples against the training data's statistics recorded in the
checkpoint."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QHBoxLayout, QLabel, QVBoxLayout, QWidget

from explorer.core import stats


class StatisticsView(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.result: dict | None = None
        self.summary = QLabel("Run a model: its final samples are compared here with its training data.")
        self.summary.setWordWrap(True)
        self.spectrum = pg.PlotWidget(background="w", title="power spectrum")
        self.spectrum.setLogMode(True, True)
        self.spectrum.setLabel("bottom", "|k| (cycles per image)")
        self.spectrum.setLabel("left", "P(|k|), radially averaged")
        self.histogram = pg.PlotWidget(background="w", title="histogram of values")
        self.histogram.setLabel("bottom", "value")
        self.histogram.setLabel("left", "fraction of values")
        self.histogram.getAxis("left").enableAutoSIPrefix(False)
        self.bispectrum = pg.PlotWidget(background="w", title="reduced bispectrum (±2 s.e.)")
        self.bispectrum.setLabel("bottom", "triangle |k1|, |k2|, |k3|")
        self.bispectrum.setLabel("left", "b: 0 for a Gaussian field")
        self.legend = QLabel("")
        plots = QHBoxLayout()
        plots.addWidget(self.spectrum)
        plots.addWidget(self.histogram)
        plots.addWidget(self.bispectrum)
        lay = QVBoxLayout(self)
        lay.addWidget(self.summary)
        lay.addWidget(self.legend)
        lay.addLayout(plots, 1)

    def clear(self) -> None:
        self.result = None
        self.spectrum.clear()
        self.histogram.clear()
        self.bispectrum.clear()

    def show_samples(self, samples: np.ndarray, reference: dict | None, label: str = "training data",
                     field: bool = False) -> None:
        """samples: (B, C, H, W) final samples; reference: data statistics (`stats.summary`), by
        default the training data's, recorded in the checkpoint; field: a field whose
        magnetisation <|m|> is worth showing."""
        self.clear()
        if reference is None:
            self.summary.setText("This checkpoint records no statistics of its training data (trained by an older "
                                 "explorer): retrain it, or use `explorer stats` against fresh data.")
            return
        r = self.result = stats.compare_to_summary(samples, reference)
        ref_pen, gen_pen = pg.mkPen("#333", width=2), pg.mkPen("#d62728", width=2)
        ks = [k for k in (1, 2, 4, 8, 16, 32, 64, 128) if k <= max(r["k"])]
        self.spectrum.getAxis("bottom").setTicks([[(float(np.log10(k)), str(k)) for k in ks], []])
        self.spectrum.plot(r["k"], r["power_reference"], pen=ref_pen)
        self.spectrum.plot(r["k"], r["power_generated"], pen=gen_pen, symbol="o", symbolSize=5, symbolBrush="#d62728")
        edges = np.asarray(r["hist_edges"])
        self.histogram.plot(edges, r["hist_reference"], stepMode="center", pen=ref_pen)
        self.histogram.plot(edges, r["hist_generated"], stepMode="center", pen=gen_pen)
        self.legend.setText(f"<span style='color:#333'>━━</span> {label} ({r['n_reference']})   "
                            f"<span style='color:#d62728'>━━●</span> generated ({r['n_generated']})")
        bi = self._draw_bispectrum(r.get("bispectrum"), ref_pen, gen_pen)
        err = np.abs(np.asarray(r["power_relative_error"]))
        magnetisation = (f"<|m|> (the magnetisation): generated {r['abs_m_generated']:.4f}, {label} "
                         f"{r['abs_m_reference']:.4f}.   " if field else "")
        self.summary.setText(
            f"{r['n_generated']} generated samples against {r['n_reference']} of the {label}.   " + magnetisation +
            f"P(k): median relative error {np.median(err):.1%}, largest {err.max():.1%}.   "
            f"Histogram total-variation distance {r['histogram_tv']:.3f}.   {bi}(Few samples give noisy curves: "
            f"raise the batch, or use `explorer stats`.)")


    def _draw_bispectrum(self, bi: dict | None, ref_pen, gen_pen) -> str:
        """b per triangle, reference and generated with ±2 standard errors; the summary's sentence."""
        self.bispectrum.setVisible(bool(bi))
        if not bi:
            return "Bispectrum: not recorded for these data (a model made by an older explorer).   "
        x = np.arange(len(bi["triangles"]), dtype=float)
        self.bispectrum.setXRange(-0.5, len(x) - 0.5, padding=0)
        self.bispectrum.getAxis("bottom").setTicks([[(i, ",".join(map(str, t))) for i, t in enumerate(bi["triangles"])]])
        self.bispectrum.addItem(pg.InfiniteLine(pos=0, angle=0, pen=pg.mkPen("#aaa")))
        z = []
        for offset, key, pen, color in ((-0.1, "reference", ref_pen, "#333"), (0.1, "generated", gen_pen, "#d62728")):
            b, se = np.asarray(bi[key]), np.asarray(bi[f"{key}_se"])
            self.bispectrum.addItem(pg.ErrorBarItem(x=x + offset, y=b, height=4 * se, beam=0.1, pen=pen))
            self.bispectrum.plot(x + offset, b, pen=None, symbol="o", symbolSize=6, symbolBrush=color)
            z.append((b, se))
        (br, sr), (bg, sg) = z
        worst = float((np.abs(bg - br) / np.hypot(sr, sg)).max())
        return f"Bispectrum: largest difference {worst:.1f} standard errors.   "


def save_plot(path, samples: np.ndarray, reference: dict, title: str = "", label: str = "training data") -> None:
    """Render the statistics panel offscreen for `samples` against `reference` and save it as PNG."""
    import os
    import sys

    from PySide6.QtWidgets import QApplication

    from explorer.core.io import atomic_write

    if not os.environ.get("DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    app = QApplication.instance() or QApplication(sys.argv[:1])
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
