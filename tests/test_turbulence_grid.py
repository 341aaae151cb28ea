"""Turbulence with a large-scale drag only, simulated on a larger grid and truncated to the fields'
size (#29): the drag's modes, stability, the truncation, the |k| = 1 correlation time, validation."""
import math

import numpy as np
import pytest
import torch

from explorer.core import data
from explorer.core.data import turbulence
from explorer.core.errors import DataError, UsageError

NEW = {"k_f": 5.0, "k_drag": 2.0, "mu": 0.5}


def grid(n: int) -> tuple[torch.Tensor, torch.Tensor]:
    c = torch.arange(n, dtype=torch.float64) * 2 * math.pi / n
    return c[None, :].expand(n, n), c[:, None].expand(n, n)


def test_the_drag_acts_on_the_modes_up_to_k_drag_only():
    s = turbulence.Solver(32, mu=0.3, nu_h=0.0, eps=0.0, dt=0.05, k_drag=2.0)
    assert torch.equal(s.drag > 0, s.k2 <= 4)
    assert float(s.drag.max()) == 0.3
    assert torch.equal(turbulence.Solver(32, mu=0.3).drag, torch.full_like(s.k2, 0.3))      # 0: every mode (today's)
    # one-|k| flows are steady Euler flows: |k| = 1 decays at exactly mu, |k| = 5 not at all
    x, y = grid(32)
    for w0, rate in ((torch.cos(x) + 0.3 * torch.sin(y), 0.3), (torch.cos(3 * x + 4 * y) + torch.sin(5 * y), 0.0)):
        s.omega_hat = torch.fft.rfft2(w0[None]) * s.dealias
        s.advance(2.0)
        assert torch.allclose(s.vorticity()[0], w0 * math.exp(-rate * 2.0), atol=1e-12)


def test_a_short_64_run_with_the_large_scale_drag_stays_stable():
    p = turbulence.parameters(64, **NEW, dt=0.01)
    s = turbulence.Solver(**turbulence.solver_args(p), runs=2, seed=3)
    s.advance(6.0)
    w = s.vorticity()
    assert bool(torch.isfinite(w).all())
    assert 0.05 < float(s.energy().mean()) < 5.0 and s.cfl() < 1.0
    top = (s.kx.abs() > 64 // 3) | (s.ky.abs() > 64 // 3)
    assert float(s.omega_hat.abs()[:, top].max()) == 0.0


def test_coarse_graining_keeps_the_low_modes_exactly():
    g = torch.Generator().manual_seed(0)
    w = torch.randn(3, 256, 256, generator=g, dtype=torch.float64)
    c = turbulence.coarse_grain(w, 64)
    assert c.shape == (3, 64, 64)
    fine, coarse = torch.fft.rfft2(w), torch.fft.rfft2(c) * (256 / 64) ** 2
    ky64 = torch.fft.fftfreq(64, 1 / 64)
    kept = (ky64.abs() < 32)[:, None] & (torch.arange(33) < 32)[None, :]
    rows = torch.where(ky64 >= 0, ky64, ky64 + 256).long()                 # the same ky on the fine grid
    assert torch.allclose(coarse[:, kept], fine[:, rows][:, :, :33][:, kept], atol=1e-9)
    assert float(coarse[:, ~kept].abs().max()) < 1e-9                      # the Nyquist row and column dropped
    smooth = turbulence.coarse_grain(c, 32)                                # truncating twice = truncating once
    assert torch.allclose(smooth, turbulence.coarse_grain(w, 32), atol=1e-12)
    assert torch.equal(turbulence.coarse_grain(w, 256), w)


def test_autocorrelation_time_of_an_ar1_series():
    rho, t, b = 0.8, 4000, 16
    g = np.random.default_rng(1)
    z = np.zeros((t, b, 2), complex)
    for i in range(1, t):
        z[i] = rho * z[i - 1] + np.sqrt(1 - rho ** 2) * (g.standard_normal((b, 2)) + 1j * g.standard_normal((b, 2)))
    corr, tau = turbulence.autocorrelation(z[100:], every=0.5)
    assert corr[1] == pytest.approx(rho, abs=0.02)
    assert tau == pytest.approx(0.5 * (0.5 + rho / (1 - rho)), rel=0.15)


@pytest.mark.parametrize("params, words", [
    ({"size": 64, "grid": 32}, "smaller than the fields' size"),
    ({"size": 64, "grid": 1024}, "grid"),
    ({"size": 64, "k_drag": -1.0}, "k_drag"),
    ({"size": 64, "k_f": 5.0, "k_drag": 4.0}, "reaches the forcing ring"),
    ({"size": 32, "grid": 256, "k_f": 5.0, "k_drag": 2.0, "mu": 0.5, "eta": 1.0}, "no parameter"),
])
def test_bad_turbulence_parameters_are_refused_in_one_line(params, words):
    with pytest.raises(DataError) as e:
        data.check_record({"name": "turbulence", "n": 4, "params": params}, "rec")
    assert words in str(e.value) and "\n" not in str(e.value)
    ok = {"size": 32, "grid": 256, **NEW}
    assert data.check_record({"name": "turbulence", "n": 4, "params": ok}, "rec")["params"] is ok
    assert data.resolved_k({"name": "turbulence", "params": ok}) == 15
    assert data.resolved_k({"name": "turbulence", "params": {"size": 32}}) == 10
    with pytest.raises(UsageError):
        turbulence.parameters(64, error=UsageError, grid=32)


def test_fields_of_every_size_come_from_the_same_runs(tmp_path, monkeypatch):
    monkeypatch.setenv("EXPLORER_CACHE", str(tmp_path))
    monkeypatch.setattr(turbulence, "PILOT", {"runs": 2, "duration": 30.0, "every": 0.5})
    monkeypatch.setattr(turbulence, "PER_RUN", 3)
    p = {"grid": 32, "k_f": 4.0, "k_drag": 2.0, "mu": 0.5, "dt": 0.02}
    big = turbulence.samples(5, size=32, seed=0, progress=False, **p)
    small = turbulence.samples(4, size=16, seed=0, progress=False, **p)
    assert big.shape == (5, 1, 32, 32) and small.shape == (4, 1, 16, 16) and big.dtype == np.float32
    # the 16 x 16 fields are the truncation of the 32 x 32 ones (one constant apart: each size its own rms)
    c = turbulence.coarse_grain(torch.from_numpy(big[:4, 0]).double(), 16).numpy()
    ratio = float((c * small[:, 0]).sum() / (c * c).sum())
    assert np.allclose(c * ratio, small[:, 0], atol=1e-4) and ratio > 1
    assert 0.5 < float(small.std()) < 2.0
    m = turbulence.measure_grid(turbulence.parameters(32, **p))
    assert m["spacing"] >= turbulence.SPACING * max(m["T"], m["tau_1"], 2 * m["tau_int"]) and m["tau_1"] > 0
    fresh = data.fresh_images({"name": "turbulence", "params": {"size": 16, **p}, "seed": 0}, 3)
    assert fresh.shape == (3, 1, 16, 16) and not np.allclose(fresh, small[:3])          # other runs
