"""Data sets and the S1/S2 splits, rebuilt exactly from a checkpoint's `data` record.

A data record is {"name": "shapes" | "phi4" | "turbulence" | "cosmic_web" | "user", "params": {...}, "n": N,
"split": "S1" | "S2" | "all", "seed": s} (+ "path" for user data). Candidates come in a fixed
order (a seeded stream, or the user's files in sorted order); a candidate is kept only if its
cosine similarity (mean removed) to every kept one is <= 0.95; kept images alternate between
S1 (even ranks) and S2 (odd ranks). So S1 and S2 are disjoint, free of near-duplicates, and the
set of N is a prefix of the set of N' > N. `split = "all"` takes the first N kept images.
phi4 fields come from Markov chains and turbulence fields from runs of a flow, where successive
draws of one chain or run are correlated: there S1 and S2 each have their own chains or runs
(seeds `seed` and `seed + S2_SEED`), never shared.
Built sets are cached under the user cache directory, keyed by the whole record.
"""
from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import stat
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from explorer.core import interrupt
from explorer.core.errors import DataError, ExplorerError, UsageError

_log = logging.getLogger("explorer")

DUPLICATE_COSINE = 0.95
SPLITS = ("S1", "S2", "all")
S2_SEED = 104729                    # S2's phi4 chains and turbulence runs are seeded apart from S1's
FIELDS = ("phi4", "turbulence")     # data sets of signed fields, shown with a diverging colour map
MAGNETISED = ("phi4",)              # fields whose mean |m| (the magnetisation) is an order parameter
PERIODIC = ("phi4", "turbulence", "cosmic_web")   # fields on a torus: their networks pad circularly


# the generators' parameters: (type, low, high) per name
PARAMS = {
    "shapes": {"size": (int, 4, 1024), "blur": (float, 0.0, 10.0), "harmonics": (int, 1, 64),
               "decay_min": (float, 0.0, 10.0), "decay_max": (float, 0.0, 10.0)},
    "phi4": {"L": (int, 4, 256), "beta": (float, 0.01, 10.0), "lam": (float, 0.0, 100.0),
             "clusters": (int, 0, 4)},          # Swendsen-Wang updates per sweep (explorer phi4 --clusters)
    "turbulence": {"size": (int, 16, 256), "k_f": (float, 1.0, 64.0), "mu": (float, 0.0, 10.0),
                   "nu": (float, 0.0, 1.0), "nu_h": (float, 0.0, 1.0), "eps": (float, 1e-6, 100.0),
                   "dt": (float, 1e-4, 1.0), "k_drag": (float, 0.0, 256.0), "grid": (int, 16, 512)},
    "cosmic_web": {"size": (int, 8, 1024), "box": (float, 1.0, 10_000.0), "depth": (float, 0.1, 10_000.0),
                   "z": (float, 0.0, 20.0)},
    "user": {"size": (int, 4, 1024), "channels": (int, 1, 3)},
}


def check_record(data: object, where: str, error: type[ExplorerError] = DataError) -> dict:
    """A data record (see the module's docstring) checked field by field before any work: the
    generator's parameters by name, type and range, N within the budget. Returns it."""
    from explorer.core.files import schema

    if not isinstance(data, dict):
        raise error(f"{where}: the data record must be an object, not {type(data).__name__}")
    name = schema.value(data, "name", str, where, error, choices=tuple(PARAMS))
    n = schema.value(data, "n", int, where, error, lo=1, hi=schema.MAX_TRAIN_IMAGES)
    schema.value(data, "split", str, where, error, choices=SPLITS, default="S1")
    schema.value(data, "seed", int, where, error, lo=0, hi=schema.MAX_SEED, default=0)
    params = schema.dict_of(data, "params", where, error, default={})
    for key, v in params.items():
        if key not in PARAMS[name]:
            raise error(f"{where}: {name} data has no parameter {key!r}; it has {', '.join(PARAMS[name])}")
        kind, lo, hi = PARAMS[name][key]
        schema.value(params, key, kind, f"{where}: params", error, lo=lo, hi=hi)
    if params.get("decay_min", 0.6) > params.get("decay_max", 1.6):
        raise error(f"{where}: params: decay_min must not exceed decay_max")
    if name == "turbulence" and ({"grid", "k_drag", "k_f"} & set(params)):
        from explorer.core.data import turbulence
        try:                                        # grid >= size, the forcing on the grid, the drag below it
            turbulence.parameters(int(params.get("size", 32)), error=error,
                                  **{k: v for k, v in params.items() if k != "size"})
        except ExplorerError as e:
            raise error(f"{where}: params: {e}") from None
    if name == "cosmic_web" and params.get("depth", 16.0) > params.get("box", 256.0):
        raise error(f"{where}: params: the slab's depth must not exceed the box")
    if name == "user":
        schema.value(data, "path", str, where, error)
    if schema.value(data, "keep_duplicates", bool, where, error, default=False) and (name, data.get("split")) != ("user", "all"):
        raise error(f"{where}: keep_duplicates is for the user's own images with split 'all' only")
    for key in ("mean", "std"):
        schema.value(data, key, float, where, error, default=0.0)
    if "stats" in data:
        from explorer.core.statistics.stats import check_summary
        check_summary(data["stats"], f"{where}: stats", error)
    side = params.get("L", params.get("size", 32))
    need = n * params.get("channels", 1) * side * side * 4 * (2 if data.get("split") in ("S1", "S2") else 1)
    if need > schema.MAX_DATA_BYTES:
        raise error(f"{where}: N = {n:,} images of {side}x{side} need {need / 2 ** 30:.1f} GiB, more than the "
                    f"{schema.MAX_DATA_BYTES / 2 ** 30:.0f} GiB explorer holds in memory")
    return data


def make_record(source: str, n: int, split: str, seed: int, params: dict, size: int, channels: int | None = None,
                where: str = "the data", error: type[ExplorerError] = DataError) -> dict:
    """The data record of a training set, checked: `source` a generator (shapes, phi4,
    turbulence) or the user's folder or array file; `size` the image side (phi4's L), unless
    `params` says it; `channels` the user's images' (None: as the files hold them, 3 for colour)."""
    params = dict(params)
    name = source if source in PARAMS and source != "user" else "user"
    data = {"name": name, "n": n, "split": split, "seed": seed, "params": params}
    if name == "user":
        from explorer.core.data import user

        data["path"] = str(Path(source).resolve())
        if split == "all":                      # no split to keep apart: trained on as given, near-duplicates too
            data["keep_duplicates"] = True
        params.setdefault("channels", user.channels(data["path"]) if channels is None else channels)
    params.setdefault("L" if name == "phi4" else "size", size)
    return check_record(data, where, error)


def data_shape(data: dict) -> tuple[int, int]:
    """(side, channels) of the images a checked data record describes."""
    params = data.get("params") or {}
    return params.get("L", params.get("size", 32)), params.get("channels", 1)


def resolved_k(data: dict) -> int | None:
    """The largest |k| a data set resolves, when it is less than the grid's: a dealiased field
    (turbulence, 2/3 rule) has no dynamics above size / 3; a turbulence field truncated from a
    larger `grid` holds every |k_x|, |k_y| < size / 2 (up to grid / 3). None: every |k| up to size / 2."""
    if data.get("name") == "turbulence":
        side, grid = data_shape(data)[0], (data.get("params") or {}).get("grid")
        return min(grid // 3, (side - 1) // 2) if grid and grid > side else side // 3
    return None


def colormap_for(data: dict) -> str:
    """The colour map a data record's samples are shown with: diverging for signed fields."""
    return "diverging" if data.get("name") in FIELDS else "grey"


def cache_dir() -> Path:
    """$EXPLORER_CACHE, else the platform's user cache folder (platformdirs: $XDG_CACHE_HOME/explorer
    or ~/.cache/explorer on Linux, ~/Library/Caches/explorer on macOS, %LOCALAPPDATA% on Windows)."""
    import platformdirs

    root = os.environ.get("EXPLORER_CACHE")
    return Path(root) if root else Path(platformdirs.user_cache_dir("explorer", appauthor=False))


def cached_array(kind: str, key: dict, make: Callable[[], np.ndarray],
                 check: Callable[[np.ndarray], bool] = lambda a: bool(np.isfinite(a).all())) -> np.ndarray:
    """Load `kind`-<hash(key)>.npy from the cache if it reads and passes `check`, else make it,
    store it atomically (with its key beside it, .json) and return it. The cache is optional: an
    entry that is a link or a special file is neither read, replaced nor removed, and a cache that
    cannot be written (a read-only home, $EXPLORER_CACHE a file) costs a warning, never the result."""
    from explorer.core.files.io import atomic_write, load_arrays

    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:20]
    path = cache_dir() / f"{kind}-{digest}.npy"
    entries = (path, path.with_suffix(".json"))
    usable = all(_regular_or_absent(p) for p in entries)
    if usable and path.exists():
        try:
            arr = next(iter(load_arrays(path, "cache", 2 * 2 ** 30, DataError).values()))
            if check(arr):
                return arr
        except (DataError, StopIteration):
            pass
    arr = make()
    if not usable:
        _log.warning(f"explorer: the cache entry {path} (or its .json) is a link or a special file: left alone, not used")
        return arr
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, lambda f: np.save(f, arr, allow_pickle=False))            # replaces a damaged entry
        text = json.dumps(key, indent=1, sort_keys=True).encode()
        atomic_write(entries[1], lambda f: f.write(text))
    except (ExplorerError, OSError) as e:
        _log.warning(f"explorer: the cache could not be written ({e}); the data set is made anew next time")
    return arr


def _regular_or_absent(path: Path) -> bool:
    """Whether `path` (not followed, if a link) is a regular file or nothing."""
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except FileNotFoundError:
        return True
    except OSError:
        return False


def unit_vectors(x: torch.Tensor, dtype=torch.float64) -> torch.Tensor:
    """Rows of x (n, ...) flattened, mean removed and scaled to unit norm: cosine = u @ v.T."""
    v = x.reshape(x.shape[0], -1).to(dtype)
    v = v - v.mean(1, keepdim=True)
    return v / v.norm(dim=1, keepdim=True).clamp_min(1e-12)


def near_duplicates(x: torch.Tensor, threshold: float = DUPLICATE_COSINE) -> int:
    """How many images of x (N, C, H, W) are near-duplicates of an earlier one (mean-removed
    cosine > threshold; constant images are duplicates of one another)."""
    u = unit_vectors(x, torch.float32)
    flat = (u == 0).all(1)
    count = int((flat & (flat.cumsum(0) > 1)).sum())
    for start in range(1, len(u), 512):                     # rows against the earlier ones, 512 at a time
        rows = u[start:start + 512]
        gram = torch.tril(rows @ u[:start + len(rows)].T, diagonal=start - 1)
        count += int(((gram > threshold).any(1) & ~flat[start:start + len(rows)]).sum())
    return count


def select_distinct(pool: Callable[[int, int], torch.Tensor], count: int, threshold: float = DUPLICATE_COSINE,
                    chunk: int = 512, limit: int | None = None) -> torch.Tensor:
    """The first `count` candidates of `pool(start, n)` whose cosine to every earlier kept one is
    <= threshold (of constant images, only the first is kept). Returns (count, C, H, W) float32;
    raises DataError if the pool runs out, `interrupt.Cancelled` between chunks once cancelled."""
    kept, kept_u, start, have_flat = [], None, 0, False
    per_image = int(np.prod(pool(0, 1).shape[1:]))         # candidates per chunk: at most 2^24 values (128 MB in float64)
    while sum(len(k) for k in kept) < count:
        interrupt.check()
        n = min(chunk, max(1, 2 ** 24 // per_image), *(() if limit is None else (limit - start,)))
        cand = pool(start, n) if n > 0 else torch.empty(0)
        if len(cand) == 0:
            have = sum(len(k) for k in kept)
            raise DataError(f"only {have} distinct images among {start} candidates, {count} are needed: images whose "
                            f"cosine similarity to an earlier one exceeds {threshold} are dropped as near-duplicates, so "
                            f"that S1 and S2 never share an image; lower --n (at most {have} with --split all, "
                            f"{have // 2} with S1/S2) or add images")
        start += len(cand)
        u = unit_vectors(cand)
        ok = torch.ones(len(cand), dtype=torch.bool)
        if kept_u is not None:
            ok &= (u @ kept_u.T).max(1).values <= threshold
        gram = u @ u.T
        flat = (u == 0).all(1)              # constant images: all duplicates of one another (no cosine)
        idx = []
        for i in range(len(cand)):
            if flat[i]:
                ok[i] &= not have_flat
                have_flat = have_flat or bool(ok[i])
            if ok[i] and (not idx or float(gram[i, idx].max()) <= threshold):
                idx.append(i)
        kept.append(cand[idx].float())
        kept_u = u[idx] if kept_u is None else torch.cat([kept_u, u[idx]])
    return torch.cat(kept)[:count]


def _pool_for(data: dict) -> tuple[Callable[[int, int], torch.Tensor], int | None, bool]:
    """(pool(start, n), the pool's size or None, whether the pool already holds only this split)."""
    name, params, seed = data.get("name"), dict(data.get("params") or {}), int(data.get("seed", 0))
    if name == "shapes":
        from explorer.core.data import shapes
        return (lambda s, n: shapes.images(seed, s, n, **params)), None, False
    if name == "cosmic_web":
        from explorer.core.data import cosmic_web
        return (lambda s, n: torch.from_numpy(cosmic_web.samples(seed, s, n, **params))), None, False
    if name == "phi4":
        from explorer.core.data import phi4
        split = data.get("split")
        chain_seed = seed + S2_SEED if split == "S2" else seed
        fields = torch.from_numpy(phi4.samples(int(data["n"]) + 32, seed=chain_seed, **params))
        return (lambda s, n: fields[s:s + n]), len(fields), split != "all"
    if name == "turbulence":
        from explorer.core.data import turbulence
        split = data.get("split")
        run_seed = seed + S2_SEED if split == "S2" else seed
        fields = torch.from_numpy(turbulence.samples(int(data["n"]) + 32, seed=run_seed, **params))
        return (lambda s, n: fields[s:s + n]), len(fields), split != "all"
    if name == "user":
        from explorer.core.data import user
        arr = torch.from_numpy(user.load(data["path"], **params))
        return (lambda s, n: arr[s:s + n]), len(arr), False
    raise DataError(f"unknown data set {name!r}; explorer knows shapes, phi4, turbulence, cosmic_web and user data "
                    "(a folder or an array file)")


def training_set(data: dict, use_cache: bool = True) -> np.ndarray:
    """The exact training set a data record describes: (N, C, H, W) float32, model units."""
    if not data.get("name") or "n" not in data:
        raise DataError("the model does not record its training data")
    check_record(data, "the data record")
    n, split = data["n"], data.get("split", "S1")
    side, channels = data_shape(data)

    def make() -> np.ndarray:
        pool, limit, split_only = _pool_for(data)
        if data.get("keep_duplicates"):
            x = pool(0, n)
            if len(x) < n:
                raise DataError(f"{data.get('path')}: holds {len(x)} images, {n} are needed; lower --n")
            if not bool((x.flatten(1).std(1) > 0).any()):
                raise DataError(f"{data.get('path')}: all {n} images are constant: they have no statistics to learn")
            dup = near_duplicates(x)
            if dup:
                _log.warning(f"explorer: {dup} of the {n} images are near-duplicates of an earlier one "
                             f"(cosine > {DUPLICATE_COSINE}); with --split all they are trained on as given")
            return x.float().numpy()
        if split == "all" or split_only:
            return select_distinct(pool, n, limit=limit).numpy()
        both = select_distinct(pool, 2 * n, limit=limit)
        return both[0 if split == "S1" else 1::2].numpy()

    key = {k: data[k] for k in ("name", "params", "n", "split", "seed", "path") if k in data}
    x = make() if data.get("name") == "user" or not use_cache else cached_array(
        "train", key, make, lambda a: a.shape == (n, channels, side, side) and bool(np.isfinite(a).all()))
    if x.shape != (n, channels, side, side):
        raise DataError(f"the data set gave images of {x.shape[1:]}, the record says {(channels, side, side)}")
    return x


def fresh_images(data: dict, count: int, offset: int = 10 ** 7) -> np.ndarray:
    """`count` images of the same generator never used for training (held-out test data)."""
    name = data.get("name")
    if name == "shapes":
        from explorer.core.data import shapes
        return shapes.images(int(data.get("seed", 0)), offset, count, **dict(data.get("params") or {})).numpy()
    if name == "cosmic_web":
        from explorer.core.data import cosmic_web
        return cosmic_web.samples(int(data.get("seed", 0)), offset, count, **dict(data.get("params") or {}))
    if name == "phi4":
        from explorer.core.data import phi4
        return phi4.samples(count, seed=int(data.get("seed", 0)) + 7919, **dict(data.get("params") or {}))
    if name == "turbulence":
        from explorer.core.data import turbulence
        return turbulence.samples(count, seed=int(data.get("seed", 0)) + 7919, **dict(data.get("params") or {}))
    raise DataError(f"no fresh images can be drawn for data set {name!r}")


MIN_GROUPS = 5     # a jackknife over fewer groups has too few degrees of freedom to make an error bar


def fresh_groups(data: dict, count: int) -> np.ndarray | None:
    """The groups of correlated fields among `fresh_images(data, count)`, for errors by the
    jackknife over groups (`stats.summary`): (count,) labels, or None where the fresh fields are
    independent draws. Turbulence: the snapshots of one block of a `grid` run (`turbulence.PER_RUN`
    consecutive snapshots, many |k| = 1 correlation times long), or of one run of the older
    parameter sets (`turbulence.samples`: count / runs snapshots per run). A last block shorter
    than half the others joins the one before it (the jackknife over groups assumes groups of
    about one size); fewer than MIN_GROUPS groups are a UsageError (before any field is made)."""
    if data.get("name") != "turbulence":
        return None
    from explorer.core.data import turbulence
    params = dict(data.get("params") or {})
    per_run = turbulence.PER_RUN if "grid" in params else math.ceil(count / min(turbulence.RUNS, count))
    whole = max(1, count // per_run + (count % per_run >= per_run / 2))         # blocks, a short last one joined
    if whole < MIN_GROUPS:
        raise UsageError(f"{count} fresh turbulence fields are {whole} block(s) of {per_run} correlated snapshots; "
                         f"their errors need at least {MIN_GROUPS} blocks: raise the number of fresh fields to "
                         f"{MIN_GROUPS * per_run} or more")
    return np.minimum(np.arange(count) // per_run, whole - 1)
