"""The exact denoiser of Gaussian data, used to test the samplers' maths."""
import torch

from explorer.core import schedule


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
