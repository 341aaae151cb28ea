"""Whether the blocks of the turbulence runs behave as independent units (#29), within a run and
between runs: the errors over blocks (`data.fresh_groups`) assume they do.

The power of the vorticity in a band of shells round(|q|) = k at the simulation's resolution
(default k = 8-32, the cascade range of the data page's slope fit, fixed before looking), as the
mean of each block (`turbulence.grid_run`, PER_RUN snapshots a block). Measured:
- per long run (training, fresh), the lag-1 autocorrelation of the block means, with its error
  1/sqrt(blocks) under no correlation, and their spread from block to block;
- the first `--run-blocks` B blocks of independent runs (each from rest, after its own spin-up;
  the two long runs among them), a one-way random-effects analysis of variance of the band's
  block means (in units of their grand mean): MS_between = B var(run means), MS_within the
  blocks' spread within a run, F = MS_between / MS_within on (R - 1, R (B - 1)) degrees of
  freedom, the run-to-run spread sigma_run^2 = (MS_between - MS_within) / B and its one-sided
  95 % upper bound (from F's); and block 0's mean against the later blocks' (a spin-up too short
  would show; its error assumes no run effect);
- the long runs' band power against each other, with its p-value when their blocks are
  reassigned at random between them (`--permutations` times, p = (1 + count) / (1 + N)).

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
from bench_turbulence_data import PARAMS
from scipy.stats import f as f_dist

from explorer.core.data import turbulence
from explorer.core.files.io import atomic_write
from explorer.core.statistics import stats


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
    p.add_argument("--runs", default="7920-7927", help="FIRST-LAST seeds of more independent runs")
    p.add_argument("--run-blocks", type=int, default=3, help="the first blocks of every run in the analysis of variance")
    p.add_argument("--band", default="8,32", help="the band of shells whose power the block means follow")
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
    nb = a.run_blocks
    if not 2 <= nb <= min(n_a, n_b):
        p.error(f"--run-blocks must be 2 to {min(n_a, n_b)}: the spread within a run needs two blocks of each")
    R = [block_spectra(prm, s, nb) for s in range(first, last + 1)]
    band = slice(lo - 1, hi)

    def power(x: np.ndarray) -> np.ndarray:
        return x[:, band].sum(1)

    rng = np.random.default_rng(0)
    pooled = np.concatenate([power(A), power(B)])
    perms = np.stack([rng.permutation(len(pooled)) for _ in range(a.permutations)])
    null_band = pooled[perms[:, :n_a]].mean(1) / pooled[perms[:, n_a:]].mean(1) - 1
    band_ratio = float(power(A).mean() / power(B).mean() - 1)
    # the first nb blocks of every run (the long runs' too), in units of the grand mean: one-way random effects
    firsts = np.stack([power(x[:nb]) for x in (*R, A, B)])                     # (runs, nb)
    X = firsts / firsts.mean()
    runs = len(X)
    ms_between = nb * float(np.var(X.mean(1), ddof=1))
    ms_within = float(((X - X.mean(1, keepdims=True)) ** 2).sum()) / (runs * (nb - 1))
    dof = (runs - 1, runs * (nb - 1))
    ratio = ms_between / ms_within
    ratio_upper = ratio / f_dist.ppf(0.05, *dof)             # P(F <= F_0.05) = 5 %: the ratio's 95 % upper bound
    later = np.concatenate([X[:, 1:].ravel(), power(A[nb:]) / firsts.mean(), power(B[nb:]) / firsts.mean()])
    out = {
        "command": "python tests/benchmarks/bench_turbulence_runs.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "params": prm, "algorithm": turbulence.ALGORITHM, "per_block": turbulence.PER_RUN,
        "training": {"seed": s_a, "blocks": n_a}, "fresh": {"seed": s_b, "blocks": n_b},
        "independent_runs": list(range(first, last + 1)), "band": [lo, hi],
        "block_sd": {"training": float(np.std(power(A) / power(A).mean(), ddof=1)),
                     "fresh": float(np.std(power(B) / power(B).mean(), ddof=1))},
        "lag1": {"training": lag1(power(A)), "fresh": lag1(power(B)), "se": [len(A) ** -0.5, len(B) ** -0.5]},
        "two_runs": {"band": band_ratio, "p_band": float((1 + (np.abs(null_band) >= abs(band_ratio)).sum())
                                                         / (1 + a.permutations)),
                     "permutations": a.permutations},
        "between_runs": {"runs": runs, "blocks_per_run": nb, "sd_run_means": float(X.mean(1).std(ddof=1)),
                         "sd_within": ms_within ** 0.5, "F": ratio, "dof": list(dof), "p": float(f_dist.sf(ratio, *dof)),
                         "sd_run": float(np.sqrt(max(ms_between - ms_within, 0.0) / nb)),
                         "sd_run_upper_95": float(np.sqrt(max(ratio_upper - 1, 0.0) * ms_within / nb)),
                         "first_over_later": float(X[:, 0].mean() / later.mean() - 1),
                         "first_over_later_se": float(np.sqrt(ms_within / runs + ms_within / len(later))),
                         "band": X.tolist()},
        "seconds": round(time.perf_counter() - t0, 1),
    }
    atomic_write(Path(a.json), lambda fh: fh.write((json.dumps(out, indent=1) + "\n").encode()))
    tl, bt = out["two_runs"], out["between_runs"]
    print(f"two runs: band {tl['band']:+.3f} (p {tl['p_band']:.3f}); lag-1 {out['lag1']}; between runs sd "
          f"means {bt['sd_run_means']:.3f}, blocks within {bt['sd_within']:.3f} (F {bt['F']:.2f}, p {bt['p']:.3f}; sigma_run "
          f"{bt['sd_run']:.3f}, < {bt['sd_run_upper_95']:.3f} at 95 %), first "
          f"blocks {bt['first_over_later']:+.3f} ± {bt['first_over_later_se']:.3f}; {out['seconds']} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
