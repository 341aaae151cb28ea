"""The Gaussian model with the data's power spectrum, and the isotropic bispectrum."""
import numpy as np
import pytest
import torch

from explorer.core import gaussian_field, stats


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
    err = stats.bispectrum_error(g, g ** 2)
    assert err["relative"] > 0.9 and err["z"] > 5 and err["reference_z"] > 5


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
    assert kurt == pytest.approx(3.0, abs=0.1) and stats.tv_distance(x, data) > 0.1
    assert np.array_equal(gaussian_field.sample(model, 4, seed=3), gaussian_field.sample(model, 4, seed=3))
