"""The window's File menu for slides: every frame into a folder of its own, a video, and any plot
or table of the current tab saved as PNG, SVG or CSV (pytest-qt, offscreen)."""
import csv
import subprocess
import xml.etree.ElementTree as ET

import pytest
from PIL import Image
from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication
from windows import open_window

from explorer.app import export_actions
from explorer.core.analysis.head_to_head import table_steps
from explorer.core.sampling.trajectory import drain

pytest.importorskip("pytestqt")


@pytest.fixture
def window(qtbot, tmp_path, tiny_ckpt):
    win = open_window(qtbot, QSettings(str(tmp_path / "settings.ini"), QSettings.IniFormat),
                      checkpoint_path=tiny_ckpt.path)
    win.ask_before_closing_a_run = False
    win.show()
    win.run_panel.set_spec(sampler="ddim", steps=4, n=3, seed=5, device="cpu")
    assert win.start_run()
    qtbot.waitUntil(lambda: not win.is_running() and win.trajectory is not None, timeout=60000)
    return win


def test_the_frames_dialog_opens_in_the_folder_chosen_last(window, tmp_path, monkeypatch):
    """Issue 32, defect 2: the next dialog opened in the parent of the folder chosen; pressing
    Choose there wrote the frames one level up. Two exports into it: two folders, both kept."""
    chosen = tmp_path / "slides"
    first = window.exports.frames(chosen)
    second = window.exports.frames(chosen)
    assert [p.parent for p in (first[0], second[0])] == [chosen / "tiny-ddim-seed5", chosen / "tiny-ddim-seed5-2"]
    assert len(list((chosen / "tiny-ddim-seed5").iterdir())) == 5
    opened_in = []
    monkeypatch.setattr(export_actions.QFileDialog, "getExistingDirectory",
                        lambda parent, title, folder: opened_in.append(folder) or "")
    assert window.exports.frames() is None                      # the dialog, cancelled
    assert opened_in == [str(chosen)]
    assert "5 frames into" in window.statusBar().currentMessage()


def test_file_export_video_asks_the_frame_rate_and_length(qtbot, window, tmp_path, monkeypatch):
    import imageio_ffmpeg

    offered = []

    def answer():                          # the timing dialog: 8 frames per second, 1.5 s
        dialog = QApplication.activeModalWidget()
        fps, seconds = dialog.findChildren(export_actions.QSpinBox)[0], dialog.findChildren(export_actions.QDoubleSpinBox)[0]
        offered.append(fps.value())
        fps.setValue(8)
        seconds.setValue(1.5)
        dialog.accept()
    window.view.speed_box.setCurrentText("25 frames/s")     # the dialog offers the speed the trajectory plays at
    QTimer.singleShot(200, answer)
    monkeypatch.setattr(export_actions.QFileDialog, "getSaveFileName",
                        lambda parent, title, suggested, filt: (str(tmp_path / "talk.mp4"), filt))
    video = window.exports.video()
    assert video == tmp_path / "talk.mp4" and offered == [25]
    assert imageio_ffmpeg.count_frames_and_secs(str(video)) == (12, 1.5)
    report = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-i", str(video)], capture_output=True,
                            text=True, timeout=60).stderr
    assert "Video: h264" in report and "yuv420p" in report
    assert window.exports.video(tmp_path / "missing" / "v.mp4", 8, 1) is None
    assert "no such folder" in window.message.text()


def test_plots_and_tables_of_the_current_tab_are_saved_from_the_file_menu(qtbot, window, tmp_path):
    """Issue 32: every plot (PNG, SVG) and table (CSV), not only through pyqtgraph's right-click menu."""
    menu = [a.text() for a in window.menuBar().actions()[0].menu().actions()]
    assert "Save plot (PNG, SVG)…" in menu and "Save table as CSV…" in menu
    window.tabs.setCurrentWidget(window.statistics)
    plots = window.figures.plots()
    assert {"power spectrum", "histogram of values"} <= set(plots)
    assert not any("b (±2 s.e.)" in name for name in plots)            # the bispectrum's sub-tab is not shown
    png = window.figures.save_plot(tmp_path / "spectrum.png", "power spectrum")
    with Image.open(png) as im:
        shown = plots["power spectrum"]
        assert im.format == "PNG" and im.width == 2 * shown.width()
    svg = window.figures.save_plot(tmp_path / "histogram.svg", "histogram of values")
    assert ET.parse(svg).getroot().tag.endswith("svg")
    assert window.figures.save_plot(tmp_path / "h.jpg", "histogram of values") is None
    assert ".png or .svg" in window.message.text()
    assert window.figures.tables() == {}                                 # none shown before a head-to-head
    assert window.figures.save_table(tmp_path / "none.csv") is None and "shows no table" in window.message.text()
    rows = drain(table_steps([window.model], window.model.data["stats"], n=2))   # the head-to-head of this one model
    window.statistics.show_table(rows, "its training data")
    (name,) = window.figures.tables()
    table = window.figures.save_table(tmp_path / "models.csv", name)
    with open(table, newline="") as f:
        lines = list(csv.reader(f))
    assert lines[0][:2] == ["model", "kind"] and lines[1][0] == "tiny" and len(lines) == 2
    assert "⟨|m|⟩ (data)" not in lines[0]                                # a hidden column stays out
    window.tabs.setCurrentWidget(window.view)                             # another tab: its own canvases
    canvases = window.figures.plots()
    assert len(canvases) >= 2 and "power spectrum" not in canvases
    assert Image.open(window.figures.save_plot(tmp_path / "frames.png", next(iter(canvases)))).size[0] > 100
