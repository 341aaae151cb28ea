"""Nearest-neighbour search at N = 10^3, 10^4, 10^5 training images of 32x32.

    python tests/benchmarks/bench_nn.py [--queries 16] [--repeats 5] [--device cpu]

explorer's search (batched matrix products over chunks, cosine and L2, top-k) against a
baseline in the same run: the same cosine top-k by one numpy matrix product on unit vectors
(no L2, no chunking). Medians over repeats; the ratio is ours / baseline.
"""
from __future__ import annotations

import argparse
import platform
import statistics
import time

import numpy as np
import torch

from explorer.core.generalization import nearest


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
    print(f"{'N':>7} {'explorer s':>11} {'numpy cos-only s':>17} {'ratio':>6}")
    q = rng.normal(size=(a.queries, 1, 32, 32)).astype(np.float32)
    for n in (int(v) for v in a.sizes.split(",")):
        train = rng.normal(size=(n, 1, 32, 32)).astype(np.float32)
        ours, base = [], []
        for _ in range(a.repeats + 1):
            t0 = time.perf_counter()
            nearest(q, train, 3, a.device)
            ours.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            u = train.reshape(n, -1) - train.reshape(n, -1).mean(1, keepdims=True)
            u /= np.linalg.norm(u, axis=1, keepdims=True)
            v = q.reshape(len(q), -1) - q.reshape(len(q), -1).mean(1, keepdims=True)
            v /= np.linalg.norm(v, axis=1, keepdims=True)
            np.argpartition(-(v @ u.T), 3, axis=1)[:, :3]
            base.append(time.perf_counter() - t0)
        o, b = statistics.median(ours[1:]), statistics.median(base[1:])
        print(f"{n:7d} {o:11.4f} {b:17.4f} {o / b:6.2f}")


if __name__ == "__main__":
    main()
