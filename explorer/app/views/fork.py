"""The fork view: from the Trajectory tab's current step, the rest of the run re-sampled n times
with fresh noise (the n endings side by side), and the spread of the endings against the noise
level of the fork: what each noise level has already decided. The window runs `core.fork`."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSpinBox, QVBoxLayout, QWidget

from explorer.app.views.actions import ModelActions
from explorer.app.views.trajectory import log_ticks
from explorer.core.display import render


class ForkView(ModelActions, QWidget):
    fork_requested = Signal(int, int)         # sample, endings
    curve_requested = Signal(int, int)
    cancel_requested = Signal()

    HINT = ("Choose a step in the Trajectory tab, then fork the run there: the rest is re-sampled with fresh noise "
            "(the reverse SDE).")

    def __init__(self, parent=None):
        super().__init__(parent)
        self.sample_box = QSpinBox(minimum=0, maximum=0)
        self.n_box = QSpinBox(minimum=2, maximum=64, value=8)
        self.fork_button = QPushButton("Fork from the current step")
        self.curve_button = QPushButton("Spread along the run (8 forks)")
        self.action_buttons = (self.fork_button, self.curve_button)
        self.cancel_button = QPushButton("Cancel", enabled=False)
        self.status = QLabel(self.HINT)
        self.status.setWordWrap(True)
        self.fork_button.clicked.connect(lambda: self.fork_requested.emit(self.sample_box.value(), self.n_box.value()))
        self.curve_button.clicked.connect(lambda: self.curve_requested.emit(self.sample_box.value(), self.n_box.value()))
        self.cancel_button.clicked.connect(self.cancel_requested)
        bar = QHBoxLayout()
        for label, w in (("sample", self.sample_box), ("endings", self.n_box)):
            bar.addWidget(QLabel(label))
            bar.addWidget(w)
        bar.addWidget(self.fork_button)
        bar.addStretch(1)
        bar2 = QHBoxLayout()                          # two rows: the tab fits a 1000 px window
        bar2.addWidget(self.curve_button)
        bar2.addWidget(self.cancel_button)
        bar2.addStretch(1)
        self.canvas = pg.GraphicsLayoutWidget()
        self.canvas.setBackground("w")
        self.spread_plot = pg.PlotWidget(background="w")
        self.spread_plot.setLogMode(x=True, y=False)
        self.spread_plot.setLabel("bottom", "σ/α at the fork")
        self.spread_plot.setLabel("left", "spread of the endings")
        self.spread_plot.getAxis("left").enableAutoSIPrefix(False)   # 0.2, not 200 under a clipped "(x0.001)"
        self.spread_plot.setMaximumHeight(220)
        self.spread_plot.hide()                       # until there is a curve: no bare log axis
        lay = QVBoxLayout(self)
        lay.addLayout(bar)
        lay.addLayout(bar2)
        lay.addWidget(self.status)
        lay.addWidget(self.canvas, 1)
        lay.addWidget(self.spread_plot)
        self.cmap = "grey"

    def set_samples(self, n: int) -> None:
        self.sample_box.setMaximum(max(n - 1, 0))

    def set_colormap(self, name: str) -> None:
        self.cmap = name

    def show_message(self, text: str) -> None:
        self.status.setText(text)

    def clear(self) -> None:
        self.canvas.clear()
        self.spread_plot.clear()
        self.spread_plot.hide()
        self.status.setText(self.refusal or self.HINT)               # a model that cannot fork still says why

    def show_endings(self, start: np.ndarray, endings: np.ndarray, step: int, sigma_over_alpha: float,
                     spread: float) -> None:
        """start: the state x_t forked (C, H, W); endings: the final images (n, C, H, W)."""
        self.canvas.clear()
        shown = render.default_display_range(endings, self.cmap == "diverging")
        lut = render.colormap(self.cmap)
        for col, (title, img, levels) in enumerate((
                (f"x_t at step {step}", render.tile(start[None]), render.default_display_range(start, self.cmap == "diverging")),
                (f"{len(endings)} endings", render.tile(endings), shown))):
            self.canvas.addLabel(title, row=0, col=col, color="#333")
            box = self.canvas.addViewBox(row=1, col=col, lockAspect=True, invertY=True, enableMouse=False)
            box.addItem(pg.ImageItem(img, lut=lut, levels=levels, axisOrder="row-major"))
        self.status.setText(f"{len(endings)} endings from step {step} (σ/α = {sigma_over_alpha:.3g}): spread "
                            f"{spread:.4f} (RMS over pixels of the endings about their mean).")

    def show_curve(self, rows: list[dict]) -> None:
        self.spread_plot.clear()
        self.spread_plot.show()
        s = np.array([r["level"] for r in rows])
        v = np.array([r["spread"] for r in rows])
        self.spread_plot.plot(s, v, pen=pg.mkPen("#2ca02c", width=2), symbol="o", symbolSize=5)
        self.spread_plot.getAxis("bottom").setTicks(log_ticks(s.min(), s.max()))    # labels apart, not 0.050.060.07
        self.status.setText("the spread of the endings against the noise level of the fork: "
                            + ", ".join(f"{a:.3g}: {b:.3f}" for a, b in zip(s, v)))
