"""Generalise or memorise (Kadkhodaie, Guth, Simoncelli, Mallat, ICLR 2024).

Two denoisers trained on disjoint sets S1, S2 of N images are sampled from the same initial
noise (and the same SDE increments). Per sample: cosine(S1 sample, S2 sample); its k nearest
training images in its own set and in the other, by cosine (mean removed) and by L2; and one copy
verdict (`copies`), the same in the window, `explorer compare` and `explorer sweep`. The baseline
is the nearest-cosine statistic of fresh images of the data set: a sample at or below it is not a copy.
Along the run (`along_the_run`): the same cosines of the two x0_hat at every step against σ/α,
where the two models part (or never do).
"""
from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch

from explorer.core import interrupt
from explorer.core.analysis.head_to_head import field_of
from explorer.core.analysis.sweep_file import SWEEP_HEADER, format_sweep_row
from explorer.core.data import DUPLICATE_COSINE, fresh_images, training_set, unit_vectors
from explorer.core.errors import DataError, ExplorerError, UsageError
from explorer.core.models import Model, RunSpec, checkpoint, open_model
from explorer.core.nets.unet import UNetConfig
from explorer.core.sampling.trajectory import Trajectory, drain

MEMORISED_COSINE = 0.95
L2_RATIO = 1 / 3


def copies(cos_nearest: np.ndarray, l2_ratio: np.ndarray, threshold: float = MEMORISED_COSINE) -> np.ndarray:
    """The copy verdict per sample: it copies its nearest training image when
    L2(nearest) / L2(second nearest) < 1/3 (the relative-distance test of Carlini et al. 2023, as
    simplified by later work); with N = 1, where there is no second neighbour (ratio NaN), when the
    mean-removed cosine to it is >= threshold. The cosine (the paper's figure) is reported beside
    it and does not decide: it fails a near-black training image (std 0.007 at N = 10) and calls a
    new blob at cosine 0.96 a copy at N = 10^4. cos_nearest, l2_ratio: (B,); returns (B,) bool."""
    ratio = np.asarray(l2_ratio, np.float64)
    return np.where(np.isnan(ratio), np.asarray(cos_nearest) >= threshold, ratio < L2_RATIO)


def pair_specs(model1: Model, model2: Model, spec: RunSpec) -> tuple[RunSpec, RunSpec]:
    """`spec` with the S1 model's defaults filled in (S2 runs the same sampler and steps), checked
    against both models (a UsageError before any work), which `check_pair`."""
    check_pair(model1, model2)
    spec1 = spec.resolved(model1)
    return spec1, spec1.resolved(model2)


def check_pair(model1: Model, model2: Model) -> None:
    """Two models an S1/S2 comparison can pair: one kind of image, and one data set (its generator
    and parameters), of which S1 and S2 are disjoint parts, or two sets of the user's own images
    (two files or folders; whether they are disjoint is measured, `overlap`); else a UsageError."""
    if model1.image_shape != model2.image_shape:
        raise UsageError(f"the two models make different images: {model1.image_shape} and {model2.image_shape}")
    data = [field_of(m.data) for m in (model1, model2)]
    if data[0] != data[1] and not all(m.data.get("name") == "user" for m in (model1, model2)):
        raise UsageError(f"{model1.name} and {model2.name} were trained on different data ({' '.join(data[0])} and "
                         f"{' '.join(data[1])}): an S1/S2 pair is two models of one data set")


def _same_noise(model1: Model, model2: Model, specs: tuple[RunSpec, RunSpec], kept=(None, None)):
    """Yields the S1 frames, then the S2 frames, of the `pair_specs` of one spec: the same seed
    gives both runs the same initial noise (and the same SDE increments). kept: two lists (or None)
    that receive (sigma, level, x0_hat) of each frame as it passes, x0_hat (B, C, H, W) as CPU
    float32 numpy. Returns both trajectories."""
    trajs = []
    for model, spec, into in zip((model1, model2), specs, kept):
        run = model.run(spec)
        while True:
            try:
                frame = next(run)
            except StopIteration as stop:
                trajs.append(stop.value)
                break
            if into is not None:
                into.append((frame.sigma, frame.level,
                             torch.as_tensor(frame.x0_hat).detach().to("cpu", torch.float32).numpy().copy()))
            yield frame
    return tuple(trajs)


def same_noise_runs(model1: Model, model2: Model, spec: RunSpec) -> tuple[Trajectory, Trajectory]:
    """Both models from the same initial noise and, for stochastic samplers, the same increments."""
    return drain(_same_noise(model1, model2, pair_specs(model1, model2, spec)))


def cosine_pairs(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """cosine(a_i, b_i) of mean-removed, flattened images; a, b: (B, ...)."""
    ua, ub = unit_vectors(torch.as_tensor(np.asarray(a))), unit_vectors(torch.as_tensor(np.asarray(b)))
    return (ua * ub).sum(1).numpy()


@dataclass
class Neighbours:
    """For each query: the k nearest training images by cosine and by L2 (indices and values)."""

    cos_index: np.ndarray   # (B, k)
    cos_value: np.ndarray   # (B, k), decreasing
    l2_index: np.ndarray    # (B, k)
    l2_value: np.ndarray    # (B, k), increasing
    l2_cos: np.ndarray      # (B, k): the cosine to each L2 neighbour


@contextmanager
def _one_thread(device: torch.device):
    """torch on one thread for a query on the CPU, the caller's setting back after it: a query is
    many short operations, and with two threads each waits for the slower one, which on a busy
    machine is often descheduled (10^5 x 1024, 16 queries, 2 cores and a busy process: 0.06-0.07 s
    on one thread, 0.08-0.28 s on two; quiet: 0.047 s against 0.039 s). The setting is the
    process's: another thread's torch work meanwhile runs on one thread too."""
    before = torch.get_num_threads()
    if device.type != "cpu" or before == 1:
        yield
        return
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _fast_dtype(device: torch.device) -> torch.dtype:
    """bfloat16 where this CPU multiplies it in hardware (AMX or AVX512-BF16: 3-4x the float32
    product of a (N, 1024) by (1024, 16) and half its bytes), else float32."""
    if device.type != "cpu":
        return torch.float32
    cpu = getattr(torch, "cpu", None)
    fast = any(getattr(cpu, name, lambda: False)() for name in ("_is_amx_tile_supported", "_is_avx512_bf16_supported"))
    return torch.bfloat16 if fast else torch.float32


def _cos_error(dtype: torch.dtype, dim: int) -> float:
    """A bound on |cos~ - cos| for the product of unit rows stored in `dtype` (unit roundoff u) by
    unit queries of D = dim values: inputs rounded (2 u + u^2 times sum_i |u_i q_i| <= 1, by
    Cauchy-Schwarz), float32 accumulation (D 2^-24), and in bfloat16 the result rounded too (u);
    with a margin of 1/4 on the rounding and 2 on the sum. bfloat16 (u = 2^-8), D = 1024: 0.0148."""
    u = 2.0 ** -8 if dtype == torch.bfloat16 else 2.0 ** -24
    return 1.25 * (3 * u + u * u) + 2 * dim * 2.0 ** -24


class NeighbourIndex:
    """A training set (N, ...) kept ready for nearest-neighbour queries by cosine (mean removed)
    and by L2, exact in float32 though most of the work runs in a cheaper precision:

    1. the product of the unit mean-removed rows u_n = t_c / |t_c| (stored in bfloat16 where the
       CPU multiplies it in hardware, else float32) by the unit mean-removed queries gives every
       cosine to within a proved bound e (`_cos_error`), hence every L2 distance too:

           |q - t|^2 = |q_c|^2 + |t_c|^2 - 2 |q_c| |t_c| cos + D (m_q - m_t)^2   (error <= 2 |q_c| |t_c| e);

    2. the candidates of each query, the rows whose bounds reach its k-th best (a few hundred
       among 10^5 unless the images are nearly alike), and only these are scored exactly in
       float32 from the rows: the same neighbours and values as scoring every row in float32.

    A query with too many candidates (or none: NaN) is scored against every row in float32.
    Memory: the unit rows (N x D, 2 bytes each in bfloat16), norms and means (N) of its own, and a
    view of `train` (no copy when it is a float32 array on the CPU: do not change it in place)."""

    def __init__(self, train: np.ndarray, device: str | torch.device = "cpu", dtype: torch.dtype | None = None,
                 block: int = 8192):
        rows = torch.as_tensor(np.asarray(train, np.float32)).reshape(len(train), -1).to(device)
        self.device, self.n, self.dim = torch.device(device), len(rows), rows.shape[1]
        self.dtype = dtype or _fast_dtype(self.device)
        self.error = _cos_error(self.dtype, self.dim)
        self.rows, self.block = rows, block
        self.mean = rows.mean(1)
        self.norm = torch.empty(self.n, device=self.device)
        self.unit = torch.empty((self.n, self.dim), dtype=self.dtype, device=self.device)
        for s in range(0, self.n, block):                        # no N x D float32 temporary
            c = rows[s:s + block] - self.mean[s:s + block, None]
            self.norm[s:s + block] = c.norm(dim=1)
            self.unit[s:s + block] = c / self.norm[s:s + block, None].clamp_min(1e-12)

    def _flat(self, queries: np.ndarray):
        """Queries (B, ...) as float32 rows q (B, D) and their means, mean-removed rows and norms."""
        q = torch.as_tensor(np.asarray(queries, np.float32)).reshape(len(queries), -1).to(self.device)
        m = q.mean(1)
        qc = q - m[:, None]
        return q, m, qc, qc.norm(dim=1)

    def _candidates(self, m, qc, qn, k: int, l2: bool):
        """For each query b, rows certain to hold its k nearest by cosine (and by L2), from the
        bounds of the cheap product, a block of rows at a time: (rows, queries) (P,) pairs."""
        B, e = len(qc), self.error
        qh = (qc / qn[:, None].clamp_min(1e-12)).to(self.dtype)
        top_c = torch.full((B, k), -torch.inf, device=self.device)     # the k largest cos~ so far
        top_d = torch.full((B, k), torch.inf, device=self.device)      # the k least upper bounds of |q - t|^2 - |q_c|^2
        kept = []
        for s in range(0, self.n, self.block):
            p = self.unit[s:s + self.block] @ qh.T                              # (C, B): the faster way round
            c = torch.empty(p.shape[::-1], device=self.device).copy_(p.T)      # (B, C) float32: |cos~ - cos| <= e
            j = min(k, c.shape[1])
            top_c = torch.cat([top_c, c.topk(j, 1).values], 1).topk(k, 1).values
            keep = c >= top_c[:, -1:] - 2 * e                                   # cos >= c - e >= c_k - 2 e
            low = None
            if l2:
                a, mt = self.norm[s:s + self.block], self.mean[s:s + self.block]
                d2 = a * (a - 2 * qn[:, None] * c) + self.dim * (mt - m[:, None]) ** 2
                slack = (2 * e) * qn[:, None] * a + 2 ** -20 * (a * a + (qn * qn)[:, None] + d2.abs())
                low = d2 - slack
                top_d = torch.cat([top_d, (d2 + slack).topk(j, 1, largest=False).values], 1).topk(
                    k, 1, largest=False).values
                keep |= low <= top_d[:, -1:]
            b, r = keep.nonzero(as_tuple=True)
            kept.append((r + s, b, c[b, r], None if low is None else low[b, r]))
        rows, b, c, low = (torch.cat(v) if v[0] is not None else None for v in zip(*kept))
        keep = c >= top_c[b, -1] - 2 * e                                        # the final thresholds
        if l2:
            keep |= low <= top_d[b, -1]
        return rows[keep], b[keep]

    def _dense(self, m, qc, qn, k: int, l2: bool):
        """The k nearest of each query by float32 cosine (and by L2 expanded) over every row: (rows, queries)."""
        best = []
        for s in range(0, self.n, self.block):
            tc = self.rows[s:s + self.block] - self.mean[s:s + self.block, None]
            prod = qc @ tc.T                                                    # (B, C)
            a = self.norm[s:s + self.block]
            keys = [-(prod / (qn[:, None] * a).clamp_min(1e-12))]
            if l2:
                keys.append(a * a - 2 * prod + self.dim * (self.mean[s:s + self.block] - m[:, None]) ** 2)
            for j, key in enumerate(keys):
                v, i = key.topk(min(k, key.shape[1]), dim=1, largest=False)
                if s:
                    v, i = torch.cat([best[j][0], v], 1), torch.cat([best[j][1], i + s], 1)
                    v, pick = v.topk(k, dim=1, largest=False)
                    best[j] = (v, i.gather(1, pick))
                else:
                    best.append((v, i))
        found = torch.zeros((len(qc), self.n), dtype=torch.bool, device=self.device)
        for _, i in best:
            found.scatter_(1, i, True)
        b, rows = found.nonzero(as_tuple=True)
        return rows, b

    def _pairs(self, queries: np.ndarray, k: int, l2: bool):
        """The candidate pairs of the queries, scored exactly: q (B, D); rows, queries, cos and
        L2 distance (P,) (NaN without l2), by query."""
        q, m, qc, qn = self._flat(queries)
        rows, b = self._candidates(m, qc, qn, k, l2)
        count = torch.bincount(b, minlength=len(q))
        dense = ((count < k) | (count > max(256, self.n // 16))).nonzero().ravel()
        if len(dense):                                  # images nearly alike, NaN: every row in float32
            other = ~torch.isin(b, dense)
            r2, b2 = self._dense(m[dense], qc[dense], qn[dense], k, l2)
            rows, b = torch.cat([rows[other], r2]), torch.cat([b[other], dense[b2]])
        order = torch.argsort(b, stable=True)
        rows, b = rows[order], b[order]
        cos, dist = torch.empty(len(rows), device=self.device), torch.full((len(rows),), torch.nan, device=self.device)
        for s in range(0, len(rows), 512):                      # exact, in float32, 512 pairs at a time
            r, bb = rows[s:s + 512], b[s:s + 512]
            t = self.rows.index_select(0, r)
            if l2:
                dist[s:s + 512] = (q.index_select(0, bb) - t).norm(dim=1)
            t -= self.mean.index_select(0, r)[:, None]
            cos[s:s + 512] = (t * qc.index_select(0, bb)).sum(1) / (qn[bb] * self.norm[r]).clamp_min(1e-12)
        return q, rows, b, cos, dist

    def nearest_cosine(self, queries: np.ndarray, chunk: int = 2 ** 22) -> np.ndarray:
        """max_n cos(q, t_n) of each query (M, ...) (mean removed), with at most about `chunk`
        cosines held at a time. Returns (M,)."""
        step, out = max(1, chunk // max(min(self.block, self.n), 1)), []
        with _one_thread(self.device):
            for i in range(0, len(queries), step):
                q, _, b, cos, _ = self._pairs(queries[i:i + step], 1, l2=False)
                out.append(torch.full((len(q),), -torch.inf, device=self.device).scatter_reduce(0, b, cos, "amax"))
        return torch.cat(out).cpu().numpy() if out else np.zeros(0, np.float32)

    def query(self, queries: np.ndarray, k: int = 3) -> "Neighbours":
        """The k nearest training images of each query (B, ...) by cosine and by L2."""
        k = min(k, self.n)
        if k == 0 or len(queries) == 0:
            empty = np.zeros((len(queries), 0))
            return Neighbours(empty.astype(np.int64), empty.astype(np.float32), empty.astype(np.int64),
                              empty.astype(np.float32), empty.astype(np.float32))
        with _one_thread(self.device):
            q, rows, b, cos, dist = self._pairs(queries, k, l2=True)
        count = torch.bincount(b, minlength=len(q))                          # >= k each, grouped by query
        at = (count.cumsum(0) - count)[:, None] + torch.arange(k, device=self.device)

        def least(key: torch.Tensor) -> torch.Tensor:                       # (B, k): the pairs of the k least keys
            o = torch.argsort(key, stable=True)
            return o[torch.argsort(b[o], stable=True)][at]

        c, d = least(-cos), least(dist)
        return Neighbours(rows[c].cpu().numpy(), cos[c].cpu().numpy(), rows[d].cpu().numpy(), dist[d].cpu().numpy(),
                          cos[d].cpu().numpy())


def nearest(queries: np.ndarray, train: np.ndarray, k: int = 3, device: str | torch.device = "cpu") -> "Neighbours":
    """k nearest training images of each query (B, ...) in train (N, ...) (see NeighbourIndex)."""
    return NeighbourIndex(train, device).query(queries, k)


def training_images(model: Model) -> np.ndarray:
    """The model's exact training set, rebuilt from its data record (cached on disk)."""
    if not model.data.get("name"):
        raise ExplorerError(f"{model.name}: the model does not record its training data")
    return training_set(model.data)


def baseline(model: Model, train: np.ndarray, n: int = 256) -> dict | None:
    """Nearest-training-image cosine of fresh (never trained on) images of the same data set;
    None when the data set has no generator to draw fresh images from (the user's own images)."""
    try:
        fresh = fresh_images(model.data, n)
    except DataError:
        return None
    nb = nearest(fresh, train, k=1)
    c = nb.cos_value[:, 0]
    return {"n": n, "median": float(np.median(c)), "q25": float(np.quantile(c, 0.25)), "q75": float(np.quantile(c, 0.75)),
            "memorised_fraction": float((c >= MEMORISED_COSINE).mean())}


def analyse(s1: np.ndarray, s2: np.ndarray, train1: np.ndarray, train2: np.ndarray, k: int = 3,
            threshold: float = MEMORISED_COSINE) -> dict:
    """Per-sample similarities and neighbours, and the summary the sweep plots."""
    pair = cosine_pairs(s1, s2)
    sides = {}
    index1, index2 = NeighbourIndex(train1), NeighbourIndex(train2)
    for side, own, other, x in (("S1", index1, index2, s1), ("S2", index2, index1, s2)):
        nb_own, nb_other = own.query(x, k), other.query(x, k)
        ratio = nb_own.l2_value[:, 0] / np.maximum(nb_own.l2_value[:, 1], 1e-12) if nb_own.l2_value.shape[1] > 1 \
            else np.full(len(x), np.nan)
        sides[side] = {"own": nb_own, "other": nb_other, "memorised": copies(nb_own.cos_value[:, 0], ratio, threshold),
                       "cos_memorised": nb_own.cos_value[:, 0] >= threshold, "l2_ratio": ratio}
    rows = []
    for i in range(len(s1)):
        row = {"sample": i, "cos_s1_s2": float(pair[i])}
        for side, d in sides.items():
            row[side] = {"nearest_own": d["own"].cos_index[i].tolist(), "cos_own": d["own"].cos_value[i].tolist(),
                         "nearest_own_l2": d["own"].l2_index[i].tolist(), "l2_own": d["own"].l2_value[i].tolist(),
                         "cos_own_l2": d["own"].l2_cos[i].tolist(),
                         "cos_other": d["other"].cos_value[i].tolist(), "memorised": bool(d["memorised"][i]),
                         "l2_ratio": float(d["l2_ratio"][i])}
        rows.append(row)
    own = np.concatenate([sides[s]["own"].cos_value[:, 0] for s in sides])
    memo = np.concatenate([sides[s]["memorised"] for s in sides])
    cos_memo = np.concatenate([sides[s]["cos_memorised"] for s in sides])
    summary = {"n_samples": len(s1), "cos_s1_s2_median": float(np.median(pair)),
               "cos_s1_s2_q25": float(np.quantile(pair, 0.25)), "cos_s1_s2_q75": float(np.quantile(pair, 0.75)),
               "cos_nearest_own_median": float(np.median(own)), "cos_nearest_own_q25": float(np.quantile(own, 0.25)),
               "cos_nearest_own_q75": float(np.quantile(own, 0.75)), "memorised_fraction": float(memo.mean()),
               "cos_memorised_fraction": float(cos_memo.mean()), "threshold": threshold,
               "verdict": "copy: L2(nearest)/L2(second) < 1/3; N = 1: cos >= threshold"}
    return {"summary": summary, "samples": rows}


def along_the_run(x0_hat1: np.ndarray, x0_hat2: np.ndarray, train1: np.ndarray, train2: np.ndarray,
                  level: np.ndarray, sigma: np.ndarray) -> dict:
    """Where along two same-noise runs the S1 and S2 models part. x0_hat1, x0_hat2: (K, B, C, H, W),
    the denoisers' estimates at the K steps of each run, paired by step; level, sigma: (K,), the S1
    run's σ/α and σ. Per step k and sample b (mean-removed cosines):

        cos_s1_s2[k, b] = cos(x0_hat1[k, b], x0_hat2[k, b]),
        nearest_S1[k, b] = max_n cos(x0_hat1[k, b], S1_n),   nearest_S2[k, b] likewise in S2,

    each as {"samples": (K, B), "mean", "q25", "q75": (K,)} lists (JSON-ready), with "step",
    "level", "sigma" (K,), "settles" (`settles`) and the seconds the nearest-training search took."""
    t0 = time.perf_counter()
    K, B = x0_hat1.shape[:2]
    curves = {"cos_s1_s2": cosine_pairs(x0_hat1.reshape(K * B, -1), x0_hat2.reshape(K * B, -1)).reshape(K, B)}
    for side, x, train in (("S1", x0_hat1, train1), ("S2", x0_hat2, train2)):
        interrupt.check(f"nearest {side} training image of x0_hat at every step ({K} x {B} against {len(train)})…")
        curves[f"nearest_{side}"] = NeighbourIndex(train).nearest_cosine(x.reshape(K * B, -1)).reshape(K, B)
    out = {"step": list(range(K)), "level": [float(v) for v in level], "sigma": [float(v) for v in sigma]}
    for key, c in curves.items():
        out[key] = {"samples": c.tolist(), "mean": c.mean(1).tolist(), "q25": np.quantile(c, 0.25, 1).tolist(),
                    "q75": np.quantile(c, 0.75, 1).tolist()}
    out["settles"] = settles(out)
    out["seconds"] = round(time.perf_counter() - t0, 3)
    return out


TOGETHER_COSINE = 0.5


def settles(along: dict, cosine: float = TOGETHER_COSINE) -> dict:
    """Where the two runs settle for good: the first step k after which the mean cos(S1, S2) of
    x0_hat stays on one side of `cosine` to the end. {"step", "level" (its σ/α), "apart": True
    when below (the models part there, or never were together), False when above (they join
    there and never part)}."""
    mean = np.asarray(along["cos_s1_s2"]["mean"])
    apart = bool(mean[-1] < cosine)
    other = np.flatnonzero((mean < cosine) != apart)
    k = 0 if len(other) == 0 else int(other[-1]) + 1
    return {"step": k, "level": along["level"][k], "apart": apart}


def settles_text(along: dict) -> str:
    """`settles` in a sentence."""
    s = along["settles"]
    where = f"from step {s['step']} (σ/α = {s['level']:.3g}) on"
    if not s["apart"]:
        return f"mean cos(S1, S2) of x0_hat >= {TOGETHER_COSINE} {where}: the two models join there and never part"
    return (f"mean cos(S1, S2) of x0_hat < {TOGETHER_COSINE} {where}: "
            + ("the two models part there" if s["step"] else "the two models are never together"))


def along_table(along: dict, rows: int = 11) -> str:
    """`rows` steps of `along_the_run`, evenly spaced, and the last: σ/α, the mean [q25, q75] of
    cos(S1, S2) and of each side's nearest-own-training cosine; then `settles_text`."""
    K = len(along["step"])
    picks = sorted({*np.linspace(0, K - 1, rows).round().astype(int).tolist()})

    def cell(key: str, k: int) -> str:
        return f"{along[key]['mean'][k]:.3f} [{along[key]['q25'][k]:.2f},{along[key]['q75'][k]:.2f}]"

    lines = [f"{'step':>5} {'σ/α':>9} {'cos(S1,S2) of x0_hat':>21} {'S1: nearest own':>19} {'S2: nearest own':>19}"]
    lines += [f"{k:5d} {along['level'][k]:9.3g} {cell('cos_s1_s2', k):>21} {cell('nearest_S1', k):>19} "
              f"{cell('nearest_S2', k):>19}" for k in picks]
    return "\n".join(lines + [settles_text(along) + " (mean over the samples, [q25, q75])"])


def overlap(train1: np.ndarray, train2: np.ndarray, threshold: float = DUPLICATE_COSINE) -> int:
    """How many images of train1 are near-duplicates of one of train2 (cosine > threshold, mean
    removed, the rule that keeps S1 and S2 apart): 0 for a proper S1/S2 pair."""
    a, b = NeighbourIndex(train2), np.asarray(train1, np.float32)
    return int((a.query(b, k=1).cos_value[:, 0] > threshold).sum()) if len(b) and a.n else 0


def verdict(row: dict) -> str:
    """The verdict on one sample pair (a row of `analyse`) in plain sentences: which side copies
    which training image (`copies`; the L2 ratio and the cosine beside it) or makes a new one, and
    whether both sides made the same image."""
    lines = []
    for side in ("S1", "S2"):
        d = row[side]
        ratio = d["l2_ratio"]
        by = f"L2 ratio {ratio:.2f}, cos {d['cos_own_l2'][0]:.3f}" if np.isfinite(ratio) else \
            f"cos {d['cos_own'][0]:.3f}; N = 1: no L2 ratio"
        i = d["nearest_own_l2"][0] if np.isfinite(ratio) else d["nearest_own"][0]
        lines.append(f"{side} copies training image #{i} ({by})" if d["memorised"] else
                     f"{side}: a new image (nearest #{i}: {by})")
    c = row["cos_s1_s2"]
    lines.append(f"cos(S1, S2) = {c:.2f}" + (": the same image from both" if c >= 0.9 else ""))
    return "\n".join(lines)


def summary_text(summary: dict) -> str:
    """The copy rates of a comparison (a `analyse` summary) in one sentence, the verdict's and the
    cosine's; and whether the two training sets are disjoint, or how many images they share (then
    they are no S1/S2 pair)."""
    shared = summary.get("shared_training_images")
    return (f"copies (L2 nearest/second < 1/3; N = 1: cos >= {summary['threshold']}) {summary['memorised_fraction']:.0%}; "
            f"cos(nearest own) >= {summary['threshold']}: {summary['cos_memorised_fraction']:.0%}"
            + (f"; the two training sets share {shared} near-duplicate image{'s' if shared > 1 else ''} "
               f"(cos > {DUPLICATE_COSINE}): not disjoint" if shared else
               f"; the two training sets are disjoint (no near-duplicate image in both, cos > {DUPLICATE_COSINE})"
               if shared == 0 else ""))


def compare(model1: Model, model2: Model, spec: RunSpec, k: int = 3, threshold: float = MEMORISED_COSINE) -> dict:
    """Run both models from the same noise and analyse their samples against both training sets:
    `compare_run` drained, as {"summary", "samples", "baseline", "along", "models" (what ran), "seconds",
    "trajectories"}."""
    t0 = time.perf_counter()
    res = drain(compare_run(model1, model2, spec, k, threshold))
    return {**res["analysis"], "baseline": res["baseline"], "along": res["along"], "trajectories": res["trajectories"],
            "models": res["ran"], "seconds": round(time.perf_counter() - t0, 2)}


def what_ran(model1: Model, model2: Model, meta: dict) -> dict:
    """The pair and the run that compared it (S1's run `meta`; S2 ran the same): S1, S2, N,
    sampler, steps, seed, n (samples per model)."""
    return {"S1": model1.name, "S2": model2.name, "N": model1.data.get("n"),
            **{key: meta.get(key) for key in ("sampler", "steps", "seed", "n")}}


def pair_groups(paths) -> list[dict]:
    """The S1/S2 pairs among checkpoint files, one group per network and data set (the capacity
    axis: one curve per network size). Each group: {"label", "parameters", "widths", "size",
    "data", "pairs": [(N, S1 file, S2 file)] by increasing N}; groups by increasing parameters."""
    groups = {}
    for path in paths:
        cfg = checkpoint.read_config(path)
        data, arch = cfg.get("data") or {}, cfg["arch"]
        if cfg["kind"] != "diffusion" or data.get("split") not in ("S1", "S2"):
            continue
        key = (data.get("name"), arch["size"], tuple(arch["widths"]), arch["blocks"])
        g = groups.setdefault(key, {"data": key[0], "size": key[1], "widths": list(key[2]),
                                    "parameters": UNetConfig.from_dict(dict(arch)).parameter_count(), "by_n": {}})
        g["by_n"].setdefault(data["n"], {})[data["split"]] = str(path)
    out = []
    for g in sorted(groups.values(), key=lambda g: (g["data"] or "", g["size"], g["parameters"])):
        pairs = sorted((n, d["S1"], d["S2"]) for n, d in g.pop("by_n").items() if "S1" in d and "S2" in d)
        if pairs:
            label = f"{g['parameters'] / 1e6:.3g} M parameters ({g['data']} {g['size']}x{g['size']})"
            out.append({"label": label, **g, "pairs": pairs})
    return out


def transition_n(rows: list[dict], level: float = 0.5) -> float | None:
    """N* where the median cos(S1, S2) first crosses `level` upwards, interpolated linearly in
    log N between the two rows that bracket it; None when no two rows bracket it."""
    rows = sorted(rows, key=lambda r: r["N"])
    for a, b in zip(rows, rows[1:]):
        ca, cb = a["cos_s1_s2_median"], b["cos_s1_s2_median"]
        if ca < level <= cb:
            la, lb = np.log(a["N"]), np.log(b["N"])
            return float(np.exp(la + (level - ca) / (cb - ca) * (lb - la)))
    return None


def sweep(spec: RunSpec, pairs, log=None) -> list[dict]:
    """The two curves of the paper's figure 2 against N, with the fresh-image baseline."""
    rows = []
    for N, f1, f2 in pairs:
        res = compare(open_model(f1), open_model(f2), spec)
        b = res["baseline"] or {}
        row = {"N": N, **res["summary"], "baseline_median": b.get("median"), "baseline_q25": b.get("q25"),
               "baseline_q75": b.get("q75")}
        rows.append(row)
        if log:
            log(format_sweep_row(row))
    return rows


def sweep_groups(spec: RunSpec, groups: list[dict], log=None) -> list[dict]:
    """`sweep` over each group of `pair_groups`: the curves of a sweep file, each with its N*."""
    curves = []
    for g in groups:
        if log:
            log(f"{g['label']}, widths {g['widths']}:\n{SWEEP_HEADER}")
        rows = sweep(spec, g["pairs"], log)
        curve = {k: v for k, v in g.items() if k != "pairs"}
        curves.append({**curve, "N_star": transition_n(rows), "rows": rows})
        if log:
            n_star = curves[-1]["N_star"]
            log(f"N* (median cos(S1, S2) crosses 0.5): {'not bracketed' if n_star is None else f'{n_star:.1f}'}")
    return curves


def compare_run(model1: Model, model2: Model, spec: RunSpec, k: int = 3, threshold: float = MEMORISED_COSINE):
    """The S1/S2 run as one generator: builds both training sets (telling `interrupt.check` which,
    and stopping there when cancelled), yields the S1 frames, then the S2 frames (same noise), and
    returns {"analysis", "baseline", "n_frames_s1", "neighbours": {side: (B, k, C, H, W) own nearest
    training images by cosine}, "along" (`along_the_run`), "ran" (`what_ran`), "meta", "trajectories"}."""
    specs = pair_specs(model1, model2, spec)                                  # bad input fails before any work
    trains = []
    for side, model in (("S1", model1), ("S2", model2)):
        n = model.data.get("n")
        count = f"{n:_} images".replace("_", " ") if isinstance(n, int) else "its images"
        interrupt.check(f"building the {side} training set ({count}; made once, then cached)…")
        trains.append(training_images(model))
    train1, train2 = trains
    kept = ([], [])
    trajs = yield from _same_noise(model1, model2, specs, kept)
    s1, s2 = (torch.as_tensor(t.sample).detach().cpu().float().numpy() for t in trajs)
    interrupt.check("the samples' nearest training images…")
    res = analyse(s1, s2, train1, train2, k, threshold)
    idx = {side: np.array([r[side]["nearest_own"] for r in res["samples"]]) for side in ("S1", "S2")}
    K = min(map(len, kept))                               # paired by step (an ascent stops where it stops)
    sigma, level, x1 = zip(*kept[0][:K])
    along = along_the_run(np.stack(x1), np.stack([x for *_, x in kept[1][:K]]), train1, train2,
                          np.array(level), np.array(sigma))
    interrupt.check(f"whether S1 and S2 share an image ({len(train1)} x {len(train2)} cosines)…")
    res["summary"]["shared_training_images"] = overlap(train1, train2)
    return {"analysis": res, "baseline": baseline(model1, train1),
            "n_frames_s1": trajs[0].frames[-1].step + 1,
            "neighbours": {"S1": train1[idx["S1"]], "S2": train2[idx["S2"]]}, "along": along,
            "ran": what_ran(model1, model2, trajs[0].meta), "meta": {"S1": trajs[0].meta, "S2": trajs[1].meta},
            "trajectories": trajs}
