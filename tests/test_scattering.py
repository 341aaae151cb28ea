"""Scattering spectra: the filter bank, the invariances, Gaussian against non-Gaussian fields."""
import math

import numpy as np
import pytest
import torch

from explorer.core.errors import ConfigError
from explorer.core.statistics import scattering
from explorer.core.statistics.scattering import (
    SUPPORT,
    ScatteringConfig,
    ScatteringSpectra,
    band_noise,
    filter_bank,
    littlewood_paley,
    reference,
)


@pytest.fixture(scope="module")
def spectra():
    return ScatteringSpectra(ScatteringConfig(32, 4, 4))


def white(n: int, size: int = 32, seed: int = 0) -> torch.Tensor:
    return torch.randn(n, size, size, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def lognormal(n: int, size: int = 32, seed: int = 1) -> torch.Tensor:
    """exp of a smooth Gaussian field, standardised: skewed, with intermittent bursts."""
    g = white(n, size, seed)
    k = torch.fft.fftfreq(size, 1 / size)
    k2 = k[:, None] ** 2 + k[None, :] ** 2
    smooth = torch.fft.ifft2(torch.fft.fft2(g) / (1 + k2)).real
    y = torch.exp(2.5 * smooth / smooth.std())
    return (y - y.mean()) / y.std()


def test_the_bank_is_a_tight_frame_and_kymatio_s_own_range_is_recorded():
    psi, phi, raw = filter_bank(64, 5, 4)
    assert psi.shape == (5, 4, 64, 64)
    lp = littlewood_paley(psi, phi)
    assert np.abs(lp - 1).max() < 1e-6                           # kymatio's filters are float32
    assert 0.1 < raw[0] < 0.2 and raw[1] == pytest.approx(1.0, abs=0.01)
    assert np.abs(psi[:, :, 0, 0]).max() < 1e-6                    # wavelets have zero mean
    # a rotated family: psi at angle l rotated by 90 degrees is psi at l + L/2 (reflected: pi)
    minus = (-np.arange(64)) % 64
    rotated = psi[:, 0].transpose(0, 2, 1)[:, minus, :]            # (rotated)(w1, w2) = psi(w2, -w1)
    reflected = psi[:, 2][:, minus][:, :, minus]
    assert min(np.abs(rotated - psi[:, 2]).max(), np.abs(rotated - reflected).max()) < 1e-6


def test_counts(spectra):
    assert spectra.count == 312 and spectra.counts() == {"mean": 1, "absolute": 1, "square": 1, "moment3": 0,
                                                         "moment4": 0, "lowpass": 1, "S1": 4, "S2": 4, "S3": 40,
                                                         "S4": 260, "spectrum": 0}
    moments = ScatteringSpectra(ScatteringConfig(32, 4, 4, moments=4))
    assert moments.count == 314 and moments.counts() == {**spectra.counts(), "moment3": 1, "moment4": 1}
    assert "moment3" not in spectra.describe() and "moment3 1, moment4 1" in moments.describe()
    assert ScatteringSpectra(ScatteringConfig(64, 5, 4)).count == 544
    assert ScatteringSpectra(ScatteringConfig(64, 5, 4, scale_invariant=True)).count == 244
    assert ScatteringSpectra(ScatteringConfig(64, 5, 4, isotropic=False)).count == 4044
    with_spectrum = ScatteringSpectra(ScatteringConfig(32, 4, 4, shells=10))
    assert with_spectrum.count == 322 and with_spectrum.counts() == {**spectra.counts(), "spectrum": 10}
    assert with_spectrum.labels[-10:] == [("spectrum", k) for k in range(1, 11)]


def test_the_spectrum_is_each_field_s_radial_power_over_the_reference_s(spectra):
    from explorer.core.statistics.stats import field_power_spectra

    x = lognormal(3)
    with_spectrum = ScatteringSpectra(ScatteringConfig(32, 4, 4, shells=12))
    sigma2 = spectra.power(x).mean(0)
    ref = reference(with_spectrum, x)
    p = field_power_spectra(x.numpy())[:, :12]
    assert np.allclose(ref["spectrum"].numpy(), p.mean(0), rtol=1e-12)
    phi = with_spectrum(x, sigma2, ref["spectrum"])
    assert torch.equal(phi[:, :-12], spectra(x, sigma2))                 # the wavelet statistics unchanged
    assert np.allclose(phi[:, -12:].numpy(), p / p.mean(0), rtol=1e-12)
    assert torch.allclose(with_spectrum(torch.roll(x, (5, -11), (-2, -1)), sigma2, ref["spectrum"]), phi,
                          rtol=1e-9, atol=1e-12)
    with pytest.raises(ValueError, match="reference spectrum"):
        with_spectrum(x, sigma2)
    with pytest.raises(ValueError, match="fixed when a model is fitted"):
        ScatteringSpectra(ScatteringConfig(32, 4, 4, shells=None))


def test_phi_is_invariant_to_translations_and_the_isotropic_phi_to_quarter_turns(spectra):
    x = lognormal(3)
    sigma2 = spectra.power(x).mean(0)
    phi = spectra(x, sigma2)
    assert torch.allclose(spectra(torch.roll(x, (5, -11), (-2, -1)), sigma2), phi, rtol=1e-9, atol=1e-12)
    turned = spectra(torch.rot90(x, 1, (-2, -1)), sigma2)
    assert torch.allclose(turned, phi, rtol=1e-5, atol=1e-7)
    full = ScatteringSpectra(ScatteringConfig(32, 4, 4, isotropic=False))
    aniso = full(x, sigma2)
    assert not torch.allclose(full(torch.rot90(x, 1, (-2, -1)), sigma2), aniso, rtol=1e-3, atol=1e-4)


def test_the_raw_statistics_are_the_spatial_averages_they_claim(spectra):
    x = lognormal(2)
    full = ScatteringSpectra(ScatteringConfig(32, 4, 4, isotropic=False))
    raw = full.raw(x)
    assert torch.equal(spectra.raw(x).real, raw.real) and not spectra.raw(x).imag.any()     # isotropic: Re only
    psi = spectra.psi
    w = torch.fft.ifft2(torch.fft.fft2(x)[:, None] * psi)               # x * psi_lambda
    m = w.abs()
    assert torch.allclose(raw[:, 0].real, x.mean((-2, -1))) and torch.allclose(raw[:, 1].real, x.abs().mean((-2, -1)))
    assert torch.allclose(raw[:, 2].real, (x * x).mean((-2, -1)))
    with_moments = ScatteringSpectra(ScatteringConfig(32, 4, 4, moments=4))
    extra = [with_moments.keys.index((f"moment{p}",)) for p in (3, 4)]
    assert torch.allclose(with_moments.raw(x)[:, extra].real, torch.stack([(x ** p).mean((-2, -1)) for p in (3, 4)], 1))
    rest = [i for i in range(len(with_moments.keys)) if i not in extra]
    assert torch.equal(with_moments.raw(x)[:, rest], spectra.raw(x))            # the other statistics unchanged
    assert torch.allclose(raw[:, 4:20].real, m.mean((-2, -1)))
    # one S3 and one S4 entry by their definitions, in space
    i3 = full.keys.index(("S3", (2, 1), (0, 3)))
    outer = 2 * 4 + 1
    m_psi = torch.fft.ifft2(torch.fft.fft2(m[:, 3]) * psi[outer])
    assert torch.allclose(raw[:, i3], (w[:, outer] * m_psi.conj()).mean((-2, -1)), atol=1e-10)
    i4 = full.keys.index(("S4", (0, 1), (1, 2), (3, 0)))
    a = torch.fft.ifft2(torch.fft.fft2(m[:, 1]) * psi[12])
    b = torch.fft.ifft2(torch.fft.fft2(m[:, 6]) * psi[12])
    assert torch.allclose(raw[:, i4], (a * b.conj()).mean((-2, -1)), atol=1e-10)


def plain_raw(spectra: ScatteringSpectra, x: torch.Tensor) -> torch.Tensor:
    """The raw statistics of fields x (B, H, W) written from their definitions, in space, every
    convolution at full size and over every frequency: (B, R) complex (isotropic: real parts)."""
    c = spectra.config
    psi = spectra.psi                                                          # (K, H, W), K = J L
    z = torch.fft.ifft2(torch.fft.fft2(x)[:, None] * psi)                      # x * psi_a: (B, K, H, W)
    m = z.abs()
    outer = torch.fft.ifft2(torch.fft.fft2(m)[:, :, None] * psi)               # |x * psi_a| * psi_c: (B, K, K, H, W)
    low = torch.fft.ifft2(torch.fft.fft2(x) * spectra.phi_hat).real
    area = c.size ** 2
    s3 = torch.einsum("bahw,bcahw->bac", z, outer.conj()) / area               # <(x * psi_a) conj(|x * psi_c| * psi_a)>
    s4 = torch.einsum("bachw,bdchw->bcad", outer, outer.conj()) / area         # <(|x * psi_a| * psi_c) conj(|x * psi_d| * psi_c)>
    one_point = {"mean": x, "absolute": x.abs(), "square": x * x, "moment3": x ** 3, "moment4": x ** 4, "lowpass": low * low}
    values = []
    for kind, *lams in spectra.keys:
        i = [lam[0] * c.L + lam[1] for lam in lams]
        if kind in one_point:
            values.append(one_point[kind].mean((-2, -1)).to(z.dtype))
        elif kind == "S1":
            values.append(m[:, i[0]].mean((-2, -1)).to(z.dtype))
        elif kind == "S2":
            values.append((m[:, i[0]] ** 2).mean((-2, -1)).to(z.dtype))
        elif kind == "S3":
            values.append(s3[:, i[0], i[1]])
        else:
            values.append(s4[:, i[2], i[0], i[1]])
    raw = torch.stack(values, 1)
    return torch.complex(raw.real, torch.zeros_like(raw.real)) if c.isotropic else raw


@pytest.mark.parametrize("config, filters", [(ScatteringConfig(16, 3, 2, isotropic=False), 4),
                                             (ScatteringConfig(32, 4, 4, isotropic=False), 3),
                                             (ScatteringConfig(64, 5, 4), None),
                                             (ScatteringConfig(16, 3, 2, moments=4), None)], ids=str)
def test_the_fast_statistics_and_their_gradient_equal_the_plain_definitions(config, filters, monkeypatch):
    """raw (half-plane products over the outer wavelets' support, hand-written backward, the
    moduli in groups of `filters`; None: CHUNK's, every filter at once here) against `plain_raw`,
    normalised by the fields' own S2: the values and the gradient of a random linear function of
    them, to the filter values left out below SUPPORT (1e-8) and round-off."""
    if filters:
        monkeypatch.setattr(scattering, "CHUNK", 2 * config.size ** 2 * filters)
    spectra = ScatteringSpectra(config)
    x = lognormal(2, config.size).requires_grad_(True)
    norm = spectra.normaliser(spectra.power(x.detach()).mean(0))
    fast, plain = spectra.raw(x) * norm, plain_raw(spectra, x) * norm
    assert fast.shape == plain.shape == (2, config.raw_count())
    assert float((fast - plain).abs().max()) < SUPPORT * float(plain.abs().max())    # products leave out psi_hat^2 < SUPPORT
    assert bool(plain.imag.abs().max() > 1e-3) != config.isotropic            # anisotropic: the Im parts are compared too
    w = torch.randn(plain.shape, generator=torch.Generator().manual_seed(1), dtype=torch.complex128)
    (g_fast,) = torch.autograd.grad((fast * w).real.sum(), x)
    (g_plain,) = torch.autograd.grad((plain * w).real.sum(), x)
    assert float((g_fast - g_plain).abs().max()) < SUPPORT * float(g_plain.abs().max())


def test_gaussian_noise_against_a_non_gaussian_field(spectra):
    noise, skewed = white(64), lognormal(64)
    ref_noise, ref_skewed = reference(spectra, noise), reference(spectra, skewed)
    kinds = np.array([g[0] for g in spectra.labels])
    s1 = ref_noise["phi"][torch.from_numpy(kinds == "S1")]
    # a complex Gaussian modulus: E|z| / sqrt(E|z|^2) = sqrt(pi)/2 (the finest scale is not analytic)
    assert torch.allclose(s1[1:], torch.full_like(s1[1:], math.sqrt(math.pi) / 2), atol=0.01)
    s3 = torch.from_numpy(kinds == "S3")
    assert ref_noise["phi"][s3].abs().max() < 0.015                      # x -> -x symmetry: no phase-modulus coupling
    assert ref_skewed["phi"][s3].abs().max() > 0.2
    # moduli of different scales are uncorrelated for Gaussian noise, not for an intermittent field
    cross = torch.tensor([g[0] == "S4" and g[1][0] != g[2][0] for g in spectra.labels])
    assert ref_noise["phi"][cross].abs().max() < 0.01
    assert ref_skewed["phi"][cross].abs().max() > 0.05
    assert ref_skewed["phi"][torch.from_numpy(kinds == "S1")].max() < 0.8     # sparser than Gaussian


def test_band_noise_has_the_band_powers_asked_for(spectra):
    target = spectra.power(lognormal(64)).mean(0)
    shaped = spectra.power(band_noise(spectra, white(256, seed=4), target)).mean(0)
    assert torch.allclose(shaped, target, rtol=0.1)
    assert not torch.allclose(spectra.power(white(256, seed=4)).mean(0), target, rtol=0.5)


def test_phi_has_gradients(spectra):
    x = white(2).requires_grad_(True)
    sigma2 = spectra.power(x.detach()).mean(0)
    spectra(x, sigma2).pow(2).sum().backward()
    assert x.grad is not None and bool(torch.isfinite(x.grad).all()) and float(x.grad.abs().max()) > 0


def test_the_gradient_where_the_moduli_vanish_is_finite_and_runs_once(spectra):
    """A constant field: every x * psi is 0 (psi_hat(0) = 0), and the moduli's backward divides by |x * psi|."""
    x = torch.full((2, 32, 32), 0.7, dtype=torch.float64, requires_grad=True)
    raw = spectra.raw(x)
    (g,) = torch.autograd.grad((raw.real * torch.arange(raw.shape[1])).sum(), x, retain_graph=True)
    assert bool(torch.isfinite(g).all())
    with pytest.raises(RuntimeError, match="runs once"):
        torch.autograd.grad(raw.real.sum(), x)


def test_configs_are_checked():
    assert ScatteringConfig.from_dict({"size": 64, "J": 5}, "c") == ScatteringConfig(64, 5, 4, True, False, 0)
    assert ScatteringConfig.from_dict({"size": 64, "J": 5, "shells": 32}, "c").shells == 32
    assert ScatteringConfig.from_dict({"size": 64, "J": 5, "moments": 4}, "c").moments == 4
    # a file records moments only where it is not 2: older explorers open the files of the statistics they compute
    assert "moments" not in ScatteringConfig(64, 5).to_dict() and ScatteringConfig(64, 5, moments=4).to_dict()["moments"] == 4
    for c in (ScatteringConfig(64, 5), ScatteringConfig(64, 5, moments=4)):
        assert ScatteringConfig.from_dict(c.to_dict(), "c") == c
    for bad in ({"size": 64, "J": 7}, {"size": 4, "J": 1}, {"size": 64, "J": 3, "L": 0}, {"size": 64, "J": 3, "x": 1},
                {"size": 64, "J": 3, "isotropic": 1}, {"size": 64, "J": 3, "shells": 33},
                {"size": 64, "J": 3, "shells": -1}, {"size": 64, "J": 3, "shells": None}, []) + tuple(
                {"size": 64, "J": 3, "moments": m} for m in (1, 3, 5, 4.0, True)):
        with pytest.raises(ConfigError):
            ScatteringConfig.from_dict(bad, "c")
