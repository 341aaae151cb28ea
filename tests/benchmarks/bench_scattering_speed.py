"""Scattering spectra: today's statistics and L-BFGS against the baseline's, in the same run (issue #31, item 3).

    flock /tmp/bench.lock python tests/benchmarks/bench_scattering_speed.py [--repeats 3]
        [--phi-repeats 10] [--threads 1] [--old-256] [--json docs/results/perf/scattering.json]

The baseline is commit BASELINE (before any speed-up): its `explorer/core/statistics/scattering.py`
and `explorer/core/models/scattering_model.py` (the model with its L-BFGS), extracted with
`git show` into a temporary folder and imported under their own names, the old model importing the
old statistics. Cases, medians over the repeats (old and new alternate):
- phi: Phi and its gradient (the loss's value and gradient) of 16 fields of 64 x 64 (the bank of
  turbulence-scattering: J 5, L 4, 21 shells);
- generate 64: checkpoints/turbulence-scattering.scat.safetensors, 16 fields, 100 L-BFGS iterations;
  with the number of fields' evaluations of Phi and its gradient, the last rms statistics error, and
  the time today's run takes to reach the baseline's last error (its loss after 100 iterations);
- generate 256: checkpoints/turbulence256-scattering.scat.safetensors (J 7, L 4; statistics the baseline
  computes too: cosmic-web256-scattering, measured here until 2026-12-07, now matches <x^3>, <x^4>), one field, 100
  iterations, `repeats` times; with --old-256 the baseline's too, once each (it takes minutes).
The statistics: Phi of the same fields (the 64 x 64 model's training fields and white noise) by
both, the largest difference in units of the model's scale s (what the loss sees) and relative to
|Phi| over the statistics with |Phi| > 1e-3 (Phi of a zero mean is round-off).

torch's threads (--threads, default 1, as the window's run process uses on 2 cores): with 2
threads and a niced single-threaded job on the other core, each of torch's parallel regions waits
for the descheduled thread, and Phi with its gradient took 3 s instead of 0.09 s.
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

BASELINE = "c889c76"          # the commit before any speed-up of the scattering statistics and model
ROOT = Path(__file__).resolve().parents[2]
MODEL_64 = ROOT / "checkpoints/turbulence-scattering.scat.safetensors"
MODEL_256 = ROOT / "checkpoints/turbulence256-scattering.scat.safetensors"


def baseline_modules():
    """The baseline's statistics and model modules, from git, as `scattering_baseline` and
    `scattering_model_baseline` (the model importing the baseline's statistics)."""
    folder = Path(tempfile.mkdtemp())
    modules = []
    for name, rel, edit in (("scattering_baseline", "explorer/core/statistics/scattering.py", None),
                            ("scattering_model_baseline", "explorer/core/models/scattering_model.py",
                             ("from explorer.core.statistics.scattering import", "from scattering_baseline import"))):
        source = subprocess.run(["git", "show", f"{BASELINE}:{rel}"], cwd=ROOT, check=True, capture_output=True,
                                text=True).stdout
        if edit:
            assert edit[0] in source
            source = source.replace(*edit)
        path = folder / f"{name}.py"
        path.write_text(source)
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        modules.append(module)
    return modules


def open_both(path: Path, old_model) -> dict:
    """The model at `path` as the baseline loads it and as today's does. The baseline's loader
    refuses a recorded default run (it came later; the cases give their iterations), so it reads a
    copy without one, the tensors unchanged."""
    from safetensors.torch import load_file, save_file

    new = open_model(path)
    old_path = path
    if new.default_run is not None:
        old_path = Path(tempfile.mkdtemp()) / path.name
        config = {k: v for k, v in new.config.items() if k != "default_run"}
        save_file(load_file(path), old_path, metadata={"explorer": json.dumps(config)})
    return {"old": old_model.load(old_path), "new": new}


class Counted:
    """A model's value_and_grad, counting the fields it evaluates."""

    def __init__(self, model):
        self.model, self.fields, self.inner = model, 0, model._value_and_grad

    def __call__(self, x):
        self.fields += len(x)
        return self.inner(x)


def generate(model, n: int, steps: int) -> dict:
    """n fields, `steps` L-BFGS iterations: seconds, the seconds at each iteration, the rms
    statistics errors, and the fields evaluated."""
    counted = Counted(model)
    model._value_and_grad = counted
    try:
        start = time.perf_counter()
        run = model.run(RunSpec(sampler="lbfgs", steps=steps, n=n, seed=0))
        at = []
        try:
            while True:
                next(run)
                at.append(time.perf_counter() - start)
        except StopIteration as done:
            errors = done.value.meta["rms_error"]
        return {"seconds": time.perf_counter() - start, "at": at, "errors": errors, "fields": counted.fields}
    finally:
        del model._value_and_grad


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


def precision(model) -> dict:
    """Today's generator evaluates Phi and its gradient in float32 (`scattering_model.COMPUTE`): the
    largest relative differences of its loss and gradient from float64's, on 16 noise fields of the model's size."""
    from explorer.core.models import scattering_model

    size = model.image_shape[-1]
    x = torch.randn(16, 1, size, size, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    f32, g32 = model._value_and_grad(x)
    kept, scattering_model.COMPUTE = scattering_model.COMPUTE, torch.float64
    try:
        f64, g64 = model._value_and_grad(x)
    finally:
        scattering_model.COMPUTE = kept
    return {"compute": str(kept), "max_rel_loss_diff": float(((f32 - f64).abs() / f64).max()),
            "max_rel_grad_diff": float((g32 - g64).norm(dim=1).div(g64.norm(dim=1)).max())}


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--repeats", type=int, default=3, help="runs of each generation case")
    p.add_argument("--phi-repeats", type=int, default=10, help="runs of the Phi-and-gradient case")
    p.add_argument("--steps", type=int, default=100)
    p.add_argument("--threads", type=int, default=1, help="torch.set_num_threads (1: as the window's run process)")
    p.add_argument("--old-256", action="store_true", help="also time the baseline at 256 x 256 (minutes)")
    p.add_argument("--json", type=Path, default=None, help="write the results there")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    old_stats, old_model = baseline_modules()
    machine = {"platform": platform.platform(), "cpu_count": os.cpu_count(), "torch": torch.__version__,
               "threads": torch.get_num_threads(), "loadavg_at_start": os.getloadavg()}
    print(f"machine: {machine}")
    models = open_both(MODEL_64, old_model)
    diff = difference(old_stats, models["new"])
    print(f"Phi, baseline against today, {diff['fields']} fields x {diff['statistics']} statistics: max |dPhi| / s "
          f"{diff['max_abs_diff_over_scale']:.2e}, max |dPhi| / |Phi| (|Phi| > 1e-3) {diff['max_rel_diff']:.2e}")
    prec = precision(models["new"])
    print(f"today's loss and gradient in {prec['compute']} against float64: max relative difference "
          f"{prec['max_rel_loss_diff']:.1e} and {prec['max_rel_grad_diff']:.1e}")
    cases = {}
    x = torch.randn(16, 1, 64, 64, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    times = {"old": [], "new": []}
    for _ in range(a.phi_repeats):
        for name in times:
            times[name].append(phi_and_grad(models[name], x))
    cases["phi_and_gradient_16x64x64"] = times
    runs = {"old": [], "new": []}
    for _ in range(a.repeats):
        for name in runs:
            runs[name].append(generate(models[name], 16, a.steps))
    cases[f"generate_16x64x64_{a.steps}_iterations"] = {name: [r["seconds"] for r in v] for name, v in runs.items()}
    # today's time to the baseline's last error, pairing the repeats (every run starts from the same noise)
    reach = []
    for old, new in zip(runs["old"], runs["new"]):
        first = next((i for i, e in enumerate(new["errors"]) if e <= old["errors"][-1]), None)
        reach.append({"iteration": first, "seconds": None if first is None else new["at"][first]})
    big = {name: m for name, m in open_both(MODEL_256, old_model).items() if a.old_256 or name == "new"}
    times = {name: [] for name in big}
    for _ in range(a.repeats if not a.old_256 else 1):                  # with the baseline: once each (minutes)
        for name in times:
            times[name].append(generate(big[name], 1, a.steps)["seconds"])
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
    lbfgs = {name: {"fields_evaluated": [r["fields"] for r in v], "last_rms_error": [r["errors"][-1] for r in v]}
             for name, v in runs.items()}
    seconds = [r["seconds"] for r in reach if r["seconds"] is not None]
    old_median = rows[f"generate_16x64x64_{a.steps}_iterations"]["old"]["median_s"]
    to_loss = {"iterations": [r["iteration"] for r in reach],
               "seconds": [None if s is None else round(s, 3) for s in (r["seconds"] for r in reach)],
               "median_s": round(statistics.median(seconds), 4) if len(seconds) == len(reach) else None}
    to_loss["ratio"] = round(old_median / to_loss["median_s"], 2) if to_loss["median_s"] else None
    print(f"16 x 64 x 64: fields evaluated old {lbfgs['old']['fields_evaluated']}, new {lbfgs['new']['fields_evaluated']}; "
          f"last rms error old {lbfgs['old']['last_rms_error']}, new {lbfgs['new']['last_rms_error']}")
    print(f"today reaches the baseline's last error at iterations {to_loss['iterations']}, after {to_loss['seconds']} s "
          f"(median {to_loss['median_s']} s: {to_loss['ratio']}x the baseline's {a.steps} iterations)")
    if a.json:
        a.json.parent.mkdir(parents=True, exist_ok=True)
        a.json.write_text(json.dumps({
            "benchmark": "scattering spectra and their L-BFGS, baseline (git show BASELINE) against today, same run",
            "baseline": BASELINE, "machine": machine, "repeats": a.repeats, "phi_repeats": a.phi_repeats,
            "steps": a.steps, "cases": rows, "lbfgs_16x64x64": lbfgs, "time_to_baseline_loss_16x64x64": to_loss,
            "model_256": str(MODEL_256.relative_to(ROOT)),
            "seconds_256x256_one_field": rows[f"generate_1x256x256_{a.steps}_iterations"]["new"]["median_s"],
            "statistics_difference": diff, "precision": prec}, indent=1) + "\n")
        print(f"wrote {a.json}")


if __name__ == "__main__":
    main()
