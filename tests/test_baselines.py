"""The Gaussian model with the data's power spectrum, and the isotropic bi- and trispectrum."""
import numpy as np
import pytest
import torch

from explorer.core.statistics import gaussian_field, stats


def smooth(n: int, size: int = 64, seed: int = 1) -> np.ndarray:
    """Standardised smooth Gaussian fields (n, size, size)."""
    g = torch.randn(n, size, size, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    k = torch.fft.fftfreq(size, 1 / size)
    s = torch.fft.ifft2(torch.fft.fft2(g) / (1 + (k[:, None] ** 2 + k[None, :] ** 2) / 16)).real
    return (s / s.std()).numpy()


def test_bispectrum_is_zero_for_gaussian_fields_and_not_for_skewed_ones():
    g = smooth(256)
    b, se = stats.bispectrum(g)
    assert b.shape == se.shape == (len(stats.TRIANGLES),)
    assert np.abs(b / se).max() < 3
    b2, se2 = stats.bispectrum(g ** 2)                   # chi-square: skewed
    assert (b2 / se2).min() > 5 and np.abs(b2).min() > 5 * np.abs(b).max()
    assert np.allclose(stats.bispectrum(3 * g ** 2 + 1)[0], b2)          # b is reduced: scale-free, mean removed
    assert np.allclose(stats.bispectrum(-(g ** 2))[0], -b2)               # odd under x -> -x


def test_the_trispectrum_is_zero_for_gaussian_fields_and_tells_even_non_gaussian_ones():
    """sign(g) and g^3 are even under x -> -x, like phi^4 and vorticity: their bispectrum is 0;
    the trispectrum is not. g^3 has heavy tails at every scale (t > 0); sign(g) is two-valued at
    the large scales (t < 0, like phi^4) and intermittent at the finest alone, its edges (t > 0)."""
    g = smooth(256)
    pairs = stats.band_pairs(32)
    assert stats.octave_bands(32) == [(1, 2), (2, 4), (4, 8), (8, 16), (16, 33)] and len(pairs) == 15
    assert stats.octave_bands(21)[-1] == (8, 22) and stats.octave_bands(1) == [(1, 2)]
    with pytest.raises(ValueError, match="holds no frequency"):
        stats.trispectrum(g[:4, :8, :8], [(16, 33, 16, 33)])              # a band beyond an 8 x 8 grid
    t, se = stats.trispectrum(g, pairs)
    assert t.shape == se.shape == (15,) and np.abs(t / se).max() < 4
    pairs = stats.band_pairs(16)                      # bands 1, 2-3, 4-7, 8-16
    for even, expected in ((g ** 3, [1] * 10), (np.sign(g), [-1] * 9 + [1])):
        assert np.abs(stats.bispectrum(even)[0] / stats.bispectrum(even)[1]).max() < 4
        t2, se2 = stats.trispectrum(even, pairs)
        z = np.asarray(expected) * t2 / se2           # |k| = 1 alone (4 modes) is the noisiest
        assert z.min() > 2 and np.median(z) > 10
        assert np.allclose(stats.trispectrum(-3 * even + 2, pairs)[0], t2)   # reduced, mean-free, even
    # the jackknife error is the spread of independent estimates (8 sets of 32 fields)
    t_sets = np.array([stats.trispectrum(np.sign(smooth(32, seed=10 + i)), pairs[:3])[0] for i in range(8)])
    se32 = stats.trispectrum(np.sign(smooth(32, seed=10)), pairs[:3])[1]
    assert np.all((0.4 < se32 / t_sets.std(0, ddof=1)) & (se32 / t_sets.std(0, ddof=1) < 2.5))


def test_the_gaussian_model_has_the_data_s_spectrum_and_is_gaussian():
    data = smooth(128) ** 2 + 0.5                        # skewed, heavy-tailed, with a mean
    model = gaussian_field.fit(data)
    assert gaussian_field.parameters(model) == 1 + 46          # the mean, the shells k = 0 .. round(32 sqrt 2)
    x = gaussian_field.sample(model, 256, seed=3)
    assert x.shape == (256, 1, 64, 64) and x.dtype == np.float32
    k, pd = stats.radial_power_spectrum(data)
    _, px = stats.radial_power_spectrum(x)
    assert np.abs(px / pd - 1).max() < 0.1
    assert float(x.mean()) == pytest.approx(float(data.mean()), abs=0.02)
    field_means = x.mean(axis=(1, 2, 3))                       # each field's mean spreads as the data's do
    assert field_means.std() == pytest.approx(data.mean(axis=(-2, -1)).std(), rel=0.2)
    kurt = ((x - x.mean()) ** 4).mean() / x.var() ** 2
    assert kurt == pytest.approx(3.0, abs=0.1) and stats.tv_with_se(x, data, boot=0)[0] > 0.1
    assert np.array_equal(gaussian_field.sample(model, 4, seed=3), gaussian_field.sample(model, 4, seed=3))
