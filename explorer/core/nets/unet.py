"""Denoisers: a noise-level-conditioned U-Net that returns x0_hat = E[x_0 | x_t].

Preconditioning (Karras et al. 2022), written in the OU coordinates of `schedule`: with
y = x_t / alpha the VE observation, s = sigma/alpha its noise level and s_d = sigma_data,

    x0_hat = c_skip y + c_out F(c_in y, log(s)/4),
    c_skip = s_d^2 / (s^2 + s_d^2),  c_out = s s_d / sqrt(s^2 + s_d^2),  c_in = 1 / sqrt(s^2 + s_d^2),

so the network F sees unit-variance inputs and predicts a unit-variance target at every level.
The bias-free variant (Mohan, Kadkhodaie et al.) has no additive constant on the path of x:
convolutions without bias, no normalisation, ReLU, and the noise level enters only as a gain,
so F(a x) = a F(x) for a > 0.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import torch
from torch import nn

from explorer.core.errors import ConfigError
from explorer.core.files import schema
from explorer.core.sampling import schedule


@dataclass
class UNetConfig:
    """Architecture of a denoiser. in_channels = channels + cond_channels; output: channels."""

    channels: int = 1                 # image channels C (1 or 3; 3C for wavelet details)
    size: int = 32                    # H = W
    widths: list[int] = field(default_factory=lambda: [16, 32, 64])  # one per resolution level
    blocks: int = 1                   # residual blocks per level
    bias_free: bool = False
    emb_dim: int = 64                 # noise-level embedding
    sigma_data: float = 0.5
    cond_channels: int = 0            # clean conditioning channels (the low-pass, for WCRG)
    padding: str = "zeros"            # "circular" for periodic fields

    def validate(self, where: str = "the architecture") -> None:
        """Types, ranges and consistency of every field; a ConfigError says what is accepted."""
        d = self.__dict__
        for key, lo, hi in (("channels", 1, 12), ("cond_channels", 0, 12), ("size", 4, schema.MAX_SIZE),
                            ("blocks", 1, 16), ("emb_dim", 2, 2048)):
            schema.value(d, key, int, where, ConfigError, lo=lo, hi=hi)
        schema.value(d, "sigma_data", float, where, ConfigError, lo=1e-6, hi=1e6)
        schema.value(d, "bias_free", bool, where, ConfigError)
        schema.value(d, "padding", str, where, ConfigError, choices=("zeros", "circular"))
        widths = schema.value(d, "widths", list, where, ConfigError)
        if not 1 <= len(widths) <= 8:
            raise ConfigError(f"{where}: 'widths' needs 1 to 8 entries (one per resolution), not {len(widths)}")
        for w in widths:
            schema.number(w, f"{where}: a width", ConfigError, 1, 2048)
        if self.emb_dim % 2:
            raise ConfigError(f"{where}: 'emb_dim' must be even (sines and cosines), not {self.emb_dim}")
        down = 2 ** (len(widths) - 1)
        if self.size % down:
            raise ConfigError(f"{where}: size {self.size} must be divisible by 2^(levels-1) = {down}")

    def parameter_count(self) -> int:
        """The parameters of `Denoiser(self)`, from the architecture alone (nothing is built)."""
        e, bias, w = self.emb_dim, int(not self.bias_free), self.widths

        def conv(ci: int, co: int, k: int = 3) -> int:
            return ci * co * k * k + bias * co

        def block(ci: int, co: int) -> int:
            norms = 0 if self.bias_free else 2 * ci + 2 * co
            shift = co if self.bias_free else 2 * co
            return norms + conv(ci, co) + e * shift + shift + conv(co, co) + (conv(ci, co, 1) if ci != co else 0)

        return (2 * (e * e + e) + conv(self.channels + self.cond_channels, w[0])
                + sum(self.blocks * block(c, c) for c in w) + sum(conv(a, b) for a, b in zip(w, w[1:]))
                + block(w[-1], w[-1]) + sum(conv(b, a) + block(2 * a, a) for a, b in zip(w, w[1:]))
                + conv(w[0], self.channels))

    def check_budget(self, where: str = "the architecture") -> int:
        """The number of parameters, counted without building anything; a ConfigError above the budget."""
        self.validate(where)
        n = self.parameter_count()
        if n > schema.MAX_PARAMETERS:
            raise ConfigError(f"{where}: {n:,} parameters, more than the {schema.MAX_PARAMETERS:,} explorer builds")
        return n

    @classmethod
    def from_dict(cls, d: object, where: str = "the architecture") -> "UNetConfig":
        """A config from its JSON form, validated and within the parameter budget."""
        if not isinstance(d, dict):
            raise ConfigError(f"{where} must be an object, not {type(d).__name__}")
        fields = list(cls.__dataclass_fields__)
        unknown, missing = sorted(set(d) - set(fields)), [f for f in fields if f not in d]
        if unknown or missing:
            raise ConfigError(f"{where}: " + (f"unknown fields {unknown} " if unknown else "")
                              + (f"missing fields {missing} " if missing else "") + f"(it has {', '.join(fields)})")
        cfg = cls(**d)
        cfg.check_budget(where)
        return cfg

    def to_dict(self) -> dict:
        return asdict(self)


def _groups(c: int) -> int:
    return math.gcd(c, 8)


class ResBlock(nn.Module):
    """x -> x + conv(act(gain(emb) * conv(act(norm(x)))) [+ shift(emb)]); 1x1 skip if widths differ."""

    def __init__(self, c_in: int, c_out: int, emb_dim: int, bias_free: bool, padding: str):
        super().__init__()
        bias = not bias_free
        self.bias_free = bias_free
        self.norm1 = nn.Identity() if bias_free else nn.GroupNorm(_groups(c_in), c_in)
        self.conv1 = nn.Conv2d(c_in, c_out, 3, padding=1, bias=bias, padding_mode=padding)
        self.emb = nn.Linear(emb_dim, c_out if bias_free else 2 * c_out)
        self.norm2 = nn.Identity() if bias_free else nn.GroupNorm(_groups(c_out), c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1, bias=bias, padding_mode=padding)
        self.act = nn.ReLU() if bias_free else nn.SiLU()
        self.skip = nn.Identity() if c_in == c_out else nn.Conv2d(c_in, c_out, 1, bias=bias)

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        h = self.conv1(self.act(self.norm1(x)))
        e = self.emb(emb)[:, :, None, None]
        if self.bias_free:
            h = h * (1 + e)
        else:
            gain, shift = e.chunk(2, dim=1)
            h = h * (1 + gain) + shift
        h = self.conv2(self.act(self.norm2(h)))
        return self.skip(x) + h


class UNet(nn.Module):
    """F(x_in, c_noise): (B, C + C_cond, H, W), (B,) -> (B, C, H, W)."""

    def __init__(self, cfg: UNetConfig):
        super().__init__()
        cfg.validate()
        self.cfg = cfg
        w, pad, bf, e = cfg.widths, cfg.padding, cfg.bias_free, cfg.emb_dim
        self.register_buffer("freqs", torch.exp(torch.linspace(0, math.log(100.0), e // 2)), persistent=False)
        self.emb_mlp = nn.Sequential(nn.Linear(e, e), nn.SiLU(), nn.Linear(e, e))
        self.inp = nn.Conv2d(cfg.channels + cfg.cond_channels, w[0], 3, padding=1, bias=not bf, padding_mode=pad)
        self.down_blocks = nn.ModuleList()
        self.downsample = nn.ModuleList()
        for i, c in enumerate(w):
            self.down_blocks.append(nn.ModuleList(ResBlock(c, c, e, bf, pad) for _ in range(cfg.blocks)))
            if i + 1 < len(w):
                self.downsample.append(nn.Conv2d(c, w[i + 1], 3, stride=2, padding=1, bias=not bf, padding_mode=pad))
        self.mid = ResBlock(w[-1], w[-1], e, bf, pad)
        self.upsample = nn.ModuleList()
        self.up_blocks = nn.ModuleList()
        for i in reversed(range(len(w) - 1)):
            self.upsample.append(nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"),
                                               nn.Conv2d(w[i + 1], w[i], 3, padding=1, bias=not bf, padding_mode=pad)))
            self.up_blocks.append(ResBlock(2 * w[i], w[i], e, bf, pad))
        self.out = nn.Conv2d(w[0], cfg.channels, 3, padding=1, bias=not bf, padding_mode=pad)

    def forward(self, x: torch.Tensor, c_noise: torch.Tensor) -> torch.Tensor:
        phase = c_noise[:, None] * self.freqs[None, :]
        emb = self.emb_mlp(torch.cat([phase.sin(), phase.cos()], dim=1))
        h = self.inp(x)
        skips = []
        for i, blocks in enumerate(self.down_blocks):
            for blk in blocks:
                h = blk(h, emb)
            if i < len(self.downsample):
                skips.append(h)
                h = self.downsample[i](h)
        h = self.mid(h, emb)
        for up, blk in zip(self.upsample, self.up_blocks):
            h = blk(torch.cat([up(h), skips.pop()], dim=1), emb)
        return self.out(h)


class Denoiser(nn.Module):
    """x0_hat = D(x_t, t [, cond]) for the OU process, with Karras preconditioning.

    x_t: (B, C, H, W); t: float or (B,) tensor; cond: (B, C_cond, H, W) clean conditioning or None.
    """

    def __init__(self, cfg: UNetConfig):
        super().__init__()
        self.cfg = cfg
        self.net = UNet(cfg)

    def forward(self, x_t: torch.Tensor, t, cond: torch.Tensor | None = None) -> torch.Tensor:
        b = x_t.shape[0]
        t = torch.as_tensor(t, dtype=torch.float32, device=x_t.device).expand(b) if not (
            torch.is_tensor(t) and t.ndim == 1) else t.to(x_t.device, torch.float32)
        a = schedule.alpha(t)[:, None, None, None]
        s2 = (-torch.expm1(-2 * t))[:, None, None, None]            # sigma(t)^2
        sd2 = self.cfg.sigma_data ** 2
        denom = s2 + a * a * sd2                                    # alpha^2 (s^2 + s_d^2)
        c_skip_y = (sd2 * a / denom) * x_t                          # c_skip * x_t / alpha
        c_in_y = x_t * torch.rsqrt(denom)                           # c_in * x_t / alpha
        c_out = torch.sqrt(s2 * sd2 / denom)                        # s s_d / sqrt(s^2 + s_d^2)
        c_noise = 0.25 * 0.5 * torch.log(torch.expm1(2 * t))        # log(s) / 4
        inp = c_in_y if cond is None else torch.cat([c_in_y, cond], dim=1)
        return c_skip_y + c_out * self.net(inp, c_noise)


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
