"""What an exact learner of a model's training set would show against fresh fields in P(k) (#29):
the yardstick of the field table's "max |ΔP/P|".

A model whose P(k) were exactly its training set's mean would still differ from the fresh
fields' mean by the two data sets' sampling noise. Measured here on the model's own training set
(`data.training_set`) and `--fresh` fresh fields (`data.fresh_images`), in units taken as
independent draws: single fields, or the blocks of consecutive snapshots of a turbulence run
(`data.fresh_groups`; the training set's snapshots come in the same blocks). Each unit's mean P(k)
per shell k = 1 .. the resolved |k| (`data.resolved_k`); then
- observed: max_k |P_train(k) / P_fresh(k) - 1| (the means over units) and its shell;
- the null distribution, the units reassigned at random between two sets of the same sizes
  (`--permutations` times): the p-value of the observed max, and the quantiles of the max, which
  is what an exact learner of one set shows against the other (p = (1 + count) / (1 + N)).
It assumes the units exchangeable between the two sets: for turbulence, blocks of two runs, so
a run-to-run spread beyond the blocks' (bench_turbulence_runs.py) would widen it; and it leaves
out the model's own sampling noise (its samples are finite), so it is the yardstick of a model
whose own P(k) error against its training set is small beside it.

    python tests/benchmarks/bench_spectrum_bound.py checkpoints/turbulence256-scattering.scat.safetensors \\
        --fresh 960 --json checkpoints/turbulence/bound256.json
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

from explorer.core.data import fresh_groups, fresh_images, resolved_k, training_set
from explorer.core.files.io import atomic_write
from explorer.core.models import open_model
from explorer.core.statistics import stats


def unit_spectra(x: np.ndarray, groups: np.ndarray | None, top: int) -> np.ndarray:
    """Each unit's mean P(k), k = 1 .. top: (units, top); a unit is a field, or a group of them."""
    p = np.concatenate([stats.field_power_spectra(x[i:i + 64])[:, :top] for i in range(0, len(x), 64)])
    if groups is None:
        return p
    return np.stack([p[groups == g].mean(0) for g in np.unique(groups)])


def max_ratio(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """max_k |mean_a P(k) / mean_b P(k) - 1| of sets of units a (..., m, K) and b (..., n, K)."""
    return np.abs(a.mean(-2) / b.mean(-2) - 1).max(-1)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("model", help="a model whose file records its training data")
    p.add_argument("--fresh", type=int, required=True, help="fresh fields (for turbulence, whole blocks of 48)")
    p.add_argument("--permutations", type=int, default=20000)
    p.add_argument("--json", required=True)
    a = p.parse_args(argv)
    torch.set_num_threads(1)
    t0 = time.perf_counter()
    model = open_model(a.model)
    data = model.data
    n = int(data["n"])
    g_fresh = fresh_groups(data, a.fresh)
    top = resolved_k(data) or model.image_shape[-1] // 2
    train = unit_spectra(training_set(data), fresh_groups(data, n), top)
    print(f"making {a.fresh} fresh {data['name']} fields…", file=sys.stderr)
    fresh = unit_spectra(fresh_images(data, a.fresh), g_fresh, top)
    ratio = train.mean(0) / fresh.mean(0) - 1
    observed = float(np.abs(ratio).max())
    pool, m = np.concatenate([train, fresh]), len(train)
    rng = np.random.default_rng(0)
    null = []
    for start in range(0, a.permutations, 200):                     # in chunks: (200, units, K) at a time
        perms = np.stack([rng.permutation(len(pool)) for _ in range(min(200, a.permutations - start))])
        null.append(max_ratio(pool[perms[:, :m]], pool[perms[:, m:]]))
    null = np.concatenate(null)
    out = {
        "command": "python tests/benchmarks/bench_spectrum_bound.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "model": model.name, "data": {k: data[k] for k in ("name", "params", "n", "split", "seed") if k in data},
        "fresh": a.fresh, "units": [len(train), len(fresh)], "unit": "field" if g_fresh is None else "block",
        "k": list(range(1, top + 1)), "ratio": ratio.tolist(),
        "observed": observed, "observed_k": int(np.abs(ratio).argmax() + 1),
        "p": float((1 + (null >= observed).sum()) / (1 + len(null))), "permutations": len(null),
        "quantiles": {str(q): float(np.quantile(null, q)) for q in (0.5, 0.9, 0.95)},
        "below_5_percent": float((null < 0.05).mean()),
        "seconds": round(time.perf_counter() - t0, 1),
    }
    atomic_write(Path(a.json), lambda fh: fh.write((json.dumps(out, indent=1) + "\n").encode()))
    print(f"{model.name}: its {n} training fields against {a.fresh} fresh ones: max |dP/P| {observed:.3f} at k = "
          f"{out['observed_k']} (p {out['p']:.3f} for exchangeable {out['unit']}s); an exact learner: "
          f"{ {q: round(v, 4) for q, v in out['quantiles'].items()} }, below 5 % in {out['below_5_percent']:.2f}; "
          f"{out['seconds']} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
