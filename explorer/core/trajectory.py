"""Frame and Trajectory: the one data model that flows from samplers to views and exporters.

A sampler yields one Frame per step and returns a Trajectory holding all of them. Arrays are
torch tensors inside the core; `Frame.to_numpy()` makes the CPU copy a view or exporter reads.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from explorer import __version__
from explorer.core.errors import ExplorerError


@dataclass(frozen=True)
class Frame:
    """One step of a run.

    step: index along the run; t, sigma: OU time and noise level sigma(t) = sqrt(1 - e^{-2t})
    of x_t; x_t: the state (B, C, H, W); x0_hat: the denoiser's estimate E[x_0 | x_t]
    (B, C, H, W); scale: the wavelet scale j for a WCRG run (j = 0 finest), None otherwise.
    """

    step: int
    t: float
    sigma: float
    x_t: Any
    x0_hat: Any
    scale: int | None = None

    def to_numpy(self) -> "Frame":
        """A copy with CPU float32 numpy arrays, made read-only so no one mutates them."""
        arrays = []
        for a in (self.x_t, self.x0_hat):
            a = a.detach().to("cpu", torch.float32).numpy().copy() if torch.is_tensor(a) else np.array(a, np.float32)
            a.setflags(write=False)
            arrays.append(a)
        return replace(self, x_t=arrays[0], x0_hat=arrays[1])


@dataclass
class Trajectory:
    """All the frames of one run and what made it.

    meta holds at least: checkpoint (name), checkpoint_sha256, sampler, steps, seed, version.
    The final sample is frames[-1].x0_hat.
    """

    frames: list[Frame]
    meta: dict = field(default_factory=dict)
    x_init: Any = None

    @property
    def sample(self):
        return self.frames[-1].x0_hat

    def arrays(self) -> dict[str, np.ndarray]:
        """t, sigma: (F,); x_t, x0_hat: (F, B, C, H, W) float32; scale: (F,) int (-1: none)."""
        frames = [f.to_numpy() if torch.is_tensor(f.x_t) else f for f in self.frames]
        out = {
            "t": np.array([f.t for f in frames], np.float64),
            "sigma": np.array([f.sigma for f in frames], np.float64),
            "x_t": np.stack([f.x_t for f in frames]),
            "x0_hat": np.stack([f.x0_hat for f in frames]),
        }
        if any(f.scale is not None for f in frames):
            out["scale"] = np.array([-1 if f.scale is None else f.scale for f in frames], np.int64)
        return out

    def save_npz(self, path: str | Path) -> Path:
        """Write the arrays and `meta` (a JSON string) to an .npz, atomically."""
        from explorer.core.export import atomic_write

        arrays = self.arrays()
        meta = json.dumps({"version": __version__, **self.meta})
        return atomic_write(Path(path), lambda f: np.savez(f, meta=np.array(meta), **arrays))

    @classmethod
    def load_npz(cls, path: str | Path) -> "Trajectory":
        """Read a file written by save_npz (no pickles are allowed)."""
        try:
            with np.load(Path(path), allow_pickle=False) as z:
                meta = json.loads(str(z["meta"]))
                t, sig, x_t, x0 = z["t"], z["sigma"], z["x_t"], z["x0_hat"]
                scale = z["scale"] if "scale" in z.files else None
        except FileNotFoundError:
            raise ExplorerError(f"{path}: no such file") from None
        except (OSError, ValueError, KeyError) as e:
            raise ExplorerError(f"{path}: not a trajectory file written by explorer ({e})") from None
        frames = []
        for k in range(len(t)):
            xt, xh = x_t[k], x0[k]
            xt.setflags(write=False)
            xh.setflags(write=False)
            s = None if scale is None or scale[k] < 0 else int(scale[k])
            frames.append(Frame(k, float(t[k]), float(sig[k]), xt, xh, s))
        return cls(frames=frames, meta=meta)
