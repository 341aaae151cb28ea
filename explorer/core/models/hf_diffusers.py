"""A diffusers UNet2DModel folder as a Model, in OU time (SCIENCE.md section 10).

The folder is what `UNet2DModel.save_pretrained` and `DDPMScheduler/DDIMScheduler.save_pretrained`
write: config.json, diffusion_pytorch_model.safetensors and scheduler_config.json (or a pipeline
folder with unet/ and scheduler/ beside model_index.json). Only safetensors weights are read.

diffusers' alphas_cumprod abar_n is alpha(t)^2 = e^{-2t}, so grid point n sits at
t_n = -1/2 ln abar_n and its x_n is our x_t. The network's prediction becomes x0_hat:
epsilon: (x - sigma eps)/alpha; v_prediction (v = alpha eps - sigma x0): alpha x - sigma v;
sample: itself; clipped to +-clip_sample_range when the scheduler clips. The samplers run on the
scheduler's own timesteps (`set_timesteps(steps)`), so DDIM here is diffusers' DDIM (eta = 0,
"leading" spacing, final alpha 1: with set_alpha_to_one = False diffusers ends at abar_0, explorer
at x0_hat; with clipping, eps is derived from the clipped x0_hat, which is
diffusers' `use_clipped_model_output=True`: one denoiser drives the step). Between grid points
the network gets the fractional n(t).
Needs the optional extra `explorer[diffusers]`.
"""
from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Generator

import torch

from explorer.core.errors import CheckpointError, ConfigError, UsageError
from explorer.core.files import schema
from explorer.core.files.io import inside, parse_json, read_regular
from explorer.core.models.base import DisplayHints, ModelBase, RunSpec, resolve_device, run_meta
from explorer.core.models.checkpoint import read_tensors
from explorer.core.sampling import samplers
from explorer.core.sampling.trajectory import Frame, Trajectory

WEIGHTS = "diffusion_pytorch_model.safetensors"
SCHEDULERS = ("DDPMScheduler", "DDIMScheduler")
PREDICTIONS = ("epsilon", "v_prediction", "sample")
SAMPLERS = ("ddim", "dpm2m", "sde", "ode")


def _parts(path: Path) -> tuple[Path, Path] | None:
    """(unet folder, scheduler folder) of a diffusers folder, or None."""
    if (path / "config.json").is_file() and (path / "scheduler_config.json").is_file():
        return path, path
    if (path / "model_index.json").is_file() and (path / "unet").is_dir() and (path / "scheduler").is_dir():
        return path / "unet", path / "scheduler"
    return None


def claims(path: Path) -> bool:
    return path.is_dir() and _parts(path) is not None


@dataclass
class DiffusersModel(ModelBase):
    """A loaded diffusers UNet2DModel and its scheduler; `denoiser(x_t, t) -> x0_hat`."""

    fork_refusal = None                      # any run on a time grid continues from its frames

    path: Path
    sha256: str
    unet: torch.nn.Module
    scheduler: object                   # the diffusers scheduler, for its alphas_cumprod and timesteps
    t_table: torch.Tensor               # t_n = -1/2 ln abar_n, n = 0..N-1, float64, increasing

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def kind(self) -> str:
        return "diffusers"

    @property
    def image_shape(self) -> tuple[int, int, int]:
        c = self.unet.config
        size = c.sample_size if isinstance(c.sample_size, int) else c.sample_size[0]
        return (c.in_channels, size, size)

    @property
    def parameters(self) -> int:
        return sum(p.numel() for p in self.unet.parameters())

    @property
    def data(self) -> dict:
        return {}

    @property
    def samplers(self) -> tuple[str, ...]:
        return SAMPLERS

    @property
    def display(self) -> DisplayHints:
        return DisplayHints(colormap="grey")

    def default_steps(self, sampler: str) -> int:
        return 50

    def frame_count(self, spec: RunSpec) -> int | None:
        return samplers.frame_count(spec.sampler, spec.steps, spec.start)

    def describe(self) -> str:
        s = self.summary()
        return "\n".join([f"{self.name}  (diffusers UNet2DModel, {self.parameters:,} parameters, image {self.image_shape})",
                          f"  folder    {self.path}", f"  sha256    {self.sha256}",
                          f"  scheduler {s['scheduler']} ({s['prediction_type']} prediction, {s['num_train_timesteps']} "
                          f"steps, beta {s['beta_schedule']}, t from {s['t_range'][0]:.4g} to {s['t_range'][1]:.4g})"])

    def summary(self) -> dict:
        c = self.scheduler.config
        return {"name": self.name, "path": str(self.path), "sha256": self.sha256, "kind": self.kind,
                "image_shape": list(self.image_shape), "parameters": self.parameters,
                "scheduler": type(self.scheduler).__name__, "prediction_type": c.prediction_type,
                "num_train_timesteps": c.num_train_timesteps, "beta_schedule": c.beta_schedule,
                "t_range": [float(self.t_table[0]), float(self.t_table[-1])]}

    def check_run(self, spec: RunSpec) -> None:
        self.times(spec.steps)

    def times(self, steps: int) -> list[float]:
        """OU times of the scheduler's `steps` inference timesteps, decreasing."""
        n_train = self.scheduler.config.num_train_timesteps
        if steps > n_train:
            raise UsageError(f"{self.name} was trained on {n_train} timesteps: at most {n_train} steps")
        self.scheduler.set_timesteps(steps)
        ns = [int(n) for n in self.scheduler.timesteps]
        if not all(0 <= n < len(self.t_table) for n in ns) or len(set(ns)) < len(ns):
            raise UsageError(f"the scheduler's {steps} timesteps do not fit its {n_train} training levels "
                             "(steps_offset too large for so many steps); choose fewer steps")
        return [float(self.t_table[n]) for n in ns]

    def timestep(self, t: torch.Tensor) -> torch.Tensor:
        """The fractional timestep n(t) (B,), by linear interpolation of the t_n table."""
        t = t.double().clamp(float(self.t_table[0]), float(self.t_table[-1]))
        i = torch.searchsorted(self.t_table, t).clamp(1, len(self.t_table) - 1)
        lo, hi = self.t_table[i - 1], self.t_table[i]
        n = (i - 1) + (t - lo) / (hi - lo)
        return torch.where((n - n.round()).abs() < 1e-6, n.round(), n)

    def x0_hat(self, x: torch.Tensor, t) -> torch.Tensor:
        """x0_hat of x (B, C, H, W) at OU time t (a float or (B,))."""
        t = torch.as_tensor(t, dtype=torch.float64).expand(x.shape[0]) if not (torch.is_tensor(t) and t.ndim == 1) else t
        n = self.timestep(t.cpu()).to(x.device, torch.float32)
        out = self.unet(x, n).sample
        a = torch.exp(-t.double()).to(x.device, x.dtype)[:, None, None, None]
        s = torch.sqrt(-torch.expm1(-2 * t.double())).to(x.device, x.dtype)[:, None, None, None]
        kind = self.scheduler.config.prediction_type
        x0 = (x - s * out) / a if kind == "epsilon" else a * x - s * out if kind == "v_prediction" else out
        if self.scheduler.config.clip_sample:
            r = self.scheduler.config.clip_sample_range
            x0 = x0.clamp(-r, r)
        return x0

    @property
    def denoiser(self) -> torch.nn.Module:
        """x0_hat(x_t, t) as a torch module (its parameters are the UNet's)."""
        return _X0(self)

    def run(self, spec: RunSpec) -> Generator[Frame, None, Trajectory]:
        """Sample on the scheduler's timesteps from x_init (default: initial_noise(seed))."""
        spec = spec.resolved(self)
        device = resolve_device(spec.device)
        self.unet.to(device)
        x_init = spec.x_init if spec.x_init is not None else samplers.initial_noise((spec.n, *self.image_shape), seed=spec.seed)
        times = self.times(spec.steps)
        if not spec.final_denoise:
            if times[-1] <= float(self.t_table[0]):
                raise UsageError("the scheduler's last timestep is already its first training level: "
                                 "keep the final denoising step (final_denoise)")
            times.append(float(self.t_table[0]))        # end at the first training level, not at x0_hat
        return samplers.sample(self.denoiser, x_init.to(device), spec.sampler, spec.steps, seed=spec.seed,
                               meta=run_meta(self, spec), final_denoise=spec.final_denoise,
                               keep_frames=spec.keep_frames, times=times, start=spec.start)


class _X0(torch.nn.Module):
    """A DiffusersModel's x0_hat(x_t, t) as a module, so that its device and parameters are known."""

    def __init__(self, model: DiffusersModel):
        super().__init__()
        self.unet, self._model = model.unet, model

    def forward(self, x: torch.Tensor, t) -> torch.Tensor:
        return self._model.x0_hat(x, t)


def _json(path: Path, where: str) -> dict:
    value = parse_json(read_regular(path, "diffusers config", 2 ** 20, ConfigError), str(path), ConfigError)
    if not isinstance(value, dict):
        raise ConfigError(f"{path}: not a JSON object")
    return value


MAX_SIZE = 256                      # a diffusers model's image side: the cost of every network evaluation
DOWN_BLOCKS = ("DownBlock2D", "AttnDownBlock2D", "ResnetDownsampleBlock2D")
UP_BLOCKS = ("UpBlock2D", "AttnUpBlock2D", "ResnetUpsampleBlock2D")
ACTIVATIONS = ("silu", "swish", "mish", "gelu", "relu")


def check_unet_config(cfg: dict, where: str) -> None:
    """Every UNet2DModel config field that shapes the network, checked by type, range and
    consistency before anything is built (a config diffusers would refuse, or build into a network
    that fails when run, is a ConfigError that says which field); then `count_parameters`."""
    if cfg.get("_class_name") != "UNet2DModel":
        raise ConfigError(f"{where}: a {cfg.get('_class_name')!r}; explorer opens diffusers UNet2DModel folders")
    for key in ("class_embed_type", "num_class_embeds"):
        if cfg.get(key) is not None:
            raise ConfigError(f"{where}: a class-conditional UNet ({key} {schema._show(cfg[key])}); explorer samples "
                              "unconditionally and opens only UNets without class embeddings")
    channels = schema.value(cfg, "in_channels", int, where, ConfigError, choices=(1, 3), default=3)
    schema.value(cfg, "out_channels", int, where, ConfigError, choices=(channels,), default=3)
    size = cfg.get("sample_size")
    if isinstance(size, list) and len(size) == 2 and size[0] == size[1]:
        size = size[0]
    size = schema.number(size, f"{where}: sample_size", ConfigError, 4, MAX_SIZE)
    widths = schema.value(cfg, "block_out_channels", list, where, ConfigError)
    if not 1 <= len(widths) <= 8 or not all(isinstance(w, int) and not isinstance(w, bool) and 1 <= w <= 4096
                                            for w in widths):
        raise ConfigError(f"{where}: 'block_out_channels' must be 1 to 8 integers in 1..4096")
    if size % 2 ** (len(widths) - 1):
        raise ConfigError(f"{where}: sample_size {size} must be divisible by 2^{len(widths) - 1} (the UNet halves "
                          f"the image {len(widths) - 1} times)")
    down, up = (schema.value(cfg, key, list, where, ConfigError) for key in ("down_block_types", "up_block_types"))
    for key, blocks, known in (("down_block_types", down, DOWN_BLOCKS), ("up_block_types", up, UP_BLOCKS)):
        if len(blocks) != len(widths) or not all(isinstance(b, str) and b in known for b in blocks):
            raise ConfigError(f"{where}: '{key}' must be {len(widths)} names (one per block_out_channels) of "
                              f"{', '.join(known)}")
    schema.value(cfg, "mid_block_type", str, where, ConfigError, choices=("UNetMidBlock2D",), default="UNetMidBlock2D")
    schema.value(cfg, "layers_per_block", int, where, ConfigError, lo=1, hi=16, default=2)
    schema.value(cfg, "time_embedding_type", str, where, ConfigError, choices=("positional",), default="positional")
    if cfg.get("time_embedding_dim") is not None:
        schema.value(cfg, "time_embedding_dim", int, where, ConfigError, lo=1, hi=16384)
    if cfg.get("num_train_timesteps") is not None:
        schema.value(cfg, "num_train_timesteps", int, where, ConfigError, lo=1, hi=100_000)
    schema.value(cfg, "freq_shift", float, where, ConfigError, lo=-1000, hi=1000, default=0)
    for key in ("center_input_sample", "flip_sin_to_cos", "add_attention"):
        schema.value(cfg, key, bool, where, ConfigError, default=key != "center_input_sample")
    schema.value(cfg, "mid_block_scale_factor", float, where, ConfigError, lo=1e-6, hi=1e6, default=1)
    schema.value(cfg, "downsample_padding", int, where, ConfigError, lo=0, hi=2, default=1)
    for key in ("downsample_type", "upsample_type"):
        schema.value(cfg, key, str, where, ConfigError, choices=("conv", "resnet"), default="conv")
    schema.value(cfg, "dropout", float, where, ConfigError, lo=0, hi=1, default=0)
    schema.value(cfg, "act_fn", str, where, ConfigError, choices=ACTIVATIONS, default="silu")
    schema.value(cfg, "norm_eps", float, where, ConfigError, lo=1e-12, hi=1, default=1e-5)
    schema.value(cfg, "resnet_time_scale_shift", str, where, ConfigError, choices=("default", "scale_shift"),
                 default="default")
    groups = schema.value(cfg, "norm_num_groups", int, where, ConfigError, lo=1, hi=4096, default=32)
    attn_groups = cfg.get("attn_norm_num_groups")
    if attn_groups is not None:
        schema.value(cfg, "attn_norm_num_groups", int, where, ConfigError, lo=1, hi=4096)
    for key, g in (("norm_num_groups", groups), ("attn_norm_num_groups", attn_groups)):
        if g is not None and any(w % g for w in widths):
            raise ConfigError(f"{where}: '{key}' {g} must divide every block width {widths} (group normalisation)")
    attended = [w for w, b in zip(widths, down) if b.startswith("Attn")] + \
               [w for w, b in zip(reversed(widths), up) if b.startswith("Attn")] + \
               ([widths[-1]] if cfg.get("add_attention", True) else [])
    head = cfg.get("attention_head_dim", 8)
    if attended and head is not None:
        head = schema.value(cfg, "attention_head_dim", int, where, ConfigError, lo=1, hi=4096, default=8)
        if any(w % head for w in attended):
            raise ConfigError(f"{where}: 'attention_head_dim' {head} must divide the width of every block with "
                              f"attention {sorted(set(attended))}")


def count_parameters(cfg: dict, where: str) -> int:
    """The parameters of the UNet a checked config describes, counted on the meta device (nothing is
    allocated); more than schema.MAX_PARAMETERS is refused before the network is built."""
    import diffusers

    try:
        with torch.device("meta"):
            n = sum(p.numel() for p in diffusers.UNet2DModel.from_config(cfg).parameters())
    except (RuntimeError, ValueError, TypeError, KeyError, AttributeError, IndexError, ZeroDivisionError) as e:
        raise ConfigError(f"{where}: diffusers cannot build this UNet ({str(e)[:200]})") from None
    if n > schema.MAX_PARAMETERS:
        raise ConfigError(f"{where}: a UNet of {n:,} parameters; explorer's limit is {schema.MAX_PARAMETERS:,}")
    return n


def check_scheduler_config(cfg: dict, where: str) -> None:
    schema.value(cfg, "_class_name", str, where, ConfigError, choices=SCHEDULERS)
    schema.value(cfg, "num_train_timesteps", int, where, ConfigError, lo=2, hi=100_000, default=1000)
    schema.value(cfg, "beta_schedule", str, where, ConfigError, choices=("linear", "scaled_linear", "squaredcos_cap_v2"),
                 default="linear")
    for key in ("beta_start", "beta_end"):
        schema.value(cfg, key, float, where, ConfigError, lo=1e-8, hi=0.999, default=1e-4)
    schema.value(cfg, "prediction_type", str, where, ConfigError, choices=PREDICTIONS, default="epsilon")
    schema.value(cfg, "timestep_spacing", str, where, ConfigError, choices=("leading", "trailing", "linspace"),
                 default="leading")
    schema.value(cfg, "steps_offset", int, where, ConfigError, lo=0, hi=1000, default=0)
    schema.value(cfg, "clip_sample_range", float, where, ConfigError, lo=1e-6, hi=1e6, default=1.0)
    for key in ("clip_sample", "set_alpha_to_one", "thresholding"):
        schema.value(cfg, key, bool, where, ConfigError, default=False)
    if cfg.get("thresholding"):
        raise ConfigError(f"{where}: dynamic thresholding is not supported")
    if cfg.get("trained_betas") is not None:
        raise ConfigError(f"{where}: trained_betas are not supported; use a named beta_schedule")


def load(path: str | Path) -> DiffusersModel:
    """Open a diffusers folder: configs checked, weights from safetensors only."""
    path = Path(path)
    parts = _parts(path)
    if parts is None:
        raise CheckpointError(f"{path}: not a diffusers folder (config.json and scheduler_config.json)")
    unet_dir, sched_dir = parts
    if not (unet_dir / WEIGHTS).exists():
        bins = sorted(p.name for p in unet_dir.glob("*.bin"))
        raise CheckpointError(f"{unet_dir}: no {WEIGHTS}" + (f" ({', '.join(bins)} is a pickle: explorer never unpickles "
                              "files; convert it with diffusers' save_pretrained(safe_serialization=True))" if bins else ""))
    try:
        import diffusers
    except ImportError:
        raise CheckpointError(f"{path}: a diffusers model; install the extra: pip install 'explorer[diffusers]'") from None
    unet_cfg = _json(inside(unet_dir, "config.json", str(unet_dir), ConfigError), "unet")
    sched_cfg = _json(inside(sched_dir, "scheduler_config.json", str(sched_dir), ConfigError), "scheduler")
    check_unet_config(unet_cfg, str(unet_dir / "config.json"))
    check_scheduler_config(sched_cfg, str(sched_dir / "scheduler_config.json"))
    count_parameters(unet_cfg, str(unet_dir / "config.json"))
    weights = inside(unet_dir, WEIGHTS, str(unet_dir), CheckpointError)
    blob = read_regular(weights, "weights", 2 ** 30, CheckpointError)
    state = read_tensors(weights, blob)
    try:
        unet = diffusers.UNet2DModel.from_config(unet_cfg)
        unet.load_state_dict(state, strict=True)
        scheduler = getattr(diffusers, sched_cfg["_class_name"]).from_config(sched_cfg)
    except (RuntimeError, ValueError, TypeError, KeyError) as e:
        raise CheckpointError(f"{path}: the diffusers model cannot be built from its files ({str(e)[:200]})") from None
    if sum(p.numel() for p in unet.parameters()) > schema.MAX_PARAMETERS:
        raise CheckpointError(f"{path}: more than {schema.MAX_PARAMETERS:,} parameters")
    if not all(bool(torch.isfinite(p).all()) for p in unet.parameters()):
        raise CheckpointError(f"{path}: the weights hold NaN or infinite values")
    abar = scheduler.alphas_cumprod.double()
    t_table = -0.5 * torch.log(abar)
    if not bool((t_table[1:] > t_table[:-1]).all()) or not math.isfinite(float(t_table[-1])):
        raise ConfigError(f"{path}: the scheduler's alphas_cumprod must decrease strictly and stay positive")
    digest = hashlib.sha256(blob + read_regular(sched_dir / "scheduler_config.json", "diffusers config", 2 ** 20)
                            + read_regular(unet_dir / "config.json", "diffusers config", 2 ** 20)).hexdigest()
    return DiffusersModel(path, digest, unet.eval(), scheduler, t_table)
