"""Exporters: a frame as PNG (with its metadata as text chunks), every frame as a PNG sequence,
an animated GIF, a contact sheet (steps x samples) and a coarse-to-fine strip. Pictures come from
`render`; every file is written atomically by `io`."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from explorer import __version__
from explorer.core.display.render import (
    check_picture,
    coarse_to_fine_picture,
    default_display_range,
    frame_picture,
    frame_picture_pixels,
    tile,
    to_rgb,
)
from explorer.core.errors import ExportError
from explorer.core.files.io import atomic_write, check_output_folder


def frame_metadata(meta: dict, frame, step_index: int | None = None) -> dict[str, str]:
    """PNG text chunks: checkpoint name and hash, sampler, steps, seed, step, t, sigma, version."""
    out = {"checkpoint": _text(meta.get("checkpoint", "")), "checkpoint_sha256": _text(meta.get("checkpoint_sha256", "")),
           "sampler": _text(meta.get("sampler", "")), "steps": _text(meta.get("steps", "")),
           "seed": _text(meta.get("seed", "")), "explorer_version": __version__, "software": f"explorer {__version__}"}
    if frame is not None:
        out |= {"step": str(frame.step if step_index is None else step_index), "t": f"{frame.t:.6g}",
                "sigma": f"{frame.sigma:.6g}"}
        if frame.scale is not None:
            out["scale"] = str(frame.scale)
    return out


def _text(value) -> str:
    """A value as text that any UTF-8 writer accepts (a lone surrogate from JSON becomes an escape)."""
    return str(value).encode("utf-8", "backslashreplace").decode("utf-8")


def _png_writer(rgb: np.ndarray, text: dict[str, str]):
    from PIL import Image, PngImagePlugin

    info = PngImagePlugin.PngInfo()
    for k, v in text.items():
        info.add_text(k, v)
    return lambda f: Image.fromarray(rgb).save(f, format="PNG", pnginfo=info)


def save_frame_png(path: Path, traj, index: int, show: str = "both", display_range=None, cmap: str = "grey",
                   scale: int = 4, xt_range=None, xt_over_alpha: bool = False) -> Path:
    """One frame of a trajectory as a PNG carrying the frame's metadata; x0_hat in `display_range`,
    x_t (or x_t / alpha) in `xt_range`, each None: its own range (`frame_picture`)."""
    frame = traj.frames[index]
    rgb = frame_picture(frame, show, display_range, cmap, scale, xt_range=xt_range, xt_over_alpha=xt_over_alpha)
    return atomic_write(Path(path), _png_writer(rgb, frame_metadata(traj.meta, frame, index)))


def _run_display_range(traj, cmap: str):
    """One display range for the whole run's x0_hat: that of the final x0_hat (x_t: each frame its own)."""
    return default_display_range(np.asarray(traj.frames[-1].x0_hat), cmap == "diverging")


def frame_name(k: int) -> str:
    """The file name of frame k in a frame folder (`save_frame_sequence`)."""
    return f"frame_{k:04d}.png"


def save_frame_sequence(folder: Path, traj, show: str = "both", display_range=None, cmap: str = "grey",
                        scale: int = 4, progress=None) -> list[Path]:
    """Every frame as folder/frame_0000.png, ... (one display range for the run)."""
    folder = check_output_folder(folder)
    try:
        folder.mkdir(exist_ok=True)
    except OSError as e:
        raise ExportError(f"{folder}: cannot create this folder ({e.strerror})") from None
    display_range = display_range or _run_display_range(traj, cmap)
    paths = []
    for k in range(len(traj.frames)):
        paths.append(save_frame_png(folder / frame_name(k), traj, k, show, display_range, cmap, scale))
        if progress:
            progress(k + 1, len(traj.frames))
    return paths


def gif_frames(n_frames: int, max_frames: int = 40) -> list[int]:
    """The frame indices a GIF shows: every stride-th, stride = ceil(n / max_frames), and the last."""
    stride = max(1, -(-n_frames // max_frames))
    return sorted(set(range(0, n_frames, stride)) | {n_frames - 1})


def save_gif(path: Path, traj, show: str = "both", display_range=None, cmap: str = "grey", scale: int = 3,
             max_frames: int = 40, frame_ms: int = 80, hold_ms: int = 1500) -> Path:
    """An animated GIF of the run: at most `max_frames` frames evenly spaced, the last held for hold_ms."""
    from PIL import Image

    display_range = display_range or _run_display_range(traj, cmap)
    shown = gif_frames(len(traj.frames), max_frames)
    check_picture(len(shown) * frame_picture_pixels(traj.frames[0], show, scale), f"a GIF of {len(shown)} frames")
    pictures = [Image.fromarray(frame_picture(traj.frames[k], show, display_range, cmap, scale)) for k in shown]
    durations = [frame_ms] * (len(pictures) - 1) + [hold_ms]

    def write(f):
        pictures[0].save(f, format="GIF", save_all=True, append_images=pictures[1:], duration=durations, loop=0,
                         comment=json.dumps(frame_metadata(traj.meta, None)).encode())
    return atomic_write(Path(path), write)


def sheet_rows(n_frames: int, rows: int = 8) -> list[int]:
    """`rows` frame indices spread evenly over the run, first and last included."""
    return sorted({int(round(v)) for v in np.linspace(0, n_frames - 1, min(rows, n_frames))})


def save_contact_sheet(path: Path, traj, rows: int = 8, show: str = "x0_hat", display_range=None, cmap: str = "grey",
                       scale: int = 3) -> Path:
    """A steps x samples sheet as one PNG: row r = frame sheet_rows()[r], column b = sample b."""
    idx = sheet_rows(len(traj.frames), rows)
    display_range = display_range or _run_display_range(traj, cmap)
    field = "x0_hat" if show == "x0_hat" else "x_t"
    b, _, h, w = np.shape(traj.frames[0].x_t)
    check_picture(len(idx) * (h + 1) * b * (w + 1) * scale * scale, "the contact sheet")
    stack = np.stack([np.asarray(getattr(traj.frames[k], field)) for k in idx])      # (R, B, C, H, W)
    r, b = stack.shape[:2]
    mosaic = tile(stack.reshape(r * b, *stack.shape[2:]), cols=b)
    text = frame_metadata(traj.meta, None) | {"rows_steps": ",".join(map(str, idx)), "shows": field,
                                              "rows_sigma": ",".join(f"{traj.frames[k].sigma:.4g}" for k in idx)}
    rgb = to_rgb(mosaic, display_range, cmap, scale)
    row_height = stack.shape[-2] * scale + scale                   # a tile and its one-pixel gap, scaled
    labels = sheet_labels(traj, idx)
    return atomic_write(Path(path), _png_writer(_label_rows(rgb, labels, row_height, f"{field}, columns: samples"), text))


def sheet_labels(traj, idx: list[int]) -> list[str]:
    """A contact sheet's row labels: the step and the run's level as the window reads it
    (each frame's own level: sigma/alpha, or a Gaussian or scattering model's own), in ASCII: PIL's
    default bitmap font has no Greek letters."""
    level = str(traj.meta.get("level", "σ/α")).replace("σ", "sigma").replace("α", "alpha")
    return [f"step {k}  {level}={traj.frames[k].level:.3g}" for k in idx]


def _label_rows(rgb: np.ndarray, labels: list[str], row_height: int, title: str) -> np.ndarray:
    """The picture with a white margin on the left naming each row, and a title line on top."""
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.load_default()
    margin = 8 + max(int(ImageDraw.Draw(Image.new("RGB", (1, 1))).textlength(s, font=font)) for s in labels + [""])
    top = 16
    canvas = Image.new("RGB", (rgb.shape[1] + margin, rgb.shape[0] + top), "white")
    canvas.paste(Image.fromarray(rgb), (margin, top))
    draw = ImageDraw.Draw(canvas)
    draw.text((margin, 2), title, fill="black", font=font)
    for r, s in enumerate(labels):
        draw.text((4, top + r * row_height + max(0, row_height // 2 - 6)), s, fill="black", font=font)
    return np.asarray(canvas)


def read_png_metadata(path: Path) -> dict[str, str]:
    from PIL import Image
    with Image.open(path) as im:
        return dict(im.text)


def save_coarse_to_fine_strip(path: Path, traj, J: int | None = None, wavelet: str | None = None,
                              display_range=None, cmap: str = "grey", scale: int = 3) -> Path:
    """The final samples of a run as rows x_J ... x_0 (a WCRG run's own J and wavelet by default;
    runs saved before 0.2 call J "levels")."""
    J = int(J or traj.meta.get("J") or traj.meta.get("levels") or 3)
    wavelet = wavelet or traj.meta.get("wavelet") or "haar"
    rgb = coarse_to_fine_picture(np.asarray(traj.frames[-1].x0_hat), J, wavelet, display_range, cmap, scale)
    text = frame_metadata(traj.meta, traj.frames[-1]) | {"columns": f"x_{J} ... x_0 ({wavelet})"}
    return atomic_write(Path(path), _png_writer(rgb, text))
