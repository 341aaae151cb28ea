"""Exporters: a frame as PNG (with its metadata as text chunks), every frame as a PNG sequence
(in a new folder per run), an animated GIF, an H.264 video, a contact sheet (steps x samples) and
a coarse-to-fine strip. Pictures come from `render`, captioned by `figure`; every file is written
atomically by `io`."""
from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from itertools import chain, count
from pathlib import Path

import numpy as np

from explorer import __version__
from explorer.core.display import figure
from explorer.core.display.render import (
    Panel,
    check_picture,
    coarse_to_fine_picture,
    default_display_range,
    frame_picture_pixels,
    tile,
    to_rgb,
)
from explorer.core.errors import ExportError, UsageError
from explorer.core.files.io import MAX_NAME_BYTES, atomic_write, check_output_folder


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
    x_t (or x_t / alpha) in `xt_range`, each None: its own range (`figure.frame_figure`)."""
    fig = figure.frame_figure(traj, index, show, display_range, cmap, scale, xt_range, xt_over_alpha)
    return atomic_write(Path(path), _png_writer(fig.rgb, frame_metadata(traj.meta, traj.frames[index], index)))


def _run_display_range(traj, cmap: str):
    """One display range for the whole run's x0_hat: that of the final x0_hat (x_t: each frame its own)."""
    return default_display_range(np.asarray(traj.frames[-1].x0_hat), cmap == "diverging")


def frame_name(k: int) -> str:
    """The file name of frame k in a run's frame folder (`save_frame_sequence`)."""
    return f"frame_{k:04d}.png"


def run_stem(meta: dict) -> str:
    """A run's name for its files: MODEL-SAMPLER-seedS, each character a file name may not hold
    (a separator, a control character, ...) as '_', cut to fit a file name."""
    stem = f"{meta.get('checkpoint') or 'explorer'}-{meta.get('sampler') or 'run'}-seed{meta.get('seed', 0)}"
    stem = re.sub(r"[^\w.+=-]", "_", stem).lstrip(".") or "run"
    return stem.encode()[:MAX_NAME_BYTES - 40].decode(errors="ignore")


def numbered(folder: Path, stem: str, suffix: str = ""):
    """folder/STEM SUFFIX, then STEM-2 SUFFIX, STEM-3 SUFFIX, ...: the names explorer tries rather
    than replace what exists."""
    yield folder / f"{stem}{suffix}"
    for k in count(2):
        yield folder / f"{stem}-{k}{suffix}"


def free_path(folder: Path, stem: str, suffix: str) -> Path:
    """The first of `numbered(folder, stem, suffix)` that does not exist (a name to suggest)."""
    return next(path for path in numbered(folder, stem, suffix) if not path.exists())


def new_folder(parent: Path, stem: str) -> Path:
    """parent/stem, or parent/stem-2, stem-3, ...: the first that does not exist, made now (never
    an existing folder, file or link)."""
    for path in numbered(parent, stem):
        try:
            path.mkdir()
            return path
        except FileExistsError:
            continue
        except OSError as e:
            raise ExportError(f"{path}: cannot create this folder ({e.strerror})") from None


def save_frame_sequence(folder: Path, traj, show: str = "both", display_range=None, cmap: str = "grey",
                        scale: int = 4, progress=None) -> list[Path]:
    """Every frame as frame_0000.png, ... in a new folder of `folder` named from the run
    (`run_stem`, with -2, -3, ... when taken; `folder` is made if absent): another run's frames
    there are never replaced. One display range for the run."""
    folder = check_output_folder(folder)
    try:
        folder.mkdir(exist_ok=True)
    except OSError as e:
        raise ExportError(f"{folder}: cannot create this folder ({e.strerror})") from None
    display_range = display_range or _run_display_range(traj, cmap)
    run_folder = new_folder(folder, run_stem(traj.meta))
    paths = []
    for k in range(len(traj.frames)):
        paths.append(save_frame_png(run_folder / frame_name(k), traj, k, show, display_range, cmap, scale))
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
    pictures = [Image.fromarray(rgb) for rgb in figure.uniform(
        lambda k: figure.frame_figure(traj, k, show, display_range, cmap, scale).rgb, shown)]
    durations = [frame_ms] * (len(pictures) - 1) + [hold_ms]

    def write(f):
        pictures[0].save(f, format="GIF", save_all=True, append_images=pictures[1:], duration=durations, loop=0,
                         comment=json.dumps(frame_metadata(traj.meta, None)).encode())
    return atomic_write(Path(path), write)


DEFAULT_FPS, MAX_FPS, MAX_SECONDS = 12, 60, 600.0


def default_video_seconds(n_frames: int, fps: int) -> float:
    """A video's length when none is asked: each frame of the run once, and a second on the
    last; between 2 and 20 s."""
    return float(min(max(n_frames / max(fps, 1) + 1.0, 2.0), 20.0))


def video_frames(n_frames: int, fps: int, seconds: float) -> list[int]:
    """The run's frame shown at each of the video's round(fps * seconds) frames: the run evenly
    spread over the time, its last frame held for the last second (a quarter of a short video)."""
    if not 1 <= fps <= MAX_FPS or not 0 < seconds <= MAX_SECONDS:
        raise UsageError(f"a video of {fps} frames per second and {seconds:g} s: explorer writes 1 to {MAX_FPS} "
                         f"frames per second and up to {MAX_SECONDS:g} s", field="fps" if not 1 <= fps <= MAX_FPS
                         else "seconds")
    n = max(1, round(fps * seconds))
    hold = min(fps, n // 4)
    moving = n - hold
    return [round(i * (n_frames - 1) / max(moving - 1, 1)) for i in range(moving)] + [n_frames - 1] * hold


def save_video(path: Path, traj, fps: int | None = None, seconds: float | None = None, show: str = "both",
               display_range=None, cmap: str = "grey", scale: int = 4) -> Path:
    """The run as an MP4 video (H.264, yuv420p) of `seconds` (default_video_seconds) at `fps`, each
    frame captioned as the frame PNG (`figure.frame_figure`), by the ffmpeg imageio-ffmpeg ships;
    fps None: DEFAULT_FPS.
    Encoded into a temporary file, then written atomically; the run's metadata in its comment."""
    try:
        import imageio_ffmpeg
    except ImportError:
        raise ExportError("writing a video needs imageio-ffmpeg (pip install imageio-ffmpeg)") from None
    path = Path(path)
    fps = DEFAULT_FPS if fps is None else fps
    seconds = default_video_seconds(len(traj.frames), fps) if seconds is None else seconds
    shown = video_frames(len(traj.frames), fps, seconds)
    display_range = display_range or _run_display_range(traj, cmap)
    comment = json.dumps({k: v[:200] for k, v in frame_metadata(traj.meta, None).items()})

    def write(f):
        pictures = figure.uniform(lambda k: figure.frame_figure(traj, k, show, display_range, cmap, scale).rgb,
                                  shown, even=True)
        first = next(pictures)
        fd, encoded = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".mp4", dir=path.parent)
        os.close(fd)
        try:
            writer = imageio_ffmpeg.write_frames(encoded, (first.shape[1], first.shape[0]), fps=fps, codec="libx264",
                                                 pix_fmt_out="yuv420p", quality=8, macro_block_size=1,
                                                 ffmpeg_log_level="error",
                                                 output_params=["-movflags", "+faststart", "-metadata", f"comment={comment}"])
            writer.send(None)
            try:
                for rgb in chain([first], pictures):
                    writer.send(rgb)
            finally:
                writer.close()
            with open(encoded, "rb") as video:
                shutil.copyfileobj(video, f)
        except (OSError, RuntimeError) as e:
            raise ExportError(f"{path}: ffmpeg could not encode the video ({str(e).strip()[-300:]})") from None
        finally:
            os.unlink(encoded)
    return atomic_write(path, write)


def sheet_rows(n_frames: int, rows: int = 8) -> list[int]:
    """`rows` frame indices spread evenly over the run, first and last included."""
    return sorted({int(round(v)) for v in np.linspace(0, n_frames - 1, min(rows, n_frames))})


def save_contact_sheet(path: Path, traj, rows: int = 8, show: str = "x0_hat", display_range=None, cmap: str = "grey",
                       scale: int = 3) -> Path:
    """A steps x samples sheet as one PNG: row r = frame sheet_rows()[r] (labelled with its step and
    level), column b = sample b; a caption and a colour bar."""
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
    row_height = (h + 1) * scale                   # a tile and its one-pixel gap, scaled
    caption = f"{figure.short(traj.meta.get('checkpoint') or 'run')} · {field}: rows steps, columns samples"
    sheet = figure.compose(caption, [Panel(to_rgb(mosaic, display_range, cmap, scale), field, display_range, cmap)],
                           [(r * row_height + h * scale / 2, s) for r, s in enumerate(sheet_labels(traj, idx))])
    return atomic_write(Path(path), _png_writer(sheet.rgb, text))


def sheet_labels(traj, idx: list[int]) -> list[str]:
    """A contact sheet's row labels: the step and the run's level as the window reads it (each
    frame's own level: sigma/alpha, or a Gaussian or scattering model's own), and its scale j in a
    wavelet RG run."""
    level = figure.short(traj.meta.get("level") or "σ/α", 30)
    scale = lambda f: "" if f.scale is None else f"j = {f.scale}  "
    return [f"step {k}  {scale(traj.frames[k])}{level} = {traj.frames[k].level:.3g}" for k in idx]


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
