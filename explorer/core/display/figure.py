"""Figures ready for slides: rendered panels (`render.Panel`) with a caption, a title over each
panel, a colour bar with its numbers beside each, and row labels, in a TrueType font large enough
to read at the picture's own size. Every exporter draws through here (frame PNG, GIF, contact
sheet, video). No Qt, no files."""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable, Iterable, Iterator

import numpy as np

from explorer.core.display.render import Panel, colormap, frame_panels, number

LABEL_PX = 20                 # the font's size in pixels: its capitals are about 15 px tall
NAME_CHARS = 60               # a model name longer than this is cut in a caption
PLAIN = {"·": "-", "×": "x", "−": "-", "…": "..."}   # what a font without these glyphs writes instead


@dataclass(frozen=True)
class Figure:
    """A composed picture: rgb (H, W, 3) uint8, and where each panel lies in it: boxes[i] =
    (top, left, height, width) of panels[i]."""

    rgb: np.ndarray
    boxes: tuple[tuple[int, int, int, int], ...]


@lru_cache(maxsize=8)
def label_font(px: int = LABEL_PX):
    """A scalable font `px` pixels high: DejaVu Sans where the system has it (it draws σ and α),
    else Pillow's own (which does not: `drawable` then writes "sigma" and "alpha")."""
    from PIL import ImageFont

    try:
        return ImageFont.truetype("DejaVuSans.ttf", px)
    except OSError:
        return ImageFont.load_default(size=px)


@lru_cache(maxsize=4096)
def _has_glyph(font, c: str) -> bool:
    """Whether `font` draws `c` as itself, not as its missing-glyph box."""
    return bytes(font.getmask(c)) != bytes(font.getmask("\uffff")) or c.isspace()


def drawable(text: str, font) -> str:
    """`text` with each character the font cannot draw replaced: a Greek letter by its name
    (σ -> sigma), a few signs by ASCII, control characters and anything else by '?'."""
    out = []
    for c in text:
        if unicodedata.category(c)[0] == "C":
            out.append("?")
        elif c.isascii() or _has_glyph(font, c):
            out.append(c)
        elif unicodedata.name(c, "").startswith("GREEK"):
            out.append(unicodedata.name(c).split()[-1].lower())
        else:
            out.append(PLAIN.get(c, "?"))
    return "".join(out)


def short(name: object, limit: int = NAME_CHARS) -> str:
    """A name for a caption: at most `limit` characters, cut with an ellipsis."""
    name = str(name)
    return name if len(name) <= limit else name[:limit - 1] + "…"


def ticks(lo: float, hi: float, most: int) -> list[float]:
    """At most `most` round values (1, 2, 2.5 or 5 x 10^k apart) in [lo, hi]; lo and hi when
    fewer than two fit."""
    if not hi > lo:
        return [lo]
    for step in sorted(m * 10.0 ** e for e in range(int(np.floor(np.log10((hi - lo) / most))) - 1,
                                                    int(np.ceil(np.log10(hi - lo))) + 1) for m in (1, 2, 2.5, 5)):
        first, last = int(np.ceil(lo / step - 1e-9)), int(np.floor(hi / step + 1e-9))
        if last - first + 1 <= most:
            values = [k * step for k in range(first, last + 1)]
            return values if len(values) >= 2 else [lo, hi]
    return [lo, hi]


def _bar(height: int, width: int, display_range: tuple[float, float], cmap: str) -> np.ndarray:
    """A vertical colour bar (height, width, 3): the top colour is the range's high end."""
    u = np.linspace(1.0, 0.0, height)
    column = colormap(cmap)[(u * 255).round().astype(np.int64)]
    return np.repeat(column[:, None], width, 1)


def compose(caption: str, panels: list[Panel], row_labels: Iterable[tuple[float, str]] = (),
            px: int | None = None) -> Figure:
    """The panels side by side on white, each with its title above and its colour bar (ticks and
    numbers) on its right, a caption line on top, and `row_labels` (y within the panels, text) on
    the left. px: the font size, by default LABEL_PX, more for large panels (1/25 of their height)."""
    from PIL import Image, ImageDraw

    px = px or max(LABEL_PX, round(max(p.rgb.shape[0] for p in panels) / 25))
    font = label_font(px)
    ascent, descent = font.getmetrics()
    line = ascent + descent
    pad, bar_w, tick = px // 2, max(8, round(0.7 * px)), max(4, px // 4)
    measure = ImageDraw.Draw(Image.new("RGB", (1, 1))).textlength
    caption = drawable(caption, font)
    rows = [(y, drawable(s, font)) for y, s in row_labels]
    left = pad + (max(int(measure(s, font=font)) for _, s in rows) + pad if rows else 0)
    top = pad + line + pad + line + pad // 2          # caption, then the panels' titles
    layout, x = [], left
    for p in panels:
        h, w = p.rgb.shape[:2]
        lo, hi = p.display_range
        values = ticks(lo, hi, max(3, round(h / (1.5 * line))))
        labels = [drawable(number(v, ".3g"), font) for v in values]      # 3 significant digits, never "-0"
        bar_x = x + w + pad // 2
        layout.append((p, x, bar_x, values, labels))
        x = bar_x + bar_w + tick + 2 + max(int(measure(s, font=font)) for s in labels) + px
    width = max(x - px + pad, 2 * pad + int(measure(caption, font=font)))
    height = top + max(p.rgb.shape[0] for p in panels) + line // 2 + pad
    canvas = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(canvas)
    draw.text((pad, pad), caption, fill="black", font=font)
    boxes = []
    for p, x, bar_x, values, labels in layout:
        h, w = p.rgb.shape[:2]
        canvas.paste(Image.fromarray(p.rgb), (x, top))
        boxes.append((top, x, h, w))
        draw.text((x + w / 2, top - pad // 4), drawable(p.title, font), fill="black", font=font, anchor="md")
        canvas.paste(Image.fromarray(_bar(h, bar_w, p.display_range, p.cmap)), (bar_x, top))
        draw.rectangle((bar_x - 1, top - 1, bar_x + bar_w, top + h), outline=(90, 90, 90))
        lo, hi = p.display_range
        for v, s in zip(values, labels):
            y = top + (h - 1) * ((hi - v) / (hi - lo) if hi > lo else 0.5)
            draw.line((bar_x + bar_w, y, bar_x + bar_w + tick, y), fill="black", width=max(1, px // 12))
            draw.text((bar_x + bar_w + tick + 2, y), s, fill="black", font=font, anchor="lm")
    for y, s in rows:
        draw.text((pad, top + y), s, fill="black", font=font, anchor="lm")
    return Figure(np.asarray(canvas), tuple(boxes))


def frame_caption(meta: dict, frame, index: int, n_frames: int) -> str:
    """'MODEL · SAMPLER · step k/last [· scale j] · LEVEL = value': what a frame's picture shows."""
    parts = [short(meta.get("checkpoint") or "run"), short(meta.get("sampler") or "", 20),
             f"step {index}/{n_frames - 1}", f"scale j = {frame.scale}" if frame.scale is not None else "",
             f"{short(meta.get('level') or 'σ/α', 30)} = {frame.level:.3g}"]
    return " · ".join(p for p in parts if p)


def frame_figure(traj, index: int, show: str = "both", display_range=None, cmap: str = "grey", scale: int = 4,
                 xt_range=None, xt_over_alpha: bool = False) -> Figure:
    """Frame `index` of a run as a captioned figure: the panels of `render.frame_panels` (same
    arguments), titled, each with its colour bar."""
    frame = traj.frames[index]
    panels = frame_panels(frame, show, display_range, cmap, scale, xt_range=xt_range, xt_over_alpha=xt_over_alpha)
    return compose(frame_caption(traj.meta, frame, index, len(traj.frames)), panels)


def uniform(picture: Callable[[int], np.ndarray], indices: list[int], even: bool = False) -> Iterator[np.ndarray]:
    """picture(k) for each k of `indices`, each padded with white on the right and below to the
    size of the largest (numbers and captions change the width from frame to frame; a GIF or a
    video needs one size); even: both sides even (H.264 in yuv420p). Two passes, one picture in
    memory at a time."""
    h, w = 0, 0
    for k in sorted(set(indices)):
        ph, pw = picture(k).shape[:2]
        h, w = max(h, ph), max(w, pw)
    h, w = (h + h % 2, w + w % 2) if even else (h, w)
    last, out = None, None
    for k in indices:
        if k != last:                                   # a frame held for several video frames: drawn once
            rgb = picture(k)
            out = np.full((h, w, 3), 255, np.uint8)
            out[:rgb.shape[0], :rgb.shape[1]] = rgb
            last = k
        yield out
