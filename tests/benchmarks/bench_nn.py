"""Nearest-neighbour search at N = 10^3, 10^4, 10^5 training images of 32x32.

    python tests/benchmarks/bench_nn.py [--queries 16] [--repeats 5] [--device cpu]

explorer's query on a NeighbourIndex built once per training set (one matrix product for cosine
and L2, top-k, exact L2 of the k found) against a baseline in the same run: the bare matrix
product of that size (16 x D by D x N, float32) alone. The index's one-off build time is printed
beside. Medians over repeats; the ratio is ours / baseline.
"""
from __future__ import annotations

import argparse
import platform
import statistics
import time

import numpy as np
import torch

from explorer.core.analysis.generalization import NeighbourIndex


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--queries", type=int, default=16)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--sizes", default="1000,10000,100000")
    p.add_argument("--device", default="cpu")
    a = p.parse_args()
    rng = np.random.default_rng(0)
    print(f"machine: {platform.machine()}, torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"device {a.device}; {a.queries} queries of 32x32, k = 3")
    print(f"{'N':>7} {'query s':>9} {'bare product s':>15} {'ratio':>6} {'index build s':>14}")
    q = rng.normal(size=(a.queries, 1, 32, 32)).astype(np.float32)
    for n in (int(v) for v in a.sizes.split(",")):
        train = rng.normal(size=(n, 1, 32, 32)).astype(np.float32)
        t0 = time.perf_counter()
        index = NeighbourIndex(train, a.device)
        build = time.perf_counter() - t0
        flat, qf = torch.as_tensor(train.reshape(n, -1)), torch.as_tensor(q.reshape(len(q), -1))
        ours, base = [], []
        for _ in range(a.repeats + 1):
            t0 = time.perf_counter()
            index.query(q, 3)
            ours.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            qf @ flat.T
            base.append(time.perf_counter() - t0)
        o, b = statistics.median(ours[1:]), statistics.median(base[1:])
        print(f"{n:7d} {o:9.4f} {b:15.4f} {o / b:6.2f} {build:14.3f}")


if __name__ == "__main__":
    main()
