import numpy as np
import pytest

from explorer.core import stats


def test_white_noise_has_a_flat_spectrum_equal_to_its_variance():
    x = np.random.default_rng(0).normal(scale=2.0, size=(200, 1, 32, 32))
    k, p = stats.radial_power_spectrum(x)
    assert list(k) == list(range(1, 17))
    assert np.allclose(p, 4.0, rtol=0.08)


def test_a_single_wave_puts_its_power_at_its_frequency():
    yy, xx = np.mgrid[0:32, 0:32]
    x = np.cos(2 * np.pi * 5 * xx / 32)[None, None]
    k, p = stats.radial_power_spectrum(x)
    assert k[np.argmax(p)] == 5 and p[k != 5].max() < 1e-20


def test_tv_distance_and_magnetisation():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=100000), rng.normal(size=100000)
    assert stats.tv_distance(a, b) < 0.02
    assert stats.tv_distance(a, b + 3) > 0.8
    fields = np.stack([np.full((1, 4, 4), 0.5), np.full((1, 4, 4), -0.3)])
    assert stats.mean_abs_magnetisation(fields) == pytest.approx(0.4)


def test_compare_of_a_set_with_itself_is_exact():
    x = np.random.default_rng(2).normal(size=(50, 1, 16, 16))
    res = stats.compare(x, x)
    assert res["spectrum"]["max_abs_relative_error"] == 0 and res["histogram_tv"] == 0
    assert "largest |relative error|" in stats.format_table(res)


def test_values_outside_the_reference_range_count_in_the_distance():
    """20 % of the generated values far outside the reference's range: TV must be about 0.2
    (binning only the reference range and renormalising showed about 0)."""
    rng = np.random.default_rng(3)
    ref = rng.normal(size=(400, 1, 16, 16))
    gen = rng.normal(size=(400, 1, 16, 16))
    gen[:80] += 50.0
    assert stats.compare_to_summary(gen, stats.summary(ref))["histogram_tv"] == pytest.approx(0.2, abs=0.02)
    assert stats.tv_distance(gen, ref) == pytest.approx(0.2, abs=0.02)
    same = stats.compare_to_summary(ref, stats.summary(ref))["histogram_tv"]
    assert same < 1e-9
    old = {k: v for k, v in stats.summary(ref).items() if k != "hist_tails"}       # a summary made before 0.2
    old["hist"] = (np.asarray(old["hist"]) / np.sum(old["hist"])).tolist()
    assert stats.compare_to_summary(gen, old)["histogram_tv"] == pytest.approx(0.2, abs=0.02)


def test_the_spectrum_is_compared_only_where_the_reference_has_power():
    """A dealiased reference (no power above |k| = 5) against noise with power everywhere: the
    relative error is reported up to |k| = 5, not as 1e15 % beyond."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 32, 32))
    xh = np.fft.fft2(x)
    q = np.fft.fftfreq(32) * 32
    xh[:, np.sqrt(q[:, None] ** 2 + q[None, :] ** 2) > 5.4] = 0
    ref = np.fft.ifft2(xh).real
    gen = rng.normal(size=(64, 32, 32)) * ref.std()
    for res in (stats.compare(gen, ref), stats.compare_to_summary(gen, stats.summary(ref))):
        k = res["spectrum"]["k"] if "spectrum" in res else res["k"]
        assert k == [1, 2, 3, 4, 5]
    assert stats.compare(gen, ref)["spectrum"]["max_abs_relative_error"] < 10
