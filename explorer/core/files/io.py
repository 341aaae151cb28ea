"""File input and output.

Input: only regular files are read (never a FIFO, a device or a socket, which could block or
never end), their size is checked before reading, JSON is parsed with a depth and size limit and
without NaN/Infinity, and the paths a folder's index names stay inside that folder.

Output: every write goes to a temporary name in the target folder, then is renamed, so an
unwritable folder, a full disk or an interrupt leaves no half-written file and never damages the
file that was there. A target that exists must be a regular, writable file: explorer never
replaces a device, a FIFO, a folder or a read-only file."""
from __future__ import annotations

import json
import os
import stat
import sys
import tempfile
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import BinaryIO, Callable

from explorer.core.errors import ExplorerError, ExportError

MiB = 2 ** 20
GiB = 2 ** 30


def kind_of(mode: int) -> str:
    """What a file of this st_mode is, in words: "a FIFO (named pipe)", "a device", ..."""
    return ("a directory" if stat.S_ISDIR(mode) else "a FIFO (named pipe)" if stat.S_ISFIFO(mode) else
            "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "a socket" if stat.S_ISSOCK(mode) else
            "not a regular file")


def _open_regular(path: Path, what: str, limit: int, error: type[ExplorerError]) -> tuple[int, os.stat_result]:
    """An open descriptor of `path` and its fstat: a regular file of at most `limit` bytes (opened
    non-blocking, so a FIFO cannot hang the read; checked on the open file, so it cannot change in
    between), else `error` saying which."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise error(f"{path}: no such file") from None
    except OSError as e:
        raise error(f"{path}: cannot be read ({e.strerror})") from None
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode) or st.st_size > limit:
        os.close(fd)
        raise error(f"{path}: is {kind_of(st.st_mode)}, not a {what} file" if not stat.S_ISREG(st.st_mode) else
                    f"{path}: {st.st_size / MiB:,.1f} MiB, more than the {limit / MiB:,.0f} MiB a {what} file may have")
    return fd, st


def read_regular(path: str | Path, what: str, limit: int, error: type[ExplorerError] = ExplorerError) -> bytes:
    """The bytes of `path`, a regular file of at most `limit` bytes; else `error` saying why.
    The file is opened without blocking (a FIFO cannot hang the caller) and checked with fstat
    on the open descriptor (a symlink to /dev/zero is seen as the device it is)."""
    path = Path(path)
    fd, st = _open_regular(path, what, limit, error)
    try:
        chunks, left = [], st.st_size
        while left > 0:
            chunk = os.read(fd, min(left, 16 * MiB))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)
    except OSError as e:
        raise error(f"{path}: cannot be read ({e.strerror})") from None
    finally:
        os.close(fd)


def _no_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


def _finite(text: str) -> float:
    v = float(text)
    if v in (float("inf"), float("-inf")):
        raise ValueError(f"{text} is beyond the range of a float")
    return v


def parse_json(text: str | bytes, where: str, error: type[ExplorerError] = ExplorerError, max_depth: int = 64):
    """JSON text as Python values; NaN/Infinity, nesting deeper than `max_depth` and invalid text
    raise `error` with `where` in the message."""
    try:
        value = json.loads(text, parse_constant=_no_constant, parse_float=_finite)
    except RecursionError:
        raise error(f"{where}: the JSON is nested too deeply") from None
    except (ValueError, UnicodeDecodeError) as e:
        raise error(f"{where}: not valid JSON ({e})") from None
    stack = [(value, 1)]
    while stack:
        v, depth = stack.pop()
        if depth > max_depth:
            raise error(f"{where}: the JSON is nested more than {max_depth} levels deep")
        if isinstance(v, dict):
            stack.extend((c, depth + 1) for c in v.values())
        elif isinstance(v, list):
            stack.extend((c, depth + 1) for c in v)
    return value


def load_arrays(path: str | Path, what: str, limit: int, error: type[ExplorerError] = ExplorerError,
                check: Callable[[dict], object] | None = None, headers_only: bool = False) -> dict:
    """The arrays of an .npy ({"array": a}) or .npz file. Every header is read first, before any
    array: no pickled objects, and at most `limit` bytes in all, as declared and as read (a small
    .npz that inflates to gigabytes, or a header declaring a huge shape, is refused without reading
    it). Like `read_regular`, only a regular file of at most `limit` bytes is opened.

    check(headers): called with {name: (shape, dtype)} once every header is read and before any
    array is; it raises (an ExplorerError) to refuse the file, e.g. for holding too many images.
    headers_only: return those headers and read no array."""
    import io
    import zipfile

    import numpy as np

    path = Path(path)
    budget = [limit]

    def header(f, name: str) -> tuple:
        try:
            version = np.lib.format.read_magic(f)
            shape, _, dtype = (np.lib.format.read_array_header_1_0(f) if version == (1, 0)
                               else np.lib.format.read_array_header_2_0(f))
        except (ValueError, OSError, EOFError, TypeError) as e:
            raise error(f"{path}: {name} is not a NumPy array ({e})") from None
        if dtype.hasobject:
            raise error(f"{path}: {name} holds Python objects; explorer reads only numeric arrays (no pickles)")
        return shape, dtype

    def declared(headers: dict) -> dict:
        """The headers passed to `check` (the caller's limits first: they say more), then their
        bytes in all checked against the limit."""
        if check is not None:
            check(headers)
        total = 0
        for name, (shape, dtype) in headers.items():
            total += int(np.prod(shape, dtype=object)) * dtype.itemsize
            if total > limit:
                raise error(f"{path}: {'the array' if name == 'array' and len(headers) == 1 else name} declares "
                            f"{shape} {dtype}, more than the {limit / MiB:,.0f} MiB explorer reads")
        return headers

    def parse(data: bytes, name: str) -> "np.ndarray":
        f = io.BytesIO(data)
        shape, dtype = header(f, name)
        nbytes = int(np.prod(shape, dtype=object)) * dtype.itemsize
        if nbytes > budget[0] or nbytes != len(data) - f.tell():
            raise error(f"{path}: {name} declares {shape} {dtype} ({nbytes:,} bytes) but "
                        + ("that is more than explorer reads" if nbytes > budget[0] else f"holds {len(data) - f.tell():,}"))
        budget[0] -= nbytes
        try:
            return np.load(io.BytesIO(data), allow_pickle=False)
        except (ValueError, OSError, EOFError) as e:
            raise error(f"{path}: {name} cannot be read ({e})") from None

    fd, st = _open_regular(Path(path), what, limit, error)           # as read_regular: never blocks on a FIFO
    with os.fdopen(fd, "rb") as f:
        try:
            zipped = f.read(2) == b"PK"
            f.seek(0)
            if not zipped:
                headers = declared({"array": header(f, "the array")})
                if headers_only:
                    return headers
                f.seek(0)
                blob = f.read(st.st_size + 1)
                if len(blob) != st.st_size:
                    raise error(f"{path}: changed while it was read")
                return {"array": parse(blob, "the array")}
        except OSError as e:
            raise error(f"{path}: cannot be read ({e.strerror or e})") from None
        try:
            with zipfile.ZipFile(f) as z:
                infos = [i for i in z.infolist() if not i.is_dir()]
                if sum(i.file_size for i in infos) > limit:
                    raise error(f"{path}: the archive inflates to {sum(i.file_size for i in infos) / MiB:,.0f} MiB, "
                                f"more than the {limit / MiB:,.0f} MiB explorer reads")
                headers = {}
                for info in infos:
                    with z.open(info) as member:
                        headers[info.filename.removesuffix(".npy")] = header(member, info.filename)
                declared(headers)
                if headers_only:
                    return headers
                arrays = {}
                for info in infos:
                    with z.open(info) as member:
                        data = member.read(info.file_size + 1)
                    if len(data) != info.file_size:
                        raise error(f"{path}: {info.filename} is not the size the archive declares")
                    arrays[info.filename.removesuffix(".npy")] = parse(data, info.filename)
                return arrays
        except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError, NotImplementedError,
                RuntimeError) as e:
            raise error(f"{path}: not a readable .npz archive ({e})") from None


def inside(folder: Path, name: object, where: str, error: type[ExplorerError] = ExplorerError) -> Path:
    """folder/name, where `name` (from an index file) must be a plain relative path that stays in
    `folder`: no absolute paths, no '..', no symlink out of it."""
    if not isinstance(name, str) or not name or "\x00" in name:
        raise error(f"{where}: a file name must be a non-empty string, not {name!r}")
    rel = Path(name)
    if rel.is_absolute() or ".." in rel.parts:
        raise error(f"{where}: the file {name!r} is outside the model's folder; only names inside it are accepted")
    path = folder / rel
    try:
        if not path.resolve().is_relative_to(folder.resolve()):
            raise error(f"{where}: the file {name!r} leads outside the model's folder")
    except OSError as e:
        raise error(f"{where}: {name!r} cannot be resolved ({e.strerror})") from None
    except RuntimeError:                    # Python 3.11: a symlink loop
        raise error(f"{where}: {name!r} is a symbolic link that loops") from None
    return path


MAX_NAME_BYTES = 255 - 40             # a file system's NAME_MAX, less what explorer adds (".resume", a temporary suffix)


def check_output(path: str | Path, beside: bool = False) -> Path:
    """`path` as a file to be written: its folder exists and is writable, and the file is either
    absent or a regular, writable file (never a folder, a device, a FIFO, a symbolic link or a
    read-only file: a link, even a dangling one, would be replaced by the new file).
    Raises ExportError (the one error for a bad output path) before any work starts. beside: a file
    explorer names after an output (its .resume file), whose length that output's check allowed for."""
    path = Path(path)
    folder = path.parent
    if not beside and len(os.fsencode(path.name)) > MAX_NAME_BYTES:
        raise ExportError(f"{printable(path.name[:40])}...: a file name of {len(os.fsencode(path.name))} bytes; explorer "
                          f"writes names of at most {MAX_NAME_BYTES} (it adds a temporary suffix, and .resume beside a model)")
    if path.is_symlink():                   # replacing it would remove the link; writing through it, reach anywhere
        try:
            target = os.readlink(path)
        except OSError:
            target = "?"
        raise ExportError(f"{path}: is a symbolic link (to {printable(target)[:80]}); explorer neither replaces a link nor "
                          "writes through it: give the file it points to, or another name")
    try:
        st = path.stat()
    except FileNotFoundError:
        st = None
    except OSError as e:
        raise ExportError(f"{path}: cannot be written ({e.strerror})") from None
    if st is not None and stat.S_ISDIR(st.st_mode):
        raise ExportError(f"{path}: is a directory; give a file name")
    if st is not None and not stat.S_ISREG(st.st_mode):
        raise ExportError(f"{path}: is {kind_of(st.st_mode)}; explorer only replaces regular files")
    if st is not None and (not os.access(path, os.W_OK) or not st.st_mode & 0o222):      # root: the mode bits
        raise ExportError(f"{path}: is read-only; explorer does not replace it (choose another name)")
    if not folder.is_dir():
        raise ExportError(f"{folder}: no such folder" if not folder.exists() else f"{folder}: is not a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ExportError(f"{folder}: cannot write here (permission denied)")
    try:                                    # root passes os.access everywhere: the file system itself
        fs = os.statvfs(folder)
    except OSError as e:
        raise ExportError(f"{folder}: cannot write here ({e.strerror})") from None
    if fs.f_flag & os.ST_RDONLY:
        raise ExportError(f"{folder}: cannot write here (a read-only file system)")
    if fs.f_blocks == 0:                    # /proc, /sys, or a tmpfs without a size: try to make a file there
        try:
            fd, probe = tempfile.mkstemp(prefix=".explorer-", suffix=".probe", dir=folder)
            os.close(fd)
            os.unlink(probe)
        except OSError as e:
            raise ExportError(f"{folder}: cannot write here (a file system that holds no files, like /proc: "
                              f"{e.strerror or e})") from None
    return path


def check_outputs(outputs, inputs=()) -> list[Path]:
    """`check_output` of each output; no two outputs the same file, and none of them an input
    (`check_not_input`): a run must not be exported over itself, a model not written over its data."""
    paths = [check_output(p) for p in outputs]
    resolved = [p.resolve() for p in paths]
    if len(set(resolved)) < len(resolved):
        raise ExportError("two outputs name the same file: " + ", ".join(sorted({str(p) for p in paths
                                                                                 if resolved.count(p.resolve()) > 1})))
    for p in paths:
        check_not_input(p, inputs)
    return paths


def check_not_input(output: str | Path, inputs) -> None:
    """Refuse an output that is one of the command's inputs (links followed; the same device and
    inode) or an existing file inside an input folder (a WCRG or diffusers model is a folder)."""
    p = Path(output)
    for i in map(Path, inputs):
        try:
            same = p.resolve() == i.resolve() or (p.exists() and os.path.samefile(p, i)) or \
                (p.exists() and i.is_dir() and p.resolve().is_relative_to(i.resolve()))
        except (OSError, RuntimeError):         # RuntimeError: a link loop, which cannot be an input either
            same = False
        if same:
            raise ExportError(f"{p}: is an input of this command ({i}); write the output elsewhere")


def check_output_folder(path: str | Path) -> Path:
    """`path` as a folder to write into: absent (its parent exists and is writable) or a writable folder."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise ExportError(f"{path}: is a file, not a folder")
    if path.is_dir():
        if not os.access(path, os.W_OK | os.X_OK):
            raise ExportError(f"{path}: cannot write here (permission denied)")
        return path
    check_output(path)
    return path


_STAGED: ContextVar[list[tuple[str, Path]] | None] = ContextVar("staged", default=None)


@contextmanager
def all_or_nothing():
    """Several outputs as one: inside this block each `atomic_write` leaves its temporary file in
    place; when the block ends without error all are renamed to their targets (each target
    checked again first), else all are removed and no target is touched."""
    staged: list[tuple[str, Path]] = []
    token = _STAGED.set(staged)
    try:
        yield
        for _, path in staged:
            check_output(path)
    except BaseException:
        for tmp, _ in staged:
            _remove(tmp)
        raise
    finally:
        _STAGED.reset(token)
    for tmp, path in staged:
        try:
            os.replace(tmp, path)
        except OSError as e:
            raise ExportError(f"{path}: could not be written ({e.strerror or e})") from None


@contextmanager
def exclusive(output: Path):
    """Held while one process makes `output` (a training, its resume file included): a second one
    asked to make the same output is refused at once (a UsageError), never racing the first. The
    lock is a hidden file beside the output, `.NAME.lock`, removed at the end; a link or special
    file in its place is left alone and refused."""
    import fcntl

    from explorer.core.errors import UsageError
    lock = output.with_name(f".{output.name}.lock")
    try:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0), 0o644)
    except OSError as e:
        raise ExportError(f"{lock}: cannot lock {output.name} for writing ({e.strerror}); a link or special file "
                          "there is left alone") from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ExportError(f"{lock}: is {kind_of(os.fstat(fd).st_mode)}; explorer locks with a regular file there")
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise UsageError(f"{output}: another explorer is making it now; wait for it, or write elsewhere") from None
        try:
            yield
        finally:
            try:
                if os.path.samestat(os.fstat(fd), os.lstat(lock)):
                    os.unlink(lock)
            except OSError:
                pass
    finally:
        os.close(fd)


def atomic_write(path: Path, write: Callable[[BinaryIO], object], verify: Callable[[Path], object] | None = None) -> Path:
    """Call write(f) on a temporary file beside `path`, fsync, and rename it to `path` (inside
    `all_or_nothing`, the rename waits for the end of the block). `verify(temporary path)`, when
    given, reads the written file back as explorer will (its loader) before anything is replaced:
    an ExplorerError there leaves `path` as it was."""
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
        if verify is not None:
            try:
                verify(Path(tmp))
            except ExplorerError as e:
                raise ExportError(f"{path}: not written, explorer could not read it back ({e}); "
                                  f"{'the file there is unchanged' if path.exists() else 'nothing was left behind'}") from None
        staged = _STAGED.get()
        if staged is not None:
            staged.append((tmp, path))
            return path
        check_output(path)                  # still absent or a regular writable file just before the rename
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


def printable(text: str) -> str:
    """`text` safe for a terminal: control characters (escape sequences, carriage returns, ...)
    shown as \\xNN escapes; new lines and tabs kept."""
    import unicodedata

    return "".join(c if c in "\n\t" or unicodedata.category(c)[0] != "C" else f"\\x{ord(c):02x}" if ord(c) < 256
                   else f"\\u{ord(c):04x}" for c in text)


def json_text(value, indent: int | None = 1) -> str:
    """Strict JSON (RFC 8259): NaN and infinities, which JSON cannot hold, become null."""
    def clean(v):
        if isinstance(v, float):
            return v if v == v and v not in (float("inf"), float("-inf")) else None
        if isinstance(v, dict):
            return {k: clean(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [clean(x) for x in v]
        return v
    return json.dumps(clean(value), indent=indent, allow_nan=False)


def close_progress_bars() -> None:
    """End every open progress bar's line, so that a message printed next starts on its own line."""
    from tqdm import tqdm

    for bar in list(getattr(tqdm, "_instances", ())):
        bar.close()


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
