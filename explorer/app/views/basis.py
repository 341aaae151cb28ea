"""The basis view: the denoiser's adaptive basis at the Trajectory tab's current step, for one
sample: the top eigenvectors of A = alpha dx0_hat/dx_t as images, its eigenvalues (shrinkage
factors), the effective dimension (trace) and the asymmetry. Computed on demand, in the
background, cancellable (the window runs `core.basis.basis_steps`)."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QPushButton, QSpinBox, QVBoxLayout, QWidget

from explorer.app.views.actions import ModelActions
from explorer.core.display import render

SHOWN = 8                       # eigenvectors drawn


class BasisView(ModelActions, QWidget):
    HINT = "Choose a step in the Trajectory tab, then compute its basis."
    compute_requested = Signal(int)           # the sample to compute the basis of
    dimension_requested = Signal(int)         # ... or the effective dimension along the run of
    cancel_requested = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.sample_box = QSpinBox(minimum=0, maximum=0)
        self.compute_button = QPushButton("Compute at the current step")
        self.pair_box = QCheckBox("beside the other split's model")
        self.pair_box.setToolTip("a bundled S1 model beside its S2 twin (and back), at the same x_t")
        self.dimension_button = QPushButton("Effective dimension along the run")
        self.action_buttons = (self.compute_button, self.dimension_button)
        self.cancel_button = QPushButton("Cancel", enabled=False)
        self.status = QLabel(self.HINT)
        self.status.setWordWrap(True)
        self.compute_button.clicked.connect(lambda: self.compute_requested.emit(self.sample_box.value()))
        self.dimension_button.clicked.connect(lambda: self.dimension_requested.emit(self.sample_box.value()))
        self.cancel_button.clicked.connect(self.cancel_requested)
        bar = QHBoxLayout()
        bar.addWidget(QLabel("sample"))
        bar.addWidget(self.sample_box)
        bar.addWidget(self.compute_button)
        bar.addWidget(self.pair_box)
        bar.addStretch(1)
        bar2 = QHBoxLayout()                          # two rows: the tab fits a 1000 px window
        bar2.addWidget(self.dimension_button)
        bar2.addWidget(self.cancel_button)
        bar2.addStretch(1)
        self.canvas = pg.GraphicsLayoutWidget()
        self.canvas.setBackground("w")
        self.values_plot = pg.PlotWidget(background="w")
        self.values_plot.setLabel("bottom", "eigenvalue index")
        self.values_plot.setLabel("left", "eigenvalue of A")
        self.dimension_plot = pg.PlotWidget(background="w")
        self.dimension_plot.setLogMode(x=True, y=False)
        self.dimension_plot.setLabel("bottom", "σ/α (noise level)")
        self.dimension_plot.setLabel("left", "effective dimension tr A")
        for plot in (self.values_plot, self.dimension_plot):    # values in their own units, not "(x0.001)"
            plot.getAxis("left").enableAutoSIPrefix(False)
        self.values_plot.hide()                      # each until there is a curve: no bare axes
        self.dimension_plot.hide()
        plots = QHBoxLayout()
        for p in (self.values_plot, self.dimension_plot):
            p.setMaximumHeight(220)
            plots.addWidget(p, 1)
        lay = QVBoxLayout(self)
        lay.addLayout(bar)
        lay.addLayout(bar2)
        lay.addWidget(self.status)
        lay.addWidget(self.canvas, 1)
        lay.addLayout(plots)

    def set_samples(self, n: int) -> None:
        self.sample_box.setMaximum(max(n - 1, 0))

    def show_progress(self, done: int, total: int, what: str = "Jacobian columns") -> None:
        self.status.setText(f"computing: {done} of {total} {what}…")

    def show_dimension(self, rows: list[dict], dim: int, sample: int) -> None:
        """tr A against sigma/alpha over a run, with the estimates' standard errors."""
        self.dimension_plot.clear()
        if not rows:
            self.status.setText("This run has no step with noise.")
            return
        self.dimension_plot.show()
        s = np.array([r["level"] for r in rows])
        tr, err = np.array([r["trace"] for r in rows]), np.array([r["error"] for r in rows])
        self.dimension_plot.addItem(pg.ErrorBarItem(x=np.log10(s), y=tr, height=2 * err, pen="#999"))
        self.dimension_plot.plot(s, tr, pen=pg.mkPen("#d62728", width=2), symbol="o", symbolSize=4)
        self.status.setText(f"sample {sample}: the effective dimension tr A at every step with noise "
                            f"(Hutchinson estimate, ± one standard error), of D = {dim}: from {render.number(tr[0], '.1f')} at "
                            f"σ/α = {s[0]:.3g} to {render.number(tr[-1], '.1f')} at σ/α = {s[-1]:.3g}.")

    def show_message(self, text: str) -> None:
        self.status.setText(text)

    def clear(self) -> None:
        self.canvas.clear()
        self.values_plot.clear()
        self.values_plot.hide()
        self.dimension_plot.clear()
        self.dimension_plot.hide()
        self.status.setText(self.refusal or self.HINT)

    def show_pair(self, bases: tuple, names: tuple[str, str], overlap: float, step: int, sample: int,
                  note: str = "") -> None:
        """Two models' bases at the same x_t: the top 4 eigenvectors of each, a row per model; `note`
        follows the step in the caption."""
        self.canvas.clear()
        lut = render.colormap("diverging")
        for row, (b, name) in enumerate(zip(bases, names)):
            self.canvas.addLabel(name, row=2 * row, col=0, colspan=4, color="#333")
            for i in range(min(4, len(b.values))):
                v = b.vectors[i][0]
                m = max(float(np.abs(v).max()), 1e-12)
                box = self.canvas.addViewBox(row=2 * row + 1, col=i, lockAspect=True, invertY=True, enableMouse=False)
                box.addItem(pg.ImageItem(v, lut=lut, levels=(-m, m), axisOrder="row-major"))
        self.values_plot.clear()
        self.values_plot.show()
        for b, colour in zip(bases, ("#1f77b4", "#ff7f0e")):
            self.values_plot.plot(np.arange(1, len(b.values) + 1), b.values, pen=pg.mkPen(colour, width=2))
        s = bases[0].level
        self.status.setText(f"step {step}{note}, sample {sample}, σ/α = {s:.3g}: the same x_t through {names[0]} (blue) and "
                            f"{names[1]} (orange). Overlap of their top-{len(bases[0].values)} subspaces {overlap:.2f} "
                            f"(1: the same basis); effective dimensions {render.number(bases[0].trace, '.1f')} and "
                            f"{render.number(bases[1].trace, '.1f')}.")

    def show_basis(self, basis, step: int, sample: int, note: str = "") -> None:
        """Draw `basis` (core.basis.Basis) of frame `step`, sample `sample`; `note` follows the step
        in the caption."""
        self.canvas.clear()
        lut = render.colormap("diverging")
        k = min(SHOWN, len(basis.values))
        for i in range(k):
            v = basis.vectors[i][0]
            m = max(float(np.abs(v).max()), 1e-12)
            self.canvas.addLabel(f"#{i + 1}: {render.number(basis.values[i], '.3f')}", row=2 * (i // 4), col=i % 4, color="#333")
            box = self.canvas.addViewBox(row=2 * (i // 4) + 1, col=i % 4, lockAspect=True, invertY=True,
                                         enableMouse=False)
            box.addItem(pg.ImageItem(v, lut=lut, levels=(-m, m), axisOrder="row-major"))
        self.values_plot.clear()
        self.values_plot.show()
        self.values_plot.plot(np.arange(1, len(basis.values) + 1), basis.values, pen=pg.mkPen("#1f77b4", width=2),
                              symbol="o", symbolSize=5)
        s = basis.level
        dim = basis.vectors[0].size
        self.status.setText(f"step {step}{note}, sample {sample}: σ/α = {s:.3g}; effective dimension (trace of A) "
                            f"{render.number(basis.trace, '.1f')} of {dim}; asymmetry ‖A − Aᵀ‖/‖A‖ = {basis.asymmetry:.3g}. "
                            f"Top {k} eigenvectors (blue − / white 0 / red +), each over its own range.")
