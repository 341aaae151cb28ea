"""WCRG against plain diffusion on phi^4, measured fairly (issue #30 items 1-2; SCIENCE §13).

    python tests/benchmarks/bench_wcrg.py --size 16 [--size 32] [--n 400] [--batch 100] [--reference-n 4000]
        [--floor-n 400] [--chains 880] [--steps 3,5,10,15,20,30,50] [--boot 400] [--json checkpoints/phi4/hierarchy.json]

For each lattice size L the bundled plain model (phi4-[L16-|L64-]N10000) and WCRG models (phi4-[L16-]wcrg;
at L = 32 and 64 phi4-[L64-]wcrg-narrow, networks half as wide) make n samples at every step count of ONE
grid, by the same sampler (ODE/Heun; for a WCRG every scale, the coarse x_J included, runs the row's
steps). Each model's cheapest run that reaches is recorded as its default run ("defaults"), which
scripts/make_checkpoints.sh writes into the model's file (`explorer set-default`).

Reference: fresh equilibrium MCMC fields at the models' (L, beta, lambda), never trained on:
`chains` chains of `phi4.Chains` (the chain of the models' training data: with its Swendsen-Wang
updates at L = 64) from a hot start, the burn-in, then one field every 2 tau_int sweeps (burn-in
and tau_int: L = 32 from the project's recorded measurement
`explorer/core/data/phi4_equilibrium_L32.json`, other L measured here by `phi4.equilibrium`
with 64 chains, 6000 sweeps; with cluster updates the training data's `phi4.measured_equilibrium`),
cached on disk. The first reference-n fields (whole chains) are
the reference of every row; the next floor-n (other chains) are the "fresh fields" row: the
metric's noise floor, what a perfect generator's floor-n samples show.

Metric: mean over |k| = 1..L/2 of |dP/P|, dP/P = mean_fields P_gen(k) / mean_fields P_ref(k) - 1.
Errors: a PAIRED bootstrap (`compute.paired_bootstrap`): every draw resamples the reference with
one index set for all rows, and the samples with one index set (rows share their seed, so sample
i of every row of a model starts from the same noise). The s.e. of a difference of rows is the
spread of the difference of the draws (printed beside the unpaired quadrature for comparison).

Compute: FLOPs per sample counted by torch's FlopCounterMode on one evaluation of each network
at its own resolution, times the evaluations of the run (`compute.run_flops`); the whole run of
one sample is counted by FlopCounterMode too (it adds the wavelet transforms) as a check. Wall
time: the median over the run's batches, per sample (the machine is shared: compare ratios).

Reaches: a run reaches when its error <= best + floor, best the lowest error of ANY grid run (of
any generator), floor the fresh fields' error. For each generator the cheapest run (FLOPs) that
reaches; the ratio of each WCRG's FLOPs to plain's (goal <= 1/4) and of their wall times.
"""
from __future__ import annotations

import argparse
import json
import math
import platform
import re
import sys
import time
from pathlib import Path

import numpy as np
import torch

from explorer.core.analysis import compute
from explorer.core.data import cached_array, phi4
from explorer.core.models import RunSpec, bundle, final_samples, open_model
from explorer.core.statistics import stats

MODELS = {16: {"plain": "phi4-L16-N10000.safetensors", "WCRG": "phi4-L16-wcrg.wcrg"},
          32: {"plain": "phi4-N10000.safetensors", "WCRG": "phi4-wcrg.wcrg", "WCRG narrow": "phi4-wcrg-narrow.wcrg"},
          64: {"plain": "phi4-L64-N10000.safetensors", "WCRG narrow": "phi4-L64-wcrg-narrow.wcrg"}}
RECORDED = Path(phi4.__file__).with_name("phi4_equilibrium_L32.json")


def say(s: str) -> None:
    print(s, flush=True)


def equilibrium_of(L: int, beta: float, lam: float, clusters: int) -> dict:
    """Burn-in and tau_int of |m|. With cluster updates: the training data's own measurement
    (`phi4.measured_equilibrium`, cached). Metropolis alone: the project's record where it is for
    this (L, beta, lam), else measured here (64 chains, 6000 sweeps) and cached."""
    if clusters:
        burn_in, tau = phi4.measured_equilibrium(L, beta, lam, clusters, log=say)
        c = phi4.CLUSTER_EQUILIBRIUM
        return {"burn_in": burn_in, "tau_int": tau, "source": f"the training data's phi4.measured_equilibrium "
                f"({c['chains']} chains, {c['sweeps']} sweeps, seed 101)"}
    if RECORDED.exists():
        rec = json.loads(RECORDED.read_text())
        if rec["L"] == L and math.isclose(rec["beta"], beta) and math.isclose(rec["lam"], lam):
            return {"burn_in": int(rec["burn_in"]), "tau_int": float(rec["tau_int_abs_m"]),
                    "source": f"{RECORDED.name} ({rec['chains']} chains, {rec['sweeps']} sweeps)"}
    chains, sweeps = 64, 6000

    def measure() -> np.ndarray:
        eq = phi4.equilibrium(L, beta, lam, chains=chains, sweeps=sweeps, seed=101, log=say)
        if not eq["enough"]:
            raise SystemExit(f"no equilibrium at L = {L} within {sweeps} sweeps")
        return np.array([eq["burn_in"], eq["tau_int_abs_m"]], np.float64)
    burn_in, tau = cached_array("bench-phi4-equilibrium", {"L": L, "beta": beta, "lam": lam, "chains": chains,
                                                            "sweeps": sweeps, "algorithm": phi4.ALGORITHM}, measure)
    return {"burn_in": int(burn_in), "tau_int": float(tau),
            "source": f"measured here by phi4.equilibrium ({chains} chains, {sweeps} sweeps, seed 101)"}


def fresh_fields(data: dict, count: int, chains: int) -> tuple[np.ndarray, dict]:
    """`count` equilibrium fields (count, 1, L, L), chain-major (field i from chain i // per_chain),
    from `chains` chains seeded by the data's seed + 7919 (the fresh-data rule), cached."""
    p = dict(data.get("params") or {})
    L, beta, lam, clusters = int(p["L"]), float(p["beta"]), float(p.get("lam", 0.5)), int(p.get("clusters", 0))
    eq = equilibrium_of(L, beta, lam, clusters)
    spacing = max(1, math.ceil(2 * eq["tau_int"]))
    per_chain = math.ceil(count / chains)
    seed = int(data.get("seed", 0)) + 7919
    key = {"L": L, "beta": beta, "lam": lam, "seed": seed, "chains": chains, "count": count,
           "burn_in": eq["burn_in"], "spacing": spacing, "algorithm": phi4.algorithm(clusters)}
    t0 = time.perf_counter()

    def make() -> np.ndarray:
        say(f"MCMC L={L}: {chains} chains x ({eq['burn_in']} + {per_chain} x {spacing}) sweeps")
        ch = phi4.Chains(L, beta, lam, chains, seed, "hot", clusters=clusters)
        ch.run(eq["burn_in"], eq["burn_in"])
        out = []
        for i in range(per_chain):
            ch.run(spacing, spacing)
            out.append(ch.phi.clone())
            say(f"  field {i + 1} of {per_chain} per chain, {time.perf_counter() - t0:.0f} s")
        return torch.stack(out, 1).reshape(-1, 1, L, L)[:count].numpy().astype(np.float32)
    x = cached_array("bench-phi4-fresh", key, make)
    return x, {**eq, "spacing": spacing, "chains": chains, "per_chain": per_chain, "seed": seed,
               "algorithm": phi4.algorithm(clusters), "seconds": time.perf_counter() - t0}


def positive(x: np.ndarray) -> float:
    """The fraction of fields whose magnetisation is positive (1/2 for a law even under x -> -x)."""
    return float((np.asarray(x).mean(axis=(1, 2, 3)) > 0).mean())


def one_point(x: np.ndarray, compared: dict) -> dict:
    """The one-point law of samples x against the reference (`compared` = stats.compare(x, ref)):
    histogram TV and <|m|>, each with its s.e."""
    am = np.abs(np.asarray(x, np.float64).reshape(len(x), -1).mean(1))
    return {"tv": compared["histogram_tv"], "tv_se": compared["histogram_tv_se"],
            "abs_m": float(am.mean()), "abs_m_se": float(am.std(ddof=1) / np.sqrt(len(am)))}


def spectrum_errors(spectra: list[np.ndarray], p_ref: np.ndarray, boot: int) -> tuple[list[dict], np.ndarray]:
    """Each row's mean |dP/P| and dP/P per |k| (per-field spectra against the reference's), with
    their paired-bootstrap s.e.; and the draws (boot, rows, 1 + K) for paired differences."""
    def metric(g, r):
        rel = compute.spectrum_error(g, r)
        return np.concatenate([[np.abs(rel).mean()], rel])
    draws = compute.paired_bootstrap(spectra, p_ref, boot=boot, metric=metric)
    out = []
    for i, pg in enumerate(spectra):
        rel = compute.spectrum_error(pg, p_ref)
        out.append({"error": float(np.abs(rel).mean()), "se": float(draws[:, i, 0].std()), "per_k": rel.tolist(),
                    "per_k_se": draws[:, i, 1:].std(0).tolist()})
    return out, draws


def sample_row(model, sampler: str, steps: int, n: int, batch: int) -> tuple[np.ndarray, float]:
    """n final samples of one run and the median wall seconds per sample over its batches."""
    times, last = [], [time.perf_counter(), 0]

    def tick(done: int, total: int) -> None:
        now = time.perf_counter()
        times.append((now - last[0]) / (done - last[1]))
        last[:] = [now, done]
    x = final_samples(model, RunSpec(sampler, steps, n, 0), batch=batch, progress=tick)
    return x, float(np.median(times))


def counted_run_flops(model, sampler: str, steps: int) -> int:
    """FlopCounterMode over a whole run of one sample (networks and the wavelet transforms)."""
    return compute.flops_of(lambda: final_samples(model, RunSpec(sampler, steps, 1, 0), batch=1))


def measure_size(L: int, a) -> dict:
    files = MODELS[L]
    models = {g: open_model(bundle.bundled_dir() / f) for g, f in files.items()}
    fields, ref_info = fresh_fields(models["plain"].data, a.reference_n + a.floor_n, a.chains)
    ref, fresh = fields[:a.reference_n], fields[a.reference_n:][:a.n]      # the floor: as many fields as a row
    say(f"L = {L}: reference {len(ref)} fresh MCMC fields, floor set {len(fresh)} more (other chains); "
        f"burn-in {ref_info['burn_in']}, spacing {ref_info['spacing']} sweeps ({ref_info['source']})")
    nets = {g: compute.network_flops(m) for g, m in models.items()}
    steps = [int(s) for s in a.steps.split(",")]
    runs = [("fresh", None, None)]
    runs += [(g, "ode", k) for k in steps for g in models]     # so that a stop leaves one grid
    rows, samples, skipped = [], [], []
    for g, sampler, k in runs:
        if g != "fresh" and a.stop_at and time.strftime("%H:%M", time.gmtime()) >= a.stop_at:
            skipped.append(f"{g} {sampler.upper()} {k}")         # no new run after --stop-at: say which
            say(f"  {skipped[-1]}: not run (past --stop-at {a.stop_at} UTC)")
            continue
        if g == "fresh":
            x, sec, fl = fresh, 0.0, {"flops": 0, "evaluations": 0, "levels": []}
            counted = 0
        else:
            m = models[g]
            t0 = time.perf_counter()
            x, sec = sample_row(m, sampler, k, a.n, a.batch)
            fl = compute.run_flops(nets[g], sampler, k)
            counted = counted_run_flops(m, sampler, k)
            say(f"  {g} {sampler} {k}: {time.perf_counter() - t0:.0f} s")
        r = stats.compare(x, ref)
        rows.append({"generator": g, "label": "fresh fields" if g == "fresh" else f"{g} {sampler.upper()} {k}",
                     "sampler": sampler, "steps": k, "grid": g != "fresh",
                     "n": len(x), "flops": fl["flops"], "evaluations": fl["evaluations"], "flops_levels": fl["levels"],
                     "flops_run_counted": counted, "seconds_per_sample": sec,
                     "bands": [{"k": b["k"], "relative_error": b["relative_error"]} for b in r["bands"]],
                     **one_point(x, r), "positive": positive(x)})
        samples.append(stats.field_power_spectra(x))
        write_partial(a, L, {"L": L, "complete": False, "rows": rows})
    p_ref = stats.field_power_spectra(ref)
    K = p_ref.shape[1]

    errors, draws = spectrum_errors(samples, p_ref, a.boot)                         # draws (boot, rows, 1 + K)
    for row, e in zip(rows, errors):
        row.update(e)
    every = set.intersection(*({r["steps"] for r in rows if r["generator"] == g} for g in models))
    for r in rows:                                      # the grid is what every generator ran
        r["grid"] = r["grid"] and r["steps"] in every
    floor_row = rows[0]
    floor = floor_row["error"]
    grid_rows = [r for r in rows if r["grid"]]
    sel = compute.cheapest_within(grid_rows, floor)
    b = rows.index(sel["best"])
    for i, row in enumerate(rows):
        d = draws[:, i, 0] - draws[:, b, 0]
        row.update(diff_best=row["error"] - rows[b]["error"], diff_best_se=float(d.std()),
                   diff_best_se_unpaired=float(math.hypot(row["se"], rows[b]["se"])),
                   reaches=row["grid"] and row["error"] <= sel["threshold"])
    cheapest = {g: r["label"] for g, r in sel["cheapest"].items()}
    out = {"L": L, "complete": True, "k": list(range(1, K + 1)), "n": a.n, "boot": a.boot,
           "reference": {"n": len(ref), "floor_n": len(fresh), "abs_m": stats.mean_abs_magnetisation(ref),
                         **{k: v for k, v in ref_info.items()}},
           "models": {g: {"file": f, "parameters": models[g].parameters, "networks": nets[g]} for g, f in files.items()},
           "floor": {"error": floor, "se": floor_row["se"]},
           "best": rows[b]["label"], "best_error": rows[b]["error"], "threshold": sel["threshold"],
           "cheapest": cheapest, "rows": rows, "not_run": skipped,
           "defaults": {files[g]: {"sampler": r["sampler"], "steps": r["steps"], "label": r["label"]}
                        for g, r in sel["cheapest"].items()}}
    pr = sel["cheapest"].get("plain")
    others = {g: r for g, r in sel["cheapest"].items() if g != "plain"} if pr else {}
    out["flop_ratio"] = {g: r["flops"] / pr["flops"] for g, r in others.items()}
    out["wall_ratio"] = {g: r["seconds_per_sample"] / pr["seconds_per_sample"] if pr["seconds_per_sample"] else None
                         for g, r in others.items()}
    report(out)
    return out


def report(d: dict) -> None:
    L = d["L"]
    say(f"\nL = {L}: reference {d['reference']['n']} fresh fields; n = {d['n']} per row; floor (fresh fields, "
        f"n = {d['reference']['floor_n']}): {d['floor']['error']:.2%} ± {d['floor']['se']:.2%}")
    say(f"{'run':16} {'GFLOP/sample':>12} {'ms/sample':>9} {'mean|dP/P| ± s.e.':>18} {'- best ± paired (unpaired)':>28} "
        f"{'TV ± s.e.':>14} {'<|m|>':>7} reaches")
    for r in d["rows"]:
        say(f"{r['label']:16} {r['flops'] / 1e9:12.4f} {r['seconds_per_sample'] * 1e3:9.2f} "
            f"{r['error']:8.2%} ± {r['se']:5.2%}   {r['diff_best']:+7.2%} ± {r['diff_best_se']:5.2%} "
            f"({r['diff_best_se_unpaired']:5.2%})   {r['tv']:.3f} ± {r['tv_se']:.3f} {r['abs_m']:7.4f} "
            f"{'yes' if r['reaches'] else ('-' if not r['grid'] else 'no')}")
    say(f"best {d['best']} ({d['best_error']:.2%}); reaches = error <= best + floor = {d['threshold']:.2%}; "
        f"cheapest: {d['cheapest']}")
    for g, ratio in d["flop_ratio"].items():
        say(f"FLOPs {g} / plain at the cheapest runs that reach: {ratio:.3f} (goal <= 0.25); "
            f"wall time {d['wall_ratio'][g]}")


def write_partial(a, L: int, entry: dict) -> None:
    if not a.json:
        return
    path = Path(a.json)
    doc = json.loads(path.read_text()) if path.exists() else {}
    doc.setdefault("sizes", {})
    if doc["sizes"].get(str(L), {}).get("complete") and not entry.get("complete"):
        return                                          # never replace a finished size by a partial one
    doc["sizes"][str(L)] = entry
    commands = doc.get("commands", {})
    earlier = re.search(r"--size (\d+)", doc.get("command", ""))      # a file written before commands per size
    if earlier and earlier.group(1) not in commands:
        commands[earlier.group(1)] = doc["command"]
    doc.update(meta(a))
    doc["commands"] = {**commands, str(L): doc["command"]}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n")
    tmp.replace(path)


def meta(a) -> dict:
    return {"benchmark": "tests/benchmarks/bench_wcrg.py", "command": " ".join(["bench_wcrg.py", *sys.argv[1:]]),
            "machine": f"{platform.machine()}, {torch.get_num_threads()} torch threads, shared with other jobs",
            "torch": torch.__version__, "metric": "mean over |k| = 1..L/2 of |dP/P|",
            "reaches": "error <= best error of any grid run + floor (the fresh fields' error)"}


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--size", type=int, action="append", choices=sorted(MODELS), help="lattice size(s) L")
    p.add_argument("--n", type=int, default=400, help="samples per row")
    p.add_argument("--reference-n", type=int, default=4000, help="fresh MCMC fields in the reference")
    p.add_argument("--floor-n", type=int, default=None, help="more fresh fields, the floor row (default: n)")
    p.add_argument("--chains", type=int, default=1000, help="MCMC chains for the fresh fields")
    p.add_argument("--steps", default="3,5,10,15,20,30,50", help="the one grid of step counts of every model")
    p.add_argument("--batch", type=int, default=100)
    p.add_argument("--boot", type=int, default=400)
    p.add_argument("--stop-at", default=None, metavar="HH:MM",
                   help="start no run after this UTC time; the rows made are analysed, the others listed as not run")
    p.add_argument("--reference-only", action="store_true", help="make (and cache) the fresh fields, then stop")
    p.add_argument("--json", default=None)
    a = p.parse_args()
    a.floor_n = a.floor_n or a.n
    for L in a.size or [16, 32]:
        if a.reference_only:
            plain = open_model(bundle.bundled_dir() / MODELS[L]["plain"])
            x, info = fresh_fields(plain.data, a.reference_n + a.floor_n, a.chains)
            say(f"L = {L}: {len(x)} fields, {info}")
            continue
        write_partial(a, L, measure_size(L, a))


if __name__ == "__main__":
    main()
