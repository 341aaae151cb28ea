"""The turbulence data set itself, measured on its 256 x 256 runs (#29): the energy spectrum and its
slope in the enstrophy-cascade range (least squares in log-log, error by a jackknife over blocks),
the spectral fluxes Pi_Z(k), Pi_E(k) against the injection rates, the energy at |k| = 1, the
|k| = 1 modes' correlation time (on the runs themselves, and the pilot's), the drag's share of
the injection, the energy block by block (a drift would show), and the parity-odd bispectrum
b_odd of the fields at 64 x 64 (the size the models see), with errors per field and per block.
A block is turbulence.PER_RUN consecutive snapshots of one run (`turbulence.grid_run`), many
|k| = 1 correlation times long: the blocks are the nearly independent units of the errors.

    python tests/benchmarks/bench_turbulence_data.py --json checkpoints/turbulence/data.json

Reads the blocks from the data cache (`turbulence.grid_run`; it makes any that are missing).
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch

from explorer.core.data import turbulence
from explorer.core.files.io import atomic_write
from explorer.core.statistics import stats

PARAMS = {"grid": 256, "k_f": 5.0, "k_drag": 3.0, "mu": 0.5, "dt": 0.003}


def jackknife(values: np.ndarray, estimate) -> tuple[np.ndarray, np.ndarray]:
    """estimate(values) and its leave-one-out jackknife standard error over the first axis."""
    full = np.asarray(estimate(values))
    n = len(values)
    loo = np.stack([np.asarray(estimate(np.delete(values, i, 0))) for i in range(n)])
    return full, np.sqrt((n - 1) / n * ((loo - loo.mean(0)) ** 2).sum(0))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--params", default=json.dumps(PARAMS), help="the data's parameters (JSON, size aside)")
    p.add_argument("--seeds", default="0,7919", help="the runs' seeds (training 0, fresh 7919)")
    p.add_argument("--blocks", default="6,5", help="blocks per seed")
    p.add_argument("--fit", default="8,32", help="the k range of the slope fit (both ends included)")
    p.add_argument("--json", required=True)
    a = p.parse_args(argv)
    torch.set_num_threads(1)
    t0 = time.perf_counter()
    params = json.loads(a.params)
    prm = turbulence.parameters(params["grid"], **params)
    seeds, counts = [int(s) for s in a.seeds.split(",")], [int(r) for r in a.blocks.split(",")]
    k_lo, k_hi = (int(k) for k in a.fit.split(","))
    pilot = turbulence.measure_grid(prm)
    g = prm["grid"]
    solver = turbulence.Solver(**{**turbulence.solver_args(prm), "eps": 0.0})
    w8 = solver._weights().numpy()
    k2 = solver.k2.numpy()
    shell = np.sqrt(k2).round().astype(int)
    ks = np.arange(1, g // 3 + 1)
    spectra, box_fraction, drag_e, drag_z, fluxes, boxes, small, run_of = [], [], [], [], [], [], [], []
    for seed, count in zip(seeds, counts):
        for run in range(count):
            w = turbulence.grid_run(prm, seed, run)                                        # (PER_RUN, g, g)
            wh2 = w8 * np.abs(np.fft.rfft2(w.astype(np.float64))) ** 2 / g ** 4            # |omega_hat|^2 per mode
            e = 0.5 * wh2 * solver.inv_k2.numpy()                                          # energy per mode
            spectra.append(np.stack([e[:, shell == k].sum(1) for k in ks], 1).mean(0))
            box_fraction.append(float((e[:, k2 == 1].sum(1) / e.sum((1, 2))).mean()))
            dragged = solver.drag.numpy() > 0 if prm.get("k_drag") else np.ones_like(k2, bool)
            drag_e.append(float(2 * prm["mu"] * e[:, dragged].sum(1).mean()))
            drag_z.append(float(prm["mu"] * wh2[:, dragged].sum(1).mean()))
            f = turbulence.spectral_fluxes(w)
            fluxes.append([f["energy"], f["enstrophy"]])
            boxes.append(turbulence.grid_box(prm, seed, run))
            small.append(turbulence.coarse_grain(torch.from_numpy(w).double(), 64).numpy())
            run_of += [len(spectra) - 1] * len(w)
    spectra, fluxes = np.stack(spectra), np.array(fluxes)                                  # (R, K), (R, 2, K)
    runs = len(spectra)
    fit = (ks >= k_lo) & (ks <= k_hi)

    def slope(s: np.ndarray) -> float:
        return float(np.polyfit(np.log(ks[fit]), np.log(s.mean(0)[fit]), 1)[0])

    fit_slope, fit_se = jackknife(spectra, slope)
    octaves = []
    for lo in (k for k in (4, 8, 16, 32, 64) if 2 * k <= g // 3 + 1):
        hi = min(2 * lo, g // 3)
        sel = (ks >= lo) & (ks <= hi)
        s, se = jackknife(spectra, lambda x, sel=sel: np.polyfit(np.log(ks[sel]), np.log(x.mean(0)[sel]), 1)[0])
        octaves.append({"k": [lo, hi], "slope": float(s), "se": float(se)})
    # injection rates: eps by construction; eta = eps sum_ring 1 / sum_ring 1/|k|^2 (the forcing is white on the ring)
    fk = np.fft.fftfreq(g, 1 / g)
    full = fk[:, None] ** 2 + fk[None, :] ** 2
    ring = (np.abs(np.sqrt(full) - prm["k_f"]) <= 1) & (full > 0)
    eps = prm["eps"]
    eta = eps * ring.sum() / (1 / full[ring]).sum()
    # the |k| = 1 modes' autocorrelation on the runs (recorded every 0.25 after the spin-up; blocks side by side)
    length = min(len(b) for b in boxes)
    every = max(1, int(round(0.25 / prm["dt"]))) * prm["dt"]
    corr, tau_1 = turbulence.autocorrelation(np.stack([b[:length] for b in boxes], 1), every)
    lag = int(round(pilot["spacing"] / every))
    m = np.stack(boxes, 1)[:length]
    c_spacing = float((np.conj(m[:-lag]) * m[lag:]).real.mean() / (np.abs(m) ** 2).mean())
    # b_odd at 64 x 64, in units of the 64 x 64 truncation's rms (as the data set gives them)
    x = np.concatenate(small)[:, None]
    x = x / np.sqrt((x ** 2).mean())
    triangles = [t for t in stats.SCALENE if max(t) <= 31]
    parts = stats.bispectrum_parts(x, triangles)
    run_of = np.array(run_of)

    def odd(idx: np.ndarray) -> np.ndarray:
        return stats.bispectrum_parts(x[np.isin(run_of, idx)], triangles)["odd"]

    _, odd_run_se = jackknife(np.arange(runs), odd)
    flux_mean, flux_se = fluxes.mean(0), fluxes.std(0, ddof=1) / math.sqrt(runs)
    fk_ = np.array(f["k"])
    plateau = (fk_ >= k_lo) & (fk_ <= k_hi)
    below = fk_ < prm["k_f"] - 1
    out = {
        "command": "python tests/benchmarks/bench_turbulence_data.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "params": prm, "algorithm": turbulence.ALGORITHM, "seeds": seeds, "blocks_per_seed": counts, "blocks": runs,
        "spin_up": max(pilot["spin_up"], turbulence.PILOT["duration"]), "pilot_runs": turbulence.PILOT,
        "energy_per_block": spectra.sum(1).tolist(),
        "fields": int(len(x)), "per_run": turbulence.PER_RUN, "pilot": pilot,
        "spacing": pilot["spacing"], "tau_1_runs": tau_1, "box_autocorrelation_runs": corr,
        "box_autocorrelation_at_spacing": c_spacing,
        "k": ks.tolist(), "energy_spectrum": spectra.mean(0).tolist(),
        "energy_spectrum_se": (spectra.std(0, ddof=1) / math.sqrt(runs)).tolist(),
        "fit": {"k": [k_lo, k_hi], "slope": float(fit_slope), "se": float(fit_se)}, "octaves": octaves,
        "box_energy_fraction": float(np.mean(box_fraction)),
        "box_energy_fraction_se": float(np.std(box_fraction, ddof=1) / math.sqrt(runs)),
        "energy": float(spectra.sum(1).mean()), "eps": eps, "eta": float(eta),
        "drag_energy_rate": float(np.mean(drag_e)), "drag_enstrophy_rate": float(np.mean(drag_z)),
        "flux_k": f["k"], "Pi_E": flux_mean[0].tolist(), "Pi_E_se": flux_se[0].tolist(),
        "Pi_Z": flux_mean[1].tolist(), "Pi_Z_se": flux_se[1].tolist(),
        "Pi_Z_plateau": {"k": [k_lo, k_hi], "min": float(flux_mean[1][plateau].min()),
                         "max": float(flux_mean[1][plateau].max()), "mean": float(flux_mean[1][plateau].mean())},
        "Pi_E_below": {"k": fk_[below].tolist(), "values": flux_mean[0][below].tolist(),
                       "se": flux_se[0][below].tolist()},
        "triangles": [list(t) for t in triangles],
        "b_odd": parts["odd"].tolist(), "b_odd_se_fields": parts["odd_se"].tolist(), "b_odd_se_blocks": odd_run_se.tolist(),
        "seconds": 0.0,
    }
    out["seconds"] = time.perf_counter() - t0
    atomic_write(Path(a.json), lambda f: f.write(json.dumps(out, indent=1).encode()))
    print(f"slope {fit_slope:.3f} ± {fit_se:.3f} over k = {k_lo}-{k_hi}; Pi_Z/eta on it {flux_mean[1][plateau].min() / eta:.3f}"
          f"-{flux_mean[1][plateau].max() / eta:.3f}; Pi_E below k_f {flux_mean[0][below]}; |k| = 1 fraction "
          f"{out['box_energy_fraction']:.4f}; tau_1 {tau_1:.2f} (pilot {pilot['tau_1']:.2f}), C(spacing {pilot['spacing']:.2f}) "
          f"= {c_spacing:.2f}; wrote {a.json} in {out['seconds']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
