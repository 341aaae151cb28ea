"""Nothing lost: a file explorer writes is a file it opens, checked before it replaces anything;
no output is one of the command's inputs; special files and links beside an output or in the cache
are left alone; the window opens whatever its settings hold."""
from __future__ import annotations

import hashlib
import json
import os
import stat
from pathlib import Path

import numpy as np
import pytest
import torch
from PySide6.QtCore import QSettings
from windows import open_window

from explorer.cli import main
from explorer.core.data import cached_array
from explorer.core.errors import CheckpointError, ExportError
from explorer.core.files.io import atomic_write
from explorer.core.models import bundle, checkpoint, open_model
from explorer.core.nets.unet import UNetConfig
from explorer.core.training import train

TRAIN = ["train", "diffusion", "--data", "shapes", "--n", "8", "--size", "16", "--widths", "8,16", "--steps", "2",
         "--batch", "4"]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def one_error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("explorer: error:") and "Traceback" not in err[0], err
    return err[0]


@pytest.mark.parametrize("extra", [["--name", "n" * 250], ["--description", "d" * 20_000],
                                   ["--data-params", json.dumps({"size": 16, "blur": 0.5}) + " " * 10]],
                         ids=["long name", "long description", "data params"])
def test_a_good_checkpoint_is_not_replaced_by_one_explorer_would_refuse(tiny_ckpt, tmp_path, capsys, extra):
    out = tmp_path / "model.safetensors"
    out.write_bytes(tiny_ckpt.path.read_bytes())
    before = digest(out)
    code = main(TRAIN + extra + ["--out", str(out)])
    if extra[0] == "--data-params":                      # within the limits: trains, and the file it writes opens
        assert code == 0 and open_model(out).name == "model"
        return
    assert code == 2 and digest(out) == before
    assert "at most" in one_error_line(capsys)
    assert not list(tmp_path.glob(".*.part"))


def test_an_out_name_the_loader_would_refuse_is_refused_before_training(tmp_path, capsys):
    assert main(TRAIN + ["--out", str(tmp_path / ("a" * 201 + ".safetensors"))]) == 2
    assert "name has 201 characters" in one_error_line(capsys)
    assert main(TRAIN + ["--out", str(tmp_path / ("b" * 230 + ".safetensors"))]) == 2
    assert "bytes" in one_error_line(capsys)
    assert not list(tmp_path.iterdir())


def test_what_its_loader_refuses_never_replaces_a_file(tmp_path):
    out = tmp_path / "keep.safetensors"
    out.write_bytes(b"the user's file")

    def refuse(tmp: Path) -> None:
        checkpoint.load(tmp)                                 # the bytes below are no checkpoint
    with pytest.raises(ExportError, match="could not read it back"):
        atomic_write(out, lambda f: f.write(b"\x08\x00\x00\x00\x00\x00\x00\x00{}      "), verify=refuse)
    assert out.read_bytes() == b"the user's file" and [p.name for p in tmp_path.iterdir()] == ["keep.safetensors"]


def test_a_fifo_beside_the_output_is_left_alone(tmp_path):
    out = tmp_path / "m.safetensors"
    for name in ("m.safetensors.resume.part", ".m.safetensors.part"):
        os.mkfifo(tmp_path / name)
    assert main(TRAIN + ["--save-every", "1", "--out", str(out)]) == 0
    assert open_model(out).kind == "diffusion"
    for name in ("m.safetensors.resume.part", ".m.safetensors.part"):
        assert stat.S_ISFIFO(os.lstat(tmp_path / name).st_mode)


def test_a_damaged_resume_file_that_matches_the_run_is_ignored_and_leaves_the_fresh_state(tmp_path):
    arch = UNetConfig(channels=1, size=8, widths=[4], blocks=1)
    path = tmp_path / "r.resume"

    def state():
        model = train.seeded_model(arch, 0)
        return train._State(model=model, ema=train.copy.deepcopy(model), opt=torch.optim.Adam(model.parameters()),
                            generator=torch.Generator().manual_seed(1))
    st = state()
    st.step, st.losses = 7, [0.5] * 7
    train._save_resume(path, st, "fp", [st.generator.get_state()])
    from safetensors.torch import load_file, save_file
    tensors = load_file(str(path))
    from safetensors import safe_open
    with safe_open(str(path), "pt") as f:
        meta = f.metadata()
    fresh = state()
    weights = {k: v.clone() for k, v in fresh.model.state_dict().items()}
    for damage in ({"step": "abc"}, {"step": "-50"}, {"losses": "[1, \"x\"]"}, {"losses": "{"}):
        save_file(tensors, str(path), metadata={**meta, **damage})
        assert train._load_resume(path, fresh, "fp") is False and fresh.step == 0
    shapes = {k: (v[:1] if v.ndim and v.shape[0] > 1 else v) for k, v in tensors.items()}     # wrong tensor shapes
    save_file(shapes, str(path), metadata=meta)
    assert train._load_resume(path, fresh, "fp") is False and fresh.step == 0 and not fresh.opt.state
    assert all(torch.equal(v, weights[k]) for k, v in fresh.model.state_dict().items())
    save_file({k: v for k, v in tensors.items() if k != "generator_state"}, str(path), metadata=meta)
    assert train._load_resume(path, fresh, "fp") is False
    save_file(tensors, str(path), metadata=meta)                      # and the intact one still resumes
    assert train._load_resume(path, fresh, "fp") is True and fresh.step == 7


def test_an_output_that_is_an_input_is_refused_before_any_work(tiny_ckpt, tmp_path, capsys):
    data = tmp_path / "mine.npy"
    np.save(data, np.random.default_rng(0).random((8, 16, 16), dtype=np.float32))
    before = digest(data)
    assert main(["train", "diffusion", "--data", str(data), "--n", "8", "--split", "all", "--size", "16",
                 "--steps", "1", "--out", str(data)]) == 2
    assert "is an input" in one_error_line(capsys) and digest(data) == before
    link = tmp_path / "link.npy"
    link.symlink_to(data)
    assert main(["train", "diffusion", "--data", str(data), "--n", "8", "--split", "all", "--size", "16",
                 "--steps", "1", "--out", str(link)]) == 2
    one_error_line(capsys)
    model = tmp_path / "model.safetensors"
    model.write_bytes(tiny_ckpt.path.read_bytes())
    before = digest(model)
    assert main(["screenshot", str(model), "--checkpoint", str(model)]) == 2
    assert "is an input" in one_error_line(capsys) and digest(model) == before


def test_the_cache_never_writes_through_a_link_nor_stops_a_command(tmp_path, monkeypatch):
    monkeypatch.setenv("EXPLORER_CACHE", str(tmp_path / "cache"))
    key = {"kind": "test", "n": 3}
    digest20 = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:20]
    (tmp_path / "cache").mkdir()
    users = tmp_path / "notes.txt"
    users.write_text("the user's notes")
    (tmp_path / "cache" / f"t-{digest20}.json").symlink_to(users)
    arr = cached_array("t", key, lambda: np.arange(3.0))
    assert arr.tolist() == [0, 1, 2] and users.read_text() == "the user's notes"
    assert (tmp_path / "cache" / f"t-{digest20}.json").is_symlink() and not (tmp_path / "cache" / f"t-{digest20}.npy").exists()
    for cache in ("/dev/null", str(users)):                     # a device, a file: the result all the same
        monkeypatch.setenv("EXPLORER_CACHE", cache)
        assert cached_array("t", key, lambda: np.arange(3.0)).tolist() == [0, 1, 2]
    assert users.read_text() == "the user's notes"


def test_open_model_refuses_a_fifo_at_once(tmp_path):
    os.mkfifo(tmp_path / "m.safetensors")
    with pytest.raises(CheckpointError, match="FIFO"):
        open_model(tmp_path / "m.safetensors")


def test_the_window_opens_whatever_its_settings_hold(qtbot, tmp_path, tiny_ckpt):
    os.mkfifo(tmp_path / "fifo.safetensors")
    ini = tmp_path / "settings.ini"                                     # as edited by hand, or left by another version
    ini.write_text("[General]\nbatch=10000000000\nseed=1180591620717411303424\nsteps=abc\ndevice=tpu\n"
                   "geometry=garbage\nrecent=@ByteArray(xyz)\n"
                   f"last_checkpoint={tmp_path / 'fifo.safetensors'}\n")
    window = open_window(qtbot, settings=QSettings(str(ini), QSettings.IniFormat))
    window.ask_before_closing_a_run = False
    text = window.message.text()
    assert window.model is not None and window.model.path == bundle.default_checkpoint()   # the default model
    assert "FIFO" in text and "dropped" in text
    for key in ("batch", "seed", "steps", "device", "geometry", "recent"):
        assert key in text
    assert window.run_panel.batch_box.value() == 16 and window.recent.files() == []
    window.close()


def test_a_settings_file_that_is_a_fifo_is_left_alone(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    (tmp_path / "explorer").mkdir()
    os.mkfifo(tmp_path / "explorer" / "explorer.conf")            # QSettings would block reading it
    window = open_window(qtbot)
    qtbot.addWidget(window)
    window.ask_before_closing_a_run = False
    assert "left alone" in window.message.text() and window.model is not None
    window.close()
    assert stat.S_ISFIFO(os.lstat(tmp_path / "explorer" / "explorer.conf").st_mode)


def test_fork_and_sweep_never_write_over_a_model_they_read(tiny_ckpt, tmp_path, capsys):
    model = tmp_path / "model.safetensors"
    model.write_bytes(tiny_ckpt.path.read_bytes())
    before = digest(model)
    run = tmp_path / "run.npz"
    assert main(["sample", str(model), "--sampler", "ddim", "--steps", "4", "--n", "1", "--out", str(run)]) == 0
    capsys.readouterr()
    assert main(["fork", str(run), "--step", "1", "--n", "2", "--out", str(model)]) == 2
    assert "is an input" in one_error_line(capsys) and digest(model) == before
    from conftest import make_tiny_checkpoint
    pair = tmp_path / "pair"
    pair.mkdir()
    make_tiny_checkpoint(pair / "a-S1.safetensors", split="S1")
    make_tiny_checkpoint(pair / "a-S2.safetensors", split="S2", seed=1)
    before = digest(pair / "a-S2.safetensors")
    assert main(["sweep", "--folder", str(pair), "--n", "2", "--steps", "2", "--json", str(pair / "a-S2.safetensors")]) == 2
    assert "is an input" in one_error_line(capsys) and digest(pair / "a-S2.safetensors") == before


@pytest.mark.parametrize("env,command", [({"QT_QPA_PLATFORM": "bogus"}, ["gui"]), ({"DISPLAY": ":77"}, ["gui"]),
                                         ({"QT_QPA_PLATFORM": "bogus"}, ["screenshot", "s.png"]),
                                         ({"QT_QPA_PLATFORM": "xcb"}, ["gui"]),
                                         ({"QT_QPA_PLATFORM": "xcb", "DISPLAY": ":77"}, ["screenshot", "s.png"]),
                                         ({"WAYLAND_DISPLAY": "wayland-77"}, ["gui"])],
                         ids=["bad platform", "no X server", "bad platform, screenshot", "xcb without DISPLAY",
                              "xcb without an X server, screenshot", "no Wayland compositor"])  # a screenshot needs no display
def test_a_display_qt_cannot_use_is_named_not_a_crash(tmp_path, env, command):
    import subprocess
    import sys
    clean = {k: v for k, v in os.environ.items() if k not in ("QT_QPA_PLATFORM", "DISPLAY", "WAYLAND_DISPLAY")}
    done = subprocess.run([sys.executable, "-m", "explorer", *command], cwd=tmp_path, env={**clean, **env},
                          capture_output=True, text=True, timeout=120)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1 and lines[0].startswith("explorer: error:"), done.stderr
    assert next(iter(env)) in lines[0]


@pytest.mark.parametrize("env,named", [({"WORLD_SIZE": "2"}, "RANK"), ({"WORLD_SIZE": "2", "RANK": "abc"}, "RANK"),
                                       ({"WORLD_SIZE": "x"}, "WORLD_SIZE"), ({"WORLD_SIZE": "2", "RANK": "0"}, "MASTER_ADDR"),
                                       ({"WORLD_SIZE": "2", "RANK": "0", "MASTER_ADDR": "no.such.host.invalid",
                                         "MASTER_PORT": "29500"}, "MASTER_ADDR")])
def test_torchrun_variables_missing_or_malformed_are_named(tmp_path, monkeypatch, capsys, env, named):
    for k in ("WORLD_SIZE", "RANK", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        monkeypatch.delenv(k, raising=False)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    assert main(TRAIN + ["--out", str(tmp_path / "m.safetensors")]) == 2
    assert named in one_error_line(capsys) and not list(tmp_path.iterdir())


def test_two_trainings_of_one_output_do_not_race(tmp_path, capsys):
    import fcntl
    out = tmp_path / "m.safetensors"
    with open(tmp_path / ".m.safetensors.lock", "w") as held:         # another explorer making it now
        fcntl.flock(held, fcntl.LOCK_EX)
        assert main(TRAIN + ["--out", str(out)]) == 2
        assert "another explorer is making it" in one_error_line(capsys) and not out.exists()
    assert main(TRAIN + ["--out", str(out)]) == 0 and open_model(out).kind == "diffusion"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.safetensors"]              # its lock gone too


from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=260)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=TEXT, description=st.one_of(TEXT, st.text(max_size=12_000).filter(lambda s: len(s) > 9_000)),
       stem=st.text(st.characters(min_codepoint=97, max_codepoint=122), min_size=1, max_size=230))
def test_a_model_file_explorer_writes_is_one_it_opens(tmp_path_factory, name, description, stem):
    """Whatever the name, description and file name: the command writes a file explorer opens, or
    refuses (exit 2) and writes nothing."""
    folder = tmp_path_factory.mktemp("writes")
    fields = folder / "f.npy"
    np.save(fields, np.random.default_rng(0).random((4, 16, 16), dtype=np.float32))
    out = folder / f"{stem}.gauss.safetensors"
    code = main(["train", "gaussian", "--data", str(fields), "--n", "4", "--split", "all", "--size", "16",
                 f"--name={name}", f"--description={description}", "--out", str(out)])
    if code == 0:
        model = open_model(out)
        assert model.name == (name or stem) and model.summary()["description"] == description
    else:
        assert code == 2 and sorted(p.name for p in folder.iterdir()) == ["f.npy"]


def test_a_bundled_folder_whose_index_names_a_looping_link_leaves_the_window_working(qtbot, tmp_path, monkeypatch, capsys):
    (tmp_path / "index.json").write_text(json.dumps({"checkpoints": [{"file": "loop.safetensors", "name": "loop"}]}))
    (tmp_path / "loop.safetensors").symlink_to("loop.safetensors")
    monkeypatch.setenv("EXPLORER_CHECKPOINTS", str(tmp_path))
    assert main(["sweep", "--n", "1", "--steps", "2"]) == 2
    assert "loops" in one_error_line(capsys)
    window = open_window(qtbot, QSettings(str(tmp_path / "s.ini"), QSettings.IniFormat))
    assert "cannot be listed" in window.message.text() and "loops" in window.message.text()
    assert window.bundled.count() == 0
    window.close()


LINKED = {"a link to a file": lambda p: p.symlink_to(p.parent / "target.bin"), "a dangling link": lambda p: p.symlink_to("gone")}


@pytest.mark.parametrize("link", sorted(LINKED))
@pytest.mark.parametrize("where", ["out", "resume", "sample"])
def test_a_link_as_an_output_or_its_resume_file_is_refused_and_left_alone(tiny_ckpt, tmp_path, capsys, monkeypatch,
                                                                          link, where):
    """Replacing a link removes it, writing through it reaches wherever it points: neither; a refusal
    before any work, the link and the file it names as they were."""
    from explorer.core.training import train as training

    (tmp_path / "target.bin").write_bytes(b"the user's file")
    out = tmp_path / ("o.npz" if where == "sample" else "m.safetensors")
    victim = out.with_name(out.name + ".resume") if where == "resume" else out
    LINKED[link](victim)
    before = os.readlink(victim)
    monkeypatch.setattr(training, "fit", lambda *a, **k: pytest.fail("trained before refusing"))
    argv = ["sample", str(tiny_ckpt.path), "--steps", "2", "--n", "1", "--out", str(out)] if where == "sample" else \
        TRAIN + ["--save-every", "1", "--out", str(out)]
    assert main(argv) == 2
    assert "symbolic link" in one_error_line(capsys)
    assert victim.is_symlink() and os.readlink(victim) == before
    assert (tmp_path / "target.bin").read_bytes() == b"the user's file"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["target.bin", victim.name])


def test_exported_frames_go_to_a_new_folder_beside_a_fifo_of_its_name(tmp_path, capsys):
    """Every frame goes into a new folder named from the run: a FIFO (or anything) of that name in
    the chosen folder is passed over and left as it was, never opened."""
    from explorer.core.display import export

    run = tmp_path / "r.npz"
    frames = 4
    np.savez(run, meta=np.array(json.dumps({"checkpoint": "c", "sampler": "ddim", "steps": 3, "seed": 0})),
             t=np.linspace(1, 0, frames), sigma=np.linspace(1, 0, frames),
             x_t=np.zeros((frames, 1, 1, 8, 8), np.float32), x0_hat=np.zeros((frames, 1, 1, 8, 8), np.float32))
    (tmp_path / "frames").mkdir()
    os.mkfifo(tmp_path / "frames" / "c-ddim-seed0")
    assert main(["export", str(run), "--frames", str(tmp_path / "frames")]) == 0
    assert sorted(p.name for p in (tmp_path / "frames").iterdir()) == ["c-ddim-seed0", "c-ddim-seed0-2"]
    assert stat.S_ISFIFO(os.lstat(tmp_path / "frames" / "c-ddim-seed0").st_mode)
    assert sorted(p.name for p in (tmp_path / "frames" / "c-ddim-seed0-2").iterdir()) == \
        [export.frame_name(k) for k in range(frames)]
    assert "4 frames into" in capsys.readouterr().err


def test_stats_checks_the_qt_platform_of_its_plot_before_sampling(tiny_ckpt, tmp_path, capsys, monkeypatch):
    from explorer.core import models

    monkeypatch.setenv("QT_QPA_PLATFORM", "bogus")
    monkeypatch.setattr(models, "final_samples", lambda *a, **k: pytest.fail("sampled before refusing"))
    assert main(["stats", str(tiny_ckpt.path), "--n", "2", "--steps", "2", "--plot", str(tmp_path / "p.png")]) == 2
    assert "QT_QPA_PLATFORM" in one_error_line(capsys) and not list(tmp_path.iterdir())


def test_numpy_warnings_of_a_nan_intermediate_do_not_reach_the_user(tmp_path, capsys):
    """A constant training set: its statistics are NaN, which explorer refuses in one line; numpy's
    RuntimeWarnings on the way would be lines of noise before it."""
    import warnings

    np.save(tmp_path / "c.npy", np.full((1, 8, 8), 0.5, np.float32))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert main(["train", "gaussian", "--data", str(tmp_path / "c.npy"), "--n", "1", "--split", "all", "--size", "8",
                     "--out", str(tmp_path / "g.gauss.safetensors")]) == 2
    assert "constant" in one_error_line(capsys)
    assert not [w for w in caught if issubclass(w.category, RuntimeWarning)], [str(w.message) for w in caught]


def test_a_comparison_says_whether_the_two_training_sets_are_disjoint():
    from explorer.core.analysis.generalization import summary_text

    summary = {"threshold": 0.95, "memorised_fraction": 0.5, "cos_memorised_fraction": 0.25}
    assert "disjoint" in summary_text({**summary, "shared_training_images": 0})
    assert "share 3 near-duplicate images" in summary_text({**summary, "shared_training_images": 3})
    assert "disjoint" not in summary_text(summary)                 # not measured: nothing said
