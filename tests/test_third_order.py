"""Third-order statistics with known answers: the oriented bispectrum (parity-even and -odd parts,
jackknife errors), the spectral fluxes of 2-D turbulence, and the cosmic web's fields."""
from __future__ import annotations

import numpy as np
import pytest

from explorer.core.data import cosmic_web, fresh_groups, fresh_images, make_record, training_set, turbulence
from explorer.core.errors import DataError, UsageError
from explorer.core.statistics import stats


def gaussian(n: int, size: int = 64, seed: int = 0) -> np.ndarray:
    """Gaussian fields of power spectrum (1 + |k|)^-3."""
    rng = np.random.default_rng(seed)
    k = np.hypot(*np.meshgrid(np.fft.fftfreq(size) * size, np.fft.fftfreq(size) * size, indexing="ij"))
    return np.fft.ifft2(np.fft.fft2(rng.standard_normal((n, size, size))) / (1 + k) ** 1.5).real


def derivative(f: np.ndarray, axis: int) -> np.ndarray:
    size = f.shape[-1]
    k = np.fft.fftfreq(size) * size
    shape = [1] * f.ndim
    shape[axis] = size
    return np.fft.ifft2(1j * k.reshape(shape) * np.fft.fft2(f)).real


def test_a_gaussian_field_has_no_bispectrum_within_its_jackknife_errors():
    r = stats.bispectrum_parts(gaussian(128))
    assert np.all(np.abs(r["even"]) < 4 * r["even_se"]) and np.all(np.abs(r["odd"]) < 4 * r["odd_se"])
    assert np.all(r["even_se"] > 0) and np.all(r["odd_se"] > 0)


def test_the_jackknife_errors_are_calibrated():
    """Over 20 independent sets of Gaussian fields, b / se spreads as a unit normal."""
    fit = [t for t in stats.SCALENE if max(t) <= 12]
    z = np.concatenate([np.concatenate([(r := stats.bispectrum_parts(gaussian(64, 32, seed), fit))["even"] / r["even_se"],
                                        r["odd"] / r["odd_se"]]) for seed in range(20)])
    z = z[np.isfinite(z)]
    assert 0.8 < z.std() < 1.25 and len(z) == 20 * 2 * len(fit)


def test_errors_over_groups_of_copies_are_the_errors_of_the_distinct_fields():
    """Each of 24 skewed fields repeated 4 times, the copies in one group: the estimates are those of
    the 24 fields, and the jackknife over groups gives their errors exactly, where the jackknife over
    the 96 fields, taking copies for independent draws, gives errors about half as large. Groups of
    one field are the jackknife over fields."""
    x = gaussian(24, 32, seed=3)
    x = x + 0.5 * x ** 2
    copies, groups = np.repeat(x, 4, axis=0), np.repeat(np.arange(24), 4)
    tri, pairs = [t for t in stats.SCALENE if max(t) <= 12], stats.band_pairs(16)
    alone, fields = stats.bispectrum_parts(x, tri), stats.bispectrum_parts(copies, tri)
    grouped = stats.bispectrum_parts(copies, tri, groups)
    for key in ("even", "odd"):
        assert np.allclose(grouped[key], alone[key], rtol=1e-10)
        assert np.allclose(grouped[f"{key}_se"], alone[f"{key}_se"], rtol=1e-8)
        assert np.all(fields[f"{key}_se"] < 0.6 * grouped[f"{key}_se"])
    t_alone, se_alone = stats.trispectrum(x, pairs)
    t_copies, se_grouped = stats.trispectrum(copies, pairs, groups)               # the bias corrected by groups too
    assert np.allclose(t_copies, t_alone, rtol=1e-8) and np.allclose(se_grouped, se_alone, rtol=1e-8)
    assert np.all(stats.trispectrum(copies, pairs)[1] < 0.6 * se_alone)
    single = stats.bispectrum_parts(x, tri, np.arange(24))
    assert all(np.allclose(single[key], alone[key], rtol=1e-12) for key in alone)
    assert np.allclose(stats.trispectrum(x, pairs, np.arange(24))[1], se_alone, rtol=1e-12)
    with pytest.raises(ValueError, match="24 integer labels"):
        stats.bispectrum_parts(x, tri, np.zeros(23, int))


def test_the_power_spectrum_errors_over_fields_and_over_groups():
    """P(k)'s error over independent fields is the spread of their P(k) over sqrt(N); over groups of
    copies it is the distinct fields' error, where taking the copies for independent draws halves it."""
    x = gaussian(24, 32, seed=5)
    per_field = np.stack([stats.radial_power_spectrum(f[None])[1] for f in x])
    k, p, se = stats.power_spectrum_with_se(x)
    assert np.array_equal(k, np.arange(1, 17)) and np.allclose(p, stats.radial_power_spectrum(x)[1], rtol=1e-12)
    assert se.shape == (16,) and np.allclose(se, per_field.std(0, ddof=1) / np.sqrt(24), rtol=1e-10)
    copies, groups = np.repeat(x, 4, axis=0), np.repeat(np.arange(24), 4)
    assert np.allclose(stats.power_spectrum_with_se(copies, groups)[2], se, rtol=1e-8)
    assert np.all(stats.power_spectrum_with_se(copies)[2] < 0.6 * se)
    assert np.allclose(stats.summary(copies, groups=groups)["power_se"], se, rtol=1e-8)
    assert np.isnan(stats.power_spectrum_with_se(x[:1])[2]).all()
    assert np.isnan(stats.power_spectrum_with_se(x, np.zeros(24, int))[2]).all()


def test_the_power_spectrum_z_tells_a_model_off_by_twenty_percent_from_one_within_noise():
    """Against 256 reference fields: 256 fresh fields of the same law are within ~3 standard errors at
    every shell; the same fields with 20 % more power (x sqrt(1.2)) are many standard errors off, and
    their max |dP/P| is 20 %. A summary without P(k) errors (older checkpoints) gives no z."""
    reference = stats.summary(gaussian(256, 32, seed=6))
    same = stats.compare_to_summary(gaussian(256, 32, seed=7), reference)
    louder = stats.compare_to_summary(np.sqrt(1.2) * gaussian(256, 32, seed=7), reference)
    assert stats.difference_z(same["power"]) < 3.5
    assert stats.difference_z(louder["power"]) > 10
    assert np.allclose(np.asarray(louder["power_relative_error"]) + 1,
                       1.2 * (np.asarray(same["power_relative_error"]) + 1), rtol=1e-9)
    old = {key: v for key, v in reference.items() if key != "power_se"}
    assert "power" not in stats.compare_to_summary(gaussian(8, 32, seed=7), old)
    with pytest.raises(DataError, match="do not fit together"):
        stats.check_summary({**reference, "power_se": reference["power_se"][:-1]}, "reference", DataError)
    with pytest.raises(DataError, match="none below 0"):
        stats.check_summary({**reference, "power_se": [-1.0] * len(reference["power"])}, "reference", DataError)


def test_fresh_turbulence_of_a_grid_run_comes_in_blocks_of_one_run():
    """The fresh fields' groups: the blocks of a `grid` run, the runs of an older parameter set, none
    for independent draws."""
    grid = {"name": "turbulence", "params": {"size": 32, "grid": 256}}
    assert np.array_equal(fresh_groups(grid, 240), np.arange(240) // turbulence.PER_RUN)
    # a short last block (4 fields) joins the one before; a long one (30) stands alone
    assert np.bincount(fresh_groups(grid, 244)).tolist() == [48, 48, 48, 48, 52]
    assert np.bincount(fresh_groups(grid, 270)).tolist() == [48, 48, 48, 48, 48, 30]
    assert np.array_equal(fresh_groups({"name": "turbulence", "params": {"size": 32}}, 64), np.arange(64) // 2)
    assert fresh_groups({"name": "cosmic_web", "params": {}}, 10) is None
    with pytest.raises(UsageError, match=r"2 block\(s\).*raise the number"):                  # too few for an error bar
        fresh_groups(grid, 96)


def test_a_white_skewed_field_has_its_skewness_for_every_triangle():
    """For i.i.d. values the bispectrum is flat, B = kappa_3, so b = kappa_3 / sigma^3: the skewness
    (1 for a Gamma(4) variate), on every triangle; and no odd part."""
    rng = np.random.default_rng(1)
    x = (rng.gamma(4.0, size=(256, 32, 32)) - 4.0) / 2.0
    triangles = [t for t in stats.SCALENE if max(t) <= 12] + [(2, 2, 2), (4, 4, 4)]
    r = stats.bispectrum_parts(x, triangles)
    assert np.all(np.abs(r["even"] - 1.0) < 3.5 * r["even_se"])
    weights = 1 / r["even_se"] ** 2
    pooled = (r["even"] * weights).sum() / weights.sum()
    assert abs(pooled - 1.0) < 3 / np.sqrt(weights.sum()) and pooled > 10 / np.sqrt(weights.sum())
    assert np.all(np.abs(r["odd"][:-2]) < 4 * r["odd_se"][:-2])
    assert np.all(r["odd"][-2:] == 0) and np.all(r["odd_se"][-2:] == 0)           # equilateral: 0 by construction


def test_a_mirror_image_flips_the_odd_part_and_keeps_the_even_part():
    x = gaussian(32) + 0.3 * gaussian(32, seed=5) ** 2
    r, m = stats.bispectrum_parts(x), stats.bispectrum_parts(x[..., ::-1])
    np.testing.assert_allclose(m["odd"], -r["odd"], atol=1e-12)
    np.testing.assert_allclose(m["even"], r["even"], atol=1e-12)


def test_an_advected_field_has_a_parity_odd_bispectrum_that_isosceles_triangles_cannot_see():
    """f = g + eps J(g, lap g), the Jacobian of 2-D advection: a mirror image changes the sign of J,
    so the law is not mirror symmetric. To first order in eps, B_odd is proportional to (q1 x q2)
    times the cyclic sum of (k_b^2 - k_a^2) P(k_a) P(k_b), which vanishes for a flat P(k): g is given
    a power step at |k| = 3.5. b_odd is then alive on scalene triangles; on isosceles ones it is 0 by
    construction, which is why `stats.TRIANGLES` are blind to it."""
    rng = np.random.default_rng(2)
    k = np.hypot(*np.meshgrid(np.fft.fftfreq(64) * 64, np.fft.fftfreq(64) * 64, indexing="ij"))
    g = np.fft.ifft2(np.fft.fft2(rng.standard_normal((192, 64, 64))) * np.where(k <= 3.5, 1.0, 0.22) * (k <= 8)).real
    lap = derivative(derivative(g, -1), -1) + derivative(derivative(g, -2), -2)
    f = g + 0.03 * (derivative(g, -1) * derivative(lap, -2) - derivative(g, -2) * derivative(lap, -1))
    scalene = [(2, 5, 6), (3, 4, 6), (3, 5, 7)]
    r = stats.bispectrum_parts(f, scalene)
    assert np.max(np.abs(r["odd"]) / r["odd_se"]) > 5
    assert np.all(stats.bispectrum_parts(f, [(3, 3, 4), (3, 4, 4), (4, 4, 4)])["odd"] == 0)
    assert np.all(np.abs(stats.bispectrum_parts(g, scalene)["odd"]) < 4 * r["odd_se"])


def test_the_isotropic_bispectrum_is_the_even_part():
    x = gaussian(16) + 0.2 * gaussian(16, seed=3) ** 2
    b, se = stats.bispectrum(x, [(2, 3, 4), (4, 4, 4)])
    r = stats.bispectrum_parts(x, [(2, 3, 4), (4, 4, 4)])
    np.testing.assert_array_equal(b, r["even"])
    np.testing.assert_array_equal(se, r["even_se"])


def test_the_spectral_fluxes_conserve_energy_and_enstrophy_and_know_a_mirror_image():
    """The nonlinear term conserves E and Z: both fluxes vanish through the last shell. A single
    Fourier mode (a Kolmogorov flow) transfers nothing. -omega mirrored is the same flow seen in a
    mirror: the same fluxes; omega -> -omega alone reverses them."""
    rng = np.random.default_rng(0)
    w = gaussian(6, 64, seed=4) + 0.5 * rng.standard_normal((6, 64, 64))
    f = turbulence.spectral_fluxes(w)
    scale = np.abs(f["enstrophy"]).max()
    assert abs(f["enstrophy"][-1]) < 1e-10 * scale and abs(f["energy"][-1]) < 1e-10 * np.abs(f["energy"]).max()
    assert scale > 0
    mirrored = turbulence.spectral_fluxes(-w[..., ::-1])
    np.testing.assert_allclose(mirrored["enstrophy"], f["enstrophy"], atol=1e-12 * scale)
    np.testing.assert_allclose(turbulence.spectral_fluxes(-w)["enstrophy"], -np.asarray(f["enstrophy"]),
                               atol=1e-12 * scale)
    x = np.linspace(0, 2 * np.pi, 64, endpoint=False)
    kolmogorov = turbulence.spectral_fluxes(np.sin(4 * x)[None, None, :].repeat(64, 1))
    assert np.abs(kolmogorov["enstrophy"]).max() < 1e-12 and np.abs(kolmogorov["energy"]).max() < 1e-12


def test_cosmic_web_fields_are_reproducible_independent_and_of_mean_density_one():
    a = cosmic_web.samples(3, 0, 3, size=32, box=128.0)
    assert a.shape == (3, 1, 32, 32) and a.dtype == np.float32
    np.testing.assert_array_equal(a[1:], cosmic_web.samples(3, 1, 2, size=32, box=128.0))
    assert not np.allclose(a[0], a[1])
    rho = cosmic_web.density(np.random.default_rng(0), 32, 128.0)
    assert abs(rho.mean() - 1) < 1e-12 and rho.min() > 0


def test_the_cosmic_web_has_a_positive_equilateral_bispectrum_and_a_skewed_one_point_law():
    """The literature's signatures of gravitational clustering: the bispectrum of delta is positive
    on equilateral triangles (many standard errors), and 1 + delta is skewed to high densities.
    (The field explorer shows, log(1 + delta), is closer to Gaussian: that is why it is shown.)"""
    rho = np.exp(cosmic_web.samples(0, 0, 128, size=32, box=128.0).astype(np.float64))
    r = stats.bispectrum_parts(rho - 1, [(4, 4, 4), (5, 5, 5), (6, 6, 6), (8, 8, 8)])
    assert np.all(r["even"] > 5 * r["even_se"])
    assert ((rho - 1) ** 3).mean() / rho.std() ** 3 > 1


def test_the_cosmic_web_is_a_data_set_like_the_others(tmp_path, monkeypatch):
    monkeypatch.setenv("EXPLORER_CACHE", str(tmp_path))
    data = make_record("cosmic_web", 6, "S1", 0, {"box": 128.0}, 32)
    x = training_set(data)
    assert x.shape == (6, 1, 32, 32)
    assert not np.isin(fresh_images(data, 4)[:, 0, 0, 0], x[:, 0, 0, 0]).any()
    with pytest.raises(DataError, match="depth"):
        make_record("cosmic_web", 6, "S1", 0, {"box": 10.0, "depth": 20.0}, 32)
    with pytest.raises(DataError, match="box"):
        make_record("cosmic_web", 6, "S1", 0, {"box": 0.1}, 32)
