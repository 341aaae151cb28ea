"""Error against evaluations for every sampler on phi4, with diffusers' DPMSolverMultistepScheduler
driving the same network on the same noise.

    python tests/benchmarks/bench_solvers.py [--n 512] [--evals 10,20,50,100,200] [--reference 1000]

For each sampler and number of denoiser evaluations: the relative error of the radially averaged
power spectrum at |k| = 1..6 (the largest of them) and the value-histogram total variation,
against `--reference` fresh MCMC fields, with the reference's own sampling error printed. diffusers
runs our network through a discrete schedule with abar_n = e^{-2 t_n} on our log-sigma grid and
prediction_type "sample" (the network's x0_hat). Needs the [diffusers] extra.
"""
from __future__ import annotations

import argparse

import numpy as np
import torch

from explorer.core import samplers, schedule, stats
from explorer.core.data import fresh_images
from explorer.core.models import RunSpec, open_model
from explorer.core.trajectory import drain


def diffusers_dpm(denoiser, x: torch.Tensor, evals: int, grid: int = 1000) -> torch.Tensor:
    """diffusers' DPM-Solver++(2M) with `evals` steps on a `grid`-level schedule equal to ours."""
    from diffusers import DPMSolverMultistepScheduler

    t = schedule.time_grid(grid, schedule.T_MIN, schedule.T_MAX).flip(0)            # increasing in n
    abar = torch.exp(-2 * t)
    betas = 1 - abar / torch.cat([torch.ones(1, dtype=abar.dtype), abar[:-1]])
    sched = DPMSolverMultistepScheduler(num_train_timesteps=grid, trained_betas=betas.numpy(),
                                        prediction_type="sample", algorithm_type="dpmsolver++", solver_order=2)
    sched.set_timesteps(evals)
    with torch.no_grad():
        for n in sched.timesteps:
            x0 = denoiser(x, float(t[int(n)]))
            x = sched.step(x0, n, x).prev_sample
    return x


def errors(gen: np.ndarray, ref: dict) -> tuple[float, float]:
    r = stats.compare_to_summary(gen, ref)
    k = np.asarray(r["k"])
    sel = (k >= 1) & (k <= 6)
    rel = np.abs(np.asarray(r["power_generated"])[sel] / np.asarray(r["power_reference"])[sel] - 1)
    return float(rel.max()), float(r["histogram_tv"])


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--checkpoint", default="checkpoints/phi4-N10000.safetensors")
    p.add_argument("--n", type=int, default=512)
    p.add_argument("--evals", default="10,20,50,100,200")
    p.add_argument("--reference", type=int, default=1000)
    p.add_argument("--samplers", default="ddim,dpm2m,ode,sde,diffusers-dpm")
    a = p.parse_args()
    model = open_model(a.checkpoint)
    ref_fields = fresh_images(model.data, a.reference)
    ref = stats.summary(ref_fields)
    half = stats.summary(ref_fields[: a.reference // 2])
    e_ref = errors(ref_fields[a.reference // 2:], half)
    print(f"{model.name}: {a.n} samples per cell; reference {a.reference} fresh MCMC fields; its own half-against-half "
          f"error: spectrum {e_ref[0]:.3f}, TV {e_ref[1]:.3f}")
    x = samplers.initial_noise((a.n, *model.image_shape), seed=0)
    print(f"{'sampler':>14} {'evals':>6} {'max |dP/P| k=1..6':>18} {'TV':>7}")
    for name in a.samplers.split(","):
        for evals in (int(v) for v in a.evals.split(",")):
            if name == "diffusers-dpm":
                gen = diffusers_dpm(model.denoiser, x.clone(), evals)
            else:
                steps = (evals + 1) // 2 if name == "ode" else evals
                gen = drain(model.run(RunSpec(name, steps, a.n, 0, x_init=x.clone(), keep_frames=False))).sample
            e = errors(np.asarray(gen), ref)
            print(f"{name:>14} {evals:6d} {e[0]:18.3f} {e[1]:7.3f}", flush=True)


if __name__ == "__main__":
    main()
