"""Parsing only: argparse types that check ranges, the argument groups several commands share, the
RunSpec of a command's run arguments, and the two ways a command writes JSON and records itself."""
from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from explorer.core.errors import UsageError
from explorer.core.files import schema
from explorer.core.files.io import json_text, printable

if TYPE_CHECKING:
    from explorer.core.models import RunSpec

class Parser(argparse.ArgumentParser):
    """argparse, but a bad argument is one line on stderr (and exit status 2), like every other error."""

    def error(self, message: str):
        self.exit(2, f"explorer: error: {self.prog}: {printable(message)} (see {self.prog} --help)\n")

def number_in(kind: type, lo, hi):
    """An argparse type: an integer (kind int) or a finite number (kind float) in [lo, hi]."""
    def parse(text: str):
        try:
            v = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text[:40]!r} is not {'an integer' if kind is int else 'a number'}") from None
        if not lo <= v <= hi:
            shown = text[:40] if kind is float else v if abs(v) < 10 ** 20 else text[:20] + "..."
            raise argparse.ArgumentTypeError(f"{shown} is not in {lo}..{hi}")
        return v
    return parse

def int_in(lo: int, hi: int):
    return number_in(int, lo, hi)

def float_in(lo: float, hi: float):
    return number_in(float, lo, hi)

SEED = int_in(0, schema.MAX_SEED)

STEPS = int_in(1, schema.MAX_STEPS)

TRAIN_STEPS = int_in(1, 10_000_000)

def ints(text: str, what: str) -> list[int]:
    try:
        return [int(v) for v in text.split(",")]
    except ValueError:
        raise UsageError(f"{what} must be comma-separated integers, not {text!r}") from None

def floats(text: str, what: str) -> list[float]:
    try:
        return [float(v) for v in text.split(",")]
    except ValueError:
        raise UsageError(f"{what} must be comma-separated numbers, not {text!r}") from None

def run_spec(args, **fixed) -> "RunSpec":
    """The RunSpec of a command's run arguments (sampler and steps None: the model's defaults)."""
    from explorer.core.models import RunSpec
    values = {k: getattr(args, k) for k in ("sampler", "steps", "n", "seed", "device", "coarse_sampler", "coarse_steps")
              if hasattr(args, k)}
    return RunSpec(**{**values, **fixed})

def command_line() -> str:
    return "explorer " + " ".join(shlex.quote(a) for a in sys.argv[1:])

def write_json(path: str, value) -> None:
    from explorer.core.files.io import atomic_write
    atomic_write(Path(path), lambda f: f.write((json_text(value) + "\n").encode()))

def data_arguments(t) -> None:
    t.add_argument("--data", required=True,
                   help="shapes, phi4, turbulence, cosmic_web, or a folder of images / a .npy or .npz array")
    t.add_argument("--data-params", default=None, help="JSON of generator parameters, e.g. '{\"beta\": 0.69}'")
    t.add_argument("--data-seed", type=SEED, default=0)
    t.add_argument("--n", type=int_in(1, schema.MAX_TRAIN_IMAGES), required=True, help="training-set size N")
    t.add_argument("--split", choices=["S1", "S2", "all"], default="S1")
    t.add_argument("--size", type=int_in(4, schema.MAX_SIZE), default=32)
    t.add_argument("--channels", type=int, choices=[1, 3], default=None,
                   help="1 (grey) or 3 (colour); default: 3 for colour images of your own, else 1")

def fit_arguments(t) -> None:
    t.add_argument("--blocks", type=int_in(1, 16), default=1)
    t.add_argument("--steps", type=TRAIN_STEPS, default=3000)
    t.add_argument("--batch", type=int_in(1, 4096), default=64)
    t.add_argument("--lr", type=float_in(1e-8, 1.0), default=2e-3)
    t.add_argument("--lr-schedule", choices=["constant", "cosine"], default="constant",
                   help="cosine: decay to lr/50 at the last step")
    t.add_argument("--monitor-every", type=int_in(0, 10_000_000), default=0,
                   help="record the training-set denoising error at the lowest noise levels every K steps")
    t.add_argument("--seed", type=SEED, default=0)
    t.add_argument("--bf16", action="store_true", help="bf16 autocast (faster on recent CPUs)")
    t.add_argument("--save-every", type=TRAIN_STEPS, default=500)
    t.add_argument("--device", default="auto")
    t.add_argument("--name", default=None)
    t.add_argument("--description", default="")
    t.add_argument("--out", required=True)

def run_arguments(s, n: int | None, sampler: str | None = None) -> None:
    s.add_argument("--sampler", default=sampler, help="sde, ode, ddim, ascent, ... (default: "
                   + (sampler or "the model's first") + "; `explorer info` lists a model's)")
    s.add_argument("--steps", type=STEPS, default=None, help="default: the model's for that sampler "
                   "(a WCRG model: per scale; the ascent: the most iterations)")
    s.add_argument("--n", type=int_in(1, schema.MAX_SAMPLES), default=n, help="number of samples (default: "
                   + (str(n) if n else "16, fewer for large images: at most 16 x 64 x 64 values") + ")")
    s.add_argument("--seed", type=SEED, default=0)
    s.add_argument("--device", default="cpu", help="auto, cpu or cuda (default cpu)")
    s.add_argument("--coarse-sampler", default=None, help="a WCRG model: the sampler of its coarse scale x_J "
                   "(default: that of the details)")
    s.add_argument("--coarse-steps", type=STEPS, default=None, help="a WCRG model: the steps of x_J (default: "
                   "those of the details)")
