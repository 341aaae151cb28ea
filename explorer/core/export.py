"""Writing files. Every write goes to a temporary name in the target folder, then is renamed,
so an unwritable folder or a full disk leaves no half-written file. Pictures: a frame as PNG
(with its metadata as text chunks), every frame as a PNG sequence, an animated GIF, a contact
sheet (steps x samples) and a coarse-to-fine strip, all through one mosaic and colormap."""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import BinaryIO, Callable

import numpy as np

from explorer import __version__
from explorer.core.errors import ExportError


def atomic_write(path: Path, write: Callable[[BinaryIO], object]) -> Path:
    """Call write(f) on a temporary file beside `path`, fsync, and rename it to `path`."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise ExportError(f"{path}: is a directory; give a file name")
    if not folder.is_dir():
        raise ExportError(f"{folder}: no such folder" if not folder.exists() else f"{folder}: is not a folder")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=folder)
    except OSError as e:
        raise ExportError(f"{folder}: cannot write here ({e.strerror})") from None
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as e:
        _remove(tmp)
        raise ExportError(f"{path}: could not be written ({e.strerror or e}); nothing was left behind") from None
    except BaseException:
        _remove(tmp)
        raise
    return path


def _remove(tmp: str) -> None:
    try:
        os.unlink(tmp)
    except OSError:
        pass


# --- pictures: frames to PNG (with metadata), GIF animations, contact sheets -----------------

COLORMAPS = ("grey", "diverging")


def colormap(name: str) -> np.ndarray:
    """A (256, 3) uint8 lookup table: "grey", or "diverging" (blue - white - red) for fields."""
    v = np.linspace(0.0, 1.0, 256)
    if name == "grey":
        lut = np.stack([v, v, v], 1)
    elif name == "diverging":
        blue, white, red = np.array([0.13, 0.40, 0.67]), np.array([0.97, 0.97, 0.97]), np.array([0.70, 0.09, 0.17])
        lo = np.clip(v * 2, 0, 1)[:, None]
        hi = np.clip(v * 2 - 1, 0, 1)[:, None]
        lut = np.where(v[:, None] < 0.5, blue + (white - blue) * lo, white + (red - white) * hi)
    else:
        raise ExportError(f"unknown colormap {name!r}; choose one of {', '.join(COLORMAPS)}")
    return (lut * 255).round().astype(np.uint8)


def default_levels(x: np.ndarray, diverging: bool = False) -> tuple[float, float]:
    """Display range: 0.5-99.5 percentiles (symmetric about 0 for a diverging map)."""
    lo, hi = (float(v) for v in np.percentile(x, [0.5, 99.5]))
    if diverging:
        m = max(abs(lo), abs(hi), 1e-6)
        return -m, m
    return (lo, hi) if hi > lo else (lo - 0.5, lo + 0.5)


def tile(x: np.ndarray, cols: int | None = None, pad: int = 1, fill: float = np.nan) -> np.ndarray:
    """A batch (B, C, H, W) as one mosaic (rows*(H+pad)-pad, cols*(W+pad)-pad[, C]); gaps = fill."""
    b, c, h, w = x.shape
    cols = cols or int(np.ceil(np.sqrt(b)))
    rows = int(np.ceil(b / cols))
    out = np.full((rows * (h + pad) - pad, cols * (w + pad) - pad, c), fill, np.float32)
    for i in range(b):
        r, q = divmod(i, cols)
        out[r * (h + pad): r * (h + pad) + h, q * (w + pad): q * (w + pad) + w] = x[i].transpose(1, 2, 0)
    return out[..., 0] if c == 1 else out


def to_rgb(img: np.ndarray, levels: tuple[float, float], cmap: str = "grey", scale: int = 1) -> np.ndarray:
    """A mosaic (H, W) through a colormap, or (H, W, 3) by levels, to uint8 RGB; NaN gaps are white."""
    lo, hi = levels
    u = np.clip((img - lo) / max(hi - lo, 1e-12), 0, 1)
    gaps = np.isnan(u)
    u = np.nan_to_num(u, nan=0.0)
    rgb = colormap(cmap)[(u * 255).round().astype(np.int64)] if img.ndim == 2 else (u * 255).round().astype(np.uint8)
    if gaps.any():
        rgb[gaps if img.ndim == 2 else gaps.any(-1)] = 255
    if scale > 1:
        rgb = rgb.repeat(scale, 0).repeat(scale, 1)
    return rgb


def frame_metadata(meta: dict, frame, step_index: int | None = None) -> dict[str, str]:
    """PNG text chunks: checkpoint name and hash, sampler, steps, seed, step, t, sigma, version."""
    out = {"checkpoint": str(meta.get("checkpoint", "")), "checkpoint_sha256": str(meta.get("checkpoint_sha256", "")),
           "sampler": str(meta.get("sampler", "")), "steps": str(meta.get("steps", "")),
           "seed": str(meta.get("seed", "")), "explorer_version": __version__, "software": f"explorer {__version__}"}
    if frame is not None:
        out |= {"step": str(frame.step if step_index is None else step_index), "t": f"{frame.t:.6g}",
                "sigma": f"{frame.sigma:.6g}"}
        if frame.scale is not None:
            out["scale"] = str(frame.scale)
    return out


def _png_writer(rgb: np.ndarray, text: dict[str, str]):
    from PIL import Image, PngImagePlugin

    info = PngImagePlugin.PngInfo()
    for k, v in text.items():
        info.add_text(k, v)
    return lambda f: Image.fromarray(rgb).save(f, format="PNG", pnginfo=info)


def frame_picture(frame, show: str = "both", levels=None, cmap: str = "grey", scale: int = 4, cols=None) -> np.ndarray:
    """The picture of one frame as uint8 RGB: x_t and x0_hat mosaics side by side ("both"),
    or one of them ("x_t", "x0_hat")."""
    parts = {"x_t": frame.x_t, "x0_hat": frame.x0_hat}
    names = ["x_t", "x0_hat"] if show == "both" else [show]
    levels = levels or default_levels(frame.x0_hat, cmap == "diverging")
    mosaics = [tile(np.asarray(parts[n]), cols) for n in names]
    if len(mosaics) == 2:
        gap = np.full((mosaics[0].shape[0], 2) + mosaics[0].shape[2:], np.nan, np.float32)
        mosaics = [np.concatenate([mosaics[0], gap, mosaics[1]], 1)]
    return to_rgb(mosaics[0], levels, cmap, scale)


def save_frame_png(path: Path, traj, index: int, show: str = "both", levels=None, cmap: str = "grey",
                   scale: int = 4) -> Path:
    """One frame of a trajectory as a PNG carrying the frame's metadata."""
    frame = traj.frames[index]
    rgb = frame_picture(frame, show, levels, cmap, scale)
    return atomic_write(Path(path), _png_writer(rgb, frame_metadata(traj.meta, frame, index)))


def _run_levels(traj, cmap: str):
    """One display range for the whole run: that of the final x0_hat."""
    return default_levels(np.asarray(traj.frames[-1].x0_hat), cmap == "diverging")


def save_frame_sequence(folder: Path, traj, show: str = "both", levels=None, cmap: str = "grey",
                        scale: int = 4, progress=None) -> list[Path]:
    """Every frame as folder/frame_0000.png, ... (one display range for the run)."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise ExportError(f"{folder}: is a file, not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ExportError(f"{folder}: cannot create this folder ({e.strerror})") from None
    levels = levels or _run_levels(traj, cmap)
    paths = []
    for k in range(len(traj.frames)):
        paths.append(save_frame_png(folder / f"frame_{k:04d}.png", traj, k, show, levels, cmap, scale))
        if progress:
            progress(k + 1, len(traj.frames))
    return paths


def save_gif(path: Path, traj, show: str = "both", levels=None, cmap: str = "grey", scale: int = 4,
             frame_ms: int = 60, hold_ms: int = 1500) -> Path:
    """An animated GIF of the run (the last frame held for hold_ms)."""
    from PIL import Image

    levels = levels or _run_levels(traj, cmap)
    pictures = [Image.fromarray(frame_picture(f, show, levels, cmap, scale)) for f in traj.frames]
    durations = [frame_ms] * (len(pictures) - 1) + [hold_ms]

    def write(f):
        pictures[0].save(f, format="GIF", save_all=True, append_images=pictures[1:], duration=durations, loop=0,
                         comment=json.dumps(frame_metadata(traj.meta, None)).encode())
    return atomic_write(Path(path), write)


def sheet_rows(n_frames: int, rows: int = 8) -> list[int]:
    """`rows` frame indices spread evenly over the run, first and last included."""
    return sorted({int(round(v)) for v in np.linspace(0, n_frames - 1, min(rows, n_frames))})


def save_contact_sheet(path: Path, traj, rows: int = 8, show: str = "x0_hat", levels=None, cmap: str = "grey",
                       scale: int = 3) -> Path:
    """A steps x samples sheet as one PNG: row r = frame sheet_rows()[r], column b = sample b."""
    idx = sheet_rows(len(traj.frames), rows)
    levels = levels or _run_levels(traj, cmap)
    field = "x0_hat" if show == "x0_hat" else "x_t"
    stack = np.stack([np.asarray(getattr(traj.frames[k], field)) for k in idx])      # (R, B, C, H, W)
    r, b = stack.shape[:2]
    mosaic = tile(stack.reshape(r * b, *stack.shape[2:]), cols=b)
    text = frame_metadata(traj.meta, None) | {"rows_steps": ",".join(map(str, idx)), "shows": field,
                                              "rows_sigma": ",".join(f"{traj.frames[k].sigma:.4g}" for k in idx)}
    return atomic_write(Path(path), _png_writer(to_rgb(mosaic, levels, cmap, scale), text))


def read_png_metadata(path: Path) -> dict[str, str]:
    from PIL import Image
    with Image.open(path) as im:
        return dict(im.text)


def coarse_to_fine_picture(x: np.ndarray, levels: int, wavelet: str = "haar", levels_display=None,
                           cmap: str = "grey", scale: int = 3) -> np.ndarray:
    """One picture: per sample a row x_J, x_{J-1}, ..., x_0 (each at full resolution, finer
    details zero). x: (B, C, H, W) final samples."""
    import torch

    from explorer.core import wavelets

    t = torch.as_tensor(np.asarray(x, np.float64))
    steps = [wavelets.upsample_low_pass(wavelets.wavedec(t, j, wavelet)[0], j, wavelet) if j else t
             for j in range(levels, -1, -1)]
    b = t.shape[0]
    stack = torch.stack(steps, 1).reshape(b * (levels + 1), *t.shape[1:]).numpy()
    levels_display = levels_display or default_levels(np.asarray(x), cmap == "diverging")
    return to_rgb(tile(stack, cols=levels + 1), levels_display, cmap, scale)


def save_coarse_to_fine_strip(path: Path, traj, levels: int | None = None, wavelet: str | None = None,
                              levels_display=None, cmap: str = "grey", scale: int = 3) -> Path:
    """The final samples of a run as rows x_J ... x_0 (a WCRG run's own J and wavelet by default)."""
    levels = int(levels or traj.meta.get("levels") or 3)
    wavelet = wavelet or traj.meta.get("wavelet") or "haar"
    rgb = coarse_to_fine_picture(np.asarray(traj.frames[-1].x0_hat), levels, wavelet, levels_display, cmap, scale)
    text = frame_metadata(traj.meta, traj.frames[-1]) | {"columns": f"x_{levels} ... x_0 ({wavelet})"}
    return atomic_write(Path(path), _png_writer(rgb, text))
