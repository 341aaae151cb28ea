"""The Gaussian model as a Model: made by `explorer train gaussian`, opened and run like every
model (coarse to fine over shells), its file checked like a checkpoint."""
import json

import numpy as np
import pytest
import torch

from explorer.cli import main
from explorer.core import models
from explorer.core.errors import CheckpointError
from explorer.core.models import RunSpec, open_model
from explorer.core.sampling.trajectory import drain
from explorer.core.statistics import stats


def smooth_fields(n: int, size: int = 16, seed: int = 0) -> np.ndarray:
    """A Gaussian field with a falling spectrum: (n, 1, size, size) float32, mean 0.5."""
    g = torch.randn(n, size, size, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    k = torch.fft.fftfreq(size, 1 / size)
    x = torch.fft.ifft2(torch.fft.fft2(g) / (1 + k[:, None] ** 2 + k[None, :] ** 2) ** 0.75).real
    return (0.5 + x / x.std()).float().numpy()[:, None]


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    folder = tmp_path_factory.mktemp("gauss")
    np.save(folder / "fields.npy", smooth_fields(256))
    out = folder / "smooth.gauss.safetensors"
    assert main(["train", "gaussian", "--data", str(folder / "fields.npy"), "--n", "256", "--split", "all",
                 "--size", "16", "--out", str(out)]) == 0
    return out


def test_it_opens_as_a_model_and_says_what_it_is(model_file, capsys):
    model = open_model(model_file)
    assert isinstance(model, models.Model) and model.kind == "gaussian" and model.image_shape == (1, 16, 16)
    assert model.parameters == 1 + 12                            # the mean, the shells k = 0 .. round(8 sqrt 2)
    assert model.samplers == ("spectral",) and model.default_steps("spectral") == 4
    assert model.config["training"]["command"].startswith("explorer ") and "stats" in model.data
    assert main(["info", str(model_file)]) == 0
    assert "Gaussian field, 13 parameters" in capsys.readouterr().out


def test_a_run_builds_the_field_coarse_to_fine_and_matches_the_data(model_file):
    model = open_model(model_file)
    spec = RunSpec(n=512, seed=1).resolved(model)
    traj = drain(model.run(spec))
    assert len(traj.frames) == model.frame_count(spec) == 5
    sigmas = [f.level for f in traj.frames]
    assert sigmas == sorted(sigmas, reverse=True) and sigmas[-1] == 0.0
    first = traj.frames[0].x0_hat.numpy()
    assert first.std(axis=(-2, -1)).max() < 1e-5                # frame 0: each field's own mean, flat
    x = traj.sample.numpy()
    for f in traj.frames:                                       # level: the rms of what is still missing
        missing = float(np.sqrt(((x - f.x0_hat.numpy()) ** 2).mean()))
        assert missing == pytest.approx(f.level, rel=0.05, abs=1e-6)
    held_out = smooth_fields(512, seed=7)
    r = stats.compare(x, held_out)
    assert np.abs(r["spectrum"]["relative_error"]).max() < 0.15 and r["histogram_tv"] < 0.05
    held_means = held_out.mean(axis=(-2, -1))
    assert x.mean(axis=(-2, -1)).std() == pytest.approx(held_means.std(), rel=0.2)   # the fields' means spread
    again = drain(model.run(RunSpec(n=512, seed=1)))
    assert torch.equal(again.sample, traj.sample)


def test_a_damaged_file_is_refused_with_what_is_wrong(model_file, tmp_path):
    from safetensors.torch import save_file
    config = json.loads(json.dumps(open_model(model_file).config))
    bad = tmp_path / "bad.gauss.safetensors"
    save_file({"power": torch.full((5,), 1.0, dtype=torch.float64)}, bad, metadata={"explorer": json.dumps(config)})
    with pytest.raises(CheckpointError, match="shape"):
        open_model(bad)
    save_file({"power": torch.ones(12, dtype=torch.float8_e4m3fn)}, bad, metadata={"explorer": json.dumps(config)})
    with pytest.raises(CheckpointError, match="dtype .F8_E4M3., which explorer does not read"):
        open_model(bad)
    save_file({"power": torch.full((12,), 1e30, dtype=torch.float64)}, bad, metadata={"explorer": json.dumps(config)})
    with pytest.raises(CheckpointError, match="huge"):
        open_model(bad)
    config["gaussian"]["mean"] = "x"
    save_file({"power": torch.ones(12, dtype=torch.float64)}, bad, metadata={"explorer": json.dumps(config)})
    with pytest.raises(CheckpointError, match="mean"):
        open_model(bad)
