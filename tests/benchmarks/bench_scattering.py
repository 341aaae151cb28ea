"""Scattering spectra against the Gaussian model on turbulence (64 x 64) and phi^4 (L = 32).

    python tests/benchmarks/bench_scattering.py [--n 32] [--steps 100] [--fields turbulence,phi4]
        [--also phi4=checkpoints/phi4-N10000.safetensors --also phi4=checkpoints/phi4-wcrg.wcrg]

Two scattering models are made, the wavelet statistics alone ("scattering") and with the power
P(k) of every resolved shell ("scat + P(k)", the default of `explorer train scattering`). Each
model is made from a training set (turbulence: S1, N = 256, at 64 x 64, or 32 x 32 for
turbulence32; phi^4: N = 256 at the recorded beta_c) and judged against held-out fields of the
same generator (`fresh_images`): the largest
relative error of the radial power spectrum over the resolved shells (turbulence: k <= n/3, the
dealiased range; phi^4: k <= L/2), the histogram total-variation distance, the kurtosis of the
values, the isotropic bispectrum (8 triangles; the largest difference in standard errors), the
reduced trispectrum (every pair of octave bands up to k_max; the largest difference relative to
the largest |t| of the held-out data, and in standard errors), and the number of parameters. The row "data"
is n training fields against the same held-out fields: the floor that sampling noise sets.
`--also FIELD=MODEL` adds a row for any model file of that field (a diffusion checkpoint, a WCRG
folder, ...), sampled with its default sampler and steps.
Timings: Phi of 1000 fields of 64 x 64 against a bare FFT of the same array; 16 fields of
64 x 64 generated (the first batch of the turbulence run).
"""
from __future__ import annotations

import argparse
import platform
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from explorer.core.data import fresh_images, training_set
from explorer.core.data.turbulence import kurtosis
from explorer.core.models import RunSpec, final_samples, open_model, scattering_model
from explorer.core.statistics import gaussian_field, stats
from explorer.core.statistics.scattering import ScatteringConfig, ScatteringSpectra, statistics

FIELDS = {
    "turbulence": ({"name": "turbulence", "n": 256, "split": "S1", "seed": 0, "params": {"size": 64}}, 256, 64 // 3),
    "phi4": ({"name": "phi4", "n": 256, "split": "all", "seed": 0, "params": {"L": 32}}, 1000, 16),
    "turbulence32": ({"name": "turbulence", "n": 256, "split": "S1", "seed": 0, "params": {"size": 32}}, 256, 32 // 3),
}


def row(name: str, params: int, x: np.ndarray, held_out: dict) -> None:
    """One model's errors against the held-out fields' `stats.summary`."""
    r = stats.compare_to_summary(x, held_out)
    print(f"{name:12} {params:7d} {np.abs(r['power_relative_error']).max():9.1%} "
          f"{r['histogram_tv']:6.3f} ± {r['histogram_tv_se']:5.3f} "
          f"{kurtosis(x):7.2f} {stats.difference_z(r['bispectrum']):8.1f} "
          f"{format(stats.relative_difference(r['trispectrum']) or float('nan'), '.0%'):>9} "
          f"{stats.difference_z(r['trispectrum']):8.1f}")


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--n", type=int, default=32, help="generated fields per model")
    p.add_argument("--steps", type=int, default=100, help="L-BFGS iterations")
    p.add_argument("--fields", default="turbulence,phi4")
    p.add_argument("--also", action="append", default=[], metavar="FIELD=MODEL", help="another model's row")
    args = p.parse_args()
    torch.set_num_threads(1)
    print(f"# {platform.processor() or platform.machine()}, torch {torch.__version__}, 1 thread")
    gen_time = None
    with tempfile.TemporaryDirectory() as tmp:
        for field in args.fields.split(","):
            record, held, k_max = FIELDS[field]
            train = training_set(record)
            held_out = fresh_images(record, held)
            reference = stats.summary(held_out, k_max=k_max)
            size = train.shape[-1]
            bank = ScatteringConfig(size, int(np.log2(size)) - 1, 4)
            scat = {}                                  # the wavelet statistics alone, and with P(k) of every resolved shell
            for label, shells in (("scattering", 0), ("scat + P(k)", None)):
                t = time.perf_counter()
                out = Path(tmp) / f"{field}-{shells}.scat.safetensors"
                model = scattering_model.fit(record, replace(bank, shells=shells), out)
                fit_s = time.perf_counter() - t
                t = time.perf_counter()
                done = []
                scat[label] = model, final_samples(model, RunSpec(n=args.n, steps=args.steps, seed=0), batch=16,
                                                   progress=lambda k, n: done.append(time.perf_counter() - t))
                if field == "turbulence" and size == 64 and shells is None:
                    gen_time = done[0]
                print(f"{label}: {model.spectra.describe()}; made in {fit_s:.1f} s, {args.n} fields in "
                      f"{time.perf_counter() - t:.0f} s ({args.steps} iterations)")
            gauss = gaussian_field.fit(train)
            print(f"\n## {field} {size}x{size}: {len(train)} training fields, {len(held_out)} held out; held-out "
                  f"kurtosis {kurtosis(held_out):.2f}")
            print(f"{'model':12} {'params':>7} {'max|dP/P|':>9} {'hist TV ± s.e.':>14} {'kurt':>7} {'b err/se':>8} "
                  f"{'t rel err':>9} {'t err/se':>8}")
            row("data", 0, train[:args.n], reference)
            row("gaussian", gaussian_field.parameters(gauss), gaussian_field.sample(gauss, args.n, seed=1), reference)
            for label, (model, x_scat) in scat.items():
                row(label, model.parameters, x_scat, reference)
            for other in (open_model(m) for f, m in (a.split("=", 1) for a in args.also) if f == field):
                row(other.name[:12], other.parameters, final_samples(other, RunSpec(n=args.n, seed=0)), reference)
            bi, tri = reference["bispectrum"], reference["trispectrum"]
            print("held-out bispectrum b/se per triangle " + " ".join(
                f"{tuple(t)}: {b / s:+.1f}" for t, b, s in zip(bi["triangles"], bi["b"], bi["se"])))
            print("held-out trispectrum t (se) per pair of bands [lo, hi) " + " ".join(
                f"{tuple(p)}: {t:+.3f} ({s:.3f})" for p, t, s in zip(tri["pairs"], tri["t"], tri["se"])))
    spectra = ScatteringSpectra(ScatteringConfig(64, 5, 4, shells=21))
    x = torch.randn(1000, 64, 64)
    sigma2, spectrum = spectra.power(x[:100]).mean(0), spectra.spectrum(x[:100]).mean(0)
    t = time.perf_counter()
    statistics(spectra, x, sigma2, spectrum)
    phi_s = time.perf_counter() - t
    t = time.perf_counter()
    torch.fft.fft2(x)
    fft_s = time.perf_counter() - t
    print(f"\nPhi ({spectra.count} statistics) of 1000 fields of 64x64, float32: {phi_s:.2f} s; a bare FFT of "
          f"them {fft_s * 1e3:.1f} ms; ratio {phi_s / fft_s:.0f}")
    if gen_time is not None:
        print(f"16 fields of 64x64 generated ({args.steps} L-BFGS iterations, float64): {gen_time:.0f} s")


if __name__ == "__main__":
    main()
