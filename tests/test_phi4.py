import numpy as np
import pytest
import torch

from explorer.core.data import phi4


def test_metropolis_energy_change_matches_the_energy():
    g = torch.Generator().manual_seed(0)
    phi = torch.randn(1, 6, 6, generator=g, dtype=torch.float64)
    beta, lam = 0.7, 0.5
    x, y, new = 2, 3, 0.8
    nb = phi[0, x - 1, y] + phi[0, (x + 1) % 6, y] + phi[0, x, y - 1] + phi[0, x, (y + 1) % 6]
    d_e = (-beta * (new - phi[0, x, y]) * nb + phi4.potential(torch.tensor(new, dtype=torch.float64), lam)
           - phi4.potential(phi[0, x, y], lam))
    phi2 = phi.clone()
    phi2[0, x, y] = new
    assert float(phi4.energy(phi2, beta, lam) - phi4.energy(phi, beta, lam)) == pytest.approx(float(d_e), abs=1e-9)


def test_each_bond_counted_once():
    phi = torch.ones(1, 4, 4, dtype=torch.float64)
    assert float(phi4.energy(phi, 1.0, 0.0)) == pytest.approx(-2 * 16 + 16)   # 2L^2 bonds, V(1) = 1


def test_decoupled_sites_sample_exp_minus_v():
    """At beta = 0 each site has density ~ exp(-V(u)): compare <phi^2> with the integral."""
    ch = phi4.Chains(8, 0.0, 0.5, chains=200, seed=1, dtype=torch.float64)
    ch.run(50)
    vals = []
    for _ in range(40):
        ch.run(5)
        vals.append(ch.phi.flatten().numpy().copy())
    u = np.linspace(-4, 4, 20001)
    w = np.exp(-(u ** 2 + 0.5 * (u ** 2 - 1) ** 2))
    exact = (u ** 2 * w).sum() / w.sum()
    assert float(np.mean(np.concatenate(vals) ** 2)) == pytest.approx(exact, rel=0.02)


def test_autocorrelation_time_of_an_ar1_series():
    rng = np.random.default_rng(0)
    rho, n = 0.9, 20000
    x = np.zeros((n, 8))
    for k in range(1, n):
        x[k] = rho * x[k - 1] + rng.normal(size=8)
    assert phi4.integrated_autocorrelation(x) == pytest.approx((1 + rho) / (2 * (1 - rho)), rel=0.1)


def test_ordered_and_disordered_phases():
    hot = phi4.Chains(8, 0.3, 0.5, chains=64, seed=0)
    cold = phi4.Chains(8, 1.2, 0.5, chains=64, seed=0, start="cold")
    hot.run(200)
    cold.run(200)
    assert float(hot.magnetisation().abs().mean()) < 0.3 < float(cold.magnetisation().abs().mean())
    assert abs(float(cold.magnetisation().mean())) < 0.4          # the global flip visits both signs
