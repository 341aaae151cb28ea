"""The cosmic web: a thin slab of the matter density today, by the truncated Zel'dovich approximation.

A Gaussian linear density field delta_L with the LCDM linear power spectrum P_L(k, z) (colossus:
Planck 2018 parameters, Eisenstein & Hu 1998 transfer function) in a periodic box L x L x L_z
(Mpc/h), on a lattice of SUB N x SUB N x N_z points (spacing b = L/(SUB N) across, b_z = L_z/N_z
deep, N_z = max(2, round(L_z/a))), for an N x N grid of cells a = L/N:
    delta_L_hat(k) = w_hat(k) sqrt(P_L(|k|) / (b^2 b_z)),  w white noise of unit variance per point.
Truncated Zel'dovich (Coles, Melott & Shandarin 1993): delta_L is smoothed by exp(-k^2 / 2 k_G^2)
with k_G = k_NL, where 4 pi int_0^k_NL P_L(k) k^2 dk / (2 pi)^3 = 1; this keeps the shell crossing
that Zel'dovich gets wrong from washing out the filaments. One particle per lattice point q (SUB^2
per cell and layer, so that the spread particles of the voids still fill every cell) moves to
    x = q + Psi(q),  Psi_hat(k) = i k delta_hat(k) / |k|^2   (delta = -div Psi to first order).
The slab is projected along z and the particles are deposited on the N x N grid by cloud-in-cell:
1 + delta = mass / mean mass per cell. The field is log(1 + delta), floored at log(1e-3).

Independent fields: field i of seed s draws its white noise from the generator seeded (s, i).
"""
from __future__ import annotations

import functools

import numpy as np

DEFAULTS = {"size": 64, "box": 256.0, "depth": 16.0, "z": 0.0}
FLOOR = 1e-3                         # the smallest 1 + delta kept before the log
SUB = 2                              # particles per cell side


@functools.lru_cache(maxsize=4)
def _cosmology():
    from colossus.cosmology import cosmology

    return cosmology.setCosmology("planck18", persistence="")     # no cache file written anywhere


def linear_power(k: np.ndarray, z: float = 0.0) -> np.ndarray:
    """P_L(k, z) in (Mpc/h)^3 at wavenumbers k in h/Mpc (k = 0 gives 0)."""
    k = np.asarray(k, np.float64)
    out = np.zeros_like(k)
    pos = k > 0
    out[pos] = _cosmology().matterPowerSpectrum(k[pos], z)
    return out


def nonlinear_wavenumber(z: float = 0.0) -> float:
    """k_NL (h/Mpc): 4 pi int_0^k_NL P_L(k, z) k^2 dk / (2 pi)^3 = 1 (the variance of delta_L
    below k_NL reaches one)."""
    k = np.logspace(-4, 2, 4000)
    var = np.concatenate([[0.0], np.cumsum(np.diff(k) * 0.5 * ((linear_power(k, z) * k ** 2)[1:]
                                                                 + (linear_power(k, z) * k ** 2)[:-1]))])
    var *= 4 * np.pi / (2 * np.pi) ** 3
    if var[-1] < 1:
        return float(k[-1])
    return float(np.interp(1.0, var, k))


def check(size: int, box: float, depth: float, z: float) -> None:
    """The parameters as the data record checks them (`data.check_record`)."""
    from explorer.core.data import check_record

    check_record({"name": "cosmic_web", "n": 1, "params": {"size": size, "box": box, "depth": depth, "z": z}},
                 "the cosmic web")


@functools.lru_cache(maxsize=8)
def _lattice(size: int, box: float, depth: float, z: float) -> tuple[np.ndarray, np.ndarray, int]:
    """(amplitude sqrt(P_L / b^2 b_z) x smoothing on the lattice's rfft grid, i k / |k|^2 for x and
    y stacked (2, ...), N_z)."""
    n, b = SUB * size, box / (SUB * size)
    nz = max(2, round(depth * size / box))
    kx = 2 * np.pi * np.fft.fftfreq(n, d=b)
    kz = 2 * np.pi * np.fft.rfftfreq(nz, d=depth / nz)
    KX, KY, KZ = np.meshgrid(kx, kx, kz, indexing="ij")
    k2 = KX ** 2 + KY ** 2 + KZ ** 2
    k_g = nonlinear_wavenumber(z)
    amp = np.sqrt(linear_power(np.sqrt(k2), z) / (b * b * depth / nz)) * np.exp(-k2 / (2 * k_g ** 2))
    inv = np.where(k2 > 0, 1.0 / np.where(k2 > 0, k2, 1.0), 0.0)
    return amp, np.stack([1j * KX * inv, 1j * KY * inv]), nz


def density(rng: np.random.Generator, size: int = 64, box: float = 256.0, depth: float = 16.0,
            z: float = 0.0) -> np.ndarray:
    """1 + delta of one projected slab: (size, size) float64, mean 1."""
    amp, grad, nz = _lattice(size, box, depth, z)
    n, a = SUB * size, box / size
    delta_hat = np.fft.rfftn(rng.standard_normal((n, n, nz))) * amp
    psi = [np.fft.irfftn(delta_hat * g, s=(n, n, nz), axes=(0, 1, 2)) for g in grad]  # the x and y displacements
    q = (np.arange(n, dtype=np.float64) + 0.5) / SUB - 0.5                          # lattice points, in cells
    x = (q[:, None, None] + psi[0] / a) % size
    y = (q[None, :, None] + psi[1] / a) % size
    i, j = np.floor(x).astype(np.int64), np.floor(y).astype(np.int64)
    fx, fy = x - i, y - j
    mass = np.zeros(size * size)
    for di, wx in ((0, 1 - fx), (1, fx)):
        for dj, wy in ((0, 1 - fy), (1, fy)):
            cell = ((i + di) % size) * size + (j + dj) % size
            mass += np.bincount(cell.ravel(), (wx * wy).ravel(), minlength=size * size)
    return (mass / (nz * SUB * SUB)).reshape(size, size)


def samples(seed: int, start: int, count: int, size: int = 64, box: float = 256.0, depth: float = 16.0,
            z: float = 0.0) -> np.ndarray:
    """Fields start .. start + count - 1 of `seed`: log(1 + delta), (count, 1, size, size) float32."""
    check(size, box, depth, z)
    out = np.empty((count, 1, size, size), np.float32)
    for n in range(count):
        rho = density(np.random.default_rng((seed, start + n)), size, box, depth, z)
        out[n, 0] = np.log(np.maximum(rho, FLOOR))
    return out
