"""The samplers' maths, proved on Gaussian data whose exact denoiser is known in closed form.

For n independent samples of N(mu, Sigma), the sample covariance C has
E ||C - Sigma||_F^2 ~= ((tr Sigma)^2 + tr(Sigma^2)) / n, so the statistical relative error is
eps = sqrt(((tr Sigma)^2 + tr Sigma^2) / n) / ||Sigma||_F (0.022 here, n = 20000, D = 16). An exact
sampler gives a relative covariance error ~ eps: the tolerance is 1.5 eps (plus discretisation,
measured below it at these step counts). The mean's error is ~ sqrt(tr Sigma / n); tolerance 4x.
The stochastic ascent is not an exact sampler (its isotropic noise injection matches the data's
variance only on average over directions: a bias of ~0.05 measured), so its tolerance is 3 eps;
it is tested at the window's defaults (beta = 0.1, sigma0 = 3 std) and at a slow, gentle setting.
A score off by a factor of 2 must fail every one of these tests.
"""
import pytest
import torch
from gaussian import GaussianDenoiser

from explorer.core.sampling import samplers, schedule
from explorer.core.sampling.trajectory import drain

N, SHAPE = 20000, (1, 4, 4)
MU, COV = GaussianDenoiser.random(16, seed=0)
EPS = float(((COV.trace() ** 2 + (COV @ COV).trace()) / N).sqrt() / COV.norm())
CASES = {  # case: (sampler, steps, options, tolerance on the relative covariance error)
    "sde": ("sde", 200, {}, 1.5 * EPS),
    "ode": ("ode", 50, {}, 1.5 * EPS),
    "ddim": ("ddim", 200, {}, 1.5 * EPS),
    "dpm2m": ("dpm2m", 30, {}, 1.5 * EPS),
    "ascent": ("ascent", 1000, {"sigma0": 3.0, "mean": float(MU.mean())}, 3 * EPS),
    "ascent-gentle": ("ascent", 3000, {"sigma0": 10.0, "beta": 0.02, "mean": float(MU.mean())}, 3 * EPS),
}


class HalfScore(GaussianDenoiser):
    """A denoiser whose Tweedie score is half the true one: alpha D' - x = (alpha D - x) / 2."""

    def __call__(self, x, t):
        a = schedule.alpha(torch.as_tensor(t, dtype=torch.float64)).reshape(-1, *[1] * (x.ndim - 1))
        return (0.5 * super().__call__(x, t) + 0.5 * x / a.to(x.dtype))


def errors(denoiser, case):
    sampler, steps, options, _ = CASES[case]
    x = samplers.initial_noise((N, *SHAPE), seed=1).double()
    traj = drain(samplers.sample(denoiser, x, sampler, steps, seed=1, keep_frames=False, **options))
    s = traj.sample.reshape(N, -1)
    mean_err = float((s.mean(0) - MU).norm() / COV.trace().sqrt())
    cov_err = float((torch.cov(s.T) - COV).norm() / COV.norm())
    return traj, mean_err, cov_err


@pytest.mark.parametrize("case", list(CASES))
def test_sampler_reproduces_gaussian(case):
    traj, mean_err, cov_err = errors(GaussianDenoiser(MU, COV, SHAPE), case)
    print(f"{case}: mean error {mean_err:.4f}, covariance error {cov_err:.4f} (tolerance {CASES[case][3]:.4f})")
    assert mean_err < 4 / N ** 0.5
    assert cov_err < CASES[case][3]
    assert traj.frames[-1].t == 0.0 and traj.frames[-1].sigma == 0.0


@pytest.mark.parametrize("case", list(CASES))
def test_half_score_is_caught(case):
    _, mean_err, cov_err = errors(HalfScore(MU, COV, SHAPE), case)
    print(f"{case} with half the score: covariance error {cov_err:.3f}")
    assert cov_err > 3 * CASES[case][3]


def test_the_ascent_tells_the_denoiser_its_noise_level():
    """At the window's defaults (beta = 0.1, sigma0 = 3 std) the ascent carries its noise level
    and stops at s <= sigma_inf with the data's variance (measured: 0.95 of it, the isotropic
    noise's bias). The residual's estimate r < s, used before, told the denoiser too low a level:
    it stopped with noise left, 1.46x the data's variance."""
    levels = []
    x = samplers.initial_noise((N, *SHAPE), seed=1).double()
    traj = drain(samplers.sample(GaussianDenoiser(MU, COV, SHAPE), x, "ascent", 1000, seed=1, keep_frames=False,
                                 sigma0=3.0, mean=float(MU.mean())),
                 callback=lambda f: levels.append(f.sigma / schedule.alpha(f.t)))
    ratio = float(torch.cov(traj.sample.reshape(N, -1).T).trace() / COV.trace())
    print(f"{len(levels) - 1} iterations, last level {levels[-2]:.4f}; variance ratio {ratio:.3f}")
    assert levels[-2] <= 0.05 and all(b < a for a, b in zip(levels[:-2], levels[1:-1]))
    assert abs(ratio - 1) < 0.08


def test_frames_record_every_step_and_the_noise_level():
    d = GaussianDenoiser(MU, COV, SHAPE)
    x = samplers.initial_noise((8, *SHAPE), seed=0).double()
    for name, evals in (("sde", 20), ("ddim", 20), ("ode", 39)):
        calls = []

        def counting(x, t):
            calls.append(t)
            return d(x, t)

        traj = drain(samplers.sample(counting, x, name, 20, seed=0))
        assert len(traj.frames) == 21 and len(calls) == evals
        ts = [f.t for f in traj.frames]
        assert ts == sorted(ts, reverse=True)
        assert all(abs(f.sigma - schedule.sigma(f.t)) < 1e-9 for f in traj.frames)
        assert [f.step for f in traj.frames] == list(range(21))
        assert torch.equal(traj.frames[0].x_t, x)


def test_without_final_denoise_the_run_ends_at_t_min():
    d = GaussianDenoiser(MU, COV, SHAPE)
    x = samplers.initial_noise((8, *SHAPE), seed=0).double()
    traj = drain(samplers.sample(d, x, "ddim", 10, final_denoise=False))
    last = traj.frames[-1]
    assert last.t == pytest.approx(schedule.T_MIN) and torch.equal(last.x_t, last.x0_hat)


def test_same_seed_same_run_and_other_seed_differs():
    d = GaussianDenoiser(MU, COV, SHAPE)
    x = samplers.initial_noise((4, *SHAPE), seed=3).double()
    a = drain(samplers.sample(d, x, "sde", 10, seed=3)).sample
    b = drain(samplers.sample(d, x, "sde", 10, seed=3)).sample
    c = drain(samplers.sample(d, x, "sde", 10, seed=4)).sample
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_nan_from_the_model_stops_the_run_naming_the_step():
    from explorer.core.errors import SamplingError
    d = GaussianDenoiser(MU, COV, SHAPE)

    def poisoned(x, t):
        out = d(x, t)
        return out * float("nan") if float(torch.as_tensor(t).max()) < 1.0 else out

    frames = []
    with pytest.raises(SamplingError, match="step"):
        drain(samplers.sample(poisoned, torch.randn(2, *SHAPE).double(), "ddim", 20), callback=frames.append)
    assert 0 < len(frames) < 21


def test_dpm_solver_is_second_order_and_beats_ddim_per_evaluation():
    """Deterministic samplers from the same noise against the probability-flow ODE solved with
    800 Heun steps: DPM-Solver++(2M)'s error falls ~4x when its steps double (second order),
    DDIM's ~2x, and at 20 evaluations DPM-Solver++ is >5x closer than DDIM or Heun (19)."""
    g = GaussianDenoiser(MU, COV, SHAPE)
    x = samplers.initial_noise((2000, *SHAPE), seed=1).double()
    ref = drain(samplers.sample(g, x, "ode", 800, keep_frames=False)).sample

    def err(sampler, steps):
        return float((drain(samplers.sample(g, x, sampler, steps, keep_frames=False)).sample - ref).norm() / ref.norm())
    dpm = {n: err("dpm2m", n) for n in (20, 40, 80)}
    ddim = {n: err("ddim", n) for n in (20, 40)}
    heun = err("ode", 10)                                  # 19 evaluations
    print(f"relative error: dpm2m {dpm}, ddim {ddim}, heun(10 steps) {heun:.2e}")
    assert 3.0 < dpm[40] / dpm[80] < 5.0 and 3.0 < dpm[20] / dpm[40] < 5.0
    assert 1.6 < ddim[20] / ddim[40] < 2.5
    assert dpm[20] * 5 < ddim[20] and dpm[20] * 5 < heun


def test_the_ascent_knows_its_length_before_it_starts():
    d = GaussianDenoiser(MU, COV, SHAPE)
    x = samplers.initial_noise((2, *SHAPE), seed=0).double()
    for steps, options in ((1000, {"sigma0": 3.0}), (1000, {"sigma0": 1.0, "beta": 0.5}), (20, {"sigma0": 3.0})):
        traj = drain(samplers.sample(d, x, "ascent", steps, seed=0, **options))
        assert len(traj.frames) == samplers.frame_count("ascent", steps, **options)
    assert samplers.frame_count("ascent", 20, sigma0=3.0) == 21
