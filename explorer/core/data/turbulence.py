"""Forced 2-D turbulence: incompressible Navier-Stokes in vorticity form on the periodic box [0, 2 pi)^2.

    d omega/dt + u . grad omega = nu lap omega - nu_h lap^4 omega - mu omega + f,
    u = (d psi/dy, -d psi/dx),  lap psi = -omega.

Pseudo-spectral on an n x n grid (torch FFT, float64): psi_hat = omega_hat / |k|^2, the product
u . grad omega in physical space, 2/3-rule dealiasing (modes with max(|kx|, |ky|) > n/3 are zeroed
in the nonlinear term and in the state). Time: classical RK4 with the linear terms
(-nu |k|^2 - nu_h |k|^8 - mu) exact by an integrating factor. Forcing: Gaussian, white in time
(random phases at every step), on the ring | |k| - k_f | <= 1, added after each step as
sqrt(dt) f; its energy injection rate is exactly `eps` (Ito). Linear drag mu removes the
energy that the inverse cascade carries to large scales. Defaults (`parameters`): k_f = 4,
mu = 0.05, nu = 0, nu_h = 2e-10 at n = 64, eps = 0.1 (so E -> eps / (2 mu) = 1), dt = 0.015.

B runs with different seeds advance together (a batch dimension). From rest, energy
E = <|u|^2>/2 and enstrophy Z = <omega^2>/2 rise to a stationary level; `spin_up` measures when
both stay within 10 % of it (see there), the large-eddy turnover time T = L_int / u_rms with
L_int = 2 pi sum_k E(k)/|k| / sum_k E(k) and u_rms = <|u|^2>^(1/2), the vorticity's
autocorrelation time and its rms (`explorer turbulence` prints it all). `samples` keeps one
snapshot of each run every `spacing` = max(T, 2 tau_int) after the spin-up, and standardises
omega by the stationary rms vorticity of the measurement (one constant per parameter set, so
training, held-out and generated fields share units).
"""
from __future__ import annotations

import math
import sys
import time

import numpy as np
import torch

from explorer.core import interrupt
from explorer.core.errors import DataError, ExplorerError, UsageError

ALGORITHM = "pseudo-spectral IF-RK4, 2/3 dealiasing, white ring forcing"
DEFAULTS = {"size": 64, "k_f": 4.0, "mu": 0.05, "nu": 0.0, "eps": 0.1, "dt": 0.015}


def parameters(size: int = 64, error: type[ExplorerError] = DataError, **params) -> dict:
    """All the solver's parameters: DEFAULTS, then `params`; nu_h defaults to 2e-10 (64 / grid)^8, so
    that the hyperviscous rate nu_h k^8 at the dealiasing cutoff k = grid/3 is the same (~7.6) at
    every grid. `grid` (optional): the side of the simulation when it is larger than the fields'
    `size`, which are then its Fourier truncation (`coarse_grain`; grid = size: the same runs'
    fields untruncated); `k_drag` (optional, 0 = every mode): the drag mu acts on |k| <= k_drag
    only. Both are kept out of the dict when not given, so today's parameter sets (and their cached
    data) stay as they were. The forcing must lie on the
    grid (`check_forcing`; `error` if not), and the drag below the forcing (`check_drag`)."""
    grid = int(params.get("grid", size))
    if grid < size:
        raise error(f"the simulation grid {grid} is smaller than the fields' size {size}: the fields are a Fourier "
                    f"truncation of the grid's, so grid must be at least size (or leave grid out)")
    p = {**DEFAULTS, "nu_h": 2e-10 * (64 / grid) ** 8, **params, "size": size}
    check_forcing(grid, p["k_f"], error)
    check_drag(p.get("k_drag", 0.0), p["k_f"], error)
    return p


def check_drag(k_drag: float, k_f: float, error: type[ExplorerError] = DataError) -> None:
    """A drag restricted to the large scales (k_drag > 0) must stay below the forcing ring
    |k| >= k_f - 1: a drag on the forced modes is not a large-scale drag."""
    if k_drag > 0 and not k_drag < k_f - 1:
        raise error(f"k_drag = {k_drag:g} reaches the forcing ring |k| = k_f ± 1 = {k_f - 1:g}..{k_f + 1:g}: the "
                    f"large-scale drag must act below it (k_drag < {k_f - 1:g}; 0 puts the drag on every mode)")


def coarse_grain(omega: np.ndarray | torch.Tensor, size: int) -> torch.Tensor:
    """The Fourier truncation of periodic fields omega (..., g, g) to (..., size, size): the modes
    |k_x|, |k_y| < size/2 kept exactly (the Nyquist row and column of an even size dropped), every
    other mode removed, sampled on the coarse grid. It keeps the large scales and the periodicity:
    rfft2(coarse) * (g/size)^2 equals rfft2(omega) on the kept modes."""
    w = torch.as_tensor(omega)
    g = w.shape[-1]
    if size == g:
        return w.clone()
    half = (size - 1) // 2                                         # the largest |k| kept on each axis
    wh = torch.fft.rfft2(w.to(torch.float64))
    out = torch.zeros(*wh.shape[:-2], size, size // 2 + 1, dtype=wh.dtype)
    out[..., :half + 1, :half + 1] = wh[..., :half + 1, :half + 1]
    out[..., size - half:, :half + 1] = wh[..., g - half:, :half + 1]
    return (torch.fft.irfft2(out, s=(size, size)) * (size / g) ** 2).to(w.dtype)


def check_forcing(size: int, k_f: float, error: type[ExplorerError] = DataError) -> None:
    """The forcing ring | |k| - k_f | <= 1 inside the modes the grid resolves, |k| <= size // 3 (the
    2/3 rule): beyond it the forcing is dealiased away (no energy goes in) or has no mode at all."""
    top = size // 3
    if not k_f + 1 <= top:
        raise error(f"the forcing wavenumber k_f = {k_f:g} is beyond a {size} x {size} grid: its ring "
                    f"|k| = k_f ± 1 must lie within the resolved |k| <= size // 3 = {top}, so k_f is at most "
                    f"{top - 1} at size {size} (or raise the size)")


def check_recording(duration: float, every: float, dt: float, error: type[ExplorerError] = UsageError) -> None:
    """A spin-up's record: at least two points (duration / every >= 2) and at most one per time
    step (every >= dt)."""
    if not every >= dt:
        raise error(f"--every {every:g} is shorter than the time step dt = {dt:g}: record at most once a step "
                    f"(--every at least {dt:g})")
    if round(duration / every) < 2:
        raise error(f"--duration {duration:g} with --every {every:g} records the flow {round(duration / every)} "
                    f"time(s); the spin-up curve needs at least 2 points: --every at most {duration / 2:g} "
                    f"or a longer --duration")
STATIONARY_TOLERANCE = 0.10        # spin-up ends when E and Z stay within 10 % of their stationary means


class Solver:
    """B vorticity fields on an n x n grid advanced together; `omega_hat`: (B, n, n//2+1) complex128."""

    def __init__(self, size: int, k_f: float = 4.0, mu: float = 0.05, nu: float = 0.0, nu_h: float = 2e-10,
                 eps: float = 0.1, dt: float = 0.015, k_drag: float = 0.0, runs: int = 1, seed: int = 0):
        n = self.n = size
        self.dt, self.eps = dt, eps
        ky = torch.fft.fftfreq(n, 1.0 / n, dtype=torch.float64)[:, None]
        kx = torch.arange(n // 2 + 1, dtype=torch.float64)[None, :]
        self.kx, self.ky = kx, ky
        self.k2 = kx ** 2 + ky ** 2
        self.inv_k2 = torch.where(self.k2 > 0, 1.0 / self.k2.clamp_min(1.0), torch.zeros(()))
        self.dealias = ((kx.abs() <= n // 3) & (ky.abs() <= n // 3)).to(torch.float64)
        self.dealias[0, 0] = 0.0                          # the mean vorticity stays zero
        self.drag = mu * (self.k2 <= k_drag ** 2).to(torch.float64) if k_drag > 0 else mu * torch.ones_like(self.k2)
        linear = -(nu * self.k2 + nu_h * self.k2 ** 4 + self.drag)
        self.half = torch.exp(linear * dt / 2)           # integrating factor over dt/2
        ring = ((self.k2.sqrt() - k_f).abs() <= 1.0) & (self.k2 > 0)
        full_k2 = (torch.fft.fftfreq(n, 1.0 / n, dtype=torch.float64)[:, None] ** 2
                   + torch.fft.fftfreq(n, 1.0 / n, dtype=torch.float64)[None, :] ** 2)
        full_ring = ((full_k2.sqrt() - k_f).abs() <= 1.0) & (full_k2 > 0)
        # f_hat = c R eta_hat with eta white (unit variance): E|f_hat_k|^2 = c^2 n^2 on the ring, and
        # eps = 1/2 sum_k E|f_hat_k|^2 / (|k|^2 n^4) over the whole plane fixes c.
        self.force_amp = math.sqrt(2 * eps * n * n / float((1.0 / full_k2[full_ring]).sum())) * ring.to(torch.float64)
        self.generator = torch.Generator().manual_seed(int(seed))
        self.omega_hat = torch.zeros(runs, n, n // 2 + 1, dtype=torch.complex128)
        self.time = 0.0

    # --- the equations ---------------------------------------------------------------------------
    def nonlinear(self, w: torch.Tensor) -> torch.Tensor:
        """-(u . grad omega)^ dealiased, for omega_hat w (B, n, n//2+1)."""
        n = self.n
        psi = w * self.inv_k2
        u = torch.fft.irfft2(1j * self.ky * psi, s=(n, n))
        v = torch.fft.irfft2(-1j * self.kx * psi, s=(n, n))
        wx = torch.fft.irfft2(1j * self.kx * w, s=(n, n))
        wy = torch.fft.irfft2(1j * self.ky * w, s=(n, n))
        return -torch.fft.rfft2(u * wx + v * wy) * self.dealias

    def step(self) -> None:
        """One IF-RK4 step of dt, then the forcing increment sqrt(dt) f."""
        h, e, w = self.dt, self.half, self.omega_hat
        k1 = self.nonlinear(w)
        k2 = self.nonlinear(e * (w + h / 2 * k1))
        k3 = self.nonlinear(e * w + h / 2 * k2)
        k4 = self.nonlinear(e * e * w + h * e * k3)
        w = e * e * w + h / 6 * (e * e * k1 + 2 * e * (k2 + k3) + k4)
        if self.eps > 0:
            eta = torch.randn((w.shape[0], self.n, self.n), generator=self.generator, dtype=torch.float64)
            w = w + math.sqrt(h) * self.force_amp * torch.fft.rfft2(eta)
        self.omega_hat = w * self.dealias
        self.time += h

    def advance(self, duration: float) -> None:
        for k in range(int(round(duration / self.dt))):
            if k % 10 == 0:
                interrupt.check()                               # a cancelled run stops within 10 steps
            self.step()

    # --- what is measured ------------------------------------------------------------------------
    def _weights(self) -> torch.Tensor:
        """Multiplicity of each rfft mode in the full plane (the kx = 0 and Nyquist columns once)."""
        w = torch.full((1, self.n // 2 + 1), 2.0, dtype=torch.float64)
        w[0, 0] = 1.0
        if self.n % 2 == 0:
            w[0, -1] = 1.0
        return w

    def energy(self) -> torch.Tensor:
        """E = <|u|^2>/2 per run: (B,)."""
        return 0.5 * (self._weights() * self.omega_hat.abs() ** 2 * self.inv_k2).sum((-2, -1)) / self.n ** 4

    def enstrophy(self) -> torch.Tensor:
        """Z = <omega^2>/2 per run: (B,)."""
        return 0.5 * (self._weights() * self.omega_hat.abs() ** 2).sum((-2, -1)) / self.n ** 4

    def integral_scale(self) -> torch.Tensor:
        """L_int = 2 pi sum_k E(k)/|k| / sum_k E(k) per run: (B,)."""
        e = self._weights() * self.omega_hat.abs() ** 2 * self.inv_k2
        k = self.k2.sqrt().clamp_min(1.0)
        return 2 * math.pi * (e / k).sum((-2, -1)) / e.sum((-2, -1))

    def cfl(self) -> float:
        """max |u| dt / dx over all runs (dx = 2 pi / n)."""
        n, psi = self.n, self.omega_hat * self.inv_k2
        u = torch.fft.irfft2(1j * self.ky * psi, s=(n, n))
        v = torch.fft.irfft2(-1j * self.kx * psi, s=(n, n))
        return float((u * u + v * v).sqrt().max()) * self.dt * n / (2 * math.pi)

    def vorticity(self) -> torch.Tensor:
        """omega in physical space: (B, n, n) float64."""
        return torch.fft.irfft2(self.omega_hat, s=(self.n, self.n))


def solver_args(p: dict) -> dict:
    """The Solver's keyword arguments of a parameter set (`parameters`): the simulation's side is
    `grid` when given, else `size`."""
    return {**{k: v for k, v in p.items() if k != "grid"}, "size": int(p.get("grid", p["size"]))}


def box_modes(omega_hat: torch.Tensor) -> torch.Tensor:
    """The box-scale Fourier modes |k| = 1 of rfft2 vorticity (B, n, n//2+1): omega_hat at
    (k_x, k_y) = (1, 0) and (0, 1) (their mirror images (-1, 0), (0, -1) are their conjugates): (B, 2)."""
    return torch.stack([omega_hat[:, 0, 1], omega_hat[:, 1, 0]], 1)


def autocorrelation(x: np.ndarray, every: float, floor: float = 0.05) -> tuple[list[float], float]:
    """C(tau) = Re <conj(x(t)) x(t + tau)> / <|x|^2> of series recorded every `every` along axis 0
    (real or complex, of zero mean: the vorticity pointwise, or the |k| = 1 modes (T, B, 2)), the
    mean over every other axis, and the integrated time tau = every (1/2 + sum_{lag >= 1} C) summed
    until C first drops below `floor`. Returns (C at lags 0, 1, ... up to that point, tau)."""
    m = np.asarray(x)
    if not len(m):
        return [], 0.5 * every
    c0 = float((np.abs(m) ** 2).mean())
    conj = np.conj if np.iscomplexobj(m) else (lambda a: a)
    corr = [float((conj(m[:len(m) - lag]) * m[lag:]).real.mean() / c0) for lag in range(len(m) // 2)]
    below = next((i for i, c in enumerate(corr) if c < floor), len(corr))
    return corr[:below + 1], float(every * (0.5 + sum(corr[1:below])))


def kurtosis(x: np.ndarray) -> float:
    """<(x - <x>)^4> / <(x - <x>)^2>^2 over all values (3 for a Gaussian)."""
    x = np.asarray(x, np.float64).ravel()
    x = x - x.mean()
    return float((x ** 4).mean() / (x ** 2).mean() ** 2)


def spin_up(size: int = 64, runs: int = 16, duration: float = 120.0, every: float = 1.0, seed: int = 101,
            log=None, **params) -> dict:
    """Start `runs` runs from rest and record the ensemble means of E and Z every `every` time
    units. Stationary levels: their means over the last 40 % of the window; spin-up: the first time
    after which both stay within STATIONARY_TOLERANCE of them (or 4 standard deviations of the
    curve over that window, if wider: few runs of a small grid fluctuate more). Over the stationary part: the
    turnover time T = L_int / u_rms, the rms vorticity, its kurtosis, the largest CFL number
    max |u| dt / dx, and the integrated
    autocorrelation time tau_int of omega (C(tau) = <omega(t) omega(t + tau)> / <omega^2>, summed
    until it first drops below 0.05). `enough`: the spin-up ends in the first half of the window."""
    p = parameters(size, **params)
    check_recording(duration, every, p["dt"], DataError)
    solver = Solver(**solver_args(p), runs=runs, seed=seed)
    t0 = time.perf_counter()
    times, energy, enstrophy, snaps, scales, cfl, box = [], [], [], [], [], [], []
    steps_every = max(1, int(round(every / p["dt"])))
    for k in range(int(round(duration / every))):
        interrupt.check(f"turbulence: measuring the spin-up (once, cached after), t = {solver.time:.0f} of {duration:.0f}")
        for _ in range(steps_every):
            solver.step()
        times.append(solver.time)
        energy.append(float(solver.energy().mean()))
        enstrophy.append(float(solver.enstrophy().mean()))
        snaps.append(solver.vorticity().float())
        box.append(box_modes(solver.omega_hat))
        scales.append(float(solver.integral_scale().mean()))
        cfl.append(solver.cfl())
        if log and (k + 1) % max(1, len(range(int(round(duration / every)))) // 10) == 0:
            log(f"t = {solver.time:6.1f}  E = {energy[-1]:.4f}  Z = {enstrophy[-1]:.4f}")
    seconds = time.perf_counter() - t0
    t, e, z = np.array(times), np.array(energy), np.array(enstrophy)
    tail = t >= t[-1] - 0.4 * (t[-1] - t[0])
    e_stat, z_stat = e[tail].mean(), z[tail].mean()
    band_e = max(STATIONARY_TOLERANCE, 4 * float(e[tail].std() / e_stat))      # wider if the mean itself fluctuates
    band_z = max(STATIONARY_TOLERANCE, 4 * float(z[tail].std() / z_stat))
    off = (np.abs(e / e_stat - 1) > band_e) | (np.abs(z / z_stat - 1) > band_z)
    last_off = int(np.nonzero(off)[0].max()) if off.any() else -1
    t_spin = float(t[last_off + 1]) if last_off + 1 < len(t) else float("inf")
    stationary = t >= t_spin
    u_rms = math.sqrt(2 * e_stat)
    l_int = float(np.mean(np.array(scales)[stationary])) if stationary.any() else float("nan")
    w = torch.stack([s for s, ok in zip(snaps, stationary) if ok]).double().numpy()      # (T, B, n, n)
    w_rms = float(np.sqrt((w ** 2).mean())) if len(w) else float("nan")
    corr, tau = autocorrelation(w, every)                                                  # pointwise
    b = torch.stack([m for m, ok in zip(box, stationary) if ok]).numpy()                   # (T, B, 2) complex
    corr1, tau1 = autocorrelation(b, every)                                               # |k| = 1
    g = solver.n
    power = np.zeros((g, g // 2 + 1))
    for snap in w:                                                                          # (B, g, g) per time
        power += (solver._weights() * torch.fft.rfft2(torch.from_numpy(snap)).abs() ** 2).mean(0).numpy() / g ** 4
    power /= max(len(w), 1)
    cheb = np.maximum(np.abs(solver.kx.numpy()), np.abs(solver.ky.numpy()))
    trunc = [float(np.sqrt(power[cheb <= h].sum())) for h in range(g // 2 + 1)]
    energy_k = power * solver.inv_k2.numpy()
    return {"params": p, "runs": runs, "duration": duration, "seed": seed,
            "curve": [{"t": float(a), "E": float(b), "Z": float(c)} for a, b, c in zip(t, e, z)],
            "E": float(e_stat), "Z": float(z_stat), "spin_up": t_spin, "band": [band_e, band_z],
            "u_rms": u_rms, "L_int": l_int, "T": l_int / u_rms, "omega_rms": w_rms,
            "kurtosis": kurtosis(w) if len(w) else float("nan"), "tau_int": float(tau),
            "autocorrelation": corr, "box_autocorrelation": corr1, "tau_1": tau1,
            "box_energy_fraction": float(energy_k[solver.k2.numpy() == 1].sum() / energy_k.sum()),
            "omega_rms_truncated": trunc, "cfl": max(cfl), "seconds": seconds,
            "seconds_per_step_per_run": seconds / (len(t) * steps_every * runs),
            "enough": bool(t_spin <= 0.5 * duration), "algorithm": ALGORITHM}


RUNS = 32           # runs of a parameter set without `grid` (`samples`)


def samples(count: int, size: int = 64, seed: int = 0, runs: int = RUNS, progress: bool = True,
            **params) -> np.ndarray:
    """`count` vorticity snapshots (count, 1, n, n) float32 in units of the stationary rms
    vorticity, cached on disk: the spin-up, T and tau_int are measured first (`spin_up`, cached per
    parameter set), then `runs` runs from rest are spun up and each gives a snapshot every
    max(T, 2 tau_int) (rounded up to whole steps)."""
    from explorer.core.data import cached_array

    p = parameters(size, **params)
    say = (lambda s: print(f"turbulence: {s}", file=sys.stderr)) if progress else None
    if "grid" in p:
        return _coarse_samples(count, p, seed, say)

    def measure() -> np.ndarray:
        m = spin_up(log=say, **p)
        if not m["enough"]:
            raise DataError(f"turbulence {p}: not stationary within {m['duration']} time units "
                            f"(spin-up {m['spin_up']}); lower the drag time 1/mu or measure longer")
        if say:
            say(f"spin-up {m['spin_up']:.1f}, T = {m['T']:.2f}, tau_int = {m['tau_int']:.2f}, "
                f"omega_rms = {m['omega_rms']:.3f}, kurtosis {m['kurtosis']:.2f}")
        return np.array([m["spin_up"], m["T"], m["tau_int"], m["omega_rms"]], np.float64)

    t_spin, turnover, tau, w_rms = cached_array("turbulence-spin-up", {**p, "algorithm": ALGORITHM}, measure)
    spacing = p["dt"] * math.ceil(max(turnover, 2 * tau) / p["dt"])
    runs = min(runs, count)

    def make() -> np.ndarray:
        per_run = math.ceil(count / runs)
        solver = Solver(**p, runs=runs, seed=seed)
        if say:
            say(f"{count} fields: {runs} runs x ({t_spin:.0f} spin-up + {per_run} x {spacing:.2f}) time units, "
                f"dt {p['dt']}")
        solver.advance(t_spin)
        out = []
        for i in range(per_run):
            interrupt.check(f"turbulence: making {count} fields by the solver (cached after), {i + 1} of {per_run} per run")
            solver.advance(spacing)
            out.append(solver.vorticity() / w_rms)
        return torch.stack(out, 1).reshape(-1, 1, size, size)[:count].numpy().astype(np.float32)

    return cached_array("turbulence", {**p, "seed": seed, "runs": runs, "count": count, "algorithm": ALGORITHM}, make)


PILOT = {"runs": 2, "duration": 60.0, "every": 0.25}      # the measurement of a `grid` parameter set
PER_RUN = 48                                                # snapshots per block of a `grid` run
SPACING = 0.5       # snapshots of a `grid` run: this fraction of max(T, 2 tau_int(omega), tau_1) apart (what one
                    # core affords at 256^2); the correlation left between them is in the errors, taken over blocks


def measure_grid(p: dict, say=None) -> dict:
    """The measurement behind a `grid` parameter set (`parameters`), cached per simulation (the
    fields' size aside): `spin_up` of PILOT runs on the grid. Returns {"spin_up", "T", "tau_int",
    "tau_1", "spacing", "omega_rms_truncated"}: spacing = SPACING max(T, 2 tau_int(omega), tau_1)
    rounded up to whole steps, tau_1 the |k| = 1 modes' correlation time; omega_rms_truncated[h] the stationary
    rms vorticity of the Fourier truncation to |k_x|, |k_y| <= h."""
    from explorer.core.data import cached_array

    sim = {**p, "size": p["grid"]}

    def measure() -> np.ndarray:
        m = spin_up(log=say, **PILOT, **sim)
        if not m["enough"]:
            raise DataError(f"turbulence {sim}: not stationary within {m['duration']} time units "
                            f"(spin-up {m['spin_up']}); lower the drag time 1/mu")
        if say:
            say(f"spin-up {m['spin_up']:.1f}, T = {m['T']:.2f}, tau_int = {m['tau_int']:.2f}, tau_1 = {m['tau_1']:.2f}, "
                f"|k| = 1 energy fraction {m['box_energy_fraction']:.3f}, omega_rms = {m['omega_rms']:.3f}, "
                f"kurtosis {m['kurtosis']:.2f}, CFL {m['cfl']:.2f}")
        return np.array([m["spin_up"], m["T"], m["tau_int"], m["tau_1"], *m["omega_rms_truncated"]], np.float64)

    a = cached_array("turbulence-grid-spin-up", {**sim, **PILOT, "algorithm": ALGORITHM}, measure)
    spacing = p["dt"] * math.ceil(SPACING * max(a[1], 2 * a[2], a[3]) / p["dt"] - 1e-9)
    return {"spin_up": float(a[0]), "T": float(a[1]), "tau_int": float(a[2]), "tau_1": float(a[3]),
            "spacing": spacing, "omega_rms_truncated": a[4:].tolist()}


def _grid_key(p: dict, seed: int, block: int, m: dict) -> tuple[float, dict]:
    """(the spin-up of the run, the cache key of block `block` of seed `seed`)."""
    spin = max(m["spin_up"], PILOT["duration"])
    return spin, {**p, "size": p["grid"], "seed": seed, "block": block, "per_run": PER_RUN, "spin_up": spin,
                  "spacing": m["spacing"], "algorithm": ALGORITHM}


def grid_box(p: dict, seed: int, block: int) -> np.ndarray:
    """The |k| = 1 modes recorded beside block `block` of seed `seed` (`grid_run`, made first if
    missing): (steps, 2) complex, every 0.25 time units."""
    from explorer.core.data import cached_array

    grid_run(p, seed, block)
    b = cached_array("turbulence-grid-box", _grid_key(p, seed, block, measure_grid(p))[1],
                     lambda: (_ for _ in ()).throw(DataError("the |k| = 1 record of a cached block is missing; "
                                                             "remove the block from the cache to remake both")))
    return b[..., 0] + 1j * b[..., 1]


def grid_run(p: dict, seed: int, block: int, say=None) -> np.ndarray:
    """Block `block` of the run of seed `seed` of a `grid` parameter set, cached: PER_RUN vorticity
    snapshots (PER_RUN, grid, grid) float32 in the solver's units, `spacing` apart (`measure_grid`).
    One run per seed, cut into blocks: block 0 starts from rest after a spin-up of the pilot's whole
    window (max(its spin-up, PILOT duration): the pilot's 2 runs fluctuate, the window is the safe
    bound); block b > 0 starts from the last snapshot of block b - 1 as stored (float32, so the
    run is the same whether that block was just made or read from the cache) with the forcing's
    generator seeded by (seed, b). Each block is its own cache entry: a long job resumes at the block
    it was on. Beside it (cache kind turbulence-grid-box) the |k| = 1 modes every 0.25 time units,
    (steps, 2) complex as (steps, 2, 2) float64, for their correlation time."""
    from explorer.core.data import cached_array

    m = measure_grid(p, say)
    spin, key = _grid_key(p, seed, block, m)

    def make() -> np.ndarray:
        solver = Solver(**solver_args(p), runs=1, seed=seed * 4096 + block)
        t0 = time.perf_counter()
        if block == 0:
            if say:
                say(f"seed {seed}: {spin:.0f} time units of spin-up on {p['grid']}^2, dt {p['dt']}")
            solver.advance(spin)
        else:
            last = torch.from_numpy(grid_run(p, seed, block - 1, say)[-1].astype(np.float64))
            solver.omega_hat = torch.fft.rfft2(last)[None] * solver.dealias
        if say:
            say(f"seed {seed} block {block}: {PER_RUN} x {m['spacing']:.2f} time units")
        every = max(1, int(round(0.25 / p["dt"])))
        steps = int(round(m["spacing"] / p["dt"]))
        out, box, k = [], [], 0
        for i in range(PER_RUN):
            interrupt.check(f"turbulence: block {block} of seed {seed}, snapshot {i + 1} of {PER_RUN} (cached after)")
            for _ in range(steps):
                solver.step()
                k += 1
                if k % every == 0:
                    box.append(box_modes(solver.omega_hat)[0])
            out.append(solver.vorticity()[0].float())
        if say:
            say(f"seed {seed} block {block}: {time.perf_counter() - t0:.0f} s")
        b = torch.stack(box)
        cached_array("turbulence-grid-box", key, lambda: torch.stack([b.real, b.imag], -1).numpy())
        return torch.stack(out).numpy()

    return cached_array("turbulence-grid-run", key, make,
                        lambda a: a.shape == (PER_RUN, p["grid"], p["grid"]) and bool(np.isfinite(a).all()))


def _coarse_samples(count: int, p: dict, seed: int, say=None) -> np.ndarray:
    """`samples` of a `grid` parameter set: the first `count` snapshots of the run of `seed`
    (`grid_run`, PER_RUN per block, block after block), truncated to `size` (`coarse_grain`) and
    divided by the stationary rms of that truncation (one constant per parameter set and size).
    The fields of every size come from the same run; a smaller count is a prefix of a larger."""
    m = measure_grid(p, say)
    size = p["size"]
    w_rms = m["omega_rms_truncated"][min((size - 1) // 2, len(m["omega_rms_truncated"]) - 1)]
    out = []
    for block in range(math.ceil(count / PER_RUN)):
        fields = grid_run(p, seed, block, say)[:count - block * PER_RUN]
        out.append((coarse_grain(torch.from_numpy(fields).double(), size) / w_rms).float())
    return torch.cat(out)[:, None].numpy()


def check_memory(runs: int, size: int, duration: float, every: float) -> None:
    """A spin-up's solver arrays and kept snapshots: at most 1 GiB (a UsageError before any work)."""
    need = runs * size ** 2 * (200 + 4 * duration / every)
    if need > 2 ** 30:
        raise UsageError(f"{runs} runs of {size} x {size} recorded {duration / every:.0f} times need "
                         f"{need / 2 ** 30:.1f} GiB, more than the 1 GiB explorer holds; lower --runs or raise --every")


def spectral_fluxes(omega: np.ndarray) -> dict:
    """The spectral fluxes of energy and enstrophy through each shell, for vorticity fields omega
    (N, [1,] n, n) on [0, 2 pi)^2, with their standard errors over the fields:
        T_Z(q) = Re(conj(omega_hat) N_hat)(q) / n^4,  T_E(q) = T_Z(q) / |q|^2,  N = -(u . grad omega),
        Pi_Z(k) = -sum_{round|q| <= k} T_Z(q),  Pi_E(k) = -sum_{round|q| <= k} T_E(q),
    the transfer by the nonlinear term alone (`Solver.nonlinear`, 2/3-rule dealiased, the fields
    truncated to the same modes first, so sum_q T = 0 for both: the term conserves E and Z). Pi > 0
    carries to smaller scales: in 2-D turbulence Pi_Z > 0 above the forcing (the enstrophy cascade),
    Pi_E < 0 below it (the inverse energy cascade). Returns {"k", "energy", "energy_se",
    "enstrophy", "enstrophy_se"}, k = 1 .. the largest shell the dealiased square holds (where
    both fluxes are 0)."""
    omega = np.asarray(omega, np.float64)
    n = omega.shape[-1]
    solver = Solver(n, eps=0.0)
    w = torch.fft.rfft2(torch.from_numpy(omega.reshape(-1, n, n))) * solver.dealias
    t_z = (solver._weights() * (w.conj() * solver.nonlinear(w)).real / n ** 4).numpy()          # (N, n, n//2+1)
    shell = torch.sqrt(solver.k2).round().long().numpy()
    ks = np.arange(1, int(shell[solver.dealias.numpy() > 0].max()) + 1)
    out = {"k": ks.tolist()}
    for name, t in (("enstrophy", t_z), ("energy", t_z * solver.inv_k2.numpy())):
        per_shell = np.stack([t[:, shell == k].sum(1) for k in ks], 1)                          # (N, shells)
        flux = -np.cumsum(per_shell, 1)
        out[name] = flux.mean(0).tolist()
        out[f"{name}_se"] = (flux.std(0, ddof=1) / np.sqrt(len(flux)) if len(flux) > 1 else np.full(len(ks), np.nan)).tolist()
    return out
