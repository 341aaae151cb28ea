"""A user's own data: a folder of PNG/JPEG images, or a .npy/.npz array.

Images are converted to grey (channels = 1) or RGB (3), resized so the shorter side is `size`
and centre-cropped, and scaled to [0, 1]. Unreadable images are reported by name on stderr and
skipped. Arrays must be (N, H, W) or (N, C, H, W), finite, with H = W = size; they are used as
they are (the model's units are the array's units). Result: (N, C, size, size) float32.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from explorer.core.errors import DataError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


def _load_image(path: Path, size: int, channels: int) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            im = im.convert("L" if channels == 1 else "RGB")
            w, h = im.size
            scale = size / min(w, h)
            im = im.resize((max(size, round(w * scale)), max(size, round(h * scale))), Image.BICUBIC)
            w, h = im.size
            left, top = (w - size) // 2, (h - size) // 2
            arr = np.asarray(im.crop((left, top, left + size, top + size)), np.float32) / 255.0
    except (OSError, UnidentifiedImageError, ValueError) as e:
        raise DataError(f"{path.name}: {e}") from None
    return arr[None] if channels == 1 else arr.transpose(2, 0, 1)


GREY_MODES = ("1", "L", "LA", "I", "I;16", "F")


def channels(path: str | Path, look_at: int = 32) -> int:
    """3 when the user's images are in colour (any of the first `look_at` images of a folder is
    not grey, or an array has 3 channels), else 1."""
    path = Path(path)
    if path.is_dir():
        from PIL import Image
        for p in sorted(q for q in path.iterdir() if q.suffix.lower() in IMAGE_SUFFIXES)[:look_at]:
            try:
                with Image.open(p) as im:
                    if im.mode not in GREY_MODES and _has_colour(im):
                        return 3
            except OSError:
                continue
        return 1
    try:
        arr = np.load(path, mmap_mode="r", allow_pickle=False) if path.suffix == ".npy" else None
    except (OSError, ValueError):
        return 1
    return 3 if arr is not None and arr.ndim == 4 and arr.shape[1] == 3 else 1


def _has_colour(im) -> bool:
    """An RGB image whose channels differ somewhere (a grey picture saved as RGB is grey)."""
    rgb = np.asarray(im.convert("RGB").resize((32, 32)), np.int16)
    return bool(np.abs(rgb - rgb.mean(-1, keepdims=True)).max() > 2)


def load_folder(folder: Path, size: int = 32, channels: int = 1) -> np.ndarray:
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise DataError(f"{folder}: no PNG or JPEG images in this folder")
    images, skipped = [], []
    for p in files:
        try:
            images.append(_load_image(p, size, channels))
        except DataError as e:
            skipped.append(str(e))
    for s in skipped:
        print(f"explorer: skipped unreadable image {s}", file=sys.stderr)
    if not images:
        raise DataError(f"{folder}: none of the {len(files)} images could be read")
    return np.stack(images)


def load_array(path: Path, size: int = 32, channels: int | None = None) -> np.ndarray:
    try:
        z = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as e:
        raise DataError(f"{path}: not a readable .npy/.npz array ({e})") from None
    if isinstance(z, np.lib.npyio.NpzFile):
        with z:
            keys = z.files
            key = next((k for k in ("x", "data", "images", "arr_0") if k in keys), keys[0] if len(keys) == 1 else None)
            if key is None:
                raise DataError(f"{path}: an .npz with several arrays ({', '.join(keys)}); name the images 'x'")
            z = z[key]
    arr = np.asarray(z)
    if arr.ndim == 3:
        arr = arr[:, None]
    if arr.ndim != 4:
        raise DataError(f"{path}: the array has shape {arr.shape}; explorer needs (N, H, W) or (N, C, H, W)")
    if not np.issubdtype(arr.dtype, np.number):
        raise DataError(f"{path}: the array has dtype {arr.dtype}, not numbers")
    arr = arr.astype(np.float32)
    bad = int((~np.isfinite(arr)).sum())
    if bad:
        raise DataError(f"{path}: the array holds {bad} NaN or infinite values")
    if arr.shape[-1] != size or arr.shape[-2] != size:
        raise DataError(f"{path}: images are {arr.shape[-2]}x{arr.shape[-1]}, the model needs {size}x{size} (--size)")
    if channels is not None and arr.shape[1] != channels:
        raise DataError(f"{path}: images have {arr.shape[1]} channels, the model needs {channels} (--channels)")
    return arr


def load(path: str | Path, size: int = 32, channels: int = 1) -> np.ndarray:
    """(N, C, size, size) float32 from a folder of images or an array file."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such file or folder")
    if path.is_dir():
        return load_folder(path, size, channels)
    if path.suffix.lower() in (".npy", ".npz"):
        return load_array(path, size, channels)
    raise DataError(f"{path}: give a folder of PNG/JPEG images or a .npy/.npz array")
