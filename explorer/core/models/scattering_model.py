"""A scattering-spectra model as a Model: the microcanonical generator of Cheng et al. (2023).

    x* = argmin_x || (Phi(x) - Phi_data) / s ||^2

from white noise (seeded by the run's seed) shaped to the data's band powers, by L-BFGS (`lbfgs`:
one history and one backtracking line search per sample, so that the samples are independent).
The iterate, the losses and the line search are float64; Phi and its gradient are evaluated in
float32 (COMPUTE; the one-point statistics in float64, `ScatteringSpectra.raw`) and the L-BFGS
history is kept in float32, which halves their time (16 fields of 64 x 64, 100 iterations, one
thread: 11.0 s -> 6.1 s). The fields are as good after the same iterations: the rms statistics
error of each field, float32 over float64 from the same noise, log ratio +0.04 +- 0.05 after 50,
100, 200 and 300 iterations (turbulence32, 64 fields) and +0.07 +- 0.15 after 200 (turbulence256,
6 fields; a single field's path is chaotic). Phi_data and the statistics the field table reports
stay float64. Phi: the scattering spectra of
`scattering.py`; Phi_data: their mean over the training set; s: the spread of one training
field's Phi about it (floored at S_FLOOR times its median, so that a statistic every field shares
exactly, like the zero mean of a vorticity field, still has a finite weight). A model fitted with a
spectrum tolerance T (`fit`) caps s of each P(k) / P_data(k) at T: a shell of a few modes spreads
over single fields by ~50 % (the cosmic web at 256 x 256: 53 % at |k| = 1), so that its power,
weighed as loosely, stayed 4.7 % below the target at the generator's fixed point (400 iterations,
rms error 0.028); with T = 0.2, 1.3 %, the other statistics' rms error 0.033 against 0.031.

The iterates stay in the data's Fourier support: the frequencies w where the training set's mean
|xhat(w)|^2 exceeds SUPPORT_FLOOR times its largest value at w != 0 (w = 0 always kept). The
initial noise and every gradient are projected on it, x -> F^-1(1_support F x). Band-limited data
(turbulence is dealiased: no power beyond |k| ~ 2/3 of Nyquist) stay band-limited; without it the
generated 32 x 32 vorticity put 3-20x the data's power at |k| = 11-12, which the finest wavelet (centred
near |k| = 12) then took from |k| = 8-10 (-26 % at |k| = 9). For phi^4 the support is every frequency.

One Frame per L-BFGS iteration, the first at the initial noise: x_t = x0_hat = the current x;
sigma = the rms of (Phi(x) - Phi_data) / s over the statistics and samples (the distance to the
data's statistics, in units of their spread over single fields), t = 1/2 ln(1 + sigma^2), so that
the window's sigma/alpha axis shows the same number.

The file, NAME.scat.safetensors: tensors phi (count,), scale s (count,), sigma2 (J, L) (the
data's S2, which normalises Phi), support (H, W) (1 in the support, else 0; files made before
it have none: every frequency) and, when the statistics hold P(k), spectrum (shells,) (the data's
mean P(k), which normalises it), all float64; metadata "explorer": a checkpoint config of kind
"scattering" with the filter bank (`scattering.ScatteringConfig`), the data record (with its
mean, std and reference statistics), the command that made it and, when `explorer set-default`
wrote one, its default run (the L-BFGS iterations it runs by default, and why).
"""
from __future__ import annotations

import hashlib
import json
import math
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Generator

import numpy as np
import torch
from safetensors.torch import save as st_save

from explorer import __version__
from explorer.core.data import check_record, colormap_for, data_shape, resolved_k
from explorer.core.errors import CheckpointError, ConfigError, SamplingError, ShapeMismatch, UsageError
from explorer.core.files import schema
from explorer.core.models import checkpoint
from explorer.core.models.base import (
    DisplayHints,
    ModelBase,
    RunSpec,
    default_run_steps,
    new_default_run,
    resolve_device,
    run_meta,
)
from explorer.core.sampling.trajectory import Frame, Trajectory, keep
from explorer.core.statistics.scattering import (
    ScatteringConfig,
    ScatteringSpectra,
    band_noise,
    batch_for,
    check_memory,
    reference,
    reflect,
)

SUFFIX = ".scat.safetensors"
KIND = "scattering"
SAMPLER = "lbfgs"
DEFAULT_STEPS = 100
S_FLOOR = 0.01
SUPPORT_FLOOR = 1e-6
COMPUTE = torch.float32     # Phi and its gradient in L-BFGS (the iterate, losses and steps stay float64)


@dataclass
class ScatteringModel(ModelBase):
    """A loaded, validated scattering model."""

    path: Path
    config: dict
    spectra: ScatteringSpectra
    phi: torch.Tensor            # (count,) Phi_data
    scale: torch.Tensor          # (count,) s
    sigma2: torch.Tensor         # (J, L) the data's S2
    support: torch.Tensor        # (H, W) 1 on the data's Fourier support, else 0
    spectrum: torch.Tensor | None  # (shells,) the data's mean P(k); None without shells
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
        return DisplayHints(colormap=colormap_for(self.data), level="statistics error",
                            panels=("x: the L-BFGS iterate", None))

    @property
    def default_run(self) -> dict | None:
        return self.config.get("default_run")

    def default_steps(self, sampler: str) -> int:
        """DEFAULT_STEPS, or the iterations its file records (`explorer set-default`: a 256 x 256
        model needs more than a 64 x 64 one to reach the same statistics)."""
        return default_run_steps(self.default_run, sampler, DEFAULT_STEPS)

    def write_default(self, sampler: str, steps: int, why: str) -> None:
        run = new_default_run(self, sampler, steps, why)
        if run is not None:
            checkpoint.rewrite_default_run(self.path, run, load, check_config)

    def frame_count(self, spec: RunSpec) -> int | None:
        return spec.steps + 1

    def summary(self) -> dict:
        return {"name": self.name, "path": str(self.path), "sha256": self.sha256, "kind": self.kind,
                "image_shape": list(self.image_shape), "parameters": self.parameters,
                "statistics": self.spectra.counts(), **self.config}

    def describe(self) -> str:
        training = self.config.get("training")
        tolerance = training.get("spectrum_tolerance") if isinstance(training, dict) else None
        capped = (f" (s of P(k) / P_data(k) at most {tolerance:g})"
                  if isinstance(tolerance, float) and math.isfinite(tolerance) else "")
        return checkpoint.describe_file_model(
            self, f"scattering spectra, {self.parameters} statistics, image {self.image_shape}",
            [f"  filters   {self.spectra.describe()}",
             f"  sampler   {SAMPLER}: L-BFGS on ||(Phi(x) - Phi_data) / s||^2{capped} from white noise, "
             f"{self.default_steps(SAMPLER)} iterations by default; sigma shown = rms of (Phi(x) - Phi_data) / s"])

    def loss(self, x: torch.Tensor) -> torch.Tensor:
        """||(Phi(x_i) - Phi_data) / s||^2 per sample: (B,); x (B, 1, H, W)."""
        phi = self.spectra(x, self.sigma2.to(x.device), None if self.spectrum is None else self.spectrum.to(x.device))
        return (((phi - self.phi.to(x.device)) / self.scale.to(x.device)) ** 2).sum(1)

    def run(self, spec: RunSpec) -> Generator[Frame, None, Trajectory]:
        """spec.steps L-BFGS iterations from white noise (initial_noise of spec.seed) shaped to the
        data's band powers (`band_noise`) plus the data's mean, or from spec.x_init."""
        from explorer.core.sampling.samplers import initial_noise

        spec = spec.resolved(self)
        device = resolve_device(spec.device)
        if spec.x_init is not None:
            x_init = spec.x_init.double()
        else:
            z = initial_noise((spec.n, *self.image_shape), seed=spec.seed).double()
            x_init = float(self.data.get("mean", 0.0)) + band_noise(self.spectra, z, self.sigma2)
        return self._generate(self.project(x_init.to(device, torch.float64)), spec)

    def project(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, ..., H, W) on the data's Fourier support: F^-1(1_support F x)."""
        if bool((self.support == 1).all()):
            return x
        return torch.fft.ifft2(torch.fft.fft2(x) * self.support.to(x.device, x.dtype)).real

    def _value_and_grad(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The loss per sample (B,) and its gradient (B, D) at x (B, 1, H, W), projected on the
        support (so that L-BFGS's steps, combinations of gradients, stay in it). Evaluated as many
        samples at a time as explorer's memory limit holds (`batch_for`): a sample's loss depends
        on it alone, so any batch runs, in the same memory, with the same result."""
        most = batch_for(self.spectra.config, grad=True, most=schema.MAX_SAMPLES)
        losses, grads = [], []
        for chunk in x.detach().split(most):
            chunk = chunk.to(COMPUTE).requires_grad_(True)
            loss = self.loss(chunk)
            (grad,) = torch.autograd.grad(loss.sum(), chunk)
            losses.append(loss.detach())
            grads.append(self.project(grad.to(x.dtype)).reshape(len(chunk), -1))
        return torch.cat(losses), torch.cat(grads)

    def _generate(self, x_init: torch.Tensor, spec: RunSpec) -> Generator[Frame, None, Trajectory]:
        """L-BFGS per sample (`lbfgs`); Frame k is x_k with its loss."""
        self.spectra.to(x_init.device)
        frames: list[Frame] = []
        errors = []
        for step, (x, loss) in enumerate(lbfgs(self._value_and_grad, x_init, spec.steps)):
            total = float(loss.sum())
            if not math.isfinite(total):
                raise SamplingError(f"{self.name}: the loss became {total} at iteration {step}")
            error = math.sqrt(total / (self.parameters * spec.n))            # the rms statistics error
            x_now = x.float().cpu()
            f = Frame(step, 0.0, 0.0, x_now, x_now, level=error)
            errors.append(error)
            keep(frames, f, spec.keep_frames)
            yield f
        meta = {**run_meta(self, spec), "colormap": self.display.colormap, "rms_error": errors}
        return Trajectory(frames=frames, meta=meta, x_init=x_init.float().cpu())


def lbfgs(value_and_grad, x: torch.Tensor, steps: int, memory: int = 50, armijo: float = 1e-4, halvings: int = 40,
          interpolate: bool = True, history: torch.dtype = torch.float32):
    """Minimise independent losses f_i(x_i) of a batch x (B, ...) by L-BFGS, one history per sample.

    value_and_grad(x) -> (f (B,), grad (B, D)). Yields (x_k, f(x_k)) for k = 0..steps. Direction:
    the two-loop recursion over the last `memory` pairs (s, y) with s.y > 0, scaled by s.y / y.y
    (the first: steepest descent of step 1 / |g|_1); a sample whose direction is not a descent
    direction takes -g. Step: backtracking from t = 1 until f(x + t d) <= f + armijo t g.d, at most
    `halvings` tries (a sample that finds none stays put); after a failed try the next t is the
    minimum of the parabola through f(0), f'(0) = g.d and f(t), kept within [t/10, t/2]
    (`interpolate`; else t/2). Unlike torch.optim.LBFGS, whose strong-Wolfe search can give up
    after an overlong first quasi-Newton step and whose single history couples the samples, sample
    i here is the same whatever the batch.

    The parabola, against halving (the bundled models, 16 fields, 100 iterations, seeds 0-2):
    turbulence (64 x 64 and 32 x 32) reaches halving's loss after 100 iterations in 64-81
    iterations, with 18-20 % fewer evaluations (halving: every 21 iterations, as the history's
    pairs from the first fast descent leave it, all samples overshoot ~250x and halve 8 times);
    phi^4 and the cosmic web, where t = 1 nearly always holds, take the same evaluations (+-0.5 %)
    and end within 1 % of halving's loss, either way (a chaotic optimiser: one iteration earlier at
    some losses, one later at others). The history of 50 pairs, against 20 (seeds 0 and 1):
    turbulence reaches 20's loss after 100 iterations in 60-63 iterations; the cosmic web in
    91-92, phi^4 in 94 (before 20 pairs, the same path); each iteration's two-loop recursion costs
    more: phi^4, the cheapest model, took 0-20 % longer per 100 iterations. The pairs (s, y) and the
    recursion are in `history` (float32: the recursion reads 2 x 50 vectors per iteration and was a
    fifth of a 64 x 64 run in float64); the direction, x and f in x's dtype. Memory: 2 x 50 x n x
    H W of `history` (26 MB for 16 fields of 64 x 64 in float32)."""
    b = x.shape[0]
    x = x.detach().clone()
    f, g = value_and_grad(x)
    pairs: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = []
    gamma = 1.0 / g.abs().sum(1).clamp_min(1.0)                              # (B,): the first step's scale
    yield x, f
    for _ in range(steps):
        q, alphas = g.to(history, copy=True), []
        for s, y, rho in reversed(pairs):
            a = rho * torch.linalg.vecdot(s, q)
            q.addcmul_(a[:, None], y, value=-1.0)
            alphas.append(a)
        r = gamma[:, None].to(history) * q
        for (s, y, rho), a in zip(pairs, reversed(alphas)):
            r.addcmul_((a - rho * torch.linalg.vecdot(y, r))[:, None], s)
        d = -r.to(x.dtype)
        gtd = (g * d).sum(1)
        bad = ~(gtd < 0)                                                   # not a descent direction, or NaN
        d[bad] = -gamma[bad, None] * g[bad]
        gtd = (g * d).sum(1)
        t = torch.ones(b, dtype=x.dtype, device=x.device)
        todo = torch.ones(b, dtype=torch.bool, device=x.device)
        f_new, g_new = f.clone(), g.clone()
        for _ in range(halvings):
            i = torch.nonzero(todo).squeeze(1)                                 # only the samples still searching
            ft, gt = value_and_grad(x[i] + (t[i, None] * d[i]).reshape(x[i].shape))
            ok = ft <= f[i] + armijo * t[i] * gtd[i]
            f_new[i[ok]], g_new[i[ok]] = ft[ok], gt[ok]
            todo[i[ok]] = False
            if not todo.any():
                break
            if interpolate:        # the minimum of the parabola through f(0), f'(0), f(t), within [t/10, t/2]
                bad, tb = i[~ok], t[i[~ok]]
                curve = (ft[~ok] - f[bad] - gtd[bad] * tb).clamp_min(1e-300)
                t[bad] = torch.minimum(torch.maximum(-gtd[bad] * tb * tb / (2 * curve), 0.1 * tb), 0.5 * tb)
            else:
                t[todo] *= 0.5
        t[todo] = 0.0                                                          # no decrease found: stay
        step = t[:, None] * d
        x = x + step.reshape(x.shape)
        yvec = g_new - g
        sy = (step * yvec).sum(1)
        valid = sy > 1e-12 * (step * step).sum(1).sqrt() * (yvec * yvec).sum(1).sqrt()
        rho = torch.where(valid, 1.0 / torch.where(valid, sy, torch.ones_like(sy)), torch.zeros_like(sy))
        gamma = torch.where(valid, sy / (yvec * yvec).sum(1).clamp_min(1e-300), gamma)
        pairs = (pairs + [(step.to(history), yvec.to(history), rho)])[-memory:]        # rho = 1/s.y in x's dtype
        f, g = f_new, g_new
        yield x, f


# --- the file ------------------------------------------------------------------------------------

def check_config(config: object, path: Path | str) -> dict:
    """A scattering model's config checked before anything is built: format, kind, the filter
    bank, the data record (one channel, the bank's size), the training record."""
    checkpoint.check_header(config, path, KIND, "a scattering model", (SAMPLER,))
    bank = ScatteringConfig.from_dict(config.get("scattering"), f"{path}: scattering")
    data = schema.dict_of(config, "data", str(path), ConfigError, default={})
    if data:
        check_record(data, f"{path}: data", ConfigError)
        side, channels = data_shape(data)
        if (side, channels) != (bank.size, 1):
            raise ConfigError(f"{path}: the data are {channels} x {side} x {side} fields, the filters are for "
                              f"1 x {bank.size} x {bank.size}")
    return config


def claims(path: Path) -> bool:
    return path.name.endswith(SUFFIX) and not path.is_dir()


def load(path: str | Path) -> ScatteringModel:
    """Read and validate a scattering model file; every problem is a CheckpointError that says what."""
    path = Path(path)
    blob, config, tensors = checkpoint.read_model_file(path, "scattering model", check_config)
    spectra = ScatteringSpectra(ScatteringConfig.from_dict(config["scattering"], f"{path}: scattering"))
    c = spectra.config
    expected = {"phi", "scale", "sigma2"} | ({"spectrum"} if c.shells else set())
    if not expected <= set(tensors) <= expected | {"support"}:
        raise ShapeMismatch(f"{path}: a scattering model {'with' if c.shells else 'without'} P(k) holds the tensors "
                            f"{', '.join(sorted(expected))} and support, not {sorted(tensors)[:6]}")
    support = tensors.get("support", torch.ones(c.size, c.size, dtype=torch.float64))
    if tuple(support.shape) != (c.size, c.size) or support.dtype not in checkpoint.FLOAT_DTYPES:
        raise ShapeMismatch(f"{path}: tensor 'support' is {support.dtype} of shape {tuple(support.shape)}, the filters "
                            f"need floats of shape {(c.size, c.size)}")
    support = support.double()
    if not bool(((support == 0) | (support == 1)).all()) or not torch.equal(support, torch.from_numpy(reflect(support.numpy()))) \
            or support[0, 0] != 1:
        raise CheckpointError(f"{path}: tensor 'support' must be 0 or 1, the same at w and -w, and 1 at w = 0; "
                              "the file is damaged")
    shapes = {"phi": (spectra.count,), "scale": (spectra.count,), "sigma2": (c.J, c.L), "spectrum": (c.shells,)}
    for key, shape in ((k, v) for k, v in shapes.items() if k in expected):
        t = tensors[key]
        if tuple(t.shape) != shape or t.dtype not in checkpoint.FLOAT_DTYPES:
            raise ShapeMismatch(f"{path}: tensor {key!r} is {t.dtype} of shape {tuple(t.shape)}, the filters need "
                                f"floats of shape {shape}")
        if not bool(torch.isfinite(t).all()) or (key != "phi" and not bool((t > 0).all())):
            raise CheckpointError(f"{path}: tensor {key!r} holds NaN, infinite" + ("" if key == "phi" else " or non-positive")
                                  + " values; the file is damaged")
    spectrum = tensors["spectrum"].double() if c.shells else None
    return ScatteringModel(path, config, spectra, tensors["phi"].double(), tensors["scale"].double(),
                           tensors["sigma2"].double(), support, spectrum, hashlib.sha256(blob).hexdigest())


def fourier_support(x: torch.Tensor) -> torch.Tensor:
    """The frequencies w of fields x (N, [1,] H, W) where the mean |xhat(w)|^2 exceeds SUPPORT_FLOOR
    times its largest value at w != 0, and w = 0: 0/1 (H, W) float64, the same at w and -w."""
    from explorer.core.statistics.stats import power_2d

    power = power_2d(x.numpy())
    power[0, 0] = 0.0
    support = (power > SUPPORT_FLOOR * power.max()).astype(np.float64)
    support = np.maximum(support, reflect(support))
    support[0, 0] = 1.0
    return torch.from_numpy(support)


def shell_limit(data: dict) -> int:
    """The last shell a data set resolves: size/3 for a dealiased field (`resolved_k`), else size/2."""
    return resolved_k(data) or data_shape(data)[0] // 2


def resolved_shells(data: dict, x: np.ndarray) -> int:
    """The shells |k| = 1..K whose power a model of `data` (training fields x) can match: up to the
    |k| the data resolve (`shell_limit`), before the first shell whose mean power is below
    SUPPORT_FLOOR times the largest (band-limited data)."""
    from explorer.core.statistics.stats import field_power_spectra

    p = field_power_spectra(x)                                                  # (N, size/2): k = 1..
    held = p.mean(0) > SUPPORT_FLOOR * p.mean(0).max()
    held = held[:shell_limit(data)]
    return int(held.argmin()) if not held.all() else len(held)


def fit(data: dict, bank: ScatteringConfig, out: str | Path, name: str | None = None, description: str = "",
        command: str = "", spectrum_tolerance: float | None = None) -> ScatteringModel:
    """Phi_data, s and sigma2 of the training set of `data`, written to `out` (NAME.scat.safetensors);
    bank.shells None: every shell the data resolve. spectrum_tolerance: s of each P(k) / P_data(k)
    at most this (None: the spread over single fields, as for every other statistic)."""
    from explorer.core.data import training_set
    from explorer.core.files.io import atomic_write, check_output
    from explorer.core.statistics.stats import summary

    out = check_output(out)
    if not out.name.endswith(SUFFIX):
        raise UsageError(f"{out}: a scattering model's file name ends in {SUFFIX}")
    check_record(data, "the data", UsageError)
    if data["n"] < 2:
        raise UsageError("a scattering model needs at least 2 training fields (--n 2 or more): each statistic is "
                         "normalised by its spread over the training set")
    if spectrum_tolerance is not None and not 0 < spectrum_tolerance <= 1:    # also refuses NaN
        raise UsageError(f"--spectrum-tolerance {spectrum_tolerance}: a fraction of P(k), in (0, 1]")
    if spectrum_tolerance is not None and bank.shells == 0:
        raise UsageError("--spectrum-tolerance weighs the P(k) statistics: with --shells 0 the model has none")
    checkpoint.check_writable(name or out.name[: -len(SUFFIX)], description, data, "--name, --description and --data-params")
    check_memory(bank, "the filters", UsageError)
    side, channels = data_shape(data)
    if (side, channels) != (bank.size, 1):
        raise UsageError(f"the filters are for 1 x {bank.size} x {bank.size} fields, the data are {channels} x {side} x {side}")
    limit = shell_limit(data)
    if bank.shells is not None and bank.shells > limit:
        raise UsageError(f"the data resolve the shells |k| = 1..{limit}"
                         + (" (a dealiased field: size/3)" if resolved_k(data) else "")
                         + f": use --shells {limit} or fewer")
    start = time.perf_counter()
    x = torch.from_numpy(training_set(data)).double()
    if bank.shells != 0:
        shells = resolved_shells(data, x.numpy())
        if bank.shells is None:
            bank = replace(bank, shells=shells)
        if bank.shells > shells:
            raise UsageError(f"the data hold no power on the shell |k| = {shells + 1} (below {SUPPORT_FLOOR:g} of "
                             f"the largest shell's), so its P(k) cannot be matched: use --shells {shells} or fewer")
    record = {**data, "mean": float(x.mean()), "std": float(x.std()) if x.numel() > 1 else 1.0,
              "stats": summary(x.numpy(), k_max=resolved_k(data))}
    # what the loader demands of the record (no NaN statistics: constant fields have none), before the statistics Phi
    checkpoint.check_writable(name or out.name[: -len(SUFFIX)], description, record, "the training data")
    ref = reference(ScatteringSpectra(bank), x)
    scale = ref["std"].clamp_min(S_FLOOR * float(ref["std"].median()))
    training = {"command": command, "fields": len(x), "scale_floor": S_FLOOR}
    if spectrum_tolerance is not None:
        scale[-bank.shells:] = scale[-bank.shells:].clamp_max(spectrum_tolerance)      # P(k) / P_data(k) is last
        training["spectrum_tolerance"] = spectrum_tolerance
    config = {"format": checkpoint.FORMAT, "version": __version__, "kind": KIND, "name": name or out.name[: -len(SUFFIX)],
              "description": description, "scattering": bank.to_dict(), "data": record,
              "training": {**training, "seconds": round(time.perf_counter() - start, 2)}}
    check_config(config, out)
    tensors = {"phi": ref["phi"], "scale": scale, "sigma2": ref["sigma2"], "support": fourier_support(x)}
    if bank.shells:
        tensors["spectrum"] = ref["spectrum"]
    blob = st_save({k: v.contiguous() for k, v in tensors.items()}, metadata={"explorer": json.dumps(config)})
    atomic_write(out, lambda f: f.write(blob), verify=load)            # read back by explorer's loader before the rename
    return load(out)
