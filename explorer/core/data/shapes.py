"""Synthetic geometric images: regions with smooth random contours, as the C^alpha images of
Kadkhodaie et al. (ICLR 2024).

Image i of seed s is a pure function of (s, i, params): 1-3 regions painted in turn over a
smooth background. A region's boundary is star-shaped, r(theta) = r0 (1 + sum_k a_k cos(k theta
+ phi_k)), k = 1..12, with |a_k| ~ k^-p and p drawn in [0.6, 1.6] (slow decay: wiggly, varied
contours; p = 2 gives near-discs), then stretched and rotated. Intensities are constant or
linear ramps in [0, 1]; the image is anti-aliased and blurred by a Gaussian of `blur` pixels.
Output: (n, 1, size, size) float32 in [0, 1].
"""
from __future__ import annotations

import math

import torch

DEFAULTS = {"size": 32, "blur": 0.6, "harmonics": 12, "decay_min": 0.6, "decay_max": 1.6}


def _uniform(g: torch.Generator, lo: float, hi: float, n: int = 1) -> torch.Tensor:
    return lo + (hi - lo) * torch.rand(n, generator=g, dtype=torch.float64)


def _ramp(g: torch.Generator, xx: torch.Tensor, yy: torch.Tensor) -> torch.Tensor:
    """A constant (half the time) or a linear ramp of random direction, values in [0, 1]."""
    level = float(_uniform(g, 0.0, 1.0))
    if float(torch.rand(1, generator=g)) < 0.5:
        return torch.full_like(xx, level)
    angle = float(_uniform(g, 0, 2 * math.pi))
    slope = float(_uniform(g, -0.6, 0.6))
    ramp = level + slope * ((xx - 0.5) * math.cos(angle) + (yy - 0.5) * math.sin(angle))
    return ramp.clamp(0.0, 1.0)


def _blur(img: torch.Tensor, width: float) -> torch.Tensor:
    if width <= 0:
        return img
    r = max(1, int(math.ceil(3 * width)))
    k = torch.exp(-0.5 * (torch.arange(-r, r + 1, dtype=img.dtype) / width) ** 2)
    k = k / k.sum()
    x = img[None, None]
    x = torch.nn.functional.pad(x, (r, r, r, r), mode="replicate")
    x = torch.nn.functional.conv2d(x, k.view(1, 1, 1, -1))
    x = torch.nn.functional.conv2d(x, k.view(1, 1, -1, 1))
    return x[0, 0]


def image(seed: int, index: int, size: int = 32, blur: float = 0.6, harmonics: int = 12,
          decay_min: float = 0.6, decay_max: float = 1.6) -> torch.Tensor:
    """Image `index` of the stream `seed`: (size, size) float64 in [0, 1]."""
    g = torch.Generator().manual_seed((int(seed) * 1_000_003 + int(index)) % (2 ** 63))
    c = (torch.arange(size, dtype=torch.float64) + 0.5) / size
    yy, xx = torch.meshgrid(c, c, indexing="ij")
    img = _ramp(g, xx, yy)
    k = torch.arange(1, harmonics + 1, dtype=torch.float64)
    pixel = 1.0 / size
    for _ in range(int(torch.randint(1, 4, (1,), generator=g))):
        cx, cy = _uniform(g, 0.15, 0.85, 2).tolist()
        r0 = float(_uniform(g, 0.10, 0.32))
        decay = float(_uniform(g, decay_min, decay_max))
        amp = torch.randn(harmonics, generator=g, dtype=torch.float64) * k ** -decay
        amp = amp * (float(_uniform(g, 0.2, 0.7)) / amp.abs().sum())       # keeps r > 0
        phase = _uniform(g, 0, 2 * math.pi, harmonics)
        stretch = float(_uniform(g, 0.6, 1.0))
        rot = float(_uniform(g, 0, math.pi))
        dx, dy = xx - cx, yy - cy
        u = dx * math.cos(rot) + dy * math.sin(rot)
        v = (-dx * math.sin(rot) + dy * math.cos(rot)) / stretch
        rho, theta = torch.sqrt(u * u + v * v), torch.atan2(v, u)
        boundary = r0 * (1 + (amp[:, None, None] * torch.cos(k[:, None, None] * theta + phase[:, None, None])).sum(0))
        inside = torch.sigmoid((boundary - rho) / (0.5 * pixel))           # anti-aliased indicator
        img = inside * _ramp(g, xx, yy) + (1 - inside) * img
    return _blur(img, blur).clamp(0.0, 1.0)


def images(seed: int, start: int, count: int, **params) -> torch.Tensor:
    """Images start..start+count-1 of the stream `seed`: (count, 1, size, size) float32."""
    p = {**DEFAULTS, **params}
    return torch.stack([image(seed, i, **p) for i in range(start, start + count)])[:, None].float()
