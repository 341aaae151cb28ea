"""Nearest-neighbour search at N = 10^3, 10^4, 10^5 training images of 32x32.

    python tests/benchmarks/bench_nn.py [--queries 16] [--repeats 7] [--device cpu] [--busy]
                                        [--threads T] [--json docs/results/perf/nn.json]

explorer's query on a NeighbourIndex built once per training set (one matrix product for cosine
and L2, top-k, exact L2 of the k found) against a baseline in the same run: the bare matrix
product of that size (16 x D by D x N, float32, `q @ t.T` on the training rows as given) alone.
The index's one-off build time and its memory (the bytes of the tensors it holds of its own, and
those it shares with the caller's training array) are printed beside. Medians over repeats; the ratio is ours / baseline.

--busy times every size twice: quiet, then with another CPU-bound process running (a Python
`while True: pass` that this script starts and ends), the way a machine is when the user's other
work (or the sampler) runs beside the window.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

import numpy as np
import torch

from explorer.core.analysis.generalization import NeighbourIndex


def held_bytes(index: NeighbourIndex, train: np.ndarray) -> tuple[int, int]:
    """The bytes of the tensors the index holds (its attributes): its own, and those it shares
    with the caller's `train` (a view, no copy)."""
    own = shared = 0
    for v in vars(index).values():
        if isinstance(v, torch.Tensor):
            if v.untyped_storage().data_ptr() == train.ctypes.data:
                shared += v.untyped_storage().nbytes()
            else:
                own += v.untyped_storage().nbytes()
    return own, shared


def timed(f, repeats: int) -> float:
    """Median seconds of f() over `repeats` calls after one warm-up call."""
    f()
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        f()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


class Busy:
    """Another CPU-bound process for the duration of a `with`."""

    def __enter__(self):
        self.proc = subprocess.Popen([sys.executable, "-c", "while True: pass"])
        time.sleep(0.5)
        return self

    def __exit__(self, *exc):
        self.proc.kill()
        self.proc.wait()


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--queries", type=int, default=16)
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--sizes", default="1000,10000,100000")
    p.add_argument("--device", default="cpu")
    p.add_argument("--busy", action="store_true", help="also time with another CPU-bound process running")
    p.add_argument("--threads", type=int, default=None, help="torch.set_num_threads before timing")
    p.add_argument("--json", type=Path, default=None, help="write the results there")
    a = p.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    rng = np.random.default_rng(0)
    machine = (f"{platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, "
               f"{torch.get_num_threads()} threads, device {a.device}, load average {os.getloadavg()[0]:.2f} at the start")
    print(f"machine: {machine}; {a.queries} queries of 32x32, k = 3, medians of {a.repeats}")
    print(f"{'N':>7} {'load':>5} {'query s':>9} {'bare product s':>15} {'ratio':>6} {'build s':>8} {'own MiB':>8} "
          f"{'shared MiB':>11}")
    q = rng.normal(size=(a.queries, 1, 32, 32)).astype(np.float32)
    rows = []
    for n in (int(v) for v in a.sizes.split(",")):
        train = rng.normal(size=(n, 1, 32, 32)).astype(np.float32)
        t0 = time.perf_counter()
        index = NeighbourIndex(train, a.device)
        build = time.perf_counter() - t0
        flat = torch.as_tensor(train.reshape(n, -1)).to(a.device)
        qf = torch.as_tensor(q.reshape(len(q), -1)).to(a.device)
        for load in ("quiet", "busy") if a.busy else ("quiet",):
            with Busy() if load == "busy" else contextlib.nullcontext():
                o, b = timed(partial(index.query, q, 3), a.repeats), timed(partial(torch.mm, qf, flat.T), a.repeats)
            own, shared = (v / 2 ** 20 for v in held_bytes(index, train))
            rows.append({"N": n, "load": load, "query_s": round(o, 5), "bare_product_s": round(b, 5),
                         "ratio": round(o / b, 3), "build_s": round(build, 4), "index_own_MiB": round(own, 1),
                         "index_shared_MiB": round(shared, 1), "threads": torch.get_num_threads()})
            print(f"{n:7d} {load:>5} {o:9.4f} {b:15.4f} {o / b:6.2f} {build:8.3f} {own:8.1f} {shared:11.1f}")
    if a.json:
        a.json.parent.mkdir(parents=True, exist_ok=True)
        a.json.write_text(json.dumps({"benchmark": "nearest neighbours, 32x32, k = 3", "machine": machine,
                                      "queries": a.queries, "repeats": a.repeats, "rows": rows}, indent=1) + "\n")
        print(f"wrote {a.json}")


if __name__ == "__main__":
    main()
