"""One contract over every kind of Model, as diffusers' SchedulerCommonTest runs one over every
scheduler: open, declare, describe, run with a seed twice, cancel, count frames, round-trip a run's
meta, fork or refuse clearly. A new kind joins by adding its tiny instance to KINDS."""
from __future__ import annotations

import json

import numpy as np
import pytest
from gaussian import GaussianModel
from test_gaussian_model import smooth_fields

from explorer.cli import main
from explorer.core import models
from explorer.core.analysis import fork
from explorer.core.errors import UsageError
from explorer.core.models import DisplayHints, Model, ModelBase, Opener, RunSpec, is_whole_run, open_model
from explorer.core.sampling.trajectory import Trajectory, drain

KINDS = ("diffusion", "wcrg", "scattering", "gaussian", "diffusers", "toy")


@pytest.fixture(scope="module")
def fields(tmp_path_factory):
    path = tmp_path_factory.mktemp("fields") / "fields.npy"
    np.save(path, smooth_fields(64))
    return path


@pytest.fixture
def model_path(request, tmp_path_factory, tiny_ckpt, tiny_wcrg, fields):
    """The file or folder of a tiny model of the kind `request.param`, made as a user makes one."""
    kind, folder = request.param, tmp_path_factory.mktemp(request.param)
    if kind == "diffusion":
        return tiny_ckpt.path
    if kind == "wcrg":
        return tiny_wcrg.path
    if kind in ("scattering", "gaussian"):
        out = folder / f"smooth.{'scat' if kind == 'scattering' else 'gauss'}.safetensors"
        assert main(["train", kind, "--data", str(fields), "--n", "64", "--split", "all", "--size", "16",
                     "--out", str(out)]) == 0
        return out
    if kind == "diffusers":
        pytest.importorskip("diffusers")
        from test_diffusers import tiny_folder
        tiny_folder(folder)
        return folder
    path = folder / "exact.gauss.json"                     # the tests' own generator, opened as a plug-in is
    path.write_text(json.dumps({"dim": 16, "seed": 0}))
    opener = Opener("toy", lambda p: p.name.endswith(GaussianModel.SUFFIX), GaussianModel)
    models.register_opener(opener)
    request.addfinalizer(lambda: models.unregister_opener(opener))
    return path


every_kind = pytest.mark.parametrize("model_path", KINDS, indirect=True)


def small_spec(model: Model, seed: int = 3) -> RunSpec:
    return RunSpec(steps=3, n=2, seed=seed).resolved(model)


def final(traj: Trajectory) -> np.ndarray:
    return np.asarray(traj.frames[-1].to_numpy().x0_hat)


@every_kind
def test_it_opens_and_declares_what_it_can_do(model_path):
    model = open_model(model_path)
    assert isinstance(model, Model) and isinstance(model, ModelBase) and open_model(model_path).sha256 == model.sha256
    assert isinstance(model.name, str) and model.name and isinstance(model.kind, str) and model.kind
    assert len(model.image_shape) == 3 and model.image_shape[0] in (1, 3) and isinstance(model.display, DisplayHints)
    assert model.samplers and all(model.default_steps(s) >= 1 for s in model.samplers)
    assert model.denoiser is None or callable(model.denoiser)
    assert set(model.coarse_samplers) <= set(model.samplers)
    assert model.fork_refusal is None or (isinstance(model.fork_refusal, str) and model.name in model.fork_refusal)


@every_kind
def test_it_describes_itself_for_a_person_and_as_json(model_path):
    model = open_model(model_path)
    assert model.name in model.describe()
    assert json.loads(json.dumps(model.summary()))


@every_kind
def test_a_seed_gives_the_same_run_and_another_seed_another(model_path):
    model = open_model(model_path)
    a, b = (drain(model.run(small_spec(model))) for _ in range(2))
    assert np.array_equal(final(a), final(b)) and [f.level for f in a.frames] == [f.level for f in b.frames]
    assert not np.array_equal(final(a), final(drain(model.run(small_spec(model, seed=4)))))


@every_kind
def test_it_yields_frame_count_frames_of_its_shape_each_with_its_level(model_path):
    model = open_model(model_path)
    spec = small_spec(model)
    traj = drain(model.run(spec))
    assert len(traj.frames) == model.frame_count(spec) and traj.frames[-1].x0_hat.shape == (2, *model.image_shape)
    assert all(np.isfinite(f.level) and f.level >= 0 for f in traj.frames)


@every_kind
def test_a_cancelled_run_stops_at_a_frame_and_leaves_nothing_behind(model_path):
    model = open_model(model_path)
    spec = small_spec(model)
    run = model.run(spec)
    first = next(run)
    run.close()                                            # what the window's Cancel does between two frames
    assert first.x_t.shape == (2, *model.image_shape)
    with pytest.raises(StopIteration):
        next(run)
    assert np.array_equal(final(drain(model.run(spec))), final(drain(model.run(spec))))


@every_kind
def test_a_saved_run_reads_back_with_its_meta_its_levels_and_its_spec(model_path, tmp_path):
    model = open_model(model_path)
    spec = small_spec(model)
    traj = drain(model.run(spec))
    back = Trajectory.load_npz(traj.save_npz(tmp_path / "run.npz"))
    assert back.meta == {**json.loads(json.dumps(traj.meta)), "version": back.meta["version"]}
    assert [f.level for f in back.frames] == pytest.approx([f.level for f in traj.frames])
    again = RunSpec.from_meta(back.meta).resolved(model)
    assert (again.sampler, again.steps, again.n, again.seed) == (spec.sampler, spec.steps, spec.n, spec.seed)
    assert is_whole_run(model, back)


@every_kind
def test_it_forks_or_says_why_it_cannot(model_path):
    model = open_model(model_path)
    traj = drain(model.run(small_spec(model)))
    if model.fork_refusal is None:
        sampler = "sde" if "sde" in model.samplers else model.samplers[0]
        endings = fork.fork(model, traj, 1, n=2, sampler=sampler)
        assert endings.meta["fork_step"] == 1 and final(endings).shape == (2, *model.image_shape)
    else:
        with pytest.raises(UsageError) as refused:
            fork.fork(model, traj, 1, n=2)
        assert str(refused.value) == model.fork_refusal
