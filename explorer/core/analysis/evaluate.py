"""Denoising quality on the training set and on held-out data (Kadkhodaie et al. 2024, fig. 1).

PSNR(s) = 10 log10(R^2 / MSE(x0_hat(alpha x_0 + sigma z), x_0)) at noise-to-signal levels s,
with R the data range. A memorising denoiser is far better on its training set than on fresh
images; a generalising one is equally good on both.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from explorer.core.data import fresh_images, training_set
from explorer.core.models.diffusion import DiffusionModel
from explorer.core.sampling import schedule

LEVELS = (0.05, 0.1, 0.2, 0.4, 0.8, 1.6)


def psnr(model, x0: torch.Tensor, s: float, generator: torch.Generator, data_range: float, batch: int = 256) -> float:
    t = float(schedule.t_from_sigma_over_alpha(s))
    errs = []
    with torch.no_grad():
        for i in range(0, len(x0), batch):
            x = x0[i:i + batch]
            z = torch.randn(x.shape, generator=generator)
            errs.append((model(schedule.forward(x, t, z), t) - x).pow(2).flatten(1).mean(1))
    mse = float(torch.cat(errs).mean())
    return 10 * math.log10(data_range ** 2 / max(mse, 1e-20))


def psnr_table(model: DiffusionModel, n: int = 256, seed: int = 0, levels=LEVELS) -> dict:
    data = model.data
    train = torch.from_numpy(training_set(data))
    idx = torch.randperm(len(train), generator=torch.Generator().manual_seed(seed))[:n]
    train = train[idx]
    test = torch.from_numpy(fresh_images(data, max(n, len(train))))[:n]
    lo, hi = float(np.percentile(test.numpy(), 0.5)), float(np.percentile(test.numpy(), 99.5))
    rng = max(hi - lo, 1e-6)
    rows = []
    for s in levels:
        g1, g2 = torch.Generator().manual_seed(seed + 1), torch.Generator().manual_seed(seed + 2)
        a, b = psnr(model.denoiser, train, s, g1, rng), psnr(model.denoiser, test, s, g2, rng)
        rows.append({"level": s, "train_psnr": a, "test_psnr": b, "gap": a - b})
    return {"checkpoint": model.name, "n_train": len(train), "n_test": len(test), "data_range": rng,
            "rows": rows, "mean_gap": float(np.mean([r["gap"] for r in rows]))}
