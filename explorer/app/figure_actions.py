"""File → Save plot… and Save table as CSV…: any plot (PNG or SVG) or table (CSV) of the current tab.

The plots and tables are found by walking the widgets the current tab shows (every pyqtgraph
canvas, every table view), so a new view needs no code here. With several, the user picks one by
its title. Files are written atomically by core `io`, as every export; each action returns the
path written, or None.
"""
from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Callable

import pyqtgraph as pg
from pyqtgraph.exporters import ImageExporter
from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QRectF, QSettings, Qt
from PySide6.QtGui import QAction, QImage, QPainter
from PySide6.QtSvg import QSvgGenerator
from PySide6.QtWidgets import QFileDialog, QInputDialog, QLabel, QTableView, QTabWidget, QWidget

from explorer.core.display import export
from explorer.core.errors import ExplorerError, ExportError
from explorer.core.files.io import atomic_write

PNG_SCALE = 2                 # a PNG has twice the pixels of the plot on screen: sharp on a slide


def _plain(html: str) -> str:
    return re.sub(r"<[^>]*>", "", html or "").replace("&nbsp;", " ").strip()


def plot_title(view: pg.GraphicsView) -> str:
    """A canvas's name: the titles of its plots, else their axis labels ('left vs bottom')."""
    plots = [i for i in view.scene().items() if isinstance(i, pg.PlotItem)]
    titles = [_plain(p.titleLabel.text) for p in plots if _plain(p.titleLabel.text)]
    if titles:
        return ", ".join(titles)
    axes = [" vs ".join(t for t in (_plain(p.getAxis("left").labelText), _plain(p.getAxis("bottom").labelText)) if t)
            for p in plots]
    return ", ".join(a for a in axes if a)


def table_rows(table: QTableView) -> list[list[str]]:
    """The header and every row of a table as shown: hidden columns left out, the row labels first
    when the table shows them, a cell drawn by a label widget read from the label."""
    model = table.model()
    columns = [j for j in range(model.columnCount()) if not table.isColumnHidden(j)]
    labelled = not table.verticalHeader().isHidden()

    def cell(i: int, j: int) -> str:
        value, widget = model.data(model.index(i, j)), table.indexWidget(model.index(i, j))
        return _plain(widget.text()) if value is None and isinstance(widget, QLabel) else "" if value is None else str(value)

    header = [str(model.headerData(j, Qt.Horizontal) or "") for j in columns]
    return [[""] * labelled + header] + [[str(model.headerData(i, Qt.Vertical) or "")] * labelled +
                                         [cell(i, j) for j in columns] for i in range(model.rowCount())]


def _render(view: pg.GraphicsView, device, width: int, height: int) -> None:
    """The canvas drawn on a paint device of width x height, in pyqtgraph's export mode (no
    auto-range button, the canvas's own background)."""
    exporter = ImageExporter(view.scene())          # its export mode and the canvas's rectangle
    painter = QPainter(device)
    try:
        exporter.setExportMode(True, {"antialias": True, "background": exporter.parameters()["background"],
                                      "painter": painter, "resolutionScale": width / exporter.getTargetRect().width()})
        painter.setRenderHint(QPainter.Antialiasing, True)
        painter.fillRect(QRectF(0, 0, width, height), exporter.parameters()["background"])
        view.scene().render(painter, QRectF(0, 0, width, height), exporter.getSourceRect())
    finally:
        exporter.setExportMode(False)
        painter.end()


def png_bytes(view: pg.GraphicsView) -> bytes:
    """The canvas as PNG, PNG_SCALE times its size on screen."""
    image = QImage(PNG_SCALE * view.width(), PNG_SCALE * view.height(), QImage.Format_ARGB32)
    _render(view, image, image.width(), image.height())
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.WriteOnly)
    if not image.save(buffer, "PNG"):
        raise ExportError("the plot could not be drawn as PNG")
    return bytes(data)


def svg_bytes(view: pg.GraphicsView, title: str) -> bytes:
    """The canvas as SVG, drawn by Qt's own SVG generator (pyqtgraph 0.14's SVGExporter fails on
    the closed paths Qt 6 writes, pyqtgraph issue #3495)."""
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.WriteOnly)
    svg = QSvgGenerator()
    svg.setOutputDevice(buffer)
    svg.setSize(view.size())
    svg.setViewBox(QRectF(0, 0, view.width(), view.height()))
    svg.setTitle(title)
    svg.setResolution(view.logicalDpiX())
    _render(view, svg, view.width(), view.height())
    return bytes(data)


class FigureActions:
    def __init__(self, parent: QWidget, tabs: QTabWidget, report: Callable[[str], None], fail: Callable[[str], None],
                 settings: QSettings):
        self.parent, self.tabs, self.report, self.fail, self.settings = parent, tabs, report, fail, settings
        self.actions = [QAction("Save plot (PNG, SVG)…", parent, triggered=lambda: self.save_plot()),
                        QAction("Save table as CSV…", parent, triggered=lambda: self.save_table())]

    def _shown(self, kind: type) -> list[QWidget]:
        page = self.tabs.currentWidget()
        return [w for w in page.findChildren(kind) if w.isVisibleTo(page)] if page is not None else []

    def plots(self) -> dict[str, pg.GraphicsView]:
        """The canvases the current tab shows, by name (the tab's name and a number when untitled)."""
        return self._named(self._shown(pg.GraphicsView), plot_title, "plot")

    def tables(self) -> dict[str, QTableView]:
        """The tables the current tab shows that have rows, by their first column names."""
        tables = [t for t in self._shown(QTableView) if t.model() is not None and t.model().rowCount()]
        return self._named(tables, lambda t: "table of " + ", ".join(c for c in table_rows(t)[0][:4] if c), "table")

    def _named(self, widgets: list, name: Callable, kind: str) -> dict:
        tab = self.tabs.tabText(self.tabs.currentIndex()).replace("&", "")
        named = {}
        for k, w in enumerate(widgets, 1):
            title = name(w) or f"{tab} {kind} {k}"
            named[title if title not in named else f"{title} ({k})"] = w
        return named

    def _pick(self, found: dict, what: str, name: str | None):
        if not found:
            self.fail(f"The {self.tabs.tabText(self.tabs.currentIndex())} tab shows no {what} to save.")
            return None, None
        if name is None and len(found) > 1:
            name, ok = QInputDialog.getItem(self.parent, f"Save {what}", f"Which {what}?", list(found), 0, False)
            if not ok:
                return None, None
        name = name or next(iter(found))
        return name, found.get(name)

    def _ask(self, title: str, name: str, suffix: str, filt: str) -> Path | None:
        """A path from a save dialog that suggests `_suggested(name, suffix)`; None when cancelled."""
        chosen, _ = QFileDialog.getSaveFileName(self.parent, title, str(self._suggested(name, suffix)), filt)
        return Path(chosen) if chosen else None

    def _suggested(self, name: str, suffix: str) -> Path:
        """In the last export folder, the name as a file name, with -2, -3, ... if taken."""
        folder = Path(str(self.settings.value("export_folder", str(Path.cwd()))))
        stem = re.sub(r"[^\w.+=-]+", "-", name).strip("-.")[:80] or "plot"
        return export.free_path(folder, stem, suffix)

    def _save(self, path: Path, data: Callable[[], bytes]) -> Path | None:
        try:
            out = atomic_write(Path(path), lambda f: f.write(data()))
        except ExplorerError as e:
            self.fail(f"Saving failed. {e}")
            return None
        self.settings.setValue("export_folder", str(out.parent))
        self.report(f"wrote {out}")
        return out

    def save_plot(self, path: Path | None = None, name: str | None = None) -> Path | None:
        """The plot `name` (asked when the tab shows several) as PNG or SVG, by the path's suffix."""
        name, view = self._pick(self.plots(), "plot", name)
        if view is None:
            return None
        path = path or self._ask("Save plot", name, ".png", "PNG image (*.png);;SVG drawing (*.svg)")
        if path is None:
            return None
        suffix = Path(path).suffix.lower()
        if suffix not in (".png", ".svg"):
            self.fail(f"Saving failed. {path}: a plot is saved as .png or .svg; name it so")
            return None
        return self._save(path, lambda: svg_bytes(view, name) if suffix == ".svg" else png_bytes(view))

    def save_table(self, path: Path | None = None, name: str | None = None) -> Path | None:
        """The table `name` (asked when the tab shows several) as CSV: its header, then its rows."""
        name, table = self._pick(self.tables(), "table", name)
        if table is None:
            return None
        path = path or self._ask("Save table", name, ".csv", "CSV table (*.csv)")
        if path is None:
            return None
        text = io.StringIO()
        csv.writer(text).writerows(table_rows(table))
        return self._save(path, lambda: text.getvalue().encode("utf-8"))
