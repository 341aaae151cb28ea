import math

import pytest
import torch

from explorer.core.sampling import schedule


def test_forward_process_identities():
    t = torch.linspace(1e-3, 6, 50, dtype=torch.float64)
    a, s = schedule.alpha(t), schedule.sigma(t)
    assert torch.allclose(a * a + s * s, torch.ones_like(t))
    assert torch.allclose(schedule.sigma_over_alpha(t), s / a)
    assert torch.allclose(schedule.t_from_sigma_over_alpha(schedule.sigma_over_alpha(t)), t)
    assert torch.allclose(schedule.t_from_sigma(s), t)
    assert schedule.alpha(0.5) == pytest.approx(math.exp(-0.5))


def test_forward_matches_ou_statistics():
    g = torch.Generator().manual_seed(0)
    x0 = torch.full((20000, 1, 1, 1), 2.0)
    xt = schedule.forward(x0, 0.7, torch.randn(x0.shape, generator=g))
    assert float(xt.mean()) == pytest.approx(2 * math.exp(-0.7), abs=0.02)
    assert float(xt.var()) == pytest.approx(1 - math.exp(-1.4), rel=0.03)


@pytest.mark.parametrize("spacing", schedule.SPACINGS)
def test_time_grid_is_decreasing_between_bounds(spacing):
    ts = schedule.time_grid(40, 1e-3, 6.0, spacing)
    assert ts.shape == (40,)
    assert float(ts[0]) == pytest.approx(6.0) and float(ts[-1]) == pytest.approx(1e-3)
    assert bool((ts[1:] < ts[:-1]).all())


def test_log_sigma_grid_is_uniform_in_log_sigma_over_alpha():
    ts = schedule.time_grid(30, spacing="log-sigma")
    d = torch.diff(torch.log(schedule.sigma_over_alpha(ts)))
    assert torch.allclose(d, d[0].expand_as(d), rtol=1e-6)


def test_bad_grid_arguments():
    with pytest.raises(ValueError):
        schedule.time_grid(10, 2.0, 1.0)
    with pytest.raises(ValueError):
        schedule.time_grid(10, spacing="cosine")
