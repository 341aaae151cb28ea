"""The Model protocol and the run spec: every kind behind one interface, a new kind with no change
to the window or the CLI."""
import json

import numpy as np
import pytest
from gaussian import GaussianModel
from PySide6.QtCore import QSettings
from windows import open_window

from explorer.core import models
from explorer.core.errors import CheckpointError, UsageError
from explorer.core.models import Opener, RunSpec, check_made_by, made_by, open_maker, open_model, run_meta
from explorer.core.sampling.trajectory import drain


@pytest.fixture
def gaussian_file(tmp_path):
    """A Gaussian model file, opened through a registered opener (as a plug-in would)."""
    path = tmp_path / "exact.gauss.json"
    path.write_text(json.dumps({"dim": 16, "seed": 0}))
    opener = Opener("gaussian", lambda p: p.name.endswith(GaussianModel.SUFFIX), GaussianModel)
    models.register_opener(opener)
    yield path
    models.unregister_opener(opener)


def test_every_kind_is_a_model(tiny_ckpt, tiny_wcrg):
    for path, kind in ((tiny_ckpt.path, "diffusion"), (tiny_wcrg.path, "wcrg"), (tiny_wcrg.path / "index.json", "wcrg")):
        model = open_model(path)
        assert isinstance(model, models.Model) and model.kind == kind
        spec = RunSpec(n=2, steps=3).resolved(model)
        assert spec.sampler == model.samplers[0]
        traj = drain(model.run(spec))
        assert len(traj.frames) == model.frame_count(spec)
        assert traj.meta["checkpoint"] == model.name and traj.meta["model_kind"] == kind


def test_run_spec_is_checked_before_any_work(tiny_ckpt, tiny_wcrg):
    with pytest.raises(UsageError, match="not 'ascent'"):
        RunSpec("ascent").resolved(tiny_wcrg)
    for bad, field in ((RunSpec(steps=0), "steps"), (RunSpec(n=0), "n"), (RunSpec(device="tpu"), "device"),
                       (RunSpec(seed=-1), "seed"), (RunSpec("nope"), "sampler"), (RunSpec(seed=2 ** 70), "seed")):
        with pytest.raises(UsageError) as refused:
            tiny_ckpt.run(bad)                    # raises at the call, not at the first next()
        assert refused.value.field == field


def test_keep_frames_false_streams(tiny_ckpt):
    full = drain(tiny_ckpt.run(RunSpec("ddim", 6, 2, 1)))
    streamed = []
    last = drain(tiny_ckpt.run(RunSpec("ddim", 6, 2, 1, keep_frames=False)), callback=streamed.append)
    assert len(full.frames) == len(streamed) == 7 and len(last.frames) == 1
    assert np.array_equal(last.sample.numpy(), full.sample.numpy())



def test_final_samples_checks_memory_as_the_frameless_run_it_is(tiny_ckpt, monkeypatch):
    """A run keeping its frames may be refused for its size; the same spec drawn by final_samples
    (or `explorer stats`) keeps one frame and must not be."""
    from conftest import allow_a_tenth_of_the_frames
    spec = RunSpec("ddim", 50, 8, 1)
    allow_a_tenth_of_the_frames(monkeypatch, tiny_ckpt.image_shape)
    with pytest.raises(UsageError, match="GiB a run may keep"):
        spec.resolved(tiny_ckpt)
    x = models.final_samples(tiny_ckpt, spec, batch=4)
    assert x.shape == (8, *tiny_ckpt.image_shape) and np.isfinite(x).all()

def test_the_model_of_a_run_is_found_or_refused_with_a_reason(tiny_ckpt, tmp_path):
    """A shared run file names its model's path: odd paths are refused with a message, never an OSError."""
    meta = drain(tiny_ckpt.run(RunSpec("ddim", 2, 1, 0))).meta
    assert models.open_maker(meta).sha256 == tiny_ckpt.sha256
    for path in ("x" * 5000, "a\x00b", str(tmp_path)):
        with pytest.raises(UsageError, match="no longer at"):
            models.open_maker({**meta, "checkpoint_path": path})
    with pytest.raises(UsageError, match="changed since"):
        models.open_maker({**meta, "checkpoint_sha256": "0" * 64})


def test_open_model_names_what_is_wrong(tmp_path):
    with pytest.raises(CheckpointError, match="no such file"):
        open_model(tmp_path / "missing.safetensors")
    with pytest.raises(CheckpointError, match="not a model explorer can open"):
        open_model(tmp_path)


def test_a_generator_defined_only_in_a_test_runs_in_the_cli(gaussian_file, tmp_path, capsys):
    from explorer.cli import main
    assert main(["info", str(gaussian_file)]) == 0 and "exact Gaussian" in capsys.readouterr().out
    out = tmp_path / "g.npz"
    assert main(["sample", str(gaussian_file), "--n", "3", "--out", str(out)]) == 0
    z = np.load(out)
    assert z["x0_hat"].shape == (13, 3, 1, 4, 4) and json.loads(str(z["meta"]))["sampler"] == "ddim"
    assert main(["sample", str(gaussian_file), "--sampler", "sde", "--out", str(out)]) == 2
    assert "runs the samplers ddim, ode, not 'sde'" in capsys.readouterr().err


def test_a_generator_defined_only_in_a_test_runs_in_the_window(qtbot, gaussian_file, tmp_path):
    win = open_window(qtbot, QSettings(str(tmp_path / "s.ini"), QSettings.IniFormat), checkpoint_path=gaussian_file)
    win.ask_before_closing_a_run = False
    assert win.model.kind == "gaussian" and "exact Gaussian" in win.info.toPlainText()
    assert win.view.colormap_box.currentText() == "diverging"
    assert win.run_panel.sampler_box.currentData() in ("ddim", "ode") and win.run_panel.steps_box.value() == 12
    win.run_panel.set_spec(sampler="ode", n=2, seed=5, device="cpu")
    assert win.start_run()
    qtbot.waitUntil(lambda: not win.is_running() and win.trajectory is not None, timeout=30000)
    reference = drain(win.model.run(RunSpec("ode", 12, 2, 5)))
    assert len(win.trajectory.frames) == 13 and win.progress.value() == 13
    assert np.allclose(win.trajectory.frames[-1].x0_hat, reference.sample.numpy(), atol=1e-6)


def test_cli_turns_only_project_errors_into_one_line(tmp_path, capsys):
    from explorer.cli import main
    assert main(["train", "diffusion", "--data", "shapes", "--n", "4", "--widths", "8,x", "--out",
                 str(tmp_path / "m.safetensors")]) == 2
    assert "--widths must be comma-separated integers" in capsys.readouterr().err
    assert main(["export", str(tmp_path / "missing.npz")]) == 2
    assert "say what to export" in capsys.readouterr().err

    def broken(path):
        raise ValueError("a bug in an opener")
    path = tmp_path / "x.broken"
    path.write_text("{}")
    opener = Opener("broken", lambda p: p.suffix == ".broken", broken)
    models.register_opener(opener)
    try:
        with pytest.raises(ValueError, match="a bug"):        # a bug keeps its traceback
            main(["info", str(path)])
    finally:
        models.unregister_opener(opener)


def test_a_models_default_run_is_written_into_its_file_and_used_everywhere(tmp_path, tiny_ckpt, tiny_wcrg, capsys):
    """`explorer set-default` records the run the benchmark found best: the Run panel, `sample`
    and RunSpec() then start from it; the weights stay byte for byte; a wrong one changes nothing."""
    import shutil

    from safetensors.torch import load_file

    from explorer.cli.main import main
    from explorer.core.errors import ConfigError
    from explorer.core.models import checkpoint, wcrg

    ckpt, folder = tmp_path / "m.safetensors", tmp_path / "m.wcrg"
    shutil.copy(tiny_ckpt.path, ckpt)
    shutil.copytree(tiny_wcrg.path, folder)
    for path, steps in ((ckpt, 7), (folder, 4)):
        before = open_model(path)
        assert before.samplers[0] != "dpm2m"
        assert main(["set-default", str(path), "--sampler", "dpm2m", "--steps", str(steps), "--why", "cheapest"]) == 0
        model = open_model(path)
        assert model.samplers[0] == "dpm2m" and set(model.samplers) == set(before.samplers)
        assert model.default_steps("dpm2m") == steps and model.default_steps("sde") == before.default_steps("sde")
        spec = RunSpec(n=1).resolved(model)
        assert (spec.sampler, spec.steps) == ("dpm2m", steps)
        assert model.default_run == {"sampler": "dpm2m", "steps": steps, "why": "cheapest", "earlier_sha256": [before.sha256]}
        made_before = run_meta(before, RunSpec(n=1).resolved(before))     # a run saved from the file before
        assert model.sha256 != before.sha256 and made_by(model, made_before)
        check_made_by(model, made_before)
        assert open_maker(made_before).sha256 == model.sha256
        written = path.stat().st_mtime_ns if path.is_file() else (path / "index.json").stat().st_mtime_ns
        capsys.readouterr()
        assert main(["set-default", str(path), "--sampler", "dpm2m", "--steps", str(steps), "--why", "cheapest"]) == 0
        assert "nothing written" in capsys.readouterr().out                # the same again: nothing written
        assert open_model(path).sha256 == model.sha256
        assert written == (path.stat().st_mtime_ns if path.is_file() else (path / "index.json").stat().st_mtime_ns)
        model.write_default("dpm2m", steps + 1, "again")                   # a second rewrite keeps the first hash
        again = open_model(path)
        assert again.default_run["earlier_sha256"] == [model.sha256, before.sha256] and made_by(again, made_before)
        assert not made_by(again, {**made_before, "checkpoint_sha256": "0" * 64})
        model = again
        kept = path.read_bytes() if path.is_file() else (path / "index.json").read_bytes()
        with pytest.raises(UsageError, match="ascent|accepted"):
            model.write_default("nonsense", 3, "")
        assert kept == (path.read_bytes() if path.is_file() else (path / "index.json").read_bytes())
    a, b = load_file(ckpt), load_file(tiny_ckpt.path)
    assert a.keys() == b.keys() and all(a[k].dtype == b[k].dtype and a[k].equal(b[k]) for k in a)
    config = checkpoint.load(ckpt).config
    for bad, match in (({"sampler": "ode", "steps": 0}, "steps"), ("ode", "object"), ({"steps": 3}, "sampler"),
                       ({"sampler": "ode", "steps": 3, "why": 5}, "why"),
                       ({"sampler": "ode", "steps": 3, "why": "x" * 10_001}, "10,000"),
                       ({"sampler": "ode", "steps": 3, "earlier_sha256": ["beef"]}, "sha256"),
                       ({"sampler": "ode", "steps": 3, "earlier_sha256": ["0" * 64] * 65}, "at most 64"),
                       ({"sampler": "ode", "steps": 3, "earlier_sha256": "0" * 64}, "earlier_sha256")):
        with pytest.raises(ConfigError, match=match):
            checkpoint.check_config(dict(config, default_run=bad), ckpt)
    index = json.loads((folder / "index.json").read_text())
    with pytest.raises(ConfigError, match="default_run"):
        wcrg.check_index(dict(index, default_run={"sampler": "ascent", "steps": 3}), "index.json")
    network = checkpoint.load(folder / index["files"]["lowpass"]).config
    with pytest.raises(ConfigError, match="no default run"):
        checkpoint.check_config(dict(network, default_run={"sampler": "ode", "steps": 3}), "lowpass")
    with pytest.raises(ConfigError, match="no default run"):
        checkpoint.check_header({"format": checkpoint.FORMAT, "kind": "gaussian", "default_run": "x"}, "f", "gaussian",
                                "a Gaussian model")
