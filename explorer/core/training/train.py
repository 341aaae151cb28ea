"""Training denoisers by MSE: min E_t E ||D(alpha x_0 + sigma z, t) - x_0||^2 w(t).

Noise levels: half of each batch draws log(s) (s = sigma/alpha) uniformly over the samplers'
whole range [sigma_over_alpha(T_MIN), sigma_over_alpha(T_MAX)], half from Karras's log-normal
N(-1.2, 1.2^2) where images form; with `noise_levels` = [lo, hi], half of each batch is drawn
log-uniformly in [lo, hi] instead (a second stage, started from a trained model `init`, that
sharpens the lowest levels). w = (s^2 + s_d^2)/(s s_d)^2 makes the preconditioned network's
target unit-variance at every level. Adam (fused where torch has it), EMA of the weights (the
EMA weights are what the checkpoint holds), optional bf16 autocast; on the CPU in float32,
channels-last tensors (`memory_format`). Deterministic given the seed: every draw comes from
one torch.Generator, whose state is saved with the resume file, so a killed run resumed from
its last periodic save ends with the same weights as an uninterrupted one.
Resume files are safetensors too (weights, EMA, Adam moments, generator state): no pickles.
"""
from __future__ import annotations

import copy
import json
import logging
import math
import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save

from explorer.core.errors import ExplorerError, UsageError
from explorer.core.files import schema
from explorer.core.files.io import atomic_write, check_output, exclusive, progress_bar
from explorer.core.models import checkpoint, diffusion, resolve_device
from explorer.core.models.diffusion import DiffusionModel
from explorer.core.nets.unet import Denoiser, UNetConfig, count_parameters
from explorer.core.sampling import schedule
from explorer.core.training import distributed

MAX_TRAIN_STEPS = 10_000_000
LOG_S_MIN = math.log(schedule.sigma_over_alpha(schedule.T_MIN))
LOG_S_MAX = math.log(schedule.sigma_over_alpha(schedule.T_MAX))


@dataclass
class TrainConfig:
    steps: int = 3000
    batch: int = 64
    lr: float = 2e-3
    ema: float = 0.999
    seed: int = 0
    bf16: bool = False
    save_every: int = 500
    warmup: int = 100
    lr_schedule: str = "constant"     # or "cosine": lr decays to lr/50 at the last step
    monitor_every: int = 0            # >0: record the training-set denoising error every k steps
    noise_levels: list | None = None  # [lo, hi]: half of each batch draws s = sigma/alpha log-uniformly there

    def __post_init__(self) -> None:
        """Every field in range (a UsageError before any work)."""
        d = self.__dict__
        for key, lo, hi in (("steps", 1, MAX_TRAIN_STEPS), ("batch", 1, 4096), ("seed", 0, schema.MAX_SEED),
                            ("save_every", 1, MAX_TRAIN_STEPS), ("warmup", 0, MAX_TRAIN_STEPS),
                            ("monitor_every", 0, MAX_TRAIN_STEPS)):
            schema.value(d, key, int, "", UsageError, lo=lo, hi=hi)
        schema.value(d, "lr", float, "", UsageError, lo=1e-8, hi=1.0)
        schema.value(d, "ema", float, "", UsageError, lo=0.0, hi=0.999999)
        schema.value(d, "bf16", bool, "", UsageError)
        schema.value(d, "lr_schedule", str, "", UsageError, choices=("constant", "cosine"))
        if self.noise_levels is not None:
            lo_hi = self.noise_levels
            if (not isinstance(lo_hi, (list, tuple)) or len(lo_hi) != 2
                    or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in lo_hi)):
                raise UsageError(f"noise levels must be two numbers lo,hi; got {lo_hi!r}")
            s_min, s_max = schedule.sigma_over_alpha(schedule.T_MIN), schedule.sigma_over_alpha(schedule.T_MAX)
            if not s_min * (1 - 1e-3) <= lo_hi[0] < lo_hi[1] <= s_max * (1 + 1e-3):
                raise UsageError(f"noise levels {lo_hi[0]:g},{lo_hi[1]:g}: need {s_min:.4g} <= lo < hi <= {s_max:.4g} "
                                 "(the samplers' range of sigma/alpha)")
            self.noise_levels = [float(v) for v in lo_hi]

    def lr_at(self, step: int) -> float:
        """Learning rate of step `step` (0-based): linear warm-up, then constant or cosine decay."""
        lr = self.lr * min(1.0, (step + 1) / self.warmup)
        if self.lr_schedule == "cosine":
            lr *= 0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * min(step / self.steps, 1.0)))
        return lr

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def adam_options(device: torch.device) -> dict:
    """The keyword arguments `fit` gives torch.optim.Adam besides the learning rate: the fused
    implementation where torch has one (CPU, CUDA), the same update in one kernel (the step of a
    293 k-parameter U-Net on the CPU: 0.5 ms, against 2.0 ms for the default loop and 1.4 ms
    foreach)."""
    return {"fused": True} if device.type in ("cpu", "cuda") else {}


def memory_format(model: torch.nn.Module, device: torch.device, tc: TrainConfig) -> torch.memory_format:
    """The layout `fit` trains in: channels-last on the CPU in float32 with zero padding, where the
    convolutions run 13-34% faster on images and weights in that layout (32x32 and 64x64, 1 and 3
    channels, bias-free too); not under bf16 autocast (20% slower at 32x32) nor with circular
    padding (10-30% slower): the same network and maths, a different order in memory."""
    cfg = getattr(model, "cfg", None)
    if device.type == "cpu" and not tc.bf16 and getattr(cfg, "padding", "zeros") == "zeros":
        return torch.channels_last
    return torch.contiguous_format


def _laid_out(x: torch.Tensor, layout: torch.memory_format) -> torch.Tensor:
    return x.contiguous(memory_format=layout) if x.dim() == 4 else x


def seeded_model(arch: UNetConfig, seed: int) -> Denoiser:
    """A new denoiser whose initial weights are fixed by `seed` (and by nothing else)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return Denoiser(arch)


def draw_times(n: int, generator: torch.Generator, noise_levels: list | None = None) -> torch.Tensor:
    """Training times t (n,): half log-uniform in s over the sampler range, half log-normal. With
    noise_levels = [lo, hi], half of them (i % 4 = 2, 3) are log-uniform in s over [lo, hi]
    instead: those levels are sharpened while the others are still trained (a stage on [lo, hi]
    alone made a memorising model's error at s = 0.5 ... 2 two to nine times larger)."""
    i = torch.arange(n)
    u = torch.rand(n, generator=generator)
    log_s = LOG_S_MIN + (LOG_S_MAX - LOG_S_MIN) * u
    normal = -1.2 + 1.2 * torch.randn(n, generator=generator)
    log_s = torch.where(i % 2 == 0, log_s, normal.clamp(LOG_S_MIN, LOG_S_MAX))
    if noise_levels is not None:
        lo, hi = math.log(noise_levels[0]), math.log(noise_levels[1])
        log_s = torch.where(i % 4 >= 2, lo + (hi - lo) * torch.rand(n, generator=generator), log_s)
    return schedule.t_from_sigma_over_alpha(torch.exp(log_s))


def loss_weight(t: torch.Tensor, sigma_data: float) -> torch.Tensor:
    s2 = torch.expm1(2 * t)
    return (s2 + sigma_data ** 2) / (s2 * sigma_data ** 2)


def denoising_loss(model: Denoiser, x0: torch.Tensor, t: torch.Tensor, z: torch.Tensor,
                   cond: torch.Tensor | None = None) -> torch.Tensor:
    """Weighted MSE of x0_hat at x_t = alpha x0 + sigma z; x0, z: (B, C, H, W), t: (B,). `model`
    may be wrapped in DistributedDataParallel (its config is then on `.module`)."""
    x_t = schedule.forward(x0, t, z)
    x0_hat = model(x_t, t, cond) if cond is not None else model(x_t, t)
    w = loss_weight(t, getattr(model, "module", model).cfg.sigma_data).to(x0.device)
    return (w * (x0_hat.float() - x0).pow(2).flatten(1).mean(1)).mean()


@dataclass
class _State:
    model: Denoiser
    ema: Denoiser
    opt: torch.optim.Adam
    generator: torch.Generator
    step: int = 0
    losses: list = field(default_factory=list)
    curve: list = field(default_factory=list)
    loss_curve: list = field(default_factory=list)      # [step, mean loss of the LOSS_EVERY steps before]


MONITOR_LEVELS = (schedule.sigma_over_alpha(schedule.T_MIN), 0.1, 0.2)
LOSS_EVERY = 100                       # the recorded loss curve: one mean per this many steps


def monitor_error(model: Denoiser, data: torch.Tensor, loss_fn=None, count: int = 256) -> dict[str, float]:
    """Mean squared error of x0_hat on the first `count` training images at the lowest noise
    levels s = sigma/alpha in MONITOR_LEVELS, with fixed noise: the curve that shows when a
    memorising model has converged (it falls until the model returns its training images)."""
    x0 = data[:count]
    g = torch.Generator().manual_seed(12345)
    out = {}
    with torch.no_grad():
        for s in MONITOR_LEVELS:
            t = torch.full((len(x0),), float(schedule.t_from_sigma_over_alpha(s)))
            z = torch.randn(x0.shape, generator=g).to(x0.device)
            if loss_fn is None:
                err = (model(schedule.forward(x0, t.to(x0.device), z), t.to(x0.device)) - x0).pow(2).mean()
            else:      # a custom loss is weighted by w(t); divide it out to report the plain MSE
                err = loss_fn(model, x0, t.to(x0.device), z) / loss_weight(t[:1], model.cfg.sigma_data).item()
            out[f"{s:.3g}"] = float(err)
    return out


def _resume_path(out: Path) -> Path:
    return out.with_name(out.name + ".resume")


def _save_resume(path: Path, st: _State, fingerprint: str, generators: list[torch.Tensor]) -> None:
    tensors = {f"model.{k}": v.detach().cpu().contiguous() for k, v in st.model.state_dict().items()}
    tensors |= {f"ema.{k}": v.detach().cpu().contiguous() for k, v in st.ema.state_dict().items()}
    names = [n for n, _ in st.model.named_parameters()]
    for i, n in enumerate(names):
        s = st.opt.state.get(st.opt.param_groups[0]["params"][i])
        if s:
            tensors[f"adam.exp_avg.{n}"] = s["exp_avg"].detach().cpu().contiguous()
            tensors[f"adam.exp_avg_sq.{n}"] = s["exp_avg_sq"].detach().cpu().contiguous()
            tensors[f"adam.step.{n}"] = torch.as_tensor(s["step"], dtype=torch.float64).reshape(1).cpu()
    tensors["generator_state"] = generators[0]
    tensors |= {f"generator_state.{r}": g for r, g in enumerate(generators) if r}
    meta = {"fingerprint": fingerprint, "step": str(st.step), "losses": json.dumps(st.losses[-200:]),
            "curve": json.dumps(st.curve), "loss_curve": json.dumps(st.loss_curve)}
    blob = save(tensors, metadata=meta)
    atomic_write(path, lambda f: f.write(blob))


def _load_resume(path: Path, st: _State, fingerprint: str, rank: int = 0) -> bool:
    from safetensors import safe_open
    try:
        with safe_open(str(path), "pt") as f:
            meta = f.metadata()
        if meta.get("fingerprint") != fingerprint:
            return False
        tensors = load_file(str(path))
    except Exception:                      # an unreadable resume file is ignored: training restarts
        return False
    fresh = copy.deepcopy(st.model.state_dict()), copy.deepcopy(st.ema.state_dict()), st.generator.get_state()
    try:
        return _restore(st, meta, tensors, rank)
    except Exception:                      # one that reads but does not fit (a damaged step, curve or tensor): too,
        st.model.load_state_dict(fresh[0])                      # from the state it would have started from
        st.ema.load_state_dict(fresh[1])
        st.generator.set_state(fresh[2])
        st.opt.state.clear()
        st.step, st.losses, st.curve, st.loss_curve = 0, [], [], []
        return False


def _restore(st: _State, meta: dict, tensors: dict, rank: int) -> bool:
    """The training state of a resume file that matched the run's fingerprint; raises if any part is damaged."""
    step, losses = int(meta["step"]), json.loads(meta["losses"])
    curve, loss_curve = json.loads(meta.get("curve", "[]")), json.loads(meta.get("loss_curve", "[]"))
    if step < 0 or not all(isinstance(v, (int, float)) and math.isfinite(v) for v in losses) \
            or not isinstance(curve, list) or not isinstance(loss_curve, list):
        raise ValueError("damaged resume state")
    st.model.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")})
    st.ema.load_state_dict({k[4:]: v for k, v in tensors.items() if k.startswith("ema.")})
    params = st.opt.param_groups[0]["params"]
    for i, (n, _) in enumerate(st.model.named_parameters()):
        if f"adam.exp_avg.{n}" in tensors:
            p, fused = params[i], st.opt.param_groups[0].get("fused")
            st.opt.state[p] = {"step": tensors[f"adam.step.{n}"].reshape(()).float().to(p.device if fused else "cpu"),
                               "exp_avg": torch.empty_like(p).copy_(tensors[f"adam.exp_avg.{n}"]),   # p's layout
                               "exp_avg_sq": torch.empty_like(p).copy_(tensors[f"adam.exp_avg_sq.{n}"])}
    st.generator.set_state(tensors["generator_state" if rank == 0 else f"generator_state.{rank}"])
    st.step, st.losses, st.curve, st.loss_curve = step, losses, curve, loss_curve
    return True


def fit(model: Denoiser, data: torch.Tensor | list[torch.Tensor], tc: TrainConfig, out: Path, fingerprint: str,
        device: torch.device, loss_fn=None, desc: str = "train", progress: bool = True) -> tuple[Denoiser, dict]:
    """Train `model` on `data` (N, ...) and return (EMA model, stats). `loss_fn(model, batch,
    t, z)` defaults to the denoising loss; the WCRG trainer passes its conditional one. A list
    of tensors (of different image sizes) is visited in turn, one batch per step. Under torchrun
    each rank trains on its shard with batch/world images (see `distributed`)."""
    w = distributed.world()
    if tc.batch % w.size:
        raise UsageError(f"--batch {tc.batch} must be divisible by the {w.size} processes")
    device = distributed.device_of(w, device)
    monitor_loss = loss_fn
    loss_fn = loss_fn or (lambda m, x0, t, z: denoising_loss(m, x0, t, z))
    layout = memory_format(model, device, tc)
    model = model.to(device, memory_format=layout)
    st = _State(model=model, ema=copy.deepcopy(model).requires_grad_(False),
                opt=torch.optim.Adam(model.parameters(), lr=tc.lr, **adam_options(device)),
                generator=torch.Generator().manual_seed(tc.seed + 1_000_003 * w.rank))
    if w.size > 1:
        fingerprint += f" world={w.size}"
    resume = check_output(_resume_path(out), beside=True)   # a regular file or absent: never a FIFO that blocks
    resumed = resume.exists() and _load_resume(resume, st, fingerprint, w.rank)
    if len(set(distributed.gather(st.step, w))) > 1:
        raise ExplorerError(f"the {w.size} processes resumed at different steps; give them one shared folder")
    full = [d.to(device) for d in (data if isinstance(data, (list, tuple)) else [data])]
    sets = [d[w.rank::w.size] for d in full]
    if any(len(d) == 0 for d in sets):
        raise UsageError(f"{w.size} processes need at least {w.size} training images, one per process")
    trained, batch = distributed.wrap(model, w, device), tc.batch // w.size
    bar = progress_bar(tc.steps, desc, disable=not progress or not w.main)
    bar.update(st.step)
    start, first_step = time.perf_counter(), st.step
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=tc.bf16)
    while st.step < tc.steps:
        data = sets[st.step % len(sets)]
        idx = torch.randint(0, len(data), (batch,), generator=st.generator)
        t = draw_times(batch, st.generator, tc.noise_levels)
        x0 = data[idx.to(device)]
        z = _laid_out(torch.randn(x0.shape, generator=st.generator).to(device), layout)
        x0 = _laid_out(x0, layout)                             # the batch, not the data set: no second copy of it
        for g in st.opt.param_groups:
            g["lr"] = tc.lr_at(st.step)
        with autocast:
            loss = loss_fn(trained, x0, t.to(device), z)
        st.opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        st.opt.step()
        decay = min(tc.ema, (1 + st.step) / (10 + st.step))
        with torch.no_grad():
            for pe, pm in zip(st.ema.parameters(), model.parameters()):
                pe.lerp_(pm, 1 - decay)
        st.step += 1
        value = distributed.mean(loss.item(), w)           # every rank sees the same value, and stops together
        if not math.isfinite(value):
            raise ExplorerError(f"training diverged at step {st.step} (loss {value}); lower --lr")
        st.losses.append(value)
        bar.update(1)
        if st.step % 10 == 0:
            bar.set_postfix(loss=f"{np.mean(st.losses[-50:]):.4f}")
        if st.step % LOSS_EVERY == 0:
            st.loss_curve.append([st.step, round(float(np.mean(st.losses[-LOSS_EVERY:])), 5)])
        if tc.monitor_every and (st.step % tc.monitor_every == 0 or st.step == tc.steps):
            st.curve.append({"step": st.step, "mse": monitor_error(st.ema, full[0], monitor_loss)})
        if st.step % tc.save_every == 0 and st.step < tc.steps:
            generators = distributed.gather(st.generator.get_state(), w)
            if w.main:
                try:
                    _save_resume(resume, st, fingerprint, generators)
                except ExplorerError as e:                  # a full disk: the training goes on, unsaved
                    logging.getLogger("explorer").warning(f"explorer: no resume file at step {st.step} ({e})")
    bar.close()
    seconds = time.perf_counter() - start
    stats = {"final_loss": float(np.mean(st.losses[-100:])) if st.losses else None,
             "seconds_this_run": round(seconds, 1), "resumed_from_step": first_step if resumed else 0,
             "steps_per_second": round((st.step - first_step) / max(seconds, 1e-9), 2)}
    if st.curve:
        stats["monitor"] = st.curve
    if st.loss_curve:
        stats["loss_curve"] = st.loss_curve
    if w.size > 1:
        stats["processes"] = w.size
    model.to(memory_format=torch.contiguous_format)
    return st.ema.cpu().to(memory_format=torch.contiguous_format).eval(), stats


DERIVED_DATA_KEYS = ("mean", "std", "stats")        # computed from the training set, not chosen


def check_same_training(start: DiffusionModel, data: dict, arch: UNetConfig) -> None:
    """A model to start from must have been trained on the same data with the same network (its
    sigma_data, the data's std, then follows)."""
    own = {k: v for k, v in start.data.items() if k not in DERIVED_DATA_KEYS}
    new = {k: v for k, v in data.items() if k not in DERIVED_DATA_KEYS}
    if own != new:
        raise UsageError(f"--init {start.name} was trained on other data ({json.dumps(own, sort_keys=True)}) "
                         f"than asked for ({json.dumps(new, sort_keys=True)})")
    own = {k: v for k, v in start.checkpoint.config["arch"].items() if k != "sigma_data"}
    new = {k: v for k, v in arch.to_dict().items() if k != "sigma_data"}
    if own != new:
        raise UsageError(f"--init {start.name} is another network ({json.dumps(own, sort_keys=True)}) than asked "
                         f"for ({json.dumps(new, sort_keys=True)}): give the same --widths, --blocks and --size")


def train_diffusion(data: dict, arch: UNetConfig, out: str | Path, tc: TrainConfig, device: str = "auto",
                    name: str | None = None, description: str = "", command: str = "",
                    progress: bool = True, init: str | Path | None = None) -> DiffusionModel:
    """Build the training set of `data`, train a denoiser and write the checkpoint `out`. With
    `init`, training starts from that checkpoint's weights (same data and architecture); its
    training record is kept in the new file's, under "init"."""
    from explorer.core.data import check_record, resolved_k, training_set

    out = check_output(out)
    check_output(_resume_path(out), beside=True)       # the resume file beside it too: never a link or a FIFO
    start = None
    if init is not None:
        if Path(init).resolve() == out.resolve():
            raise UsageError(f"--out {out} would replace --init, the model it starts from: write elsewhere")
        start = diffusion.load(init)
    check_record(data, "the data", UsageError)
    checkpoint.check_writable(name or out.stem, description, data, "--name, --description and --data-params")
    arch.check_budget()
    if start is not None:
        check_same_training(start, data, arch)                  # before the training set is made
    x = torch.from_numpy(training_set(data))
    if x.shape[1] != arch.channels or x.shape[-1] != arch.size:
        raise ExplorerError(f"the data are {tuple(x.shape[1:])} but the model expects "
                            f"({arch.channels}, {arch.size}, {arch.size})")
    from explorer.core.statistics.stats import summary
    data = {**data, "mean": float(x.mean()), "std": float(x.std()) if len(x.flatten()) > 1 else 1.0,
            "stats": summary(x.numpy(), k_max=resolved_k(data))}
    checkpoint.check_writable(name or out.stem, description, data, "the training data")
    arch.sigma_data = round(max(data["std"], 0.05), 4)
    model = seeded_model(arch, tc.seed)
    origin = {}
    if start is not None:
        model.load_state_dict(start.denoiser.state_dict())
        origin = {"init": {"file": str(init), "sha256": start.checkpoint.sha256, **start.checkpoint.config["training"]}}
    fingerprint = json.dumps({"data": data, "arch": arch.to_dict(), "train": tc.to_dict(), **origin}, sort_keys=True)
    dev = resolve_device(device)
    w = distributed.world()
    with exclusive(out) if w.main else nullcontext():            # one training per output, its resume file too
        ema, stats = fit(model, x, tc, out, fingerprint, dev, desc=out.stem, progress=progress)
        training = {**tc.to_dict(), **stats, "device": dev.type, "parameters": count_parameters(ema), "command": command,
                    **origin}
        config = checkpoint.make_config("diffusion", arch, name or out.stem, description, data, training)
        if w.main:
            checkpoint.save(out, ema, config)
            _resume_path(out).unlink(missing_ok=True)
    distributed.barrier(w)
    return diffusion.load(out)
