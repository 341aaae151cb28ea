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
from explorer.core.files import schema
from explorer.core.files.io import load_arrays

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


MAX_IMAGE_BYTES = 64 * 2 ** 20           # one image file
MAX_IMAGE_PIXELS = 40_000_000            # one decoded image (a 6000 x 6000 photograph is 36 M)
MAX_ARRAY_BYTES = 4 * 2 ** 30            # an array file, as stored and as decoded


def _open_image(path: Path):
    """A PIL image of a regular file, its size checked before decoding (a decompression bomb of a
    few kilobytes can declare 30000 x 30000 pixels)."""
    import io
    import warnings

    from PIL import Image, UnidentifiedImageError

    from explorer.core.files.io import read_regular

    blob = read_regular(path, "image", MAX_IMAGE_BYTES, DataError)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            im = Image.open(io.BytesIO(blob))
    except (OSError, UnidentifiedImageError, ValueError, Image.DecompressionBombError,
            Image.DecompressionBombWarning) as e:
        raise DataError(f"{path.name}: {e}") from None
    w, h = im.size
    if w * h > MAX_IMAGE_PIXELS or w < 1 or h < 1:
        raise DataError(f"{path.name}: {w} x {h} pixels; explorer reads images of at most "
                        f"{MAX_IMAGE_PIXELS / 1e6:.0f} million pixels")
    return im


def _load_image(path: Path, size: int, channels: int) -> np.ndarray:
    """The centred square of the image, resized to size x size, in [0, 1]: (channels, size, size)."""
    from PIL import Image

    im = _open_image(path)
    try:
        im = im.convert("L" if channels == 1 else "RGB")
        w, h = im.size
        side = min(w, h)
        left, top = (w - side) // 2, (h - side) // 2
        im = im.crop((left, top, left + side, top + side)).resize((size, size), Image.BICUBIC)
        arr = np.asarray(im, np.float32) / 255.0
    except (OSError, ValueError) as e:
        raise DataError(f"{path.name}: {e}") from None
    return arr[None] if channels == 1 else arr.transpose(2, 0, 1)


GREY_MODES = ("1", "L", "LA", "I", "I;16", "F")


def channels(path: str | Path, look_at: int = 32) -> int:
    """3 when the user's images are in colour (any of the first `look_at` images of a folder is
    not grey, or an array has 3 channels), else 1."""
    path = Path(path)
    if path.is_dir():
        for p in _image_files(path)[:look_at]:
            try:
                im = _open_image(p)
                if im.mode not in GREY_MODES and _has_colour(im):
                    return 3
            except (DataError, OSError, ValueError):
                continue
        return 1
    try:
        headers = load_arrays(path, "array", MAX_ARRAY_BYTES, DataError, headers_only=True)
    except DataError:
        return 1
    key = _images_key(list(headers))
    shape = headers[key][0] if key is not None else ()
    return 3 if len(shape) == 4 and shape[1] == 3 else 1


def _image_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)


def _has_colour(im) -> bool:
    """An RGB image whose channels differ somewhere (a grey picture saved as RGB is grey)."""
    rgb = np.asarray(im.convert("RGB").resize((32, 32)), np.int16)
    return bool(np.abs(rgb - rgb.mean(-1, keepdims=True)).max() > 2)


def _check_count(where: str, n: int, per_image: int) -> None:
    """A training set's limits, from what is known before reading: at most MAX_TRAIN_IMAGES
    images, and at most MAX_DATA_BYTES of float32 in memory (`per_image` values each)."""
    if n > schema.MAX_TRAIN_IMAGES:
        raise DataError(f"{where} holds {n:,} images; a training set has at most {schema.MAX_TRAIN_IMAGES:,} "
                        "(keep fewer)")
    need = n * per_image * 4
    if need > schema.MAX_DATA_BYTES:
        raise DataError(f"{where}: {n:,} images of {per_image:,} values are {need / 2 ** 30:,.1f} GiB of float32, "
                        f"more than the {schema.MAX_DATA_BYTES / 2 ** 30:.0f} GiB a training set may take")


def load_folder(folder: Path, size: int = 32, channels: int = 1) -> np.ndarray:
    files = _image_files(folder)
    if not files:
        raise DataError(f"{folder}: no PNG or JPEG images in this folder")
    _check_count(f"{folder}: the folder", len(files), channels * size * size)
    images, skipped = [], []
    for p in files:
        try:
            images.append(_load_image(p, size, channels))
        except DataError as e:
            skipped.append(str(e))
    if not images:
        raise DataError(f"{folder}: none of the {len(files)} images could be read (the first: {skipped[0]})")
    for s in skipped:
        print(f"explorer: skipped unreadable image {s}", file=sys.stderr)
    return np.stack(images)


def _images_key(keys: list[str]) -> str | None:
    """Which array of a file holds the images: x, data, images, arr_0, array, or the only one."""
    return next((k for k in ("x", "data", "images", "arr_0", "array") if k in keys), keys[0] if len(keys) == 1 else None)


def load_array(path: Path, size: int = 32, channels: int | None = None) -> np.ndarray:
    def check(headers: dict) -> None:
        """The images' count and size from the header, before any array is read."""
        key = _images_key(list(headers))
        if key is None:
            raise DataError(f"{path}: an .npz with " + (f"several arrays ({', '.join(headers)}); name the images 'x'"
                                                        if headers else "no arrays"))
        shape = headers[key][0]
        if len(shape) in (3, 4):
            _check_count(f"{path}: the array", int(shape[0]), int(np.prod(shape[1:], dtype=object)))

    arrays = load_arrays(path, "array", MAX_ARRAY_BYTES, DataError, check=check)
    arr = arrays[_images_key(list(arrays))]
    if arr.ndim == 3:
        arr = arr[:, None]
    if arr.ndim != 4:
        raise DataError(f"{path}: the array has shape {arr.shape}; explorer needs (N, H, W) or (N, C, H, W)")
    if arr.dtype.kind not in "fiub":
        raise DataError(f"{path}: the array has dtype {arr.dtype}, not real numbers")
    if 0 in arr.shape:
        raise DataError(f"{path}: the array has shape {arr.shape}: no images")
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
