"""Checks of values read from files and arguments: types, ranges and limits, with messages that
say what is wrong and what would be accepted. Every config, index and run file goes through
these before any tensor is allocated; the limits below are the budget explorer works within."""
from __future__ import annotations

import math

from explorer.core.errors import ExplorerError

MAX_PARAMETERS = 50_000_000          # a denoiser's parameters (200 MB of float32)
MAX_RUN_BYTES = 4 * 2 ** 30          # the tensors a run keeps (all frames, x_t and x0_hat)
MAX_SAMPLES = 100_000                # samples per run
MAX_STEPS = 10_000                   # sampler steps per run (per scale for a WCRG model)
MAX_TRAIN_IMAGES = 1_000_000         # N of a training set
MAX_DATA_BYTES = 4 * 2 ** 30         # a training set in memory
MAX_SIZE = 1024                      # image side
MAX_SEED = 2 ** 63 - 1

_MISSING = object()


def value(d: dict, key: str, kind: type, where: str, error: type[ExplorerError], *, lo=None, hi=None,
          choices=None, default=_MISSING):
    """d[key] checked: of `kind` (int excludes bool; float accepts int and must be finite), in
    [lo, hi], one of `choices`; `default` when absent (else missing is an error)."""
    label = f"{where}: '{key}'" if where else key
    if key not in d:
        if default is _MISSING:
            raise error(f"{label} is missing", field=key)
        return default
    v = d[key]
    ok = (isinstance(v, int) and not isinstance(v, bool) if kind is int else
          is_finite_number(v) if kind is float else isinstance(v, kind))
    if not ok:
        raise error(f"{label} must be {_NAMES.get(kind, kind.__name__)}, not {_show(v)}", field=key)
    if choices is not None and v not in choices:
        raise error(f"{label} is {_show(v)}; accepted: {', '.join(map(str, choices))}", field=key)
    if (lo is not None and v < lo) or (hi is not None and v > hi):
        raise error(f"{label} is {_show(v)}; accepted: {_range(lo, hi)}", field=key)
    return float(v) if kind is float else v


def is_finite_number(v) -> bool:
    """An int or float (not a bool) that is a finite float (10**400 is not)."""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return False
    try:
        return math.isfinite(float(v))
    except OverflowError:
        return False


def number(v, name: str, error: type[ExplorerError], lo=None, hi=None, kind: type = int, field: str | None = None):
    """An argument checked like `value`; the message names it `name` (e.g. "--steps"), the error's
    `field` is `field` (default: the name)."""
    try:
        return value({name: v}, name, kind, "", error, lo=lo, hi=hi)
    except ExplorerError as e:
        e.field = field or name
        raise


def dict_of(d: dict, key: str, where: str, error: type[ExplorerError], default=_MISSING) -> dict:
    v = value(d, key, dict, where, error, default=default)
    return {} if v is None else v


def _range(lo, hi) -> str:
    if lo is not None and hi is not None:
        return f"{lo} to {hi}"
    return f"at least {lo}" if lo is not None else f"at most {hi}"


def _show(v) -> str:
    text = repr(v)
    return text if len(text) <= 40 else text[:37] + "..."


_NAMES = {int: "an integer", float: "a finite number", str: "a string", bool: "true or false", list: "a list",
          dict: "an object"}
