"""The Gaussian model a physicist tries first: the data's mean and isotropic power spectrum.

    x = mean + F^-1( sqrt(P(|q|)) zhat(q) ),   zhat = F(z), z white N(0, 1) on the H x W grid,

with P(k) = < |xhat(q)|^2 / (H W) > over the data (less its global mean) and over the shell
k = round(|q|) (k = 0 .. the grid's corner), so E |xhat(q)|^2 / (H W) = P(|q|) for the generated
fields. P(0) = H W var(field means): each field's own mean varies as the data's do (a magnetised
phase keeps its <|m|>). Its parameters: the global mean and one number per shell (a few dozen).
"""
from __future__ import annotations

import numpy as np
import torch

from explorer.core.statistics.stats import power_2d, shell_mean, shells


def fit(x: np.ndarray) -> dict:
    """The model of fields x (N, [C,] H, W): {"mean", "power" (shells 0 .. max)}."""
    x = np.asarray(x, np.float64)
    h, w = x.shape[-2:]
    mean = float(x.mean())
    shell = shell_mean(power_2d(x - mean), range(shells(h, w).max() + 1))
    return {"mean": mean, "power": shell, "shape": (h, w)}


def parameters(model: dict) -> int:
    """The global mean and one power per shell k >= 0."""
    return 1 + len(model["power"])


def sample(model: dict, n: int, seed: int = 0) -> np.ndarray:
    """n fields (n, 1, H, W) float32 from white noise seeded by `seed`."""
    h, w = model["shape"]
    z = torch.randn(n, h, w, generator=torch.Generator().manual_seed(int(seed)), dtype=torch.float64)
    gain = torch.from_numpy(np.sqrt(model["power"][shells(h, w)]))
    x = torch.fft.ifft2(torch.fft.fft2(z) * gain).real + model["mean"]
    return x.float().numpy()[:, None]
