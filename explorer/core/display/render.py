"""Rendering shared by the views and the exporters: colour maps, display ranges, the tile
geometry of a batch, and frames turned into RGB pictures. No Qt, no files."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from explorer.core.errors import ExportError, UsageError

COLORMAPS = ("grey", "diverging")
MAX_PICTURE_PIXELS = 50_000_000          # one exported picture (150 MB of RGB); a GIF: all its frames together


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
        raise UsageError(f"unknown colormap {name!r}; choose one of {', '.join(COLORMAPS)}")
    return (lut * 255).round().astype(np.uint8)


def number(value: float, spec: str) -> str:
    """`value` formatted by `spec`, without the minus sign of a value that rounds to zero ("0.0", not "-0.0")."""
    text = format(value, spec)
    return text[1:] if text.startswith("-") and float(text) == 0 else text


def default_display_range(x: np.ndarray, diverging: bool = False) -> tuple[float, float]:
    """Display range: 0.5-99.5 percentiles of the finite values (symmetric about 0 for a diverging
    map); (0, 1) when there are none."""
    x = np.asarray(x)
    x = x[np.isfinite(x)]
    if not x.size:
        return (-1.0, 1.0) if diverging else (0.0, 1.0)
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


def check_picture(pixels: int, what: str = "the picture") -> None:
    """An ExportError, before anything is drawn, for a picture over MAX_PICTURE_PIXELS."""
    if pixels > MAX_PICTURE_PIXELS:
        raise ExportError(f"{what} would have {pixels / 1e6:,.0f} million pixels, more than the "
                          f"{MAX_PICTURE_PIXELS / 1e6:.0f} million explorer draws; export fewer samples or frames")


def frame_picture_pixels(frame, show: str = "both", scale: int = 4, cols=None) -> int:
    """The pixels of `frame_panels(frame, show, ..., scale, cols)`, computed from the shapes alone."""
    b, _, h, w = np.shape(frame.x_t)
    cols = cols or int(np.ceil(np.sqrt(b)))
    rows = int(np.ceil(b / cols))
    width = cols * (w + 1) - 1
    panels = 2 * width + 2 if show == "both" else width
    return (rows * (h + 1) - 1) * panels * scale * scale


def to_rgb(img: np.ndarray, display_range: tuple[float, float], cmap: str = "grey", scale: int = 1) -> np.ndarray:
    """A mosaic (H, W) through a colormap, or (H, W, 3) by display range, to uint8 RGB; NaN gaps are white."""
    check_picture(img.shape[0] * img.shape[1] * scale * scale)
    lo, hi = display_range
    u = np.clip((img - lo) / max(hi - lo, 1e-12), 0, 1)
    gaps = np.isnan(u)
    u = np.nan_to_num(u, nan=0.0)
    rgb = colormap(cmap)[(u * 255).round().astype(np.int64)] if img.ndim == 2 else (u * 255).round().astype(np.uint8)
    if gaps.any():
        rgb[gaps if img.ndim == 2 else gaps.any(-1)] = 255
    if scale > 1:
        rgb = rgb.repeat(scale, 0).repeat(scale, 1)
    return rgb


def x_t_shown(frame, over_alpha: bool = False) -> np.ndarray:
    """A frame's x_t (B, C, H, W), or x_t / alpha(t) = x0 + (sigma/alpha) z: the data's scale."""
    x = np.asarray(frame.x_t)
    return x / np.exp(-frame.t) if over_alpha else x          # alpha(t) = e^{-t}; render needs no torch


@dataclass(frozen=True)
class Panel:
    """One picture of a figure: `rgb` (H, W, 3) uint8, its title, and the range and colour map its
    colour bar shows."""

    rgb: np.ndarray
    title: str
    display_range: tuple[float, float]
    cmap: str = "grey"


def frame_panels(frame, show: str = "both", display_range=None, cmap: str = "grey", scale: int = 4,
                 cols=None, xt_range=None, xt_over_alpha: bool = False) -> list[Panel]:
    """The panels of one frame: the x_t and x0_hat mosaics ("both"), or one of them ("x_t",
    "x0_hat"). Each panel has its own range, as on screen: x0_hat `display_range`, x_t `xt_range`
    (None: each its own robust range, default_display_range, since x_t's spread is e^{-t} x0's
    plus sigma(t) z's and at most steps far exceeds x0's). xt_over_alpha shows x_t / alpha(t) =
    x0 + (sigma/alpha) z, the data's scale."""
    check_picture(frame_picture_pixels(frame, show, scale, cols))
    ranges = {"x_t": xt_range, "x0_hat": display_range}
    panels = []
    for name in ["x_t", "x0_hat"] if show == "both" else [show]:
        x = x_t_shown(frame, xt_over_alpha) if name == "x_t" else np.asarray(frame.x0_hat)
        mosaic = tile(x, cols)
        shown = ranges[name] or default_display_range(mosaic, cmap == "diverging")
        title = "x_t / α" if name == "x_t" and xt_over_alpha else name
        panels.append(Panel(to_rgb(mosaic, shown, cmap, scale), title, shown, cmap))
    return panels


def coarse_to_fine_picture(x: np.ndarray, J: int, wavelet: str = "haar", display_range=None,
                           cmap: str = "grey", scale: int = 3) -> np.ndarray:
    """One picture: per sample a row x_J, x_{J-1}, ..., x_0 (each at full resolution, finer
    details zero). x: (B, C, H, W) final samples."""
    import torch

    from explorer.core.statistics import wavelets

    b, _, h, w = np.shape(x)
    check_picture(b * (h + 1) * (J + 1) * (w + 1) * scale * scale, "the coarse-to-fine strip")
    t = torch.as_tensor(np.asarray(x, np.float64))
    steps = [wavelets.upsample_low_pass(wavelets.wavedec(t, j, wavelet)[0], j, wavelet) if j else t
             for j in range(J, -1, -1)]
    b = t.shape[0]
    stack = torch.stack(steps, 1).reshape(b * (J + 1), *t.shape[1:]).numpy()
    display_range = display_range or default_display_range(np.asarray(x), cmap == "diverging")
    return to_rgb(tile(stack, cols=J + 1), display_range, cmap, scale)
