"""Scattering spectra: today's statistics against the baseline, in the same run (issue #31, item 3).

    flock /tmp/bench.lock python tests/benchmarks/bench_scattering_speed.py [--repeats 3]
        [--phi-repeats 10] [--old-256] [--json docs/results/perf/scattering.json]

The baseline is `explorer/core/statistics/scattering.py` as it was at BASELINE (before the
hand-written backward and the grouped FFTs), extracted with `git show` into a temporary folder
and imported under its own name; the model is the same object with its `spectra` swapped, so
both run the same L-BFGS. Cases, medians over the repeats (old and new alternate):
- phi: Phi and its gradient of 16 fields of 64 x 64 (the bank of turbulence-scattering: J 5, L 4, 21 shells);
- generate 64: checkpoints/turbulence-scattering.scat.safetensors, 16 fields, 100 L-BFGS iterations;
- generate 256: checkpoints/cosmic-web256-scattering.scat.safetensors (J 7, L 4), one field, 100
  iterations (the baseline's only with --old-256: it takes minutes).
The statistics: Phi of the same fields (the 64 x 64 model's training fields and its white noise)
by both, the largest difference in units of the model's scale s (what the loss sees) and
relative to |Phi| over the statistics with |Phi| > 1e-3 (Phi of a zero mean is round-off).
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from explorer.core.data import training_set
from explorer.core.models import RunSpec, open_model
from explorer.core.statistics.scattering import ScatteringSpectra

BASELINE = "129fac01776d1bff923dcfda134b4b3fdbec0c04"      # the last commit of the old scattering.py
ROOT = Path(__file__).resolve().parents[2]
MODEL_64 = ROOT / "checkpoints/turbulence-scattering.scat.safetensors"
MODEL_256 = ROOT / "checkpoints/cosmic-web256-scattering.scat.safetensors"


def baseline_module():
    """The baseline's scattering module, from git, as `scattering_baseline`."""
    source = subprocess.run(["git", "show", f"{BASELINE}:explorer/core/statistics/scattering.py"], cwd=ROOT,
                            check=True, capture_output=True, text=True).stdout
    path = Path(tempfile.mkdtemp()) / "scattering_baseline.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("scattering_baseline", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["scattering_baseline"] = module
    spec.loader.exec_module(module)
    return module


def with_spectra(path: Path, old, baseline: bool):
    """The model at `path`, its statistics the baseline's or today's."""
    model = open_model(path)
    if baseline:
        model.spectra = old.ScatteringSpectra(old.ScatteringConfig(**model.spectra.config.to_dict()))
    return model


def generate(model, n: int, steps: int) -> tuple[float, float]:
    """Seconds for n fields, `steps` L-BFGS iterations, and the last rms statistics error."""
    start = time.perf_counter()
    run = model.run(RunSpec(sampler="lbfgs", steps=steps, n=n, seed=0))
    try:
        while True:
            next(run)
    except StopIteration as done:
        return time.perf_counter() - start, done.value.meta["rms_error"][-1]


def phi_and_grad(model, x: torch.Tensor) -> float:
    """Seconds for the loss and its gradient of fields x (B, 1, H, W)."""
    start = time.perf_counter()
    model._value_and_grad(x)
    return time.perf_counter() - start


def summary(times: list[float]) -> dict:
    return {"median_s": round(statistics.median(times), 4), "min_s": round(min(times), 4), "max_s": round(max(times), 4)}


def difference(old, model) -> dict:
    """The largest differences of Phi between the baseline and today on the model's training fields and noise."""
    data = dict(model.data, n=16)
    x = torch.from_numpy(training_set(data)).double()
    x = torch.cat([x, torch.randn(x.shape, generator=torch.Generator().manual_seed(0), dtype=torch.float64) * x.std()])
    c = model.spectra.config
    a, b = old.ScatteringSpectra(old.ScatteringConfig(**c.to_dict())), ScatteringSpectra(c)
    phi_old, phi_new = (s(x, model.sigma2, model.spectrum) for s in (a, b))
    diff = (phi_new - phi_old).abs()
    big = phi_old.abs() > 1e-3
    return {"fields": len(x), "statistics": phi_old.shape[1], "max_abs_diff_over_scale": float((diff / model.scale).max()),
            "max_rel_diff": float((diff[big] / phi_old.abs()[big]).max()), "max_abs_diff": float(diff.max())}


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--repeats", type=int, default=3, help="runs of each generation case")
    p.add_argument("--phi-repeats", type=int, default=10, help="runs of the Phi-and-gradient case")
    p.add_argument("--steps", type=int, default=100)
    p.add_argument("--old-256", action="store_true", help="also time the baseline at 256 x 256 (minutes)")
    p.add_argument("--json", type=Path, default=None, help="write the results there")
    a = p.parse_args()
    old = baseline_module()
    machine = {"platform": platform.platform(), "cpu_count": os.cpu_count(), "torch": torch.__version__,
               "threads": torch.get_num_threads(), "loadavg_at_start": os.getloadavg()}
    print(f"machine: {machine}")
    models = {name: with_spectra(MODEL_64, old, name == "old") for name in ("old", "new")}
    diff = difference(old, models["new"])
    print(f"Phi, baseline against today, {diff['fields']} fields x {diff['statistics']} statistics: max |dPhi| / s "
          f"{diff['max_abs_diff_over_scale']:.2e}, max |dPhi| / |Phi| (|Phi| > 1e-3) {diff['max_rel_diff']:.2e}")
    cases = {}
    x = torch.randn(16, 1, 64, 64, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    times = {"old": [], "new": []}
    for _ in range(a.phi_repeats):
        for name in times:
            times[name].append(phi_and_grad(models[name], x))
    cases["phi_and_gradient_16x64x64"] = times
    times, errors = {"old": [], "new": []}, {"old": [], "new": []}
    for _ in range(a.repeats):
        for name in times:
            t, e = generate(models[name], 16, a.steps)
            times[name].append(t)
            errors[name].append(e)
    cases[f"generate_16x64x64_{a.steps}_iterations"] = times
    big = {name: with_spectra(MODEL_256, old, name == "old") for name in (("old", "new") if a.old_256 else ("new",))}
    times = {name: [] for name in big}
    for _ in range(a.repeats if not a.old_256 else 1):
        for name in times:
            times[name].append(generate(big[name], 1, a.steps)[0])
    cases[f"generate_1x256x256_{a.steps}_iterations"] = times
    rows = {}
    print(f"{'case':40} {'old median s':>13} {'new median s':>13} {'ratio':>7}")
    for case, t in cases.items():
        row = {name: summary(v) for name, v in t.items()}
        if "old" in row:
            row["ratio"] = round(row["old"]["median_s"] / row["new"]["median_s"], 2)
        rows[case] = row
        print(f"{case:40} {row['old']['median_s'] if 'old' in row else float('nan'):13.3f} "
              f"{row['new']['median_s']:13.3f} {row.get('ratio', float('nan')):7.2f}")
    print(f"last rms statistics error of the 64 x 64 runs: old {errors['old']}, new {errors['new']}")
    if a.json:
        a.json.parent.mkdir(parents=True, exist_ok=True)
        a.json.write_text(json.dumps({
            "benchmark": "scattering spectra, baseline (git show BASELINE) against today, same run",
            "baseline": BASELINE, "machine": machine, "repeats": a.repeats, "phi_repeats": a.phi_repeats,
            "steps": a.steps, "cases": rows,
            "seconds_256x256_one_field": rows[f"generate_1x256x256_{a.steps}_iterations"]["new"]["median_s"],
            "rms_error_64": errors, "statistics_difference": diff}, indent=1) + "\n")
        print(f"wrote {a.json}")


if __name__ == "__main__":
    main()
