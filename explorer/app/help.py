"""The Help menu: the keyboard shortcuts, the documentation (the docs/ pages, read in the window:
nothing to build, nothing online) and About (version, licence)."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QUrl
from PySide6.QtGui import QAction, QKeySequence, QTextDocument
from PySide6.QtWidgets import QDialog, QMainWindow, QMenu, QMessageBox, QTextBrowser, QVBoxLayout

from explorer import __version__


def shortcuts() -> list[tuple[str, str, str]]:
    """(where, keys, what they do): the keys as this platform writes them (a QApplication must exist)."""
    def native(key) -> str:
        return QKeySequence(key).toString(QKeySequence.NativeText)

    return [
        ("Trajectory tab", "← / →", "one step back / forward (the slider stops following the run)"),
        ("Trajectory tab", "Page Up / Page Down", "ten steps back / forward"),
        ("Trajectory tab", "Home / End", "the first step / the last step (End follows a live run again)"),
        ("Trajectory tab", "Space", "play / pause the trajectory"),
        ("Window", native(QKeySequence.Open), "open a model"),
        ("Window", "F1", "this list of shortcuts"),
        ("Window", native(QKeySequence.Quit) or "Ctrl+Q", "quit"),
        ("Window", "drop a file", "a model (.safetensors, a WCRG folder's index.json) opens; a saved run (.npz) "
                                  "opens as a run"),
    ]


LICENCE = "MIT"


def docs_folder() -> Path | None:
    """The docs/ pages beside the package (a source checkout or an editable install), else None."""
    folder = Path(__file__).resolve().parents[2] / "docs"
    return folder if (folder / "index.md").is_file() else None


def shortcuts_html() -> str:
    rows = "".join(f"<tr><td>{where}</td><td><b>{keys}</b></td><td>{what}</td></tr>" for where, keys, what in shortcuts())
    return f"<table cellspacing='6'><tr><th align='left'>where</th><th align='left'>keys</th>" \
           f"<th align='left'>does</th></tr>{rows}</table>"


class DocsWindow(QDialog):
    """The documentation's Markdown pages in a browser of their own: links between pages work."""

    def __init__(self, parent, page: Path):
        super().__init__(parent)
        self.setWindowTitle("explorer documentation")
        self.resize(900, 700)
        self.browser = QTextBrowser()
        self.browser.setOpenExternalLinks(True)
        self.browser.setSearchPaths([str(page.parent)])
        self.browser.setSource(QUrl.fromLocalFile(str(page)), QTextDocument.MarkdownResource)
        QVBoxLayout(self).addWidget(self.browser)


class HelpMenu:
    """Help → Guided tour (added by the tour), Keyboard shortcuts, Documentation, About."""

    def __init__(self, window: QMainWindow, menu: QMenu):
        self.window, self.menu = window, menu
        self.docs: DocsWindow | None = None
        self.shortcuts = QAction("&Keyboard shortcuts", window, shortcut=QKeySequence("F1"), triggered=self.show_shortcuts)
        self.documentation = QAction("&Documentation", window, triggered=self.show_docs)
        self.about = QAction("&About explorer", window, triggered=self.show_about)
        for a in (self.shortcuts, self.documentation, self.about):
            menu.addAction(a)

    def show_shortcuts(self) -> QMessageBox:
        box = QMessageBox(QMessageBox.Information, "Keyboard shortcuts", shortcuts_html(), parent=self.window)
        box.open()
        return box

    def show_docs(self) -> DocsWindow | None:
        folder = docs_folder()
        if folder is None:
            self.window.show_message("The documentation pages are not installed beside explorer: read them in the "
                                     "docs/ folder of the source, or run `mkdocs serve` there.")
            return None
        self.docs = DocsWindow(self.window, folder / "index.md")
        self.docs.show()
        return self.docs

    def show_about(self) -> QMessageBox:
        text = (f"<b>explorer {__version__}</b><p>Watch generative models build images and physical fields: "
                "score diffusion along the noise level, the wavelet renormalisation group along scale, scattering "
                "spectra, and generalisation against memorisation.</p>"
                "<p>The science: S. Mallat, <i>From generative AI to statistical physics</i>; Kadkhodaie, Guth, "
                f"Simoncelli and Mallat, ICLR 2024.</p><p>Licence: {LICENCE} (the LICENSE file). Qt for Python "
                "(PySide6) is used under the LGPL v3.</p>")
        box = QMessageBox(QMessageBox.Information, "About explorer", text, parent=self.window)
        box.open()
        return box
