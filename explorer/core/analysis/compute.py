"""What a run costs, counted by torch, and the fair reading of an error table (SCIENCE §13).

Compute: the FLOPs of one denoiser evaluation of each network, at its own resolution, counted
by `torch.utils.flop_counter.FlopCounterMode` (convolutions, matrix products, attention: the
operations torch counts), times the evaluations a run makes of it (`samplers.evaluations`):

    plain diffusion   F = E(sampler, K) · f(network at L)
    WCRG              F = E(coarse sampler, K_J) · f(coarse net at L / 2^J)
                          + Σ_j E(sampler, K) · f(conditional net j at L / 2^j)

per sample (networks evaluated on a batch of one; a batch of B costs B times as much).

Errors: `paired_bootstrap` resamples the reference fields with ONE set of indices per draw for
every row (and each row's samples with one set of indices per draw too: rows of a model made from
the same seed share their initial noises sample by sample), so the spread of a difference of two
rows is the spread of the difference of their draws: a row minus itself has none, and two rows
that share the reference error have less than the two errors added in quadrature.
`cheapest_within` reads the table: for each generator the cheapest run whose error is at most
the best error any run reached plus the floor (the metric's value for fresh data against the
same reference).
"""
from __future__ import annotations

from typing import Callable, Iterable, Sequence

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

from explorer.core.sampling import samplers


def flops_of(fn: Callable[..., object], *args) -> int:
    """FLOPs torch counts for one call fn(*args), without gradients."""
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        fn(*args)
    return int(counter.get_total_flops())


def network_flops(model) -> list[dict]:
    """One evaluation of each network of `model` (its `networks()`), per sample: [{"level",
    "side", "flops"}], the coarse level first. A plain diffusion model has one level ("x"); a WCRG
    "x_J" (the coarse low-pass) then "j=J" .. "j=1" (the conditional details). A model without a
    network (scattering, Gaussian) gives []."""
    return [{"level": level, "side": side, "flops": flops_of(fn, *args)} for level, side, fn, args in model.networks()]


def run_flops(levels: list[dict], sampler: str, steps: int, coarse_sampler: str | None = None,
              coarse_steps: int | None = None) -> dict:
    """FLOPs per sample of one run, given `network_flops`: {"flops", "evaluations", "levels":
    [{level, side, flops_per_evaluation, evaluations, flops}]}. The coarse level of a hierarchy
    runs `coarse_sampler` for `coarse_steps` (default: the run's own)."""
    rows = []
    for i, lv in enumerate(levels):
        coarse = i == 0 and len(levels) > 1
        e = samplers.evaluations(coarse_sampler or sampler, coarse_steps or steps) if coarse else \
            samplers.evaluations(sampler, steps)
        rows.append({"level": lv["level"], "side": lv["side"], "flops_per_evaluation": lv["flops"],
                     "evaluations": e, "flops": e * lv["flops"]})
    return {"flops": sum(r["flops"] for r in rows), "evaluations": sum(r["evaluations"] for r in rows),
            "levels": rows}


def spectrum_error(p_gen: np.ndarray, p_ref: np.ndarray) -> np.ndarray:
    """dP/P per |k| of the mean spectra: p_gen (..., n, K), p_ref (..., R, K) -> (..., K)."""
    return p_gen.mean(-2) / p_ref.mean(-2) - 1


def paired_bootstrap(rows: Sequence[np.ndarray], reference: np.ndarray, boot: int = 400, seed: int = 0,
                     metric: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None) -> np.ndarray:
    """Bootstrap draws of a metric of each row against the reference: (boot, rows, ...).

    rows: per-field statistics of each row (n_i, K); reference (R, K). Draw b resamples the
    reference with one index set for every row, and the rows' fields with one index set per
    size n (the same for rows of the same size). metric(gen, ref) -> value (default: mean over
    |k| of |dP/P|). The s.e. of row a is draws[:, a].std(); of a - b, (draws[:, a] - draws[:, b]).std().
    """
    metric = metric or (lambda g, r: np.abs(spectrum_error(g, r)).mean(-1))
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(boot):
        ref = reference[rng.integers(0, len(reference), len(reference))]
        by_size: dict[int, np.ndarray] = {}
        draw = []
        for x in rows:
            if len(x) not in by_size:
                by_size[len(x)] = rng.integers(0, len(x), len(x))
            draw.append(metric(x[by_size[len(x)]], ref))
        out.append(draw)
    return np.asarray(out)


def cheapest_within(table: Iterable[dict], floor: float, key: str = "error", cost: str = "flops",
                    group: str = "generator") -> dict:
    """For each generator (`group`), the cheapest row (by `cost`) whose `key` is at most the best
    `key` of ANY row plus `floor`; a generator none of whose rows is within is absent.
    Returns {"best": the best row, "threshold": best + floor, "cheapest": {generator: row}}."""
    table = list(table)
    best = min(table, key=lambda r: r[key])
    threshold = best[key] + floor
    cheapest: dict[str, dict] = {}
    for r in sorted(table, key=lambda r: r[cost]):
        if r[key] <= threshold and r[group] not in cheapest:
            cheapest[r[group]] = r
    return {"best": best, "threshold": threshold, "cheapest": cheapest}
