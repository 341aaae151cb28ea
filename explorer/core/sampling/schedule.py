"""The Ornstein-Uhlenbeck forward process and the time grids the samplers walk.

    dx = -x dt + sqrt(2) dW   =>   x_t = alpha(t) x_0 + sigma(t) z,
    alpha(t) = e^{-t},  sigma(t)^2 = 1 - e^{-2t},  z ~ N(0, I).

The noise-to-signal ratio ("VE sigma") is sigma_over_alpha(t) = sigma/alpha = sqrt(e^{2t} - 1), and
t = 1/2 ln(1 + sigma_over_alpha^2). Every function accepts numbers, numpy arrays or tensors (torch is imported
only for a grid or a tensor: the window's first paint does not wait for it).
"""
from __future__ import annotations

import math
from numbers import Real
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch

T_MIN = 1e-3  # sigma_over_alpha(T_MIN) ~ 0.045: below the pixel noise a viewer can see
T_MAX = 6.0   # alpha(T_MAX) ~ 0.0025: x_T is N(0, I) for unit-scale data

SPACINGS = ("log-sigma", "uniform")


def _f(name: str, x):
    """math.NAME of a number, numpy.NAME of an array, x.NAME() of a tensor."""
    if isinstance(x, Real):
        return getattr(math, name)(x)
    return getattr(np, name)(x) if isinstance(x, np.ndarray) else getattr(x, name)()


def alpha(t):
    """alpha(t) = e^{-t}."""
    return _f("exp", -t)


def sigma(t):
    """sigma(t) = sqrt(1 - e^{-2t})."""
    return _f("sqrt", -_f("expm1", -2 * t))


def sigma_over_alpha(t):
    """Noise-to-signal ratio sigma/alpha = sqrt(e^{2t} - 1)."""
    return _f("sqrt", _f("expm1", 2 * t))


def t_from_sigma_over_alpha(s):
    """Inverse of sigma_over_alpha: t = 1/2 ln(1 + s^2)."""
    return 0.5 * _f("log1p", s * s)


def t_from_sigma(s):
    """Inverse of sigma: t = -1/2 ln(1 - s^2), for 0 <= s < 1."""
    return -0.5 * _f("log1p", -s * s)


def forward(x0: torch.Tensor, t: float, noise: torch.Tensor) -> torch.Tensor:
    """x_t = alpha(t) x0 + sigma(t) noise; x0, noise: (B, C, H, W), t a float or (B,) tensor."""
    if not isinstance(t, Real) and t.ndim == 1:
        t = t.view(-1, *([1] * (x0.ndim - 1)))
    return alpha(t) * x0 + sigma(t) * noise


def time_grid(steps: int, t_min: float = T_MIN, t_max: float = T_MAX,
              spacing: str = "log-sigma") -> torch.Tensor:
    """Decreasing times t_0 = t_max > ... > t_{steps-1} = t_min, float64, shape (steps,).

    "log-sigma": uniform in log sigma_over_alpha (steps where the image forms);
    "uniform": uniform in t.
    """
    import torch

    if steps < 1:
        raise ValueError("steps must be at least 1")
    if not 0 < t_min < t_max:
        raise ValueError(f"need 0 < t_min < t_max, got t_min={t_min}, t_max={t_max}")
    if steps == 1:
        return torch.tensor([t_max], dtype=torch.float64)
    if spacing == "uniform":
        return torch.linspace(t_max, t_min, steps, dtype=torch.float64)
    if spacing == "log-sigma":
        lo = math.log(sigma_over_alpha(t_min))
        hi = math.log(sigma_over_alpha(t_max))
        s = torch.exp(torch.linspace(hi, lo, steps, dtype=torch.float64))
        return t_from_sigma_over_alpha(s)
    raise ValueError(f"unknown spacing {spacing!r}; choose one of {', '.join(SPACINGS)}")
