"""Fewer examples (issue #30 item 4; SCIENCE §13): the error of plain diffusion, WCRG and scattering
spectra on phi^4 at beta_c, L = 32, against the number N of training fields.

    python tests/benchmarks/bench_examples.py [--n 400] [--batch 100] [--json checkpoints/phi4/examples.json]

Models: the bundled L = 32 models (N = 10 000; the scattering model N = 256) and those
scripts/make_checkpoints.sh trains on fewer fields with the same recipe (checkpoints/phi4/examples/).
Every model runs ONE setting from the same seed: diffusion and WCRG ODE/Heun with K steps (per
scale), K the largest of the L = 32 default runs in checkpoints/phi4/hierarchy.json (so each model
runs at least its cheapest run that reaches at N = 10 000); scattering its L-BFGS, --iterations
iterations. The reference, the floor and the metric are those of hierarchy.json at L = 32: the
same fresh MCMC fields (its reference record: count, floor count, chains; cached), mean over |k|
of |dP/P|, a paired bootstrap over the reference and the samples, the floor = fresh fields' error.
"""
from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import torch
from bench_wcrg import fresh_fields, one_point, sample_row, say, spectrum_errors

from explorer.core.models import bundle, open_model
from explorer.core.statistics import stats

L = 32
# (generator, training fields N, file under checkpoints/)
MODELS = [("plain", 10000, "phi4-N10000.safetensors"),
          *(("plain", n, f"phi4/examples/phi4-N{n}.safetensors") for n in (1000, 300, 100, 30)),
          ("WCRG narrow", 10000, "phi4-wcrg-narrow.wcrg"),
          *(("WCRG narrow", n, f"phi4/examples/phi4-wcrg-narrow-N{n}.wcrg") for n in (1000, 300, 100, 30)),
          ("scattering", 256, "phi4-scattering.scat.safetensors"),
          ("scattering", 1000, "phi4/examples/phi4-scattering-N1000.scat.safetensors"),
          ("scattering", 30, "phi4/examples/phi4-scattering-N30.scat.safetensors")]


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--n", type=int, default=400, help="samples per row")
    p.add_argument("--iterations", type=int, default=100, help="L-BFGS iterations of the scattering models")
    p.add_argument("--batch", type=int, default=100)
    p.add_argument("--boot", type=int, default=400)
    p.add_argument("--json", default=None)
    a = p.parse_args()
    root = bundle.bundled_dir()
    fair = json.loads((root / "phi4" / "hierarchy.json").read_text())["sizes"][str(L)]
    reference_n, floor_n, chains = (fair["reference"][k] for k in ("n", "floor_n", "chains"))
    steps = max(r["steps"] for r in fair["defaults"].values())
    models = [(g, n, f, open_model(root / f)) for g, n, f in MODELS]
    fields, ref_info = fresh_fields(models[0][3].data, reference_n + floor_n, chains)
    ref, fresh = fields[:reference_n], fields[reference_n:][:a.n]
    say(f"L = {L}: reference {len(ref)} fresh MCMC fields, floor {len(fresh)} more (other chains)")
    rows, spectra = [{"generator": "fresh", "N": None, "label": "fresh fields", "file": None, "run": None,
                      "seconds_per_sample": 0.0}], [stats.field_power_spectra(fresh)]
    samples = [fresh]
    for g, n, f, m in models:
        sampler = "ode" if "ode" in m.samplers else m.samplers[0]
        k = steps if sampler == "ode" else a.iterations
        t0 = time.perf_counter()
        x, sec = sample_row(m, sampler, k, a.n, a.batch)
        say(f"  {g} N={n} ({f}) {sampler} {k}: {time.perf_counter() - t0:.0f} s")
        rows.append({"generator": g, "N": n, "label": f"{g} N = {n}", "file": f, "run": f"{sampler.upper()} {k}",
                     "parameters": m.parameters, "seconds_per_sample": sec})
        samples.append(x)
        spectra.append(stats.field_power_spectra(x))
    p_ref = stats.field_power_spectra(ref)

    errors, draws = spectrum_errors(spectra, p_ref, a.boot)
    for row, x, e in zip(rows, samples, errors):
        row.update(**e, **one_point(x, stats.compare(x, ref)))
    # paired differences: each generator at each N against plain diffusion at the same N, and at 10x the N
    by = {(r["generator"], r["N"]): i for i, r in enumerate(rows)}
    for i, row in enumerate(rows):
        for key, other in (("vs_plain_same_n", ("plain", row["N"])), ("vs_plain_10x_n", ("plain", (row["N"] or 0) * 10))):
            j = by.get(other)
            if j is not None and j != i:
                d = draws[:, i, 0] - draws[:, j, 0]
                row[key] = {"difference": row["error"] - rows[j]["error"], "se": float(d.std())}
    out = {"benchmark": "tests/benchmarks/bench_examples.py", "command": " ".join(["bench_examples.py", *sys.argv[1:]]),
           "machine": f"{platform.machine()}, {torch.get_num_threads()} torch threads, shared with other jobs",
           "torch": torch.__version__, "L": L, "n": a.n, "boot": a.boot, "k": list(range(1, p_ref.shape[1] + 1)),
           "metric": "mean over |k| = 1..L/2 of |dP/P|",
           "reference": {"n": len(ref), "floor_n": len(fresh), "abs_m": stats.mean_abs_magnetisation(ref),
                         **ref_info},
           "floor": {"error": rows[0]["error"], "se": rows[0]["se"]}, "rows": rows}
    say(f"\nfloor (fresh fields): {rows[0]['error']:.2%} ± {rows[0]['se']:.2%}")
    for r in rows[1:]:
        extra = "".join(f"; {k} {v['difference']:+.2%} ± {v['se']:.2%}" for k, v in r.items() if k.startswith("vs_"))
        say(f"{r['label']:24} {r['run']:9} {r['error']:7.2%} ± {r['se']:.2%}  TV {r['tv']:.3f}  "
            f"<|m|> {r['abs_m']:.4f}{extra}")
    if a.json:
        path = Path(a.json)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(out, indent=1, sort_keys=True) + "\n")
        tmp.replace(path)


if __name__ == "__main__":
    main()
