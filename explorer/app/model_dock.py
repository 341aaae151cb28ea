"""The Model dock: the bundled models, Open model…, and the loaded model's description."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QListWidget, QListWidgetItem, QPlainTextEdit, QPushButton, QVBoxLayout, QWidget

from explorer.core.errors import ExplorerError
from explorer.core.models import Model, checkpoint, samplers_text


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
            entries = checkpoint.bundled_index()
        except ExplorerError as e:
            entries, self.problem = [], f"The bundled models cannot be listed: {e}"
        for e in entries:
            item = QListWidgetItem(e["name"])          # the names say field, N and split; the rest clipped them
            item.setData(Qt.UserRole, str(checkpoint.bundled_dir() / e["file"]))
            item.setToolTip(f"{e['data']}, N = {e['n']}, split {e['split']}: {e.get('description', '')}")
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

    def show_model(self, model: Model) -> None:
        self.bundled.clearSelection()
        for i in range(self.bundled.count()):
            item = self.bundled.item(i)
            if Path(item.data(Qt.UserRole)).resolve() == Path(model.path).resolve():
                self.bundled.setCurrentItem(item)
                self.bundled.scrollToItem(item)
        self.info.setPlainText(model.describe() + "\n" + samplers_text(model))
