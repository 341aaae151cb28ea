"""The third order of 2-D turbulence: the parity-odd bispectrum on scalene triangles and the spectral
fluxes Pi_Z(k), Pi_E(k) of fresh 64 x 64 vorticity fields (never trained on), against the samples
of a bundled model of them (default: the 64 x 64 scattering-spectra model). The data's errors are
given twice: the jackknife's over fields, and over blocks of consecutive fields (fields of one run
are correlated at the largest scales; a data set simulated on a larger `grid` comes in blocks of
turbulence.PER_RUN consecutive snapshots, many |k| = 1 correlation times long).

    python tests/benchmarks/bench_turbulence_odd.py --json checkpoints/turbulence/odd.json
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from explorer.core.data import fresh_groups, fresh_images, turbulence
from explorer.core.files.io import atomic_write
from explorer.core.models import RunSpec, open_model
from explorer.core.sampling.trajectory import drain
from explorer.core.statistics import stats


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="checkpoints/turbulence-scattering.scat.safetensors")
    p.add_argument("--fresh", type=int, default=320, help="fresh fields")
    p.add_argument("--n", type=int, default=64, help="samples of the model")
    p.add_argument("--steps", type=int, default=None, help="the model's steps (default: its own default run)")
    p.add_argument("--json", required=True)
    a = p.parse_args(argv)
    t0 = time.perf_counter()
    model = open_model(a.model)
    data = fresh_images(model.data, a.fresh)
    triangles = [t for t in stats.SCALENE if max(t) <= data.shape[-1] // 3]          # the dealiased range
    sample = np.asarray(drain(model.run(RunSpec(n=a.n, seed=0, steps=a.steps, keep_frames=False).resolved(model))).sample)
    out = {"command": "python tests/benchmarks/bench_turbulence_odd.py " + " ".join(argv if argv is not None else sys.argv[1:]),
           "model": model.name, "steps": a.steps, "kind": model.kind, "parameters": int(model.parameters),
           "data_params": model.data.get("params"),
           "n_data": len(data), "n_model": len(sample), "triangles": [list(t) for t in triangles], "seconds": 0.0}
    for key, x in (("data", data), ("model_samples", sample)):
        parts = stats.bispectrum_parts(x, triangles)
        out[key] = {"bispectrum": {k: v.tolist() for k, v in parts.items()}, "fluxes": turbulence.spectral_fluxes(x)}
    if (model.data.get("params") or {}).get("grid"):
        block = fresh_groups(model.data, len(data))
        blocks = int(block.max()) + 1

        def per_block(fn) -> list[float]:                   # the jackknife over blocks of fn(fields) (a 1-D array)
            loo = np.stack([np.asarray(fn(data[block != b])) for b in range(blocks)], -1)
            return stats.jackknife_se(loo).tolist()

        out["data"]["blocks"] = blocks
        out["data"]["bispectrum"]["odd_se_blocks"] = stats.bispectrum_parts(data, triangles, block)["odd_se"].tolist()
        for key in ("enstrophy", "energy"):
            out["data"]["fluxes"][f"{key}_se_blocks"] = per_block(lambda x, key=key: turbulence.spectral_fluxes(x)[key])
    out["seconds"] = time.perf_counter() - t0
    atomic_write(Path(a.json), lambda f: f.write(json.dumps(out, indent=1).encode()))
    print(f"wrote {a.json} in {out['seconds']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
