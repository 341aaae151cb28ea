"""The Model dock: the bundled models, Open model…, and the loaded model's description."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSortFilterProxyModel, Qt, Signal
from PySide6.QtWidgets import QFileDialog, QLabel, QListWidget, QListWidgetItem, QPlainTextEdit, QPushButton, QVBoxLayout, QWidget

from explorer.core.errors import ExplorerError
from explorer.core.models import Model, bundle, samplers_text


class ModelDock(QWidget):
    """`open_requested(path)` when a bundled model is chosen, `dialog_requested` for Open model…;
    `show_model(model)` selects it in the list (none when it is not bundled) and describes it."""

    open_requested = Signal(str)
    dialog_requested = Signal()

    def __init__(self) -> None:
        super().__init__()
        lay = QVBoxLayout(self)
        lay.addWidget(QLabel("Bundled models"))
        self.bundled = QListWidget()
        self.problem = ""                                      # why the bundled models cannot be listed
        try:
            entries = bundle.bundled_index()
        except ExplorerError as e:
            entries, self.problem = [], f"The bundled models cannot be listed: {e}"
        for e in entries:
            item = QListWidgetItem(e["name"])          # the names say field, N and split; the rest clipped them
            item.setData(Qt.UserRole, str(bundle.bundled_dir() / e["file"]))
            item.setToolTip(tooltip(e))
            self.bundled.addItem(item)
        self.bundled.verticalScrollBar().rangeChanged.connect(    # resized: keep the loaded model in sight
            lambda *_: self.bundled.currentItem() and self.bundled.scrollToItem(self.bundled.currentItem()))
        self.bundled.itemActivated.connect(lambda it: self.open_requested.emit(it.data(Qt.UserRole)))
        self.bundled.itemClicked.connect(lambda it: self.open_requested.emit(it.data(Qt.UserRole)))
        lay.addWidget(self.bundled, 1)
        open_button = QPushButton("Open model…")
        open_button.clicked.connect(self.dialog_requested)
        lay.addWidget(open_button)
        lay.addWidget(QLabel("Loaded model"))
        self.info = QPlainTextEdit()
        self.info.setReadOnly(True)
        self.info.setLineWrapMode(QPlainTextEdit.WidgetWidth)     # the whole config, not cut at the dock's edge
        self.info.setStyleSheet("QPlainTextEdit { font-family: monospace; font-size: 9pt; }")
        lay.addWidget(self.info, 1)
        for w in (self.bundled, self.info):
            w.setMinimumWidth(180)                              # the dock may shrink on small screens
        self.setMinimumWidth(200)

    def select(self, path: str | Path | None) -> None:
        """Highlight the bundled model at `path` (none when it is not bundled)."""
        self.bundled.clearSelection()
        self.bundled.setCurrentItem(None)
        for i in range(self.bundled.count()):
            item = self.bundled.item(i)
            if path is not None and Path(item.data(Qt.UserRole)).resolve() == Path(path).resolve():
                self.bundled.setCurrentItem(item)
                self.bundled.scrollToItem(item)

    def show_model(self, model: Model) -> None:
        self.select(model.path)
        self.info.setPlainText(model.describe() + "\n" + samplers_text(model))


def tooltip(entry: dict) -> str:
    """A bundled model's tooltip: its description (which names the data, N and split), else those, and its file."""
    what = entry.get("description") or f"{entry['data']}, N = {entry['n']}, split {entry['split']}"
    return f"{what}\n{entry['file']}"


class ModelFilter(QSortFilterProxyModel):
    """An Open model dialog's files: an index.json only inside a WCRG folder (beside its
    lowpass.safetensors), not the bundled models' own list, which no model is."""

    def filterAcceptsRow(self, row: int, parent) -> bool:
        source = self.sourceModel()
        path = Path(source.filePath(source.index(row, 0, parent)))
        return path.name != "index.json" or (path.parent / "lowpass.safetensors").exists()


def ask_model_path(parent: QWidget, title: str, folder: str) -> str:
    """A model file chosen in a dialog ("" when cancelled): .safetensors files and WCRG folders' index.json."""
    dialog = QFileDialog(parent, title, folder, "Models (*.safetensors index.json);;All files (*)")
    dialog.setOption(QFileDialog.DontUseNativeDialog)          # a native dialog takes no filter of ours
    dialog.setFileMode(QFileDialog.ExistingFile)
    dialog.setProxyModel(ModelFilter(dialog))
    return dialog.selectedFiles()[0] if dialog.exec() and dialog.selectedFiles() else ""
