"""The window: PySide6 + pyqtgraph. It shows what explorer.core produces and computes nothing."""
