"""Bad checkpoints, tried systematically: core, CLI and window must each answer with a message."""
import json
import pickle
import random
import struct

import pytest
from windows import open_window, opened

from explorer.cli import main
from explorer.core.errors import CheckpointError
from explorer.core.models import checkpoint
from explorer.core.nets.unet import Denoiser, UNetConfig


def corpus(good, tmp_path) -> list[tuple[str, object]]:
    """(name, path) of bad checkpoints made from a good one."""
    blob = good.read_bytes()
    (n,) = struct.unpack("<Q", blob[:8])
    rng = random.Random(0)
    cases = []

    def add(name, data):
        p = tmp_path / f"{len(cases):03d}-{name}.safetensors"
        p.write_bytes(data)
        cases.append((name, p))

    for cut in sorted({0, 1, 7, 8, 9, 40, n // 2, n + 7, n + 8, n + 9, n + 100, len(blob) // 2, len(blob) - 4, len(blob) - 1}):
        add(f"truncated-at-{cut}", blob[:cut])
    for size in (5, 100, 5000):
        add(f"random-{size}", bytes(rng.randrange(256) for _ in range(size)))
    for _ in range(12):                                   # flipped bytes in the header
        i = rng.randrange(8, 8 + n)
        add(f"header-flip-{i}", blob[:i] + bytes([blob[i] ^ 0xFF]) + blob[i + 1:])
    for i in (0, 3, 7):                                   # the length field itself
        add(f"length-flip-{i}", blob[:i] + bytes([blob[i] ^ 0x40]) + blob[i + 1:])
    for k in range(6):                                    # NaN patterns written into the tensors
        i = 8 + n + 4 * rng.randrange((len(blob) - 8 - n) // 4)
        add(f"tensor-nan-{k}", blob[:i] + b"\x00\x00\xc0\x7f" + blob[i + 4:])
    cfg = checkpoint.read_config(good)
    m = Denoiser(UNetConfig.from_dict(cfg["arch"]))
    add("wrong-kind", checkpoint.to_bytes(m, {**cfg, "kind": "gan"}))
    add("not-explorer-format", checkpoint.to_bytes(m, {**cfg, "format": "x"}))
    add("arch-size-off-by-one", checkpoint.to_bytes(m, {**cfg, "arch": {**cfg["arch"], "size": cfg["arch"]["size"] + 1}}))
    add("arch-width-off-by-one", checkpoint.to_bytes(m, {**cfg, "arch": {**cfg["arch"], "widths": [9, 16]}}))
    add("arch-unknown-field", checkpoint.to_bytes(m, {**cfg, "arch": {**cfg["arch"], "depth": 3}}))
    add("no-arch", checkpoint.to_bytes(m, {k: v for k, v in cfg.items() if k != "arch"}))
    add("pickle", pickle.dumps({"state_dict": {"w": [1.0, 2.0]}}))
    add("empty", b"")
    add("json-only", json.dumps({"a": 1}).encode())
    d = tmp_path / "a-directory.safetensors"
    d.mkdir()
    cases.append(("directory", d))
    cases.append(("missing", tmp_path / "missing.safetensors"))
    return cases


@pytest.fixture(scope="module")
def bad_cases(tiny_ckpt, tmp_path_factory):
    return corpus(tiny_ckpt.path, tmp_path_factory.mktemp("bad"))


def test_core_raises_a_specific_error_for_every_bad_checkpoint(bad_cases):
    failures, loaded = 0, []
    for name, path in bad_cases:
        try:
            checkpoint.load(path)
            loaded.append(name)
        except CheckpointError as e:
            assert str(path.name) in str(e) or name in ("missing", "directory") or str(path) in str(e)
            failures += 1
    print(f"{len(bad_cases)} bad checkpoints: {failures} refused with a CheckpointError, "
          f"{len(loaded)} still valid ({loaded})")
    # a flipped header byte can land where JSON stays valid; everything else must be refused
    assert all(n.startswith("header-flip") for n in loaded)
    assert failures >= len(bad_cases) - 12


def test_cli_answers_one_line_for_every_bad_checkpoint(bad_cases, capsys):
    for name, path in bad_cases:
        code = main(["info", str(path)])
        err = capsys.readouterr().err.strip().splitlines()
        if code == 0:
            assert name.startswith("header-flip")
            continue
        assert code == 2 and len(err) == 1 and err[0].startswith("explorer: error:"), (name, err)


def test_window_shows_a_message_for_every_bad_checkpoint(qtbot, bad_cases, tiny_ckpt, tmp_path):
    from PySide6.QtCore import QSettings

    win = open_window(qtbot, QSettings(str(tmp_path / "s.ini"), QSettings.IniFormat), checkpoint_path=tiny_ckpt.path)
    win.show()
    refused = 0
    for name, path in bad_cases:
        ok = opened(qtbot, win, path)
        if not ok:
            refused += 1
            assert win.message.isVisible() and win.message.text().startswith("Could not open")
            assert win.model is not None and win.model.sha256 == tiny_ckpt.sha256   # the old model stays
        opened(qtbot, win, tiny_ckpt.path)
    assert refused >= len(bad_cases) - 12
