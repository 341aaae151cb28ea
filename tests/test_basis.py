"""The adaptive basis against the exact Gaussian denoiser, whose Jacobian is known in closed form:
A = alpha dx0_hat/dx_t = U diag(lambda / (lambda + s^2)) U^T, s = sigma/alpha."""
import numpy as np
import pytest
import torch
from gaussian import GaussianDenoiser

from explorer.core.analysis.basis import basis
from explorer.core.sampling import schedule

MU, COV = GaussianDenoiser.random(16, seed=0)
SHAPE = (1, 4, 4)


@pytest.mark.parametrize("t", [0.05, 0.5, 2.0])
def test_gaussian_basis_is_exact(t):
    g = GaussianDenoiser(MU, COV, SHAPE)
    x_t = torch.randn(SHAPE, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    b = basis(lambda x, tt: g(x.double(), tt).float(), x_t, t, k=16)
    s2 = float(schedule.sigma_over_alpha(t)) ** 2
    lam, u = torch.linalg.eigh(COV)
    expected = (lam / (lam + s2)).flip(0).numpy()
    err_values = np.abs(b.values - expected).max()
    vecs = b.vectors.reshape(16, -1)
    align = np.abs((vecs @ u.flip(1).numpy()).diagonal())       # |<v_i, u_i>|, 1 when the basis is right
    print(f"t = {t}: max eigenvalue error {err_values:.1e}, min alignment {align[:8].min():.6f}, "
          f"trace {b.trace:.4f} (exact {expected.sum():.4f}), asymmetry {b.asymmetry:.1e}")
    assert err_values < 1e-3 and abs(b.trace - expected.sum()) < 1e-3 and b.asymmetry < 1e-3
    assert align[:8].min() > 1 - 1e-3                            # the well-separated leading eigenvectors


def test_effective_dimension_falls_with_the_noise():
    g = GaussianDenoiser(MU, COV, SHAPE)
    x_t = torch.zeros(SHAPE)
    traces = [basis(lambda x, tt: g(x.double(), tt).float(), x_t, t, k=4).trace for t in (0.01, 0.3, 1.0, 3.0)]
    assert all(a > b for a, b in zip(traces, traces[1:])) and traces[0] > 14 and traces[-1] < 1


def test_cli_writes_the_basis_of_a_run_step(tiny_ckpt, tmp_path, capsys):
    from explorer.cli import main
    out = tmp_path / "b.npz"
    assert main(["basis", str(tiny_ckpt.path), "--steps", "6", "--step", "3", "--k", "5", "--out", str(out)]) == 0
    z = np.load(out)
    assert z["values"].shape == (5,) and z["vectors"].shape == (5, 1, 16, 16) and np.all(np.diff(z["values"]) <= 0)
    v = z["vectors"].reshape(5, -1)
    assert np.allclose(v @ v.T, np.eye(5), atol=1e-5)
    assert float(z["t"]) > 0 and 0 <= float(z["asymmetry"]) and "effective dimension" in capsys.readouterr().out
    assert main(["basis", str(tiny_ckpt.path), "--steps", "6", "--step", "6", "--out", str(out)]) == 2   # the final x0_hat


def test_hutchinson_trace_agrees_with_the_exact_trace():
    from explorer.core.analysis.basis import trace_estimate
    g = GaussianDenoiser(MU, COV, SHAPE)
    x_t = torch.randn(SHAPE)
    for t in (0.1, 1.0):
        exact = basis(lambda x, tt: g(x.double(), tt).float(), x_t, t, k=1).trace
        est, err = trace_estimate(lambda x, tt: g(x.double(), tt).float(), x_t, t, probes=400,
                                  generator=torch.Generator().manual_seed(0))
        assert abs(est - exact) < 4 * err and err < 0.1 * exact, (t, est, err, exact)


def test_effective_dimension_along_a_run(tiny_ckpt):
    from explorer.core.analysis.basis import effective_dimension_steps, trace_estimate
    from explorer.core.models import RunSpec
    from explorer.core.sampling.trajectory import drain
    traj = drain(tiny_ckpt.run(RunSpec("ddim", 5, n=1, seed=0)))
    frames = [f.to_numpy() for f in traj.frames]
    rows = drain(effective_dimension_steps(tiny_ckpt.denoiser, frames, probes=64))
    assert [r["step"] for r in rows] == [0, 1, 2, 3, 4]                      # the final frame has no noise
    f = frames[3]
    exact = basis(tiny_ckpt.denoiser, torch.tensor(f.x_t[0]), f.t, k=1).trace
    assert abs(rows[3]["trace"] - exact) < 4 * rows[3]["error"] + 1e-6, (rows[3], exact)
    assert trace_estimate(tiny_ckpt.denoiser, torch.tensor(f.x_t[0]), f.t, probes=4)[1] > 0


def test_two_models_bases_at_the_same_point(tiny_ckpt):
    from explorer.core.analysis.basis import pair_steps, subspace_overlap
    from explorer.core.models.bundle import bundled_pairs, other_split
    from explorer.core.sampling.trajectory import drain
    x = torch.randn(1, 16, 16, generator=torch.Generator().manual_seed(0))
    progress = []
    b1, b2 = drain(pair_steps(tiny_ckpt.denoiser, tiny_ckpt.denoiser, x, 0.3, k=8), callback=progress.append)
    assert progress[-1] == 2 * 256 and subspace_overlap(b1, b2) > 1 - 1e-6
    g = GaussianDenoiser(MU, COV, SHAPE)
    gb = basis(lambda z, t: g(z.double(), t).float(), torch.zeros(SHAPE), 0.3, k=8)
    rnd = np.linalg.qr(np.random.default_rng(0).normal(size=(16, 8)))[0].T.reshape(8, *SHAPE)
    assert subspace_overlap(gb, type(gb)(gb.values, rnd.astype(np.float32), 0, 0, 0, 0)) < 0.9
    for n, s1, s2 in bundled_pairs():
        assert other_split(s1) == s2 and other_split(s2) == s1
    assert other_split(tiny_ckpt.path) is None
