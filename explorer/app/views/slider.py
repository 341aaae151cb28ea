"""The step sliders of the views: a click on the groove puts the handle where it was clicked.

Qt's default moves the handle one page towards the click, which on a run of a few frames (page 10)
is always an end: a user clicking the middle of a 5-frame run saw frame 0 or frame 4."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QProxyStyle, QSlider, QStyle


class _JumpToClick(QProxyStyle):
    def styleHint(self, hint, option=None, widget=None, return_data=None):
        if hint == QStyle.StyleHint.SH_Slider_AbsoluteSetButtons:
            return Qt.MouseButton.LeftButton.value
        return super().styleHint(hint, option, widget, return_data)


_style: _JumpToClick | None = None


def step_slider() -> QSlider:
    """A horizontal slider that jumps to the clicked step (one style shared by all: Qt does not
    take ownership of a style set on a widget)."""
    global _style
    if _style is None:
        _style = _JumpToClick()
    slider = QSlider(Qt.Horizontal)
    slider.setStyle(_style)
    return slider
