import json
import subprocess
import sys

import numpy as np
import pytest

from explorer.cli import main


def run_cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "explorer", *map(str, args)], capture_output=True, text=True,
                          timeout=300, env=env)


def test_info_and_json(tiny_ckpt, capsys):
    assert main(["info", str(tiny_ckpt.path)]) == 0
    out = capsys.readouterr().out
    assert "diffusion" in out and "parameters" in out and "N=8" in out
    assert main(["info", str(tiny_ckpt.path), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["kind"] == "diffusion" and info["parameters"] == tiny_ckpt.parameters
    assert info["data"]["split"] == "S1" and info["image_shape"] == [1, 16, 16]


@pytest.mark.parametrize("sampler", ["sde", "ode", "ddim", "ascent"])
def test_sample_writes_the_trajectory_and_is_reproducible(tiny_ckpt, tmp_path, sampler):
    a, b, c = tmp_path / "a.npz", tmp_path / "b.npz", tmp_path / "c.npz"
    for out, seed in ((a, 0), (b, 0), (c, 1)):
        assert main(["sample", str(tiny_ckpt.path), "--sampler", sampler, "--steps", "6", "--n", "3",
                     "--seed", str(seed), "--out", str(out)]) == 0
    za, zb, zc = np.load(a), np.load(b), np.load(c)
    f = len(za["t"])
    assert za["x_t"].shape == (f, 3, 1, 16, 16) and za["x0_hat"].shape == za["x_t"].shape
    assert za["sigma"].shape == (f,)
    if sampler != "ascent":
        assert f == 7
    meta = json.loads(str(za["meta"]))
    assert meta["sampler"] == sampler and meta["seed"] == 0 and meta["checkpoint"] == "tiny" and meta["version"]
    assert np.array_equal(za["x0_hat"], zb["x0_hat"])
    assert not np.array_equal(za["x0_hat"], zc["x0_hat"])


def test_bad_input_gives_one_line_and_nonzero_exit(tmp_path):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x80\x04garbage")
    for args in (["info", bad], ["sample", bad, "--out", tmp_path / "x.npz"], ["info", tmp_path / "nope.safetensors"],
                 ["sample", bad, "--out", tmp_path / "x.npz", "--device", "tpu"]):
        r = run_cli(*args)
        assert r.returncode == 2, r
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("explorer: error:") and "Traceback" not in r.stderr


def test_sample_draws_a_wcrg_coarse_scale_by_its_own_sampler(tiny_wcrg, tiny_ckpt, tmp_path, capsys):
    out = tmp_path / "w.npz"
    assert main(["sample", str(tiny_wcrg.path), "--sampler", "ddim", "--steps", "2", "--n", "1",
                 "--coarse-sampler", "sde", "--coarse-steps", "5", "--out", str(out)]) == 0
    z = np.load(out)
    meta = json.loads(str(z["meta"]))
    assert (meta["coarse_sampler"], meta["coarse_steps"]) == ("sde", 5) and len(z["t"]) == 6 + 2 * 3
    stats_json = tmp_path / "stats.json"
    assert main(["stats", str(tiny_wcrg.path), "--sampler", "ddim", "--steps", "2", "--n", "4", "--coarse-sampler", "sde",
                 "--coarse-steps", "5", "--reference", "train", "--json", str(stats_json)]) == 0
    res = json.loads(stats_json.read_text())
    assert (res["checkpoint"], res["sampler"], res["steps"], res["reference"]) == (tiny_wcrg.name, "ddim", 2, "train")
    assert (res["coarse_sampler"], res["coarse_steps"]) == ("sde", 5) and res["histogram_tv_se"] >= 0
    assert (res["n_generated"], res["n_reference"]) == (4, 16)          # the whole training set, as the window
    assert main(["sample", str(tiny_ckpt.path), "--coarse-sampler", "sde", "--out", str(tmp_path / "d.npz")]) == 2
    assert "one scale" in capsys.readouterr().err and not (tmp_path / "d.npz").exists()



def test_stats_keeps_no_frames_so_their_size_does_not_refuse_it(tiny_ckpt, tmp_path, monkeypatch):
    from conftest import allow_a_tenth_of_the_frames
    allow_a_tenth_of_the_frames(monkeypatch, tiny_ckpt.image_shape)
    args = ["--sampler", "ddim", "--steps", "50", "--n", "8"]
    assert main(["sample", str(tiny_ckpt.path), *args, "--out", str(tmp_path / "s.npz")]) == 2   # keeps 51 frames
    assert main(["stats", str(tiny_ckpt.path), *args, "--reference", "train", "--json", str(tmp_path / "s.json")]) == 0
    assert json.loads((tmp_path / "s.json").read_text())["steps"] == 50

def test_sample_into_missing_folder_fails_cleanly(tiny_ckpt, tmp_path):
    r = run_cli("sample", tiny_ckpt.path, "--steps", "2", "--n", "1", "--out", tmp_path / "no" / "x.npz")
    assert r.returncode == 2 and "no such folder" in r.stderr and "Traceback" not in r.stderr


def test_data_writes_the_exact_training_set(tiny_ckpt, tmp_path):
    from explorer.core.data import training_set
    out = tmp_path / "train.npy"
    assert main(["data", str(tiny_ckpt.path), "--out", str(out)]) == 0
    x = np.load(out)
    assert x.shape == (8, 1, 16, 16) and x.dtype == np.float32
    assert np.array_equal(x, training_set(tiny_ckpt.config["data"]))


def test_evaluate_prints_train_and_test_psnr(tiny_ckpt, capsys):
    assert main(["evaluate", str(tiny_ckpt.path), "--n", "8"]) == 0
    out = capsys.readouterr().out
    assert "train PSNR" in out and "mean train-minus-test gap" in out


def test_export_uses_the_runs_own_colour_map(tiny_ckpt, tmp_path):
    """A signed field's run is exported diverging, as the window shows it, unless --cmap says otherwise."""
    from explorer.core.display import export
    from explorer.core.models import RunSpec
    from explorer.core.sampling.trajectory import Trajectory, drain
    traj = drain(tiny_ckpt.run(RunSpec("ddim", 2, 1, 0)))
    assert traj.meta["colormap"] == "grey"
    run = Trajectory(frames=traj.frames, meta={**traj.meta, "colormap": "diverging"}).save_npz(tmp_path / "r.npz")
    assert main(["export", str(run), "--png", str(tmp_path / "cli.png")]) == 0
    loaded = Trajectory.load_npz(run)
    core = export.save_frame_png(tmp_path / "core.png", loaded, len(loaded.frames) - 1, cmap="diverging")
    from PIL import Image
    assert Image.open(tmp_path / "cli.png").tobytes() == Image.open(core).tobytes()


def test_what_a_new_user_types_is_understood_or_answered_with_what_to_do(tmp_path, capsys):
    """From a new user's first session: a bundled model by the name the window lists, the samplers
    `explorer info` promises, and mistakes answered before any work with what to do instead."""
    from explorer.core.models import bundle
    name = bundle.bundled_index()[0]["name"]
    assert main(["info", name]) == 0
    assert "samplers  " in capsys.readouterr().out
    assert main(["info", name, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["samplers"]
    for argv, says in ((["info", str(bundle.bundled_dir())], "folder of the bundled models"),
                       (["info", "no-such-model"], "the bundled models are in"),
                       (["sample", name, "--out", str(tmp_path / "run.png")], "the file is .npz"),
                       (["export", str(bundle.default_checkpoint()), "--gif", str(tmp_path / "a.gif")],
                        "is a model, not a run"),
                       (["sample", name, "--out", "/proc/run.npz"], "holds no files")):
        assert main(argv) == 2, argv
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and says in err[0], (argv, err)
    assert not list(tmp_path.iterdir())
