"""Forks: what each noise level decides. From frame k of a run, the rest is re-sampled n times from
the same state x_t with fresh noise (the reverse SDE by default: a deterministic sampler would
give n equal endings). The spread of the n final images,

    spread_k = sqrt( mean_i ||x_i - mean_j x_j||^2 / D ),

falls from about the data's spread (a fork at pure noise decides nothing) to 0 (at the end all
is decided); the noise level where it falls is where the image is decided. (It divides by n, not
n - 1: at n = 8 it reads about 6 % below an unbiased spread.) A fork draws its SDE increments from
its own stream, seeded by (seed, step), never the parent run's. A fork with DPM-Solver++ restarts its
multistep memory (a first-order first step), so it is not the parent's deterministic continuation.
"""
from __future__ import annotations

from typing import Generator

import numpy as np
import torch

from explorer.core.errors import UsageError
from explorer.core.models import Model, RunSpec, check_made_by
from explorer.core.sampling.trajectory import Trajectory, drain


def fork_spec(model: Model, traj: Trajectory, step: int, n: int = 8, seed: int = 0, sample: int = 0,
              sampler: str = "sde", device: str = "cpu") -> RunSpec:
    """The RunSpec of n endings of `traj` from its frame `step` (sample `sample`), checked."""
    if model.fork_refusal:
        raise UsageError(model.fork_refusal)
    meta = traj.meta
    steps = meta.get("steps")
    if not isinstance(steps, int) or meta.get("start", 0) or len(traj.frames) != steps + 1:
        raise UsageError("a fork needs a whole run on a time grid (steps + 1 frames), as `explorer sample` writes")
    check_made_by(model, meta)
    shape = tuple(np.shape(traj.frames[0].x_t)[1:])
    if shape != tuple(model.image_shape):
        raise UsageError(f"the run's images are {shape} (channels, height, width), but {model.name} makes "
                         f"{tuple(model.image_shape)}: fork a run this model made")
    if not 0 <= step < steps:
        raise UsageError(f"the step {step} is not in the run's 0..{steps - 1} (a fork needs a step with noise left)",
                         field="step")
    if not 0 <= sample < len(traj.frames[0].x_t):
        raise UsageError(f"the sample {sample} is not in the run's 0..{len(traj.frames[0].x_t) - 1}", field="sample")
    x = torch.tensor(np.asarray(traj.frames[step].x_t[sample]), dtype=torch.float32)
    spec = RunSpec.from_meta(meta, sampler=sampler, n=n, seed=fork_seed(seed, step), device=device,
                             x_init=x[None].repeat(n, 1, 1, 1), start=step)
    return spec.resolved(model)


def fork_seed(seed: int, step: int) -> int:
    """The seed of a fork's run (its increments come from this + 1): a stream of its own per
    (seed, step), apart from the parent run's seed + 1."""
    return (1_000_003 * (seed + 1) + 7919 * (step + 1)) % (2 ** 62)


def fork(model: Model, traj: Trajectory, step: int, n: int = 8, seed: int = 0, sample: int = 0,
         sampler: str = "sde", device: str = "cpu") -> Trajectory:
    """n endings of `traj` from its frame `step` (sample `sample`), on the run's own time grid."""
    out = drain(model.run(fork_spec(model, traj, step, n, seed, sample, sampler, device)))
    out.meta |= {"fork_of": traj.meta.get("checkpoint"), "fork_step": step, "fork_sample": sample,
                 "fork_sigma": traj.frames[step].sigma, "fork_seed": seed}
    return out


def spread(finals: np.ndarray) -> float:
    """RMS over pixels of the endings' deviation from their mean; finals: (n, C, H, W)."""
    f = np.asarray(finals, np.float64).reshape(len(finals), -1)
    return float(np.sqrt(((f - f.mean(0)) ** 2).sum(1).mean() / f.shape[1]))


def spread_curve_steps(model: Model, traj: Trajectory, steps: list[int], n: int = 8, seed: int = 0, sample: int = 0,
                       sampler: str = "sde") -> Generator[int, None, list[dict]]:
    """Forks at each step in `steps`: yields forks done, returns rows {step, t, sigma,
    sigma_over_alpha, spread}."""
    rows = []
    for i, k in enumerate(steps):
        finals = np.asarray(fork(model, traj, k, n, seed, sample, sampler).sample)
        f = traj.frames[k]
        rows.append({"step": k, "t": f.t, "sigma": f.sigma, "level": f.level,
                     "spread": spread(finals)})
        yield i + 1
    return rows


def spread_curve(model: Model, traj: Trajectory, steps: list[int], n: int = 8, seed: int = 0, sample: int = 0,
                 sampler: str = "sde") -> list[dict]:
    return drain(spread_curve_steps(model, traj, steps, n, seed, sample, sampler))


def curve_steps(n_frames: int, count: int = 8) -> list[int]:
    """`count` fork steps evenly spread over a run of n_frames frames (the last frame excluded)."""
    return sorted({int(round(v)) for v in np.linspace(0, n_frames - 2, count)})
