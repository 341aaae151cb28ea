"""The trajectory view: the batch as a grid, x_t beside x0_hat, a slider along the noise level.

It only displays the frames it is given (numpy arrays from the run controller); the mosaic
layout and the colormaps come from explorer.core.display.render, so the screen and the exported files
agree. Each panel has its own display range, set automatically on every frame from robust
percentiles (napari's per-layer contrast limits, Fiji's Auto) unless "lock ranges" holds them
to compare steps. x_t can be shown as it is (its own range, on its own colour bar) or in the
data's scale, x_t / α = x0 + (σ/α) z, in x0_hat's colours: the noise that remains is then seen
against the image it hides. The colour bars' numbers are the colour scale (their ends, the
display range). A model with nothing to denoise (a scattering or Gaussian model: `DisplayHints.panels`
without a second title) shows, instead of its x a second time, the power spectrum of x against
its data's as it converges.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, Qt, QTimer, Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QHBoxLayout, QLabel, QPushButton, QSizePolicy, QVBoxLayout, QWidget

from explorer.app.views.slider import step_slider
from explorer.core.display import render
from explorer.core.statistics import stats

XT_MODES = {"x_t": "x_t  (noisy state, its own range)", "x_t / α": "x_t / α = x0 + (σ/α) z  (data scale: x0_hat's colours)"}
PLAY_SPEEDS = {"3 frames/s": 3, "6 frames/s": 6, "12 frames/s": 12, "25 frames/s": 25, "50 frames/s": 50}
X0_TITLE = "x0_hat  (denoiser's estimate)"


def color_map(name: str) -> pg.ColorMap:
    """The core's colormap as a pyqtgraph ColorMap. The core's maps are linear between their
    ends and middle, so three stops give the same colours (and keep the gradient editor from
    painting 256 ticks on every frame)."""
    lut = render.colormap(name)
    return pg.ColorMap([0.0, 0.5, 1.0], lut[[0, 128, 255]])


def log_ticks(lo: float, hi: float) -> list[list[tuple[float, str]]]:
    """Labelled ticks of a log10 axis over [lo, hi] (> 0): the decades, and 2 and 5 times them when
    the range spans less than 1.5 decades (pyqtgraph labels every minor tick there, on top of each other)."""
    first, last = int(np.floor(np.log10(lo))), int(np.ceil(np.log10(hi)))
    steps = (1, 2, 5) if np.log10(hi / lo) < 1.5 else (1,)
    values = [m * 10.0 ** d for d in range(first, last + 1) for m in steps]
    return [[(float(np.log10(v)), f"{v:g}") for v in values if lo / 1.01 <= v <= hi * 1.01] or
             [(float(np.log10(lo)), f"{lo:.2g}")], []]


class TrajectoryView(QWidget):
    """Frames along the run; `step_changed(k)` when the shown step changes."""

    step_changed = Signal(int)
    REDRAW_MS = 30            # live frames are drawn at most this often
    HISTOGRAM_AFTER_MS = 10   # ... and x0_hat's histogram this long after their images (the blank colour
                              # bars this long after `clear`): no paint holds both

    def __init__(self, parent=None):
        super().__init__(parent)
        self.frames: list = []
        self.follow = True                    # follow the run live until the user scrubs
        self.current = -1
        self._mosaics: tuple[np.ndarray, np.ndarray] | None = None
        self._x_max = 1
        self._expected = 0                          # frames the run will make (0: unknown)
        self._mouse = None                          # the last mouse position over the panels (scene)
        self._drawing = False                 # True while the view itself sets images and ranges
        self.level = "σ/α"                    # what a frame's level stands for (DisplayHints.level)
        self.stage = lambda frames, k: ""      # the model's stage(frames, k)

        self.title = QLabel("no run yet: choose a model and press Run")
        self.title.setStyleSheet("QLabel { font-weight: bold; }")
        self.canvas = pg.GraphicsLayoutWidget()
        self.canvas.setBackground("#e6e6e6")                   # neutral: white tiles stay visible
        self.boxes, self.images, self.panel_titles = [], [], []
        self.xt_bar = pg.ColorBarItem(values=(0, 1), width=14, interactive=False, colorMapMenu=False)
        self.xt_bar.setToolTip("x_t's colours: its own display range")
        self.canvas.addItem(self.xt_bar, row=1, col=0)
        for col in (1, 2):
            self.panel_titles.append(self.canvas.addLabel("", row=0, col=col, color="#333"))
            box = self.canvas.addViewBox(row=1, col=col, lockAspect=True, invertY=True)
            img = pg.ImageItem(axisOrder="row-major")
            img.setAutoDownsample(False)
            box.addItem(img)
            self.boxes.append(box)
            self.images.append(img)
        self.boxes[1].setXLink(self.boxes[0])
        self.boxes[1].setYLink(self.boxes[0])
        self._set_titles(XT_MODES["x_t"], X0_TITLE)
        self.histogram = pg.HistogramLUTItem(image=self.images[1])
        # x0_hat's histogram is recomputed by `_show_histogram`, not on every setImage: streamed or
        # played, it is drawn in an event-loop turn of its own (`_histogram_timer`), so that no
        # paint holds both it and the images (measured: the canvas's paint 6.0 ms, 2.7 of them the histogram)
        self.images[1].sigImageChanged.disconnect(self.histogram.imageChanged)
        self.canvas.addItem(self.histogram, row=1, col=3)
        layout_ = self.canvas.ci.layout
        for col, stretch in ((0, 0), (1, 1), (2, 1), (3, 0)):
            layout_.setColumnStretchFactor(col, stretch)
        self.spectrum = pg.PlotItem()
        self.spectrum.setTitle("P(k): x (red) against the data (grey)", color="#333", size="10pt")
        self.spectrum.setLogMode(True, True)
        self.spectrum.setLabel("bottom", "|k|")
        self.spectrum.setLabel("left", "P(k)")
        self.spectrum.getViewBox().setBackgroundColor("w")
        self.data_curve = self.spectrum.plot([], [], pen=pg.mkPen("#555", width=2))
        self.x_curve = self.spectrum.plot([], [], pen=pg.mkPen("#d62728", width=2))
        self.show_spectrum = False                # the second panel is the spectrum, not x0_hat
        self._park(self.spectrum)
        self.histogram.gradient.showTicks(False)
        for axis in (self.histogram.axis, self.xt_bar.axis):
            axis.setWidth(52)                   # tick labels of every range fit: no re-layout (a second paint) per frame
            axis.enableAutoSIPrefix(False)      # 0.5, not 500 under "(x0.001)": the numbers are the values
        self.histogram.axis.setLabel("x0_hat")                # its colours; x_t has a range of its own
        # its range is set with each frame (`_fit_histogram`): left to auto-range, the histogram
        # re-ranged after the paint and the canvas painted twice per frame (2 x 8 ms while streaming)
        self.histogram.disableAutoHistogramRange()
        self.histogram.region.hide()                          # no level band over an empty histogram (`_show_histogram`)
        self.histogram.sigLevelsChanged.connect(self._histogram_moved)
        self.histogram.sigLookupTableChanged.connect(self._apply_lut)

        self.sigma_plot = pg.PlotWidget(background="w")
        self.sigma_plot.setFixedHeight(120)
        self.sigma_plot.setLogMode(x=False, y=True)
        self.sigma_plot.setLabel("left", "σ/α")
        self.sigma_plot.setLabel("bottom", "step")
        self.sigma_plot.getAxis("bottom").enableAutoSIPrefix(False)
        self.sigma_plot.getAxis("left").enableAutoSIPrefix(False)       # "rms missing", not "rms missing (x0.001)"
        self.sigma_plot.setMouseEnabled(False, False)
        self.sigma_plot.setXRange(0, 1, padding=0.02)
        self.sigma_plot.setYRange(-1.5, 2.7, padding=0)           # log10 of σ/α from 0.03 to 500
        self.sigma_curve = self.sigma_plot.plot([], [], pen=pg.mkPen("#1f77b4", width=2))
        self.forms = pg.LinearRegionItem((-1, 0.3), orientation="horizontal", movable=False,
                                         brush=pg.mkBrush(255, 200, 0, 40), pen=pg.mkPen(None))
        self.forms.setToolTip("0.1 ≤ σ/α ≤ 2: where the image forms")
        self.sigma_plot.addItem(self.forms)
        self.marker = pg.InfiniteLine(0, angle=90, pen=pg.mkPen("#d62728", width=2))
        self.sigma_plot.addItem(self.marker)

        self.slider = step_slider()
        self.slider.setRange(0, 0)
        self.slider.setFocusPolicy(Qt.NoFocus)
        self.slider.valueChanged.connect(self._slider_moved)
        self.slider.sliderPressed.connect(self._user_scrubs)
        self.label = QLabel("")
        self.label.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)   # its text never resizes the row
        self.play_button = QPushButton("Play")
        self.play_button.setFocusPolicy(Qt.NoFocus)
        self.play_button.clicked.connect(self.toggle_play)
        self.speed_box = QComboBox()
        for label, fps in PLAY_SPEEDS.items():
            self.speed_box.addItem(label, fps)
        self.speed_box.setCurrentText("12 frames/s")
        self.speed_box.setToolTip("play speed (Space plays and pauses)")
        self.speed_box.setFocusPolicy(Qt.NoFocus)
        self.speed_box.currentIndexChanged.connect(lambda: self._play_timer.setInterval(self.play_interval_ms()))
        self.loop_box = QCheckBox("loop")
        self.loop_box.setToolTip("play from the first step again after the last")
        self.loop_box.setFocusPolicy(Qt.NoFocus)
        self.colormap_box = QComboBox()
        self.colormap_box.addItems(list(render.COLORMAPS))
        self.colormap_box.setFocusPolicy(Qt.NoFocus)
        self.colormap_box.currentTextChanged.connect(self.set_colormap)
        self.xt_box = QComboBox()
        self.xt_box.addItems(list(XT_MODES))
        self.xt_box.setToolTip("x_t as the sampler holds it, or divided by α(t): the data's scale")
        self.xt_box.setFocusPolicy(Qt.NoFocus)
        self.xt_box.currentTextChanged.connect(self._xt_mode_changed)
        self.lock_box = QCheckBox("lock ranges")
        self.lock_box.setToolTip("Hold both panels' display ranges while scrubbing (to compare steps); "
                                 "unlocked, each frame gets its own robust range")
        self.lock_box.setFocusPolicy(Qt.NoFocus)
        self.lock_box.toggled.connect(self._lock_toggled)
        self.reset_button = QPushButton("Reset view")
        self.reset_button.setFocusPolicy(Qt.NoFocus)
        self.reset_button.clicked.connect(self.reset_view)
        self.readout = QLabel(" ")
        self.readout.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)

        self.scale_slider = step_slider()             # WCRG runs: jump to the end of scale j
        self.scale_slider.setFocusPolicy(Qt.NoFocus)
        self.scale_slider.setFixedWidth(120)
        self.scale_slider.setInvertedAppearance(True)         # coarse (large j) on the left
        self.scale_slider.setToolTip("Jump to the end of scale j: coarse (large j) on the left, the finest details "
                                     "(j = 1) on the right")
        self.scale_slider.valueChanged.connect(self._scale_moved)
        self.scale_label = QLabel("")
        self.scale_label.setFixedWidth(self.scale_label.fontMetrics().horizontalAdvance("details of scale 10") + 8)
        self.scale_caption = QLabel("scale j:")                # the slider says what it moves
        for w in (self.scale_caption, self.scale_slider, self.scale_label):
            w.hide()
        steps = QHBoxLayout()
        for w in (self.play_button, self.speed_box, self.loop_box):
            steps.addWidget(w)
        steps.addWidget(self.slider, 1)
        where = QHBoxLayout()
        where.addWidget(self.scale_caption)
        where.addWidget(self.scale_slider)
        where.addWidget(self.scale_label)
        where.addWidget(self.label, 1)
        tools = QHBoxLayout()
        for w in (QLabel("colormap"), self.colormap_box, QLabel("show"), self.xt_box, self.lock_box, self.reset_button):
            tools.addWidget(w)
        tools.addWidget(self.readout, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addWidget(self.canvas, 1)
        layout.addLayout(tools)
        layout.addLayout(steps)
        layout.addLayout(where)
        layout.addWidget(self.sigma_plot)
        self.setFocusPolicy(Qt.StrongFocus)

        self._redraw_timer = QTimer(self, singleShot=True, interval=self.REDRAW_MS)
        self._redraw_timer.timeout.connect(self._catch_up)
        self._play_timer = QTimer(self, interval=self.play_interval_ms())
        self._play_timer.timeout.connect(self._play_step)
        self._histogram_timer = QTimer(self, singleShot=True, interval=self.HISTOGRAM_AFTER_MS)
        self._histogram_timer.timeout.connect(self._show_histogram)
        self._blank_timer = QTimer(self, singleShot=True, interval=self.HISTOGRAM_AFTER_MS)   # likewise after `clear`
        self._blank_timer.timeout.connect(self._blank_levels)
        self._refit_timer = QTimer(self, singleShot=True, interval=50)
        self._refit_timer.timeout.connect(self.reset_view)
        self.canvas.scene().sigMouseMoved.connect(self._mouse_moved)
        self.canvas.installEventFilter(self)                # the mouse leaving the panels ends the readout
        self.set_colormap("grey")

    # --- frames in -------------------------------------------------------------------------
    def clear(self, title: str = "") -> None:
        """Forget the frames shown; `title` says what comes next (or why the view is empty)."""
        self.frames = []
        self.follow = True
        self.current = -1
        self._mosaics = None
        self.slider.blockSignals(True)
        self.slider.setRange(0, 0)
        self.slider.blockSignals(False)
        self._histogram_timer.stop()
        for img in self.images:
            img.clear()
        self.x_curve.setData([], [])
        self.histogram.plot.setData([], [])                    # not the last run's values
        self._blank_timer.start()                             # the colour bars' new axes: a paint of their own
        self.sigma_curve.setData([], [])
        self.expect(0)
        self.label.setText("")
        self.readout.setText(" ")
        self._update_scale_slider()
        self.title.setText(title)

    def set_title(self, text: str) -> None:
        """What the frames are: model, sampler, steps, seed."""
        self.title.setText(text)

    def add_frame(self, frame) -> None:
        """A frame of the live run: stored now, drawn at the next redraw tick."""
        self.frames.append(frame)
        if not self._redraw_timer.isActive():
            self._redraw_timer.start()

    def set_frames(self, frames: list) -> None:
        """A whole trajectory (a finished or loaded run)."""
        self.frames = list(frames)
        self._expected = len(self.frames)                       # a cancelled run made fewer than it expected
        self._catch_up()

    def _catch_up(self) -> None:
        n = len(self.frames)
        if n == 0:
            return
        self.slider.blockSignals(True)
        self.slider.setRange(0, n - 1)
        self.slider.blockSignals(False)
        s = np.array([f.level for f in self.frames])
        ok = s > 0                                              # log axis: the t = 0 frame has none
        self.sigma_curve.setData(np.arange(n)[ok], s[ok])
        if self.level != "σ/α" and ok.any():                    # its own range: ticks that can be read
            self.sigma_plot.getAxis("left").setTicks(log_ticks(s[ok].min(), s[ok].max()))
        if n - 1 > self._x_max:                                 # rescale the step axis only when it overflows
            self._step_axis(max(n, 2 * self._x_max))
        if self.follow:
            self.show_step(n - 1, histogram_later=True)
        else:
            self._update_label()

    def expect(self, n_frames: int) -> None:
        """The number of frames the run will make (0: unknown): fixes the step axis and the label's
        last step."""
        self._expected = n_frames
        self._step_axis(n_frames)

    def _step_axis(self, n_frames: int) -> None:
        self._x_max = max(n_frames - 1, 1)
        self.sigma_plot.setXRange(0, self._x_max, padding=0.02)
        axis = self.sigma_plot.getAxis("bottom")
        if self._x_max <= 10:
            axis.setTickSpacing(1, 1)                               # whole steps, not 0.5, 1.5, ...
        else:
            axis.setTickSpacing()                                   # pyqtgraph's own spacing

    # --- showing a step ----------------------------------------------------------------------
    def _xt(self, f) -> np.ndarray:
        return render.x_t_shown(f, self.xt_over_alpha())

    def xt_over_alpha(self) -> bool:
        """Whether the x_t panel shows x_t / α (the data's scale) rather than x_t."""
        return self.xt_box.currentText() == "x_t / α"

    def show_step(self, k: int, histogram_later: bool = False) -> None:
        """Draw step k; x0_hat's histogram now, or `histogram_later` in an event-loop turn of its
        own (frames streaming or playing)."""
        if not self.frames:
            return
        k = int(np.clip(k, 0, len(self.frames) - 1))
        f = self.frames[k]
        self._mosaics = (render.tile(self._xt(f)), render.tile(np.asarray(f.x0_hat)))
        reshaped = self.images[0].image is None or self.images[0].image.shape != self._mosaics[0].shape
        if self.lock_box.isChecked():
            ranges = (self.images[0].getLevels(), self.histogram.getLevels())
        else:
            ranges = tuple(self._auto_range(m) for m in self._mosaics)
            if self.xt_over_alpha():
                ranges = (ranges[1], ranges[1])                 # x0 + (σ/α) z in x0_hat's colours
        self._blank_timer.stop()                                # this frame's ranges, not the blank ones
        self._drawing = True
        try:
            for img, m, r in zip(self.images, self._mosaics, ranges):
                img.setImage(m, autoLevels=False, levels=r)
            self.xt_bar.setLevels(ranges[0])
        finally:
            self._drawing = False
        if histogram_later:
            self._histogram_timer.start()
        else:
            self._histogram_timer.stop()
            self._show_histogram()
        if reshaped:
            self.reset_view()
        if self.show_spectrum:
            self.x_curve.setData(*stats.radial_power_spectrum(np.asarray(f.x_t)))
        self.current = k
        self.slider.blockSignals(True)
        self.slider.setValue(k)
        self.slider.blockSignals(False)
        self.marker.setValue(k)
        self._update_label()
        self._update_scale_slider()
        if self._mouse is not None:
            self._mouse_moved(self._mouse)                  # the value under the mouse at this step
        self.step_changed.emit(k)

    def _show_histogram(self) -> None:
        """x0_hat's histogram and colour bar for the image shown, over its display range."""
        if self.images[1].image is None:
            return
        levels = self.images[1].getLevels()
        self.histogram.region.show()                  # hidden while there was nothing to range (`_blank_levels`)
        self._drawing = True
        try:
            self.histogram.imageChanged()
            self.histogram.setLevels(*levels)
            self._fit_histogram(levels)
        finally:
            self._drawing = False

    def _fit_histogram(self, levels: tuple[float, float]) -> None:
        """The histogram's axes: counts up to their largest; values over the display range, so that
        the axis beside the colour bar reads its colours (values beyond it are saturated)."""
        if not np.isfinite(self.images[1].image).any():
            self.histogram.plot.setData([], [])           # not the last frame's histogram
            return
        values, counts = self.histogram.plot.getData()
        if values is None or not len(values) or not np.isfinite(values).all() or not np.isfinite(counts).all():
            return                                    # no finite pixels: no histogram to range
        vb = self.histogram.vb                        # vertical: x = -count, y = value
        if self.histogram.getHistogramRange() != tuple(levels):
            vb.setYRange(*levels, padding=0)          # the axis beside the colour bar: its numbers are the colours'
        vb.setXRange(-float(np.max(counts)), 0, padding=0.02)
        vb.updateMatrix()                             # now, not inside the paint (which would paint again)

    def _blank_levels(self) -> None:
        """Before a run: colour bars over the colour map's neutral range, not the last run's numbers,
        and no level region over an empty histogram."""
        levels = (-1.0, 1.0) if self.colormap_box.currentText() == "diverging" else (0.0, 1.0)
        self.histogram.region.hide()
        self._drawing = True
        try:
            self.histogram.setLevels(*levels)
            self.histogram.vb.setYRange(*levels, padding=0)
            self.xt_bar.setLevels(levels)
        finally:
            self._drawing = False

    def _auto_range(self, mosaic: np.ndarray) -> tuple[float, float]:
        return render.default_display_range(mosaic, self.colormap_box.currentText() == "diverging")   # finite values

    def reset_view(self) -> None:
        """Fit the whole grid in the panels."""
        if self._mosaics is not None:
            self.boxes[0].autoRange(padding=0.02)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._refit_timer.start()                               # after the layout has settled

    def _scales(self) -> list[int]:
        return sorted({f.scale for f in self.frames if f.scale is not None}, reverse=True)

    def _scale_moved(self, j: int) -> None:
        last = max((i for i, f in enumerate(self.frames) if f.scale == j), default=None)
        if last is not None and self.frames[self.current].scale != j:
            self.go(last)

    def _update_scale_slider(self) -> None:
        scales = self._scales()
        for w in (self.scale_caption, self.scale_slider, self.scale_label):
            w.setVisible(bool(scales))
        if scales and self.current >= 0:
            self.scale_slider.blockSignals(True)
            self.scale_slider.setRange(min(scales), max(scales))
            if self.frames[self.current].scale is not None:
                self.scale_slider.setValue(self.frames[self.current].scale)
            self.scale_slider.blockSignals(False)
            self.scale_label.setText(self.stage(self.frames, self.current))

    def _update_label(self) -> None:
        if self.current < 0:
            return
        f = self.frames[self.current]
        running = len(self.frames) < self._expected               # a live run: End follows it again
        live = "   (scrubbing: End follows the run)" if running and not self.follow else ""
        noise = f"   σ = {f.sigma:.3g}   t = {f.t:.3g}" if self.level == "σ/α" else ""
        last = max(len(self.frames), self._expected) - 1
        self.label.setText(f"step {self.current}/{last}   {self.level} = {f.level:.3g}{noise}{live}")

    def displayed(self) -> tuple[np.ndarray, np.ndarray]:
        """The (x_t, x0_hat) mosaics on screen now."""
        return tuple(img.image for img in self.images)

    def ranges(self) -> tuple[tuple[float, float], tuple[float, float]]:
        """The display ranges of the (x_t, x0_hat) panels now."""
        return tuple(tuple(float(v) for v in img.getLevels()) for img in self.images)

    # --- display range and colormap ---------------------------------------------------------------
    def display(self) -> tuple[tuple[float, float], str]:
        """(display_range of x0_hat, colormap) as shown now: what the exports use."""
        lo, hi = self.histogram.getLevels()
        return (float(lo), float(hi)), self.colormap_box.currentText()

    def xt_display(self) -> tuple[tuple[float, float], bool]:
        """(display range of the x_t panel, whether it shows x_t / α) as shown now."""
        return self.ranges()[0], self.xt_over_alpha()

    def set_display(self, hints, stage=lambda frames, k: "", reference: dict | None = None) -> None:
        """A model's display hints (colour map, what the level is, the panels' titles), its
        `stage(frames, k)`: what a frame shows being made, and its data's statistics `reference`
        (`stats.summary`): the P(k) the second panel shows when the model has nothing to denoise."""
        self.stage = stage
        self._show_spectrum(hints.panels is not None and hints.panels[1] is None, reference)
        self.level = hints.level
        self.sigma_plot.setLabel("left", hints.level)
        self.sigma_plot.getAxis("left").setTicks(None)
        if hints.level == "σ/α":
            self.sigma_plot.setYRange(-1.5, 2.7, padding=0)             # log10 of σ/α from 0.03 to 500
        else:
            self.sigma_plot.enableAutoRange(axis="y")                   # a statistics error, an rms: its own range
        self.forms.setVisible(hints.level == "σ/α")                   # where a diffused image forms
        self.xt_box.setEnabled(hints.panels is None)
        if hints.panels is not None:
            self.xt_box.setCurrentText("x_t")
        xt, x0 = hints.panels or (XT_MODES[self.xt_box.currentText()], X0_TITLE)    # the mode kept
        self._set_titles(xt, x0 or "")
        self.set_colormap(hints.colormap)
        self._blank_levels()

    def _show_spectrum(self, on: bool, reference: dict | None) -> None:
        """The second panel: x0_hat, or (on) P(k) of x against the data's `reference` P(k)."""
        power = np.asarray((reference or {}).get("power") or [], float)
        self.data_curve.setData(np.asarray(reference["k"]) if power.size else [], power)
        p = power[power > 0]
        if p.size:                                            # the data's decades, not a cut-off's 1e-15
            lo = max(p.min(), 1e-6 * p.max())
            self.spectrum.setYRange(np.log10(lo), np.log10(p.max()), padding=0.05)
            k = np.asarray(reference["k"], float)
            self.spectrum.getAxis("left").setTicks(log_ticks(lo, p.max()))     # labels apart, as on the σ/α plot
            self.spectrum.getAxis("bottom").setTicks(log_ticks(k.min(), k.max()))
        self.histogram.axis.setLabel("x" if on else "x0_hat")      # what the right-hand colour bar colours
        if on != self.show_spectrum:
            shown, other = (self.spectrum, self.boxes[1]) if self.show_spectrum else (self.boxes[1], self.spectrum)
            self.canvas.ci.removeItem(shown)
            self._park(shown)
            other.show()
            self.canvas.ci.addItem(other, row=1, col=2)
            self.show_spectrum = on

    def _park(self, item) -> None:
        """`item` out of the layout but owned by the canvas's scene, hidden: an item of no scene
        outlives the window and is destroyed after Qt at exit (a segfault once every test had passed)."""
        self.canvas.scene().addItem(item)
        item.hide()

    def _set_titles(self, xt: str, x0: str) -> None:
        """The panels' titles, and both columns as wide at least as the wider title: the grid
        shrinks each column towards its own minimum, so that unequal titles made unequal panels
        (their images linked, the narrower one cut off)."""
        layout_ = self.canvas.ci.layout
        for label, title in zip(self.panel_titles, (xt, x0)):
            label.setText(title, color="#333")
        widest = max(label.effectiveSizeHint(Qt.MinimumSize).width() for label in self.panel_titles)
        for col in (1, 2):
            layout_.setColumnMinimumWidth(col, widest)
            layout_.setColumnPreferredWidth(col, widest)

    def set_colormap(self, name: str) -> None:
        if self.colormap_box.currentText() != name:
            self.colormap_box.setCurrentText(name)
            return
        self.histogram.gradient.setColorMap(color_map(name))
        self.xt_bar.setColorMap(color_map(name))
        self.show_step(self.current)

    def _apply_lut(self, *_):
        lut = self.histogram.getLookupTable(n=256)
        for img in self.images:
            img.setLookupTable(lut)

    def _histogram_moved(self, *_):
        """The user dragged x0_hat's range: hold it (and x_t's) until unlocked."""
        if self._drawing:
            return
        self.images[1].setLevels(self.histogram.getLevels())
        if self.current >= 0 and not self.lock_box.isChecked():
            self.lock_box.setChecked(True)

    def _lock_toggled(self, locked: bool) -> None:
        if not locked:
            self.show_step(self.current)                        # back to automatic ranges

    def _xt_mode_changed(self, mode: str) -> None:
        if self.xt_box.isEnabled():
            self._set_titles(XT_MODES[mode], self.panel_titles[1].text)
        if self.lock_box.isChecked():
            self.lock_box.setChecked(False)                     # a new quantity needs a new range
        self.show_step(self.current)

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

    def play_interval_ms(self) -> int:
        """The time between two frames as the trajectory plays, from the chosen speed."""
        return round(1000 / self.speed_box.currentData())

    def _play_step(self) -> None:
        if self.current >= len(self.frames) - 1:
            if self.loop_box.isChecked():
                self.show_step(0)
                self.follow = False
            else:
                self.toggle_play()
        else:
            self.show_step(self.current + 1, histogram_later=True)
            self.follow = False

    # --- pixel readout ---------------------------------------------------------------------------
    def eventFilter(self, watched, event) -> bool:
        if watched is self.canvas and event.type() == QEvent.Leave:
            self._mouse = None                              # no stale value when the step changes after
            self.readout.setText(" ")
        return False

    def _mouse_moved(self, pos) -> None:
        self._mouse = pos                                   # read again when the step changes under it
        if self._mosaics is None:
            return
        for name, box, m in zip((self.xt_box.currentText(), "x0_hat"), self.boxes, self._mosaics):
            if box.sceneBoundingRect().contains(pos):
                p = box.mapSceneToView(pos)
                r, c = int(np.floor(p.y())), int(np.floor(p.x()))
                if 0 <= r < m.shape[0] and 0 <= c < m.shape[1] and np.isfinite(m[r, c]).all():
                    b, _, h, w = np.asarray(self.frames[self.current].x_t).shape
                    cols = int(np.ceil(np.sqrt(b)))
                    sample = (r // (h + 1)) * cols + c // (w + 1)
                    value = ", ".join(f"{v:.4g}" for v in np.atleast_1d(m[r, c]))
                    self.readout.setText(f"{name}  sample {sample}  pixel ({r % (h + 1)}, {c % (w + 1)})  value {value}")
                    return
        self.readout.setText(" ")
