"""Sampling a checkpoint: the one code path the CLI and the window share."""
from __future__ import annotations

from typing import Generator

import numpy as np
import torch

from explorer import __version__
from explorer.core import samplers
from explorer.core.checkpoint import Checkpoint
from explorer.core.trajectory import Frame, Trajectory


def sampler_options(ckpt: Checkpoint, sampler: str) -> dict:
    """Options a sampler takes from the model's data: the ascent starts at N(mean, sigma0^2 I)
    with sigma0 = max(1, 3 std), so that the initial noise dominates the data's spread (the
    paper's sigma0 = 1 is for images in [0, 1])."""
    if sampler != "ascent":
        return {}
    data = ckpt.config.get("data") or {}
    return {"mean": float(data.get("mean", 0.0)), "sigma0": max(1.0, 3 * float(data.get("std", 0.0)))}


def run_meta(ckpt: Checkpoint, sampler: str, steps: int | None, seed: int, device: torch.device | str,
             final_denoise: bool = True) -> dict:
    """What a run records about itself (npz `meta`, PNG text chunks)."""
    return {"checkpoint": ckpt.name, "checkpoint_sha256": ckpt.sha256, "sampler": sampler,
            "steps": samplers.DEFAULT_STEPS[sampler] if steps is None else int(steps), "seed": seed,
            "device": torch.device(device).type, "final_denoise": final_denoise, "version": __version__}


def sample_checkpoint(ckpt: Checkpoint, n: int, sampler: str = "sde", steps: int | None = None, seed: int = 0,
                      device: torch.device | str = "cpu", final_denoise: bool = True,
                      x_init: torch.Tensor | None = None) -> Generator[Frame, None, Trajectory]:
    """Sample `n` images from a checkpoint; x_init (n, C, H, W) defaults to initial_noise(seed)."""
    if n < 1:
        raise ValueError("the number of samples must be at least 1")
    device = torch.device(device)
    model = ckpt.model.to(device)
    if x_init is None:
        x_init = samplers.initial_noise((n, *ckpt.image_shape), seed=seed)
    meta = run_meta(ckpt, sampler, steps, seed, device, final_denoise)
    return samplers.sample(model, x_init.to(device), sampler, steps, seed=seed, meta=meta,
                           final_denoise=final_denoise, **sampler_options(ckpt, sampler))


def final_samples(ckpt: Checkpoint, n: int, sampler: str = "ode", steps: int | None = None, seed: int = 0,
                  device: torch.device | str = "cpu", batch: int = 256, progress=None) -> np.ndarray:
    """Only the final samples (n, C, H, W) float32, made in chunks of `batch` (no frames kept).
    Chunk i uses seed + i, so n and batch together fix the result."""
    out = []
    for i, start in enumerate(range(0, n, batch)):
        m = min(batch, n - start)
        traj = samplers.run(sample_checkpoint(ckpt, m, sampler, steps, seed + i, device))
        out.append(traj.sample.detach().cpu().float().numpy())
        if progress:
            progress(start + m, n)
    return np.concatenate(out)
