"""Scattering spectra (Morel et al. 2023; Cheng et al., *Scattering spectra models for physics*).

Wavelets psi_lambda, lambda = (j, l), j = 0..J-1 (0 finest), l = 0..L-1 (angles pi l / L), on
the periodic H x W grid, given in Fourier. For fields x: (B, H, W), with spatial averages <.>:

    mean = <x>, absolute = <|x|>, square = <x^2>   (the one-point law: phi^4's double well)
    moment3 = <x^3>, moment4 = <x^4>                       (optional, `moments` = 4: a skewed law's tails)
    lowpass = <|x * phi_J - <x>|^2>                        (the power below the coarsest wavelet)
    S1(l) = <|x * psi_l|>                                  (sparsity)
    S2(l) = <|x * psi_l|^2>                                (the power spectrum in bands)
    S3(l1, l2) = <(x * psi_l1) conj(|x * psi_l2| * psi_l1)>,        j1 >= j2
    S4(l1, l2, l3) = <(|x * psi_l1| * psi_l3) conj(|x * psi_l2| * psi_l3)>,   j1 <= j2 <= j3

    spectrum(k) = P(k) = <|xhat(q)|^2> / (H W) over the shell round(|q|) = k, k = 1..shells

(psi_hat(0) = 0, so S3 and S4 are covariances.) The spectrum is optional (`shells`, 0: none): one
S2 per octave leaves the power's shape inside each octave free, and a microcanonical model of
turbulence matched to the wavelet statistics alone misses P(k) by 12-16 % inside octaves; the
power of each shell is the spectrum constraint of Liu, Gousseau and Xia (2016) added to a wavelet
model, a few dozen numbers more. It is linear in the power, as S2 is: log P(k) instead would ask
each field for the data's geometric mean power and S2 for its arithmetic mean, which disagree on
shells of few modes, and L-BFGS then stalls (a loss 4x higher after 40 iterations at 16 x 16). S3 and S4 are computed in Fourier,
sum_w xhat(w) conj(Mhat_l2(w)) psi_hat_l1(w)^2 / (H W)^2, over the frequencies where the
outer wavelet is not negligible (psi_hat^2 > SUPPORT); S1 = Mhat(0) / (H W) and S2, lowpass by
Parseval. Every product is at full size: the moduli |x * psi| are not band-limited, and computed
on a grid 2x coarser than the full one, even at the coarsest scale of 64 x 64, J = 5, their S1
moved by 5e-5 (relative; 6e-2 at j = 0), far above round-off. Normalised by the reference power sigma2(l) (the data's S2):
S1 / sigma, S2 / sigma2, S3 and S4 / (sigma_l1 sigma_l2), P(k) by the data's mean P(k); the
one-point statistics are left as they are.

Reductions (`ScatteringConfig`): isotropic: average over a common rotation of all the angles,
keeping the angle differences; the rotation by pi maps x * psi_l to its conjugate (psi_hat is
real and psi_{l+L} = conj psi_l), so averaged over the full circle only the real parts of S3 and
S4 remain: those are kept. scale_invariant: S3 and S4 depend only on scale differences (averaged
over the scale j1). S4(l1, l2) = conj S4(l2, l1) is counted once. J = 5, L = 4 at 64 x 64 gives
4 + 5 + 5 + 60 + 470 = 544 numbers isotropic, 4 + 5 + 5 + 20 + 210 = 244 with both reductions
(4044 with neither; J = 4, L = 4 at 32 x 32: 312 isotropic, 164 with both); the spectrum adds
one number per shell (21 for turbulence at 64 x 64, which resolves |k| <= 21).
Everything is batched, in the dtype of x, and differentiable.
"""
from __future__ import annotations

import functools
import math
from dataclasses import asdict, dataclass

import numpy as np
import torch

from explorer.core.errors import ConfigError, ExplorerError
from explorer.core.statistics.stats import shells

SUPPORT = 1e-8          # frequencies where max_l psi_hat^2 of the outer wavelet is below this are left out
CHUNK = 2 ** 18          # complex numbers per FFT of the moduli (4 MiB in float64), `_Moduli`
MAX_BYTES = 4 * 2 ** 30  # the filter bank, its reduction and one field's statistics with their gradients (`memory`)
KINDS = ("mean", "absolute", "square", "moment3", "moment4", "lowpass", "S1", "S2", "S3", "S4", "spectrum")
OPTIONAL_KINDS = ("moment3", "moment4")      # left out of a description where a model has none


@dataclass(frozen=True)
class ScatteringConfig:
    """The filter bank (size, J scales, L angles), the reductions of the statistics, the
    shells k = 1..shells whose power P(k) is matched too (0: none; None, before a model is fitted:
    every shell its data resolve, `scattering_model.resolved_shells`), and the highest one-point
    moment <x^p> (2: <x>, <|x|>, <x^2>; 4: <x^3> and <x^4> too)."""

    size: int
    J: int
    L: int = 4
    isotropic: bool = True
    scale_invariant: bool = False
    shells: int | None = 0
    moments: int = 2

    def to_dict(self) -> dict:
        """The config as a model file records it; moments only where it is not 2, so that a file of
        the statistics every explorer computes opens in explorers older than `moments`."""
        d = asdict(self)
        if d["moments"] == 2:
            del d["moments"]
        return d

    @classmethod
    def from_dict(cls, d: object, where: str, error: type[ExplorerError] = ConfigError) -> "ScatteringConfig":
        """Checked: size 8..256, 1 <= J with 2^J <= size, L in 1..16, the reductions true or false,
        shells 0..size/2, moments 2 or 4."""
        from explorer.core.files import schema

        if not isinstance(d, dict):
            raise error(f"{where} must be an object")
        unknown = sorted(set(d) - {"size", "J", "L", "isotropic", "scale_invariant", "shells", "moments"})
        if unknown:
            raise error(f"{where}: unknown entries {unknown[:3]}")
        size = schema.value(d, "size", int, where, error, lo=8, hi=256)
        J = schema.value(d, "J", int, where, error, lo=1, hi=int(math.log2(size)))
        config = cls(size, J, schema.value(d, "L", int, where, error, lo=1, hi=16, default=4),
                     schema.value(d, "isotropic", bool, where, error, default=True),
                     schema.value(d, "scale_invariant", bool, where, error, default=False),
                     schema.value(d, "shells", int, where, error, lo=0, hi=size // 2, default=0),
                     schema.value(d, "moments", int, where, error, lo=2, hi=4, default=2))
        if config.moments == 3:
            raise error(f"{where}: 'moments' must be 2 or 4")
        check_memory(config, where, error)
        return config

    def raw_count(self) -> int:
        """R, the raw statistics before reduction: 4 one-point (6 with moments 4), S1 and S2 (J L
        each), S3 (L^2 J(J+1)/2), S4 (L^3 (J+2)(J+1)J/6)."""
        J, L = self.J, self.L
        return 2 + self.moments + 2 * J * L + L * L * J * (J + 1) // 2 + L ** 3 * (J + 2) * (J + 1) * J // 6

    def memory(self) -> tuple[int, int]:
        """(bytes of the filter bank with its reduction, bytes of one field's statistics with their
        gradients), float64, from size, J, L alone (nothing is built): an upper bound that takes
        every outer wavelet's support to be the whole half-plane. The bank: the filters and their
        squares (J L H W), the outer weights (2 J L x 2S), the shells' means, and per raw statistic
        its key, group, weight and normaliser. One field: its FFTs and the J L moduli (5 J L H W),
        their half-plane transforms, and per outer scale j (K_j = (j + 1) L moduli) the S3 and S4
        products, whose largest term is the (L, K_j, 2S) product of the S4 contraction; twice that
        for the backward pass (and the imaginary parts when anisotropic)."""
        J, L, size = self.J, self.L, self.size
        K, P, S2 = J * L, size * size, 2 * size * (size // 2 + 1)
        shells = size // 2 if self.shells is None else self.shells
        parts = 1 if self.isotropic else 2
        bank = 8 * (2 * K * P + 4 * P + 2 * J * L * S2 + shells * P) + 600 * self.raw_count()
        scales = sum(parts * (3 * (j + 1) * L * S2 + L * (j + 1) * L * S2 + L * ((j + 1) * L) ** 2 + L * S2)
                     for j in range(J))
        one = 2 * 8 * (6 * P + 5 * K * P + (1 + parts) * K * S2 + scales)
        return bank, one


def check_memory(config: ScatteringConfig, where: str, error: type[ExplorerError] = ConfigError) -> None:
    """Refuse, before anything is built, a bank whose filters and one field's statistics need more than MAX_BYTES."""
    bank, one = config.memory()
    if bank + one > MAX_BYTES:
        raise error(f"{where}: scattering spectra of J = {config.J}, L = {config.L} on {config.size} x {config.size}"
                    f"{'' if config.isotropic else ' (anisotropic)'} need about {(bank + one) / 2 ** 30:.1f} GiB "
                    f"(filters {bank / 2 ** 30:.2f} GiB, one field's statistics {one / 2 ** 30:.2f} GiB); explorer's "
                    f"limit for a scattering model is {MAX_BYTES / 2 ** 30:.0f} GiB: use a smaller J, L or size")


def batch_for(config: ScatteringConfig, grad: bool = False, most: int = 128) -> int:
    """How many fields' statistics fit in MAX_BYTES beside the bank at once (without gradients: half)."""
    bank, one = config.memory()
    return max(1, min(most, (MAX_BYTES - bank) // (one if grad else max(1, one // 2))))


def reflect(a: np.ndarray) -> np.ndarray:
    """a(-w) on the FFT grid."""
    return np.roll(a[..., ::-1, ::-1], 1, axis=(-2, -1))


@functools.lru_cache(maxsize=8)
def filter_bank(size: int, J: int, L: int) -> tuple[np.ndarray, np.ndarray, tuple[float, float]]:
    """(psi_hat (J, L, size, size), phi_hat (size, size), the raw Littlewood-Paley range), float64.

    kymatio's Morlet bank (`kymatio.scattering2d.filter_bank`, angle of l: (L/2 - 1 - l) pi / L)
    is made for the scattering transform: its Littlewood-Paley sum
    A(w) = |phi_hat(w)|^2 + 1/2 sum_lambda (|psi_hat_lambda(w)|^2 + |psi_hat_lambda(-w)|^2)
    (real fields see w and -w together) runs from 0.13 (the corners of the frequency square) to
    1.0 at 64 x 64, J = 5, L = 4. Every filter is divided by sqrt(A): a tight frame, A = 1. A is
    invariant under the grid's rotations by pi/2 and pi, so the bank stays a rotated family."""
    # kymatio's own filters at full resolution (its `filter_bank` also periodizes every filter to
    # coarser grids in Python loops, 29 s at 256 x 256, J = 8, L = 16; only level 0 is used here)
    from kymatio.scattering2d.filter_bank import gabor_2d, morlet_2d
    from scipy.fft import fft2

    check_memory(ScatteringConfig(size, J, L), "the filter bank")
    psi = np.empty((J, L, size, size), np.float64)
    for j in range(J):
        for theta in range(L):
            psi[j, theta] = np.real(fft2(morlet_2d(size, size, 0.8 * 2 ** j, (int(L - L / 2 - 1) - theta) * np.pi / L,
                                                   3.0 / 4.0 * np.pi / 2 ** j, 4.0 / L)))
    phi = np.real(fft2(gabor_2d(size, size, 0.8 * 2 ** (J - 1), 0, 0))).astype(np.float64)
    lp = littlewood_paley(psi, phi)
    norm = np.sqrt(lp)
    return psi / norm, phi / norm, (float(lp.min()), float(lp.max()))


def littlewood_paley(psi: np.ndarray, phi: np.ndarray) -> np.ndarray:
    """A(w) = |phi_hat|^2 + 1/2 sum_lambda (|psi_hat_lambda(w)|^2 + |psi_hat_lambda(-w)|^2): (H, W)."""
    sq = (psi ** 2).reshape(-1, *psi.shape[-2:]).sum(0)
    return phi ** 2 + 0.5 * (sq + reflect(sq))


class ScatteringSpectra:
    """Phi(x) of `config`. `raw(x)`: the complex statistics (B, R) before reduction (isotropic:
    the imaginary parts, which the reduction drops, are not computed and left 0); `power(x)`:
    S2 (B, J, L); `spectrum(x)`: P(k) (B, shells); `__call__(x, sigma2, spectrum)`: normalised
    and reduced, with the spectrum last, real (B, count)."""

    def __init__(self, config: ScatteringConfig):
        self.config = c = config
        check_memory(c, "the scattering spectra")
        psi, phi, self.lp_raw = filter_bank(c.size, c.J, c.L)
        self.lp = littlewood_paley(psi, phi)
        K, L, half = c.J * c.L, c.L, c.size // 2 + 1
        psi = psi.reshape(K, c.size, c.size)
        self.psi = torch.from_numpy(psi)                                       # (K, H, W), K = J L
        phi = phi.copy()
        phi[0, 0] = 0.0                                                        # x * phi_J with the mean removed
        self.phi_hat = torch.from_numpy(phi)
        # S2 and lowpass by Parseval: <|x * psi_l|^2> = sum_w |xhat(w)|^2 psi_hat_l(w)^2 / (H W)^2
        self.power_weights = torch.from_numpy(np.concatenate([psi ** 2, phi[None] ** 2]).reshape(K + 1, -1))
        # S3 and S4 on the rfft half-plane (x and |x * psi| are real, their transforms Hermitian):
        # sum over all w of P(w) psi_hat(w)^2, with P(-w) = conj P(w), is sum over the half-plane of
        # Re P (w2 + b w2_reflected) + i Im P (w2 - b w2_reflected), b = 0 on the columns kx = 0
        # and kx = W/2, which hold their own reflections; only the frequencies where a weight of
        # the outer scale j exceeds SUPPORT are kept.
        sq = psi ** 2
        b = np.ones(half)
        b[0] = b[-1] = 0.0
        columns, self.outer = [], []    # per outer scale j: the (L, 2 n_j) weights of Re P and Im P, (Re, Im) interleaved
        for j in range(c.J):
            outer = sq[j * L:(j + 1) * L]
            refl = reflect(outer)
            even = (outer[..., :half] + b * refl[..., :half]).reshape(L, -1)
            odd = (outer[..., :half] - b * refl[..., :half]).reshape(L, -1)
            idx = np.nonzero(np.maximum(even, np.abs(odd)).max(0) > SUPPORT)[0]
            columns.append(idx)
            self.outer.append((torch.from_numpy(np.repeat(even[:, idx], 2, 1)), torch.from_numpy(np.repeat(odd[:, idx], 2, 1))))
        # Gathers from the half-plane transforms of the K moduli and of x (B, (K + 1) S), `_Moduli`:
        # frequency 0 of each modulus (S1 = that / (H W)), then per outer scale j, at its frequencies,
        # x and the moduli of scales <= j, (1 + K_j, n_j) row by row. With each, the adjoint of the
        # gather and rfft2 (`_Moduli.backward`): H W on the columns kx = 0 and W/2, which hold their
        # own reflections, H W / 2 between.
        S = c.size * half
        self._gathers = [torch.from_numpy(np.arange(K) * S)] + [
            torch.from_numpy(np.concatenate([K * S + idx, (np.arange((j + 1) * L)[:, None] * S + idx).ravel()]))
            for j, idx in enumerate(columns)]
        self._adjoints = [torch.where((i % half == 0) | (i % half == half - 1), 1.0, 0.5).double() * c.size ** 2
                          for i in self._gathers]
        if c.shells is None:
            raise ValueError("shells None (every shell the data resolve) is fixed when a model is fitted: give a number")
        k = shells(c.size, c.size).reshape(-1)
        self.shell_mean = torch.from_numpy(np.stack([(k == s) / (k == s).sum() for s in range(1, c.shells + 1)])
                                           if c.shells else np.zeros((0, k.size)))     # (shells, H W)
        self.keys = self._raw_keys()
        self._build_reduction()

    def to(self, device: torch.device | str) -> "ScatteringSpectra":
        """The filters and reduction matrices moved to `device`."""
        self.psi, self.phi_hat, self.power_weights = (t.to(device) for t in (self.psi, self.phi_hat, self.power_weights))
        self.outer = [(e.to(device), o.to(device)) for e, o in self.outer]
        self._gathers, self._adjoints = [i.to(device) for i in self._gathers], [a.to(device) for a in self._adjoints]
        self._gram_index = self._gram_index.to(device)
        self._norm_index = self._norm_index.to(device)
        self._re_index, self._re_weight = self._re_index.to(device), self._re_weight.to(device)
        self._im_index, self._im_weight = self._im_index.to(device), self._im_weight.to(device)
        self.shell_mean = self.shell_mean.to(device)
        return self

    # --- the raw statistics ----------------------------------------------------------------------
    def _raw_keys(self) -> list[tuple]:
        """(kind, (j, l), ...) of every raw statistic, in the order `raw` returns them."""
        J, L = self.config.J, self.config.L
        lam = [(j, ll) for j in range(J) for ll in range(L)]
        keys = [("mean",), ("absolute",), ("square",), ("lowpass",)]
        keys += [(f"moment{p}",) for p in range(3, self.config.moments + 1)]
        keys += [("S1", a) for a in lam] + [("S2", a) for a in lam]
        for j1 in range(J):                                      # S3: outer (j1, l1), modulus (j2, l2), j2 <= j1
            keys += [("S3", (j1, l1), b) for l1 in range(L) for b in lam if b[0] <= j1]
        for j3 in range(J):                                      # S4: moduli a, b with a <= b <= j3 in scale
            inner = [a for a in lam if a[0] <= j3]
            keys += [("S4", a, b, (j3, l3)) for l3 in range(L) for a in inner for b in inner if a[0] <= b[0]]
        return keys

    def raw(self, x: torch.Tensor, modes: torch.Tensor | None = None) -> torch.Tensor:
        """The statistics before normalisation and reduction, complex (B, R); x: (B, H, W) or (B, 1, H, W)
        (modes: `_modes(x)`, when the caller has it).

        Per outer scale j, with r (B, 1 + K_j, 2 n_j) the half-plane transforms of x and of the K_j
        moduli |x * psi_k| of scales <= j at its frequencies, (Re, Im) interleaved, one Gram per
        orientation l of the outer wavelet: Re C_l = r diag(even_l) r^T holds S3 (row 0: x against
        the moduli) and S4 (moduli against moduli), Im C_l = (-i r) diag(odd_l) r^T their imaginary
        parts; divided by (H W)^2 (`_SquareGram`, `_gram`). One gather then puts them in key order."""
        c = self.config
        B, L, n2 = x.shape[0], c.L, float(c.size ** 4)
        x = x.reshape(B, c.size, c.size)
        if modes is None:
            modes = self._modes(x)
        power = modes @ self.power_weights.to(x.dtype).T / c.size ** 2                # (B, K + 1): S2, lowpass
        # the one-point statistics in float64 whatever x's dtype: a statistic every field shares (the zero mean of
        # vorticity) has a tiny spread s, and float32's round-off of it, divided by s, misled L-BFGS (`COMPUTE`)
        x64 = x.double()
        one_point = torch.stack([x64.mean((-2, -1)), x64.abs().mean((-2, -1)), (x64 * x64).mean((-2, -1)),
                                 power[:, -1].double()] + [(x64 ** p).mean((-2, -1)) for p in range(3, c.moments + 1)], 1)
        dc, *pieces = _Moduli.apply(x, self.psi.to(x.dtype), self._gathers, [a.to(x.dtype) for a in self._adjoints])
        re, im = [], []
        for j, (piece, (even, odd)) in enumerate(zip(pieces, self.outer)):
            rows = piece.reshape(B, 1 + (j + 1) * L, -1)                                   # (B, 1 + K_j, n_j)
            r = _interleaved(rows)
            re.append(_SquareGram.apply(r, even.to(x.dtype)).flatten(1))
            if not c.isotropic:
                im.append(_gram(_interleaved(-1j * rows), odd.to(x.dtype), r).flatten(1))
        re = torch.cat([one_point, dc.real / c.size ** 2, power[:, :-1],
                        torch.cat(re, 1).index_select(1, self._gram_index) / n2], 1)
        if c.isotropic:
            return torch.complex(re, torch.zeros_like(re))
        im = torch.cat(im, 1).index_select(1, self._gram_index) / n2
        return torch.complex(re, torch.cat([torch.zeros_like(re[:, :re.shape[1] - im.shape[1]]), im], 1))

    def power(self, x: torch.Tensor) -> torch.Tensor:
        """S2 = <|x * psi_l|^2>: (B, J, L)."""
        c = self.config
        weights = self.power_weights[:-1].to(x.dtype)
        return (self._modes(x) @ weights.T).reshape(-1, c.J, c.L) / c.size ** 2

    def spectrum(self, x: torch.Tensor) -> torch.Tensor:
        """P(k), k = 1..shells: (B, shells)."""
        return self._modes(x) @ self.shell_mean.to(x.dtype).T

    def _modes(self, x: torch.Tensor) -> torch.Tensor:
        """|xhat(q)|^2 / (H W) of fields x (B, [1,] H, W): (B, H W)."""
        c = self.config
        xh = torch.view_as_real(torch.fft.fft2(x.reshape(x.shape[0], c.size, c.size)))
        return (xh * xh).sum(-1).flatten(1) / c.size ** 2

    # --- normalisation and reduction ---------------------------------------------------------------
    def _build_reduction(self) -> None:
        """The S4 pairs per outer scale, and the real matrices that average raw statistics into
        reduced ones: Re part (rows: groups) and, without isotropy, the signed Im part."""
        c = self.config
        J, L = c.J, c.L
        # where S3 and S4 are in the flattened Grams of `raw`, (B, L, P_j, P_j) per outer scale j with
        # P_j = 1 + (j + 1) L rows (x, then the moduli of scales <= j): S3 of every scale, then S4
        offsets = np.cumsum([0] + [L * (1 + (j + 1) * L) ** 2 for j in range(J)])
        s3, s4 = [], []
        for j in range(J):
            P = 1 + (j + 1) * L
            inner = range((j + 1) * L)
            s3 += [offsets[j] + (l1 * P + 0) * P + 1 + k for l1 in range(L) for k in inner]
            pairs = [(p, q) for p in inner for q in inner if p // L <= q // L]
            s4 += [offsets[j] + (l3 * P + 1 + p) * P + 1 + q for l3 in range(L) for p, q in pairs]
        self._gram_index = torch.tensor(s3 + s4)

        def reduce(key: tuple) -> tuple[tuple, int]:
            """The group key of a raw statistic and the sign its imaginary part takes in the group."""
            kind, lams = key[0], list(key[1:])
            sign = 1
            if kind == "S4" and lams[0][0] == lams[1][0] and lams[1][1] < lams[0][1]:
                lams[0], lams[1], sign = lams[1], lams[0], -1                 # S4(a, b) = conj S4(b, a)
            if c.isotropic and lams:
                l0 = lams[0][1]
                lams = [(j, (ll - l0) % L) for j, ll in lams]
                if kind == "S4" and lams[0][0] == lams[1][0]:                  # rotation may reorder an equal-scale pair
                    swapped = [lams[1], lams[0], lams[2]]
                    l1 = swapped[0][1]
                    swapped = [(j, (ll - l1) % L) for j, ll in swapped]
                    if swapped < lams:
                        lams, sign = swapped, -sign
            if c.scale_invariant and kind in ("S3", "S4"):
                j0 = lams[0][0]
                lams = [(j - j0, ll) for j, ll in lams]
            return (kind, *lams), sign

        groups_re: dict[tuple, list[tuple[int, int]]] = {}
        for i, key in enumerate(self.keys):
            g, sign = reduce(key)
            groups_re.setdefault(g, []).append((i, sign))
        rows_re, rows_im, self.labels = [], [], []
        for g, members in groups_re.items():
            rows_re.append({i: 1.0 / len(members) for i, _ in members})
            self.labels.append(g)
        if not c.isotropic:
            for g, members in groups_re.items():
                if g[0] in ("S3", "S4"):
                    row: dict[int, float] = {}
                    for i, sign in members:
                        row[i] = row.get(i, 0.0) + sign / len(members)
                    if any(abs(v) > 0 for v in row.values()) and not _self_conjugate(g):
                        rows_im.append(row)
                        self.labels.append(("Im", *g))
        self._re_index, self._re_weight, self._re_rows = _sparse(rows_re, len(self.keys))
        # the normaliser of each raw statistic: sigma of two wavelets (1 + j L + l; 0: none)
        flat = [[1 + j * L + ll for j, ll in key[1:3]] for key in self.keys]
        self._norm_index = torch.tensor([(f + [0, 0])[:2] if key[0] != "S2" else f * 2
                                         for f, key in zip(flat, self.keys)]).T
        self._im_index, self._im_weight, self._im_rows = _sparse(rows_im, len(self.keys))
        self.labels += [("spectrum", k) for k in range(1, c.shells + 1)]

    @property
    def count(self) -> int:
        """The number of reduced statistics."""
        return len(self.labels)

    def counts(self) -> dict[str, int]:
        """Reduced statistics per kind (mean, S1, S2, S3, S4; imaginary parts with their kind)."""
        out = dict.fromkeys(KINDS, 0)
        for g in self.labels:
            out[g[1] if g[0] == "Im" else g[0]] += 1
        return out

    def normaliser(self, sigma2: torch.Tensor) -> torch.Tensor:
        """Per raw statistic, the factor that normalises it by the reference power sigma2 (J, L)
        (averaged over angles when isotropic, so that rotations leave it unchanged): (R,)."""
        c = self.config
        s2 = sigma2.reshape(c.J, c.L).double()
        if c.isotropic:
            s2 = s2.mean(1, keepdim=True).expand(c.J, c.L)
        s = torch.cat([torch.ones(1, dtype=torch.float64, device=s2.device), s2.sqrt().flatten()])   # 0: no factor
        return 1.0 / (s[self._norm_index[0]] * s[self._norm_index[1]])

    def __call__(self, x: torch.Tensor, sigma2: torch.Tensor, spectrum: torch.Tensor | None = None) -> torch.Tensor:
        """Phi(x): normalised by sigma2 (J, L) and reduced, then P(k) / spectrum (shells,), the
        reference P(k) (needed when shells > 0), real (B, count)."""
        modes = self._modes(x)
        raw = self.raw(x, modes) * self.normaliser(sigma2).to(x.dtype)
        out = [_reduce(raw.real, self._re_index, self._re_weight, self._re_rows)]
        if self._im_rows:
            out.append(_reduce(raw.imag, self._im_index, self._im_weight, self._im_rows))
        if self.config.shells:
            if spectrum is None:
                raise ValueError("the statistics hold P(k): give the reference spectrum")
            out.append(modes @ self.shell_mean.to(x.dtype).T / spectrum.to(x.dtype))
        return torch.cat(out, 1)

    def describe(self) -> str:
        c = self.config
        n = self.counts()
        return (f"scattering spectra J = {c.J}, L = {c.L} on {c.size} x {c.size}"
                f"{', isotropic' if c.isotropic else ''}{', scale-invariant' if c.scale_invariant else ''}"
                f"{f', P(k) for k = 1..{c.shells}' if c.shells else ''}: "
                f"{self.count} statistics (" + ", ".join(f"{k} {v}" for k, v in n.items() if v or k not in OPTIONAL_KINDS)
                + "); "
                f"Littlewood-Paley sum of kymatio's Morlet bank {self.lp_raw[0]:.3f}..{self.lp_raw[1]:.3f}, "
                f"normalised {float(self.lp.min()):.6f}..{float(self.lp.max()):.6f}")


def band_noise(spectra: ScatteringSpectra, z: torch.Tensor, sigma2: torch.Tensor, iterations: int = 50) -> torch.Tensor:
    """White noise z (B, [1,] H, W) shaped in Fourier to the band powers sigma2 (J, L): zhat(w) g(w) with
    g^2 = sum_lambda r_lambda (psi_hat_lambda(w)^2 + psi_hat_lambda(-w)^2) / 2 + r_low |phi_hat(w)|^2
    (r_low: the mean r of the coarsest scale). Unit white noise then has S2(lambda) = (A r)_lambda,
    A_lambda,mu = sum_w psi_hat_lambda^2 g_mu^2 / (H W): r solves A r = sigma2 by the multiplicative
    iteration r <- r sigma2 / (A r), which keeps r > 0. Same shape as z."""
    c = spectra.config
    psi, phi, _ = filter_bank(c.size, c.J, c.L)
    sq = psi.reshape(c.J * c.L, c.size, c.size) ** 2
    basis = np.concatenate([0.5 * (sq + reflect(sq)), phi[None] ** 2])                 # (K + 1, H, W)
    a = np.einsum("khw,mhw->km", sq, basis) / c.size ** 2                               # (K, K + 1)
    target = sigma2.reshape(-1).double().cpu().numpy()
    r = target / a[:, :-1].sum(1)
    for _ in range(iterations):
        full = np.append(r, r[-c.L:].mean())
        r = r * target / (a @ full)
    gain = np.sqrt(np.tensordot(np.append(r, r[-c.L:].mean()), basis, 1))
    g = torch.from_numpy(gain).to(z.device, z.dtype)
    return torch.fft.ifft2(torch.fft.fft2(z.reshape(-1, c.size, c.size)) * g).real.reshape(z.shape)


class _Moduli(torch.autograd.Function):
    """The half-plane transforms of the moduli |x * psi_k| and of x at the frequencies `gathers`:
    rfft2 of (|z_0|, ..., |z_K-1|, x) flattened (B, (K + 1) S), S = H (W/2 + 1), then each index
    (T_i,) of gathers: complex (B, T_i) each, of fields x (B, H, W), real filters psi_hat (K, H, W),
    z_k = F^-1(xhat psi_hat_k). Backward by hand, in real arithmetic (autograd's, through complex
    products, abs and rfft2, took 3x as long): with G the gradient scattered back to the
    half-plane, the gradient of the moduli (and of x through its own rfft2) is
    g = H W irfft2(G / c), c = 1 on the columns kx = 0 and W/2 and 2 between (the adjoint of
    rfft2; `adjoints` hold H W / c of each gathered frequency), and that of x through the moduli
    Re F^-1(sum_k psi_hat_k F(z_k g_k / |z_k|)) (0 where z_k = 0). Both run over groups of filters
    of at most CHUNK complex numbers: an FFT of 28 x 256 x 256 took 20x as long as one of
    7 x 256 x 256 (the arrays leave the cache). The backward reuses the forward's arrays in
    place: it runs once."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, psi: torch.Tensor, gathers: list, adjoints: list) -> tuple[torch.Tensor, ...]:
        b, h, w = x.shape
        xh = torch.fft.fft2(x)[:, None]
        ctx.groups, mh = [], []
        step = max(1, CHUNK // (b * h * w))
        for k in range(0, len(psi), step):
            group = slice(k, min(k + step, len(psi)))
            z = torch.view_as_real(torch.fft.ifft2(xh * psi[group]))                   # (B, k, H, W, 2)
            m = torch.addcmul(z[..., 0] ** 2, z[..., 1], z[..., 1]).sqrt_()            # |z|, 4x faster than abs
            ctx.groups.append((group, z, m))
            mh.append(torch.fft.rfft2(m))
        mh.append(torch.fft.rfft2(x)[:, None])
        ctx.save_for_backward(psi)
        ctx.gathers, ctx.adjoints, ctx.shape = gathers, adjoints, (b, len(psi), h, w)
        mh = torch.cat(mh, 1).flatten(1)
        return tuple(mh.index_select(1, i) for i in gathers)

    @staticmethod
    def backward(ctx, *grads: torch.Tensor) -> tuple[torch.Tensor, None, None, None]:
        (psi,) = ctx.saved_tensors
        if not ctx.groups:
            raise RuntimeError("the moduli's backward runs once (it reuses the forward's arrays)")
        b, k, h, w = ctx.shape
        g = torch.zeros(b, (k + 1) * h * (w // 2 + 1), dtype=psi.dtype.to_complex(), device=psi.device)
        for grad, index, adjoint in zip(grads, ctx.gathers, ctx.adjoints):
            if grad is not None:
                g.index_add_(1, index, torch.view_as_complex(torch.view_as_real(grad) * adjoint[:, None]))
        g = g.reshape(b, k + 1, h, w // 2 + 1)
        total = None
        floor = torch.finfo(psi.dtype).tiny ** 0.5             # where |z| is below it, z g / floor: z = 0 gives 0
        for group, z, m in ctx.groups:
            gm = torch.fft.irfft2(g[:, group], s=(h, w)).div_(m.clamp_min_(floor))
            zh = torch.view_as_real(torch.fft.fft2(torch.view_as_complex(z.mul_(gm[..., None]))))
            part = zh.mul_(psi[group, ..., None]).sum(1)
            total = part if total is None else total.add_(part)
        ctx.groups = []
        return torch.fft.ifft2(torch.view_as_complex(total)).real + torch.fft.irfft2(g[:, k], s=(h, w)), None, None, None


def _interleaved(a: torch.Tensor) -> torch.Tensor:
    """Complex (..., n) as real (..., 2 n): Re, Im of each entry side by side."""
    return torch.view_as_real(a).flatten(-2)


def _gram(a: torch.Tensor, w: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """sum_s a_ps w_ls b_qs: (B, L, P, Q) of a (B, P, S), w (L, S), b (B, Q, S)."""
    return ((a[:, None] * w[:, None]).flatten(1, 2) @ b.mT).unflatten(1, (len(w), -1))


class _SquareGram(torch.autograd.Function):
    """C_l = a diag(w_l) a^T: (B, L, P, P) of a (B, P, S), w (L, S). Backward by hand, one product
    over the saved A_l = a diag(w_l) (autograd's makes and reads more (B, L, P, S) tensors):
    da = sum_l (G_l + G_l^T) A_l."""

    @staticmethod
    def forward(ctx, a: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        aw = a[:, None] * w[:, None]                                           # (B, L, P, S)
        ctx.save_for_backward(aw)
        return (aw.flatten(1, 2) @ a.mT).unflatten(1, (len(w), -1))

    @staticmethod
    def backward(ctx, g: torch.Tensor) -> tuple[torch.Tensor, None]:
        (aw,) = ctx.saved_tensors
        return (g + g.mT).transpose(1, 2).flatten(2) @ aw.flatten(1, 2), None


def _self_conjugate(group: tuple) -> bool:
    """An S4 group of two equal moduli (a, a, c): real."""
    return group[0] == "S4" and group[1] == group[2]


def _sparse(rows: list[dict[int, float]], columns: int) -> tuple[torch.Tensor, torch.Tensor, int]:
    """A reduction matrix whose columns each hold at most one entry (every raw statistic is in one
    group): per column its row (0 where none) and weight (0 where none), and the number of rows.
    A dense (rows, columns) matrix is 108 GB at 256 x 256, J = 8, L = 16."""
    index, weight = [0] * columns, [0.0] * columns
    for r, row in enumerate(rows):
        for i, v in row.items():
            index[i], weight[i] = r, v
    return torch.tensor(index, dtype=torch.long), torch.tensor(weight, dtype=torch.float64), len(rows)


def _reduce(raw: torch.Tensor, index: torch.Tensor, weight: torch.Tensor, rows: int) -> torch.Tensor:
    """raw (B, R) @ M.T for the matrix M of `_sparse`: (B, rows)."""
    out = torch.zeros(raw.shape[0], rows, dtype=raw.dtype, device=raw.device)
    return out.index_add(1, index.to(raw.device), raw * weight.to(raw.device, raw.dtype))


def statistics(spectra: ScatteringSpectra, x: torch.Tensor, sigma2: torch.Tensor, spectrum: torch.Tensor | None = None,
               batch: int = 128) -> torch.Tensor:
    """Phi of many fields x (N, [1,] H, W) in chunks of `batch`, without gradients: (N, count)."""
    batch = min(batch, batch_for(spectra.config))
    with torch.no_grad():
        return torch.cat([spectra(x[i:i + batch], sigma2, spectrum) for i in range(0, len(x), batch)])


def reference(spectra: ScatteringSpectra, x: torch.Tensor, batch: int = 128) -> dict[str, torch.Tensor]:
    """What a data set fixes: sigma2 (J, L), the mean of S2 over the data; spectrum (shells,), the
    mean of P(k); Phi_data (count,), the mean of Phi over the fields; and the spread `std` (count,)
    of one field's Phi about it."""
    batch = min(batch, batch_for(spectra.config))
    with torch.no_grad():
        sigma2 = torch.cat([spectra.power(x[i:i + batch]) for i in range(0, len(x), batch)]).mean(0)
        spectrum = torch.cat([spectra.spectrum(x[i:i + batch]) for i in range(0, len(x), batch)]).mean(0)
    phi = statistics(spectra, x, sigma2, spectrum, batch)
    return {"sigma2": sigma2, "spectrum": spectrum, "phi": phi.mean(0),
            "std": phi.std(0) if len(phi) > 1 else torch.zeros(phi.shape[1])}

