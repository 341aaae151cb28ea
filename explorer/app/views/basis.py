"""The basis view: the denoiser's adaptive basis at the Trajectory tab's current step, for one
sample: the top eigenvectors of A = alpha dx0_hat/dx_t as images, its eigenvalues (shrinkage
factors), the effective dimension (trace) and the asymmetry. Computed on demand, in the
background, cancellable (the window runs `core.basis.basis_steps`)."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSpinBox, QVBoxLayout, QWidget

from explorer.core import render

SHOWN = 8                       # eigenvectors drawn


class BasisView(QWidget):
    compute_requested = Signal(int)           # the sample to compute the basis of
    cancel_requested = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.sample_box = QSpinBox(minimum=0, maximum=0)
        self.compute_button = QPushButton("Compute at the current step")
        self.cancel_button = QPushButton("Cancel", enabled=False)
        self.status = QLabel("Choose a step in the Trajectory tab, then compute its basis.")
        self.status.setWordWrap(True)
        self.compute_button.clicked.connect(lambda: self.compute_requested.emit(self.sample_box.value()))
        self.cancel_button.clicked.connect(self.cancel_requested)
        bar = QHBoxLayout()
        bar.addWidget(QLabel("sample"))
        bar.addWidget(self.sample_box)
        bar.addWidget(self.compute_button)
        bar.addWidget(self.cancel_button)
        bar.addStretch(1)
        self.canvas = pg.GraphicsLayoutWidget()
        self.canvas.setBackground("w")
        self.values_plot = pg.PlotWidget(background="w")
        self.values_plot.setLabel("bottom", "eigenvalue index")
        self.values_plot.setLabel("left", "eigenvalue of A")
        self.values_plot.setMaximumHeight(220)
        lay = QVBoxLayout(self)
        lay.addLayout(bar)
        lay.addWidget(self.status)
        lay.addWidget(self.canvas, 1)
        lay.addWidget(self.values_plot)

    def set_samples(self, n: int) -> None:
        self.sample_box.setMaximum(max(n - 1, 0))

    def set_busy(self, busy: bool) -> None:
        self.compute_button.setEnabled(not busy)
        self.cancel_button.setEnabled(busy)

    def show_progress(self, done: int, total: int) -> None:
        self.status.setText(f"computing the Jacobian: {done} of {total} columns…")

    def show_message(self, text: str) -> None:
        self.status.setText(text)

    def clear(self) -> None:
        self.canvas.clear()
        self.values_plot.clear()
        self.status.setText("Choose a step in the Trajectory tab, then compute its basis.")

    def show_basis(self, basis, step: int, sample: int) -> None:
        """Draw `basis` (core.basis.Basis) of frame `step`, sample `sample`."""
        self.canvas.clear()
        lut = render.colormap("diverging")
        k = min(SHOWN, len(basis.values))
        for i in range(k):
            v = basis.vectors[i][0]
            m = max(float(np.abs(v).max()), 1e-12)
            self.canvas.addLabel(f"#{i + 1}: {basis.values[i]:.3f}", row=2 * (i // 4), col=i % 4, color="#333")
            box = self.canvas.addViewBox(row=2 * (i // 4) + 1, col=i % 4, lockAspect=True, invertY=True,
                                         enableMouse=False)
            box.addItem(pg.ImageItem(v, lut=lut, levels=(-m, m), axisOrder="row-major"))
        self.values_plot.clear()
        self.values_plot.plot(np.arange(1, len(basis.values) + 1), basis.values, pen=pg.mkPen("#1f77b4", width=2),
                              symbol="o", symbolSize=5)
        s = basis.sigma / float(np.exp(-basis.t))
        dim = basis.vectors[0].size
        self.status.setText(f"step {step}, sample {sample}: σ/α = {s:.3g}; effective dimension (trace of A) "
                            f"{basis.trace:.1f} of {dim}; asymmetry ‖A − Aᵀ‖/‖A‖ = {basis.asymmetry:.2f}. "
                            f"Top {k} eigenvectors (blue − / white 0 / red +), each over its own range.")
