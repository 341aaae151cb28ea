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


def check_platform(offscreen: bool = False) -> None:
    """An ExplorerError saying what to set when Qt could not start here: a platform this Qt lacks,
    xcb without an X server that answers, wayland without a compositor, or no display at all.
    offscreen: the check for `application(offscreen=True)` (offscreen unless QT_QPA_PLATFORM says otherwise)."""
    value = os.environ.get("QT_QPA_PLATFORM", "")
    chosen = value.split(":")[0].split(";")[0]
    if chosen:
        have = available()
        if have and chosen not in have:
            raise ExplorerError(f"QT_QPA_PLATFORM={chosen[:40]!r} is not a Qt platform here ({', '.join(have)}); "
                                "unset it, or use offscreen to render without a display")
        if ";" in value or not sys.platform.startswith("linux"):
            return                                  # a list: Qt tries the next platform when one fails
        if chosen == "xcb":
            _check_x_server(f"QT_QPA_PLATFORM={chosen} needs an X server, but")
        elif chosen.startswith("wayland"):
            name = os.environ.get("WAYLAND_DISPLAY") or "wayland-0"
            if not wayland_answers(name):
                raise ExplorerError(f"QT_QPA_PLATFORM={chosen[:40]} needs a Wayland compositor, but WAYLAND_DISPLAY="
                                    f"{name[:40]!r} names none that answers; log in to a desktop, fix WAYLAND_DISPLAY, "
                                    "or use offscreen to render without a display")
        return
    if offscreen or not sys.platform.startswith("linux"):
        return
    wayland = os.environ.get("WAYLAND_DISPLAY")
    if wayland and wayland_answers(wayland):
        return
    # Qt tries wayland first when WAYLAND_DISPLAY is set, then xcb: without either it aborts the process
    _check_x_server(f"WAYLAND_DISPLAY={wayland[:40]!r} names no Wayland compositor that answers, and" if wayland else "")


def _check_x_server(why: str) -> None:
    """An ExplorerError unless DISPLAY names an X server that answers; `why` begins the message."""
    display = os.environ.get("DISPLAY")
    lead = why + " " if why else ""
    if not display:
        raise ExplorerError(f"{lead}no display to open the window on (DISPLAY is not set); run it in a desktop session, "
                            "or use the headless commands: explorer --help")
    if not x_server_answers(display):
        raise ExplorerError(f"{lead}DISPLAY={display[:40]!r} names no X server that answers; start one (or log in to a "
                            "desktop), fix DISPLAY, or use the headless commands: explorer --help")


def wayland_answers(name: str, timeout: float = 1.0) -> bool:
    """Whether a Wayland compositor listens at WAYLAND_DISPLAY `name` (a socket in $XDG_RUNTIME_DIR, or a path)."""
    path = Path(name) if name.startswith("/") else Path(os.environ.get("XDG_RUNTIME_DIR") or f"/run/user/{os.getuid()}") / name
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        try:
            s.connect(str(path))
            return True
        except (OSError, ValueError):
            return False


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
