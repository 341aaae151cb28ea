"""Frame and Trajectory: the one data model that flows from samplers to views and exporters.

A run is a generator: it yields one Frame per step and returns a Trajectory (all the frames, or
only the last with keep_frames=False). Inside the core a Frame holds torch tensors
(`Frame[torch.Tensor]`); `Frame.to_numpy()` makes the read-only CPU copy (`NumpyFrame`) that
views and exporters read. The module imports no torch (the window reads Frames before torch is
loaded); a Frame can hold a tensor only once something has imported torch.
"""
from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Generator, Generic, TypeVar

import numpy as np

if TYPE_CHECKING:
    import torch

from explorer import __version__
from explorer.core.errors import ExplorerError
from explorer.core.sampling.schedule import sigma_over_alpha

ArrayT = TypeVar("ArrayT", "torch.Tensor", np.ndarray)


def is_tensor(a) -> bool:
    """`a` is a torch tensor (without importing torch: before it is imported nothing is one)."""
    torch = sys.modules.get("torch")
    return torch is not None and torch.is_tensor(a)


@dataclass(frozen=True)
class Frame(Generic[ArrayT]):
    """One step of a run.

    step: index along the run; t, sigma: OU time and noise level sigma(t) = sqrt(1 - e^{-2t})
    of x_t; x_t: the state (B, C, H, W); x0_hat: the denoiser's estimate E[x_0 | x_t]
    (B, C, H, W); scale: for a WCRG run the scale j being generated (J for the coarse x_J
    and then the details of scale J, ..., 1 for the finest details), None otherwise.
    level: the model's own level of this frame, the one its slider and plots show (its name and
    unit: `model.display.level`): sigma/alpha = sqrt(e^{2t} - 1) of a diffusion step, filled in
    from t when not given; a scattering run's statistics error; the rms the Gaussian model has
    still to add. A model whose frames are not noise levels gives t = sigma = 0 and its level.
    """

    step: int
    t: float
    sigma: float
    x_t: ArrayT
    x0_hat: ArrayT
    scale: int | None = None
    level: float = None                                   # type: ignore[assignment]  (set in __post_init__)

    def __post_init__(self) -> None:
        if self.level is None:
            object.__setattr__(self, "level", float(sigma_over_alpha(self.t)))

    def to_numpy(self) -> "NumpyFrame":
        """A copy with CPU float32 numpy arrays, made read-only so no one mutates them."""
        arrays = []
        for a in (self.x_t, self.x0_hat):
            a = a.detach().cpu().float().numpy().copy() if is_tensor(a) else np.array(a, np.float32)
            a.setflags(write=False)
            arrays.append(a)
        return replace(self, x_t=arrays[0], x0_hat=arrays[1])


NumpyFrame = Frame[np.ndarray]


@dataclass
class Trajectory:
    """All the frames of one run and what made it.

    meta holds at least what `models.run_meta` records: checkpoint (name), checkpoint_sha256,
    sampler, steps, seed, version. The final sample is frames[-1].x0_hat.
    """

    frames: list[Frame]
    meta: dict = field(default_factory=dict)
    x_init: torch.Tensor | None = None

    @property
    def sample(self):
        return self.frames[-1].x0_hat

    def arrays(self) -> dict[str, np.ndarray]:
        """t, sigma, level: (F,); x_t, x0_hat: (F, B, C, H, W) float32; scale: (F,) int (-1: none)."""
        frames = [f.to_numpy() if is_tensor(f.x_t) else f for f in self.frames]
        out = {
            "t": np.array([f.t for f in frames], np.float64),
            "sigma": np.array([f.sigma for f in frames], np.float64),
            "level": np.array([f.level for f in frames], np.float64),
            "x_t": np.stack([f.x_t for f in frames]),
            "x0_hat": np.stack([f.x0_hat for f in frames]),
        }
        if any(f.scale is not None for f in frames):
            out["scale"] = np.array([-1 if f.scale is None else f.scale for f in frames], np.int64)
        return out

    def save_npz(self, path: str | Path) -> Path:
        """Write the arrays and `meta` (a JSON string) to an .npz, atomically."""
        from explorer.core.files.io import atomic_write

        arrays = self.arrays()
        meta = json.dumps({"version": __version__, **self.meta})
        return atomic_write(Path(path), lambda f: np.savez(f, meta=np.array(meta), **arrays))

    @classmethod
    def load_npz(cls, path: str | Path) -> "Trajectory":
        """Read a file written by save_npz, every array and `meta` checked before use (see `check_run`)."""
        from explorer.core.files.io import load_arrays
        from explorer.core.files.schema import MAX_RUN_BYTES

        if Path(path).is_dir() or str(path).endswith(".safetensors"):
            raise ExplorerError(f"{path}: is a model, not a run; make a run of it with `explorer sample MODEL --out "
                                f"run.npz` (or Run in the window, then File → Save run)")
        arrays = load_arrays(path, "run (.npz)", MAX_RUN_BYTES, ExplorerError)
        meta, t, sig, level, x_t, x0, scale = check_run(arrays, str(path))
        frames = []
        for k in range(len(t)):
            xt, xh = x_t[k], x0[k]
            xt.setflags(write=False)
            xh.setflags(write=False)
            s = None if scale is None or scale[k] < 0 else int(scale[k])
            frames.append(Frame(k, float(t[k]), float(sig[k]), xt, xh, s, float(level[k])))
        return cls(frames=frames, meta=meta)


def is_run_file(path: str | Path) -> bool:
    """Whether `path` names a saved run (by its .npz suffix: a special file is never opened to look)."""
    return Path(path).suffix.lower() == ".npz"


RUN_META = {"checkpoint": str, "checkpoint_path": str, "checkpoint_sha256": str, "sampler": str, "steps": int,
            "seed": int, "n": int, "J": int, "levels": int, "wavelet": str, "colormap": str, "version": str,
            "level": str, "final_denoise": bool, "start": int, "coarse_sampler": str, "coarse_steps": int}


def check_run(arrays: dict, where: str) -> tuple:
    """The arrays of a run file checked: meta a JSON object (known keys typed), t and sigma (F,)
    finite floats, x_t and x0_hat (F, B, C, H, W) finite floats with C = 1 or 3, scale (F,)
    integers if present; level (F,) finite floats if present (a run written before frames carried
    their level: sigma/alpha of t, which is what those runs showed); F >= 1, B >= 1.
    Returns (meta, t, sigma, level, x_t, x0_hat, scale)."""
    from explorer.core.files import schema
    from explorer.core.files.io import parse_json

    def bad(text: str) -> ExplorerError:
        return ExplorerError(f"{where}: not a run written by explorer: {text}")

    missing = [k for k in ("meta", "t", "sigma", "x_t", "x0_hat") if k not in arrays]
    if missing:
        raise bad(f"no {', '.join(missing)}")
    m = arrays["meta"]
    if m.ndim != 0 or m.dtype.kind != "U":
        raise bad("meta is not a JSON string")
    if len(str(m)) > 2 ** 20:
        raise bad(f"meta has {len(str(m)):,} characters, more than the 1 MiB explorer reads")
    meta = parse_json(str(m), f"{where}: meta", ExplorerError, max_depth=16)
    if not isinstance(meta, dict):
        raise bad("meta is not a JSON object")
    for key, kind in RUN_META.items():
        schema.value(meta, key, kind, f"{where}: meta", ExplorerError, default=None,
                     **({"lo": 0, "hi": 16} if key in ("J", "levels") else {}))
    t, sig, x_t, x0 = (arrays[k] for k in ("t", "sigma", "x_t", "x0_hat"))
    level = arrays.get("level")
    if level is None and t.dtype.kind in "fiu":
        level = sigma_over_alpha(t.astype(np.float64))
    for name, a, ndim in (("t", t, 1), ("sigma", sig, 1), ("level", level if level is not None else t, 1),
                          ("x_t", x_t, 5), ("x0_hat", x0, 5)):
        if a.ndim != ndim or a.dtype.kind not in "fiu":
            raise bad(f"{name} must be a {ndim}-D array of real numbers, not {a.ndim}-D {a.dtype}")
        with np.errstate(over="ignore", invalid="ignore"):
            finite = np.isfinite(a.astype(np.float32, copy=False)).all()     # as explorer holds them: float32
        if not finite:
            raise bad(f"{name} holds NaN or infinite values, or values beyond float32")
    F = len(t)
    if F == 0 or x_t.shape[1] == 0:
        raise bad("it has no frames" if F == 0 else "it has no samples")
    if len(sig) != F or len(level) != F or x_t.shape[0] != F or x0.shape != x_t.shape:
        raise bad(f"t has {F} frames, sigma {len(sig)}, x_t {x_t.shape[0]}, x0_hat {x0.shape[0]} "
                  f"(x_t {x_t.shape}, x0_hat {x0.shape})")
    if x_t.shape[2] not in (1, 3) or min(x_t.shape[3:]) < 1:
        raise bad(f"frames of shape {x_t.shape[2:]}: explorer shows 1 or 3 channels")
    scale = arrays.get("scale")
    if scale is not None and (scale.shape != (F,) or scale.dtype.kind not in "iu"):
        raise bad(f"scale must be {F} integers")
    return meta, t.astype(np.float64), sig.astype(np.float64), level.astype(np.float64), x_t.astype(np.float32, copy=False), \
        x0.astype(np.float32, copy=False), scale


def keep(frames: list[Frame], frame: Frame, keep_frames: bool) -> None:
    """Add `frame` to a run's list: every frame, or (keep_frames=False) only the latest."""
    if keep_frames or not frames:
        frames.append(frame)
    else:
        frames[0] = frame


def drain(run: Generator[Frame, None, Trajectory], callback: Callable[[Frame], None] | None = None) -> Trajectory:
    """Run a generator of Frames to its end, calling `callback(frame)` on each; return its Trajectory."""
    while True:
        try:
            frame = next(run)
        except StopIteration as stop:
            return stop.value
        if callback is not None:
            callback(frame)
