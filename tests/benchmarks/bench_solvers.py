"""Error against evaluations for every sampler on phi4, with diffusers' DPMSolverMultistepScheduler
driving the same network on the same noise.

    python tests/benchmarks/bench_solvers.py [--n 256] [--reference 1000] [--plan "dpm2m:10,20 ddim:20,200"]

For each sampler and number of denoiser evaluations, all from the same initial noise:
- against `--reference` fresh MCMC fields: the largest relative error of the radially averaged
  power spectrum over |k| = 1..6, with its bootstrap standard error (fields of both sets
  resampled), and the value-histogram total variation;
- against the model's own converged run (DDIM, 200 steps, the probability-flow ODE, from the same
  noise): the same spectrum error, i.e. the solver's discretisation error without the sampling
  noise of a few hundred fields (deterministic samplers only: the SDE draws its own increments). diffusers
runs our network through a discrete schedule with abar_n = e^{-2 t_n} on our log-sigma grid and
prediction_type "sample" (the network's x0_hat). Needs the [diffusers] extra.
"""
from __future__ import annotations

import argparse

import numpy as np
import torch

from explorer.core.data import fresh_images
from explorer.core.models import RunSpec, open_model
from explorer.core.sampling import samplers, schedule
from explorer.core.sampling.trajectory import drain
from explorer.core.statistics import stats


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


K = np.arange(1, 7)


def field_spectra(x: np.ndarray) -> np.ndarray:
    """Per-field radial power at |k| = 1..6: (fields, 6)."""
    return stats.field_power_spectra(x)[:, K - 1]


def spectrum_error(p_gen: np.ndarray, p_ref: np.ndarray, boot: int = 200) -> tuple[float, float]:
    """max_k |mean P_gen / mean P_ref - 1| and its bootstrap standard error."""
    err = float(np.abs(p_gen.mean(0) / p_ref.mean(0) - 1).max())
    rng = np.random.default_rng(0)
    draws = [np.abs(p_gen[rng.integers(0, len(p_gen), len(p_gen))].mean(0)
                    / p_ref[rng.integers(0, len(p_ref), len(p_ref))].mean(0) - 1).max() for _ in range(boot)]
    return err, float(np.std(draws))


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--checkpoint", default="checkpoints/phi4-N10000.safetensors")
    p.add_argument("--n", type=int, default=256)
    p.add_argument("--reference", type=int, default=1000)
    p.add_argument("--plan", default="dpm2m:10,20,50 diffusers-dpm:10,20,50 ddim:10,20,50,200 ode:20,50 sde:200",
                   help="sampler:evaluations,... for each sampler, separated by spaces")
    a = p.parse_args()
    model = open_model(a.checkpoint)
    ref_fields = fresh_images(model.data, a.reference)
    ref = stats.summary(ref_fields)
    p_ref = field_spectra(ref_fields)
    half = spectrum_error(p_ref[a.reference // 2:], p_ref[: a.reference // 2])
    print(f"{model.name}: {a.n} samples per cell; reference {a.reference} fresh MCMC fields; its own half-against-half "
          f"spectrum error {half[0]:.3f} ± {half[1]:.3f}")
    x = samplers.initial_noise((a.n, *model.image_shape), seed=0)

    def generate(name: str, evals: int) -> np.ndarray:
        if name == "diffusers-dpm":
            return np.asarray(diffusers_dpm(model.denoiser, x.clone(), evals))
        steps = (evals + 1) // 2 if name == "ode" else evals
        return np.asarray(drain(model.run(RunSpec(name, steps, a.n, 0, x_init=x.clone(), keep_frames=False))).sample)

    converged = generate("ddim", 200)
    p_conv = field_spectra(converged)
    print(f"{'sampler':>14} {'evals':>6} {'max|dP/P| k=1..6 vs MCMC':>25} {'TV':>6} {'vs converged':>13}")
    for item in a.plan.split():
        name, evals_list = item.split(":")
        for evals in (int(v) for v in evals_list.split(",")):
            gen = converged if (name, evals) == ("ddim", 200) else generate(name, evals)
            p_gen = field_spectra(gen)
            e, se = spectrum_error(p_gen, p_ref)
            tv = stats.compare_to_summary(gen, ref)["histogram_tv"]
            conv = "-" if name == "sde" else f"{np.abs(p_gen.mean(0) / p_conv.mean(0) - 1).max():.4f}"
            print(f"{name:>14} {evals:6d} {e:17.3f} ± {se:.3f} {tv:6.3f} {conv:>13}", flush=True)


if __name__ == "__main__":
    main()
