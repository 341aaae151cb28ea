"""The window's settings read as input: each value checked for its type and range before use. A
bad value (edited by hand, left by another version, a list where a path belongs) is removed from
the settings and named in `dropped`, so the window opens and says what it forgot."""
from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path
from typing import Callable

from PySide6.QtCore import QByteArray, QSettings, QStandardPaths
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu

MAX_TEXT = 4096                             # a path or a name; longer is not a value explorer wrote


def default_settings() -> tuple[QSettings, str]:
    """The user's settings (QSettings("explorer", "explorer")), or, when their file is not a regular
    file (a FIFO, on which QSettings would block; a device), settings in a fresh temporary file that
    leave it alone; with a sentence saying so ("" when all is well). Checked before QSettings opens it."""
    name = Path(QStandardPaths.writableLocation(QStandardPaths.GenericConfigLocation)) / "explorer" / "explorer.conf"
    try:
        mode = os.stat(name).st_mode
    except FileNotFoundError:
        mode = None
    except OSError as e:
        return _temporary(), f"The settings file {name} cannot be read ({e.strerror}): this session's settings are not kept."
    if mode is not None and not stat.S_ISREG(mode):
        return _temporary(), f"The settings file {name} is not a regular file: it is left alone, and this session's " \
                             "settings are not kept."
    return QSettings("explorer", "explorer"), ""


def _temporary() -> QSettings:
    return QSettings(str(Path(tempfile.mkdtemp(prefix="explorer-settings-")) / "settings.ini"), QSettings.IniFormat)


class CheckedSettings:
    """Typed reads of a QSettings; what fails its check is removed and listed in `dropped`."""

    def __init__(self, settings: QSettings) -> None:
        self.settings = settings
        self.dropped: list[str] = []

    def drop(self, key: str, why: str) -> None:
        self.settings.remove(key)
        self.dropped.append(f"{key} ({why})")

    def integer(self, key: str, default: int, lo: int, hi: int) -> int:
        value = self.settings.value(key, None)
        if value is None:
            return default
        try:
            number = int(str(value)) if not isinstance(value, bool) else None
        except ValueError:
            number = None
        if number is None or not lo <= number <= hi:
            self.drop(key, f"{str(value)[:20]!r} is not an integer in {lo}..{hi}")
            return default
        return number

    def text(self, key: str, default: str = "", choices: tuple[str, ...] | None = None) -> str:
        value = self.settings.value(key, None)
        if value is None:
            return default
        if not isinstance(value, str) or len(value) > MAX_TEXT or "\0" in value or (choices and value not in choices):
            self.drop(key, f"{str(value)[:20]!r} is not " + (f"one of {', '.join(choices)}" if choices else "a text"))
            return default
        return value

    def path(self, key: str) -> str | None:
        """A path as explorer stores it: one text; None when absent or dropped."""
        return self.text(key) or None

    def paths(self, key: str, limit: int) -> list[str]:
        value = self.settings.value(key, None)
        if value is None:
            return []
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list) or not all(isinstance(p, str) and 0 < len(p) <= MAX_TEXT and "\0" not in p
                                                  for p in items):
            self.drop(key, "not a list of paths")
            return []
        return items[:limit]

    def blob(self, key: str) -> QByteArray | None:
        """A window geometry or state, as Qt saved it."""
        value = self.settings.value(key, None)
        if value is None:
            return None
        if not isinstance(value, (QByteArray, bytes)) or len(value) > 2 ** 16:
            self.drop(key, "not a saved window layout")
            return None
        return QByteArray(value)


class RecentMenu:
    """File → Open recent: the last `size` models opened, newest first, kept in the settings."""

    def __init__(self, menu: QMenu, settings: QSettings, open_path: Callable[[str], object], size: int = 8):
        self.menu, self.settings, self.open_path, self.size = menu, settings, open_path, size

    def files(self, checked: CheckedSettings | None = None) -> list[str]:
        return (checked or CheckedSettings(self.settings)).paths("recent", self.size)

    def remember(self, path: Path) -> None:
        recent = [str(path)] + [p for p in self.files() if p != str(path)]
        self.settings.setValue("recent", recent[:self.size])
        self.rebuild()

    def rebuild(self, checked: CheckedSettings | None = None) -> None:
        self.menu.clear()
        files = self.files(checked)
        for p in files:
            self.menu.addAction(QAction(p, self.menu, triggered=lambda _=False, p=p: self.open_path(p)))
        self.menu.setEnabled(bool(files))
