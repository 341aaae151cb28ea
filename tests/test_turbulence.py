"""The 2-D Navier-Stokes solver against exact results, and the turbulence data set."""
import math

import numpy as np
import pytest
import torch

from explorer.core import data
from explorer.core.data import turbulence
from explorer.core.errors import DataError


def grid(n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """x (columns) and y (rows) on [0, 2 pi)."""
    c = torch.arange(n, dtype=torch.float64) * 2 * math.pi / n
    return c[None, :].expand(n, n), c[:, None].expand(n, n)


def set_vorticity(s: turbulence.Solver, w: torch.Tensor) -> None:
    s.omega_hat = torch.fft.rfft2(w.expand(s.omega_hat.shape[0], -1, -1)) * s.dealias


def test_nonlinear_term_of_two_modes_is_the_analytic_jacobian():
    # omega = cos x + cos 2y: psi = cos x + cos(2y)/4, u = psi_y = -sin(2y)/2, v = -psi_x = sin x,
    # u . grad omega = -3/2 sin x sin 2y, so the term -(u . grad omega) is 3/2 sin x sin 2y.
    s = turbulence.Solver(32)
    x, y = grid(32)
    set_vorticity(s, torch.cos(x) + torch.cos(2 * y))
    got = torch.fft.irfft2(s.nonlinear(s.omega_hat), s=(32, 32))[0]
    assert torch.allclose(got, 1.5 * torch.sin(x) * torch.sin(2 * y), atol=1e-12)


def test_a_shell_of_one_wavenumber_decays_at_the_exact_rate():
    # modes with one |k| (here 5: (3, 4) and (5, 0)) make u . grad omega = 0: a steady Euler flow,
    # damped exactly by exp(-(nu |k|^2 + nu_h |k|^8 + mu) t)
    nu, nu_h, mu = 0.01, 1e-9, 0.05
    s = turbulence.Solver(32, nu=nu, nu_h=nu_h, mu=mu, eps=0.0, dt=0.05)
    x, y = grid(32)
    w0 = torch.cos(3 * x + 4 * y) + 0.5 * torch.sin(5 * x)
    set_vorticity(s, w0)
    s.advance(2.0)
    rate = nu * 25 + nu_h * 25 ** 4 + mu
    assert torch.allclose(s.vorticity()[0], w0 * math.exp(-rate * 2.0), atol=1e-12)


def test_inviscid_unforced_flow_conserves_energy_and_enstrophy():
    s = turbulence.Solver(32, nu=0.0, nu_h=0.0, mu=0.0, eps=0.0, dt=0.01, runs=2)
    g = torch.Generator().manual_seed(3)
    set_vorticity(s, torch.randn(32, 32, generator=g, dtype=torch.float64))
    s.omega_hat = s.omega_hat * (s.k2 <= 64)                      # a smooth random flow, |k| <= 8
    e0, z0 = s.energy(), s.enstrophy()
    w0 = s.vorticity()
    s.advance(1.0)
    assert not torch.allclose(s.vorticity(), w0, atol=1e-2)        # the flow did move
    assert float(((s.energy() - e0) / e0).abs().max()) < 1e-6
    assert float(((s.enstrophy() - z0) / z0).abs().max()) < 1e-6


def test_forcing_injects_energy_at_the_rate_eps():
    # without dissipation the nonlinear term conserves energy: <E(t)> = eps t exactly (Ito)
    s = turbulence.Solver(32, nu=0.0, nu_h=0.0, mu=0.0, eps=0.3, dt=0.01, runs=256, seed=1)
    s.advance(0.5)
    assert float(s.energy().mean()) == pytest.approx(0.3 * 0.5, rel=0.05)


def test_dealiasing_zeroes_the_top_third_and_runs_reproduce_by_seed():
    n = 32
    runs = [turbulence.Solver(n, dt=0.02, runs=2, seed=seed) for seed in (5, 5, 6)]
    for s in runs:
        s.advance(0.4)
    high = (s.kx.abs() > n // 3) | (s.ky.abs() > n // 3)
    assert float(runs[0].omega_hat.abs()[:, high].max()) == 0.0
    assert float(runs[0].omega_hat.abs()[:, ~high].max()) > 0.0
    assert torch.equal(runs[0].vorticity(), runs[1].vorticity())
    assert not torch.allclose(runs[0].vorticity(), runs[2].vorticity())


def test_kurtosis_of_known_distributions():
    g = np.random.default_rng(0)
    assert turbulence.kurtosis(g.standard_normal(200_000)) == pytest.approx(3.0, abs=0.05)
    assert turbulence.kurtosis(g.laplace(size=200_000)) == pytest.approx(6.0, abs=0.3)


def test_turbulence_records_are_checked():
    ok = {"name": "turbulence", "n": 4, "params": {"size": 32, "mu": 0.1}}
    assert data.check_record(ok, "rec") is ok
    for bad in ({"size": 8}, {"mu": -1.0}, {"dt": 0}, {"viscosity": 1.0}):
        with pytest.raises(DataError):
            data.check_record({**ok, "params": bad}, "rec")


def test_turbulence_training_sets_splits_and_fresh_fields(tmp_path, monkeypatch):
    monkeypatch.setenv("EXPLORER_CACHE", str(tmp_path))
    params = {"size": 16, "k_f": 2.0, "dt": 0.05, "mu": 0.2}
    rec = {"name": "turbulence", "n": 6, "params": params, "seed": 0}
    s1, s2 = data.training_set({**rec, "split": "S1"}), data.training_set({**rec, "split": "S2"})
    fresh = data.fresh_images(rec, 6)
    assert s1.shape == s2.shape == fresh.shape == (6, 1, 16, 16) and s1.dtype == np.float32
    assert np.array_equal(s1, data.training_set({**rec, "split": "S1"}))        # reproducible (and cached)
    flat = [a.reshape(6, -1) for a in (s1, s2, fresh)]
    cross = np.corrcoef(np.concatenate(flat))[:6, 6:]
    assert np.abs(cross).max() < 0.9                                             # disjoint runs
    assert 0.5 < float(np.concatenate(flat).std()) < 2.0                          # units of the rms vorticity
    assert data.colormap_for(rec) == "diverging"
