"""Orthonormal 2-D wavelet transform on batched torch tensors, periodic boundary.

One level maps x_{j-1}: (B, C, n, n) to the low-pass x_j: (B, C, n/2, n/2) and the details
xbar_j: (B, 3C, n/2, n/2) (for each channel c, the bands H, V, D at 3c, 3c+1, 3c+2):

    x_j = L X L^T,   H-band = G X L^T,   V-band = L X G^T,   D-band = G X G^T,

with L, G: (n/2, n) the periodised low- and high-pass analysis operators of a PyWavelets
orthogonal wavelet, built by applying `pywt.dwt(..., mode="periodization")` to the unit vectors,
so that the coefficients equal `pywt.wavedec2(..., mode="periodization")` exactly. [L; G] is an
orthogonal matrix, so synthesis is X = L^T x_j L + G^T H L + L^T V G + G^T D G and the transform
preserves energy. Matrices are cached per (wavelet, n, device, dtype); any device works.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
import pywt
import torch

from explorer.core.errors import ExplorerError

ORTHOGONAL = tuple(w for w in pywt.wavelist(kind="discrete") if pywt.Wavelet(w).orthogonal)   # haar, db2, sym4, ...


@lru_cache(maxsize=64)
def _operators_np(name: str, n: int) -> tuple[np.ndarray, np.ndarray]:
    try:
        w = pywt.Wavelet(name)
    except ValueError:
        raise ExplorerError(f"unknown wavelet {name!r}; PyWavelets knows e.g. haar, db2, db4, sym4") from None
    if not w.orthogonal:
        raise ExplorerError(f"wavelet {name!r} is not orthogonal; choose haar, dbN, symN or coifN")
    if n % 2:
        raise ExplorerError(f"the image size {n} must be even at every level of the transform")
    eye = np.eye(n)
    lo, hi = pywt.dwt(eye, w, mode="periodization", axis=1)       # row k = transform of e_k
    return lo.T.astype(np.float64), hi.T.astype(np.float64)


def operators(name: str, n: int, device=None, dtype=torch.float32) -> tuple[torch.Tensor, torch.Tensor]:
    """(L, G): the (n/2, n) analysis operators of wavelet `name` on signals of length n."""
    lo, hi = _operators_np(name, n)
    return (torch.as_tensor(lo, dtype=dtype, device=device), torch.as_tensor(hi, dtype=dtype, device=device))


def analysis(x: torch.Tensor, wavelet: str = "haar") -> tuple[torch.Tensor, torch.Tensor]:
    """One level: x (B, C, n, n) -> (low (B, C, n/2, n/2), detail (B, 3C, n/2, n/2))."""
    b, c, h, w = x.shape
    lh, gh = operators(wavelet, h, x.device, x.dtype)
    lw, gw = operators(wavelet, w, x.device, x.dtype)
    rows_lo, rows_hi = lh @ x, gh @ x                                # along axis -2
    low = rows_lo @ lw.T
    bands = torch.stack([rows_hi @ lw.T, rows_lo @ gw.T, rows_hi @ gw.T], dim=2)   # H, V, D
    return low, bands.reshape(b, 3 * c, h // 2, w // 2)


def synthesis(low: torch.Tensor, detail: torch.Tensor, wavelet: str = "haar") -> torch.Tensor:
    """Inverse of `analysis`: (B, C, m, m), (B, 3C, m, m) -> (B, C, 2m, 2m)."""
    b, c, m, _ = low.shape
    lh, gh = operators(wavelet, 2 * m, low.device, low.dtype)
    d = detail.reshape(b, c, 3, m, m)
    return lh.T @ (low @ lh + d[:, :, 1] @ gh) + gh.T @ (d[:, :, 0] @ lh + d[:, :, 2] @ gh)


def wavedec(x: torch.Tensor, levels: int, wavelet: str = "haar") -> tuple[torch.Tensor, list[torch.Tensor]]:
    """J levels: x -> (x_J, [detail_J, ..., detail_1]) (the order of pywt.wavedec2)."""
    if x.shape[-1] % (2 ** levels) or x.shape[-2] % (2 ** levels):
        raise ExplorerError(f"an image of {tuple(x.shape[-2:])} cannot be halved {levels} times")
    details = []
    for _ in range(levels):
        x, d = analysis(x, wavelet)
        details.insert(0, d)
    return x, details


def waverec(low: torch.Tensor, details: list[torch.Tensor], wavelet: str = "haar") -> torch.Tensor:
    """Inverse of wavedec."""
    for d in details:
        low = synthesis(low, d, wavelet)
    return low


def upsample_low_pass(low: torch.Tensor, levels: int, wavelet: str = "haar") -> torch.Tensor:
    """The image whose level-`levels` low-pass is `low` and whose finer details are zero
    (W^{-1}(x_j, 0, ..., 0)): the reconstruction "so far" at full resolution."""
    for _ in range(levels):
        b, c, m, _ = low.shape
        low = synthesis(low, low.new_zeros(b, 3 * c, m, m), wavelet)
    return low


def pyramid(x: torch.Tensor, levels: int, wavelet: str = "haar") -> list[dict]:
    """What the scale view shows, for x (B, C, n, n): per scale j = 1..levels, the low-pass
    x_j (B, C, n/2^j, n/2^j), its detail bands (B, 3C, ...) and x_{j-1} reconstructed from
    (x_j, xbar_j) at full resolution (finer details zero); entry j - 1 of the list."""
    out, xj = [], x
    for j in range(1, levels + 1):
        low, detail = analysis(xj, wavelet)
        out.append({"scale": j, "low": low, "detail": detail, "reconstruction": upsample_low_pass(xj, j - 1, wavelet)})
        xj = low
    return out
