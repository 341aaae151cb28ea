import pytest
import torch

from explorer.core.errors import ConfigError
from explorer.core.nets.unet import Denoiser, UNetConfig, count_parameters


@pytest.mark.parametrize("channels,size", [(1, 16), (3, 32), (1, 128)])
def test_denoiser_shapes(channels, size):
    d = Denoiser(UNetConfig(channels=channels, size=size, widths=[8, 16, 32]))
    x = torch.randn(2, channels, size, size)
    assert d(x, 0.3).shape == x.shape
    assert d(x, torch.tensor([0.1, 2.0])).shape == x.shape


def test_sizes_span_the_asked_range():
    small = count_parameters(Denoiser(UNetConfig(widths=[16, 32, 64])))
    large = count_parameters(Denoiser(UNetConfig(widths=[32, 64, 128, 256], blocks=2)))
    assert 0.25e6 < small < 0.4e6 and 5e6 < large < 9e6


def test_bias_free_denoiser_is_homogeneous():
    torch.manual_seed(0)
    d = Denoiser(UNetConfig(size=16, widths=[8, 16], bias_free=True))
    x = torch.randn(3, 1, 16, 16)
    with torch.no_grad():
        assert torch.allclose(d(2.5 * x, 0.4), 2.5 * d(x, 0.4), atol=1e-5)
        assert d(torch.zeros_like(x), 0.4).abs().max() == 0
    assert not any(n.endswith("bias") and "emb" not in n for n, _ in d.named_parameters())


def test_preconditioning_limits():
    """At tiny noise D(x) ~ x (c_skip -> 1); at huge noise D(x) ~ c_out F ~ sigma_data F (bounded)."""
    d = Denoiser(UNetConfig(size=16, widths=[8, 16]))
    x = torch.randn(2, 1, 16, 16)
    with torch.no_grad():
        assert (d(x, 1e-6) - x).abs().max() < 0.05
        assert d(x, 8.0).abs().max() < 100


def test_invalid_config():
    good = UNetConfig(widths=[8, 16, 32]).to_dict()
    with pytest.raises(ConfigError, match="divisible"):
        UNetConfig.from_dict({**good, "size": 30})
    with pytest.raises(ConfigError, match="unknown fields"):
        UNetConfig.from_dict({**good, "unknown_field": 1})
    with pytest.raises(ConfigError, match="missing fields"):
        UNetConfig.from_dict({"size": 32, "widths": [8, 16, 32]})
    with pytest.raises(ConfigError, match="parameters, more than"):
        UNetConfig.from_dict({**good, "widths": [2048, 2048]})
    assert UNetConfig.from_dict(good) == UNetConfig(widths=[8, 16, 32])


@pytest.mark.parametrize("cfg", [UNetConfig(), UNetConfig(widths=[8, 16], bias_free=True, blocks=2),
                                 UNetConfig(channels=3, cond_channels=1, widths=[32, 64, 64], emb_dim=32, size=16),
                                 UNetConfig(widths=[12], size=8)])
def test_parameter_count_from_the_config_is_exact(cfg):
    assert cfg.parameter_count() == count_parameters(Denoiser(cfg))
