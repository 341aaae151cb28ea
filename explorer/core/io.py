"""File output. Every write goes to a temporary name in the target folder, then is renamed,
so an unwritable folder, a full disk or an interrupt leaves no half-written file and never
damages the file that was there."""
from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from typing import BinaryIO, Callable

from explorer.core.errors import ExportError


def check_output(path: str | Path) -> Path:
    """`path` as a file to be written: its folder exists, and it is not itself a folder.
    Raises ExportError (the one error for a bad output path) before any work starts."""
    path = Path(path)
    folder = path.parent
    if path.is_dir():
        raise ExportError(f"{path}: is a directory; give a file name")
    if not folder.is_dir():
        raise ExportError(f"{folder}: no such folder" if not folder.exists() else f"{folder}: is not a folder")
    return path


def atomic_write(path: Path, write: Callable[[BinaryIO], object]) -> Path:
    """Call write(f) on a temporary file beside `path`, fsync, and rename it to `path`."""
    path = check_output(path)
    folder = path.parent
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=folder)
    except OSError as e:
        raise ExportError(f"{folder}: cannot write here ({e.strerror})") from None
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.chmod(f.fileno(), 0o666 & ~_umask())       # mkstemp makes 0600; give the usual permissions
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as e:
        _remove(tmp)
        raise ExportError(f"{path}: could not be written ({e.strerror or e}); nothing was left behind") from None
    except BaseException:
        _remove(tmp)
        raise
    return path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _remove(tmp: str) -> None:
    try:
        os.unlink(tmp)
    except OSError:
        pass


def progress_bar(total: int | None, desc: str, disable: bool = False):
    """A tqdm bar on stderr. In a terminal it redraws in place; elsewhere (a log file, a pipe, a
    terminal of unknown width) it prints a plain line every 10 s, so long work is never silent."""
    from tqdm import tqdm

    try:
        tty = sys.stderr.isatty() and os.get_terminal_size(sys.stderr.fileno()).columns > 0
    except OSError:
        tty = False
    return tqdm(total=total, desc=desc, file=sys.stderr, unit="step", disable=disable, dynamic_ncols=tty,
                ncols=None if tty else 100, mininterval=0.1 if tty else 10.0)
