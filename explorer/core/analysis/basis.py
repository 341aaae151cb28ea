"""The denoiser's adaptive basis at one point of a run (Kadkhodaie, Guth, Simoncelli, Mallat, ICLR 2024).

At x_t the denoiser acts as a shrinkage in an adaptive basis: the eigenvectors of its Jacobian.
In the coordinates of the VE observation y = x_t / alpha (noise level s = sigma/alpha),

    A = d x0_hat / d y = alpha d x0_hat / d x_t,   (D x D, D = C H W),

which for an MSE-optimal denoiser is Cov[x0 | y] / s^2 (Tweedie): positive semi-definite, its
eigenvalues are shrinkage factors, in [0, 1] for a log-concave prior (for Gaussian data N(mu, Sigma):
the principal components, with lambda / (lambda + s^2)); a multimodal prior, such as the training
set of a memorising model, can give values above 1. The trace is the effective dimension, which
falls as the noise grows. The theory assumes A symmetric: `asymmetry` is
||A - A^T||_F / ||A||_F, and the eigenpairs are those of the symmetric part (A + A^T)/2.

A is built exactly, column by column, from forward-mode derivatives (torch.func.jvp under vmap,
in chunks): D jvps, exact to float precision, and all D eigenpairs at once (torch.linalg.eigh).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Generator

import numpy as np
import torch

from explorer.core.sampling import schedule
from explorer.core.sampling.trajectory import drain

MAX_DIM = 4096            # D (64 x 64): J, A and eigh's copies, D x D float64, about 1 GiB at this limit


@dataclass
class Basis:
    """values (k,) decreasing and vectors (k, C, H, W) of the symmetric part of A; trace (all D
    eigenvalues' sum); asymmetry; at OU time t (sigma = sigma(t))."""

    values: np.ndarray
    vectors: np.ndarray
    trace: float
    asymmetry: float
    t: float
    sigma: float

    @property
    def level(self) -> float:
        """sigma/alpha at t."""
        return float(schedule.sigma_over_alpha(self.t))

    def arrays(self) -> dict[str, np.ndarray]:
        return {"values": self.values, "vectors": self.vectors, "trace": np.array(self.trace),
                "asymmetry": np.array(self.asymmetry), "t": np.array(self.t), "sigma": np.array(self.sigma)}


def jacobian_steps(denoiser, x_t: torch.Tensor, t: float, chunk: int = 64) -> Generator[int, None, torch.Tensor]:
    """J[i, j] = d x0_hat_i / d x_t_j at one state x_t (C, H, W), built `chunk` columns at a time:
    yields the number of columns done, returns J (D, D) float64."""
    from torch.func import jvp, vmap

    shape, dim = x_t.shape, x_t.numel()
    device = _device(denoiser)
    x = x_t[None].float().to(device)
    tt = torch.full((1,), float(t), device=device)

    def column(v: torch.Tensor) -> torch.Tensor:
        return jvp(lambda z: denoiser(z, tt), (x,), (v.reshape(1, *shape),))[1].reshape(-1)

    eye = torch.eye(dim, dtype=torch.float32, device=device)
    cols = []                                                   # rows of J^T
    for i in range(0, dim, chunk):
        with _forward_ad_attention():
            cols.append(vmap(column)(eye[i:i + chunk]).detach().cpu())
        yield min(i + chunk, dim)
    return torch.cat(cols).double().T


def _device(denoiser) -> torch.device:
    """Where a denoiser's network lives (a torch module's parameters), else the CPU."""
    params = denoiser.parameters() if isinstance(denoiser, torch.nn.Module) else iter(())
    return next(params, torch.empty(0)).device


def _forward_ad_attention():
    """Attention through the plain maths kernel: the fused CPU kernels have no forward-mode derivative."""
    from torch.nn.attention import SDPBackend, sdpa_kernel
    return sdpa_kernel(SDPBackend.MATH)


def jacobian(denoiser, x_t: torch.Tensor, t: float, chunk: int = 64) -> torch.Tensor:
    return drain(jacobian_steps(denoiser, x_t, t, chunk))


def check_dimension(image_shape) -> int:
    """D = C H W of images of `image_shape`, within MAX_DIM (the D x D Jacobian and its
    eigenvectors are built in memory): a UsageError, before any work, when it is not."""
    from explorer.core.errors import UsageError

    dim = int(np.prod(tuple(image_shape), dtype=np.int64))
    if dim > MAX_DIM:
        raise UsageError(f"the Jacobian of images of {tuple(image_shape)} (D = {dim:,} values) is too large: the basis "
                         f"is built for at most D = {MAX_DIM:,} (e.g. 1 x 64 x 64)")
    return dim


def basis_steps(denoiser, x_t: torch.Tensor, t: float, k: int = 16) -> Generator[int, None, Basis]:
    """The top-k eigenpairs of the shrinkage A = alpha dx0_hat/dx_t at x_t (C, H, W), time t;
    yields the Jacobian's columns done (of D), so a caller can show progress and stop."""
    from explorer.core.errors import UsageError

    dim = check_dimension(x_t.shape)
    if not 1 <= k <= dim:
        raise UsageError(f"k must be in 1..{dim}")
    if not t > 0:
        raise UsageError("the final denoised image has no noise level: choose an earlier step")
    a = float(schedule.alpha(torch.tensor(t, dtype=torch.float64)))
    A = a * (yield from jacobian_steps(denoiser, x_t, t))
    norm = float(A.norm())
    asym = float((A - A.T).norm() / norm) if norm > 0 else 0.0
    values, vectors = torch.linalg.eigh((A + A.T) / 2)
    order = torch.argsort(values, descending=True)[:k]
    return Basis(values[order].numpy(), vectors[:, order].T.reshape(k, *x_t.shape).float().numpy(),
                 float(A.diagonal().sum()), asym, float(t), float(schedule.sigma(t)))


def basis(denoiser, x_t: torch.Tensor, t: float, k: int = 16) -> Basis:
    """`basis_steps` run to its end."""
    return drain(basis_steps(denoiser, x_t, t, k))


def trace_estimate(denoiser, x_t: torch.Tensor, t: float, probes: int = 16,
                   generator: torch.Generator | None = None) -> tuple[float, float]:
    """Hutchinson's estimate of tr A (A = alpha dx0_hat/dx_t at x_t (C, H, W)): the mean of
    v . (A v) over `probes` Rademacher vectors v, and its standard error."""
    from torch.func import jvp, vmap

    device = _device(denoiser)
    x = x_t[None].float().to(device)
    tt = torch.full((1,), float(t), device=device)
    v = (torch.randint(0, 2, (probes, *x_t.shape), generator=generator) * 2 - 1).float().to(device)

    def quad(u: torch.Tensor) -> torch.Tensor:
        return (u * jvp(lambda z: denoiser(z, tt), (x,), (u[None],))[1][0]).sum()

    a = float(schedule.alpha(torch.tensor(t, dtype=torch.float64)))
    with _forward_ad_attention():
        q = a * vmap(quad)(v).detach().double().cpu()
    return float(q.mean()), float(q.std() / probes ** 0.5) if probes > 1 else float("nan")


def effective_dimension_steps(denoiser, frames: list, sample: int = 0, probes: int = 16,
                              seed: int = 0) -> Generator[int, None, list[dict]]:
    """tr A at every frame of a run with noise (t > 0), by `trace_estimate`: yields frames done,
    returns rows {step, t, sigma, level (sigma/alpha), trace, error}."""
    g = torch.Generator().manual_seed(seed)
    rows = []
    for i, f in enumerate(frames):
        if f.t > 0:
            x = torch.tensor(np.asarray(f.x_t[sample]), dtype=torch.float32)
            tr, err = trace_estimate(denoiser, x, f.t, probes, g)
            rows.append({"step": f.step, "t": f.t, "sigma": f.sigma, "level": f.level,
                         "trace": tr, "error": err})
        yield i + 1
    return rows


def subspace_overlap(a: Basis, b: Basis) -> float:
    """||U_a^T U_b||_F^2 / k for the two bases' top-k eigenvectors (orthonormal): 1 when they span
    the same subspace, about k/D for unrelated ones."""
    k = min(len(a.values), len(b.values))
    ua, ub = a.vectors[:k].reshape(k, -1), b.vectors[:k].reshape(k, -1)
    return float(((ua @ ub.T) ** 2).sum() / k)


def pair_steps(denoiser_1, denoiser_2, x_t: torch.Tensor, t: float, k: int = 16) -> Generator[int, None, tuple]:
    """The bases of two denoisers (an S1 and an S2 model) at the same x_t: yields columns done
    (of 2 D), returns (basis_1, basis_2)."""
    dim = x_t.numel()
    b1 = yield from basis_steps(denoiser_1, x_t, t, k)
    second = basis_steps(denoiser_2, x_t, t, k)
    while True:
        try:
            done = next(second)
        except StopIteration as stop:
            return b1, stop.value
        yield dim + done
