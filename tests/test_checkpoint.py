import json
import pickle
import struct

import pytest
import torch

from explorer.core.errors import (
    CheckpointError,
    ConfigError,
    MissingKeys,
    NotASafetensorsFile,
    ShapeMismatch,
    TruncatedCheckpoint,
    UnknownKind,
)
from explorer.core.models import bundle, checkpoint
from explorer.core.nets.unet import Denoiser, UNetConfig


def test_round_trip_keeps_weights_and_config(tiny_ckpt, tmp_path):
    ckpt = checkpoint.load(tiny_ckpt.path)
    assert ckpt.kind == "diffusion" and ckpt.image_shape == (1, 16, 16)
    for k, v in tiny_ckpt.denoiser.state_dict().items():
        assert torch.equal(v, ckpt.denoiser.state_dict()[k])
    cfg = ckpt.config
    assert cfg["data"]["n"] == 8 and cfg["data"]["split"] == "S1" and cfg["training"]["steps"] == 3
    assert cfg["version"] and len(ckpt.sha256) == 64


def _with_config(tmp_path, config, model=None, name="x.safetensors"):
    model = model or Denoiser(UNetConfig.from_dict(config["arch"]))
    path = tmp_path / name
    path.write_bytes(checkpoint.to_bytes(model, config))
    return path


def _config(**over):
    cfg = checkpoint.make_config("diffusion", UNetConfig(size=16, widths=[8, 16]), "t")
    cfg.update(over)
    return cfg


def test_truncated_file_at_many_offsets(tiny_ckpt, tmp_path):
    blob = tiny_ckpt.path.read_bytes()
    for cut in [0, 3, 8, 20, len(blob) // 3, len(blob) - 1]:
        p = tmp_path / f"cut{cut}.safetensors"
        p.write_bytes(blob[:cut])
        with pytest.raises((TruncatedCheckpoint, NotASafetensorsFile)) as e:
            checkpoint.load(p)
        assert str(p) in str(e.value)


def test_specific_errors(tmp_path):
    p = tmp_path / "pickle.safetensors"
    p.write_bytes(pickle.dumps({"a": 1}))
    with pytest.raises(NotASafetensorsFile, match="pickle"):
        checkpoint.load(p)
    p = tmp_path / "text.safetensors"
    p.write_bytes(struct.pack("<Q", 5) + b"hello")
    with pytest.raises(NotASafetensorsFile):
        checkpoint.load(p)
    with pytest.raises(CheckpointError, match="no such file"):
        checkpoint.load(tmp_path / "missing.safetensors")
    with pytest.raises(CheckpointError, match="directory"):
        checkpoint.load(tmp_path)
    with pytest.raises(UnknownKind):
        checkpoint.load(_with_config(tmp_path, _config(kind="gan")))
    with pytest.raises(ConfigError):
        checkpoint.load(_with_config(tmp_path, _config(format="other")))
    bad_arch = _config()
    bad_arch["arch"] = {**bad_arch["arch"], "size": 15}
    with pytest.raises(ConfigError, match="divisible"):
        checkpoint.load(_with_config(tmp_path, bad_arch, model=Denoiser(UNetConfig(size=16, widths=[8, 16]))))


def test_shapes_that_do_not_match_the_config(tmp_path):
    cfg = _config()
    model = Denoiser(UNetConfig(size=16, widths=[8, 24]))          # weights of another width
    with pytest.raises(ShapeMismatch):
        checkpoint.load(_with_config(tmp_path, cfg, model=model))
    model = Denoiser(UNetConfig(size=16, widths=[8, 16, 32]))      # an extra level: extra keys
    with pytest.raises(MissingKeys):
        checkpoint.load(_with_config(tmp_path, cfg, model=model))


def test_safetensors_without_explorer_config(tmp_path):
    from safetensors.torch import save_file
    p = tmp_path / "plain.safetensors"
    save_file({"w": torch.zeros(2)}, str(p))
    with pytest.raises(ConfigError, match="not an explorer checkpoint"):
        checkpoint.load(p)


def test_expect_kind(tiny_ckpt):
    with pytest.raises(UnknownKind, match="wcrg-lowpass"):
        checkpoint.load(tiny_ckpt.path, expect_kind="wcrg-lowpass")


def test_bundled_index_points_at_loadable_checkpoints():
    entries = bundle.bundled_index()
    assert entries, "checkpoints/index.json lists the bundled checkpoints"
    assert sum(e["default"] for e in entries) == 1
    ckpt = checkpoint.load(bundle.default_checkpoint())
    assert ckpt.kind == "diffusion"
    names = {e["name"] for e in entries}
    for e in entries:
        assert (bundle.bundled_dir() / e["file"]).exists()
    assert json.loads((bundle.bundled_dir() / "index.json").read_text())["checkpoints"]
    assert ckpt.name in names


def test_the_tensors_are_read_as_safetensors_reads_them_and_checked(tmp_path):
    """`read_tensors` (a copy per tensor, so that the window's thread runs between them) gives what
    safetensors' own load gives, for every dtype explorer reads; an entry whose bytes do not fit
    its shape is refused with what is wrong."""
    from safetensors.torch import load, save

    g = torch.Generator().manual_seed(0)
    tensors = {name: (torch.randn(3, 4, 5, generator=g) * 50).to(dtype) for name, dtype in checkpoint.DTYPES.items()}
    tensors["empty"], tensors["scalar"] = torch.zeros(0, 3), torch.tensor(2.5, dtype=torch.float64)
    blob = save(tensors, metadata={"a": "b"})
    ours, theirs = checkpoint.read_tensors(tmp_path / "t.safetensors", blob), load(blob)
    assert ours.keys() == theirs.keys()
    for k in theirs:
        assert ours[k].dtype == theirs[k].dtype and ours[k].shape == theirs[k].shape and torch.equal(ours[k], theirs[k]), k
    n = struct.unpack("<Q", blob[:8])[0]
    header = json.loads(blob[8:8 + n])
    header["F32"]["shape"] = [3, 4, 6]                                   # 72 values for 60 values' bytes
    text = json.dumps(header).encode()
    bad = struct.pack("<Q", len(text)) + text + blob[8 + n:]
    with pytest.raises(CheckpointError, match=r"'F32' of shape \[3, 4, 6\] needs 288 bytes, its entry gives 240"):
        checkpoint.read_tensors(tmp_path / "t.safetensors", bad)


def test_a_regular_install_ships_every_bundled_file():
    """pyproject's data-files put each file of checkpoints/ (git's, every folder) where
    bundle.bundled_dir() finds it after `pip install .`: share/explorer/checkpoints/<its folder>."""
    import glob
    import subprocess
    import tomllib
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    data = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]["data-files"]
    shipped = {Path(f): Path(dest) for dest, patterns in data.items() for p in patterns
               for f in glob.glob(p, root_dir=root) if (root / f).is_file()}
    tracked = subprocess.run(["git", "ls-files", "checkpoints"], cwd=root, capture_output=True, text=True).stdout.split()
    if not tracked:
        pytest.skip("not a git checkout")
    for f in map(Path, tracked):
        assert f in shipped, f"{f} is not shipped: add its folder to [tool.setuptools.data-files]"
        assert shipped[f] == Path("share/explorer") / f.parent, f
