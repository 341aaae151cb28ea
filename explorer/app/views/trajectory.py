"""The trajectory view: the batch as a grid, x_t beside x0_hat, a slider along the noise level.

It only displays the frames it is given (numpy arrays from the run controller); the mosaic
layout and the colormaps come from explorer.core.render, so the screen and the exported files agree.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QPushButton, QSizePolicy, QSlider, QVBoxLayout, QWidget

from explorer.core import render


def color_map(name: str) -> pg.ColorMap:
    """The core's colormap as a pyqtgraph ColorMap. The core's maps are linear between their
    ends and middle, so three stops give the same colours (and keep the gradient editor from
    painting 256 ticks on every frame)."""
    lut = render.colormap(name)
    return pg.ColorMap([0.0, 0.5, 1.0], lut[[0, 128, 255]])


class TrajectoryView(QWidget):
    """Frames along the run; `step_changed(k)` when the shown step changes."""

    step_changed = Signal(int)
    REDRAW_MS = 30            # live frames are drawn at most this often

    def __init__(self, parent=None):
        super().__init__(parent)
        self.frames: list = []
        self.follow = True                    # follow the run live until the user scrubs
        self.current = -1
        self._mosaics: tuple[np.ndarray, np.ndarray] | None = None
        self._range_fixed = False
        self._x_max = 1

        self.canvas = pg.GraphicsLayoutWidget()
        self.canvas.setBackground("w")
        self.boxes, self.images = [], []
        for col, title in enumerate(("x_t  (noisy state)", "x0_hat  (denoiser's estimate)")):
            box = self.canvas.addViewBox(row=1, col=col, lockAspect=True, invertY=True)
            self.canvas.addLabel(title, row=0, col=col, color="#333")
            img = pg.ImageItem(axisOrder="row-major")
            img.setAutoDownsample(False)
            box.addItem(img)
            self.boxes.append(box)
            self.images.append(img)
        self.boxes[1].setXLink(self.boxes[0])
        self.boxes[1].setYLink(self.boxes[0])
        self.histogram = pg.HistogramLUTItem(image=self.images[1])
        self.canvas.addItem(self.histogram, row=1, col=2)
        self.histogram.gradient.showTicks(False)
        self.histogram.sigLevelsChanged.connect(self._sync_display_range)
        self.histogram.sigLookupTableChanged.connect(self._sync_display_range)

        self.sigma_plot = pg.PlotWidget(background="w")
        self.sigma_plot.setFixedHeight(110)
        self.sigma_plot.setLabel("left", "σ")
        self.sigma_plot.setYRange(0, 1.02, padding=0)
        self.sigma_plot.setLabel("bottom", "step")
        self.sigma_plot.setMouseEnabled(False, False)
        self.sigma_curve = self.sigma_plot.plot([], [], pen=pg.mkPen("#1f77b4", width=2))
        self.marker = pg.InfiniteLine(0, angle=90, pen=pg.mkPen("#d62728", width=2))
        self.sigma_plot.addItem(self.marker)

        self.slider = QSlider(Qt.Horizontal)
        self.slider.setRange(0, 0)
        self.slider.setFocusPolicy(Qt.NoFocus)
        self.slider.valueChanged.connect(self._slider_moved)
        self.slider.sliderPressed.connect(self._user_scrubs)
        self.label = QLabel("no run yet: choose a model and press Run")
        self.label.setMinimumWidth(360)
        self.play_button = QPushButton("Play")
        self.play_button.setFocusPolicy(Qt.NoFocus)
        self.play_button.clicked.connect(self.toggle_play)
        self.colormap_box = QComboBox()
        self.colormap_box.addItems(list(render.COLORMAPS))
        self.colormap_box.setFocusPolicy(Qt.NoFocus)
        self.colormap_box.currentTextChanged.connect(self.set_colormap)
        self.auto_range = QPushButton("Auto range")
        self.auto_range.setToolTip("Reset the display range to the 0.5-99.5 percentiles of x0_hat")
        self.auto_range.setFocusPolicy(Qt.NoFocus)
        self.auto_range.clicked.connect(self.reset_display_range)
        self.readout = QLabel(" ")
        self.readout.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Preferred)

        self.scale_slider = QSlider(Qt.Horizontal)             # WCRG runs: jump to the end of scale j
        self.scale_slider.setFocusPolicy(Qt.NoFocus)
        self.scale_slider.setMaximumWidth(140)
        self.scale_slider.setInvertedAppearance(True)         # coarse (large j) on the left
        self.scale_slider.valueChanged.connect(self._scale_moved)
        self.scale_label = QLabel("")
        for w in (self.scale_slider, self.scale_label):
            w.hide()
        controls = QHBoxLayout()
        controls.addWidget(self.play_button)
        controls.addWidget(self.scale_label)
        controls.addWidget(self.scale_slider)
        controls.addWidget(self.slider, 1)
        controls.addWidget(self.label)
        tools = QHBoxLayout()
        tools.addWidget(QLabel("colormap"))
        tools.addWidget(self.colormap_box)
        tools.addWidget(self.auto_range)
        tools.addWidget(self.readout, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.canvas, 1)
        layout.addLayout(tools)
        layout.addLayout(controls)
        layout.addWidget(self.sigma_plot)
        self.setFocusPolicy(Qt.StrongFocus)

        self._redraw_timer = QTimer(self, singleShot=True, interval=self.REDRAW_MS)
        self._redraw_timer.timeout.connect(self._catch_up)
        self._play_timer = QTimer(self, interval=80)
        self._play_timer.timeout.connect(self._play_step)
        self.canvas.scene().sigMouseMoved.connect(self._mouse_moved)
        self.set_colormap("grey")

    # --- frames in -------------------------------------------------------------------------
    def clear(self) -> None:
        self.frames = []
        self.follow = True
        self.current = -1
        self._range_fixed = False
        self._mosaics = None
        self.slider.blockSignals(True)
        self.slider.setRange(0, 0)
        self.slider.blockSignals(False)
        for img in self.images:
            img.clear()
        self.sigma_curve.setData([], [])
        self.label.setText("running…")

    def add_frame(self, frame) -> None:
        """A frame of the live run: stored now, drawn at the next redraw tick."""
        self.frames.append(frame)
        if not self._redraw_timer.isActive():
            self._redraw_timer.start()

    def set_frames(self, frames: list) -> None:
        """A whole trajectory (a finished or loaded run)."""
        self.frames = list(frames)
        self._catch_up()

    def _catch_up(self) -> None:
        n = len(self.frames)
        if n == 0:
            return
        self.slider.blockSignals(True)
        self.slider.setRange(0, n - 1)
        self.slider.blockSignals(False)
        self.sigma_curve.setData(np.arange(n), np.array([f.sigma for f in self.frames]))
        if n - 1 > self._x_max:                          # rescale the step axis only when it overflows
            self.expect(max(n, 2 * self._x_max))
        if self.follow:
            self.show_step(n - 1)
        else:
            self._update_label()

    def expect(self, n_frames: int) -> None:
        """The number of frames the run will make (0: unknown): fixes the step axis."""
        self._x_max = max(n_frames - 1, 1)
        self.sigma_plot.setXRange(0, self._x_max, padding=0.02)

    # --- showing a step ----------------------------------------------------------------------
    def show_step(self, k: int) -> None:
        if not self.frames:
            return
        k = int(np.clip(k, 0, len(self.frames) - 1))
        f = self.frames[k]
        self._mosaics = (render.tile(np.asarray(f.x_t)), render.tile(np.asarray(f.x0_hat)))
        if not self._range_fixed:
            self.reset_display_range()
        shown = self.histogram.getLevels()
        reshaped = self.images[0].image is None or self.images[0].image.shape != self._mosaics[0].shape
        for img, m in zip(self.images, self._mosaics):
            img.setImage(m, autoLevels=False, levels=shown)
        if reshaped:
            self.boxes[0].autoRange(padding=0.02)
        self.current = k
        self.slider.blockSignals(True)
        self.slider.setValue(k)
        self.slider.blockSignals(False)
        self.marker.setValue(k)
        self._update_label()
        self._update_scale_slider()
        self.step_changed.emit(k)

    def _scales(self) -> list[int]:
        return sorted({f.scale for f in self.frames if f.scale is not None}, reverse=True)

    def _scale_moved(self, j: int) -> None:
        last = max((i for i, f in enumerate(self.frames) if f.scale == j), default=None)
        if last is not None and self.frames[self.current].scale != j:
            self.go(last)

    def _update_scale_slider(self) -> None:
        scales = self._scales()
        for w in (self.scale_slider, self.scale_label):
            w.setVisible(bool(scales))
        if scales:
            self.scale_slider.blockSignals(True)
            self.scale_slider.setRange(min(scales), max(scales))
            if self.frames[self.current].scale is not None:
                self.scale_slider.setValue(self.frames[self.current].scale)
            self.scale_slider.blockSignals(False)
            self.scale_label.setText(f"scale j = {self.frames[self.current].scale}")

    def _update_label(self) -> None:
        if self.current < 0:
            return
        f = self.frames[self.current]
        scale = "" if f.scale is None else f"   scale j={f.scale}"
        live = "" if self.follow else "   (scrubbing: End follows the run)"
        self.label.setText(f"step {self.current}/{len(self.frames) - 1}   σ = {f.sigma:.4g}   t = {f.t:.4g}{scale}{live}")

    def displayed(self) -> tuple[np.ndarray, np.ndarray]:
        """The (x_t, x0_hat) mosaics on screen now."""
        return tuple(img.image for img in self.images)

    # --- display range and colormap ---------------------------------------------------------------
    def display(self) -> tuple[tuple[float, float], str]:
        """(display_range, colormap) as shown now: what the exports use."""
        lo, hi = self.histogram.getLevels()
        return (float(lo), float(hi)), self.colormap_box.currentText()

    def reset_display_range(self) -> None:
        if self._mosaics is None:
            return
        values = self._mosaics[1][np.isfinite(self._mosaics[1])]
        lo, hi = render.default_display_range(values, self.colormap_box.currentText() == "diverging")
        old_lo, old_hi = self.histogram.getLevels()
        if max(abs(lo - old_lo), abs(hi - old_hi)) > 0.05 * (hi - lo):    # skip repaints for tiny changes
            self.histogram.setLevels(lo, hi)
        self._range_fixed = self.current >= 0 and not self.follow

    def set_colormap(self, name: str) -> None:
        if self.colormap_box.currentText() != name:
            self.colormap_box.setCurrentText(name)
            return
        self.histogram.gradient.setColorMap(color_map(name))
        self._range_fixed = False
        self.reset_display_range()

    def _sync_display_range(self, *_):
        shown = self.histogram.getLevels()
        lut = self.histogram.getLookupTable(n=256)
        for img in self.images:
            img.setLevels(shown)
            img.setLookupTable(lut)
        if self.sender() is self.histogram and self.current >= 0 and not self.follow:
            self._range_fixed = True

    # --- scrubbing -------------------------------------------------------------------------------
    def _user_scrubs(self) -> None:
        self.follow = False

    def _slider_moved(self, k: int) -> None:
        self.follow = k == len(self.frames) - 1 and self.follow
        self.show_step(k)

    def go(self, k: int) -> None:
        """Show step k as the user asked (stops following unless k is the last step)."""
        if not self.frames:
            return
        k = int(np.clip(k, 0, len(self.frames) - 1))
        self.follow = k == len(self.frames) - 1
        self.show_step(k)

    def keyPressEvent(self, event) -> None:
        key, k = event.key(), self.current
        moves = {Qt.Key_Left: k - 1, Qt.Key_Right: k + 1, Qt.Key_PageUp: k - 10, Qt.Key_PageDown: k + 10,
                 Qt.Key_Home: 0, Qt.Key_End: len(self.frames) - 1}
        if key in moves:
            self.go(moves[key])
        elif key == Qt.Key_Space:
            self.toggle_play()
        else:
            super().keyPressEvent(event)

    def toggle_play(self) -> None:
        if self._play_timer.isActive():
            self._play_timer.stop()
            self.play_button.setText("Play")
        elif self.frames:
            if self.current >= len(self.frames) - 1:
                self.go(0)
            self.follow = False
            self._play_timer.start()
            self.play_button.setText("Pause")

    def _play_step(self) -> None:
        if self.current >= len(self.frames) - 1:
            self.toggle_play()
        else:
            self.show_step(self.current + 1)
            self.follow = False

    # --- pixel readout ---------------------------------------------------------------------------
    def _mouse_moved(self, pos) -> None:
        if self._mosaics is None:
            return
        for name, box, m in zip(("x_t", "x0_hat"), self.boxes, self._mosaics):
            if box.sceneBoundingRect().contains(pos):
                p = box.mapSceneToView(pos)
                r, c = int(np.floor(p.y())), int(np.floor(p.x()))
                if 0 <= r < m.shape[0] and 0 <= c < m.shape[1] and np.isfinite(m[r, c]).all():
                    b, c_, h, w = np.asarray(self.frames[self.current].x_t).shape
                    cols = int(np.ceil(np.sqrt(b)))
                    sample = (r // (h + 1)) * cols + c // (w + 1)
                    value = m[r, c] if m.ndim == 2 else m[r, c].tolist()
                    self.readout.setText(f"{name}  sample {sample}  pixel ({r % (h + 1)}, {c % (w + 1)})  "
                                         f"value {np.round(value, 4)}")
                    return
        self.readout.setText(" ")
