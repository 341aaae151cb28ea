"""Checkpoints: one .safetensors file per model, its JSON config in the file's metadata.

The config (metadata key "explorer") holds: format, version, kind, name, description, arch
(a UNetConfig), data (name, params, n, split, seed, mean, std) and training (steps, batch, lr,
seed, final loss, seconds, command). `load` validates all of it and raises a specific
CheckpointError that says what is wrong and what to do. Nothing is ever unpickled.
"""
from __future__ import annotations

import hashlib
import json
import math
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save as st_save

from explorer import __version__
from explorer.core.data import check_record, data_shape
from explorer.core.errors import (
    CheckpointError,
    ConfigError,
    MissingKeys,
    NotASafetensorsFile,
    ShapeMismatch,
    TruncatedCheckpoint,
    UnknownKind,
    UsageError,
)
from explorer.core.files import schema
from explorer.core.files.io import parse_json, read_regular
from explorer.core.models.base import check_default_run
from explorer.core.nets.unet import Denoiser, UNetConfig, count_parameters
from explorer.core.sampling.catalogue import DEFAULT_STEPS

FORMAT = "explorer-checkpoint"
KINDS = ("diffusion", "wcrg-lowpass", "wcrg-conditional")
_MAX_HEADER = 100 * 2 ** 20
MAX_CHECKPOINT_BYTES = 2 ** 30
FLOAT_DTYPES = (torch.float16, torch.bfloat16, torch.float32, torch.float64)   # what a tensor may hold (no float8)
MAX_CONFIG_CHARS = 2 ** 20


@dataclass
class Checkpoint:
    """A loaded, validated checkpoint file of any kind: `denoiser(x_t, t[, cond]) -> x0_hat`, in
    eval mode on the CPU. A `diffusion` one is run as a Model by `diffusion.DiffusionModel`."""

    path: Path
    config: dict
    denoiser: Denoiser
    sha256: str

    @property
    def name(self) -> str:
        return self.config.get("name") or self.path.stem

    @property
    def kind(self) -> str:
        return self.config["kind"]

    @property
    def image_shape(self) -> tuple[int, int, int]:
        a = self.config["arch"]
        return (a["channels"], a["size"], a["size"])

    @property
    def parameters(self) -> int:
        return count_parameters(self.denoiser)

    def summary(self) -> dict:
        """What `explorer info` prints and the window shows."""
        return {"name": self.name, "path": str(self.path), "sha256": self.sha256, "kind": self.kind,
                "image_shape": list(self.image_shape), "parameters": self.parameters, **self.config}


def _about_eight(n: int) -> list[int]:
    """About eight evenly spaced indices of a recorded curve of n points, the last included."""
    return sorted(set(range(0, n, max(1, n // 8))) | {n - 1})


def loss_curve_text(curve: list) -> str:
    """The training loss by step, about eight points of a recorded loss curve (`train.LOSS_EVERY`)."""
    return "by step: " + ", ".join(f"{curve[i][0]}: {curve[i][1]:.4f}" for i in _about_eight(len(curve)))


def describe_file_model(model, headline: str, extra: list[str]) -> str:
    """What `explorer info` prints for a model of one file (a scattering, a Gaussian model): the
    headline, file, hash, description, data record, the `extra` lines, who made it, the version."""
    d, t = model.data, model.config.get("training") or {}
    lines = [f"{model.name}  ({headline})", f"  file      {model.path}", f"  sha256    {model.sha256}"]
    if model.config.get("description"):
        lines.append(f"  about     {model.config['description']}")
    if d:
        lines.append(f"  data      {d.get('name')} N={d.get('n')} split={d.get('split')} seed={d.get('seed')} "
                     f"params={json.dumps(d.get('params', {}))}")
    lines += extra
    if t.get("command"):
        lines.append(f"  made by   {t['command']}")
    lines.append(f"  version   {model.config.get('version')}")
    return "\n".join(lines)


def describe(ckpt: "Checkpoint") -> str:
    """A few lines a person reads: what the model is, its data, and how it was trained."""
    s = ckpt.summary()
    lines = [f"{s['name']}  ({s['kind']}, {s['parameters']:,} parameters, image {tuple(s['image_shape'])})",
             f"  file      {s['path']}", f"  sha256    {s['sha256']}"]
    if s.get("description"):
        lines.append(f"  about     {s['description']}")
    d = s.get("data") or {}
    if d:
        lines.append(f"  data      {d.get('name')} N={d.get('n')} split={d.get('split')} seed={d.get('seed')} "
                     f"params={json.dumps(d.get('params', {}))}")
    a = s["arch"]
    lines.append(f"  arch      widths={a['widths']} blocks={a['blocks']} bias_free={a['bias_free']} "
                 f"padding={a['padding']} sigma_data={a['sigma_data']}")
    lines += _training_lines(s.get("training") or {})
    lines.append(f"  version   {s.get('version')}")
    return "\n".join(lines)


def _training_lines(t: dict, indent: str = "  ") -> list[str]:
    """How a network was trained; a run started from another checkpoint (`train --init`) then
    says how that one was trained, indented."""
    if not t:
        return []
    levels = f" noise_levels={t['noise_levels']}" if t.get("noise_levels") else ""
    lines = [f"{indent}training  steps={t.get('steps')} batch={t.get('batch')} lr={t.get('lr')} seed={t.get('seed')} "
             f"final_loss={t.get('final_loss')} device={t.get('device')}{levels}"]
    curve = t.get("monitor") or []
    if curve:
        level = next(iter(curve[0]["mse"]))
        lines.append(f"{indent}monitor   training-set MSE of x0_hat at s = {level}, by step: "
                     + ", ".join(f"{curve[i]['step']}: {curve[i]['mse'][level]:.2e}" for i in _about_eight(len(curve))))
    if t.get("loss_curve"):
        lines.append(f"{indent}loss      {loss_curve_text(t['loss_curve'])}")
    if t.get("command"):
        lines.append(f"{indent}made by   {t['command']}")
    if isinstance(t.get("init"), dict):
        lines.append(f"{indent}started from {t['init'].get('file')} (sha256 {str(t['init'].get('sha256'))[:12]}…), "
                     "which was trained so:")
        lines += _training_lines(t["init"], indent + "  ")
    return lines


def build_model(config: dict, path: Path | str = "the checkpoint") -> Denoiser:
    """The (untrained) denoiser a validated config describes."""
    return Denoiser(UNetConfig.from_dict(dict(config["arch"]), f"{path}: arch"))


def make_config(kind: str, arch: UNetConfig, name: str, description: str = "", data: dict | None = None,
                training: dict | None = None, **extra) -> dict:
    if kind not in KINDS:
        raise UnknownKind(f"unknown model kind {kind!r}; explorer knows {', '.join(KINDS)}")
    return {"format": FORMAT, "version": __version__, "kind": kind, "name": name, "description": description,
            "arch": arch.to_dict(), "data": data or {}, "training": training or {}, **extra}


def to_bytes(model: torch.nn.Module, config: dict) -> bytes:
    state = {k: v.detach().to("cpu", torch.float32).contiguous() for k, v in model.state_dict().items()}
    return st_save(state, metadata={"explorer": json.dumps(config)})


def rewrite_default_run(path: str | Path, default_run: dict, opener=None, check=None) -> Path:
    """The checkpoint at `path` with `default_run` in the config it holds, its tensors unchanged
    (byte for byte), written atomically and read back before it replaces the file (by `opener`,
    default `load`; `check` validates the config as `read_config` does, for another kind of file)."""
    from explorer.core.files.io import atomic_write

    path = Path(path)
    blob = _read_file(path)
    config = {**read_config(path, blob, check), "default_run": default_run}
    new = st_save(read_tensors(path, blob), metadata={"explorer": json.dumps(config)})
    return atomic_write(path, lambda f: f.write(new), verify=opener or (lambda tmp: load(tmp, config["kind"])))


def save(path: str | Path, model: torch.nn.Module, config: dict) -> Path:
    """Write model weights and config to `path` atomically (a temporary file, read back by `load`
    as a user's file would be, then a rename): a file explorer writes is a file it opens."""
    from explorer.core.files.io import atomic_write

    blob = to_bytes(model, config)
    return atomic_write(Path(path), lambda f: f.write(blob), verify=lambda tmp: load(tmp, config["kind"]))


def check_writable(name: str, description: str, data: dict, where: str = "the arguments") -> None:
    """What `load` will demand of the config of a model about to be made, applied before the work
    that makes it: the name and description within their limits, the data record strict JSON (a
    constant training set gives no NaN statistics), and small enough to leave the training record
    room within MAX_CONFIG_CHARS. Raises a UsageError naming what to change."""
    for key, text, limit in (("name", name, 200), ("description", description, 10_000)):
        if len(text) > limit:
            raise UsageError(f"{where}: the {key} has {len(text):,} characters; at most {limit:,} are accepted")
    try:
        size = len(json.dumps(data, allow_nan=False))
    except ValueError:
        raise UsageError(f"{where}: a statistic of the training data is not a number (NaN or infinite): "
                         f"a training set of constant images has none") from None
    if size > MAX_CONFIG_CHARS // 2:
        raise UsageError(f"{where}: the data record takes {size:,} characters in the model's config, more than the "
                         f"{MAX_CONFIG_CHARS // 2:,} it may (shorten --data-params)")


def _read_header(path: Path, blob: bytes) -> dict:
    if len(blob) == 0:
        raise TruncatedCheckpoint(f"{path}: the file is empty")
    if len(blob) < 8:
        raise TruncatedCheckpoint(f"{path}: the file is truncated ({len(blob)} bytes)")
    (n,) = struct.unpack("<Q", blob[:8])
    if n > _MAX_HEADER or blob[8:9] not in (b"{", b""):
        hint = (" (it is a zip archive: a saved run (.npz) opens with File → Open run or `explorer export RUN.npz`; "
                "a PyTorch .pt file is a pickle, which explorer never unpickles)" if blob[:2] == b"PK" else
                " (it looks like a pickle: explorer never unpickles files)" if blob[:1] == b"\x80" else "")
        raise NotASafetensorsFile(f"{path}: not a safetensors file{hint}; save models with `explorer train`")
    if 8 + n > len(blob):
        raise TruncatedCheckpoint(f"{path}: the file is truncated (header says {n} bytes, the file has {len(blob) - 8})")
    header = parse_json(blob[8:8 + n], f"{path}: the safetensors header", NotASafetensorsFile, max_depth=4)
    if not isinstance(header, dict):
        raise NotASafetensorsFile(f"{path}: not a safetensors file (its header is not a JSON object)")
    meta = header.get("__metadata__", {})
    if not isinstance(meta, dict) or not all(isinstance(v, str) for v in meta.values()):
        raise NotASafetensorsFile(f"{path}: not a safetensors file (its __metadata__ is not an object of strings)")
    end = 0
    for key, info in header.items():
        if key == "__metadata__":
            continue
        offsets = info.get("data_offsets") if isinstance(info, dict) else None
        if not (isinstance(offsets, list) and len(offsets) == 2 and all(type(o) is int for o in offsets)
                and 0 <= offsets[0] <= offsets[1]):
            raise NotASafetensorsFile(f"{path}: not a safetensors file (entry {key!r} is malformed)")
        end = max(end, offsets[1])
    if 8 + n + end > len(blob):
        raise TruncatedCheckpoint(f"{path}: the file is truncated: the tensors need {end} bytes, "
                                  f"{len(blob) - 8 - n} are there; copy or re-download it")
    return header


DTYPES = {"F64": torch.float64, "F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16,
          "I64": torch.int64, "I32": torch.int32, "I16": torch.int16, "I8": torch.int8, "U8": torch.uint8,
          "BOOL": torch.bool}                                 # safetensors' names of the dtypes explorer reads
MAX_DIMS = 8


def read_tensors(path: Path, blob: bytes) -> dict[str, torch.Tensor]:
    """The tensors of a safetensors file's bytes, each checked against its header entry and
    copied out on its own. safetensors' own `load` holds the GIL for its whole copy (80-125 ms for
    0.19 GiB, measured: the window beside it stalled that long); a numpy copy per tensor lets the
    GUI thread in between (2-5 ms). Little-endian, as the format is; writing stays safetensors'."""
    header = _read_header(path, blob)
    start = 8 + struct.unpack("<Q", blob[:8])[0]
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dtype, shape = DTYPES.get(info.get("dtype")), info.get("shape")
        if dtype is None:
            raise NotASafetensorsFile(f"{path}: tensor {name!r} has dtype {str(info.get('dtype'))[:20]!r}, which "
                                      f"explorer does not read (it reads {', '.join(DTYPES)})")
        if not (isinstance(shape, list) and len(shape) <= MAX_DIMS and all(type(d) is int and d >= 0 for d in shape)):
            raise NotASafetensorsFile(f"{path}: tensor {name!r} has a malformed shape")
        begin, end = info["data_offsets"]                        # ints within the file (`_read_header`)
        if math.prod(shape) * dtype.itemsize != end - begin:
            raise NotASafetensorsFile(f"{path}: tensor {name!r} of shape {shape} needs "
                                      f"{math.prod(shape) * dtype.itemsize} bytes, its entry gives {end - begin}")
        if end == begin:
            tensors[name] = torch.empty(shape, dtype=dtype)
            continue
        raw = np.frombuffer(blob, np.uint8, end - begin, start + begin).copy()
        tensors[name] = torch.from_numpy(raw).view(dtype).reshape(shape)
    return tensors


def read_config(path: str | Path, blob: bytes | None = None, check=None) -> dict:
    """The JSON config of a checkpoint, validated field by field (tensors not loaded) by
    `check(config, path)` (default `check_config`; another kind of model file passes its own)."""
    path = Path(path)
    if blob is None:
        blob = _read_file(path)
    meta = _read_header(path, blob).get("__metadata__", {})
    if "explorer" not in meta:
        raise ConfigError(f"{path}: a safetensors file, but not an explorer checkpoint (no 'explorer' config in its metadata)")
    if len(meta["explorer"]) > MAX_CONFIG_CHARS:
        raise ConfigError(f"{path}: the config has {len(meta['explorer']):,} characters, more than the "
                          f"{MAX_CONFIG_CHARS:,} explorer reads")
    return (check or check_config)(parse_json(meta["explorer"], f"{path}: the checkpoint's config", ConfigError), path)


def check_header(config: object, path: Path | str, kind: str, what: str, samplers: tuple[str, ...] = ()) -> dict:
    """The part every statistics model's config shares (a scattering, a Gaussian model): the
    format, its kind, the name and description, the training record's command, and the default
    run among `samplers` (none: the kind's file holds no default run)."""
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise ConfigError(f"{path}: the config does not say format={FORMAT!r}")
    if config.get("kind") != kind:
        raise UnknownKind(f"{path}: a {str(config.get('kind'))[:40]!r} model, not {what}")
    check_names(config, path)
    training = schema.dict_of(config, "training", str(path), ConfigError, default={})
    schema.value(training, "command", str, f"{path}: training", ConfigError, default="")
    if samplers:
        check_default_run(config.get("default_run"), samplers, str(path), ConfigError)
    else:
        no_default_run(config, path, what)
    return config


def read_model_file(path: Path, what: str, check) -> tuple[bytes, dict, dict]:
    """A model file's bytes, its config (checked by `check(config, path)`) and its tensors; every
    problem is a CheckpointError that says what."""
    blob = read_regular(path, what, MAX_CHECKPOINT_BYTES, CheckpointError)
    config = read_config(path, blob, check=check)
    return blob, config, read_tensors(path, blob)


def check_names(config: dict, path: Path | str) -> None:
    """The name and description of any model file's config: strings of at most 200 and 10 000 characters."""
    for key, limit in (("name", 200), ("description", 10_000)):
        text = schema.value(config, key, str, str(path), ConfigError, default="")
        if len(text) > limit:
            raise ConfigError(f"{path}: the {key} has {len(text)} characters, at most {limit} are accepted")


def check_config(config: object, path: Path | str) -> dict:
    """A checkpoint's config checked before anything is built: format and kind, the architecture
    (types, ranges, parameter budget) and its fit to the kind, the data record, the training
    record's monitor curve. Raises ConfigError / UnknownKind."""
    if not isinstance(config, dict) or config.get("format") != FORMAT:
        raise ConfigError(f"{path}: the config does not say format={FORMAT!r}")
    if config.get("kind") not in KINDS:
        raise UnknownKind(f"{path}: unknown model kind {config.get('kind')!r}; explorer knows {', '.join(KINDS)}")
    if "arch" not in config:
        raise ConfigError(f"{path}: the config has no 'arch' (architecture) entry")
    check_names(config, path)
    arch = UNetConfig.from_dict(config["arch"], f"{path}: arch")
    conditional = config["kind"] == "wcrg-conditional"
    if conditional != (arch.cond_channels > 0) or (conditional and arch.channels != 3 * arch.cond_channels):
        raise ConfigError(f"{path}: a {config['kind']!r} model needs cond_channels "
                          + ("= channels / 3 (the low-pass of 3 detail bands)" if conditional else "= 0")
                          + f", not {arch.cond_channels} with {arch.channels} channels")
    data = schema.dict_of(config, "data", str(path), ConfigError, default={})
    if data:
        check_record(data, f"{path}: data", ConfigError)
        side, channels = data_shape(data)
        if config["kind"] == "diffusion" and (side, channels) != (arch.size, arch.channels):
            raise ConfigError(f"{path}: the data are {channels} x {side} x {side} images but the network makes "
                              f"{arch.channels} x {arch.size} x {arch.size}")
    _check_training(schema.dict_of(config, "training", str(path), ConfigError, default={}), f"{path}: training")
    if config["kind"] == "diffusion":
        check_default_run(config.get("default_run"), tuple(DEFAULT_STEPS), str(path), ConfigError)
    else:
        no_default_run(config, path, "a WCRG's network (its index has one)")
    return config


def no_default_run(config: dict, path: Path | str, what: str) -> None:
    """A model file whose kind has no default run of its own says none (a ConfigError)."""
    if "default_run" in config:
        raise ConfigError(f"{path}: {what} has no default run of its own: remove 'default_run'")


def _check_training(training: dict, where: str, depth: int = 0) -> None:
    """The parts of a training record that are read back: its monitor and loss curves, its command,
    and the record of the checkpoint it started from (`init`, itself a training record)."""
    monitor = schema.value(training, "monitor", list, where, ConfigError, default=[])
    for row in monitor:
        if not (isinstance(row, dict) and type(row.get("step")) is int and isinstance(row.get("mse"), dict) and row["mse"]
                and set(row["mse"]) == set(monitor[0]["mse"]) and all(map(schema.is_finite_number, row["mse"].values()))):
            raise ConfigError(f"{where}: each monitor entry must be {{'step': int, 'mse': {{level: number}}}} "
                              "with the same levels")
    losses = schema.value(training, "loss_curve", list, where, ConfigError, default=[])
    if not all(isinstance(r, list) and len(r) == 2 and type(r[0]) is int and schema.is_finite_number(r[1]) for r in losses):
        raise ConfigError(f"{where}: each loss_curve entry must be [step, loss]")
    schema.value(training, "command", str, where, ConfigError, default="")
    init = schema.value(training, "init", dict, where, ConfigError, default=None)
    if init is not None:
        if depth >= 16:
            raise ConfigError(f"{where}: more than 16 nested 'init' records")
        _check_training(init, f"{where}: init", depth + 1)


def _read_file(path: Path) -> bytes:
    return read_regular(path, "checkpoint", MAX_CHECKPOINT_BYTES, CheckpointError)


def load(path: str | Path, expect_kind: str | tuple[str, ...] | None = None) -> Checkpoint:
    """Read, validate and build the model of a checkpoint file."""
    path = Path(path)
    blob = _read_file(path)
    config = read_config(path, blob)
    if expect_kind is not None:
        kinds = (expect_kind,) if isinstance(expect_kind, str) else expect_kind
        if config["kind"] not in kinds:
            raise UnknownKind(f"{path}: a {config['kind']!r} model, but this needs {' or '.join(kinds)}")
    model = build_model(config, path)
    state = read_tensors(path, blob)
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    if missing or unexpected:
        raise MissingKeys(f"{path}: the weights do not match the config: "
                          + (f"missing {missing[:3]}{'...' if len(missing) > 3 else ''} " if missing else "")
                          + (f"unexpected {unexpected[:3]}{'...' if len(unexpected) > 3 else ''}" if unexpected else ""))
    for k, v in expected.items():
        if tuple(state[k].shape) != tuple(v.shape):
            raise ShapeMismatch(f"{path}: tensor {k!r} has shape {tuple(state[k].shape)}, the config needs {tuple(v.shape)}")
        if state[k].dtype not in FLOAT_DTYPES:
            raise ShapeMismatch(f"{path}: tensor {k!r} has dtype {state[k].dtype}, expected float16, bfloat16, "
                                "float32 or float64")
        if not bool(torch.isfinite(state[k]).all()):
            raise CheckpointError(f"{path}: tensor {k!r} holds NaN or infinite values; the file is damaged")
    model.load_state_dict({k: v.float() for k, v in state.items()})
    model.eval()
    return Checkpoint(path=path, config=config, denoiser=model, sha256=hashlib.sha256(blob).hexdigest())
