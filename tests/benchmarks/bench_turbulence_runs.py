"""Whether the blocks of the turbulence runs are independent units (#29), within a run and between
runs: the errors over blocks (`data.fresh_groups`) assume they are.

The power of the vorticity in a band of shells round(|q|) = k at the simulation's resolution, as
the mean of each block (`turbulence.grid_run`, PER_RUN snapshots a block). Measured:
- per long run (training, fresh), the lag-1 autocorrelation of the block means: a correlation
  that outlives a block would show here, and their spread from block to block;
- block 0 of independent runs (each from rest, after its own spin-up) against the blocks within
  the long runs: the variance of the band's block means between runs over that within a run
  (F test; a run-to-run spread beyond the blocks' would make errors over the blocks of one run
  too small), and their mean against the later blocks' (a spin-up too short would show);
- the long runs' band power against each other, with its p-value when their blocks are
  reassigned at random between them (`--permutations` times).

    python tests/benchmarks/bench_turbulence_runs.py --json checkpoints/turbulence/runs256.json

Reads the blocks from the data cache (`turbulence.grid_run`; it makes any that are missing: 150-220 s
a block on one core, each new run's block 0 about twice that, for its spin-up).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
from scipy.stats import f as f_dist

from explorer.core.data import turbulence
from explorer.core.files.io import atomic_write
from explorer.core.statistics import stats

PARAMS = {"grid": 256, "k_f": 5.0, "k_drag": 3.0, "mu": 0.5, "dt": 0.003}


def block_spectra(prm: dict, seed: int, blocks: int) -> np.ndarray:
    """P(k) of each of the first `blocks` blocks of the run of `seed`: (blocks, K), k = 1 .. grid / 3."""
    top = prm["grid"] // 3
    return np.stack([stats.field_power_spectra(turbulence.grid_run(prm, seed, b)).mean(0)[:top] for b in range(blocks)])


def lag1(x: np.ndarray) -> float:
    """The lag-1 autocorrelation of a series."""
    d = x - x.mean()
    return float((d[1:] * d[:-1]).sum() / (d * d).sum())


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--params", default=json.dumps(PARAMS), help="the data's parameters (JSON, size aside)")
    p.add_argument("--training", default="0:20", help="SEED:BLOCKS of the training run")
    p.add_argument("--fresh", default="7919:20", help="SEED:BLOCKS of the fresh run")
    p.add_argument("--runs", default="7920-7927", help="FIRST-LAST seeds of independent runs, block 0 of each")
    p.add_argument("--band", default="6,14", help="the band of shells whose power the block means follow")
    p.add_argument("--permutations", type=int, default=20000)
    p.add_argument("--json", required=True)
    a = p.parse_args(argv)
    torch.set_num_threads(1)
    t0 = time.perf_counter()
    params = json.loads(a.params)
    prm = turbulence.parameters(params["grid"], **params)
    (s_a, n_a), (s_b, n_b) = ((int(v) for v in s.split(":")) for s in (a.training, a.fresh))
    first, last = (int(v) for v in a.runs.split("-"))
    lo, hi = (int(v) for v in a.band.split(","))
    A, B = block_spectra(prm, s_a, n_a), block_spectra(prm, s_b, n_b)
    R = np.concatenate([block_spectra(prm, s, 1) for s in range(first, last + 1)])
    band = slice(lo - 1, hi)

    def power(x: np.ndarray) -> np.ndarray:
        return x[:, band].sum(1)

    rng = np.random.default_rng(0)
    pooled = np.concatenate([power(A), power(B)])
    perms = np.stack([rng.permutation(len(pooled)) for _ in range(a.permutations)])
    null_band = pooled[perms[:, :n_a]].mean(1) / pooled[perms[:, n_a:]].mean(1) - 1
    band_ratio = float(power(A).mean() / power(B).mean() - 1)
    # block 0 of independent runs (the new runs' and the two long runs') against the blocks within the long runs,
    # each long run's blocks in units of its own mean
    firsts = np.concatenate([power(R), power(A[:1]), power(B[:1])])
    later = np.concatenate([power(A)[1:], power(B)[1:]])
    var_between = float(np.var(firsts / firsts.mean(), ddof=1))
    var_within = float(((power(A) / power(A).mean() - 1) ** 2).sum() + ((power(B) / power(B).mean() - 1) ** 2).sum()) \
        / (len(A) + len(B) - 2)
    dof = (len(firsts) - 1, len(A) + len(B) - 2)
    out = {
        "command": "python tests/benchmarks/bench_turbulence_runs.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "params": prm, "algorithm": turbulence.ALGORITHM, "per_block": turbulence.PER_RUN,
        "training": {"seed": s_a, "blocks": n_a}, "fresh": {"seed": s_b, "blocks": n_b},
        "independent_runs": list(range(first, last + 1)), "band": [lo, hi],
        "block_sd": {"training": float(np.std(power(A) / power(A).mean(), ddof=1)),
                     "fresh": float(np.std(power(B) / power(B).mean(), ddof=1))},
        "lag1": {"training": lag1(power(A)), "fresh": lag1(power(B))},
        "two_runs": {"band": band_ratio, "p_band": float((np.abs(null_band) >= abs(band_ratio)).mean()),
                     "permutations": a.permutations},
        "between_runs": {"runs": int(len(firsts)), "sd_between": var_between ** 0.5, "sd_within": var_within ** 0.5,
                         "F": var_between / var_within, "dof": list(dof),
                         "p": float(f_dist.sf(var_between / var_within, *dof)),
                         "first_over_later": float(firsts.mean() / later.mean() - 1),
                         "first_over_later_se": float(np.sqrt(var_between / len(firsts) + var_within / len(later))),
                         "band_first_blocks": firsts.tolist()},
        "seconds": round(time.perf_counter() - t0, 1),
    }
    atomic_write(Path(a.json), lambda fh: fh.write((json.dumps(out, indent=1) + "\n").encode()))
    tl, bt = out["two_runs"], out["between_runs"]
    print(f"two runs: band {tl['band']:+.3f} (p {tl['p_band']:.3f}); lag-1 {out['lag1']}; between runs sd "
          f"{bt['sd_between']:.3f} against within {bt['sd_within']:.3f} (F {bt['F']:.2f}, p {bt['p']:.3f}), first "
          f"blocks {bt['first_over_later']:+.3f} ± {bt['first_over_later_se']:.3f}; {out['seconds']} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
