#!/usr/bin/env python3
"""A hostile-input corpus run against the real `explorer` command, as a user or an attacker meets it:
one process per input, real stderr, real exit status, a timeout on every call.

    python scripts/hostile_corpus.py                       # every case, serially; writes docs/results/hostile_corpus.json
    python scripts/hostile_corpus.py --family diffusers    # one family
    python scripts/hostile_corpus.py --list                # the cases, one a line
    python scripts/hostile_corpus.py --fixtures DIR        # build the shared fixtures into DIR once and reuse them

The contract judged (README, docs/guide/cli.md): a bad input gives ONE line on stderr
("explorer: error: ...") and exit status 2 before any work starts; nothing half-written is left;
no existing file is damaged (changed, removed or replaced: a FIFO stays a FIFO, a link stays a link
to the same target, a file keeps its bytes). Each case says what it expects:

- refused: exit 2, exactly one non-empty line on stderr starting "explorer: error:", no "Traceback"
  in stdout or stderr, nothing new left in the case's folder, everything that was there unchanged;
- works: exit 0, no traceback, everything that was there unchanged except the declared outputs (a
  regular file there may be replaced by a regular file; a special file or link must stay what it
  was), no temporary (.part) or lock left; each file in `reopen` opens with `explorer info`;
- either: refused or works, each judged as above;
- gui (the window, `explorer gui`): the process is alive after GUI_WAIT seconds with no traceback
  (then it is ended), and no special file was replaced.

Every case runs in its own folder with its own HOME, XDG_CACHE_HOME, XDG_CONFIG_HOME,
XDG_RUNTIME_DIR, TMPDIR and EXPLORER_CACHE under FOLDER/env (unless the case is about them), a clean
environment (no DISPLAY, no torchrun variables) and QT_QPA_PLATFORM=offscreen unless the case sets
the display itself. Files under env/ may be created or rewritten (caches, settings), but a link or
special file there must stay what it was. Cases are data: family, name, argv ("{d}" is the case's
folder), setup steps that make its files, env, and the expectation.

The shared fixtures (a tiny diffusion checkpoint, its S2 twin, a run, a WCRG folder, scattering and
Gaussian files, a diffusers folder, arrays of one's own, a checkpoint of them, a resume file) are made
once, with the CLI itself, and copied into each case's folder. Only one explorer process runs at a time.
"""
from __future__ import annotations

import argparse
import fnmatch
import hashlib
import io
import json
import os
import platform
import shutil
import signal
import stat
import struct
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_JSON = ROOT / "docs" / "results" / "hostile_corpus.json"
EXPLORER = [sys.executable, "-m", "explorer"]
TIMEOUT = 120.0
GUI_WAIT = 10.0
HUGE_INT = "1" + "0" * 40
MAX_ARG = 130_000                 # one argv string: Linux's MAX_ARG_STRLEN is 128 KiB


# ============================================================================ cases

Setup = Callable[[Path], None]


@dataclass
class Case:
    family: str
    name: str
    argv: list[str]
    setup: tuple[Setup, ...] = ()
    expect: str = "refused"                          # refused | works | either | gui
    env: dict[str, str | None] = field(default_factory=dict)
    outputs: tuple[str, ...] | None = None           # works: the files that may appear or change (globs); None: any new
    #                                                  file may appear, and no existing one change
    reopen: tuple[str, ...] = ()                     # works: outputs that `explorer info` must open
    says: str | None = None                          # works: text stdout + stderr must hold
    timeout: float = TIMEOUT


CASES: list[Case] = []


def add(family: str, name: str, argv, *setup: Setup, **kw) -> None:
    CASES.append(Case(family, name, [str(a) for a in argv], tuple(setup), **kw))


# ---------------------------------------------------------------------------- setup steps

FX: Path = Path("/nonexistent")          # the fixtures' folder, set by main()


def sub(text: str, d: Path) -> str:
    return text.replace("{d}", str(d))


def put(fixture: str, dest: str | None = None) -> Setup:
    """Copy a fixture (file or folder) into the case's folder."""
    def run(d: Path) -> None:
        src, dst = FX / fixture, d / (dest or fixture)
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, dst, symlinks=True)
        else:
            shutil.copyfile(src, dst)
    return run


def write(dest: str, content: bytes | str) -> Setup:
    def run(d: Path) -> None:
        p = d / dest
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(content.encode() if isinstance(content, str) else content)
    return run


def fifo(dest: str) -> Setup:
    def run(d: Path) -> None:
        (d / dest).parent.mkdir(parents=True, exist_ok=True)
        _clear(d / dest)
        os.mkfifo(d / dest)
    return run


def link(dest: str, target: str) -> Setup:
    def run(d: Path) -> None:
        (d / dest).parent.mkdir(parents=True, exist_ok=True)
        _clear(d / dest)
        os.symlink(sub(target, d), d / dest)
    return run


def hardlink(dest: str, src: str) -> Setup:
    return lambda d: os.link(d / src, d / dest)


def mkdir(dest: str) -> Setup:
    def run(d: Path) -> None:
        _clear(d / dest)
        (d / dest).mkdir(parents=True, exist_ok=True)
    return run


def remove(dest: str) -> Setup:
    return lambda d: _clear(d / dest)


def chmod(dest: str, mode: int) -> Setup:
    return lambda d: os.chmod(d / dest, mode)


def _clear(p: Path) -> None:
    if p.is_symlink() or (p.exists() and not p.is_dir()):
        p.unlink()
    elif p.is_dir():
        shutil.rmtree(p)


def edit_json(dest: str, change: Callable[[dict], object]) -> Setup:
    """dest's JSON changed by change(value) (which edits in place or returns the new value; a str is written as is)."""
    def run(d: Path) -> None:
        p = d / dest
        value = json.loads(p.read_text())
        new = change(value)
        new = value if new is None else new
        p.write_text(new if isinstance(new, str) else json.dumps(new))
    return run


def setkeys(**values) -> Callable[[dict], None]:
    def change(cfg: dict) -> None:
        for k, v in values.items():
            if v is DELETE:
                cfg.pop(k, None)
            else:
                cfg[k] = v
    return change


DELETE = object()


def st_header(path: Path) -> tuple[dict, bytes]:
    blob = path.read_bytes()
    (n,) = struct.unpack("<Q", blob[:8])
    return json.loads(blob[8:8 + n]), blob[8 + n:]


def st_write(path: Path, header: dict | str, payload: bytes) -> None:
    text = (header if isinstance(header, str) else json.dumps(header)).encode()
    path.write_bytes(struct.pack("<Q", len(text)) + text + payload)


def edit_config(dest: str, change: Callable[[dict], object], raw: Callable[[str], str] | None = None) -> Setup:
    """An explorer safetensors file whose config (its header's __metadata__.explorer) is changed by
    change(config); raw(text) then edits the config's JSON text (for NaN and other non-JSON)."""
    def run(d: Path) -> None:
        p = d / dest
        header, payload = st_header(p)
        cfg = json.loads(header["__metadata__"]["explorer"])
        new = change(cfg)
        text = json.dumps(cfg if new is None else new)
        header["__metadata__"]["explorer"] = raw(text) if raw else text
        st_write(p, header, payload)
    return run


def edit_tensors(dest: str, change: Callable[[dict], object]) -> Setup:
    """An explorer safetensors file whose tensors (numpy) are changed by change(tensors), config kept."""
    def run(d: Path) -> None:
        from safetensors.numpy import load_file, save_file
        p = d / dest
        header, _ = st_header(p)
        tensors = load_file(str(p))
        change(tensors)
        save_file(tensors, str(p), metadata=header.get("__metadata__"))
    return run


def edit_meta(dest: str, **meta) -> Setup:
    """A safetensors file (a resume file) with metadata entries replaced (None: removed)."""
    def run(d: Path) -> None:
        from safetensors.numpy import load_file, save_file
        p = d / dest
        header, _ = st_header(p)
        md = dict(header.get("__metadata__") or {})
        for k, v in meta.items():
            if v is None:
                md.pop(k, None)
            else:
                md[k] = v
        save_file(load_file(str(p)), str(p), metadata=md)
    return run


def npy_header(shape, descr: str = "<f4", fortran: bool = False, version: int = 1) -> bytes:
    import numpy as np
    buf = io.BytesIO()
    write_header = np.lib.format.write_array_header_2_0 if version == 2 else np.lib.format.write_array_header_1_0
    write_header(buf, {"descr": descr, "fortran_order": fortran, "shape": tuple(shape)})
    return buf.getvalue()


def npy_bomb(dest: str, shape, descr: str = "<f4", fortran: bool = False, member: str | None = None,
             body: bytes = b"\0" * 64, deflated: bool = False) -> Setup:
    """An .npy whose header declares `shape` (the data cut short), or an .npz holding it as `member`."""
    def run(d: Path) -> None:
        data = npy_header(shape, descr, fortran) + body
        p = d / dest
        if member is None:
            p.write_bytes(data)
        else:
            with zipfile.ZipFile(p, "w", zipfile.ZIP_DEFLATED if deflated else zipfile.ZIP_STORED) as z:
                z.writestr(member, data)
    return run


def npy_object(dest: str) -> Setup:
    def run(d: Path) -> None:
        import numpy as np
        np.save(d / dest, np.array([{"a": 1}, None], dtype=object), allow_pickle=True)
    return run


def npz_arrays(dest: str, **arrays) -> Setup:
    def run(d: Path) -> None:
        import numpy as np
        np.savez(d / dest, **{k: (v() if callable(v) else v) for k, v in arrays.items()})
    return run


def custom(fn: Setup) -> Setup:
    return fn


def ini(text: str, where: str = "env/config/explorer/explorer.conf") -> Setup:
    """The window's settings file (QSettings("explorer", "explorer") under XDG_CONFIG_HOME)."""
    return write(where, text)


# ============================================================================ the families

TRAIN = ["train", "diffusion", "--data", "shapes", "--n", "8", "--size", "8", "--widths", "4", "--steps", "2",
         "--batch", "4"]
TRAIN_WCRG = ["train", "wcrg", "--data", "shapes", "--n", "8", "--size", "8", "--J", "1", "--widths", "4",
              "--cond-widths", "4", "--steps", "2", "--batch", "4"]
TRAIN_SCAT = ["train", "scattering", "--data", "shapes", "--n", "4", "--size", "8", "--J", "1", "--L", "1"]
TRAIN_GAUSS = ["train", "gaussian", "--data", "shapes", "--n", "4", "--size", "8"]
RESUME_TRAIN = ["train", "diffusion", "--data", "shapes", "--n", "8", "--size", "8", "--widths", "4", "--steps", "4",
                "--batch", "4", "--save-every", "2"]
M = "{d}/m.safetensors"


def family_unloadable_outputs() -> None:
    f = "unloadable-outputs"
    keep = put("m.safetensors")
    big_ws = '{"size": 8}' + " " * (MAX_ARG - 20)
    add(f, "--data-params of 128 KiB (whitespace) over a good checkpoint", TRAIN + ["--data-params", big_ws, "--out", M],
        keep, expect="either", outputs=("m.safetensors",), reopen=("m.safetensors",))
    add(f, "--data-params of 128 KiB (a 130,000-digit blur) over a good checkpoint",
        TRAIN + ["--data-params", '{"size": 8, "blur": 0.' + "1" * (MAX_ARG - 40) + "}", "--out", M], keep,
        expect="either", outputs=("m.safetensors",), reopen=("m.safetensors",))
    add(f, "--data-params of 128 KiB (a long unknown key) over a good checkpoint",
        TRAIN + ["--data-params", '{"size": 8, "' + "k" * (MAX_ARG - 30) + '": 1}', "--out", M], keep)
    add(f, "--data-params of 128 KiB (a long string value) over a good checkpoint",
        TRAIN + ["--data-params", '{"size": 8, "blur": "' + "x" * (MAX_ARG - 30) + '"}', "--out", M], keep)
    add(f, "--name of 250 characters over a good checkpoint", TRAIN + ["--name", "n" * 250, "--out", M], keep)
    add(f, "--description of 20,000 characters over a good checkpoint", TRAIN + ["--description", "d" * 20_000, "--out", M],
        keep)
    add(f, "--description of 20,000 characters, wcrg", TRAIN_WCRG + ["--description", "d" * 20_000, "--out", "{d}/w.wcrg"],
        put("w.wcrg"))
    add(f, "--description of 20,000 characters, scattering",
        TRAIN_SCAT + ["--description", "d" * 20_000, "--out", "{d}/s.scat.safetensors"], put("s.scat.safetensors"))
    add(f, "--description of 20,000 characters, gaussian",
        TRAIN_GAUSS + ["--description", "d" * 20_000, "--out", "{d}/g.gauss.safetensors"], put("g.gauss.safetensors"))
    add(f, "--out stem of 210 characters", TRAIN + ["--out", "{d}/" + "a" * 210 + ".safetensors"], keep)
    add(f, "--out stem of 210 characters, wcrg", TRAIN_WCRG + ["--out", "{d}/" + "a" * 210 + ".wcrg"], keep)
    add(f, "--out stem of 210 characters, scattering", TRAIN_SCAT + ["--out", "{d}/" + "a" * 210 + ".scat.safetensors"],
        keep)
    add(f, "--out stem of 195 characters (a name within the limits)", TRAIN + ["--out", "{d}/" + "a" * 195 + ".st"],
        keep, expect="either", reopen=("a" * 195 + ".st",))
    add(f, "a training set of one constant image over a good checkpoint",
        ["train", "diffusion", "--data", "{d}/const.npy", "--n", "1", "--split", "all", "--size", "8", "--widths", "4",
         "--steps", "2", "--batch", "4", "--out", M], keep, put("const.npy"),
        expect="either", outputs=("m.safetensors",), reopen=("m.safetensors",))
    add(f, "a training set of eight constant images over a good checkpoint",
        ["train", "diffusion", "--data", "{d}/const8.npy", "--n", "8", "--split", "all", "--size", "8", "--widths", "4",
         "--steps", "2", "--batch", "4", "--out", M], keep, put("const8.npy"),
        expect="either", outputs=("m.safetensors",), reopen=("m.safetensors",))
    add(f, "a training set of eight constant images, scattering",
        ["train", "scattering", "--data", "{d}/const8.npy", "--n", "8", "--split", "all", "--size", "8", "--J", "1",
         "--L", "1", "--out", "{d}/s.scat.safetensors"], put("s.scat.safetensors"), put("const8.npy"),
        expect="either", outputs=("s.scat.safetensors",), reopen=("s.scat.safetensors",))
    add(f, "a training set of one constant image, gaussian",
        ["train", "gaussian", "--data", "{d}/const.npy", "--n", "1", "--split", "all", "--size", "8",
         "--out", "{d}/g.gauss.safetensors"], put("g.gauss.safetensors"), put("const.npy"),
        expect="either", outputs=("g.gauss.safetensors",), reopen=("g.gauss.safetensors",))
    add(f, "train scattering --n 1 over a good scattering file",
        ["train", "scattering", "--data", "shapes", "--n", "1", "--size", "8", "--J", "1", "--L", "1",
         "--out", "{d}/s.scat.safetensors"], put("s.scat.safetensors"),
        expect="either", outputs=("s.scat.safetensors",), reopen=("s.scat.safetensors",))
    add(f, "train gaussian --n 1 over a good Gaussian file",
        ["train", "gaussian", "--data", "shapes", "--n", "1", "--size", "8", "--out", "{d}/g.gauss.safetensors"],
        put("g.gauss.safetensors"), expect="either", outputs=("g.gauss.safetensors",), reopen=("g.gauss.safetensors",))
    add(f, "train wcrg --name of 195 characters over a good WCRG folder",
        TRAIN_WCRG + ["--name", "w" * 195, "--out", "{d}/w.wcrg"], put("w.wcrg"),
        expect="either", outputs=("w.wcrg", "w.wcrg/*"), reopen=("w.wcrg",))
    add(f, "train wcrg --name of 250 characters", TRAIN_WCRG + ["--name", "w" * 250, "--out", "{d}/w.wcrg"], put("w.wcrg"))
    add(f, "train scattering --name of 250 characters",
        TRAIN_SCAT + ["--name", "s" * 250, "--out", "{d}/s.scat.safetensors"], put("s.scat.safetensors"))
    add(f, "--name with control characters and a new line",
        TRAIN + ["--name", "evil\x1b]0;x\x07\nname", "--description", "line\rover\u202e", "--out", M], keep,
        expect="either", outputs=("m.safetensors",), reopen=("m.safetensors",))
    add(f, "--name empty", TRAIN + ["--name", "", "--out", M], keep, expect="either", outputs=("m.safetensors",),
        reopen=("m.safetensors",))


def family_special_files() -> None:
    f = "special-files"
    base = TRAIN + ["--save-every", "1", "--out", M]
    spots = {"OUT.resume.part": "m.safetensors.resume.part", "OUT.resume": "m.safetensors.resume",
             ".OUT.lock": ".m.safetensors.lock", ".OUT.part": ".m.safetensors.part", "OUT": "m.safetensors"}
    kinds: dict[str, Callable[[str], tuple[Setup, ...]]] = {
        "a FIFO": lambda p: (fifo(p),),
        "a link to a file": lambda p: (write("target.bin", b"the user's file"), link(p, "target.bin")),
        "a folder": lambda p: (mkdir(p), write(p + "/inside.txt", "kept")),
        "a dangling link": lambda p: (link(p, "nowhere"),),
    }
    for spot, path in spots.items():
        for kind, make in kinds.items():
            if kind == "a dangling link" and spot not in ("OUT", "OUT.resume"):
                continue
            outputs = ("m.safetensors",) if spot != "OUT" else ("m.safetensors", "target.bin")
            add(f, f"train diffusion --save-every 1 with {kind} at {spot}", base, *make(path), expect="either",
                outputs=outputs)
    for kind, make in kinds.items():
        add(f, f"train wcrg with {kind} as OUT", TRAIN_WCRG + ["--out", "{d}/w.wcrg"], *make("w.wcrg"),
            expect="either", outputs=("w.wcrg", "w.wcrg/*", "target.bin"))
    add(f, "train wcrg with a FIFO at .OUT.lock", TRAIN_WCRG + ["--out", "{d}/w.wcrg"], fifo(".w.wcrg.lock"),
        expect="either", outputs=("w.wcrg", "w.wcrg/*"))
    add(f, "train wcrg into a folder whose index.json is a FIFO", TRAIN_WCRG + ["--out", "{d}/w.wcrg"], put("w.wcrg"),
        fifo("w.wcrg/index.json"), expect="either", outputs=("w.wcrg/lowpass.safetensors", "w.wcrg/conditional_*"))
    add(f, "train wcrg into a folder whose lowpass is a link", TRAIN_WCRG + ["--out", "{d}/w.wcrg"], put("w.wcrg"),
        write("target.bin", b"the user's file"), link("w.wcrg/lowpass.safetensors", "{d}/target.bin"),
        expect="either", outputs=("w.wcrg/index.json", "w.wcrg/conditional_*"))
    for cmd, out in (("scattering", "s.scat.safetensors"), ("gaussian", "g.gauss.safetensors")):
        argv = (TRAIN_SCAT if cmd == "scattering" else TRAIN_GAUSS) + ["--out", "{d}/" + out]
        for kind in ("a FIFO", "a link to a file", "a folder"):
            add(f, f"train {cmd} with {kind} as OUT", argv, *kinds[kind](out), expect="either", outputs=(out, "target.bin"))
    run = ["sample", M, "--steps", "2", "--n", "1", "--out", "{d}/o.npz"]
    for kind in ("a FIFO", "a link to a file", "a folder", "a dangling link"):
        add(f, f"sample --out {kind}", run, put("m.safetensors"), *kinds[kind]("o.npz"), expect="either",
            outputs=("o.npz", "target.bin"))
    add(f, "export --png a FIFO", ["export", "{d}/r.npz", "--png", "{d}/o.png", "--gif", "{d}/o.gif"], put("r.npz"),
        fifo("o.png"))
    add(f, "export --gif a link, --png new", ["export", "{d}/r.npz", "--png", "{d}/o.png", "--gif", "{d}/o.gif"],
        put("r.npz"), *kinds["a link to a file"]("o.gif"), expect="either", outputs=("o.png", "o.gif", "target.bin"))
    add(f, "export --frames a FIFO", ["export", "{d}/r.npz", "--frames", "{d}/frames"], put("r.npz"), fifo("frames"))
    add(f, "export --frames a folder holding a FIFO frame", ["export", "{d}/r.npz", "--frames", "{d}/frames"], put("r.npz"),
        mkdir("frames"), fifo("frames/frame_0001.png"), expect="either", outputs=("frames/*",))
    add(f, "data --out a read-only file", ["data", M, "--out", "{d}/d.npy"], put("m.safetensors"), write("d.npy", b"mine"),
        chmod("d.npy", 0o444))
    add(f, "screenshot OUT a FIFO", ["screenshot", "{d}/s.png", "--checkpoint", M, "--steps", "2", "--n", "1"],
        put("m.safetensors"), fifo("s.png"))
    add(f, "phi4 --out a folder", ["phi4", "equilibrium", "--L", "4", "--chains", "2", "--sweeps", "580", "--out", "{d}/p"],
        mkdir("p"))
    add(f, "stats --json a FIFO", ["stats", M, "--n", "2", "--steps", "2", "--json", "{d}/s.json"], put("m.safetensors"),
        fifo("s.json"))


GOOD_UNET = {"sample_size": 8, "in_channels": 1, "out_channels": 1, "block_out_channels": [8, 16],
             "layers_per_block": 1, "norm_num_groups": 4, "down_block_types": ["DownBlock2D", "DownBlock2D"],
             "up_block_types": ["UpBlock2D", "UpBlock2D"]}
UNET_FIELDS = ["sample_size", "in_channels", "out_channels", "block_out_channels", "layers_per_block", "norm_num_groups",
               "attn_norm_num_groups", "attention_head_dim", "time_embedding_type", "time_embedding_dim", "freq_shift",
               "flip_sin_to_cos", "center_input_sample", "down_block_types", "up_block_types", "mid_block_type",
               "mid_block_scale_factor", "downsample_padding", "downsample_type", "upsample_type", "dropout", "act_fn",
               "norm_eps", "resnet_time_scale_shift", "add_attention", "class_embed_type", "num_class_embeds",
               "num_train_timesteps"]
NUMERIC_BAD = [0, -1, 2 ** 40, 1e308]
TYPE_BAD = ["abc", [8], None, {"a": 1}, True]
SCHEDULER_BAD = {
    "_class_name": ["EulerDiscreteScheduler", 5], "num_train_timesteps": [0, 1, 10 ** 9, "1000"],
    "beta_schedule": ["cosine-ish", None], "beta_start": [0, -1, 2], "beta_end": [1.5, "x"],
    "prediction_type": ["x0", 3], "timestep_spacing": ["random"], "steps_offset": [-1, 10 ** 6],
    "clip_sample_range": [0, -1], "clip_sample": ["yes"], "thresholding": [True], "trained_betas": [[0.1, 0.2]],
    "set_alpha_to_one": [None],
}
ISSUE_UNETS = {   # issue #33's configs: tracebacks or minutes of work then
    "attention_head_dim 0": {"attention_head_dim": 0, "down_block_types": ["DownBlock2D", "AttnDownBlock2D"],
                             "up_block_types": ["AttnUpBlock2D", "UpBlock2D"]},
    "norm_num_groups 0": {"norm_num_groups": 0},
    "norm_num_groups 3 (not dividing)": {"norm_num_groups": 3},
    "unknown time_embedding_type": {"time_embedding_type": "sinusoidal-ish"},
    "num_class_embeds 10": {"num_class_embeds": 10},
    "class_embed_type timestep": {"class_embed_type": "timestep"},
    "block_out_channels [2048]*4": {"block_out_channels": [2048] * 4, "norm_num_groups": 32, "sample_size": 16,
                                    "down_block_types": ["DownBlock2D"] * 4, "up_block_types": ["UpBlock2D"] * 4},
    "1024-wide UNet": {"block_out_channels": [1024, 1024], "norm_num_groups": 32},
    "sample_size 1024": {"sample_size": 1024},
}


def family_diffusers() -> None:
    f = "diffusers"
    dm = put("dm")
    # every field that shapes the network, one bad value each (a number out of range, or a wrong type, in turn)
    for i, key in enumerate(UNET_FIELDS):
        value = NUMERIC_BAD[i // 2 % len(NUMERIC_BAD)] if i % 2 == 0 else TYPE_BAD[i // 2 % len(TYPE_BAD)]
        add(f, f"info: config.json {key} = {json.dumps(value)}", ["info", "{d}/dm"], dm,
            edit_json("dm/config.json", setkeys(**{key: value})), expect="either")
    for key in ("block_out_channels", "_class_name"):
        add(f, f"info: config.json without {key}", ["info", "{d}/dm"], dm,
            edit_json("dm/config.json", setkeys(**{key: DELETE})), expect="either")
    for text, name in (("{", "not JSON"), ('{"sample_size": NaN}', "NaN"), ("[" * 10_000 + "]" * 10_000, "nested 10,000 deep")):
        add(f, f"info: config.json {name}", ["info", "{d}/dm"], dm, write("dm/config.json", text))
    for i, (key, values) in enumerate(SCHEDULER_BAD.items()):
        value = values[i % len(values)]
        add(f, f"info: scheduler {key} = {json.dumps(value)}", ["info", "{d}/dm"], dm,
            edit_json("dm/scheduler_config.json", setkeys(**{key: value})), expect="either")
    add(f, "info: scheduler_config.json a FIFO", ["info", "{d}/dm"], dm, fifo("dm/scheduler_config.json"))
    add(f, "info: weights a link to /dev/zero", ["info", "{d}/dm"], dm,
        link("dm/diffusion_pytorch_model.safetensors", "/dev/zero"))
    add(f, "info: weights a pickle .bin only", ["info", "{d}/dm"], dm, remove("dm/diffusion_pytorch_model.safetensors"),
        write("dm/diffusion_pytorch_model.bin", b"\x80\x04K\x01."))
    for name, change in ISSUE_UNETS.items():
        edit = edit_json("dm/config.json", setkeys(**change))
        if name in ("attention_head_dim 0", "block_out_channels [2048]*4"):
            add(f, f"info: {name}", ["info", "{d}/dm"], dm, edit)
        add(f, f"sample: {name}", ["sample", "{d}/dm", "--steps", "2", "--n", "1", "--out", "{d}/o.npz"], dm, edit)
    for name in ("attention_head_dim 0", "num_class_embeds 10", "sample_size 1024"):
        edit = edit_json("dm/config.json", setkeys(**ISSUE_UNETS[name]))
        add(f, f"screenshot: {name}", ["screenshot", "{d}/s.png", "--checkpoint", "{d}/dm", "--steps", "2", "--n", "1"],
            dm, edit)
        add(f, f"basis: {name}", ["basis", "{d}/dm", "--steps", "3", "--out", "{d}/b.npz"], dm, edit)
    big = edit_json("dm/config.json", setkeys(sample_size=256, block_out_channels=[8], down_block_types=["DownBlock2D"],
                                               up_block_types=["UpBlock2D"], norm_num_groups=4))
    add(f, "basis: a 256 x 256 UNet (D = 65,536 Jacobian columns)", ["basis", "{d}/dm", "--steps", "3", "--out", "{d}/b.npz"],
        dm, big)
    steps = ["--steps", "1001", "--n", "1"]
    add(f, "sample --steps 1001 > num_train_timesteps 1000", ["sample", "{d}/dm", *steps, "--out", "{d}/o.npz"], dm)
    add(f, "basis --steps 1001 > num_train_timesteps 1000", ["basis", "{d}/dm", *steps, "--out", "{d}/b.npz"], dm)
    add(f, "screenshot --steps 1001 > num_train_timesteps 1000",
        ["screenshot", "{d}/s.png", "--checkpoint", "{d}/dm", *steps], dm)
    short = edit_json("dm/scheduler_config.json", setkeys(num_train_timesteps=10))
    add(f, "sample --steps 11 > num_train_timesteps 10", ["sample", "{d}/dm", "--steps", "11", "--n", "1",
                                                          "--out", "{d}/o.npz"], dm, short)
    add(f, "sample --steps 10 with steps_offset 5 of 10 timesteps", ["sample", "{d}/dm", "--steps", "10", "--n", "1",
                                                                     "--out", "{d}/o.npz"], dm,
        edit_json("dm/scheduler_config.json", setkeys(num_train_timesteps=10, steps_offset=5)), expect="either")
    add(f, "fork of a diffusers run with --steps beyond its scheduler", ["fork", "{d}/rd.npz", "--model", "{d}/dm", "--step",
                                                                         "1", "--n", "2", "--out", "{d}/f.npz"],
        dm, put("rd.npz"), short, expect="either")


def with_bank(dest: str, bank: dict) -> Setup:
    """A scattering file with its filter bank replaced and no data record (every field check passes)."""
    def change(cfg):
        cfg.update(scattering=bank, data={})
    return edit_config(dest, change)


def family_scattering_gaussian() -> None:
    f = "scattering-gaussian"
    S = "s.scat.safetensors"
    G = "g.gauss.safetensors"
    scat = put(S)
    commands = {
        "info": lambda p: ["info", p],
        "screenshot": lambda p: ["screenshot", "{d}/s.png", "--checkpoint", p, "--steps", "2", "--n", "1"],
        "field": lambda p: ["field", p, "{d}/g.gauss.safetensors", "--n", "2", "--reference-n", "2"],
        "fork": lambda p: ["fork", "{d}/rs.npz", "--model", p, "--step", "1", "--n", "2", "--out", "{d}/f.npz"],
        "sample": lambda p: ["sample", p, "--steps", "2", "--n", "1", "--out", "{d}/o.npz"],
    }
    for iso in (True, False):
        for J, L in ((8, 16), (8, 8)):
            bank = with_bank(S, {"size": 256, "J": J, "L": L, "isotropic": iso})
            label = f"256, J {J}, L {L}{'' if iso else ', anisotropic'}"
            for cmd, argv in commands.items():
                if (J, L) == (8, 8) and cmd not in ("info", "sample"):
                    continue
                add(f, f"{cmd}: a bank of {label}", argv("{d}/" + S), scat, put(G), put("rs.npz"), bank,
                    expect="refused" if L == 16 else "either", timeout=TIMEOUT)
    for extra in ([], ["--anisotropic"]):
        add(f, f"train scattering --size 256 --J 8 --L 16 {' '.join(extra)}",
            ["train", "scattering", "--data", "shapes", "--n", "2", "--size", "256", "--J", "8", "--L", "16",
             "--out", "{d}/n.scat.safetensors", *extra])
    bad_banks = {"size 0": {"size": 0}, "size 7": {"size": 7}, "size 2**40": {"size": 2 ** 40}, "size 'abc'": {"size": "abc"},
                 "J 0": {"J": 0}, "J 9 on 8x8": {"J": 9}, "J 1.5": {"J": 1.5}, "L 0": {"L": 0}, "L 17": {"L": 17},
                 "isotropic 'yes'": {"isotropic": "yes"}, "shells -1": {"shells": -1}, "unknown key": {"depth": 3},
                 "size 16 (tensors of 8)": {"size": 16}, "L 2 (tensors of L 1)": {"L": 2}}
    for name, change in bad_banks.items():
        edit = edit_config(S, lambda cfg, change=change: cfg["scattering"].update(change))
        add(f, f"info: scattering {name}", ["info", "{d}/" + S], scat, edit, expect="either")
    add(f, "info: scattering config a list", ["info", "{d}/" + S], scat, edit_config(S, setkeys(scattering=[1, 2])))
    add(f, "sample: scattering J 9 on 8x8", commands["sample"]("{d}/" + S), scat,
        edit_config(S, lambda cfg: cfg["scattering"].update(J=9)))
    tensor_changes = {"phi of 13": lambda t: t.update(phi=_np().zeros(13, t["phi"].dtype)),
                      "phi 2-D": lambda t: t.update(phi=t["phi"].reshape(-1, 1)),
                      "no scale": lambda t: t.pop("scale"),
                      "sigma2 2x2": lambda t: t.update(sigma2=_np().ones((2, 2), t["sigma2"].dtype)),
                      "spectrum empty": lambda t: t.update(spectrum=t["spectrum"][:0]),
                      "support 4x4": lambda t: t.update(support=t["support"][:4, :4].copy()),
                      "phi NaN": lambda t: t["phi"].__setitem__(0, float("nan")),
                      "sigma2 negative": lambda t: t["sigma2"].__setitem__((0, 0), -1.0),
                      "an extra tensor": lambda t: t.update(extra=_np().zeros(3, "f4"))}
    for name, change in tensor_changes.items():
        edit = edit_tensors(S, change)
        add(f, f"info: scattering tensors: {name}", ["info", "{d}/" + S], scat, edit, expect="either")
        if name in ("phi of 13", "support 4x4", "phi NaN"):
            add(f, f"sample: scattering tensors: {name}", commands["sample"]("{d}/" + S), scat, edit, expect="either")
    gauss = put(G)
    gauss_bad = {"size 0": {"size": 0}, "size 10**6": {"size": 10 ** 6}, "size 'x'": {"size": "x"},
                 "mean 'x'": {"mean": "x"}, "mean 1e308": {"mean": 1e308}, "mean null": {"mean": None},
                 "size 16 (power of 8)": {"size": 16}, "unknown key": {"depth": 1}}
    for name, change in gauss_bad.items():
        edit = edit_config(G, lambda cfg, change=change: cfg["gaussian"].update(change))
        add(f, f"info: gaussian {name}", ["info", "{d}/" + G], gauss, edit, expect="either")
        if name in ("size 10**6", "mean 1e308"):
            add(f, f"sample: gaussian {name}", ["sample", "{d}/" + G, "--n", "1", "--out", "{d}/o.npz"], gauss, edit,
                expect="either")
    add(f, "info: gaussian mean NaN (raw JSON)", ["info", "{d}/" + G], gauss,
        edit_config(G, lambda cfg: cfg["gaussian"].update(mean="__NAN__"), raw=lambda t: t.replace('"__NAN__"', "NaN")))
    for name, change in {"power of 3": lambda t: t.update(power=t["power"][:3].copy()),
                         "power 2-D": lambda t: t.update(power=t["power"].reshape(-1, 1)),
                         "power negative": lambda t: t["power"].__setitem__(slice(None), -1.0),
                         "power NaN": lambda t: t["power"].__setitem__(1, float("nan")),
                         "power 10**30": lambda t: t["power"].__setitem__(slice(None), 1e30),
                         "no power": lambda t: t.pop("power")}.items():
        edit = edit_tensors(G, change)
        add(f, f"info: gaussian tensors: {name}", ["info", "{d}/" + G], gauss, edit, expect="either")
        if name in ("power of 3", "power NaN", "power 10**30"):
            add(f, f"sample: gaussian tensors: {name}", ["sample", "{d}/" + G, "--n", "1", "--out", "{d}/o.npz"], gauss,
                edit, expect="either")
    add(f, "field: a scattering and a Gaussian file of other fields (phi4 and shapes)",
        ["field", "{d}/" + S, "{d}/phi.gauss.safetensors", "--n", "2", "--reference-n", "2"], scat,
        custom(lambda d: shutil.copyfile(ROOT / "checkpoints" / "phi4-gaussian.gauss.safetensors",
                                         d / "phi.gauss.safetensors")))


def _np():
    import numpy
    return numpy


def family_wcrg_arrays() -> None:
    f = "wcrg-arrays"
    w = put("w.wcrg")
    for member in ("lowpass.safetensors", "conditional_j1.safetensors", "index.json"):
        hostile = {"a link to itself": (link(f"w.wcrg/{member}", member),),
                   "a link to a folder": (mkdir("elsewhere"), link(f"w.wcrg/{member}", "{d}/elsewhere")),
                   "missing": (remove(f"w.wcrg/{member}"),),
                   "a FIFO": (fifo(f"w.wcrg/{member}"),),
                   "a link to /dev/zero": (link(f"w.wcrg/{member}", "/dev/zero"),),
                   "a folder": (mkdir(f"w.wcrg/{member}"),)}
        for name, steps in hostile.items():
            add(f, f"info: {member} {name}", ["info", "{d}/w.wcrg"], w, *steps)
            if member == "lowpass.safetensors" and name in ("a link to itself", "a FIFO"):
                add(f, f"sample: {member} {name}", ["sample", "{d}/w.wcrg", "--steps", "2", "--n", "1",
                                                    "--out", "{d}/o.npz"], w, *steps)
    index_bad = {"levels 0": setkeys(levels=0), "levels 100": setkeys(levels=100), "size 10**9": setkeys(size=10 ** 9),
                 "channels 5": setkeys(channels=5), "wavelet 'nope'": setkeys(wavelet="nope"),
                 "format wrong": setkeys(format="other"), "lowpass ../": lambda i: i["files"].update(lowpass="../x.safetensors"),
                 "lowpass absolute": lambda i: i["files"].update(lowpass="/etc/passwd"),
                 "conditional missing a scale": lambda i: i["files"].update(conditional={}),
                 "normalisation std 0": lambda i: i["normalisation"]["low_std"].update({"1": 0}),
                 "normalisation std -1": lambda i: i["normalisation"]["detail_std"].update({"1": -1}),
                 "name 10,000 characters": setkeys(name="n" * 10_000)}
    for name, change in index_bad.items():
        add(f, f"info: index.json {name}", ["info", "{d}/w.wcrg"], w, edit_json("w.wcrg/index.json", change),
            expect="either")
    for text, name in (("[1]", "a list"), ("{", "not JSON"), ("", "empty"), ("[" * 10_000 + "]" * 10_000, "nested")):
        add(f, f"info: index.json {name}", ["info", "{d}/w.wcrg"], w, write("w.wcrg/index.json", text))
    # arrays whose header declares what they cannot hold
    bombs = {
        "npz (33554432, 1, 8, 8) float32": npy_bomb("bomb.npz", (33554432, 1, 8, 8), member="x.npy"),
        "npy (33554432, 1, 8, 8) float32": npy_bomb("bomb.npy", (33554432, 1, 8, 8)),
        "npy fortran order (33554432, 1, 8, 8)": npy_bomb("bomb.npy", (33554432, 1, 8, 8), fortran=True),
        "npy object dtype": npy_object("bomb.npy"),
        "npz of 2**40 uint8 declared": npy_bomb("bomb.npz", (2 ** 20, 1, 1024, 1024), "|u1", member="x.npy"),
        "npy a 0-d array": npy_bomb("bomb.npy", (), body=b"\0" * 4),
        "npz of (8, 1, 8, 8) float32 with 64 bytes of data": npy_bomb("bomb.npz", (8, 1, 8, 8), member="x.npy"),
        "npy negative shape": custom(lambda d: (d / "bomb.npy").write_bytes(
            npy_header((8, 8, 8)).replace(b"(8, 8, 8)", b"(-8, 8, 8)"))),
        "npz member not .npy": custom(_zip_of_text),
    }
    for name, make in bombs.items():
        src = "{d}/bomb.npz" if "npz" in name else "{d}/bomb.npy"
        add(f, f"train diffusion --data: {name}",
            ["train", "diffusion", "--data", src, "--n", "8", "--split", "all", "--size", "8", "--widths", "4", "--steps",
             "2", "--batch", "4", "--out", "{d}/o.safetensors"], make)
        if "33554432" in name or "object" in name or "fortran" in name:
            user_record = (put("u.safetensors"), make, repath("u.safetensors", src))
            add(f, f"stats --reference train, the record's data now {name}",
                ["stats", "{d}/u.safetensors", "--n", "2", "--steps", "2", "--reference", "train"], *user_record)
            add(f, f"data of a model whose data file is now {name}", ["data", "{d}/u.safetensors", "--out", "{d}/d.npy"],
                *user_record)
    run_bombs = {
        "run whose x_t declares (33554432, 1, 8, 8)": npy_bomb("bomb.npz", (33554432, 1, 1, 8, 8), member="x_t.npy"),
        "run whose x_t is fortran order (an ordinary array)": custom(lambda d: _forged_run(d, fortran=True)),
        "run whose x_t has object dtype": custom(lambda d: _forged_run(d, obj=True)),
        "run whose meta is pickled": custom(lambda d: _forged_run(d, pickled_meta=True)),
    }
    for name, make in run_bombs.items():
        expect = "either" if "ordinary" in name else "refused"
        add(f, f"export: {name}", ["export", "{d}/bomb.npz", "--png", "{d}/o.png"], make, expect=expect)
        add(f, f"basis --run: {name}", ["basis", M, "--run", "{d}/bomb.npz", "--out", "{d}/b.npz"], put("m.safetensors"),
            make, expect=expect)
        if "declares" in name:
            add(f, f"fork: {name}", ["fork", "{d}/bomb.npz", "--model", M, "--step", "1", "--n", "2", "--out", "{d}/f.npz"],
                put("m.safetensors"), make)


def _zip_of_text(d: Path) -> None:
    with zipfile.ZipFile(d / "bomb.npz", "w") as z:
        z.writestr("x.txt", "hello")


def repath(dest: str, path: str) -> Setup:
    """A model whose data record names `path` ("{d}" the case's folder) as its training data."""
    return lambda d: edit_config(dest, lambda cfg: cfg["data"].update(path=sub(path, d)))(d)


def _forged_run(d: Path, fortran: bool = False, obj: bool = False, pickled_meta: bool = False) -> None:
    import numpy as np
    arrays = dict(np.load(FX / "r.npz"))
    if fortran:
        arrays["x_t"] = np.asfortranarray(arrays["x_t"])
    if obj:
        arrays["x_t"] = np.array([None, {"a": 1}], dtype=object)
    if pickled_meta:
        arrays["meta"] = np.array([{"checkpoint": "x"}], dtype=object)
    np.savez(d / "bomb.npz", **arrays)


def family_outputs_inputs() -> None:
    f = "outputs-inputs"
    m, r = put("m.safetensors"), put("r.npz")
    for how in ("itself", "a link", "a hard link"):
        def alias(suffix: str, how=how) -> tuple[str, tuple[Setup, ...]]:
            """The path an output names: the model itself, or a link or hard link to it named *suffix."""
            if how == "itself":
                return M, ()
            make = link("alias" + suffix, "m.safetensors") if how == "a link" else hardlink("alias" + suffix, "m.safetensors")
            return "{d}/alias" + suffix, (make,)
        target, steps = alias(".npz")
        add(f, f"fork --out the model's file ({how})", ["fork", "{d}/r.npz", "--model", M, "--step", "1", "--n", "2",
                                                        "--out", target], m, r, *steps)
        target, steps = alias(".png")
        add(f, f"screenshot OUT onto the checkpoint it shows ({how})", ["screenshot", target, "--checkpoint", M, "--steps",
                                                                        "2", "--n", "1"], m, *steps)
        target, steps = alias(".npy")
        add(f, f"data --out the checkpoint ({how})", ["data", M, "--out", target], m, *steps)
        target, steps = alias(".json")
        add(f, f"stats --json the checkpoint ({how})", ["stats", M, "--n", "2", "--steps", "2", "--json", target], m, *steps)
        target, steps = alias(".safetensors")
        add(f, f"train diffusion --init M --out M ({how})", TRAIN + ["--init", M, "--out", target], m, *steps)
    for how, steps in {"itself": (), "a link": (link("alias.npy", "own.npy"),),
                       "a hard link": (hardlink("alias.npy", "own.npy"),)}.items():
        target = "{d}/own.npy" if how == "itself" else "{d}/alias.npy"
        add(f, f"train diffusion --out its own --data ({how})",
            ["train", "diffusion", "--data", "{d}/own.npy", "--n", "8", "--split", "all", "--size", "8", "--widths", "4",
             "--steps", "2", "--batch", "4", "--out", target], put("own.npy"), *steps)
        add(f, f"train scattering --out its own --data ({how})",
            ["train", "scattering", "--data", "{d}/own.npy", "--n", "8", "--split", "all", "--size", "8", "--J", "1",
             "--L", "1", "--out", target], put("own.npy"), *steps)
    add(f, "fork --out its own run", ["fork", "{d}/r.npz", "--model", M, "--step", "1", "--n", "2", "--out", "{d}/r.npz"],
        m, r)
    add(f, "fork --curve --json its own run", ["fork", "{d}/r.npz", "--model", M, "--curve", "2", "--n", "2",
                                               "--json", "{d}/r.npz"], m, r)
    add(f, "basis --out its own --run", ["basis", M, "--run", "{d}/r.npz", "--out", "{d}/r.npz"], m, r)
    add(f, "basis --out the model", ["basis", M, "--run", "{d}/r.npz", "--out", M], m, r)
    for how, steps in {"itself": (), "a link": (link("alias.png", "r.npz"),),
                       "a hard link": (hardlink("alias.png", "r.npz"),)}.items():
        add(f, f"export onto its own run ({how})", ["export", "{d}/r.npz", "--png",
                                                    "{d}/r.npz" if how == "itself" else "{d}/alias.png"], r, *steps)
    pair = put("pair")
    add(f, "sweep --json onto a checkpoint in its --folder", ["sweep", "--folder", "{d}/pair", "--n", "1", "--steps", "2",
                                                              "--json", "{d}/pair/tiny-S2.safetensors"], pair)
    add(f, "sweep --json onto a link to a checkpoint in its --folder",
        ["sweep", "--folder", "{d}/pair", "--n", "1", "--steps", "2", "--json", "{d}/alias"], pair,
        link("alias", "pair/tiny-S1.safetensors"))
    add(f, "compare --json onto --s2", ["compare", "--s1", "{d}/pair/tiny-S1.safetensors", "--s2",
                                        "{d}/pair/tiny-S2.safetensors", "--n", "1", "--steps", "2", "--json",
                                        "{d}/pair/tiny-S2.safetensors"], pair)
    add(f, "compare --out whose OUT.S1.npz is --s1", ["compare", "--s1", "{d}/c.S1.npz", "--s2", "{d}/pair/tiny-S2.safetensors",
                                                      "--n", "1", "--steps", "2", "--out", "{d}/c"], pair,
        custom(lambda d: shutil.copyfile(FX / "pair" / "tiny-S1.safetensors", d / "c.S1.npz")))
    add(f, "evaluate --json the checkpoint", ["evaluate", M, "--n", "2", "--json", M], m)
    add(f, "field --json the first model", ["field", M, "--n", "2", "--reference-n", "2", "--json", M], m)
    add(f, "sample --out inside its WCRG folder over its index", ["sample", "{d}/w.wcrg", "--steps", "2", "--n", "1",
                                                                   "--out", "{d}/w.wcrg/index.npz"], put("w.wcrg"),
        link("w.wcrg/index.npz", "index.json"))
    add(f, "train wcrg --out the folder of its --data", ["train", "wcrg", "--data", "{d}/imgs", "--n", "8", "--split", "all",
                                                          "--size", "8", "--J", "1", "--widths", "4", "--cond-widths", "4",
                                                          "--steps", "2", "--batch", "4", "--out", "{d}/imgs"],
        custom(_image_folder))


def _image_folder(d: Path) -> None:
    import numpy as np
    from PIL import Image
    (d / "imgs").mkdir()
    rng = np.random.default_rng(5)
    for i in range(8):
        Image.fromarray(rng.integers(0, 255, (8, 8), dtype=np.uint8)).save(d / "imgs" / f"{i}.png")


def family_settings() -> None:
    f = "settings"
    gui = ["gui"]
    g = dict(expect="gui", outputs=())
    add(f, "batch 1e10", gui, ini("[General]\nbatch=10000000000\n"), **g)
    add(f, "seed 2**70", gui, ini("[General]\nseed=1180591620717411303424\n"), **g)
    add(f, "steps 'abc', device 'tpu', sampler 'bogus'", gui, ini("[General]\nsteps=abc\ndevice=tpu\nsampler=bogus\n"), **g)
    add(f, "a list where the last model's path belongs", gui, ini("[General]\nlast_checkpoint=a, b, c\n"), **g)
    add(f, "geometry and state of garbage", gui, ini("[General]\ngeometry=garbage\nstate=@ByteArray(\\0\\xff\\xfe)\n"), **g)
    add(f, "remembered model: a diffusers folder with norm_num_groups 0", gui, put("dm"),
        edit_json("dm/config.json", setkeys(norm_num_groups=0)), ini("[General]\nlast_checkpoint={d}/dm\n"),
        custom(lambda d: _fill_ini(d)), **g)
    add(f, "remembered model: a scattering bomb (256, J 8, L 16)", gui, put("s.scat.safetensors"),
        with_bank("s.scat.safetensors", {"size": 256, "J": 8, "L": 16, "isotropic": False}),
        ini("[General]\nlast_checkpoint={d}/s.scat.safetensors\n"), custom(_fill_ini), **g)
    add(f, "remembered model: a FIFO", gui, fifo("fifo.safetensors"), ini("[General]\nlast_checkpoint={d}/fifo.safetensors\n"),
        custom(_fill_ini), **g)
    add(f, "remembered model: a WCRG folder whose lowpass loops", gui, put("w.wcrg"),
        link("w.wcrg/lowpass.safetensors", "lowpass.safetensors"), ini("[General]\nlast_checkpoint={d}/w.wcrg\n"),
        custom(_fill_ini), **g)
    add(f, "recent files: a FIFO and a missing file", gui, fifo("fifo.safetensors"),
        ini("[General]\nrecent={d}/fifo.safetensors, {d}/missing.safetensors\n"), custom(_fill_ini), **g)
    add(f, "the settings file a FIFO", gui, fifo("env/config/explorer/explorer.conf"), **g)
    add(f, "the settings file a folder", gui, mkdir("env/config/explorer/explorer.conf"), **g)
    add(f, "the settings file a link to /dev/zero", gui, link("env/config/explorer/explorer.conf", "/dev/zero"), **g)
    add(f, "the settings folder a file", gui, write("env/config/explorer", "not a folder"), **g)
    add(f, "every bad value at once", gui, fifo("fifo.safetensors"),
        ini("[General]\nbatch=-5\nseed=abc\nsteps=99999999999\ncoarse_steps=x\ndevice=@Variant(\\0)\nkind=5\n"
            "geometry=1\nrecent=@ByteArray(xyz)\nlast_checkpoint={d}/fifo.safetensors\nexport_folder=/dev/null\n"
            "[x]\n" + "y=" + "z" * 100_000 + "\n"), custom(_fill_ini), **g)


def _fill_ini(d: Path) -> None:
    p = d / "env/config/explorer/explorer.conf"
    p.write_text(sub(p.read_text(), d))


def family_caches() -> None:
    f = "caches"
    data = ["data", M, "--out", "{d}/d.npy"]
    m = put("m.safetensors")
    user = write("notes.txt", "the user's notes")

    def entries(d: Path, suffix: str) -> list[Path]:
        return sorted((d / "env/cache").glob(f"train-*{suffix}"))

    def cache(how: str) -> Setup:
        def run(d: Path) -> None:
            shutil.copytree(FX / "cache", d / "env/cache", dirs_exist_ok=True)
            for p in entries(d, ".json"):
                npy = p.with_suffix(".npy")
                if how in ("json link", "json link, npy gone"):
                    p.unlink()
                    p.symlink_to(d / "notes.txt")
                if how == "json link, npy gone":
                    npy.unlink()
                if how == "npy link":
                    npy.unlink()
                    npy.symlink_to(d / "notes.txt")
                if how == "npy FIFO":
                    npy.unlink()
                    os.mkfifo(npy)
                if how == "npy dangling":
                    npy.unlink()
                    npy.symlink_to(d / "nowhere.npy")
                if how == "npy damaged":
                    npy.write_bytes(b"\x93NUMPY garbage")
        return run
    for how in ("json link", "json link, npy gone", "npy link", "npy FIFO", "npy dangling", "npy damaged"):
        add(f, f"data with the cache entry's {how}", data, m, user, cache(how), expect="works", outputs=("d.npy",))
        if how in ("json link, npy gone", "npy FIFO"):
            add(f, f"train diffusion with the cache entry's {how}", TRAIN + ["--out", "{d}/o.safetensors"], user, cache(how),
                expect="works", outputs=("o.safetensors",), reopen=("o.safetensors",))
    for name, env, steps in (("EXPLORER_CACHE=/dev/null", {"EXPLORER_CACHE": "/dev/null"}, ()),
                             ("EXPLORER_CACHE a file", {"EXPLORER_CACHE": "{d}/notes.txt"}, ()),
                             ("EXPLORER_CACHE under a file", {"EXPLORER_CACHE": "{d}/notes.txt/cache"}, ()),
                             ("EXPLORER_CACHE a FIFO", {"EXPLORER_CACHE": "{d}/pipe"}, (fifo("pipe"),)),
                             ("EXPLORER_CACHE a dangling link", {"EXPLORER_CACHE": "{d}/gone"}, (link("gone", "nowhere"),)),
                             ("EXPLORER_CACHE empty, XDG_CACHE_HOME a file",
                              {"EXPLORER_CACHE": None, "XDG_CACHE_HOME": "{d}/notes.txt"}, ()),
                             ("no EXPLORER_CACHE nor XDG_CACHE_HOME, HOME read-only",
                              {"EXPLORER_CACHE": None, "XDG_CACHE_HOME": None}, (chmod("env/home", 0o555),)),
                             ("EXPLORER_CACHE empty", {"EXPLORER_CACHE": ""}, ()),
                             ("no EXPLORER_CACHE nor XDG_CACHE_HOME, HOME missing",
                              {"EXPLORER_CACHE": None, "XDG_CACHE_HOME": None, "HOME": "{d}/no-home"}, ()),
                             ("no EXPLORER_CACHE, XDG_CACHE_HOME relative", {"EXPLORER_CACHE": None,
                                                                              "XDG_CACHE_HOME": "relative/cache"}, ())):
        add(f, f"data with {name}", data, m, user, *steps, env=env, expect="works",
            outputs=("d.npy", "relative", "relative/*", "no-home", "no-home/*"))
    add(f, "train diffusion with EXPLORER_CACHE=/dev/null", TRAIN + ["--out", "{d}/o.safetensors"], user,
        env={"EXPLORER_CACHE": "/dev/null"}, expect="works", outputs=("o.safetensors",), reopen=("o.safetensors",))
    add(f, "train diffusion with XDG_CACHE_HOME a file", TRAIN + ["--out", "{d}/o.safetensors"], user,
        env={"EXPLORER_CACHE": None, "XDG_CACHE_HOME": "{d}/notes.txt"}, expect="works", outputs=("o.safetensors",),
        reopen=("o.safetensors",))
    add(f, "phi4 equilibrium with EXPLORER_CACHE=/dev/null", ["phi4", "equilibrium", "--L", "4", "--chains", "2",
                                                              "--sweeps", "580"], env={"EXPLORER_CACHE": "/dev/null"},
        expect="works")


def no_x_display() -> str:
    """A DISPLAY with no X server behind it (":99" may be someone's Xvfb)."""
    n = next(n for n in range(87, 1000) if not Path(f"/tmp/.X11-unix/X{n}").exists() and not Path(f"/tmp/.X{n}-lock").exists())
    return f":{n}"


def family_environment() -> None:
    f = "environment"
    nox = no_x_display()
    out = TRAIN + ["--out", "{d}/o.safetensors"]
    torchrun = [
        {"WORLD_SIZE": "2"}, {"WORLD_SIZE": "2", "RANK": "abc"}, {"WORLD_SIZE": "x"}, {"WORLD_SIZE": "0"},
        {"WORLD_SIZE": "99999999999999999999"}, {"WORLD_SIZE": ""}, {"WORLD_SIZE": "2", "RANK": "5"},
        {"WORLD_SIZE": "2", "RANK": "0", "LOCAL_RANK": "abc"}, {"WORLD_SIZE": "2", "RANK": "0"},
        {"WORLD_SIZE": "2", "RANK": "0", "MASTER_ADDR": "127.0.0.1"},
        {"WORLD_SIZE": "2", "RANK": "0", "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": "abc"},
        {"WORLD_SIZE": "2", "RANK": "0", "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": "70000"},
        {"WORLD_SIZE": "2", "RANK": "0", "MASTER_ADDR": "no.such.host.invalid", "MASTER_PORT": "29500"},
        {"WORLD_SIZE": "2", "RANK": "0", "MASTER_ADDR": "\udcff\x1b[31m", "MASTER_PORT": "29500"},
    ]
    for env in torchrun:
        add(f, "train diffusion with " + " ".join(f"{k}={v!r}" for k, v in env.items()), out, env=env)
    for env in ({"WORLD_SIZE": "2"}, {"WORLD_SIZE": "x"}):
        add(f, "train wcrg with " + " ".join(f"{k}={v!r}" for k, v in env.items()), TRAIN_WCRG + ["--out", "{d}/w.wcrg"],
            env=env)
    add(f, "train diffusion with WORLD_SIZE=1 RANK=junk (one process)", out, env={"WORLD_SIZE": "1", "RANK": "junk"},
        expect="works", reopen=("o.safetensors",))
    displays = {f"DISPLAY={nox} (no X server), QT_QPA_PLATFORM unset": {"QT_QPA_PLATFORM": None, "DISPLAY": nox},
                "QT_QPA_PLATFORM=bogus": {"QT_QPA_PLATFORM": "bogus"},
                f"QT_QPA_PLATFORM=xcb, DISPLAY={nox} (no X server)": {"QT_QPA_PLATFORM": "xcb", "DISPLAY": nox},
                "QT_QPA_PLATFORM=xcb, no DISPLAY": {"QT_QPA_PLATFORM": "xcb"},
                "WAYLAND_DISPLAY=wayland-99 (no compositor), QT_QPA_PLATFORM unset": {"QT_QPA_PLATFORM": None,
                                                                                      "WAYLAND_DISPLAY": "wayland-99"},
                "QT_QPA_PLATFORM and DISPLAY unset": {"QT_QPA_PLATFORM": None},
                "DISPLAY=garbage, QT_QPA_PLATFORM unset": {"QT_QPA_PLATFORM": None, "DISPLAY": "\x1b[31mgarbage:x.y"}}
    for name, env in displays.items():
        add(f, f"gui with {name}", ["gui"], env=env, timeout=30)
        add(f, f"screenshot with {name}", ["screenshot", "{d}/s.png", "--checkpoint", M, "--steps", "2", "--n", "1"],
            put("m.safetensors"), env=env, expect="either", outputs=("s.png",), timeout=60)
        add(f, f"stats --plot with {name}", ["stats", M, "--n", "2", "--steps", "2", "--plot", "{d}/p.png"],
            put("m.safetensors"), env=env, expect="either", outputs=("p.png",), timeout=60)


def family_resume() -> None:
    f = "resume"
    argv = RESUME_TRAIN + ["--out", "{d}/o.safetensors"]
    R = "o.safetensors.resume"
    res = put("resume/o.safetensors.resume", R)
    ok = dict(expect="works", outputs=("o.safetensors", R), reopen=("o.safetensors",))
    add(f, "an intact resume file of the run", argv, res, **ok)
    for name, meta in (("step 'abc'", {"step": "abc"}), ("step -50", {"step": "-50"}), ("step 10**30", {"step": "1" + "0" * 30}),
                       ("losses [1, 'x']", {"losses": '[1, "x"]'}), ("losses '{'", {"losses": "{"}),
                       ("losses NaN", {"losses": "[NaN]"}), ("curve a number", {"curve": "5"}), ("no step", {"step": None}),
                       ("no fingerprint", {"fingerprint": None})):
        add(f, f"a damaged resume file: {name}", argv, res, edit_meta(R, **meta), **ok)
    add(f, "a damaged resume file: no generator_state", argv, res, edit_tensors(R, lambda t: t.pop("generator_state")), **ok)
    add(f, "a damaged resume file: wrong tensor shapes", argv, res,
        edit_tensors(R, lambda t: [t.__setitem__(k, v[:1].copy()) for k, v in list(t.items()) if v.ndim and v.shape[0] > 1]),
        **ok)
    add(f, "a damaged resume file: generator_state of 3 bytes", argv, res,
        edit_tensors(R, lambda t: t.__setitem__("generator_state", t["generator_state"][:3].copy())), **ok)
    add(f, "a damaged resume file: truncated", argv, res, custom(lambda d: (d / R).write_bytes((d / R).read_bytes()[:500])),
        **ok)
    add(f, "a damaged resume file: empty", argv, write(R, b""), **ok)
    add(f, "a damaged resume file: random bytes", argv, write(R, os.urandom(3000)), **ok)
    add(f, "a damaged resume file: a header of 10**15 bytes", argv, write(R, struct.pack("<Q", 10 ** 15) + b"{}"), **ok)
    add(f, "a resume file of another run (another fingerprint)", argv, res, edit_meta(R, fingerprint="{}"), **ok)


def family_arguments() -> None:
    f = "arguments"
    m, r = put("m.safetensors"), put("r.npz")
    # issue #33's analysis arguments
    for channels, size in ((3, 8), (1, 4)):
        add(f, f"basis --run of images ({channels}, {size}, {size})", ["basis", M, "--run", "{d}/x.npz", "--out", "{d}/b.npz"],
            m, custom(lambda d, c=channels, s=size: _reshaped_run(d, c, s)))
        add(f, f"fork --run of images ({channels}, {size}, {size})", ["fork", "{d}/x.npz", "--model", M, "--step", "1",
                                                                       "--out", "{d}/f.npz"],
            m, custom(lambda d, c=channels, s=size: _reshaped_run(d, c, s)))
    add(f, "basis --run of another model (a WCRG run)", ["basis", M, "--run", "{d}/rw.npz", "--out", "{d}/b.npz"], m,
        put("rw.npz"))
    for args in (["--steps", "4", "--step", "50"], ["--steps", "4", "--sample", "5"], ["--steps", "4", "--step", "4"],
                 ["--run", "{d}/r.npz", "--step", "99"], ["--run", "{d}/r.npz", "--sample", "9"],
                 ["--sampler", "ascent", "--steps", "5", "--step", "99"], ["--steps", "10000", "--step", "10001"]):
        add(f, "basis " + " ".join(args).replace("{d}/", ""), ["basis", M, *args, "--out", "{d}/b.npz"], m, r)
    for args in (["--duration", "1", "--every", "3"], ["--duration", "1", "--every", "1"],
                 ["--size", "64", "--duration", "1", "--data-params", '{"k_f": 60}'],
                 ["--size", "16", "--duration", "1", "--data-params", '{"k_f": 4.5}'],
                 ["--size", "16", "--duration", "1", "--data-params", '{"dt": 1.0}'],
                 ["--size", "16", "--duration", "1", "--data-params", '{"nu": 0, "nu_h": 0, "mu": 0}'],
                 ["--size", "16", "--duration", "1", "--data-params", '{"size": 32}'],
                 ["--size", "256", "--runs", "4096", "--duration", "100000", "--every", "0.001"]):
        add(f, "turbulence " + " ".join(args), ["turbulence", "--runs", "1", *args], expect="either", timeout=60)
    add(f, "train diffusion on turbulence with k_f off the grid", ["train", "diffusion", "--data", "turbulence",
                                                                   "--data-params", '{"k_f": 30}', "--size", "32", "--n", "4",
                                                                   "--out", "{d}/t.safetensors"])
    for args in (["equilibrium", "--sweeps", "1"], ["equilibrium", "--lam", "0", "--beta", "10"],
                 ["equilibrium", "--lam", "0", "--beta", "0.5", "--sweeps", "580"],
                 ["critical", "--sizes", "8", "--chains", "16"], ["critical", "--sizes", "8,8", "--chains", "16"],
                 ["critical", "--betas", "0.6", "--chains", "16"], ["critical", "--sizes", "8,12", "--chains", "1"],
                 ["critical", "--sizes", "8,12", "--measure", "4", "--chains", "16"],
                 ["critical", "--sizes", "8,12", "--lam", "0", "--betas", "1,2", "--chains", "16"],
                 ["critical", "--sizes", "-4,4"], ["critical", "--betas", "nan,inf"], ["critical", "--sizes", "4,,8"],
                 ["critical", "--betas", ""], ["equilibrium", "--L", "256", "--chains", "100000"]):
        add(f, "phi4 " + " ".join(args), ["phi4", *args, "--L", "8"] if "--L" not in args else ["phi4", *args])
    add(f, "phi4 equilibrium --L 4 --chains 2 --sweeps 580 (tau undefined: no NaN printed)",
        ["phi4", "equilibrium", "--L", "4", "--chains", "2", "--sweeps", "580"], expect="works", says="undefined")
    # field --bundled with a hostile bundled folder
    for name, steps in _hostile_bundles().items():
        add(f, f"field --bundled: {name}", ["field", M, "--bundled", "--n", "2", "--reference-n", "2"], m, *steps,
            env={"EXPLORER_CHECKPOINTS": "{d}/bundled"}, expect="either")
    add(f, "sweep over a hostile bundled folder", ["sweep", "--n", "1", "--steps", "2"],
        *_hostile_bundles()["six damaged entries"], env={"EXPLORER_CHECKPOINTS": "{d}/bundled"}, expect="either")
    add(f, "screenshot with a bundled folder whose index is a FIFO", ["screenshot", "{d}/s.png", "--steps", "2", "--n", "1"],
        mkdir("bundled"), fifo("bundled/index.json"), env={"EXPLORER_CHECKPOINTS": "{d}/bundled"})
    # every numeric option of every command: negative, zero, huge, NaN
    numeric_sweep()
    string_options()


def _reshaped_run(d: Path, channels: int, size: int) -> None:
    import numpy as np
    arrays = dict(np.load(FX / "r.npz"))
    frames, n = arrays["x_t"].shape[:2]
    arrays["x_t"] = np.zeros((frames, n, channels, size, size), np.float32)
    arrays["x0_hat"] = arrays["x_t"].copy()
    arrays.pop("x_init", None)
    np.savez(d / "x.npz", **arrays)


def _hostile_bundles() -> dict[str, tuple[Setup, ...]]:
    def index(*entries: str) -> Setup:
        return write("bundled/index.json", json.dumps({"checkpoints": [{"file": e, "data": "shapes", "kind": "diffusion"}
                                                                       for e in entries]}))
    six = (mkdir("bundled"), fifo("bundled/fifo.safetensors"), write("bundled/junk.safetensors", "not a model\x1b[31m"),
           link("bundled/dangling.safetensors", "nowhere"), mkdir("bundled/folder.safetensors"),
           put("w.wcrg", "bundled/loop.wcrg"), link("bundled/loop.wcrg/lowpass.safetensors", "lowpass.safetensors"),
           index("missing.safetensors", "fifo.safetensors", "junk.safetensors", "dangling.safetensors", "folder.safetensors",
                 "loop.wcrg"))
    return {
        "six damaged entries": six,
        "an entry that loops": (mkdir("bundled"), link("bundled/loop.safetensors", "loop.safetensors"),
                                index("loop.safetensors")),
        "an entry outside the folder": (mkdir("bundled"), index("../m.safetensors")),
        "an absolute entry": (mkdir("bundled"), index("/etc/passwd")),
        "index.json not JSON": (mkdir("bundled"), write("bundled/index.json", "{")),
        "index.json a FIFO": (mkdir("bundled"), fifo("bundled/index.json")),
        "index.json a list": (mkdir("bundled"), write("bundled/index.json", "[1, 2]")),
        "index.json nested 100,000 deep": (mkdir("bundled"), write("bundled/index.json", "[" * 100_000 + "]" * 100_000)),
        "the folder a file": (write("bundled", "x"),),
        "a bundled diffusers folder with norm_num_groups 0": (mkdir("bundled"), put("dm", "bundled/dm"),
                                                              edit_json("bundled/dm/config.json",
                                                                        setkeys(norm_num_groups=0)), index("dm")),
        "a bundled scattering bomb": (mkdir("bundled"), put("s.scat.safetensors", "bundled/s.scat.safetensors"),
                                      with_bank("bundled/s.scat.safetensors", {"size": 256, "J": 8, "L": 16}),
                                      index("s.scat.safetensors")),
    }


# the cheap command each numeric option is tried on (its files made by the setup)
BASES: dict[tuple[str, ...], tuple[list[str], tuple[Setup, ...]]] = {}


def _bases() -> None:
    m, r, pair = put("m.safetensors"), put("r.npz"), put("pair")
    BASES.update({
        ("sample",): (["sample", M, "--steps", "2", "--n", "1", "--out", "{d}/o.npz"], (m,)),
        ("sample", "wcrg"): (["sample", "{d}/w.wcrg", "--steps", "2", "--n", "1", "--out", "{d}/o.npz"], (put("w.wcrg"),)),
        ("export",): (["export", "{d}/r.npz", "--png", "{d}/o.png", "--gif", "{d}/o.gif", "--sheet", "{d}/s.png",
                       "--strip", "{d}/t.png"], (r,)),
        ("screenshot",): (["screenshot", "{d}/s.png", "--checkpoint", M, "--steps", "2", "--n", "1"], (m,)),
        ("train", "diffusion"): (TRAIN + ["--out", "{d}/o.safetensors"], ()),
        ("train", "wcrg"): (TRAIN_WCRG + ["--out", "{d}/o.wcrg"], ()),
        ("train", "scattering"): (TRAIN_SCAT + ["--out", "{d}/o.scat.safetensors"], ()),
        ("train", "gaussian"): (TRAIN_GAUSS + ["--out", "{d}/o.gauss.safetensors"], ()),
        ("evaluate",): (["evaluate", M, "--n", "2"], (m,)),
        ("stats",): (["stats", M, "--n", "2", "--steps", "2"], (m,)),
        ("field",): (["field", M, "--n", "2", "--reference-n", "2"], (m,)),
        ("compare",): (["compare", "--s1", "{d}/pair/tiny-S1.safetensors", "--s2", "{d}/pair/tiny-S2.safetensors", "--n",
                        "1", "--steps", "2"], (pair,)),
        ("sweep",): (["sweep", "--folder", "{d}/pair", "--n", "1", "--steps", "2"], (pair,)),
        ("basis",): (["basis", M, "--steps", "3", "--out", "{d}/b.npz"], (m,)),
        ("set-default",): (["set-default", M, "--sampler", "ode", "--steps", "5"], (m,)),
        ("fork",): (["fork", "{d}/r.npz", "--model", M, "--step", "1", "--n", "2", "--out", "{d}/f.npz"], (m, r)),
        ("phi4", "equilibrium"): (["phi4", "equilibrium", "--L", "4", "--chains", "2", "--sweeps", "580"], ()),
        ("phi4", "critical"): (["phi4", "critical", "--sizes", "4,8", "--betas", "0.5,1.0", "--chains", "16", "--burn-in",
                                "10", "--measure", "50"], ()),
        ("turbulence",): (["turbulence", "--size", "16", "--runs", "1", "--duration", "1", "--every", "0.5"], ()),
        ("tour",): (["tour", "--stop", "1"], ()),          # only refusals are tried (a valid stop opens the window)
    })


def _with_option(argv: list[str], option: str, values: list[str]) -> list[str]:
    """argv with `option` given `values` (replacing its value there, if any)."""
    out = list(argv)
    if option in out:
        i = out.index(option)
        n = len(values)
        out[i + 1:i + 1 + n] = values
        return out
    return out + [option, *values]


def numeric_options() -> list[tuple[tuple[str, ...], str, int]]:
    """(command path, option, nargs) of every option of explorer's parser whose type is a number."""
    sys.path.insert(0, str(ROOT))
    from explorer.cli.main import build_parser

    found = []

    def walk(p: argparse.ArgumentParser, path: tuple[str, ...]) -> None:
        subs = [a for a in p._actions if isinstance(a, argparse._SubParsersAction)]
        for a in subs:
            for name, sp in a.choices.items():
                if sp not in [s for _, s in seen]:
                    seen.append((name, sp))
                    walk(sp, path + (name,))
        for a in p._actions:
            numeric = a.type in (int, float) or getattr(a.type, "__qualname__", "").startswith("number_in")
            if a.option_strings and numeric:
                found.append((path, a.option_strings[0], a.nargs if isinstance(a.nargs, int) else 1))
    seen: list = []
    walk(build_parser(), ())
    return found


def numeric_sweep() -> None:
    f = "arguments"
    for path, option, nargs in numeric_options():
        key = path if path in BASES else path[:1]
        if path == ("phi4",):
            key = ("phi4", "critical") if option in ("--burn-in", "--measure", "--chains") else ("phi4", "equilibrium")
        if key not in BASES:
            raise SystemExit(f"no base command for {' '.join(path)} {option}: add one to BASES")
        argv, steps = BASES[key]
        for value, expect in (("-1", "either"), ("0", "either"), (HUGE_INT, "refused"), ("nan", "refused")):
            shown = value if len(value) < 20 else "1e40"
            add(f, f"{' '.join(key)} {option} {shown}", _with_option(argv, option, [value] * nargs), *steps, expect=expect)
    add(f, "sample wcrg --coarse-steps 0", _with_option(BASES[("sample", "wcrg")][0], "--coarse-steps", ["0"]),
        *BASES[("sample", "wcrg")][1])


def string_options() -> None:
    f = "arguments"
    train, steps = BASES[("train", "diffusion")]
    for value in ("0", "-4", "4,,8", "99999", "nan", "", "4" + ",4" * 100, "1e3"):
        add(f, f"train diffusion --widths {value[:20]!r}", _with_option(train, "--widths", [value]), *steps, expect="either")
    for value in ("1,0", "nan,1", "-1,2", "0.1", "1e-300,1e300", "a,b"):
        add(f, f"train diffusion --noise-levels {value!r}", train + ["--noise-levels", value], expect="either")
    for value in ("[]", "null", '{"size": -1}', '{"blur": 1e999}', "{", '{"size": 8, "blur": NaN}', '{"harmonics": 10000}',
                  '{"decay_min": 5, "decay_max": 1}', '"a string"'):
        add(f, f"train diffusion --data-params {value[:30]}", _with_option(train, "--data-params", [value]), *steps,
            expect="either")
    for name, data in (("a folder with no images", "{d}/empty"), ("a missing file", "{d}/none.npy"),
                       ("/dev/zero", "/dev/zero"), ("a FIFO", "{d}/pipe.npy"), ("a text file", "{d}/notes.txt"),
                       ("a name with a new line", "{d}/a\nb"), ("mnist (no such generator)", "mnist")):
        add(f, f"train diffusion --data {name}", _with_option(train, "--data", [data]), mkdir("empty"), fifo("pipe.npy"),
            write("notes.txt", "1 2 3"))
    base, steps = BASES[("sample",)]
    for option, value in (("--sampler", "bogus"), ("--sampler", ""), ("--device", "tpu"), ("--device", "cuda:99"),
                          ("--device", "cuda"), ("--coarse-sampler", "bogus")):
        add(f, f"sample {option} {value!r}", _with_option(base, option, [value]), *steps, expect="either")
    base, steps = BASES[("export",)]
    for option, value in (("--wavelet", "bogus"), ("--J", "9"), ("--cmap", "rainbow"), ("--step", "-999"),
                          ("--display-range", "1 0")):
        add(f, f"export {option} {value}", _with_option(base, option, value.split()), *steps, expect="either")
    add(f, "train wcrg --wavelet bogus", _with_option(BASES[("train", "wcrg")][0], "--wavelet", ["bogus"]))
    add(f, "train wcrg --wavelet bior1.3 (not orthogonal)", _with_option(BASES[("train", "wcrg")][0], "--wavelet",
                                                                         ["bior1.3"]), expect="either")
    add(f, "train wcrg --J 3 on 8x8 (too deep for the image)", _with_option(BASES[("train", "wcrg")][0], "--J", ["3"]),
        expect="either")


def family_own_data() -> None:
    f = "own-data"
    own = ["--n", "12", "--split", "all", "--size", "8", "--widths", "4", "--steps", "2", "--batch", "4"]
    add(f, "train diffusion --split all on a file of your own", ["train", "diffusion", "--data", "{d}/a.npy", *own,
                                                                 "--out", "{d}/a.safetensors"],
        put("a.npy"), expect="works", reopen=("a.safetensors",))
    add(f, "train diffusion --split all on a file holding near-duplicates",
        ["train", "diffusion", "--data", "{d}/near.npy", *own, "--out", "{d}/n.safetensors"], put("near.npy"),
        expect="works", reopen=("n.safetensors",), says="near-duplicate")
    add(f, "train diffusion --split S1 on a file of 12 images, --n 12", ["train", "diffusion", "--data", "{d}/a.npy",
                                                                          "--n", "12", "--split", "S1", "--size", "8",
                                                                          "--steps", "2", "--out", "{d}/s.safetensors"],
        put("a.npy"))
    compare = ["compare", "--s1", "{d}/a.safetensors", "--s2", "{d}/b.safetensors", "--n", "2", "--steps", "3",
               "--sampler", "ddim", "--json", "{d}/c.json"]
    add(f, "compare two models of two disjoint files", compare, *_own_models("b.npy"), expect="works",
        says=r"disjoint|share", outputs=("c.json",))
    add(f, "compare two models of two files sharing two images", compare, *_own_models("ab.npy"), expect="works",
        says="share 2 near-duplicate", outputs=("c.json",))
    add(f, "compare when one file changed since its model was trained", compare, *_own_models("b.npy"),
        custom(lambda d: shutil.copyfile(FX / "near.npy", d / "b.npy")), expect="either")


def _own_models(second: str) -> tuple[Setup, ...]:
    def train(d: Path) -> None:
        shutil.copyfile(FX / "a.npy", d / "a.npy")
        shutil.copyfile(FX / second, d / "b.npy")
        for name in ("a", "b"):
            _run_cli(["train", "diffusion", "--data", str(d / f"{name}.npy"), "--n", "12", "--split", "all", "--size", "8",
                      "--widths", "4", "--steps", "2", "--batch", "4", "--out", str(d / f"{name}.safetensors")],
                     env=case_env(d))
    return (custom(train),)


FAMILIES: dict[str, Callable[[], None]] = {
    "unloadable-outputs": family_unloadable_outputs, "special-files": family_special_files, "diffusers": family_diffusers,
    "scattering-gaussian": family_scattering_gaussian, "wcrg-arrays": family_wcrg_arrays,
    "outputs-inputs": family_outputs_inputs, "settings": family_settings, "caches": family_caches,
    "environment": family_environment, "resume": family_resume, "arguments": family_arguments, "own-data": family_own_data,
}


def build_cases() -> list[Case]:
    CASES.clear()
    _bases()
    for make in FAMILIES.values():
        make()
    names = [(c.family, c.name) for c in CASES]
    dupes = {n for n in names if names.count(n) > 1}
    if dupes:
        raise SystemExit(f"cases named twice: {sorted(dupes)[:5]}")
    return CASES


# ============================================================================ fixtures

def _run_cli(argv: list[str], env: dict | None = None, check: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run(EXPLORER + argv, capture_output=True, text=True, env=env, timeout=600, stdin=subprocess.DEVNULL)
    if check and done.returncode != 0:
        raise RuntimeError(f"fixture command failed: explorer {' '.join(argv)}\n{done.stderr[-2000:]}")
    return done


def build_fixtures(fx: Path) -> None:
    """Every shared file, made once with explorer itself (and diffusers for the diffusers folder)."""
    import numpy as np

    if (fx / "ready").exists():
        return
    fx.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    env = {**clean_env(), "EXPLORER_CACHE": str(fx / "cache"), "HOME": str(fx / "home")}
    m = str(fx / "m.safetensors")
    _run_cli(TRAIN + ["--out", m], env)
    (fx / "pair").mkdir(exist_ok=True)
    shutil.copyfile(m, fx / "pair" / "tiny-S1.safetensors")
    _run_cli(TRAIN + ["--split", "S2", "--out", str(fx / "pair" / "tiny-S2.safetensors")], env)
    _run_cli(["sample", m, "--sampler", "ddim", "--steps", "4", "--n", "2", "--out", str(fx / "r.npz")], env)
    _run_cli(TRAIN_WCRG + ["--out", str(fx / "w.wcrg")], env)
    _run_cli(["sample", str(fx / "w.wcrg"), "--steps", "2", "--n", "1", "--out", str(fx / "rw.npz")], env)
    _run_cli(TRAIN_SCAT + ["--out", str(fx / "s.scat.safetensors")], env)
    _run_cli(["sample", str(fx / "s.scat.safetensors"), "--steps", "2", "--n", "1", "--out", str(fx / "rs.npz")], env)
    _run_cli(TRAIN_GAUSS + ["--out", str(fx / "g.gauss.safetensors")], env)
    rng = np.random.default_rng(0)
    np.save(fx / "own.npy", rng.random((8, 8, 8), dtype=np.float32))
    a, b = rng.random((2, 12, 8, 8), dtype=np.float32)
    np.save(fx / "a.npy", a)
    np.save(fx / "b.npy", b)
    ab = b.copy()
    ab[:2] = a[:2]
    np.save(fx / "ab.npy", ab)
    near = rng.random((12, 8, 8), dtype=np.float32)
    near[7], near[9], near[11] = near[2] * 1.01, near[4] + 0.002, near[4]
    np.save(fx / "near.npy", near)
    np.save(fx / "const.npy", np.full((1, 8, 8), 0.5, np.float32))
    np.save(fx / "const8.npy", np.full((8, 8, 8), 0.5, np.float32))
    _run_cli(["train", "diffusion", "--data", str(fx / "own.npy"), "--n", "8", "--split", "all", "--size", "8", "--widths",
              "4", "--steps", "2", "--batch", "4", "--out", str(fx / "u.safetensors")], env)
    # a resume file of RESUME_TRAIN: the run stopped where the finished checkpoint would be written
    (fx / "resume").mkdir(exist_ok=True)
    code = ("import sys\nfrom explorer.core.models import checkpoint\n"
            "def stop(*a, **k):\n    raise SystemExit(3)\ncheckpoint.save = stop\n"
            "from explorer.cli import main\nmain(sys.argv[1:])\n")
    done = subprocess.run([sys.executable, "-c", code, *RESUME_TRAIN, "--out", str(fx / "resume" / "o.safetensors")],
                          capture_output=True, text=True, env=env, timeout=600)
    if done.returncode != 3 or not (fx / "resume" / "o.safetensors.resume").exists():
        raise SystemExit(f"could not make the resume fixture: {done.stderr[-2000:]}")
    _diffusers_folder(fx / "dm")
    _run_cli(["sample", str(fx / "dm"), "--steps", "2", "--n", "1", "--out", str(fx / "rd.npz")], env)
    (fx / "ready").write_text(f"{time.perf_counter() - t0:.1f}\n")


def _diffusers_folder(folder: Path) -> None:
    import diffusers
    import torch

    torch.manual_seed(0)
    diffusers.UNet2DModel(**GOOD_UNET).save_pretrained(folder)
    diffusers.DDIMScheduler(num_train_timesteps=1000, steps_offset=1).save_pretrained(folder)


# ============================================================================ running and judging

def clean_env() -> dict[str, str]:
    """A CI-like environment: the PATH, a UTF-8 locale, offscreen Qt; nothing of this shell's session."""
    return {"PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"), "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8",
            "CI": "true", "QT_QPA_PLATFORM": "offscreen", "PYTHONDONTWRITEBYTECODE": "1", "OMP_NUM_THREADS": "1"}


def case_env(d: Path, extra: dict[str, str | None] | None = None) -> dict[str, str]:
    env = {**clean_env(), "HOME": str(d / "env/home"), "XDG_CACHE_HOME": str(d / "env/xdg-cache"),
           "XDG_CONFIG_HOME": str(d / "env/config"), "XDG_RUNTIME_DIR": str(d / "env/run"),
           "TMPDIR": str(d / "env/tmp"), "EXPLORER_CACHE": str(d / "env/cache")}
    for k, v in (extra or {}).items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = sub(v, d)
    return env


def prepare(d: Path) -> None:
    for sub_dir in ("home", "xdg-cache", "config", "run", "tmp"):
        (d / "env" / sub_dir).mkdir(parents=True, exist_ok=True)
    os.chmod(d / "env/run", 0o700)


def snapshot(d: Path) -> dict[str, tuple]:
    """Every entry under d, links not followed: ("file", sha256) | ("link", target) | ("dir",) | ("fifo",) | ("other", mode)."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(d):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            rel = p.relative_to(d).as_posix()
            try:
                st = os.lstat(p)
            except OSError:
                continue
            if stat.S_ISLNK(st.st_mode):
                out[rel] = ("link", os.readlink(p))
            elif stat.S_ISREG(st.st_mode):
                out[rel] = ("file", _digest(p, st))
            elif stat.S_ISDIR(st.st_mode):
                out[rel] = ("dir",)
            elif stat.S_ISFIFO(st.st_mode):
                out[rel] = ("fifo",)
            else:
                out[rel] = ("other", stat.S_IFMT(st.st_mode))
    return out


def _digest(p: Path, st: os.stat_result) -> str:
    if st.st_size > 256 * 2 ** 20:
        return f"size {st.st_size} mtime {st.st_mtime_ns}"
    h = hashlib.sha256()
    try:
        fd = os.open(p, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as e:
        return f"unreadable {e.errno}"
    with os.fdopen(fd, "rb") as fh:
        for chunk in iter(lambda: fh.read(2 ** 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _declared(rel: str, patterns: tuple[str, ...] | None) -> bool:
    return patterns is not None and any(fnmatch.fnmatchcase(rel, p) for p in patterns)


def _temporary(rel: str) -> bool:
    name = rel.rsplit("/", 1)[-1]
    return name.endswith(".part") or (name.startswith(".") and name.endswith(".lock")) or name.endswith(".probe")


def judge_files(case: Case, before: dict, after: dict, worked: bool) -> list[str]:
    why = []
    outputs = case.outputs
    for rel, was in before.items():
        now = after.get(rel)
        if now == was:
            continue
        in_env = rel == "env" or rel.startswith("env/")
        declared = worked and _declared(rel, outputs)
        if was[0] == "file" and (now is None or now[0] == "file") and (in_env or declared):
            continue                                   # an output (or a cache or settings file) rewritten or removed
        what = "removed" if now is None else "replaced by a " + now[0] if now[0] != was[0] else "changed"
        why.append(f"{rel} ({was[0]}) {what}")
    for rel in sorted(set(after) - set(before)):
        if rel == "env" or rel.startswith("env/"):
            continue
        if _temporary(rel):
            why.append(f"left behind {rel}")
        elif not worked:
            why.append(f"left behind {rel}")
        elif outputs is not None and not _declared(rel, outputs):
            why.append(f"wrote {rel}, not one of its outputs")
    return why


@dataclass
class Result:
    case: Case
    rc: int | None
    stdout: str
    stderr: str
    seconds: float
    why: list[str]

    @property
    def kept(self) -> bool:
        return not self.why


def run_case(case: Case, work: Path, index: int) -> Result:
    d = work / f"{index:04d}"
    if d.exists():
        _rmtree(d)
    d.mkdir(parents=True)
    prepare(d)
    try:
        for step in case.setup:
            step(d)
    except Exception as e:                     # a broken setup is the corpus's bug, not explorer's
        return Result(case, None, "", "", 0.0, [f"setup failed: {type(e).__name__}: {e}"])
    argv = [sub(a, d) for a in case.argv]
    env = case_env(d, case.env)
    before = snapshot(d)
    t0 = time.perf_counter()
    if case.expect == "gui":
        rc, out, err, why = _run_gui(argv, env, d)
    else:
        rc, out, err, why = _run(argv, env, d, case.timeout)
    seconds = time.perf_counter() - t0
    after = snapshot(d)
    if "Traceback" in out or "Traceback" in err:
        why.append("a traceback")
    if case.expect == "gui":
        why += [w for w in judge_files(case, before, after, worked=True) if not w.startswith(("wrote", "left behind"))]
    elif rc is not None:
        lines = [line for line in err.splitlines() if line.strip()]
        refused, worked = rc == 2, rc == 0
        if refused and case.expect in ("refused", "either"):
            if len(lines) != 1:
                why.append(f"{len(lines)} lines on stderr")
            elif not lines[0].startswith("explorer: error:"):
                why.append("its line is not an explorer error")
            why += judge_files(case, before, after, worked=False)
        elif worked and case.expect in ("works", "either"):
            why += judge_files(case, before, after, worked=True)
            if case.says and not __import__("re").search(case.says, out + err):
                why.append(f"does not say {case.says!r}")
            for rel in case.reopen:
                again = subprocess.run(EXPLORER + ["info", str(d / rel)], capture_output=True, text=True, env=env,
                                       timeout=TIMEOUT, stdin=subprocess.DEVNULL)
                if again.returncode != 0:
                    why.append(f"wrote {rel}, which explorer refuses to open: {again.stderr.strip()[-200:]}")
        else:
            expected = {"refused": "exit 2", "works": "exit 0"}.get(case.expect, "exit 0 or 2")
            why.append(f"exit {rc}, expected {expected}")
            why += judge_files(case, before, after, worked=False)
    else:
        why += judge_files(case, before, after, worked=False)
    result = Result(case, rc, _tail(out, d), _tail(err, d), seconds, why)
    _rmtree(d)
    return result


def _run(argv: list[str], env: dict, d: Path, timeout: float) -> tuple[int | None, str, str, list[str]]:
    p = subprocess.Popen(EXPLORER + argv, cwd=d, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, start_new_session=True)
    try:
        out, err = p.communicate(timeout=timeout)
        why = []
        if p.returncode < 0:
            why.append(f"killed by signal {-p.returncode} ({signal.Signals(-p.returncode).name})")
        return p.returncode, out.decode(errors="replace"), err.decode(errors="replace"), why
    except subprocess.TimeoutExpired:
        _kill(p)
        out, err = p.communicate()
        return None, out.decode(errors="replace"), err.decode(errors="replace"), [f"still running after {timeout:.0f} s"]


def _run_gui(argv: list[str], env: dict, d: Path) -> tuple[int | None, str, str, list[str]]:
    """The window: alive after GUI_WAIT seconds, then ended (SIGTERM, then SIGKILL)."""
    with tempfile.TemporaryFile() as fo, tempfile.TemporaryFile() as fe:
        p = subprocess.Popen(EXPLORER + argv, cwd=d, env=env, stdin=subprocess.DEVNULL, stdout=fo, stderr=fe,
                             start_new_session=True)
        end = time.monotonic() + GUI_WAIT
        while time.monotonic() < end and p.poll() is None:
            time.sleep(0.2)
        why = []
        rc = p.poll()
        if rc is not None:
            why.append(f"the window ended within {GUI_WAIT:.0f} s (exit {rc})")
        else:
            _kill(p)
        fo.seek(0)
        fe.seek(0)
        return rc, fo.read().decode(errors="replace"), fe.read().decode(errors="replace"), why


def _kill(p: subprocess.Popen) -> None:
    for sig, wait in ((signal.SIGTERM, 5), (signal.SIGKILL, 10)):
        try:
            os.killpg(p.pid, sig)
        except ProcessLookupError:
            return
        try:
            p.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def _tail(text: str, d: Path, n: int = 600) -> str:
    return text.replace(str(d), "{d}")[-n:]


def _rmtree(d: Path) -> None:
    for dirpath, dirnames, _ in os.walk(d):
        for name in dirnames:
            p = Path(dirpath) / name
            if not p.is_symlink():
                try:
                    os.chmod(p, 0o755)
                except OSError:
                    pass
    shutil.rmtree(d, ignore_errors=True)


def shown_argv(argv: list[str]) -> list[str]:
    return ["explorer"] + [a if len(a) <= 120 else f"{a[:60]}…({len(a):,} characters)" for a in argv]


# ============================================================================ main

def main(argv: list[str] | None = None) -> int:
    global FX
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--family", action="append", choices=list(FAMILIES), help="run only this family (may be repeated)")
    p.add_argument("--list", action="store_true", help="list the cases and exit")
    p.add_argument("--match", default=None, help="run only the cases whose name holds this text")
    p.add_argument("--json", default=None,
                   help=f"where to write the results (default, for a run of every case: {DEFAULT_JSON.relative_to(ROOT)}; "
                        "a run of some cases writes none unless asked)")
    p.add_argument("--fixtures", default=None,
                   help="build the shared fixtures here once, and reuse them (default: a temporary folder)")
    p.add_argument("--work", default=None, help="the folder the cases run in (default: a temporary folder, removed after)")
    p.add_argument("--broken-in", default=None, metavar="JSON",
                   help="run only the cases that broke the contract in this earlier result")
    p.add_argument("-v", "--verbose", action="store_true", help="print every case as it ends")
    args = p.parse_args(argv)

    cases = build_cases()
    subset = bool(args.family or args.match or args.broken_in)
    if args.family:
        cases = [c for c in cases if c.family in args.family]
    if args.match:
        cases = [c for c in cases if args.match in c.name]
    if args.broken_in:
        earlier = json.loads(Path(args.broken_in).read_text())["families"]
        broken = {(fam, b["name"]) for fam, v in earlier.items() for b in v["broken_cases"]}
        cases = [c for c in cases if (c.family, c.name) in broken]
    if args.list:
        for c in cases:
            print(f"{c.family:20} {c.expect:8} {c.name}")
        counts = {fam: sum(c.family == fam for c in cases) for fam in FAMILIES}
        print(f"{len(cases)} cases: " + ", ".join(f"{k} {v}" for k, v in counts.items() if v))
        return 0

    start = time.perf_counter()
    tmp = Path(tempfile.mkdtemp(prefix="explorer-hostile-"))
    try:
        FX = Path(args.fixtures) if args.fixtures else tmp / "fixtures"
        FX = FX.resolve()
        print(f"fixtures in {FX} …", file=sys.stderr, flush=True)
        build_fixtures(FX)
        work = Path(args.work).resolve() if args.work else tmp / "cases"
        work.mkdir(parents=True, exist_ok=True)
        results = []
        for i, case in enumerate(cases):
            r = run_case(case, work, i)
            results.append(r)
            if args.verbose or not r.kept:
                mark = "ok    " if r.kept else "BROKEN"
                print(f"[{i + 1}/{len(cases)}] {mark} {case.family}: {case.name} ({r.seconds:.1f} s)"
                      + ("" if r.kept else f"\n        {'; '.join(r.why)}\n        stderr: {r.stderr[-300:]!r}"),
                      file=sys.stderr, flush=True)
    finally:
        if not args.work:
            _rmtree(tmp)
    seconds = time.perf_counter() - start
    report = summarise(results, seconds, argv if argv is not None else sys.argv[1:])
    print_table(report)
    if args.json or not subset:
        out = Path(args.json or DEFAULT_JSON)
        out.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(report, indent=1, ensure_ascii=False) + "\n"
        tmp_out = out.with_name(f".{out.name}.part")
        tmp_out.write_text(text, encoding="utf-8")
        os.replace(tmp_out, out)
        print(f"wrote {out}", file=sys.stderr)
    return 0 if report["broken"] == 0 else 1


def summarise(results: list[Result], seconds: float, argv: list[str]) -> dict:
    sys.path.insert(0, str(ROOT))
    from explorer import __version__

    families = {}
    for fam in FAMILIES:
        rs = [r for r in results if r.case.family == fam]
        if not rs:
            continue
        broken = [r for r in rs if not r.kept]
        families[fam] = {
            "tried": len(rs), "kept": len(rs) - len(broken), "broken": len(broken),
            "seconds": round(sum(r.seconds for r in rs), 1),
            "broken_cases": [{"name": r.case.name, "argv": shown_argv(r.case.argv),
                              "env": {k: v for k, v in r.case.env.items()}, "expected": r.case.expect, "rc": r.rc,
                              "why": r.why, "stderr_tail": r.stderr[-400:]} for r in broken]}
    return {"command": "python scripts/hostile_corpus.py" + ("" if not argv else " " + " ".join(argv)),
            "explorer": __version__, "python": platform.python_version(), "platform": platform.platform(),
            "cpus": os.cpu_count(), "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
            "contract": "refused: exit 2, one line on stderr (explorer: error: ...), no traceback, nothing left, nothing "
                        "existing changed; works: exit 0, no traceback, only declared outputs changed (special files and "
                        "links kept), written models open; gui: the window alive after "
                        f"{GUI_WAIT:.0f} s without a traceback; every call within its timeout ({TIMEOUT:.0f} s)",
            "seconds": round(seconds, 1), "tried": len(results), "kept": sum(r.kept for r in results),
            "broken": sum(not r.kept for r in results), "families": families}


def print_table(report: dict) -> None:
    rows = [(fam, v["tried"], v["kept"], v["broken"], v["seconds"]) for fam, v in report["families"].items()]
    print(f"{'family':22} {'tried':>6} {'kept':>6} {'broken':>7} {'seconds':>8}")
    for fam, tried, kept, broken, secs in rows:
        print(f"{fam:22} {tried:6d} {kept:6d} {broken:7d} {secs:8.1f}")
    print(f"{'all':22} {report['tried']:6d} {report['kept']:6d} {report['broken']:7d} {report['seconds']:8.1f}")


if __name__ == "__main__":
    raise SystemExit(main())
