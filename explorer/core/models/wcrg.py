"""Wavelet conditional renormalisation group: generation coarse to fine.

    p(x) = p_J(x_J) prod_{j=1..J} pbar_j(xbar_j | x_j)

over the orthonormal wavelet transform x_{j-1} <-> (x_j, xbar_j) of `wavelets`. A diffusion
denoiser models the coarse low-pass x_J; per scale j a conditional denoiser
D_j(xbar_{j,t}, x_j, t) ~ E[xbar_j | xbar_{j,t}, x_j] models the details given the clean
low-pass. Coefficients are standardised per scale by training-set statistics (the low-pass of an
orthonormal transform grows like 2^j), recorded in the model's index.

A WCRG model is a folder NAME.wcrg/ with index.json and one explorer checkpoint per network:
lowpass.safetensors (kind wcrg-lowpass) and conditional_j{j}.safetensors (kind wcrg-conditional).

Generation yields the same Frames as the plain samplers, with `scale` = j: first the coarse
diffusion (scale J), then the details of scales J, ..., 1. Every frame is shown at full
resolution: x_t and x0_hat are the reconstructions W^{-1} of the current low-pass and details,
with zero finer details. A WCRGModel is a `models.Model`: RunSpec.steps are steps per scale.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Generator

import torch

from explorer.core.data import colormap_for
from explorer.core.errors import ConfigError, SamplingError, UsageError
from explorer.core.models import checkpoint
from explorer.core.models.base import (
    DisplayHints,
    ModelBase,
    RunSpec,
    check_default_run,
    default_first,
    default_run_steps,
    new_default_run,
    resolve_device,
    run_meta,
)
from explorer.core.sampling import samplers
from explorer.core.sampling.catalogue import GRID_SAMPLERS
from explorer.core.sampling.trajectory import Frame, Trajectory, keep
from explorer.core.statistics import wavelets

DEFAULT_STEPS = 20          # per scale, for every sampler (unless the index records a default run)
SAMPLERS = ("ode", *(s for s in GRID_SAMPLERS if s != "ode"))  # the ascent has no per-scale grid; ODE first

FORMAT = "explorer-wcrg"


@dataclass
class Normalisation:
    """Per scale j = 1..J: x_j -> (x_j - low_mean[j]) / low_std[j], xbar_j -> xbar_j / detail_std[j]."""

    low_mean: dict[int, float]
    low_std: dict[int, float]
    detail_std: dict[int, float]

    @classmethod
    def measure(cls, x: torch.Tensor, J: int, wavelet: str) -> "Normalisation":
        lm, ls, ds = {}, {}, {}
        xj = x.double()
        for j in range(1, J + 1):
            xj, d = wavelets.analysis(xj, wavelet)
            lm[j], ls[j], ds[j] = float(xj.mean()), max(float(xj.std()), 1e-6), max(float(d.std()), 1e-6)
        return cls(lm, ls, ds)

    def to_dict(self) -> dict:
        return {"low_mean": self.low_mean, "low_std": self.low_std, "detail_std": self.detail_std}

    @classmethod
    def from_dict(cls, d: dict) -> "Normalisation":
        return cls(*({int(k): float(v) for k, v in d[name].items()} for name in ("low_mean", "low_std", "detail_std")))


@dataclass
class WCRGModel(ModelBase):
    """A loaded WCRG folder: the coarse model, one conditional model per scale j = 1..J."""

    path: Path
    index: dict
    lowpass: checkpoint.Checkpoint
    conditional: dict[int, checkpoint.Checkpoint]
    norm: Normalisation
    sha256: str = ""

    @property
    def name(self) -> str:
        return self.index.get("name") or self.path.stem

    @property
    def kind(self) -> str:
        return "wcrg"

    @property
    def J(self) -> int:
        """The wavelet depth (the index's "levels")."""
        return int(self.index["levels"])

    @property
    def data(self) -> dict:
        return self.index.get("data") or {}

    @property
    def default_run(self) -> dict | None:
        return self.index.get("default_run")

    @property
    def samplers(self) -> tuple[str, ...]:
        return default_first(SAMPLERS, self.default_run)

    @property
    def coarse_samplers(self) -> tuple[str, ...]:
        return self.samplers                        # x_J may be drawn by another sampler than the details

    @property
    def fork_refusal(self) -> str:
        return f"{self.name} draws its scales one after another (a wcrg model): a fork re-samples a run at one scale."

    def stage(self, frames: list, k: int) -> str:
        """What frame k of a WCRG run shows being made: "coarse x_J" while the coarse scale is drawn,
        then "details of scale j". The coarse frames carry scale J, as the first details do; they
        end where sigma first rises again (each scale's run starts at the largest noise level)."""
        j = frames[k].scale
        if j is None:
            return ""
        J = frames[0].scale
        first_details = next((i for i in range(1, len(frames)) if frames[i].sigma > frames[i - 1].sigma), len(frames))
        return f"coarse x_{J}" if j == J and k < first_details else f"details of scale {j}"

    @property
    def display(self) -> DisplayHints:
        return DisplayHints(colormap=colormap_for(self.data), J=self.J,
                            wavelet=self.wavelet)

    def default_steps(self, sampler: str) -> int:
        return default_run_steps(self.default_run, sampler, DEFAULT_STEPS)

    def networks(self) -> list[tuple[str, int, Callable, tuple]]:
        """x_J's low-pass model on (C, L/2^J), then the conditional details j = J..1 on 3C channels
        given the C of x_j, each at L/2^j."""
        C, side = self.image_shape[0], self.image_shape[-1]
        s = side >> self.J
        out = [("x_J", s, self.lowpass.denoiser, (torch.zeros(1, C, s, s), 0.5))]
        for j in range(self.J, 0, -1):
            s = side >> j
            out.append((f"j={j}", s, self.conditional[j].denoiser,
                        (torch.zeros(1, 3 * C, s, s), 0.5, torch.zeros(1, C, s, s))))
        return out

    def write_default(self, sampler: str, steps: int, why: str) -> None:
        """index.json with the default run (steps per scale), written atomically and read back first."""
        from explorer.core.files.io import atomic_write

        run = new_default_run(self, sampler, steps, why)
        if run is None:
            return
        blob = (json.dumps({**self.index, "default_run": run}, indent=1) + "\n").encode()
        atomic_write(index_path(self.path), lambda f: f.write(blob), verify=load)

    def frame_count(self, spec: RunSpec) -> int | None:
        return (self.J * samplers.frame_count(spec.sampler, spec.steps)
                + samplers.frame_count(spec.coarse_sampler or spec.sampler, spec.coarse_steps or spec.steps))

    def describe(self) -> str:
        return describe(self)

    def summary(self) -> dict:
        return {**self.index, "kind": self.kind, "path": str(self.path), "parameters": self.parameters,
                "sha256": self.sha256, "image_shape": list(self.image_shape)}

    def run(self, spec: RunSpec) -> Generator[Frame, None, Trajectory]:
        """Coarse to fine with spec.steps steps at every scale, x_J by spec.coarse_* when given (see `generate`)."""
        spec = spec.resolved(self)
        if spec.x_init is not None or spec.start:
            raise UsageError("a WCRG run draws its own noise at every scale from the seed; give a seed, not x_init")
        return generate(self, spec.n, spec.sampler, spec.steps, spec.coarse_steps, spec.seed, spec.device,
                        spec.final_denoise, spec.keep_frames, coarse_sampler=spec.coarse_sampler)

    @property
    def wavelet(self) -> str:
        return self.index["wavelet"]

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return (int(self.index["channels"]), int(self.index["size"]), int(self.index["size"]))

    @property
    def parameters(self) -> int:
        unique = {id(c): c for c in self.conditional.values()}
        return self.lowpass.parameters + sum(c.parameters for c in unique.values())

    def to(self, device) -> "WCRGModel":
        self.lowpass.denoiser.to(device)
        for c in self.conditional.values():
            c.denoiser.to(device)
        return self


def index_path(path: str | Path) -> Path:
    path = Path(path)
    return path / "index.json" if path.is_dir() else path


def is_wcrg(path: str | Path) -> bool:
    """A WCRG folder, or its index.json (also a broken link of that name: `load` says what is wrong)."""
    import os

    p = index_path(path)
    return p.name == "index.json" and os.path.lexists(p)


MAX_INDEX_BYTES = 16 * 2 ** 20


def check_index(index: object, where: str) -> dict:
    """A WCRG index checked field by field (types, ranges, the normalisation of every scale)."""
    from explorer.core.data import check_record
    from explorer.core.files import schema

    if not isinstance(index, dict) or index.get("format") != FORMAT:
        raise ConfigError(f"{where}: the index does not say format={FORMAT!r}")
    J = schema.value(index, "levels", int, where, ConfigError, lo=1, hi=8)
    size = schema.value(index, "size", int, where, ConfigError, lo=8, hi=schema.MAX_SIZE)
    schema.value(index, "channels", int, where, ConfigError, choices=(1, 3))
    if size % 2 ** J or size >> J < 4:
        raise ConfigError(f"{where}: size {size} cannot be halved {J} times down to at least 4x4")
    if schema.value(index, "wavelet", str, where, ConfigError) not in wavelets.ORTHOGONAL:
        raise ConfigError(f"{where}: 'wavelet' must be an orthogonal PyWavelets wavelet (haar, db2, sym4, ...), "
                          f"not {index['wavelet'][:40]!r}")
    for key in ("name", "description", "command"):
        schema.value(index, key, str, where, ConfigError, default="")
    norm = schema.dict_of(index, "normalisation", where, ConfigError)
    for part in ("low_mean", "low_std", "detail_std"):
        table = schema.dict_of(norm, part, f"{where}: normalisation", ConfigError)
        if sorted(table) != [str(j) for j in range(1, J + 1)]:
            raise ConfigError(f"{where}: normalisation.{part} must have the scales 1..{J}, not {sorted(table)}")
        for j in table:
            schema.value(table, j, float, f"{where}: normalisation.{part}", ConfigError,
                         lo=-1e6 if part == "low_mean" else 1e-12, hi=1e6)
    files = schema.dict_of(index, "files", where, ConfigError)
    schema.value(files, "lowpass", str, f"{where}: files", ConfigError)
    cond = schema.dict_of(files, "conditional", f"{where}: files", ConfigError)
    if sorted(cond) != [str(j) for j in range(1, J + 1)]:
        raise ConfigError(f"{where}: files.conditional must name a model for each scale 1..{J}, not {sorted(cond)}")
    for j in cond:
        schema.value(cond, j, str, f"{where}: files.conditional", ConfigError)
    schema.value(schema.dict_of(index, "recipe", where, ConfigError, default={}), "shared", bool,
                 f"{where}: recipe", ConfigError, default=False)
    data = schema.dict_of(index, "data", where, ConfigError, default={})
    if data:
        check_record(data, f"{where}: data", ConfigError)
    check_default_run(index.get("default_run"), SAMPLERS, where, ConfigError)
    return index


def load(path: str | Path) -> WCRGModel:
    """Read and validate a WCRG folder (or its index.json); the index's files must be inside the folder."""
    from explorer.core.files.io import inside, parse_json, read_regular

    ipath = index_path(path)
    blob = read_regular(ipath, "WCRG index", MAX_INDEX_BYTES, ConfigError)
    index = check_index(parse_json(blob, str(ipath), ConfigError), str(ipath))
    J, size, channels = index["levels"], index["size"], index["channels"]
    norm = Normalisation.from_dict(index["normalisation"])
    files, folder = index["files"], ipath.parent
    names = [files["lowpass"], *sorted(set(files["conditional"].values()))]
    members = {f: inside(folder, f, str(ipath), ConfigError) for f in names}
    lowpass = checkpoint.load(members[files["lowpass"]], expect_kind="wcrg-lowpass")
    loaded = {f: checkpoint.load(members[f], expect_kind="wcrg-conditional")
              for f in sorted(set(files["conditional"].values()))}
    conditional = {int(j): loaded[f] for j, f in files["conditional"].items()}
    if lowpass.image_shape != (channels, size >> J, size >> J):
        raise ConfigError(f"{ipath}: the low-pass model makes {lowpass.image_shape}, the index needs "
                          f"{(channels, size >> J, size >> J)}")
    shared = index.get("recipe", {}).get("shared", False)
    for j in range(1, J + 1):
        a = conditional[j].config["arch"]
        fits = a["size"] == size >> j or (shared and (size >> j) % 2 ** (len(a["widths"]) - 1) == 0)
        if (a["channels"], a["cond_channels"]) != (3 * channels, channels) or not fits:
            raise ConfigError(f"{ipath}: the scale-{j} model has (channels, cond, size) = "
                              f"{(a['channels'], a['cond_channels'], a['size'])}, expected {(3 * channels, channels, size >> j)}")
    digest = hashlib.sha256(blob + b"".join(bytes.fromhex(c.sha256) for c in [lowpass, *loaded.values()]))
    return WCRGModel(ipath.parent, index, lowpass, conditional, norm, digest.hexdigest())


def describe(model: WCRGModel) -> str:
    d = model.index.get("data") or {}
    lines = [f"{model.name}  (WCRG, {model.parameters:,} parameters, image {model.image_shape}, "
             f"wavelet {model.wavelet}, J = {model.J})",
             f"  folder    {model.path}",
             f"  data      {d.get('name')} N={d.get('n')} split={d.get('split')} params={json.dumps(d.get('params', {}))}",
             f"  coarse    {model.lowpass.image_shape}, {model.lowpass.parameters:,} parameters, "
             f"final loss {model.lowpass.config['training'].get('final_loss')}"]
    nets = [("coarse", model.lowpass)] + [(f"scale {j}", model.conditional[j]) for j in sorted(model.conditional)]
    for name, c in nets[1:]:
        lines.append(f"  {name:9} details {c.image_shape}, {c.parameters:,} parameters, "
                     f"final loss {c.config['training'].get('final_loss')}")
    for name, c in nets:
        if c.config["training"].get("loss_curve"):
            lines.append(f"  loss {name:9} {checkpoint.loss_curve_text(c.config['training']['loss_curve'])}")
    if model.index.get("command"):
        lines.append(f"  made by   {model.index['command']}")
    return "\n".join(lines)


def _conditional_denoiser(ckpt: checkpoint.Checkpoint, cond: torch.Tensor):
    net = ckpt.denoiser

    def denoise(x, t):
        return net(x, t, cond)
    return denoise


def generate(model: WCRGModel, n: int, sampler: str = "ode", steps: int | dict[int, int] = DEFAULT_STEPS,
             coarse_steps: int | None = None, seed: int = 0, device="cpu",
             final_denoise: bool = True, keep_frames: bool = True,
             coarse_sampler: str | None = None) -> Generator[Frame, None, Trajectory]:
    """Sample x_J, then the details of scales J..1, each by `sampler` with its own steps.

    steps: per-scale steps (an int for all scales, or {j: steps}); coarse_steps, coarse_sampler:
    for x_J (default: those of scale J). Initial noises come from a generator seeded by `seed`
    (coarse first, then scale J, ..., 1); SDE increments from one seeded by seed + 1.
    """
    device = resolve_device(device) if isinstance(device, str) else torch.device(device)
    model.to(device)
    J, C, size = model.J, *model.image_shape[:2]
    steps_of = steps if isinstance(steps, dict) else {j: int(steps) for j in range(1, J + 1)}
    coarse_steps = coarse_steps or steps_of[J]
    coarse_sampler = coarse_sampler or sampler
    g_init = torch.Generator().manual_seed(int(seed))
    g_run = torch.Generator().manual_seed(int(seed) + 1)
    norm, w = model.norm, model.wavelet
    frames: list[Frame] = []
    step = 0

    def shown(low: torch.Tensor, detail: torch.Tensor | None, j: int) -> torch.Tensor:
        img = low if detail is None else wavelets.synthesis(low, detail, w)
        return wavelets.upsample_low_pass(img, j if detail is None else j - 1, w).cpu()

    # coarse scale: x_J by plain diffusion in standardised units
    x_init = samplers.initial_noise((n, C, size >> J, size >> J), generator=g_init).to(device)
    coarse = samplers.sample(model.lowpass.denoiser, x_init, coarse_sampler, coarse_steps, generator=g_run,
                             final_denoise=final_denoise, keep_frames=False)
    while True:
        try:
            f = next(coarse)
        except StopIteration as stop:
            x_low = stop.value.sample * norm.low_std[J] + norm.low_mean[J]
            break
        f = Frame(step, f.t, f.sigma, shown(f.x_t * norm.low_std[J] + norm.low_mean[J], None, J),
                  shown(f.x0_hat * norm.low_std[J] + norm.low_mean[J], None, J), J)
        keep(frames, f, keep_frames)
        step += 1
        yield f
    # scales J..1: details given the clean low-pass
    for j in range(J, 0, -1):
        cond = (x_low - norm.low_mean[j]) / norm.low_std[j]
        z = samplers.initial_noise((n, 3 * C, size >> j, size >> j), generator=g_init).to(device)
        gen = samplers.sample(_conditional_denoiser(model.conditional[j], cond), z, sampler, steps_of[j],
                              generator=g_run, final_denoise=final_denoise, keep_frames=False)
        ds = norm.detail_std[j]
        while True:
            try:
                f = next(gen)
            except StopIteration as stop:
                x_low = wavelets.synthesis(x_low, stop.value.sample * ds, w)
                if not bool(torch.isfinite(x_low).all()):
                    raise SamplingError(f"{model.name}: scale {j} gave NaN or infinite values (check the model's normalisation)")
                break
            f = Frame(step, f.t, f.sigma, shown(x_low, f.x_t * ds, j), shown(x_low, f.x0_hat * ds, j), j)
            keep(frames, f, keep_frames)
            step += 1
            yield f
    spec = RunSpec(sampler, steps_of[J], n, seed, device.type, final_denoise, coarse_sampler=coarse_sampler,
                   coarse_steps=coarse_steps)
    meta = {**run_meta(model, spec), "steps_per_scale": {str(j): s for j, s in steps_of.items()}, "wavelet": w, "J": J}
    return Trajectory(frames=frames, meta=meta, x_init=x_init)
