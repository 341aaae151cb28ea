"""The cosmic web data set against what the literature expects, on fresh fields (never trained on):

1. P(k) of delta (2-D, the slab's projection) over the truncated-Zel'dovich input P_L(k) e^(-k^2/k_G^2) / L_z
   averaged over the same modes of each shell (the linear theory of a periodic slab is its k_z = 0
   plane): about 1 at large scales, where Zel'dovich keeps linear growth; mode coupling and shell
   crossing move power between scales below them;
2. the one-point law: skewness and excess kurtosis of delta and of log(1 + delta) (log-normal-like:
   delta strongly skewed, its log nearly symmetric), the TV distance of standardised log(1 + delta)
   to a unit normal;
3. the reduced bispectrum of delta on equilateral and scalene triangles (positive, many standard
   errors: gravitational clustering) and of the field explorer shows, log(1 + delta), with its
   parity-odd part (0 within errors: the law is mirror symmetric).

    python tests/benchmarks/bench_cosmic_web.py --n 512 --json checkpoints/cosmic_web/data.json
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from explorer.core.data import cosmic_web
from explorer.core.files.io import atomic_write
from explorer.core.statistics import stats

EQUILATERAL = ((2, 2, 2), (4, 4, 4), (8, 8, 8), (12, 12, 12))


def moments(v: np.ndarray) -> dict:
    v = np.asarray(v, np.float64).ravel()
    c = v - v.mean()
    s = c.std()
    return {"mean": float(v.mean()), "std": float(s), "skewness": float((c ** 3).mean() / s ** 3),
            "excess_kurtosis": float((c ** 4).mean() / s ** 4 - 3)}


def normal_tv(v: np.ndarray, bins: int = 60) -> float:
    """TV distance between standardised values and N(0, 1) on `bins` bins over +-4 sigma (and the tails)."""
    from math import erf, sqrt
    z = (v - v.mean()) / v.std()
    edges = np.linspace(-4, 4, bins + 1)
    cdf = np.array([0.5 * (1 + erf(e / sqrt(2))) for e in edges])
    expected = np.concatenate([[cdf[0]], np.diff(cdf), [1 - cdf[-1]]])
    counts = np.concatenate([[np.sum(z < edges[0])], np.histogram(z, edges)[0], [np.sum(z >= edges[-1])]])
    return float(0.5 * np.abs(counts / z.size - expected).sum())


def triangle_rows(x: np.ndarray, triangles) -> list[dict]:
    r = stats.bispectrum_parts(x, triangles)
    return [{"triangle": list(t), "even": float(r["even"][i]), "even_se": float(r["even_se"][i]),
             "odd": float(r["odd"][i]), "odd_se": float(r["odd_se"][i])} for i, t in enumerate(triangles)]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=512, help="fresh fields")
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--seed", type=int, default=1, help="not the training seed (0)")
    p.add_argument("--json", required=True)
    a = p.parse_args(argv)
    params = dict(cosmic_web.DEFAULTS, size=a.size)
    t0 = time.perf_counter()
    log_rho = cosmic_web.samples(a.seed, 0, a.n, **params).astype(np.float64)
    seconds = time.perf_counter() - t0
    delta = np.exp(log_rho) - 1
    box, depth, size = params["box"], params["depth"], params["size"]
    cell = box / size
    k, p_cell = stats.radial_power_spectrum(delta)
    per_field = stats.field_power_spectra(delta)
    k_phys = 2 * np.pi * k / box
    k_g = cosmic_web.nonlinear_wavenumber(params["z"])
    q = 2 * np.pi / box * np.hypot(*np.meshgrid(np.fft.fftfreq(size) * size, np.fft.fftfreq(size) * size, indexing="ij"))
    modes = cosmic_web.linear_power(q, params["z"]) * np.exp(-(q / k_g) ** 2) / depth
    p_input = stats.shell_mean(modes, k)                                  # over the same modes as the measurement
    p_measured = p_cell * cell ** 2
    se = per_field.std(0, ddof=1) / np.sqrt(a.n) * cell ** 2
    triangles = [t for t in EQUILATERAL + stats.SCALENE if max(t) <= size // 2 - 1]
    out = {
        "command": "python tests/benchmarks/bench_cosmic_web.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "fields": a.n, "seed": a.seed, "params": params, "k_nl": k_g, "seconds_per_field": seconds / a.n,
        "spectrum": [{"k": int(kk), "k_h_per_mpc": float(kp), "measured": float(pm), "se": float(s),
                      "input": float(pi), "ratio": float(pm / pi)}
                     for kk, kp, pm, s, pi in zip(k, k_phys, p_measured, se, p_input)],
        "one_point": {"delta": moments(delta), "log_density": moments(log_rho),
                      "log_density_normal_tv": normal_tv(log_rho.ravel())},
        "bispectrum_delta": triangle_rows(delta, triangles),
        "bispectrum_log_density": triangle_rows(log_rho, triangles),
    }
    atomic_write(Path(a.json), lambda f: f.write(json.dumps(out, indent=1).encode()))
    print(json.dumps(out["one_point"], indent=1))
    for row in out["bispectrum_delta"]:
        print(f"delta b{tuple(row['triangle'])}: {row['even']:.3f} ± {row['even_se']:.3f}   "
              f"odd {row['odd']:.3f} ± {row['odd_se']:.3f}")
    for row in out["spectrum"][:8]:
        print(f"k {row['k']}: P/P_input {row['ratio']:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
