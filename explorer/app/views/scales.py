"""The scale view: for each scale j the low-pass x_j (at its own size, blown up without
smoothing), its three detail bands H, V, D, and x_{j-1} reconstructed from them. It shows the
wavelet pyramid that explorer.core.statistics.wavelets computes for one sample of the current frame."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QSpinBox, QVBoxLayout, QWidget

from explorer.app.views.slider import step_slider
from explorer.core.display import render
from explorer.core.lazy import Later

torch = Later("torch")                                    # a pyramid is drawn after a run, when torch is in
wavelets = Later("explorer.core.statistics.wavelets")

COLUMNS = ("low-pass x_j", "detail H", "detail V", "detail D", "x_j−1 = W⁻¹(x_j, details)")


def _colour_bar(lut: np.ndarray, values: tuple[float, float], label: str) -> pg.ColorBarItem:
    """A fixed (not draggable) colour bar of a (256, 3) lookup table over `values`."""
    cmap = pg.ColorMap(np.linspace(0.0, 1.0, len(lut)), lut)
    return pg.ColorBarItem(values=values, colorMap=cmap, interactive=False, label=label, width=12)


class ScaleView(QWidget):
    step_requested = Signal(int)              # the user moved this tab's step slider

    def __init__(self, parent=None):
        super().__init__(parent)
        self.frame = None
        self.stage = ""                            # what a WCRG run draws at this frame
        self.slider = step_slider()
        self.slider.setRange(0, 0)
        self.slider.valueChanged.connect(self.step_requested)
        self.key = QLabel("the colour bars: the low-pass and the reconstruction share the frame's display range "
                          "(the low-pass ×2 per level, as an orthonormal low-pass grows); each detail panel is "
                          "symmetric about 0 over its own largest value")
        self.key.setWordWrap(True)
        self.sample_box = QSpinBox(minimum=0, maximum=0)
        self.J_box = QSpinBox(minimum=1, maximum=5, value=3)
        self.wavelet_box = QComboBox()
        self.wavelet_box.addItems(["haar", "db2", "db4", "sym4"])
        self.field = QComboBox()
        self.field.addItems(["x0_hat", "x_t"])
        self.title = QLabel("no frame yet")
        bar = QHBoxLayout()
        for label, w in (("sample", self.sample_box), ("J", self.J_box), ("wavelet", self.wavelet_box),
                         ("of", self.field)):
            bar.addWidget(QLabel(label))
            bar.addWidget(w)
        bar.addWidget(self.title, 1)
        self.canvas = pg.GraphicsLayoutWidget()
        self.canvas.setBackground("w")
        steps = QHBoxLayout()
        steps.addWidget(QLabel("step"))
        steps.addWidget(self.slider, 1)
        lay = QVBoxLayout(self)
        lay.addLayout(bar)
        lay.addWidget(self.canvas, 1)
        lay.addWidget(self.key)
        lay.addLayout(steps)
        self.cmap = "grey"
        self.level = "σ/α"                    # what a frame's level is (the model's DisplayHints.level)
        for w in (self.sample_box, self.J_box):
            w.valueChanged.connect(self.redraw)
        for w in (self.wavelet_box, self.field):
            w.currentTextChanged.connect(self.redraw)
        self.images: list[list[pg.ImageItem]] = []

    def set_wavelet(self, J: int | None, wavelet: str | None) -> None:
        """A WCRG model fixes J and the wavelet; a plain model leaves them to the user."""
        if J:
            self.J_box.setValue(J)
        if wavelet:
            self.wavelet_box.setCurrentText(wavelet)

    def wavelet_choice(self) -> tuple[int, str]:
        """(J, wavelet) as chosen now: what the coarse-to-fine strip export uses."""
        return self.J_box.value(), self.wavelet_box.currentText()

    def clear(self) -> None:
        self.frame = None
        self.canvas.clear()
        self.images = []
        self.title.setText("no frame yet")

    def set_colormap(self, name: str) -> None:
        self.cmap = name
        self.redraw()

    def show_frame(self, frame, step: int | None = None, n_frames: int | None = None, stage: str = "") -> None:
        """Show `frame`; step and n_frames place this tab's slider (step k of n_frames); stage: what
        a WCRG run is drawing at this frame (the model's `stage`)."""
        self.frame, self.stage = frame, stage
        if step is not None and n_frames:
            self.slider.blockSignals(True)
            self.slider.setRange(0, n_frames - 1)
            self.slider.setValue(step)
            self.slider.blockSignals(False)
        self.sample_box.setMaximum(max(np.asarray(frame.x_t).shape[0] - 1, 0))
        if self.isVisible():
            self.redraw()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.redraw()

    def redraw(self, *_):
        if self.frame is None:
            return
        x = np.asarray(getattr(self.frame, self.field.currentText()))
        b = min(self.sample_box.value(), x.shape[0] - 1)
        n = x.shape[-1]
        J = self.J_box.value()
        while J > 1 and n % (2 ** J):
            J -= 1
        rows = wavelets.pyramid(torch.tensor(x[b:b + 1], dtype=torch.float64), J, self.wavelet_box.currentText())
        self.canvas.clear()
        self.images = []
        for c, name in enumerate(COLUMNS):
            self.canvas.addLabel(name, row=0, col=c + 1, color="#333")
        shown = render.default_display_range(x[b], self.cmap == "diverging")
        lut = render.colormap(self.cmap)
        for r, level in enumerate(reversed(rows)):                 # coarse at the top
            j = level["scale"]
            self.canvas.addLabel(f"j = {j}", row=r + 1, col=0, color="#333")
            c_ch = level["low"].shape[1]
            d = level["detail"][0].numpy().reshape(c_ch, 3, *level["detail"].shape[-2:])[0]
            parts = [level["low"][0, 0].numpy(), d[0], d[1], d[2], level["reconstruction"][0, 0].numpy()]
            row_items = []
            for c, img in enumerate(parts):
                box = self.canvas.addViewBox(row=r + 1, col=c + 1, lockAspect=True, invertY=True, enableMouse=False)
                item = pg.ImageItem(img, lut=lut, axisOrder="row-major")
                if c == 0:
                    lo, hi = shown                             # an orthonormal low-pass grows x2 per level
                    item.setLevels((lo * 2 ** j, hi * 2 ** j))
                elif c == 4:
                    item.setLevels(shown)
                else:
                    m = max(float(np.abs(img).max()), 1e-9)
                    item.setLevels((-m, m))
                    item.setLookupTable(render.colormap("diverging"))
                item.setRect(0, 0, n, n)                           # every panel at full size, blocky
                box.addItem(item)
                row_items.append(item)
            self.images.append(row_items)
        right = len(COLUMNS) + 1
        self.canvas.addItem(_colour_bar(lut, shown, "reconstruction (low-pass × 2ʲ)"), row=1, col=right, rowspan=len(rows))
        self.canvas.addItem(_colour_bar(render.colormap("diverging"), (-1.0, 1.0), "detail / max |detail| of its panel"),
                            row=1, col=right + 1, rowspan=len(rows))
        scale = (f", {self.stage}: no details are drawn yet (their panels are flat)" if self.stage.startswith("coarse")
                 else f", {self.stage}" if self.stage else "")
        self.title.setText(f"step {self.frame.step}: {self.level} = {self.frame.level:.3g}{scale}")
