"""A scattering-spectra model as a Model: the microcanonical generator of Cheng et al. (2023).

    x* = argmin_x || (Phi(x) - Phi_data) / s ||^2

from white noise with the data's mean and std (seeded by the run's seed), by L-BFGS (torch,
strong Wolfe line search; restarted from the gradient when the line search finds no decrease), in
float64. Phi: the scattering spectra of `scattering.py`; Phi_data:
their mean over the training set; s: the spread of one training field's Phi about it (floored
at S_FLOOR times its median, so that a statistic every field shares exactly, like the zero mean
of a vorticity field, still has a finite weight). The n samples are optimised together (one sum of
n independent losses), so a sample depends on the others of its run through the line search.

One Frame per L-BFGS iteration, the first at the initial noise: x_t = x0_hat = the current x;
sigma = the rms of (Phi(x) - Phi_data) / s over the statistics and samples (the distance to the
data's statistics, in units of their spread over single fields), t = 1/2 ln(1 + sigma^2), so that
the window's sigma/alpha axis shows the same number.

The file, NAME.scat.safetensors: tensors phi (count,), scale s (count,) and sigma2 (J, L) (the
data's S2, which normalises Phi), all float64; metadata "explorer": a checkpoint config of kind
"scattering" with the filter bank (`scattering.ScatteringConfig`), the data record (with its
mean, std and reference statistics) and the command that made it.
"""
from __future__ import annotations

import hashlib
import json
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Generator

import torch
from safetensors import SafetensorError
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

from explorer import __version__
from explorer.core import checkpoint, schema
from explorer.core.data import check_record, colormap_for, data_shape
from explorer.core.errors import CheckpointError, ConfigError, SamplingError, ShapeMismatch, UnknownKind, UsageError
from explorer.core.models import DisplayHints, RunSpec, resolve_device, run_meta
from explorer.core.scattering import ScatteringConfig, ScatteringSpectra, reference
from explorer.core.trajectory import Frame, Trajectory, keep

SUFFIX = ".scat.safetensors"
KIND = "scattering"
SAMPLER = "lbfgs"
DEFAULT_STEPS = 100
S_FLOOR = 0.01
TENSORS = ("phi", "scale", "sigma2")


@dataclass
class ScatteringModel:
    """A loaded, validated scattering model."""

    path: Path
    config: dict
    spectra: ScatteringSpectra
    phi: torch.Tensor            # (count,) Phi_data
    scale: torch.Tensor          # (count,) s
    sigma2: torch.Tensor         # (J, L) the data's S2
    sha256: str

    @property
    def name(self) -> str:
        return self.config.get("name") or self.path.name[: -len(SUFFIX)]

    @property
    def kind(self) -> str:
        return KIND

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return (1, self.spectra.config.size, self.spectra.config.size)

    @property
    def parameters(self) -> int:
        """The number of statistics the model fixes."""
        return self.spectra.count

    @property
    def data(self) -> dict:
        return self.config.get("data") or {}

    @property
    def samplers(self) -> tuple[str, ...]:
        return (SAMPLER,)

    @property
    def display(self) -> DisplayHints:
        return DisplayHints(colormap=colormap_for(self.data))

    def default_steps(self, sampler: str) -> int:
        return DEFAULT_STEPS

    def frame_count(self, spec: RunSpec) -> int | None:
        return spec.steps + 1

    def summary(self) -> dict:
        return {"name": self.name, "path": str(self.path), "sha256": self.sha256, "kind": self.kind,
                "image_shape": list(self.image_shape), "parameters": self.parameters,
                "statistics": self.spectra.counts(), **self.config}

    def describe(self) -> str:
        d, t = self.data, self.config.get("training") or {}
        lines = [f"{self.name}  (scattering spectra, {self.parameters} statistics, image {self.image_shape})",
                 f"  file      {self.path}", f"  sha256    {self.sha256}"]
        if self.config.get("description"):
            lines.append(f"  about     {self.config['description']}")
        if d:
            lines.append(f"  data      {d.get('name')} N={d.get('n')} split={d.get('split')} seed={d.get('seed')} "
                         f"params={json.dumps(d.get('params', {}))}")
        lines.append(f"  filters   {self.spectra.describe()}")
        lines.append(f"  sampler   {SAMPLER}: L-BFGS on ||(Phi(x) - Phi_data) / s||^2 from white noise, "
                     f"{DEFAULT_STEPS} iterations by default; sigma shown = rms of (Phi(x) - Phi_data) / s")
        if t.get("command"):
            lines.append(f"  made by   {t['command']}")
        lines.append(f"  version   {self.config.get('version')}")
        return "\n".join(lines)

    def loss(self, x: torch.Tensor) -> torch.Tensor:
        """||(Phi(x_i) - Phi_data) / s||^2 per sample: (B,); x (B, 1, H, W)."""
        phi = self.spectra(x, self.sigma2.to(x.device))
        return (((phi - self.phi.to(x.device)) / self.scale.to(x.device)) ** 2).sum(1)

    def run(self, spec: RunSpec) -> Generator[Frame, None, Trajectory]:
        """spec.steps L-BFGS iterations from N(mean, std^2) white noise (initial_noise of spec.seed)."""
        from explorer.core.samplers import initial_noise

        spec = spec.resolved(self)
        device = resolve_device(spec.device)
        mean, std = float(self.data.get("mean", 0.0)), float(self.data.get("std", 1.0)) or 1.0
        x_init = spec.x_init if spec.x_init is not None else \
            mean + std * initial_noise((spec.n, *self.image_shape), seed=spec.seed)
        return self._generate(x_init.to(device, torch.float64), spec)

    def _generate(self, x_init: torch.Tensor, spec: RunSpec) -> Generator[Frame, None, Trajectory]:
        """Frame k is x_k with its loss: the first evaluation of L-BFGS iteration k + 1 is at x_k."""
        self.spectra.to(x_init.device)
        x = x_init.clone().requires_grad_(True)

        def lbfgs() -> torch.optim.LBFGS:
            return torch.optim.LBFGS([x], lr=1.0, max_iter=1, history_size=50, line_search_fn="strong_wolfe",
                                     tolerance_grad=0.0, tolerance_change=0.0)
        opt = lbfgs()
        count = self.parameters * spec.n
        at = {}

        def closure() -> torch.Tensor:
            opt.zero_grad()
            loss = self.loss(x).sum()
            loss.backward()
            if not at:
                at.update(x=x.detach().float().cpu(), loss=float(loss.detach()))
            return loss

        def frame(step: int, x_now: torch.Tensor, loss: float) -> Frame:
            if not math.isfinite(loss):
                raise SamplingError(f"{self.name}: the loss became {loss} at iteration {step}")
            sigma = math.sqrt(loss / count)
            return Frame(step, 0.5 * math.log1p(sigma * sigma), sigma, x_now, x_now)

        frames: list[Frame] = []
        errors = []
        for step in range(spec.steps + 1):
            if step < spec.steps:
                at.clear()
                before = x.detach().clone()
                opt.step(closure)
                if torch.equal(x.detach(), before):      # the line search found no decrease (|.| has kinks):
                    opt = lbfgs()                        # forget the curvature pairs, start again from the gradient
                f = frame(step, at["x"], at["loss"])
            else:
                with torch.no_grad():
                    f = frame(step, x.detach().float().cpu(), float(self.loss(x).sum()))
            errors.append(f.sigma)
            keep(frames, f, spec.keep_frames)
            yield f
        meta = {**run_meta(self, spec), "colormap": self.display.colormap, "rms_error": errors}
        return Trajectory(frames=frames, meta=meta, x_init=x_init.float().cpu())


# --- the file ------------------------------------------------------------------------------------

def check_config(config: object, path: Path | str) -> dict:
    """A scattering model's config checked before anything is built: format, kind, the filter
    bank, the data record (one channel, the bank's size), the training record."""
    if not isinstance(config, dict) or config.get("format") != checkpoint.FORMAT:
        raise ConfigError(f"{path}: the config does not say format={checkpoint.FORMAT!r}")
    if config.get("kind") != KIND:
        raise UnknownKind(f"{path}: a {str(config.get('kind'))[:40]!r} model, not a scattering model")
    for key, limit in (("name", 200), ("description", 10_000)):
        text = schema.value(config, key, str, str(path), ConfigError, default="")
        if len(text) > limit:
            raise ConfigError(f"{path}: the {key} has {len(text)} characters, at most {limit} are accepted")
    bank = ScatteringConfig.from_dict(config.get("scattering"), f"{path}: scattering")
    data = schema.dict_of(config, "data", str(path), ConfigError, default={})
    if data:
        check_record(data, f"{path}: data", ConfigError)
        side, channels = data_shape(data)
        if (side, channels) != (bank.size, 1):
            raise ConfigError(f"{path}: the data are {channels} x {side} x {side} fields, the filters are for "
                              f"1 x {bank.size} x {bank.size}")
    training = schema.dict_of(config, "training", str(path), ConfigError, default={})
    schema.value(training, "command", str, f"{path}: training", ConfigError, default="")
    return config


def claims(path: Path) -> bool:
    return path.name.endswith(SUFFIX) and not path.is_dir()


def load(path: str | Path) -> ScatteringModel:
    """Read and validate a scattering model file; every problem is a CheckpointError that says what."""
    from explorer.core.io import read_regular

    path = Path(path)
    blob = read_regular(path, "scattering model", checkpoint.MAX_CHECKPOINT_BYTES, CheckpointError)
    config = checkpoint.read_config(path, blob, check=check_config)
    spectra = ScatteringSpectra(ScatteringConfig.from_dict(config["scattering"], f"{path}: scattering"))
    try:
        tensors = st_load(blob)
    except (SafetensorError, RuntimeError, ValueError) as e:
        raise CheckpointError(f"{path}: the tensors cannot be read ({e})") from None
    if sorted(tensors) != sorted(TENSORS):
        raise ShapeMismatch(f"{path}: a scattering model holds the tensors {', '.join(TENSORS)}, not {sorted(tensors)[:5]}")
    c = spectra.config
    for key, shape in (("phi", (spectra.count,)), ("scale", (spectra.count,)), ("sigma2", (c.J, c.L))):
        t = tensors[key]
        if tuple(t.shape) != shape or not t.is_floating_point():
            raise ShapeMismatch(f"{path}: tensor {key!r} is {t.dtype} of shape {tuple(t.shape)}, the filters need "
                                f"floats of shape {shape}")
        if not bool(torch.isfinite(t).all()) or (key != "phi" and not bool((t > 0).all())):
            raise CheckpointError(f"{path}: tensor {key!r} holds NaN, infinite" + ("" if key == "phi" else " or non-positive")
                                  + " values; the file is damaged")
    return ScatteringModel(path, config, spectra, tensors["phi"].double(), tensors["scale"].double(),
                           tensors["sigma2"].double(), hashlib.sha256(blob).hexdigest())


def fit(data: dict, bank: ScatteringConfig, out: str | Path, name: str | None = None, description: str = "",
        command: str = "") -> ScatteringModel:
    """Phi_data, s and sigma2 of the training set of `data`, written to `out` (NAME.scat.safetensors)."""
    from explorer.core.data import training_set
    from explorer.core.io import atomic_write, check_output
    from explorer.core.stats import summary

    out = check_output(out)
    if not out.name.endswith(SUFFIX):
        raise UsageError(f"{out}: a scattering model's file name ends in {SUFFIX}")
    check_record(data, "the data", UsageError)
    side, channels = data_shape(data)
    if (side, channels) != (bank.size, 1):
        raise UsageError(f"the filters are for 1 x {bank.size} x {bank.size} fields, the data are {channels} x {side} x {side}")
    start = time.perf_counter()
    x = torch.from_numpy(training_set(data)).double()
    spectra = ScatteringSpectra(bank)
    ref = reference(spectra, x)
    scale = ref["std"].clamp_min(S_FLOOR * float(ref["std"].median()))
    record = {**data, "mean": float(x.mean()), "std": float(x.std()) if x.numel() > 1 else 1.0,
              "stats": summary(x.numpy())}
    config = {"format": checkpoint.FORMAT, "version": __version__, "kind": KIND, "name": name or out.name[: -len(SUFFIX)],
              "description": description, "scattering": bank.to_dict(), "data": record,
              "training": {"command": command, "fields": len(x), "seconds": round(time.perf_counter() - start, 2),
                           "scale_floor": S_FLOOR}}
    check_config(config, out)
    blob = st_save({"phi": ref["phi"].contiguous(), "scale": scale.contiguous(), "sigma2": ref["sigma2"].contiguous()},
                   metadata={"explorer": json.dumps(config)})
    atomic_write(out, lambda f: f.write(blob))
    return load(out)
