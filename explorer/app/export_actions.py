"""File → Export: the menu actions over core.export, for the run the window shows.

Each action asks for a path (or takes one, as the tests do), calls one core exporter with what
is on screen (the step, the display ranges, x_t or x_t / α, the colour map, the Scales tab's J
and wavelet) and reports the written path or the error; it returns the path, or None when
nothing was written.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from PySide6.QtCore import QSettings
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QSpinBox,
    QWidget,
)

from explorer.core.display import export
from explorer.core.errors import ExplorerError
from explorer.core.sampling.trajectory import Trajectory


@dataclass
class Shown:
    """What the window shows now, read when an export starts."""

    trajectory: Callable[[], Trajectory | None]
    step: Callable[[], int]
    display: Callable[[], tuple[tuple[float, float], str]]     # (display_range, colormap)
    xt_display: Callable[[], tuple[tuple[float, float], bool]]  # (x_t panel's range, shows x_t / alpha)
    wavelet: Callable[[], tuple[int, str]]                     # (J, wavelet) for the strip
    play_fps: Callable[[], int] = lambda: export.DEFAULT_FPS     # the trajectory's play speed: the video's default


class ExportActions:
    def __init__(self, parent: QWidget, shown: Shown, report: Callable[[str], None], fail: Callable[[str], None],
                 settings: QSettings):
        self.parent, self.shown, self.report, self.fail, self.settings = parent, shown, report, fail, settings
        self.actions = [
            QAction("Export current frame as PNG…", parent, triggered=lambda: self.png()),
            QAction("Export all frames as PNGs…", parent, triggered=lambda: self.frames()),
            QAction("Export animated GIF…", parent, triggered=lambda: self.gif()),
            QAction("Export video (MP4)…", parent, triggered=lambda: self.video()),
            QAction("Export contact sheet of x0_hat (steps × samples)…", parent, triggered=lambda: self.sheet()),
            QAction("Export coarse-to-fine strip…", parent, triggered=lambda: self.strip()),
            QAction("Save run (.npz)…", parent, triggered=lambda: self.npz()),
        ]

    def set_enabled(self, on: bool) -> None:
        for a in self.actions:
            a.setEnabled(on)

    def suggested_path(self, suffix: str, with_step: bool = True) -> Path:
        """In the last export folder, MODEL-SAMPLER-seedS[-stepK]SUFFIX, with -2, -3, ... if taken."""
        folder = Path(str(self.settings.value("export_folder", str(Path.cwd()))))
        stem = export.run_stem(self.shown.trajectory().meta)
        if with_step:
            stem += f"-step{max(self.shown.step(), 0):04d}"
        return export.free_path(folder, stem, suffix)

    def _ask(self, title: str, filt: str, suffix: str, with_step: bool = False) -> Path | None:
        if self.shown.trajectory() is None:
            return None
        path, _ = QFileDialog.getSaveFileName(self.parent, title, str(self.suggested_path(suffix, with_step)), filt)
        return Path(path) if path else None

    def _write(self, path: Path | None, write: Callable[[Path], object], folder: bool = False):
        """write(path), reporting what it wrote; the next dialog opens where this one wrote: in
        `path` itself when it is a folder (every frame), else in the file's folder."""
        if path is None or self.shown.trajectory() is None:
            return None
        try:
            out = write(Path(path))
        except ExplorerError as e:
            self.fail(f"Export failed. {e}")
            return None
        self.settings.setValue("export_folder", str(Path(path) if folder else Path(path).parent))
        self.report(f"wrote {len(out)} frames into {out[0].parent}" if isinstance(out, list) else f"wrote {out}")
        return out

    def _range_cmap(self, run_wide: bool = False) -> dict:
        """The colour map shown, and x0_hat's range: the one on screen for one frame; for many
        frames (run_wide), the run's own (its final x0_hat's, as `explorer export`): the range of
        an early frame on screen saturated every later one."""
        display_range, cmap = self.shown.display()
        return {"display_range": None if run_wide else display_range, "cmap": cmap}

    def png(self, path: Path | None = None):
        path = path or self._ask("Export frame", "PNG (*.png)", ".png", with_step=True)
        xt_range, xt_over_alpha = self.shown.xt_display()
        return self._write(path, lambda p: export.save_frame_png(p, self.shown.trajectory(), max(self.shown.step(), 0),
                                                                "both", **self._range_cmap(), xt_range=xt_range,
                                                                xt_over_alpha=xt_over_alpha))

    def frames(self, folder: Path | None = None):
        folder = folder or QFileDialog.getExistingDirectory(self.parent, "Export all frames into folder",
                                                            str(self.settings.value("export_folder", ""))) or None
        return self._write(folder, lambda p: export.save_frame_sequence(p, self.shown.trajectory(), "both",
                                                                        **self._range_cmap(run_wide=True)), folder=True)

    def gif(self, path: Path | None = None):
        path = path or self._ask("Export GIF", "GIF (*.gif)", ".gif")
        return self._write(path, lambda p: export.save_gif(p, self.shown.trajectory(), "both",
                                                         **self._range_cmap(run_wide=True)))

    def video(self, path: Path | None = None, fps: int | None = None, seconds: float | None = None):
        """An MP4 of the run; without a path, the frame rate and length are asked first."""
        traj = self.shown.trajectory()
        if path is None and traj is not None:
            timing = self._ask_timing(len(traj.frames))
            path = self._ask("Export video", "MP4 video (*.mp4)", ".mp4") if timing else None
            fps, seconds = timing or (fps, seconds)
        return self._write(path, lambda p: export.save_video(p, traj, fps, seconds, "both",
                                                           **self._range_cmap(run_wide=True)))

    def _ask_timing(self, n_frames: int) -> tuple[int, float] | None:
        """(frames per second, seconds) from a small dialog, or None when cancelled."""
        dialog = QDialog(self.parent)
        dialog.setWindowTitle("Export video")
        rate = min(max(int(self.shown.play_fps()), 1), export.MAX_FPS)          # as the trajectory plays
        fps = QSpinBox(minimum=1, maximum=export.MAX_FPS, value=rate, suffix=" frames per second")
        seconds = QDoubleSpinBox(minimum=0.1, maximum=export.MAX_SECONDS, decimals=1, suffix=" s",
                                 value=export.default_video_seconds(n_frames, rate))
        seconds.setToolTip(f"The run's {n_frames} frames spread over this time, the last held for the last second")
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel)
        buttons.accepted.connect(dialog.accept)
        buttons.rejected.connect(dialog.reject)
        form = QFormLayout(dialog)
        form.addRow("Frame rate", fps)
        form.addRow("Length", seconds)
        form.addRow(buttons)
        return (fps.value(), seconds.value()) if dialog.exec() == QDialog.Accepted else None

    def sheet(self, path: Path | None = None):
        path = path or self._ask("Export contact sheet", "PNG (*.png)", "-sheet.png")
        return self._write(path, lambda p: export.save_contact_sheet(p, self.shown.trajectory(), 8, "x0_hat",
                                                                     **self._range_cmap(run_wide=True)))

    def strip(self, path: Path | None = None):
        path = path or self._ask("Export coarse-to-fine strip", "PNG (*.png)", "-strip.png")
        J, wavelet = self.shown.wavelet()
        return self._write(path, lambda p: export.save_coarse_to_fine_strip(
            p, self.shown.trajectory(), J, wavelet, None, self._range_cmap()["cmap"]))

    def npz(self, path: Path | None = None):
        path = path or self._ask("Save run", "Runs (*.npz)", ".npz")
        return self._write(path, lambda p: self.shown.trajectory().save_npz(p))
