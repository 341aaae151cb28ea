import numpy as np
import pytest
import pywt
import torch

from explorer.core.errors import ExplorerError
from explorer.core.statistics import wavelets

WAVELETS = ["haar", "db2", "db4", "sym4"]


@pytest.mark.parametrize("name", WAVELETS)
def test_perfect_reconstruction_and_energy(name):
    x = torch.randn(3, 2, 32, 32, generator=torch.Generator().manual_seed(0))
    low, details = wavelets.wavedec(x, 3, name)
    assert low.shape == (3, 2, 4, 4) and [d.shape[1:] for d in details] == [(6, 4, 4), (6, 8, 8), (6, 16, 16)]
    assert (wavelets.waverec(low, details, name) - x).abs().max() <= 1e-5
    energy = low.pow(2).sum() + sum(d.pow(2).sum() for d in details)
    assert float(energy) == pytest.approx(float(x.pow(2).sum()), rel=1e-5)


@pytest.mark.filterwarnings("ignore:Level value")     # pywt's note that long filters wrap around
@pytest.mark.parametrize("name", WAVELETS)
def test_equals_pywavelets_coefficient_by_coefficient(name):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(2, 3, 16, 16))
    low, details = wavelets.wavedec(torch.as_tensor(x), 2, name)
    for b in range(2):
        for c in range(3):
            ref = pywt.wavedec2(x[b, c], name, mode="periodization", level=2)
            assert np.allclose(low[b, c].numpy(), ref[0], atol=1e-10)
            for d, (ch, cv, cd) in zip(details, ref[1:]):
                assert np.allclose(d[b, 3 * c].numpy(), ch, atol=1e-10)
                assert np.allclose(d[b, 3 * c + 1].numpy(), cv, atol=1e-10)
                assert np.allclose(d[b, 3 * c + 2].numpy(), cd, atol=1e-10)


def test_low_pass_of_a_constant_grows_by_two_per_level_for_haar():
    x = torch.ones(1, 1, 8, 8)
    low, details = wavelets.wavedec(x, 2)
    assert torch.allclose(low, torch.full_like(low, 4.0)) and all(d.abs().max() < 1e-6 for d in details)
    assert torch.allclose(wavelets.upsample_low_pass(low, 2), x)


def test_bad_arguments():
    with pytest.raises(ExplorerError, match="orthogonal"):
        wavelets.analysis(torch.zeros(1, 1, 8, 8), "bior2.2")
    with pytest.raises(ExplorerError, match="unknown wavelet"):
        wavelets.analysis(torch.zeros(1, 1, 8, 8), "nope")
    with pytest.raises(ExplorerError, match="halved"):
        wavelets.wavedec(torch.zeros(1, 1, 12, 12), 3)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no GPU here")
def test_runs_on_the_gpu_unchanged():
    x = torch.randn(2, 1, 32, 32, device="cuda")
    low, details = wavelets.wavedec(x, 3, "db2")
    assert low.is_cuda and (wavelets.waverec(low, details, "db2") - x).abs().max() <= 1e-5
