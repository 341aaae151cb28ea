"""Sampler overhead: a full sampling run against the same number of bare denoiser calls.

    python tests/benchmarks/bench_sampler.py [--repeats 5] [--batches 1,16,64] [--steps 100]

Prints, per sampler and batch, the median wall time of the run (frames kept, as the CLI does)
and of the bare calls, interleaved A/B, and the ratio of medians (goal <= 1.05).
"""
from __future__ import annotations

import argparse
import platform
import statistics
import time

import torch

from explorer.core.models import RunSpec, bundle, diffusion
from explorer.core.sampling import samplers
from explorer.core.sampling.trajectory import drain


def evaluations(sampler: str, steps: int, frames: int) -> int:
    return frames - 1 if sampler == "ascent" else samplers.evaluations(sampler, steps)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--batches", default="1,16,64")
    p.add_argument("--steps", type=int, default=100)
    p.add_argument("--samplers", default="sde,ode,ddim,ascent")
    p.add_argument("--checkpoint", default=None)
    p.add_argument("--device", default="cpu")
    a = p.parse_args()
    ckpt = diffusion.load(a.checkpoint or bundle.default_checkpoint())
    model = ckpt.denoiser.to(a.device)
    sync = torch.cuda.synchronize if a.device == "cuda" else (lambda: None)
    print(f"machine: {platform.machine()} {platform.processor() or ''}, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads, device {a.device}; model {ckpt.name} ({ckpt.parameters:,} parameters)")
    print(f"{'sampler':8} {'batch':>5} {'evals':>6} {'run s':>8} {'bare s':>8} {'ratio':>6}")
    for name in a.samplers.split(","):
        for b in (int(v) for v in a.batches.split(",")):
            runs, bares = [], []
            x = samplers.initial_noise((b, *ckpt.image_shape), seed=0).to(a.device)
            n_eval = None
            for _ in range(a.repeats + 1):                    # the first pair is a warm-up
                t0 = time.perf_counter()
                traj = drain(ckpt.run(RunSpec(name, a.steps, b, 0, a.device, x_init=x)))
                sync()
                runs.append(time.perf_counter() - t0)
                n_eval = evaluations(name, a.steps, len(traj.frames))
                t = torch.full((b,), 0.5, device=a.device)
                t0 = time.perf_counter()
                with torch.no_grad():
                    for _ in range(n_eval):
                        model(x, t)
                sync()
                bares.append(time.perf_counter() - t0)
            run_s, bare_s = statistics.median(runs[1:]), statistics.median(bares[1:])
            print(f"{name:8} {b:5d} {n_eval:6d} {run_s:8.3f} {bare_s:8.3f} {run_s / bare_s:6.3f}")


if __name__ == "__main__":
    main()
