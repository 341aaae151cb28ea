"""The exact denoiser of Gaussian data, used to test the samplers' maths."""
import torch

from explorer.core.models import ModelBase
from explorer.core.sampling import schedule


class GaussianDenoiser:
    """x0_hat(x_t) = mu + alpha Sigma (alpha^2 Sigma + sigma^2 I)^{-1} (x_t - alpha mu) for x_0 ~ N(mu, Sigma).

    Works on (B, C, H, W) tensors with C*H*W = D; t a float or a (B,) tensor.
    """

    def __init__(self, mu: torch.Tensor, cov: torch.Tensor, shape: tuple[int, ...]):
        self.mu, self.cov, self.shape = mu.double(), cov.double(), shape
        self.lam, self.u = torch.linalg.eigh(self.cov)

    def __call__(self, x: torch.Tensor, t) -> torch.Tensor:
        b = x.shape[0]
        t = torch.as_tensor(t, dtype=torch.float64).reshape(-1, 1)
        a, s2 = schedule.alpha(t), schedule.sigma(t) ** 2
        gain = a * self.lam / (a * a * self.lam + s2)                  # (B or 1, D)
        v = x.reshape(b, -1).double() - a * self.mu
        out = self.mu + ((v @ self.u) * gain) @ self.u.T
        return out.to(x.dtype).reshape(x.shape)

    @staticmethod
    def random(dim: int = 16, seed: int = 0):
        g = torch.Generator().manual_seed(seed)
        a = torch.randn(dim, dim, generator=g, dtype=torch.float64) / dim ** 0.5
        cov = a @ a.T + 0.05 * torch.eye(dim, dtype=torch.float64)
        cov = cov / cov.diagonal().mean()                              # unit average variance
        mu = 0.5 * torch.randn(dim, generator=g, dtype=torch.float64)
        return mu, cov


class GaussianModel(ModelBase):
    """The exact Gaussian denoiser as a Model, defined only here: the proof that a new generator
    needs no change in explorer/app or explorer/cli.py. Its file is a small JSON, NAME.gauss.json,
    {"dim": D, "seed": s} (the covariance of GaussianDenoiser.random(D, s)), images (1, 4, D/4)."""

    SUFFIX = ".gauss.json"

    def __init__(self, path):
        import hashlib
        import json
        from pathlib import Path

        from explorer.core.errors import CheckpointError
        self.path = Path(path)
        try:
            cfg = json.loads(self.path.read_text())
            dim, seed = int(cfg["dim"]), int(cfg["seed"])
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise CheckpointError(f"{path}: not a Gaussian model ({e})") from None
        self.shape = (1, 4, dim // 4)
        self.denoiser = GaussianDenoiser(*GaussianDenoiser.random(dim, seed), self.shape)
        self.sha256 = hashlib.sha256(self.path.read_bytes()).hexdigest()
        self.config = cfg

    name = property(lambda self: self.path.name[: -len(self.SUFFIX)])
    kind = property(lambda self: "gaussian")
    image_shape = property(lambda self: self.shape)
    parameters = property(lambda self: int(self.denoiser.cov.numel() + self.denoiser.mu.numel()))
    data = property(lambda self: {"name": "gaussian", **self.config})
    samplers = property(lambda self: ("ddim", "ode"))

    @property
    def display(self):
        from explorer.core.models import DisplayHints
        return DisplayHints(colormap="diverging")

    def default_steps(self, sampler):
        return 12

    def describe(self):
        return f"{self.name}  (exact Gaussian denoiser, D = {self.config['dim']})"

    def summary(self):
        return {"name": self.name, "kind": self.kind, "image_shape": list(self.shape), **self.config}

    def frame_count(self, spec):
        return spec.steps + 1

    def run(self, spec):
        from explorer.core.models import run_meta
        from explorer.core.sampling import samplers
        spec = spec.resolved(self)
        x = samplers.initial_noise((spec.n, *self.shape), seed=spec.seed)
        return samplers.sample(self.denoiser, x, spec.sampler, spec.steps, seed=spec.seed, meta=run_meta(self, spec),
                               final_denoise=spec.final_denoise, keep_frames=spec.keep_frames)
