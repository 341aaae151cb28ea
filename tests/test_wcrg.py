import json

import numpy as np
import pytest
import torch

from explorer.core.errors import CheckpointError, ConfigError, UsageError
from explorer.core.models import RunSpec, open_model, wcrg
from explorer.core.sampling.trajectory import drain
from explorer.core.statistics import wavelets
from explorer.core.training import wcrg as wcrg_training
from explorer.core.training.train import TrainConfig


def test_normalisation_standardises_each_scale():
    x = torch.rand(64, 1, 16, 16) * 3 + 1
    norm = wcrg.Normalisation.measure(x, 2, "haar")
    low1, d1 = wavelets.analysis(x.double())
    assert norm.low_mean[1] == pytest.approx(float(low1.mean())) and norm.detail_std[1] == pytest.approx(float(d1.std()))
    assert norm.low_mean[2] == pytest.approx(4 * float(x.mean()), rel=1e-5)       # Haar: x2 per level
    assert wcrg.Normalisation.from_dict(json.loads(json.dumps(norm.to_dict()))) == norm


def test_generation_goes_coarse_to_fine_with_frames_at_full_resolution(tiny_wcrg):
    traj = drain(wcrg.generate(tiny_wcrg, 3, "ddim", {1: 4, 2: 3}, coarse_steps=5, seed=1))
    scales = [f.scale for f in traj.frames]
    assert scales == [2] * 6 + [2] * 4 + [1] * 5
    assert all(f.x_t.shape == (3, 1, 16, 16) for f in traj.frames)
    assert [f.step for f in traj.frames] == list(range(len(traj.frames)))
    # the last frame of scale 2 has the details of scale 2 only: its finest details are zero
    _, d = wavelets.analysis(traj.frames[9].x0_hat.double())
    assert d.abs().max() < 1e-5
    again = drain(wcrg.generate(tiny_wcrg, 3, "ddim", {1: 4, 2: 3}, coarse_steps=5, seed=1))
    assert torch.equal(traj.sample, again.sample)
    # the coarse x_J by another sampler: its frames, then the same details' runs
    sde = drain(wcrg.generate(tiny_wcrg, 3, "ddim", {1: 4, 2: 3}, coarse_steps=7, seed=1, coarse_sampler="sde"))
    assert [f.scale for f in sde.frames] == [2] * 8 + [2] * 4 + [1] * 5
    assert sde.meta["coarse_sampler"] == "sde" and traj.meta["coarse_sampler"] == "ddim"
    assert not torch.equal(sde.frames[7].x0_hat, traj.frames[5].x0_hat)


def test_a_run_spec_draws_the_coarse_scale_by_its_own_sampler(tiny_wcrg, tiny_ckpt):
    """RunSpec.coarse_sampler / coarse_steps reach `generate` through the Model protocol, the
    frame count includes them, and a model of one scale, or a sampler x_J cannot run, is refused
    before any work."""
    spec = RunSpec("ddim", 3, 2, 1, coarse_sampler="sde", coarse_steps=7).resolved(tiny_wcrg)
    traj = drain(tiny_wcrg.run(spec))
    assert len(traj.frames) == tiny_wcrg.frame_count(spec) == 8 + 2 * 4
    assert (traj.meta["coarse_sampler"], traj.meta["coarse_steps"]) == ("sde", 7)
    plain = RunSpec("ddim", 3, 2, 1).resolved(tiny_wcrg)
    assert (plain.coarse_sampler, plain.coarse_steps) == (None, None) and tiny_wcrg.frame_count(plain) == 3 * 4
    assert RunSpec("ddim", 3, coarse_steps=9).resolved(tiny_wcrg).coarse_sampler == "ddim"
    assert RunSpec("ddim", 3, coarse_sampler="ode").resolved(tiny_wcrg).coarse_steps == 3
    for bad, model, says in ((dict(coarse_sampler="ascent"), tiny_wcrg, "not 'ascent'"),
                             (dict(coarse_steps=0), tiny_wcrg, "coarse steps"),
                             (dict(coarse_sampler="sde"), open_model(tiny_ckpt.path), "one scale")):
        with pytest.raises(UsageError, match=says):
            RunSpec("ddim", 3, **bad).resolved(model)


def test_npz_carries_the_scale(tiny_wcrg, tmp_path):
    from explorer.core.sampling.trajectory import Trajectory
    traj = drain(wcrg.generate(tiny_wcrg, 2, "ode", 3, seed=0))
    traj.save_npz(tmp_path / "w.npz")
    z = np.load(tmp_path / "w.npz")
    assert z["scale"].tolist() == [f.scale for f in traj.frames]
    assert json.loads(str(z["meta"]))["J"] == 2
    assert Trajectory.load_npz(tmp_path / "w.npz").frames[-1].scale == 1


def test_loading_validates_the_folder(tiny_wcrg, tmp_path):
    import shutil
    bad = tmp_path / "bad.wcrg"
    shutil.copytree(tiny_wcrg.path, bad)
    index = json.loads((bad / "index.json").read_text())
    index["levels"] = 3
    (bad / "index.json").write_text(json.dumps(index))
    with pytest.raises(ConfigError):
        wcrg.load(bad)
    (bad / "index.json").write_text("{not json")
    with pytest.raises(ConfigError):
        wcrg.load(bad)
    with pytest.raises(CheckpointError):
        wcrg.load(tmp_path / "missing.wcrg")
    shutil.rmtree(bad)
    shutil.copytree(tiny_wcrg.path, bad)
    (bad / "conditional_j1.safetensors").write_bytes(b"")
    with pytest.raises(CheckpointError, match="empty"):
        wcrg.load(bad)


def test_shared_conditional_network(tmp_path):
    data = {"name": "shapes", "params": {"size": 16}, "n": 16, "split": "all", "seed": 0}
    tc = TrainConfig(steps=4, batch=8, save_every=1000)
    recipe = wcrg_training.WCRGRecipe(levels=2, coarse_widths=[8, 16], conditional_widths=[8, 16], shared=True)
    model = wcrg_training.train(data, recipe, tmp_path / "shared.wcrg", tc, tc, "cpu", progress=False)
    assert model.conditional[1] is model.conditional[2]
    assert sorted(p.name for p in (tmp_path / "shared.wcrg").glob("*.safetensors")) == \
        ["conditional_shared.safetensors", "lowpass.safetensors"]
    traj = drain(wcrg.generate(model, 2, "ddim", 2, seed=0))
    assert traj.sample.shape == (2, 1, 16, 16) and torch.isfinite(traj.sample).all()
