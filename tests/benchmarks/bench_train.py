"""Training throughput: `explorer train diffusion` against a bare loop of the same network and optimiser.

    python tests/benchmarks/bench_train.py [--steps 40] [--repeats 3] [--batch 64] [--size 32]
                                           [--widths 16,32,64] [--variants] [--compile] [--threads T]
                                           [--json docs/results/perf/train.json]

Ours: `train_diffusion`, the function `explorer train diffusion` calls, on the shapes data set
(N = 512), its images per second as it records them (`steps_per_second` x batch: the training
loop, from its first step; the data set build and the checkpoint write are timed apart, as
"whole call"). Baseline, in the same run: a bare loop of the same network (same seed, same
sigma_data) and the optimiser `fit` makes, on one fixed batch already in memory (the same
images, times and noise every step): forward, loss, backward, step, nothing else, timed the same
way from its first step. ratio = bare images/s / ours (>= 1: our overhead). Medians over repeats,
the two interleaved.

The bare loop uses what `fit` uses (fused Adam; channels-last on the CPU in float32 with zero
padding). --variants times it without each: NCHW with Adam's default loop (what `fit` did
before), NCHW with fused or foreach Adam, channels-last with Adam's loop; and with the EMA
update added, as `fit`'s loop over the parameters or as one foreach call. --compile times
torch.compile of the bare step (with an empty compile cache): the compile seconds, the images/s
after it, and the steps it takes to pay off.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

import torch

from explorer.core.data import make_record, training_set
from explorer.core.nets.unet import UNetConfig
from explorer.core.training import train
from explorer.core.training.train import TrainConfig, denoising_loss, draw_times, seeded_model, train_diffusion


def arch_of(a, data: dict) -> UNetConfig:
    x = training_set(data)
    arch = UNetConfig(channels=1, size=a.size, widths=[int(w) for w in a.widths.split(",")], blocks=1)
    arch.sigma_data = round(max(float(x.std()), 0.05), 4)     # as train_diffusion sets it
    return arch


def ours(a, data: dict, tc: TrainConfig) -> tuple[float, float]:
    """(images/s of the training loop as recorded, seconds of the whole call)."""
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        model = train_diffusion(data, arch_of(a, data), Path(tmp) / "m.safetensors", tc, "cpu", progress=False)
        whole = time.perf_counter() - t0
    return model.config["training"]["steps_per_second"] * tc.batch, whole


def bare(a, data: dict, tc: TrainConfig, *, opt: dict | None = None, channels_last: bool | None = None,
         ema: str | None = None, compiled: bool = False, steps: int | None = None) -> dict:
    """Images/s of forward + loss + backward + step on one fixed batch, with the optimiser and the
    layout `fit` uses unless `opt` (Adam's keyword arguments) or `channels_last` say otherwise (and
    the EMA update, when `ema` is "loop" or "foreach", to time that alone)."""
    arch = arch_of(a, data)
    model = seeded_model(arch, tc.seed)
    cpu = torch.device("cpu")
    if channels_last is None:
        channels_last = train.memory_format(model, cpu, tc) == torch.channels_last
    x = torch.from_numpy(training_set(data))
    g = torch.Generator().manual_seed(0)
    x0 = x[torch.randint(0, len(x), (tc.batch,), generator=g)]
    t = draw_times(tc.batch, g)
    z = torch.randn(x0.shape, generator=g)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
        x0, z = x0.contiguous(memory_format=torch.channels_last), z.contiguous(memory_format=torch.channels_last)
    optimiser = torch.optim.Adam(model.parameters(), lr=tc.lr, **(train.adam_options(cpu) if opt is None else opt))
    shadow = [p.detach().clone() for p in model.parameters()]
    params = list(model.parameters())

    def step() -> torch.Tensor:
        loss = denoising_loss(model, x0, t, z)
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        return loss

    run = torch.compile(step) if compiled else step
    out = {}
    if compiled:
        t0 = time.perf_counter()
        run()
        out["compile_s"] = time.perf_counter() - t0
    n = steps or a.steps
    t0 = time.perf_counter()
    for _ in range(n):
        run()
        if ema == "loop":
            with torch.no_grad():
                for pe, pm in zip(shadow, params):
                    pe.lerp_(pm, 1e-3)
        elif ema == "foreach":
            with torch.no_grad():
                torch._foreach_lerp_(shadow, params, 1e-3)
    out["images_per_s"] = n * tc.batch / (time.perf_counter() - t0)
    return out


def med(rows: list[float]) -> float:
    return round(statistics.median(rows), 2)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--steps", type=int, default=40)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--size", type=int, default=32)
    p.add_argument("--widths", default="16,32,64")
    p.add_argument("--n", type=int, default=512)
    p.add_argument("--variants", action="store_true", help="also time each trick in the bare loop")
    p.add_argument("--compile", action="store_true", help="also time torch.compile of the bare step")
    p.add_argument("--threads", type=int, default=None, help="torch.set_num_threads before timing")
    p.add_argument("--json", type=Path, default=None)
    a = p.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    data = make_record("shapes", a.n, "S1", 0, {}, a.size)
    tc = TrainConfig(steps=a.steps, batch=a.batch, save_every=10 ** 6, warmup=1)
    training_set(data)                                          # built and cached before any timing
    machine = (f"{platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, "
               f"{torch.get_num_threads()} threads, load average {os.getloadavg()[0]:.2f} at the start")
    print(f"machine: {machine}; shapes {a.size}x{a.size}, N = {a.n}, widths {a.widths}, batch {a.batch}, "
          f"{a.steps} steps, medians of {a.repeats}")
    runs = {"ours": [], "whole call": [], "bare": []}
    variants = {"NCHW, adam loop (before)": dict(opt={}, channels_last=False),
                "NCHW, adam fused": dict(opt={"fused": True}, channels_last=False),
                "NCHW, adam foreach": dict(opt={"foreach": True}, channels_last=False),
                "channels-last, adam loop": dict(opt={}, channels_last=True),
                "+ ema loop": dict(ema="loop"), "+ ema foreach": dict(ema="foreach")} if a.variants else {}
    runs |= {k: [] for k in variants}
    for _ in range(a.repeats):
        ips, whole = ours(a, data, tc)
        runs["ours"].append(ips)
        runs["whole call"].append(a.steps * a.batch / whole)
        runs["bare"].append(bare(a, data, tc)["images_per_s"])
        for name, kw in variants.items():
            runs[name].append(bare(a, data, tc, **kw)["images_per_s"])
    result = {k: med(v) for k, v in runs.items()}
    ratio = round(result["bare"] / result["ours"], 3)
    print(f"explorer train (the loop):  {result['ours']:8.1f} images/s")
    print(f"explorer train (whole call): {result['whole call']:7.1f} images/s (with the data set and the checkpoint)")
    print(f"bare loop:                  {result['bare']:8.1f} images/s   ratio bare/ours {ratio:.3f}")
    for name in variants:
        print(f"bare, {name + ':':<26} {result[name]:8.1f} images/s   x{result[name] / result['bare']:.3f} of bare")
    out = {"benchmark": "training throughput, explorer train diffusion vs a bare loop", "machine": machine,
           "setup": {"data": "shapes", "size": a.size, "n": a.n, "widths": a.widths, "batch": a.batch,
                     "steps": a.steps, "repeats": a.repeats, "adam": train.adam_options(torch.device("cpu")),
                     "layout": str(train.memory_format(seeded_model(arch_of(a, data), 0), torch.device("cpu"), tc))},
           "images_per_s": result, "ratio_bare_over_ours": ratio,
           "samples": {k: [round(v, 2) for v in vs] for k, vs in runs.items()}}
    if a.compile:
        os.environ["TORCHINDUCTOR_CACHE_DIR"] = tempfile.mkdtemp()       # a cold compile, as a user's first
        eager, comp = bare(a, data, tc, steps=a.steps), bare(a, data, tc, compiled=True, steps=a.steps)
        gain = 1 / eager["images_per_s"] - 1 / comp["images_per_s"]       # seconds saved per image
        pays = comp["compile_s"] / (gain * a.batch) if gain > 0 else None
        print(f"torch.compile: {comp['compile_s']:.1f} s to compile, then {comp['images_per_s']:.1f} images/s "
              f"against {eager['images_per_s']:.1f} eager: "
              + (f"pays off after {pays:.0f} steps" if pays else "never pays off"))
        out["compile"] = {"compile_s": round(comp["compile_s"], 1), "compiled_images_per_s": round(comp["images_per_s"], 2),
                          "eager_images_per_s": round(eager["images_per_s"], 2),
                          "pays_off_after_steps": None if pays is None else round(pays)}
    if a.json:
        a.json.parent.mkdir(parents=True, exist_ok=True)
        a.json.write_text(json.dumps(out, indent=1) + "\n")
        print(f"wrote {a.json}")


if __name__ == "__main__":
    main()
