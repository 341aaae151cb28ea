"""The phi^4 Markov chain with and without Swendsen-Wang cluster updates (#30 item 3: L = 64).

    python tests/benchmarks/bench_phi4_chain.py [--sizes 16,32,64] [--n 1200] [--floor-n 400]
        [--json checkpoints/phi4/chain.json]

Checkerboard Metropolis alone slows down at the critical point (tau_int ~ L^z, z ~ 2): about 500
sweeps at L = 32, so L = 64 data would take hours here. `phi4.Chains(clusters=1)` adds one
Swendsen-Wang update of the embedded Ising signs after each sweep (phi4's docstring). For each L:

- burn-in and tau_int of |m| of both chains (`bench_wcrg.equilibrium_of`: the project's record or
  `phi4.equilibrium`, cached; Metropolis is not measured at L = 64), the seconds per sweep of 256
  chains (median of 5 timings of 4 sweeps, both chains in the same run), and the cost of one
  independent field = 2 tau_int sweeps: their ratio is the speed-up;
- at L = 32, the law: `n` + `floor_n` fresh Metropolis fields (the fair test's reference and floor
  sets of bench_wcrg) against `floor_n` fields of the cluster chain (other seeds): mean |dP/P| and
  histogram TV of the cluster fields against the reference beside the floor (Metropolis fields
  against the same reference, as many), and dP/P per |k| of all cluster fields against all
  Metropolis fields with its s.e. over chains (the means of each chain's fields).
"""
from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch
from bench_wcrg import equilibrium_of, fresh_fields, one_point

from explorer.core.data import phi4
from explorer.core.files.io import atomic_write
from explorer.core.statistics import stats

LAM = 0.5


def seconds_per_sweep(L: int, clusters: int, chains: int = 256) -> float:
    """Median over 5 timings of 4 sweeps of `chains` chains, per sweep."""
    ch = phi4.Chains(L, phi4.CRITICAL["beta_c"], LAM, chains, seed=5, clusters=clusters)
    ch.run(2)
    times = []
    for _ in range(5):
        t0 = time.perf_counter()
        ch.run(4)
        times.append((time.perf_counter() - t0) / 4)
    return float(np.median(times))


def chain_row(L: int, clusters: int, measure: bool) -> dict:
    row = {"L": L, "algorithm": phi4.algorithm(clusters), "seconds_per_sweep_256_chains": seconds_per_sweep(L, clusters)}
    if measure:
        eq = equilibrium_of(L, phi4.CRITICAL["beta_c"], LAM, clusters)
        row.update(burn_in=eq["burn_in"], tau_int=eq["tau_int"], source=eq["source"],
                   seconds_per_field=2 * eq["tau_int"] * row["seconds_per_sweep_256_chains"] / 256)
    return row


def relative_difference(a: np.ndarray, b: np.ndarray, per_a: int, per_b: int) -> tuple[np.ndarray, np.ndarray]:
    """mean(a)/mean(b) - 1 per column of per-field values (fields, K), and its s.e.: a and b are
    independent sets, each chain-major with per_a (per_b) fields per chain; the s.e. of each mean
    is that of its chains' means (fields of one chain, 2 tau_int(|m|) apart, may still correlate in
    other observables)."""
    def mean_se(x: np.ndarray, per: int) -> tuple[np.ndarray, np.ndarray]:
        chains = x[: len(x) // per * per].reshape(-1, per, x.shape[1]).mean(1)
        return x.mean(0), chains.std(0, ddof=1) / np.sqrt(len(chains))
    (ma, sa), (mb, sb) = mean_se(a, per_a), mean_se(b, per_b)
    return ma / mb - 1, (ma / mb) * np.sqrt((sa / ma) ** 2 + (sb / mb) ** 2)


def law(n: int, floor_n: int) -> dict:
    """Metropolis against cluster fields at L = 32 (see the module's docstring)."""
    beta = phi4.CRITICAL["beta_c"]
    metropolis, m_info = fresh_fields({"params": {"L": 32, "beta": beta, "lam": LAM}, "seed": 0}, n + floor_n, 320)
    cluster, c_info = fresh_fields({"params": {"L": 32, "beta": beta, "lam": LAM, "clusters": 1}, "seed": 1},
                                   n + floor_n, 320)
    ref, floor = metropolis[:n], metropolis[n:n + floor_n]

    def against_ref(x: np.ndarray) -> dict:
        compared = stats.compare(x, ref)
        return {"n": len(x), "mean_abs_dp": float(np.abs(compared["spectrum"]["relative_error"]).mean()),
                **one_point(x, compared)}

    per = c_info["per_chain"], m_info["per_chain"]
    d, se = relative_difference(stats.field_power_spectra(cluster), stats.field_power_spectra(metropolis), *per)
    am_c, am_m = (np.abs(x.reshape(len(x), -1).mean(1))[:, None] for x in (cluster, metropolis))
    dm, dm_se = relative_difference(am_c, am_m, *per)
    return {"L": 32, "beta": beta, "lam": LAM,
            "metropolis": {"fields": len(metropolis), **{k: m_info[k] for k in ("burn_in", "spacing", "chains", "seed")}},
            "cluster": {"fields": len(cluster), **{k: c_info[k] for k in ("burn_in", "spacing", "chains", "seed")}},
            "floor": against_ref(floor), "cluster_row": against_ref(cluster[:floor_n]),
            "k": list(range(1, len(d) + 1)), "dp": d.tolist(), "dp_se": se.tolist(),
            "max_z": float(np.abs(d / se).max()), "abs_m_difference": float(dm[0]), "abs_m_difference_se": float(dm_se[0])}


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--sizes", default="16,32,64")
    p.add_argument("--n", type=int, default=1200, help="Metropolis reference fields at L = 32")
    p.add_argument("--floor-n", type=int, default=400, help="fields of each row against the reference")
    p.add_argument("--json", default=None)
    a = p.parse_args()
    torch.set_num_threads(min(2, torch.get_num_threads()))
    rows = []
    for L in (int(s) for s in a.sizes.split(",")):
        for clusters in (0, 1):
            rows.append(chain_row(L, clusters, measure=clusters or L <= 32))
            r = rows[-1]
            print(f"L = {L:3d} {r['algorithm']:48s} {r['seconds_per_sweep_256_chains'] * 1e3:8.1f} ms/sweep (256 chains)"
                  + (f"  burn-in {r['burn_in']:6d}  tau_int {r['tau_int']:7.1f}  {r['seconds_per_field'] * 1e3:8.2f} ms/field"
                     if "tau_int" in r else "  tau_int not measured"), flush=True)
    for L in sorted({r["L"] for r in rows}):
        m, c = (next(r for r in rows if r["L"] == L and r["algorithm"] == phi4.algorithm(k)) for k in (0, 1))
        if "seconds_per_field" in m:
            print(f"L = {L}: an independent field costs {m['seconds_per_field'] / c['seconds_per_field']:.1f}x less "
                  f"with the clusters (sweep {c['seconds_per_sweep_256_chains'] / m['seconds_per_sweep_256_chains']:.1f}x "
                  f"dearer, tau_int {m['tau_int'] / c['tau_int']:.0f}x shorter)")
    check = law(a.n, a.floor_n)
    f, c = check["floor"], check["cluster_row"]
    print(f"L = 32 law, against {a.n} Metropolis fields: floor (Metropolis, n = {f['n']}) mean|dP/P| {f['mean_abs_dp']:.2%} "
          f"TV {f['tv']:.3f} ± {f['tv_se']:.3f}; clusters (n = {c['n']}) {c['mean_abs_dp']:.2%} TV {c['tv']:.3f} ± "
          f"{c['tv_se']:.3f}; all fields: max |dP/P| / s.e. over |k| {check['max_z']:.1f}, <|m|> "
          f"{check['abs_m_difference']:+.2%} ± {check['abs_m_difference_se']:.2%}")
    if a.json:
        doc = {"benchmark": "tests/benchmarks/bench_phi4_chain.py", "command": " ".join(["bench_phi4_chain.py", *sys.argv[1:]]),
               "machine": f"{platform.machine()}, {torch.get_num_threads()} torch threads, shared with other jobs",
               "torch": torch.__version__, "chains": rows, "law": check}
        text = (json.dumps(doc, indent=1, sort_keys=True) + "\n").encode()
        atomic_write(Path(a.json), lambda f: f.write(text))


if __name__ == "__main__":
    main()
