import numpy as np
import pytest

from explorer.core.statistics import stats


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


def test_tv_and_magnetisation():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=100000), rng.normal(size=100000)
    assert stats.tv_with_se(a, b, boot=0)[0] < 0.02
    assert stats.tv_with_se(a, b + 3, boot=0)[0] > 0.8
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
    assert stats.tv_with_se(gen, ref, boot=0)[0] == pytest.approx(0.2, abs=0.02)
    same = stats.compare_to_summary(ref, stats.summary(ref))["histogram_tv"]
    assert same < 1e-9
    old = {k: v for k, v in stats.summary(ref).items() if k != "hist_tails"}       # a summary made before 0.2
    old["hist"] = (np.asarray(old["hist"]) / np.sum(old["hist"])).tolist()
    assert stats.compare_to_summary(gen, old)["histogram_tv"] == pytest.approx(0.2, abs=0.02)


def test_the_spectrum_is_compared_up_to_the_data_s_resolved_k():
    """Turbulence is dealiased above |k| = size / 3: its summary records k_max, and P(k) is
    compared up to it only (the window read a 1e5 % error from the empty shells beyond)."""
    from explorer.core.data import resolved_k

    rng = np.random.default_rng(0)
    ref, gen = rng.normal(size=(16, 32, 32)), rng.normal(size=(16, 32, 32))
    assert resolved_k({"name": "turbulence", "params": {"size": 32}}) == 10
    assert resolved_k({"name": "phi4", "params": {"L": 32}}) is None
    summary = stats.summary(ref, k_max=10)
    stats.check_summary(summary, "test", ValueError)
    assert stats.compare_to_summary(gen, summary)["k"] == list(range(1, 11))
    assert stats.compare_to_summary(gen, stats.summary(ref))["k"] == list(range(1, 17))
    assert stats.compare(gen, ref, 10)["spectrum"]["k"] == list(range(1, 11))


def test_the_bispectrum_is_recorded_in_a_summary_and_compared():
    """A skewed field (chi-square) has a bispectrum far from 0 in standard errors; Gaussian noise
    with the same spectrum does not, and the comparison says so."""
    rng = np.random.default_rng(1)
    g = rng.normal(size=(200, 16, 16))
    skewed = g ** 2 - 1
    ref = stats.summary(skewed)
    assert [tuple(t) for t in ref["bispectrum"]["triangles"]] == [t for t in stats.TRIANGLES + stats.SCALENE if max(t) <= 8]
    assert len(ref["bispectrum"]["odd"]) == len(ref["bispectrum"]["triangles"])
    stats.check_summary(ref, "test", ValueError)
    odd = stats.compare_to_summary(skewed[::-1, :, ::-1], ref)["bispectrum_odd"]      # a mirror image: the odd part flips
    assert [tuple(t) for t in odd["triangles"]] == [t for t in stats.SCALENE if max(t) <= 8]
    np.testing.assert_allclose(np.abs(odd["generated"]), np.abs(odd["reference"]), rtol=1e-9)
    b, se = np.asarray(ref["bispectrum"]["b"]), np.asarray(ref["bispectrum"]["se"])
    assert (np.abs(b) / se).max() > 5
    gauss = stats.compare_to_summary(rng.normal(size=(200, 16, 16)) * skewed.std(), ref)["bispectrum"]
    own = stats.compare_to_summary(g[:100] ** 2 - 1, ref)["bispectrum"]
    z = [np.abs(np.subtract(r["generated"], r["reference"])).max() for r in (gauss, own)]
    assert z[0] > 3 * z[1]


def test_the_trispectrum_is_recorded_in_a_summary_and_compared():
    """A two-valued field (sign of smooth noise: even under x -> -x, so no bispectrum) has a
    trispectrum far from 0; Gaussian fields with its spectrum do not, and the comparison says so."""
    rng = np.random.default_rng(2)
    g = np.fft.ifft2(np.fft.fft2(rng.normal(size=(300, 16, 16))) / (1 + stats.shells(16, 16))).real
    ref = stats.summary(np.sign(g[:200]), k_max=6)
    assert ref["trispectrum"]["pairs"] == [[1, 2, 1, 2], [1, 2, 2, 4], [1, 2, 4, 7], [2, 4, 2, 4], [2, 4, 4, 7],
                                           [4, 7, 4, 7]]
    stats.check_summary(ref, "test", ValueError)
    gauss = stats.compare_to_summary(g[200:] / g.std(), ref)["trispectrum"]
    own = stats.compare_to_summary(np.sign(g[200:]), ref)["trispectrum"]
    assert stats.difference_z(gauss) > 5 > 3 > stats.difference_z(own)
    assert stats.relative_difference(gauss) > 0.6 > 0.3 > stats.relative_difference(own)


@pytest.mark.parametrize("bad", [{"pairs": [[1, 2, 2]], "t": [0.0], "se": [1.0]},
                                 {"pairs": [[2, 1, 2, 4]], "t": [0.0], "se": [1.0]},
                                 {"pairs": [[1, 2, 2, 4]], "t": [0.0, 1.0], "se": [1.0]},
                                 {"pairs": [[1, 2, 2, 4]], "t": [float("inf")], "se": [1.0]}])
def test_a_bad_recorded_trispectrum_is_refused(bad):
    ref = stats.summary(np.random.default_rng(0).normal(size=(4, 8, 8)))
    with pytest.raises(ValueError, match="trispectrum"):
        stats.check_summary({**ref, "trispectrum": bad}, "test", ValueError)


@pytest.mark.parametrize("bad", [{"triangles": [[2, 2]], "b": [0.0], "se": [1.0]},
                                 {"triangles": [[2, 2, 2]], "b": [0.0, 1.0], "se": [1.0]},
                                 {"triangles": [[2, 2, 2]], "b": [float("nan")], "se": [1.0]}])
def test_a_bad_recorded_bispectrum_is_refused(bad):
    ref = stats.summary(np.random.default_rng(0).normal(size=(4, 8, 8)))
    with pytest.raises(ValueError, match="bispectrum"):
        stats.check_summary({**ref, "bispectrum": bad}, "test", ValueError)


def test_the_fields_own_spectra_average_to_the_radial_spectrum():
    x = np.random.default_rng(0).normal(size=(5, 1, 16, 16)) * np.arange(1, 6)[:, None, None, None]
    per_field = stats.field_power_spectra(x)
    assert per_field.shape == (5, 8)
    assert np.allclose(per_field.mean(0), stats.radial_power_spectrum(x)[1])
    assert np.all(np.diff(per_field.mean(1)) > 0)                    # field i has variance (i + 1)^2
    for f, row in zip(x, per_field):                                  # each row is that field's own spectrum
        assert np.allclose(row, stats.radial_power_spectrum(f[None])[1], rtol=1e-12)
    rect = np.random.default_rng(1).normal(size=(3, 2, 8, 12))           # channels averaged, H != W
    assert np.allclose(stats.field_power_spectra(rect), [stats.radial_power_spectrum(f)[1] for f in rect], rtol=1e-12)


def test_field_histograms_bin_like_numpy_values_on_the_edges_included():
    edges = np.linspace(-1.0, 1.0, 5)
    x = np.array([[-2.0, -1.0, -0.5, 0.0, 0.25, 1.0], [1.5, 0.5, 0.5, -0.75, -1.0, 0.999]]).reshape(2, 1, 2, 3)
    rows = stats.field_histograms(x, edges)
    for field, row in zip(x.reshape(2, -1), rows):
        assert np.allclose(row[:-2], np.histogram(field, edges)[0] / field.size)
        assert np.allclose(row[-2:], [(field < edges[0]).mean(), (field > edges[-1]).mean()])
    assert np.allclose(rows.sum(1), 1)


def test_the_tv_error_bar_is_set_by_fields_that_flip_sign():
    """Fields +-(1 + noise) with a random sign, as phi^4 near its critical point: the TV of two
    independent sets of 200 scatters by about 0.024 over 100 repetitions (set by the 200 signs,
    not the 51 200 values), and the bootstrap s.e. says so; with the signs balanced exactly it
    scatters ten times less (0.0018)."""
    rng = np.random.default_rng(0)

    def fields(n, signs=None):
        s = rng.choice([-1.0, 1.0], size=n) if signs is None else signs
        return s[:, None, None, None] * (1 + 0.5 * rng.normal(size=(n, 1, 16, 16)))
    tvs, ses = np.array([stats.tv_with_se(fields(200), fields(200)) for _ in range(100)]).T
    assert 0.5 < np.median(ses) / tvs.std() < 2 and tvs.std() > 0.01
    balanced = np.repeat([-1.0, 1.0], 100)
    assert np.std([stats.tv_with_se(fields(200, balanced), fields(200, balanced), boot=0)[0] for _ in range(20)]) < tvs.std() / 5
    r = stats.compare_to_summary(fields(200), stats.summary(fields(400)))
    assert 0.3 < r["histogram_tv_se"] / tvs.std() < 3
