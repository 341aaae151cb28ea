"""Samplers: generators that yield one Frame per step and return the Trajectory.

Every sampler integrates the OU process of `schedule` backwards, from x_T ~ N(0, I) to data.
`denoiser(x_t, t) -> x0_hat` is any callable (a network, or the exact Gaussian denoiser of the
tests); the score comes from it by Tweedie/Miyasawa:

    score(x, t) = grad log p_t(x) = (alpha(t) x0_hat(x, t) - x) / sigma(t)^2.

Steps and evaluations: with K steps each sampler evaluates the denoiser at K noise levels
(Heun: 2K - 1 evaluations). Frame k holds (x_k, x0_hat(x_k)). With `final_denoise` the last
level is t_min and the run ends with a frame at t = 0 whose x_t and x0_hat are the denoised
x0_hat(x_{K-1}, t_min); without it the run integrates down to t_min and the last frame's x_t and
x0_hat are x_K itself. Either way the sample is `trajectory.frames[-1].x0_hat`.

Random draws (initial noise, SDE increments) come from a CPU torch.Generator and are moved to
the device, so a seed gives the same run on CPU and GPU up to float rounding.
"""
from __future__ import annotations

import math
from typing import Callable, Generator, Iterator

import torch

from explorer.core.errors import SamplingError, UsageError
from explorer.core.sampling import schedule
from explorer.core.sampling.catalogue import DEFAULT_STEPS, GRID_SAMPLERS
from explorer.core.sampling.trajectory import Frame, Trajectory, keep

DenoiserFn = Callable[[torch.Tensor, float], torch.Tensor]


def initial_noise(shape: tuple[int, ...], seed: int | None = None,
                  generator: torch.Generator | None = None) -> torch.Tensor:
    """z ~ N(0, I) of `shape` on the CPU, from `generator` or a fresh one seeded by `seed`."""
    if generator is None:
        generator = torch.Generator().manual_seed(0 if seed is None else int(seed))
    return torch.randn(shape, generator=generator)


def _randn_like(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    return torch.randn(x.shape, generator=generator, dtype=x.dtype).to(x.device)


def _evaluate(denoiser: DenoiserFn, x: torch.Tensor, t: float | torch.Tensor, step: int) -> torch.Tensor:
    with torch.no_grad():
        x0 = denoiser(x, t)
    if not bool(torch.isfinite(x0).all()):
        raise SamplingError(f"the denoiser returned NaN or Inf at step {step} (t = {float(torch.as_tensor(t).max()):.4g})")
    return x0


def _score(x: torch.Tensor, x0: torch.Tensor, t: float) -> torch.Tensor:
    """Tweedie: (alpha x0_hat - x) / sigma^2."""
    return (schedule.alpha(t) * x0 - x) / (schedule.sigma(t) ** 2)


def _grid(steps: int, final_denoise: bool, t_min: float, t_max: float, spacing: str, times=None) -> list[float]:
    """The run's decreasing times: `times` when given (a model's own grid, e.g. a diffusers
    scheduler's), else `steps` (+1 without the final denoising) spaced by `spacing`."""
    if times is not None:
        if len(times) != (steps if final_denoise else steps + 1) or any(b >= a for a, b in zip(times, times[1:])):
            raise UsageError(f"a grid of {len(times)} decreasing times does not fit {steps} steps")
        return [float(t) for t in times]
    return schedule.time_grid(steps if final_denoise else steps + 1, t_min, t_max, spacing).tolist()


def _final(x: torch.Tensor, x0_last: torch.Tensor, step: int, t_last: float, final_denoise: bool) -> Frame:
    if final_denoise:
        return Frame(step, 0.0, 0.0, x0_last, x0_last)
    return Frame(step, t_last, schedule.sigma(t_last), x, x)


def _walk(denoiser: DenoiserFn, x: torch.Tensor, steps: int, update, final_denoise: bool, t_min: float,
          t_max: float, spacing: str, times=None, start: int = 0) -> Iterator[Frame]:
    """The loop every grid sampler shares: at each level t_k evaluate x0_hat(x_k), yield the
    frame, then x_{k+1} = update(x_k, x0_hat, t_k, t_{k+1}, k). From k = start: x is then the
    state at t_start of a `steps`-step run (a fork)."""
    ts = _grid(steps, final_denoise, t_min, t_max, spacing, times)
    for k in range(start, steps):
        t = ts[k]
        x0 = _evaluate(denoiser, x, t, k)
        yield Frame(k, t, schedule.sigma(t), x, x0)
        if k + 1 < len(ts):
            x = update(x, x0, t, ts[k + 1], k)
    yield _final(x, x0, steps, ts[-1], final_denoise)


def sde(denoiser: DenoiserFn, x: torch.Tensor, steps: int, *, generator: torch.Generator,
        final_denoise: bool = True, t_min: float = schedule.T_MIN, t_max: float = schedule.T_MAX,
        spacing: str = "log-sigma", times=None, start: int = 0) -> Iterator[Frame]:
    """Reverse damped-Langevin SDE, Euler-Maruyama. With Δ = t_k - t_{k+1} > 0:
    x <- x + Δ (x + 2 score(x, t_k)) + sqrt(2Δ) ξ,  ξ ~ N(0, I)."""
    def update(x, x0, t, t_next, k):
        dt = t - t_next
        return x + dt * (x + 2 * _score(x, x0, t)) + math.sqrt(2 * dt) * _randn_like(x, generator)
    return _walk(denoiser, x, steps, update, final_denoise, t_min, t_max, spacing, times, start)


def ode(denoiser: DenoiserFn, x: torch.Tensor, steps: int, *, generator: torch.Generator | None = None,
        final_denoise: bool = True, t_min: float = schedule.T_MIN, t_max: float = schedule.T_MAX,
        spacing: str = "log-sigma", times=None, start: int = 0) -> Iterator[Frame]:
    """Probability-flow ODE dx/dt = -x - score(x, t), integrated from t_max down by Heun's method."""
    def velocity(x, x0, t):
        return -x - _score(x, x0, t)

    def update(x, x0, t, t_next, k):
        h = t_next - t
        d1 = velocity(x, x0, t)
        x_euler = x + h * d1
        d2 = velocity(x_euler, _evaluate(denoiser, x_euler, t_next, k), t_next)
        return x + 0.5 * h * (d1 + d2)
    return _walk(denoiser, x, steps, update, final_denoise, t_min, t_max, spacing, times, start)


def ddim(denoiser: DenoiserFn, x: torch.Tensor, steps: int, *, generator: torch.Generator | None = None,
         final_denoise: bool = True, t_min: float = schedule.T_MIN, t_max: float = schedule.T_MAX,
         spacing: str = "log-sigma", times=None, start: int = 0) -> Iterator[Frame]:
    """Deterministic DDIM: eps_hat = (x_t - alpha_t x0_hat)/sigma_t, x_{t'} = alpha_{t'} x0_hat + sigma_{t'} eps_hat."""
    def update(x, x0, t, t_next, k):
        eps = (x - schedule.alpha(t) * x0) / schedule.sigma(t)
        return schedule.alpha(t_next) * x0 + schedule.sigma(t_next) * eps
    return _walk(denoiser, x, steps, update, final_denoise, t_min, t_max, spacing, times, start)


def dpm2m(denoiser: DenoiserFn, x: torch.Tensor, steps: int, *, generator: torch.Generator | None = None,
          final_denoise: bool = True, t_min: float = schedule.T_MIN, t_max: float = schedule.T_MAX,
          spacing: str = "log-sigma", times=None, start: int = 0) -> Iterator[Frame]:
    """DPM-Solver++(2M) (Lu et al. 2022, data prediction), with lambda_t = log(alpha_t/sigma_t),
    h = lambda_{t'} - lambda_t, r = h_prev/h:
        D = (1 + 1/(2r)) x0_hat_k - 1/(2r) x0_hat_{k-1}  (D = x0_hat_k on the first step, and on
        the last, the step down to t_min: measured on Gaussian data against the exact flow, a
        first-order last step has 2-35 % lower error at 10-80 steps, but 1.8x higher at 5),
        x_{t'} = (sigma_{t'}/sigma_t) x_t - alpha_{t'} (e^{-h} - 1) D.
    With D = x0_hat_k it is DDIM. One denoiser call per step."""
    state = {}
    last = (steps - 1 if final_denoise else steps) - 1          # the index of the last update

    def update(x, x0, t, t_next, k):
        lam, lam_next = -math.log(schedule.sigma_over_alpha(t)), -math.log(schedule.sigma_over_alpha(t_next))
        h = lam_next - lam
        d = x0
        if "x0" in state and k != last:
            r = state["h"] / h
            d = (1 + 1 / (2 * r)) * x0 - (1 / (2 * r)) * state["x0"]
        state.update(x0=x0, h=h)
        return (schedule.sigma(t_next) / schedule.sigma(t)) * x - schedule.alpha(t_next) * math.expm1(-h) * d
    return _walk(denoiser, x, steps, update, final_denoise, t_min, t_max, spacing, times, start)


def ascent(denoiser: DenoiserFn, x: torch.Tensor, steps: int = 1000, *, generator: torch.Generator,
           final_denoise: bool = True, h0: float = 0.01, beta: float = 0.1, sigma0: float = 1.0,
           sigma_inf: float = 0.05, mean: float = 0.0) -> Iterator[Frame]:
    """Kadkhodaie-Simoncelli stochastic coarse-to-fine ascent (ICLR 2024, App. A.2), for a
    denoiser told its noise level.

    In VE coordinates y = x_0 + s z, starting at y = mean + sigma0 * x (x the initial noise):
        h_k = h0 k / (1 + h0 (k - 1));  d = f(y) - y;  r^2 = ||d||^2 / D (per sample);
        y <- y + h_k d + gamma xi,  gamma^2 = (1 - beta h)^2 s^2 - (1 - 2h) s^2 - h^2 r^2;
        s <- (1 - beta h_k) s,
    until s <= sigma_inf, or `steps` iterations. The level s is carried, not read off the
    residual: r^2 = s^2 - mmse/D < s^2 once s is comparable to the data's spread (Gaussian data:
    E r^2 = mean s^4 / (lambda + s^2)), and a denoiser told r stops the run with noise left in it.
    gamma is chosen so that the variance of y after the step is that of data plus noise of level
    (1 - beta h) s, averaged over directions: the paper's gamma^2 = ((1 - beta h)^2 - (1 - h)^2) r^2
    plus h^2 (s^2 - r^2), the posterior spread that h d removes too (exact for Gaussian data whose
    covariance is a multiple of I). f(y) calls the OU denoiser at x_t = alpha y, t = 1/2 ln(1 + s^2).
    Frames are in OU coordinates: x_t = alpha y, sigma = sigma(t).
    """
    b = x.shape[0]
    dims = x[0].numel()
    y = mean + sigma0 * x
    view = (b,) + (1,) * (x.ndim - 1)
    levels = ascent_levels(steps, h0, beta, sigma0, sigma_inf)
    for k, (level, h) in enumerate(levels):
        t = float(schedule.t_from_sigma_over_alpha(level))
        a = schedule.alpha(t)
        x0 = _evaluate(denoiser, a * y, t, k)
        yield Frame(k, t, schedule.sigma(t), a * y, x0)
        if k + 1 == len(levels):
            break
        d = x0 - y
        r2 = d.flatten(1).double().pow(2).sum(1).cpu() / dims
        gamma2 = ((1 - beta * h) ** 2 - (1 - 2 * h)) * level ** 2 - h * h * r2
        gamma = gamma2.clamp(min=0).sqrt().to(x.device, x.dtype).view(view)
        y = y + h * d + gamma * _randn_like(x, generator)
    last = a * y if not final_denoise else x0
    yield Frame(k + 1, 0.0 if final_denoise else t, 0.0 if final_denoise else schedule.sigma(t), last, last)


def ascent_levels(steps: int, h0: float = 0.01, beta: float = 0.1, sigma0: float = 1.0,
                  sigma_inf: float = 0.05) -> list[tuple[float, float]]:
    """(s_k, h_k) of the ascent's iterations: s_0 = sigma0, s_{k+1} = (1 - beta h_k) s_k, up to
    the first s_k <= sigma_inf, at most `steps` of them (the run is known before it starts)."""
    out, level = [], float(sigma0)
    for k in range(steps):
        out.append((level, h0 * (k + 1) / (1 + h0 * k)))
        if level <= sigma_inf:
            break
        level *= 1 - beta * out[-1][1]
    return out


SAMPLERS: dict[str, Callable[..., Iterator[Frame]]] = {"sde": sde, "ode": ode, "ddim": ddim, "dpm2m": dpm2m,
                                                      "ascent": ascent}


def frame_count(sampler: str, steps: int, start: int = 0, **options) -> int | None:
    """Frames a run of `steps` steps (continued from step `start`) yields: steps + 1 - start on
    a time grid; for the ascent (with its `options`), its iterations up to sigma_inf, plus one."""
    if sampler == "ascent":
        return len(ascent_levels(steps, **options)) + 1
    return steps + 1 - start if sampler in GRID_SAMPLERS else None


def evaluations(sampler: str, steps: int) -> int:
    """Denoiser calls of one run of `steps` steps (Heun: two per step but the last)."""
    return 2 * steps - 1 if sampler == "ode" else steps


def sample(denoiser: DenoiserFn, x_init: torch.Tensor, sampler: str = "sde", steps: int | None = None, *,
           seed: int | None = 0, generator: torch.Generator | None = None, meta: dict | None = None,
           keep_frames: bool = True, **options) -> Generator[Frame, None, Trajectory]:
    """Run `sampler` from the initial noise `x_init` (B, C, H, W): yields Frames, returns the
    Trajectory (of every frame, or of the last only with keep_frames=False).

    The SDE and ascent increments come from `generator`, or from one seeded by seed + 1 (the
    initial noise conventionally comes from `seed` itself, see `initial_noise`).
    """
    if sampler not in SAMPLERS:
        raise UsageError(f"unknown sampler {sampler!r}; choose one of {', '.join(SAMPLERS)}")
    steps = DEFAULT_STEPS[sampler] if steps is None else int(steps)
    if steps < 1:
        raise UsageError("steps must be at least 1")
    if generator is None:
        generator = torch.Generator().manual_seed(0 if seed is None else int(seed) + 1)
    frames = []
    for frame in SAMPLERS[sampler](denoiser, x_init, steps, generator=generator, **options):
        keep(frames, frame, keep_frames)
        yield frame
    info = {"sampler": sampler, "steps": steps, "seed": seed, **(meta or {})}
    return Trajectory(frames=frames, meta=info, x_init=x_init)
