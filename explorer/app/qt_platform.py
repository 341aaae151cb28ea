"""The Qt platform the window will use, checked before the QApplication exists: a Qt that cannot
load its platform (QT_QPA_PLATFORM misspelt, DISPLAY naming no X server) aborts the whole process
with no chance to say what to do."""
from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

import PySide6
from PySide6.QtWidgets import QApplication

from explorer.core.errors import ExplorerError

PLATFORMS = Path(PySide6.__file__).parent / "Qt" / "plugins" / "platforms"


def application(offscreen: bool = False) -> QApplication:
    """The QApplication, made once. offscreen: render without a display (screenshots, plots),
    unless QT_QPA_PLATFORM says otherwise."""
    app = QApplication.instance()
    if app is not None:
        return app
    if offscreen and not os.environ.get("QT_QPA_PLATFORM"):
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    check_platform()
    return QApplication(sys.argv[:1])


def available() -> list[str]:
    """The platform plugins this Qt has (xcb, wayland, offscreen, ...); [] if they cannot be listed."""
    return sorted({p.name.split(".")[0].removeprefix("lib").removeprefix("q") for p in PLATFORMS.glob("*q*.*")})


def check_platform() -> None:
    """An ExplorerError saying what to set when Qt could not start here."""
    chosen = os.environ.get("QT_QPA_PLATFORM", "").split(":")[0].split(";")[0]
    if chosen:
        have = available()
        if have and chosen not in have:
            raise ExplorerError(f"QT_QPA_PLATFORM={chosen[:40]!r} is not a Qt platform here ({', '.join(have)}); "
                                "unset it, or use offscreen to render without a display")
        return
    if not sys.platform.startswith("linux") or os.environ.get("WAYLAND_DISPLAY"):
        return
    display = os.environ.get("DISPLAY")
    if not display:
        raise ExplorerError("no display to open the window on (DISPLAY is not set); run it in a desktop session, "
                            "or use the headless commands: explorer --help")
    if not x_server_answers(display):
        raise ExplorerError(f"DISPLAY={display[:40]!r} names no X server that answers; start one (or log in to a "
                            "desktop), fix DISPLAY, or use the headless commands: explorer --help")


def x_server_answers(display: str, timeout: float = 1.0) -> bool:
    """Whether an X server listens at `display` ([host]:N[.screen]): its local socket, or TCP 6000 + N."""
    host, _, rest = display.rpartition(":")
    try:
        number = int(rest.split(".")[0])
    except ValueError:
        return False
    if host in ("", "unix"):
        for address in (f"\0/tmp/.X11-unix/X{number}", f"/tmp/.X11-unix/X{number}"):    # abstract, then the file
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                s.settimeout(timeout)
                try:
                    s.connect(address)
                    return True
                except OSError:
                    continue
        return False
    try:
        with socket.create_connection((host, 6000 + number), timeout=timeout):
            return True
    except (OSError, UnicodeError, ValueError):
        return False
