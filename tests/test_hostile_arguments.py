"""Issue #33: hostile arguments and files give one line on stderr and exit status 2 before any work
(no traceback, no hang, no NaN printed as a result). Each test runs the CLI in-process."""
import io
import json
import os
import zipfile
from pathlib import Path

import numpy as np
import pytest

from explorer.cli import main


def _refused(argv, capsys) -> str:
    """The one error line of `explorer ARGV`, which must exit 2 with nothing else on stderr."""
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert code == 2, (code, err[-500:])
    assert len(lines) == 1 and lines[0].startswith("explorer: error:"), err[-500:]
    assert "Traceback" not in err and "nan" not in out.lower()
    return lines[0]


def _copy_wcrg(src: Path, dst: Path) -> Path:
    dst.mkdir()
    for f in src.iterdir():
        (dst / f.name).write_bytes(f.read_bytes())
    return dst


def _forged_run(run: Path, out: Path, channels: int, size: int) -> Path:
    """`run` (written by the model) with its images replaced by others of another shape: the meta
    still names the model, so only the shape tells them apart."""
    arrays = dict(np.load(run))
    frames, n = arrays["x_t"].shape[:2]
    arrays["x_t"] = np.zeros((frames, n, channels, size, size), np.float32)
    arrays["x0_hat"] = arrays["x_t"].copy()
    arrays.pop("x_init", None)
    np.savez(out, **arrays)
    return out


@pytest.fixture(scope="module")
def tiny_run(tiny_ckpt, tmp_path_factory):
    path = tmp_path_factory.mktemp("run") / "run.npz"
    assert main(["sample", str(tiny_ckpt.path), "--n", "2", "--steps", "4", "--out", str(path)]) == 0
    return path


# 1. basis with a run of another shape ------------------------------------------------------------
@pytest.mark.parametrize("channels, size", [(3, 16), (1, 8)])
def test_basis_refuses_a_run_of_another_image_shape(tiny_ckpt, tiny_run, tmp_path, capsys, channels, size):
    run = _forged_run(tiny_run, tmp_path / "other.npz", channels, size)
    line = _refused(["basis", tiny_ckpt.path, "--run", run, "--out", tmp_path / "b.npz"], capsys)
    assert f"({channels}, {size}, {size})" in line and "(1, 16, 16)" in line
    assert not (tmp_path / "b.npz").exists()


def test_fork_names_the_shapes_of_a_run_of_another_model(tiny_ckpt, tiny_run, tmp_path, capsys):
    run = _forged_run(tiny_run, tmp_path / "other.npz", 3, 16)
    line = _refused(["fork", run, "--model", tiny_ckpt.path, "--step", 1, "--out", tmp_path / "f.npz"], capsys)
    assert "(3, 16, 16)" in line and "makes (1, 16, 16)" in line


# 2. basis ranges and cost before any sampling ----------------------------------------------------
@pytest.mark.parametrize("args, says", [(["--steps", 4, "--step", 50], "0..4"),
                                        (["--steps", 4, "--sample", 5], "0..0"),
                                        (["--steps", 4, "--step", 4], "final denoised"),
                                        (["--sampler", "ascent", "--steps", 5, "--step", 99], "--step")])
def test_basis_checks_step_and_sample_before_sampling(tiny_ckpt, tmp_path, capsys, monkeypatch, args, says):
    from explorer.core.models import diffusion

    monkeypatch.setattr(diffusion.DiffusionModel, "run", lambda *a, **k: pytest.fail("sampled before refusing"))
    assert says in _refused(["basis", tiny_ckpt.path, *args, "--out", tmp_path / "b.npz"], capsys)


def test_basis_checks_the_jacobian_size_before_sampling(tiny_ckpt, tmp_path, capsys, monkeypatch):
    from explorer.core.analysis import basis
    from explorer.core.models import diffusion

    monkeypatch.setattr(basis, "MAX_DIM", 100)                  # the tiny model's D = 256
    monkeypatch.setattr(diffusion.DiffusionModel, "run", lambda *a, **k: pytest.fail("sampled before refusing"))
    line = _refused(["basis", tiny_ckpt.path, "--steps", 4, "--out", tmp_path / "b.npz"], capsys)
    assert "256" in line and "100" in line


# 3. turbulence --------------------------------------------------------------------------------------
@pytest.mark.parametrize("args, says", [
    (["--duration", 1, "--every", 3], "at least 2 points"),
    (["--duration", 1, "--every", 1], "at least 2 points"),
    (["--duration", 1, "--every", 0.001], "dt = 0.015"),
    (["--size", 64, "--duration", 1, "--data-params", '{"k_f": 60}'], "at most 20"),
    (["--size", 64, "--duration", 1, "--data-params", '{"k_f": 40}'], "at most 20"),
    (["--size", 16, "--duration", 1, "--data-params", '{"k_f": 4.5}'], "at most 4"),
])
def test_turbulence_refuses_what_it_cannot_measure(tmp_path, capsys, monkeypatch, args, says):
    from explorer.core.data import turbulence

    monkeypatch.setattr(turbulence.Solver, "step", lambda self: pytest.fail("stepped before refusing"))
    assert says in _refused(["turbulence", "--runs", 1, *args], capsys)


def test_turbulence_data_with_forcing_off_the_grid_is_refused(tmp_path, capsys):
    line = _refused(["train", "diffusion", "--data", "turbulence", "--data-params", '{"k_f": 30}', "--size", 32,
                     "--n", 4, "--out", tmp_path / "t.safetensors"], capsys)
    assert "k_f" in line and "at most 9" in line


# 4. phi4 --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("args, says", [
    (["equilibrium", "--sweeps", 1], "at least 580"),
    (["equilibrium", "--sweeps", 100], "at least 580"),
    (["equilibrium", "--lam", 0, "--beta", 10], "unbounded"),
    (["equilibrium", "--lam", 0, "--beta", 0.5], "unbounded"),
    (["critical", "--sizes", "8,12", "--lam", 0, "--betas", "1,2", "--chains", 16], "unbounded"),
    (["critical", "--sizes", "8", "--chains", 16], "two or more distinct sizes"),
    (["critical", "--sizes", "8,8", "--chains", 16], "two or more distinct sizes"),
    (["critical", "--betas", "0.6", "--chains", 16], "distinct values of beta"),
    (["critical", "--sizes", "8,12", "--chains", 1], "at least 8"),
    (["critical", "--sizes", "8,12", "--chains", 16, "--measure", 4], "at least 5"),
])
def test_phi4_refuses_parameters_that_measure_nothing(capsys, monkeypatch, args, says):
    from explorer.core.data import phi4

    monkeypatch.setattr(phi4.Chains, "sweep", lambda self: pytest.fail("swept before refusing"))
    assert says in _refused(["phi4", *args, "--L", 8], capsys)


def test_phi4_says_when_tau_is_undefined_instead_of_nan(capsys, monkeypatch):
    from explorer.core.data import phi4

    # the burn-in eats the whole window: no blocks left to measure tau_int on
    real = phi4.equilibrium
    monkeypatch.setattr(phi4, "equilibrium", lambda *a, **k: {**real(*a, **k), "tau_int_abs_m": float("nan")})
    assert main(["phi4", "equilibrium", "--L", "4", "--chains", "2", "--sweeps", "580"]) == 0
    out, err = capsys.readouterr()
    assert "nan" not in out.lower() and "tau_int(|m|) undefined" in out


def test_phi4_data_of_an_unbounded_theory_is_refused(tmp_path, capsys):
    line = _refused(["train", "diffusion", "--data", "phi4", "--data-params", '{"lam": 0, "beta": 1, "L": 8}',
                     "--n", 4, "--out", tmp_path / "p.safetensors"], capsys)
    assert "unbounded" in line


# 5. field --bundled with a hostile bundled folder -----------------------------------------------------
def _bundled(folder: Path, entries: list[str]) -> None:
    index = {"checkpoints": [{"file": f, "data": "shapes", "kind": "diffusion"} for f in entries]}
    (folder / "index.json").write_text(json.dumps(index))


def test_field_leaves_out_damaged_bundled_models_with_a_line_each(tiny_ckpt, tiny_wcrg, tmp_path, capsys,
                                                                  monkeypatch):
    """Damaged bundled models are left out, each with one line, and the command goes on: the
    models the user named are compared with the bundled ones that can be opened."""
    b = tmp_path / "bundled"
    b.mkdir()
    os.mkfifo(b / "fifo.safetensors")
    (b / "junk.safetensors").write_text("not a model\x1b[31m")
    (b / "dangling.safetensors").symlink_to("nowhere")
    (b / "folder.safetensors").mkdir()
    loop = _copy_wcrg(tiny_wcrg.path, b / "loop.wcrg")
    (loop / "lowpass.safetensors").unlink()
    (loop / "lowpass.safetensors").symlink_to("lowpass.safetensors")
    names = ["missing.safetensors", "fifo.safetensors", "junk.safetensors", "dangling.safetensors",
             "folder.safetensors", "loop.wcrg"]
    _bundled(b, names)
    monkeypatch.setenv("EXPLORER_CHECKPOINTS", str(b))
    code = main(["field", str(tiny_ckpt.path), "--bundled", "--n", "2", "--reference-n", "2"])
    out, err = capsys.readouterr()
    assert code == 0 and "Traceback" not in err and "\x1b" not in err
    left_out = [line for line in err.splitlines() if line.startswith("explorer: left out")]
    assert len(left_out) == len(names) and all(any(n in line for line in left_out) for n in names)
    assert "symbolic link that loops" in next(line for line in left_out if "loop.wcrg" in line)
    assert tiny_ckpt.path.stem in out


def test_field_refuses_a_bundled_index_whose_entry_loops(tiny_ckpt, tmp_path, capsys, monkeypatch):
    """An index entry that cannot be resolved at all is the bundled folder's own damage (as an
    entry outside the folder): one line, exit 2."""
    (tmp_path / "loop.safetensors").symlink_to("loop.safetensors")
    _bundled(tmp_path, ["loop.safetensors"])
    monkeypatch.setenv("EXPLORER_CHECKPOINTS", str(tmp_path))
    assert "loops" in _refused(["field", tiny_ckpt.path, "--bundled", "--n", 2, "--reference-n", 2],
                                            capsys)


# 6. a WCRG folder whose files cannot be resolved -------------------------------------------------------
@pytest.mark.parametrize("member", ["lowpass.safetensors", "conditional_j1.safetensors"])
@pytest.mark.parametrize("hostile", ["self loop", "two-link loop", "dangling", "outside", "fifo", "folder"])
def test_info_on_a_wcrg_with_an_unresolvable_file(tiny_wcrg, tmp_path, capsys, hostile, member):
    folder = _copy_wcrg(tiny_wcrg.path, tmp_path / "m.wcrg")
    target = folder / member
    target.unlink()
    if hostile == "self loop":
        target.symlink_to(member)
    elif hostile == "two-link loop":
        target.symlink_to("other")
        (folder / "other").symlink_to(member)
    elif hostile == "dangling":
        target.symlink_to("nowhere")
    elif hostile == "outside":
        target.symlink_to(tiny_wcrg.path / member)
    elif hostile == "fifo":
        os.mkfifo(target)
    else:
        target.mkdir()
    line = _refused(["info", folder], capsys)
    assert member in line


def test_info_on_a_wcrg_whose_index_loops(tiny_wcrg, tmp_path, capsys):
    folder = _copy_wcrg(tiny_wcrg.path, tmp_path / "m.wcrg")
    (folder / "index.json").unlink()
    (folder / "index.json").symlink_to("index.json")
    assert "index.json" in _refused(["info", folder], capsys)


def test_a_wcrg_file_that_loops_is_a_checkpoint_error(tiny_wcrg, tmp_path):
    from explorer.core.errors import CheckpointError
    from explorer.core.models import wcrg

    folder = _copy_wcrg(tiny_wcrg.path, tmp_path / "m.wcrg")
    (folder / "lowpass.safetensors").unlink()
    (folder / "lowpass.safetensors").symlink_to("lowpass.safetensors")
    with pytest.raises(CheckpointError, match="loops"):
        wcrg.load(folder)


# 7. training data whose header declares too many images ------------------------------------------------
def _header(shape, version: int = 2, descr: str = "<f4") -> bytes:
    buf = io.BytesIO()
    write = np.lib.format.write_array_header_2_0 if version == 2 else np.lib.format.write_array_header_1_0
    write(buf, {"descr": descr, "fortran_order": False, "shape": shape})
    return buf.getvalue()


def _npz(path: Path, member: bytes, name: str = "x.npy") -> Path:
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(name, member)
    return path


@pytest.mark.parametrize("make", ["npz 8 GiB", "npy 8 GiB", "npy 2M uint8 images", "npz 2M images deflated"])
def test_training_data_of_too_many_images_is_refused_from_its_header(tmp_path, capsys, monkeypatch, make):
    path = tmp_path / ("bomb.npz" if make.startswith("npz") else "bomb.npy")
    if make == "npz 8 GiB":
        _npz(path, _header((33554432, 1, 8, 8)) + b"\0" * 64)
    elif make == "npy 8 GiB":
        path.write_bytes(_header((33554432, 1, 8, 8), 1) + b"\0" * 64)
    elif make == "npy 2M uint8 images":                     # a sparse file: 32 MB declared, nothing on disk
        head = _header((2_000_000, 4, 4), 1, "|u1")
        path.write_bytes(head)
        os.truncate(path, len(head) + 2_000_000 * 16)
    else:                                                   # 128 MB of zeros deflated to about 125 kB
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z, z.open("x.npy", "w", force_zip64=True) as m:
            m.write(_header((2_000_000, 1, 4, 4), 1))
            left = 2_000_000 * 16 * 4
            while left:
                m.write(bytes(min(left, 2 ** 22)))
                left -= min(left, 2 ** 22)
    monkeypatch.setattr(np, "load", lambda *a, **k: pytest.fail("an array was read before the header's check"))
    line = _refused(["train", "diffusion", "--data", path, "--n", 10, "--size", 4 if "2M" in make else 8,
                     "--steps", 1, "--out", tmp_path / "o.safetensors"], capsys)
    assert "1,000,000" in line and "images" in line
    assert not (tmp_path / "o.safetensors").exists()


def test_a_folder_of_too_many_images_is_refused_before_reading(tmp_path, monkeypatch):
    from explorer.core.data import user
    from explorer.core.errors import DataError
    from explorer.core.files import schema

    for i in range(4):
        (tmp_path / f"{i}.png").write_bytes(b"")
    monkeypatch.setattr(schema, "MAX_TRAIN_IMAGES", 3)
    monkeypatch.setattr(user, "_load_image", lambda *a: pytest.fail("read an image before counting them"))
    with pytest.raises(DataError, match="at most 3"):
        user.load_folder(tmp_path, 8, 1)


def test_arrays_of_ordinary_files_still_load(tmp_path):
    from explorer.core.data import user
    from explorer.core.files.io import load_arrays

    x = np.random.default_rng(0).random((5, 3, 8, 8)).astype(np.float32)
    np.savez_compressed(tmp_path / "a.npz", x=x, labels=np.arange(5))
    np.save(tmp_path / "a.npy", x[:, 0])
    assert np.array_equal(user.load(tmp_path / "a.npz", 8, 3), x)
    assert np.array_equal(user.load(tmp_path / "a.npy", 8, 1), x[:, :1])
    assert user.channels(tmp_path / "a.npz") == 3 and user.channels(tmp_path / "a.npy") == 1
    headers = load_arrays(tmp_path / "a.npz", "array", 2 ** 20, headers_only=True)
    assert headers["x"][0] == (5, 3, 8, 8) and headers["labels"][0] == (5,)
