"""The Gaussian model of a field as a Model: the physicist's first try, beside the networks.

    x = mean + F^-1( sqrt(P(|q|)) zhat(q) ),   zhat = F(z), z white N(0, 1) on the H x W grid

(`gaussian_field`: P per shell k = round(|q|), a few dozen numbers). A run builds the field from
coarse to fine: frame j (j = 0 .. steps) holds the mean plus the shells k <= k_j, with k_j
log-spaced from 1 to the grid's corner (frame 0: each field's own mean, k = 0; the last: the
whole field). Its
sigma is the rms of what is still missing, sqrt(sum over the excluded q of P / (H W)), in the data's
units (0 on the last frame); t = 1/2 ln(1 + sigma^2), so that the sigma/alpha axis shows sigma.

The file, NAME.gauss.safetensors: the tensor power (shells,) float64; metadata "explorer": a
checkpoint config of kind "gaussian" with {"mean", "size"}, the data record and the command.
"""
from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Generator

import numpy as np
import torch
from safetensors.torch import save as st_save

from explorer import __version__
from explorer.core.data import check_record, colormap_for, data_shape, resolved_k
from explorer.core.errors import CheckpointError, ConfigError, ShapeMismatch, UsageError
from explorer.core.files import schema
from explorer.core.models import checkpoint
from explorer.core.models.base import DisplayHints, ModelBase, RunSpec, run_meta
from explorer.core.sampling.trajectory import Frame, Trajectory, keep
from explorer.core.statistics import gaussian_field, stats

SUFFIX = ".gauss.safetensors"
KIND = "gaussian"
SAMPLER = "spectral"
MAX_VALUE = 1e6                   # |mean| and sqrt(power) at most this: the samples stay finite in float32


@dataclass
class GaussianModel(ModelBase):
    """A loaded, validated Gaussian model."""

    path: Path
    config: dict
    power: np.ndarray            # (shells,) P(k), k = 0 .. the corner
    sha256: str

    @property
    def name(self) -> str:
        return self.config.get("name") or self.path.name[: -len(SUFFIX)]

    @property
    def kind(self) -> str:
        return KIND

    @property
    def size(self) -> int:
        return int(self.config["gaussian"]["size"])

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return (1, self.size, self.size)

    @property
    def parameters(self) -> int:
        """The global mean and one power per shell."""
        return gaussian_field.parameters(self._field())

    @property
    def data(self) -> dict:
        return self.config.get("data") or {}

    @property
    def samplers(self) -> tuple[str, ...]:
        return (SAMPLER,)

    @property
    def display(self) -> DisplayHints:
        return DisplayHints(colormap=colormap_for(self.data), level="rms missing",
                            panels=("x: the shells k ≤ k_j so far", None))

    def default_steps(self, sampler: str) -> int:
        return max(1, math.ceil(math.log2(len(self.power) - 1)))         # about one frame per octave

    def frame_count(self, spec: RunSpec) -> int | None:
        return spec.steps + 1

    def _field(self) -> dict:
        return {"mean": float(self.config["gaussian"]["mean"]), "power": self.power, "shape": (self.size, self.size)}

    def summary(self) -> dict:
        return {"name": self.name, "path": str(self.path), "sha256": self.sha256, "kind": self.kind,
                "image_shape": list(self.image_shape), "parameters": self.parameters, **self.config}

    def describe(self) -> str:
        return checkpoint.describe_file_model(self, f"Gaussian field, {self.parameters} parameters, image {self.image_shape}", [
            f"  sampler   {SAMPLER}: white noise filtered by sqrt(P(|q|)), shells added coarse to fine"])

    def run(self, spec: RunSpec) -> Generator[Frame, None, Trajectory]:
        """The field of spec.seed's white noise (or spec.x_init's), built over spec.steps bands."""
        from explorer.core.sampling.samplers import initial_noise

        spec = spec.resolved(self)
        z = (spec.x_init if spec.x_init is not None else initial_noise((spec.n, *self.image_shape), seed=spec.seed))
        zhat = torch.fft.fft2(z.double()[:, 0])
        shells = torch.from_numpy(stats.shells(self.size, self.size))
        gain = torch.from_numpy(np.sqrt(self.power))[shells]
        variance = torch.from_numpy(self.power)[shells] / (self.size * self.size)   # per q: its share of the variance
        corner = len(self.power) - 1
        mean = float(self.config["gaussian"]["mean"])
        frames: list[Frame] = []
        for j in range(spec.steps + 1):
            k_j = corner ** (j / spec.steps) if j else 0.0
            inside = shells <= k_j + 1e-9
            x = (torch.fft.ifft2(zhat * gain * inside).real + mean).float()[:, None]
            f = Frame(j, 0.0, 0.0, x, x, level=math.sqrt(float(variance[~inside].sum())))   # the rms still missing
            keep(frames, f, spec.keep_frames)
            yield f
        meta = {**run_meta(self, spec), "colormap": self.display.colormap}
        return Trajectory(frames=frames, meta=meta, x_init=z.float())


# --- the file ------------------------------------------------------------------------------------

def check_config(config: object, path: Path | str) -> dict:
    """A Gaussian model's config checked before anything is built: format, kind, mean and size,
    the data record (one channel of that size), the training record."""
    checkpoint.check_header(config, path, KIND, "a Gaussian model")
    g = schema.dict_of(config, "gaussian", str(path), ConfigError)
    schema.number(g.get("size"), f"{path}: gaussian size", ConfigError, 2, 1024)
    if not schema.is_finite_number(g.get("mean")) or abs(g["mean"]) > MAX_VALUE:
        raise ConfigError(f"{path}: gaussian mean must be a number within ±{MAX_VALUE:g}")
    data = schema.dict_of(config, "data", str(path), ConfigError, default={})
    if data:
        check_record(data, f"{path}: data", ConfigError)
        if data_shape(data) != (g["size"], 1):
            raise ConfigError(f"{path}: the data are not 1 x {g['size']} x {g['size']} fields")
    return config


def claims(path: Path) -> bool:
    return path.name.endswith(SUFFIX) and not path.is_dir()


def load(path: str | Path) -> GaussianModel:
    """Read and validate a Gaussian model file; every problem is a CheckpointError that says what."""
    path = Path(path)
    blob, config, tensors = checkpoint.read_model_file(path, "Gaussian model", check_config)
    size = int(config["gaussian"]["size"])
    shells = int(stats.shells(size, size).max()) + 1
    power = tensors.get("power")
    if sorted(tensors) != ["power"] or tuple(power.shape) != (shells,) or power.dtype not in checkpoint.FLOAT_DTYPES:
        raise ShapeMismatch(f"{path}: a Gaussian model of {size} x {size} holds one float tensor 'power' of shape "
                            f"({shells},)")
    if not bool(torch.isfinite(power).all()) or bool((power < 0).any()) or bool((power > MAX_VALUE ** 2).any()):
        raise CheckpointError(f"{path}: tensor 'power' holds NaN, infinite, negative or huge (> {MAX_VALUE ** 2:g}) "
                              "values; the file is damaged")
    return GaussianModel(path, config, power.double().numpy(), hashlib.sha256(blob).hexdigest())


def fit(data: dict, out: str | Path, name: str | None = None, description: str = "", command: str = "") -> GaussianModel:
    """The mean and shell powers of the training set of `data`, written to `out` (NAME.gauss.safetensors)."""
    from explorer.core.data import training_set
    from explorer.core.files.io import atomic_write, check_output
    from explorer.core.statistics.stats import summary

    out = check_output(out)
    if not out.name.endswith(SUFFIX):
        raise UsageError(f"{out}: a Gaussian model's file name ends in {SUFFIX}")
    check_record(data, "the data", UsageError)
    checkpoint.check_writable(name or out.name[: -len(SUFFIX)], description, data, "--name, --description and --data-params")
    side, channels = data_shape(data)
    if channels != 1:
        raise UsageError("a Gaussian model is of one-channel fields: use --channels 1")
    x = training_set(data)
    field = gaussian_field.fit(x)
    record = {**data, "mean": float(x.mean()), "std": float(x.std()) if x.size > 1 else 1.0,
              "stats": summary(x, k_max=resolved_k(data))}
    checkpoint.check_writable(name or out.name[: -len(SUFFIX)], description, record, "the training data")
    config = {"format": checkpoint.FORMAT, "version": __version__, "kind": KIND, "name": name or out.name[: -len(SUFFIX)],
              "description": description, "gaussian": {"mean": field["mean"], "size": side}, "data": record,
              "training": {"command": command, "fields": len(x)}}
    check_config(config, out)
    blob = st_save({"power": torch.from_numpy(np.ascontiguousarray(field["power"]))},
                   metadata={"explorer": json.dumps(config)})
    atomic_write(out, lambda f: f.write(blob), verify=load)
    return load(out)
