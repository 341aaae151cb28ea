"""Hostile input (#15): a corpus of bad files and arguments, generated at test time, tried on the
CLI. Each input must give one line on stderr starting "explorer: error:", exit status 2, within
a few seconds (no hang), with nothing written and nothing that existed changed. Each family's
count is printed (pytest -s shows it)."""
from __future__ import annotations

import io
import json
import os
import signal
import stat
import struct
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest
from windows import open_window, opened

from explorer.cli import main
from explorer.core.display import render
from explorer.core.files import schema
from explorer.core.models import checkpoint

TIMEOUT_S = 30


def _bytes_with_config(good: Path, change) -> bytes:
    """The good checkpoint's weights with its config changed by change(config) (no validation)."""
    cfg = checkpoint.read_config(good)
    state = checkpoint.load(good).denoiser
    new = json.loads(json.dumps(cfg))
    change(new)
    return checkpoint.to_bytes(state, new)


def _raw_safetensors(header: object, payload: bytes = b"") -> bytes:
    h = json.dumps(header).encode() if not isinstance(header, bytes) else header
    return struct.pack("<Q", len(h)) + h + payload


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def _set(path: str, value):
    """change(config) setting config[a][b]... = value (path "a.b"); value None deletes."""
    keys = path.split(".")

    def change(cfg):
        d = cfg
        for k in keys[:-1]:
            d = d[k]
        if value is None:
            del d[keys[-1]]
        else:
            d[keys[-1]] = value
    return change


CONFIG_CHANGES = {
    "arch-without-blocks": _set("arch.blocks", None), "arch-without-size": _set("arch.size", None),
    "data-a-string": _set("data", "abc"), "training-a-number": _set("training", 5),
    "blocks-1.5": _set("arch.blocks", 1.5), "channels-1.0": _set("arch.channels", 1.0),
    "emb_dim--2": _set("arch.emb_dim", -2), "emb_dim-1": _set("arch.emb_dim", 1), "emb_dim-63": _set("arch.emb_dim", 63),
    "cond_channels-on-diffusion": _set("arch.cond_channels", 1), "sigma_data-string": _set("arch.sigma_data", "0.28"),
    "size-32.0": _set("arch.size", 32.0), "size-2**62": _set("arch.size", 2 ** 62), "size-100000": _set("arch.size", 100000),
    "widths-100000": _set("arch.widths", [100000]), "emb_dim-10**6": _set("arch.emb_dim", 10 ** 6),
    "cond_channels-10**9": _set("arch.cond_channels", 10 ** 9), "blocks-10**9": _set("arch.blocks", 10 ** 9),
    "widths-empty": _set("arch.widths", []), "widths-strings": _set("arch.widths", ["8", "16"]),
    "padding-unknown": _set("arch.padding", "reflect"), "bias_free-string": _set("arch.bias_free", "no"),
    "data-params-string-size": _set("data.params", {"size": "x"}), "data-params-negative-blur": _set("data.params", {"blur": -1}),
    "data-params-unknown": _set("data.params", {"bogus": 1}), "data-params-a-list": _set("data.params", [1, 2]),
    "data-n-10**12": _set("data.n", 10 ** 12), "data-n-zero": _set("data.n", 0), "data-split-S3": _set("data.split", "S3"),
    "data-seed-negative": _set("data.seed", -1), "data-name-unknown": _set("data.name", "mnist"),
    "data-phi4-beta-string": _set("data", {"name": "phi4", "n": 4, "params": {"beta": "hot"}}),
    "data-phi4-L-huge": _set("data", {"name": "phi4", "n": 4, "params": {"L": 10 ** 6}}),
    "data-stats-mismatched": _set("data.stats", {"k": [1, 2], "power": [1.0]}),
    "monitor-a-string": _set("training.monitor", "x"), "monitor-bad-rows": _set("training.monitor", [{"step": "a"}]),
    "name-a-number": _set("name", 5), "description-a-list": _set("description", []),
    "kind-unknown": _set("kind", "gan"), "format-missing": _set("format", None),
    "sigma_data-10**400": _set("arch.sigma_data", 10 ** 400), "data-mean-10**400": _set("data.mean", 10 ** 400),
    "blur-10**400": _set("data.params", {"blur": 10 ** 400}),
    "stats-power-10**400": _set("data.stats", {"k": [1], "power": [10 ** 400]}),
    "monitor-different-levels": _set("training.monitor", [{"step": 1, "mse": {"a": 1}}, {"step": 2, "mse": {"b": 1}}]),
    "monitor-10**400": _set("training.monitor", [{"step": 1, "mse": {"a": 10 ** 400}}]),
    "init-a-string": _set("training.init", "x"),
    "init-monitor-a-string": _set("training.init", {"monitor": "x"}),
    "init-command-a-number": _set("training.init", {"init": {"command": 5}}),
    "data-size-6-for-a-16-network": _set("data.params", {"size": 6}),
    "data-size-32-for-a-16-network": _set("data.params", {"size": 32}),
    "config-2-MiB": _set("description", "x" * 2 ** 21),
}


@pytest.fixture(scope="module")
def corpus(tiny_ckpt, tiny_wcrg, tmp_path_factory):
    """{family: [(name, argv)]} over files made in one folder (also where outputs would go)."""
    root = tmp_path_factory.mktemp("hostile")
    good, wgood = tiny_ckpt.path, tiny_wcrg.path
    fam: dict[str, list[tuple[str, list[str]]]] = {}

    def add(family, name, *argv):
        fam.setdefault(family, []).append((name, [str(a) for a in argv]))

    def ckpt_file(name, blob):
        p = root / f"{name}.safetensors"
        p.write_bytes(blob)
        return p

    def on_checkpoint(family, name, path):
        add(family, f"{name} (info)", "info", path)
        add(family, f"{name} (sample)", "sample", path, "--steps", 2, "--n", 1, "--out", root / "out.npz")
        add(family, f"{name} (data)", "data", path, "--out", root / "out.npy")
        add(family, f"{name} (evaluate)", "evaluate", path, "--n", 2)

    # valid JSON of the wrong shape, in the config and in the safetensors header
    for name, change in CONFIG_CHANGES.items():
        on_checkpoint("config", name, ckpt_file(name, _bytes_with_config(good, change)))
    blob = good.read_bytes()
    (n,) = struct.unpack("<Q", blob[:8])
    header, payload = json.loads(blob[8:8 + n]), blob[8 + n:]
    for name, meta in (("metadata-string", "abc"), ("metadata-list", [1, 2]), ("metadata-number-values", {"explorer": 5})):
        on_checkpoint("config", name, ckpt_file(name, _raw_safetensors({**header, "__metadata__": meta}, payload)))
    key = next(k for k in header if k != "__metadata__")
    on_checkpoint("config", "offsets-1e400", ckpt_file("offsets-1e400", _raw_safetensors(
        json.dumps({**header, key: {**header[key], "data_offsets": [0, 0]}}).replace("[0, 0]", "[0, 1e400]").encode(),
        payload)))
    on_checkpoint("config", "offsets-negative", ckpt_file("offsets-negative", _raw_safetensors(
        {**header, key: {**header[key], "data_offsets": [-8, 4]}}, payload)))
    deep = _raw_safetensors({**header, "__metadata__": {"explorer": _nested(100_000)}}, payload)
    on_checkpoint("config", "config-nested-100000", ckpt_file("config-nested", deep))
    on_checkpoint("config", "header-nested-100000", ckpt_file("header-nested", _raw_safetensors(
        ('{"a": ' + _nested(100_000) + "}").encode(), payload)))

    nodata = ckpt_file("no-data", _bytes_with_config(good, _set("data", None)))
    for cmd in (["data", nodata, "--out", root / "out.npy"], ["evaluate", nodata, "--n", 2],
                ["stats", nodata, "--n", 2, "--steps", 2, "--reference", "train"]):
        add("config", f"no data record ({cmd[0]})", *cmd)

    # resource bombs
    for dev in ("/dev/zero", "/dev/urandom"):
        link = root / f"link-{Path(dev).name}.safetensors"
        link.symlink_to(dev)
        on_checkpoint("bombs", f"symlink to {dev}", link)
    sparse = root / "sparse-10GB.safetensors"
    with open(sparse, "wb") as f:
        f.truncate(10 * 2 ** 30)
    on_checkpoint("bombs", "sparse 10 GB file", sparse)
    for name, target in (("index-dev-zero", "index"), ("lowpass-dev-zero", "lowpass")):
        folder = _copy_wcrg(wgood, root / f"{name}.wcrg")
        victim = folder / ("index.json" if target == "index" else "lowpass.safetensors")
        victim.unlink()
        victim.symlink_to("/dev/zero")
        add("bombs", name, "info", folder)
        add("bombs", f"{name} (sample)", "sample", folder, "--steps", 1, "--n", 1, "--out", root / "out.npz")
    huge_npy = root / "huge-header.npy"
    huge_npy.write_bytes(_npy_header((100_000, 100_000, 1, 32, 32)))
    add("bombs", "npy header declaring 10^10 images (training data)", "train", "diffusion", "--data", huge_npy,
        "--n", 4, "--size", 32, "--steps", 1, "--out", root / "t.safetensors")
    run_huge = root / "huge-header-run.npz"
    with zipfile.ZipFile(run_huge, "w") as z:
        z.writestr("x_t.npy", _npy_header((10 ** 6, 10 ** 6, 1, 32, 32)))
    add("bombs", "run whose x_t header declares 10^12 frames", "export", run_huge, "--png", root / "o.png")
    add("bombs", "sample --n 100000 (kept frames over the budget)", "sample", good, "--n", 100000,
        "--out", root / "out.npz")
    add("bombs", "sample --n 10**9", "sample", good, "--n", 10 ** 9, "--out", root / "out.npz")
    add("bombs", "train --widths 100000", "train", "diffusion", "--data", "shapes", "--n", 4, "--size", 16,
        "--widths", 100000, "--steps", 1, "--out", root / "t.safetensors")
    add("bombs", "--data-params nested 20000 deep", "train", "diffusion", "--data", "shapes", "--n", 4, "--data-params",
        _nested(20_000), "--out", root / "t.safetensors")
    add("bombs", "--data-params with a 5000-digit number", "train", "diffusion", "--data", "phi4", "--n", 4,
        "--data-params", '{"beta": ' + "1" * 5000 + "}", "--out", root / "t.safetensors")
    add("bombs", "train wcrg with 2.7 G parameters", "train", "wcrg", "--data", "shapes", "--n", 2, "--size", 16,
        "--J", 1, "--widths", "2048,2048", "--cond-widths", "2048,2048", "--blocks", 16, "--steps", 1, "--out", root / "big.wcrg")
    add("bombs", "phi4 critical --sizes 10000000,4", "phi4", "critical", "--sizes", "10000000,4", "--chains", 1)
    add("bombs", "phi4 critical --sizes -4,4", "phi4", "critical", "--sizes=-4,4", "--chains", 1)
    add("bombs", "phi4 critical --betas nan,inf", "phi4", "critical", "--betas", "nan,inf", "--chains", 1)
    add("bombs", "phi4 equilibrium --L 256 --chains 100000", "phi4", "equilibrium", "--L", 256, "--chains", 100000)
    add("bombs", "run meta 2 MiB", "export", _run_file(root / "meta2.npz", meta={"checkpoint": "x" * 2 ** 21}),
        "--png", root / "o.png")
    add("bombs", "run meta levels 1e308", "export", _run_file(root / "levels.npz", meta={"levels": 1e308}),
        "--strip", root / "o.png")

    # hangs: FIFOs wherever a file is read, and huge loops
    fifo = root / "fifo.safetensors"
    os.mkfifo(fifo)
    on_checkpoint("hangs", "FIFO as checkpoint", fifo)
    for name, target in (("index-fifo", "index.json"), ("lowpass-fifo", "lowpass.safetensors")):
        folder = _copy_wcrg(wgood, root / f"{name}.wcrg")
        (folder / target).unlink()
        os.mkfifo(folder / target)
        add("hangs", name, "info", folder)
    images = root / "fifo-images"
    images.mkdir()
    os.mkfifo(images / "a.png")
    add("hangs", "FIFO as the only image of a training folder", "train", "diffusion", "--data", images, "--n", 1,
        "--size", 16, "--steps", 1, "--out", root / "t.safetensors")
    os.mkfifo(root / "fifo-data.npy")
    user_fifo = ckpt_file("user-data-fifo", _bytes_with_config(good, _set("data", {
        "name": "user", "n": 2, "split": "all", "path": str(root / "fifo-data.npy"), "params": {"size": 16}})))
    add("hangs", "data.path a FIFO (data)", "data", user_fifo, "--out", root / "out.npy")
    add("hangs", "data.path a FIFO (evaluate)", "evaluate", user_fifo, "--n", 2)
    add("hangs", "FIFO as a run", "export", fifo, "--png", root / "o.png")
    add("hangs", "sample --steps 10**9", "sample", good, "--steps", 10 ** 9, "--out", root / "out.npz")
    add("hangs", "phi4 --sweeps 10**12", "phi4", "equilibrium", "--sweeps", 10 ** 12)

    # paths in a WCRG index that leave its folder
    outside = root / "outside.safetensors"
    outside.write_bytes(good.read_bytes())
    for name, where, value in (("lowpass ../", "lowpass", "../outside.safetensors"),
                               ("lowpass /etc/passwd", "lowpass", "/etc/passwd"),
                               ("conditional ../../", "conditional", "../../outside.safetensors"),
                               ("lowpass empty", "lowpass", ""), ("lowpass a number", "lowpass", 5)):
        folder = _copy_wcrg(wgood, root / f"path-{len(fam.get('paths', []))}.wcrg")
        index = json.loads((folder / "index.json").read_text())
        if where == "lowpass":
            index["files"]["lowpass"] = value
        else:
            index["files"]["conditional"]["1"] = value
        (folder / "index.json").write_text(json.dumps(index))
        add("paths", name, "info", folder)
    folder = _copy_wcrg(wgood, root / "path-symlink.wcrg")
    (folder / "lowpass.safetensors").unlink()
    (folder / "lowpass.safetensors").symlink_to(outside)
    add("paths", "lowpass a symlink out of the folder", "info", folder)
    for name, change in (("index nested 100000", lambda i: _nested(100_000)), ("index levels 0", lambda i: {**i, "levels": 0}),
                         ("index normalisation missing a scale", lambda i: {**i, "normalisation": {
                             **i["normalisation"], "low_std": {"1": 1.0}}}),
                         ("index wavelet bior", lambda i: {**i, "wavelet": "bior1.3"}),
                         ("index detail_std 1e300", lambda i: {**i, "normalisation": {
                             **i["normalisation"], "detail_std": {**i["normalisation"]["detail_std"], "1": 1e300}}}),
                         ("index low_mean 10**400", lambda i: {**i, "normalisation": {
                             **i["normalisation"], "low_mean": {**i["normalisation"]["low_mean"], "1": 10 ** 400}}})):
        folder = _copy_wcrg(wgood, root / f"index-{len(fam.get('paths', []))}.wcrg")
        index = json.loads((folder / "index.json").read_text())
        new = change(index)
        (folder / "index.json").write_text(new if isinstance(new, str) else json.dumps(new))
        add("paths", name, "info", folder)

    # training data
    train = ("train", "diffusion", "--n", 4, "--size", 16, "--steps", 1, "--out", root / "t.safetensors")
    for name, png in (("decompression bomb 30000 x 30000", _png(30000, 30000)), ("60000000 x 1", _png(60_000_000, 1))):
        folder = root / f"png-{name.split()[0]}"
        folder.mkdir()
        (folder / "a.png").write_bytes(png)
        add("training data", name, *train[:2], "--data", folder, *train[2:])
    good_npz = root / "ok.npz"
    np.savez(good_npz, x=np.random.default_rng(0).random((8, 16, 16), np.float32))
    truncated = root / "truncated.npz"
    truncated.write_bytes(good_npz.read_bytes()[:300])
    add("training data", "truncated .npz", *train[:2], "--data", truncated, *train[2:])
    flat = root / "flat.npy"
    np.save(flat, np.ones((3000, 16, 16), np.float32) * np.linspace(0, 1, 3000, dtype=np.float32)[:, None, None])
    add("training data", "3000 single-colour images", *train[:2], "--data", flat, "--n", 500, *train[4:])
    objects = root / "objects.npy"
    np.save(objects, np.array([{"a": 1}] * 4, dtype=object), allow_pickle=True)
    add("training data", "pickled objects", *train[:2], "--data", objects, *train[2:])
    complex_ = root / "complex.npy"
    np.save(complex_, np.ones((4, 16, 16), np.complex64))
    add("training data", "complex numbers", *train[:2], "--data", complex_, *train[2:])
    empty = root / "empty.npy"
    np.save(empty, np.zeros((0, 16, 16), np.float32))
    add("training data", "no images", *train[:2], "--data", empty, *train[2:])

    # arguments
    out, tout = root / "out.npz", ["--out", root / "t.safetensors"]
    shapes, phi4 = ["train", "diffusion", "--data", "shapes", "--n", 4], ["train", "diffusion", "--data", "phi4", "--n", 4]
    for name, argv in (
            ("sample --steps 0", ["sample", good, "--steps", 0, "--out", out]),
            ("sample --n 0", ["sample", good, "--n", 0, "--out", out]),
            ("sample --seed 2**64", ["sample", good, "--seed", 2 ** 64, "--out", out]),
            ("sample --seed -1", ["sample", good, "--seed", -1, "--out", out]),
            ("sample --sampler bogus", ["sample", good, "--sampler", "bogus", "--out", out]),
            ("sample --out into a missing folder", ["sample", good, "--out", root / "missing" / "o.npz"]),
            ("sample --out onto a directory", ["sample", good, "--out", root]),
            ("train --save-every 0", [*shapes, "--save-every", 0, *tout]),
            ("train --batch -1", [*shapes, "--batch", -1, *tout]),
            ("train --size 0", [*shapes, "--size", 0, *tout]),
            ("train --size 100000", [*shapes, "--size", 100000, *tout]),
            ("train --size 30 (not divisible)", [*shapes, "--size", 30, *tout]),
            ("train --steps 0", [*shapes, "--steps", 0, *tout]),
            ("train --lr nan", [*shapes, "--lr", "nan", *tout]),
            ("train --widths 8,x", [*shapes, "--widths", "8,x", *tout]),
            ("train --data-params {", [*phi4, "--data-params", "{", *tout]),
            ("train --data-params [1]", [*phi4, "--data-params", "[1]", *tout]),
            ("train --data-params beta string", [*phi4, "--data-params", '{"beta": "x"}',
                                                 *tout]),
            ("train --data-params NaN", [*phi4, "--data-params", '{"beta": NaN}',
                                         *tout]),
            ("train --noise-levels 0.2,x", [*shapes, "--noise-levels", "0.2,x", *tout]),
            ("train --noise-levels 0.2,0.1", [*shapes, "--noise-levels", "0.2,0.1", *tout]),
            ("train --noise-levels 0.001,0.1 (below the samplers')", [*shapes, "--noise-levels", "0.001,0.1", *tout]),
            ("train --init a missing file", [*shapes, "--init", root / "missing.safetensors", *tout]),
            ("train --init of other data", [*shapes, "--n", 5, "--init", good, *tout]),
            ("train --init onto itself", [*shapes, "--init", good, "--out", good]),
            ("train --data missing folder", ["train", "diffusion", "--data", root / "nothing", "--n", 4, *tout]),
            ("train wcrg --levels 0", ["train", "wcrg", "--data", "shapes", "--n", 4, "--levels", 0, "--out", root / "w.wcrg"]),
            ("train wcrg --wavelet bior1.3", ["train", "wcrg", "--data", "shapes", "--n", 4, "--size", 16, "--steps", 1,
                                              "--wavelet", "bior1.3", "--out", root / "w.wcrg"]),
            ("train wcrg J too deep for the size", ["train", "wcrg", "--data", "shapes", "--n", 4, "--size", 16, "--levels", 3,
                                                    "--steps", 1, "--out", root / "w.wcrg"]),
            ("compare --k 0", ["compare", "--s1", good, "--s2", good, "--k", 0]),
            ("compare --threshold 2", ["compare", "--s1", good, "--s2", good, "--threshold", 2]),
            ("export --gif-frames 0", ["export", _run_file(root / "r.npz"), "--gif", root / "o.gif", "--gif-frames", 0]),
            ("export --display-range 1 0", ["export", root / "r.npz", "--png", root / "o.png", "--display-range", 1, 0]),
            ("export --step 99", ["export", root / "r.npz", "--png", root / "o.png", "--step", 99]),
            ("export nothing to do", ["export", root / "r.npz"]),
            ("evaluate --n 0", ["evaluate", good, "--n", 0]),
            ("phi4 --chains 0", ["phi4", "equilibrium", "--chains", 0]),
            ("info of a missing file", ["info", root / "missing.safetensors"]),
            ("unknown command", ["frobnicate"]),
            ("screenshot --view bogus", ["screenshot", root / "s.png", "--view", "bogus"])):
        add("arguments", name, *argv)

    # outputs that must not be replaced
    readonly = root / "readonly.npz"
    readonly.write_bytes(b"keep me")
    readonly.chmod(0o444)
    os.mkfifo(root / "fifo-out.npz")
    for name, argv in (("sample --out a read-only file", ["sample", good, "--out", readonly]),
                       ("sample --out a FIFO", ["sample", good, "--out", root / "fifo-out.npz"]),
                       ("sample --out /dev/full", ["sample", good, "--out", "/dev/full"]),
                       ("stats --json a read-only file", ["stats", good, "--n", 2, "--json", readonly]),
                       ("stats --samples-out a FIFO", ["stats", good, "--n", 2, "--samples-out", root / "fifo-out.npz"]),
                       ("evaluate --json /dev/full", ["evaluate", good, "--n", 2, "--json", "/dev/full"]),
                       ("export --png ok --gif read-only", ["export", root / "r.npz", "--png", root / "o.png",
                                                            "--gif", readonly]),
                       ("export --png ok --strip too deep", ["export", root / "r.npz", "--png", root / "o.png", "--strip",
                                                              root / "s.png", "--J", 9]),
                       ("export --frames onto a file", ["export", root / "r.npz", "--frames", readonly]),
                       ("export --png and --sheet the same file", ["export", root / "r.npz", "--png", root / "o.png",
                                                                   "--sheet", root / "o.png"]),
                       ("data --out a read-only file", ["data", good, "--out", readonly]),
                       ("train --out a FIFO", [*shapes, "--steps", 1, "--out", root / "fifo-out.npz"]),
                       ("export a run over itself", ["export", root / "r.npz", "--png", root / "r.npz"]),
                       ("data over its own checkpoint", ["data", outside, "--out", outside]),
                       ("compare --out /", ["compare", "--s1", good, "--s2", good, "--n", 1, "--steps", 2, "--out", "/"]),
                       ("compare --out ''", ["compare", "--s1", good, "--s2", good, "--n", 1, "--steps", 2, "--out", ""]),
                       ("compare --json onto its own --out", ["compare", "--s1", good, "--s2", good, "--n", 1, "--steps", 2,
                                                              "--out", root / "c", "--json", root / "c.S1.npz"]),
                       ("stats --json and --samples-out the same", ["stats", good, "--n", 2, "--json", root / "x",
                                                                     "--samples-out", root / "x"]),
                       ("train wcrg into a model whose index is read-only", ["train", "wcrg", "--data", "shapes", "--n", 2,
                                                                             "--size", 16, "--J", 1, "--widths", 8,
                                                                             "--cond-widths", 8, "--steps", 1,
                                                                             "--out", _readonly_index(wgood, root)])):
        add("outputs", name, *argv)

    # hostile run files for `explorer export`
    def run_case(name, **arrays):
        path = root / f"run-{len(fam.get('run files', []))}.npz"
        if arrays.pop("raw", None) is not None:
            path.write_bytes(arrays.pop("blob"))
        else:
            _run_file(path, **arrays)
        add("run files", name, "export", path, "--png", root / "o.png", "--sheet", root / "sheet.png")

    run_case("empty file", raw=True, blob=b"")
    run_case("truncated zip", raw=True, blob=(root / "r.npz").read_bytes()[:200])
    run_case("not a zip", raw=True, blob=b"PK\x03\x04" + b"\x00" * 100)
    run_case("meta not an object", meta=[1, 2])
    run_case("meta nested 100000", meta_text=_nested(100_000))
    run_case("meta not JSON", meta_text="{")
    run_case("meta NaN", meta_text='{"seed": NaN}')
    run_case("meta seed a string", meta={"seed": "x"})
    run_case("meta J 1e308", meta={"J": 1e308})
    run_case("t longer than x_t", t=np.zeros(9))
    run_case("sigma too short", sigma=np.zeros(2))
    run_case("scale too short", scale=np.zeros(2, np.int64))
    run_case("2-D t", t=np.zeros((4, 2)))
    run_case("0 frames", frames=0)
    run_case("0 samples", samples=0)
    run_case("bool x_t", dtype=bool)
    run_case("string x_t", dtype="U3")
    run_case("complex x_t", dtype=np.complex64)
    run_case("5 channels", channels=5)
    run_case("NaN in x0_hat", nan=True)
    run_case("no meta", drop="meta")
    run_case("float64 x_t beyond float32", dtype=np.float64, scale_values=1e300)
    run_case("no x_t", drop="x_t")
    return fam, root


def _copy_wcrg(src: Path, dst: Path) -> Path:
    dst.mkdir()
    for f in src.iterdir():
        (dst / f.name).write_bytes(f.read_bytes())
    return dst


def _readonly_index(src: Path, root: Path) -> Path:
    folder = _copy_wcrg(src, root / "readonly-index.wcrg")
    (folder / "index.json").chmod(0o444)
    return folder


def _npy_header(shape) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": "<f4", "fortran_order": False, "shape": shape})
    return buf.getvalue()


def _png(width: int, height: int) -> bytes:
    """A 1-bit PNG of width x height zeros, its pixels deflated (the file stays small)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    row = b"\x00" * (1 + (width + 7) // 8)
    comp = zlib.compressobj(9)
    idat = b"".join(comp.compress(row) for _ in range(height)) + comp.flush()
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0))
            + chunk(b"IDAT", idat) + chunk(b"IEND", b""))


def _run_file(path: Path, frames: int = 4, samples: int = 2, channels: int = 1, size: int = 8, meta=None,
              meta_text: str | None = None, dtype=np.float32, nan: bool = False, drop: str | None = None,
              scale_values: float = 1.0, **override) -> Path:
    """A run file like `Trajectory.save_npz` writes, with parts made hostile."""
    x = (np.random.default_rng(0).random((frames, samples, channels, size, size)) * scale_values).astype(dtype)
    x0 = x.copy()
    if nan:
        x0[..., 0, 0] = np.nan
    arrays = {"meta": np.array(meta_text if meta_text is not None else json.dumps(
        {"checkpoint": "c", "sampler": "ddim", "steps": 3, "seed": 0} if meta is None else meta)),
        "t": np.linspace(1, 0, frames), "sigma": np.linspace(1, 0, frames), "x_t": x, "x0_hat": x0, **override}
    arrays.pop(drop, None)
    np.savez(path, **arrays)
    return path


def _snapshot(root: Path) -> dict:
    """Every entry under root (without following links or opening anything): type, size, mtime, mode."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            st = p.lstat()
            out[str(p.relative_to(root))] = (st.st_mode, st.st_size, st.st_mtime_ns)
    return out


class _Hang(Exception):
    pass


def _alarm(signum, frame):
    raise _Hang()


def _try(argv, root, capsys) -> str | None:
    """None if `explorer ARGV` kept the contract, else what went wrong."""
    argv = [str(a) for a in argv]
    before = _snapshot(root)
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(TIMEOUT_S)
    try:
        code = main(argv)
    except _Hang:
        return f"still running after {TIMEOUT_S} s"
    except SystemExit as e:                       # argparse
        code = e.code
    except BaseException as e:                    # noqa: BLE001 - any escape breaks the contract
        return f"{type(e).__name__}: {str(e)[:200]}"
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    if code != 2 or len(lines) != 1 or not lines[0].startswith("explorer: error:") or "Traceback" in err:
        return f"exit {code}, stderr {err[-300:]!r}"
    if "\x1b" in err:
        return "an escape character reached the terminal"
    after = _snapshot(root)
    if after != before:
        changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
        return f"files changed: {changed[:5]}"
    return None


FAMILIES = ["config", "bombs", "hangs", "paths", "training data", "arguments", "outputs", "run files"]


@pytest.mark.parametrize("family", FAMILIES)
def test_every_hostile_input_gives_one_line_and_exit_2(family, corpus, capsys, monkeypatch):
    cases, root = corpus
    monkeypatch.chdir(root)
    # bombs at full scale would take gigabytes to build here: the same checks, at lowered limits
    monkeypatch.setattr(schema, "MAX_RUN_BYTES", 64 * 2 ** 20)
    monkeypatch.setattr(render, "MAX_PICTURE_PIXELS", 2_000_000)
    broken = [(name, why) for name, argv in cases[family] if (why := _try(argv, root, capsys))]
    with capsys.disabled():
        print(f"\n{family}: {len(cases[family]) - len(broken)} of {len(cases[family])} inputs kept the contract")
    assert not broken, broken


def test_scaled_bombs_are_refused_for_their_size(tmp_path, capsys, monkeypatch):
    """The inflation and picture limits, at lowered limits: a small .npz that inflates past the
    limit, and an export whose picture would exceed the pixel budget."""
    monkeypatch.setattr(schema, "MAX_RUN_BYTES", 2 ** 20)
    bomb = tmp_path / "bomb.npz"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("x_t.npy", _npy_header((4, 1, 1, 512, 512)) + bytes(4 * 512 * 512 * 4))
    assert bomb.stat().st_size < 20_000
    assert _try(["export", bomb, "--png", tmp_path / "o.png"], tmp_path, capsys) is None
    assert "inflates" in _last_error(["export", bomb, "--png", tmp_path / "o.png"], capsys)
    monkeypatch.setattr(schema, "MAX_RUN_BYTES", 2 ** 30)
    monkeypatch.setattr(render, "MAX_PICTURE_PIXELS", 1_000_000)
    big = _run_file(tmp_path / "big.npz", frames=2, samples=1, size=600)
    assert _try(["export", big, "--png", tmp_path / "o.png"], tmp_path, capsys) is None
    assert "million pixels" in _last_error(["export", big, "--png", tmp_path / "o.png"], capsys)


def _last_error(argv, capsys) -> str:
    main([str(a) for a in argv])
    return capsys.readouterr().err


def test_what_a_bad_input_is_told(corpus, capsys):
    """The messages say what is wrong and what would be accepted."""
    _, root = corpus
    for argv, expected in (
            (["info", root / "emb_dim-63.safetensors"], "'emb_dim' must be even"),
            (["info", root / "widths-100000.safetensors"], "accepted: 1 to 2048"),
            (["info", root / "fifo.safetensors"], "is a FIFO"),
            (["info", root / "link-zero.safetensors"], "is a device"),
            (["info", root / "sparse-10GB.safetensors"], "more than the 1,024 MiB"),
            (["info", root / "path-1.wcrg"], "outside the model's folder"),
            (["sample", root / "data-n-10**12.safetensors", "--out", root / "o.npz"], "accepted: 1 to 1000000")):
        main([str(a) for a in argv])
        err = capsys.readouterr().err
        assert expected in err, (argv, err)


def test_a_gif_of_20000_frames_is_made_of_at_most_41(tmp_path, capsys):
    run = _run_file(tmp_path / "long.npz", frames=20000, samples=1, size=4)
    assert main(["export", str(run), "--gif", str(tmp_path / "o.gif")]) == 0
    from PIL import Image
    with Image.open(tmp_path / "o.gif") as im:
        assert im.n_frames <= 41


def test_failed_wcrg_training_leaves_no_folder(tmp_path):
    code = main(["train", "wcrg", "--data", "shapes", "--n", "4", "--size", "16", "--levels", "3", "--steps", "1",
                 "--out", str(tmp_path / "w.wcrg")])
    assert code == 2 and not (tmp_path / "w.wcrg").exists()


def test_outputs_are_0644_and_all_or_nothing(tmp_path, capsys):
    run = _run_file(tmp_path / "r.npz")
    old = os.umask(0o022)
    try:
        assert main(["export", str(run), "--png", str(tmp_path / "a.png"), "--sheet", str(tmp_path / "b.png")]) == 0
    finally:
        os.umask(old)
    assert {oct((tmp_path / n).stat().st_mode & 0o777) for n in ("a.png", "b.png")} == {"0o644"}
    (tmp_path / "a.png").unlink()
    # the strip fails after the PNG was drawn (J = 9 on 8x8 frames): neither is written
    assert main(["export", str(run), "--png", str(tmp_path / "a.png"), "--strip", str(tmp_path / "s.png"), "--J", "9"]) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.png", "r.npz"]


def test_terminal_sees_no_escape_sequences_and_strict_json(tiny_ckpt, tmp_path, capsys):
    evil = tmp_path / "evil.safetensors"
    evil.write_bytes(_bytes_with_config(tiny_ckpt.path, lambda c: c.update(
        name="\x1b]0;pwned\x07evil\x1b[2J", description="line\rover\u202eright")))
    assert main(["info", str(evil)]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\r" not in out and "\u202e" not in out and "\\x1b" in out
    assert main(["info", "--json", str(evil)]) == 0
    def refuse(name):
        raise ValueError(name)
    json.loads(capsys.readouterr().out, parse_constant=refuse)


def test_window_refuses_every_bad_config_with_a_message(qtbot, corpus, tiny_ckpt, tmp_path):
    from PySide6.QtCore import QSettings

    _, root = corpus
    win = open_window(qtbot, QSettings(str(tmp_path / "s.ini"), QSettings.IniFormat), checkpoint_path=tiny_ckpt.path)
    win.show()
    paths = [root / f"{name}.safetensors" for name in CONFIG_CHANGES] + [
        root / "fifo.safetensors", root / "link-zero.safetensors", root / "sparse-10GB.safetensors", root / "index-fifo.wcrg",
        root / "path-1.wcrg"]
    for path in paths:
        assert not opened(qtbot, win, path), path
        assert win.message.isVisible() and win.message.text().startswith("Could not open")
        assert win.model.sha256 == tiny_ckpt.sha256 and win.info.toPlainText().startswith(tiny_ckpt.describe())


def test_a_closed_pipe_is_quiet(tiny_ckpt):
    """`explorer info X | true`: the reader is gone before explorer writes; no traceback."""
    import subprocess
    import sys
    p = subprocess.run(f"{sys.executable} -m explorer info {tiny_ckpt.path} | true", shell=True, capture_output=True,
                       timeout=120)
    assert p.stderr == b"", p.stderr


def test_a_failing_run_ends_the_progress_line_before_its_error(tiny_ckpt, tmp_path, capsys):
    import torch
    broken = checkpoint.load(tiny_ckpt.path)
    with torch.no_grad():
        broken.denoiser.net.inp.weight.mul_(1e30)
        broken.denoiser.net.out.weight.mul_(1e30)
    checkpoint.save(tmp_path / "nan.safetensors", broken.denoiser, broken.config)
    assert main(["sample", str(tmp_path / "nan.safetensors"), "--steps", "3", "--n", "1", "--out", str(tmp_path / "o.npz")]) == 2
    err = capsys.readouterr().err
    assert err.splitlines()[-1].startswith("explorer: error: the denoiser returned NaN") and err.count("explorer:") == 1
    assert not (tmp_path / "o.npz").exists()


def test_a_hostile_cache_entry_is_rebuilt_or_refused(tiny_ckpt, tmp_path, monkeypatch, capsys):
    """The training-set cache is read like any input: a wrong-shaped entry is rebuilt; a FIFO in
    its place is left alone, without hanging, and the command does its work all the same."""
    from explorer.core.data import cache_dir, training_set
    monkeypatch.setenv("EXPLORER_CACHE", str(tmp_path / "cache"))
    data = tiny_ckpt.data
    expected = training_set(data)
    entry = next(cache_dir().glob("train-*.npy"))
    np.save(entry, np.zeros((3, 1, 6, 6), np.float32))
    assert np.array_equal(training_set(data), expected)
    entry.unlink()
    os.mkfifo(entry)
    assert main(["data", str(tiny_ckpt.path), "--out", str(tmp_path / "d.npy")]) == 0
    assert "left alone" in capsys.readouterr().err and stat.S_ISFIFO(os.lstat(entry).st_mode)
    assert np.array_equal(np.load(tmp_path / "d.npy"), expected)


def test_a_hostile_bundled_index_is_refused(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("EXPLORER_CHECKPOINTS", str(tmp_path))
    for text in ("[1, 2]", '{"checkpoints": [{"split": "S1", "kind": "diffusion"}]}',
                 '{"checkpoints": [{"file": "../../etc/passwd"}]}', _nested(100_000)):
        (tmp_path / "index.json").write_text(text)
        assert _try(["sweep", "--n", 1, "--steps", 2], tmp_path, capsys) is None, text
    (tmp_path / "index.json").unlink()
    os.mkfifo(tmp_path / "index.json")
    assert _try(["sweep", "--n", 1, "--steps", 2], tmp_path, capsys) is None


def test_a_lone_surrogate_in_a_run_is_exported_escaped(tmp_path, capsys):
    run = _run_file(tmp_path / "s.npz", meta={"checkpoint": "evil\udcff", "sampler": "sde"})
    assert main(["export", str(run), "--png", str(tmp_path / "s.png"), "--gif", str(tmp_path / "s.gif")]) == 0
    from explorer.core.display.export import read_png_metadata
    assert read_png_metadata(tmp_path / "s.png")["checkpoint"] == "evil\\udcff"
