"""What physicists check: power spectrum, field histogram, magnetisation.

For fields x: (N, C, H, W),
  radially averaged power spectrum  P(k) = < |FFT(x)(q)|^2 / (H W) >  over samples and |q| in
  [k - 1/2, k + 1/2), k = 1 .. H/2 (the mean, k = 0, is left out);
  histogram of the values on common bins plus one bin below and one above them (so no value is
  dropped), and total-variation distance 1/2 sum |p - q| over all of them;
  magnetisation m = mean over the lattice, <|m|>;
  isotropic reduced bispectrum b(k1, k2, k3) = B / sqrt(P(k1) P(k2) P(k3)) on triangle shells
  (see `bispectrum`);
  reduced trispectrum t(a, b) on pairs of octave bands, the fourth-order moment beyond Gaussian
  (see `trispectrum`): the polyspectrum that tells fields even under x -> -x from Gaussian ones.
"""
from __future__ import annotations

import functools

import numpy as np


def shells(h: int, w: int) -> np.ndarray:
    """The shell k = round(|q|) of each frequency q of an H x W grid: (H, W) int."""
    qy, qx = np.meshgrid(np.fft.fftfreq(h) * h, np.fft.fftfreq(w) * w, indexing="ij")
    return np.rint(np.sqrt(qx ** 2 + qy ** 2)).astype(int)


def power_2d(x: np.ndarray) -> np.ndarray:
    """P(q) = |xhat(q)|^2 / (H W) averaged over the fields x (N, [C,] H, W): (H, W) float64."""
    x = np.asarray(x, np.float64)
    h, w = x.shape[-2:]
    return (np.abs(np.fft.fft2(x)) ** 2 / (h * w)).reshape(-1, h, w).mean(0)


def shell_mean(a: np.ndarray, ks) -> np.ndarray:
    """The mean of a (H, W) array of the FFT grid over each shell round(|q|) = k in `ks`: (len(ks),)."""
    k = shells(*a.shape)
    return np.array([a[k == kk].mean() for kk in ks])


def radial_power_spectrum(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(k, P(k)) for k = 1 .. min(H, W)//2."""
    power = power_2d(x)
    ks = np.arange(1, min(power.shape) // 2 + 1)
    return ks, shell_mean(power, ks)


def field_power_spectra(x: np.ndarray) -> np.ndarray:
    """Each field's radial P(k), k = 1 .. min(H, W)//2: (fields, k); x (N, [C,] H, W). Their mean
    over fields is `radial_power_spectrum`; resampled, they give its bootstrap error."""
    x = np.asarray(x, np.float64)
    h, w = x.shape[-2:]
    power = (np.abs(np.fft.fft2(x)) ** 2 / (h * w)).reshape(len(x), -1, h * w).mean(1)       # (N, H W)
    k, top = shells(h, w).ravel(), min(h, w) // 2
    sums = np.bincount((k + (k.max() + 1) * np.arange(len(x))[:, None]).ravel(), weights=power.ravel(),
                       minlength=len(x) * (k.max() + 1)).reshape(len(x), -1)                 # (N, shells)
    return sums[:, 1:top + 1] / np.bincount(k)[1:top + 1]


def field_histograms(x: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Each field's value histogram: (fields, bins + 2), the fractions of its values in the bins of
    `edges` (as np.histogram bins them), then below edges[0] and above edges[-1] (NaN counts above;
    each row sums to 1); x (N, [C,] H, W). Their mean over fields is the histogram of all the
    values; resampled, they give its bootstrap error."""
    x = np.asarray(x, np.float64).reshape(len(x), -1)
    bins = len(edges) - 1
    col = np.searchsorted(edges, x, side="right") - 1          # -1 below, bins at or above the last edge
    col = np.where(x == edges[-1], bins - 1, col)              # np.histogram closes the last bin
    col = np.where(col < 0, bins, np.where(col >= bins, bins + 1, col))
    counts = np.bincount((col + (bins + 2) * np.arange(len(x))[:, None]).ravel(), minlength=len(x) * (bins + 2))
    return counts.reshape(len(x), bins + 2) / max(x.shape[1], 1)


def tv_bootstrap(rows: np.ndarray, reference: np.ndarray, boot: int = 200, seed: int = 0) -> tuple[float, float]:
    """TV = 1/2 sum |mean(rows) - p_ref| and its bootstrap standard error (fields resampled).
    rows: `field_histograms` of the generated fields; reference: the reference's rows (resampled
    too) or a fixed histogram (bins + 2,) such as a summary's."""
    reference = np.asarray(reference)
    fixed = reference.ndim == 1
    tv = 0.5 * float(np.abs(rows.mean(0) - (reference if fixed else reference.mean(0))).sum())
    rng = np.random.default_rng(seed)
    draws = []
    for _ in range(boot):
        p = rows[rng.integers(0, len(rows), len(rows))].mean(0)
        q = reference if fixed else reference[rng.integers(0, len(reference), len(reference))].mean(0)
        draws.append(0.5 * np.abs(p - q).sum())
    return tv, float(np.std(draws)) if boot else float("nan")


def tv_with_se(x: np.ndarray, y: np.ndarray, bins: int = 60, boot: int = 200) -> tuple[float, float]:
    """Total-variation distance between the value distributions of x and y, and its bootstrap
    standard error over the fields of both sets (nan with boot = 0): common bins over both sets
    (0.1-99.9 percentiles of their union) and the two tails beyond them. Near a critical point
    whole fields flip sign, and that, not the number of values, sets the error."""
    both = np.concatenate([np.asarray(x, np.float64).ravel(), np.asarray(y, np.float64).ravel()])
    edges = np.linspace(*np.percentile(both, [0.1, 99.9]), bins + 1)
    return tv_bootstrap(field_histograms(x, edges), field_histograms(y, edges), boot)


TRIANGLES = ((2, 2, 2), (4, 4, 4), (8, 8, 8), (2, 4, 4), (4, 8, 8), (2, 8, 8), (4, 4, 8), (2, 2, 4))
# scalene triangles k1 < k2 < k3: the only ones that tell a triangle from its mirror image (`bispectrum_parts`)
SCALENE = ((2, 3, 4), (2, 5, 6), (3, 4, 6), (3, 7, 9), (4, 6, 9), (5, 8, 12), (4, 9, 12), (6, 10, 14),
           (8, 12, 18), (10, 16, 24))


@functools.lru_cache(maxsize=256)
def _triangle_pairs(h: int, w: int, tri: tuple[int, int, int]) -> tuple[np.ndarray, ...]:
    """Every ordered pair (q1, q2) of frequencies of an H x W grid with round(|q_i|) = k_i and
    q3 = -q1 - q2 in the shell k3 (and on the grid): flat indices of q1, q2, q3 and the orientation
    sign(q1 x q2) = sign(q1x q2y - q1y q2x) of each, x the last axis."""
    def shell(k):
        qy, qx = np.meshgrid(np.arange(-(h // 2), (h + 1) // 2), np.arange(-(w // 2), (w + 1) // 2), indexing="ij")
        on = np.rint(np.hypot(qx, qy)) == k
        return qy[on], qx[on]
    (y1, x1), (y2, x2) = shell(tri[0]), shell(tri[1])
    y3, x3 = -(y1[:, None] + y2[None, :]), -(x1[:, None] + x2[None, :])
    keep = ((np.rint(np.hypot(x3, y3)) == tri[2]) & (y3 >= -(h // 2)) & (y3 < (h + 1) // 2)
            & (x3 >= -(w // 2)) & (x3 < (w + 1) // 2))
    i, j = np.nonzero(keep)
    flat = [(y % h) * w + x % w for y, x in ((y1[i], x1[i]), (y2[j], x2[j]), (y3[i, j], x3[i, j]))]
    return (*flat, np.sign(x1[i] * y2[j] - y1[i] * x2[j]))


def _jackknife(values: np.ndarray) -> float:
    """The jackknife standard error of an estimate from its N leave-one-out values (N,)."""
    return float(jackknife_se(np.asarray(values)))


def jackknife_se(values: np.ndarray) -> np.ndarray:
    """The jackknife standard errors of estimates from their leave-one-out values (..., N): (...)."""
    n = values.shape[-1]
    if n < 2:
        return np.full(values.shape[:-1], np.nan)
    return np.sqrt((n - 1) / n * ((values - values.mean(-1, keepdims=True)) ** 2).sum(-1))


def power_spectrum_with_se(x: np.ndarray, groups: np.ndarray | None = None) -> tuple[np.ndarray, ...]:
    """(k, P(k), its standard error) for k = 1 .. min(H, W)//2, from one pass over the fields
    (`field_power_spectra`): the error is the jackknife's over fields, or over `groups` of
    correlated fields (`_leave_out`); for independent fields the spread of their P(k) over sqrt(N)."""
    groups = check_groups(groups, len(x))
    per_field = field_power_spectra(x).T                                        # (k, N)
    k = np.arange(1, len(per_field) + 1)
    if (len(x) if groups is None else len(np.unique(groups))) < 2:
        return k, per_field.mean(1), np.full(len(per_field), np.nan)           # one field or group: no error
    return k, per_field.mean(1), jackknife_se(_leave_out(per_field, groups))


def _leave_out(per_field: np.ndarray, groups: np.ndarray | None) -> np.ndarray:
    """Means over all fields but one group, for each group: (..., G) from per-field values (..., N);
    groups (N,): the group of each field (None: each field its own group, G = N). Fields that are
    not independent (consecutive snapshots of one run) go in one group, so that the jackknife over
    groups holds their correlation."""
    if groups is None:
        return (per_field.sum(-1, keepdims=True) - per_field) / (per_field.shape[-1] - 1)
    labels, index = np.unique(groups, return_inverse=True)
    one_hot = np.eye(len(labels))[index]                                         # (N, G)
    return (per_field.sum(-1, keepdims=True) - per_field @ one_hot) / (len(index) - one_hot.sum(0))


def check_groups(groups: np.ndarray | None, n: int) -> np.ndarray | None:
    """groups (N,) of integer labels for N fields, or None."""
    if groups is None:
        return None
    groups = np.asarray(groups)
    if groups.shape != (n,) or not np.issubdtype(groups.dtype, np.integer):
        raise ValueError(f"groups must be {n} integer labels, one per field, not {groups.dtype} {groups.shape}")
    return groups


def bispectrum_parts(x: np.ndarray, triangles=SCALENE, groups: np.ndarray | None = None) -> dict:
    """The reduced bispectrum per triangle shell (k1, k2, k3), split by orientation, with jackknife
    standard errors over the fields x (N, [C,] H, W): {"even", "odd", "even_se", "odd_se"}, each (T,).

    B(q1, q2) = < xhat(q1) xhat(q2) xhat(-q1-q2) > / (H W), P(k) = < |xhat(q)|^2 > / (H W) over the
    shell, b = B / sqrt(P(k1) P(k2) P(k3)). even: b averaged over every triangle of the shells;
    odd: half the difference of its averages over the triangles with q1 x q2 > 0 and < 0. A mirror
    image of the fields keeps `even` and flips `odd`; a law with mirror symmetry has odd = 0, and
    an isosceles shell has odd = 0 (with error 0) by construction: it holds every triangle with its
    mirror image. 2-D vorticity is odd under a mirror image together with x -> -x,
    which kills `even` but not `odd` (the enstrophy cascade is a parity-odd triple correlation).
    The errors are the jackknife's over fields (the ratio's included), or over `groups` of fields
    (`_leave_out`) when given."""
    x = np.asarray(x, np.float64)
    h, w = x.shape[-2:]
    xh = np.fft.fft2(x.reshape(-1, h, w)).reshape(-1, h * w)
    n = len(xh)
    groups = check_groups(groups, n)
    units = n if groups is None else len(np.unique(groups))
    shell = shells(h, w).ravel()
    power = {}
    out = {key: [] for key in ("even", "odd", "even_se", "odd_se")}
    for tri in triangles:
        i1, i2, i3, sign = _triangle_pairs(h, w, tuple(int(k) for k in tri))
        if len(i1) == 0:
            raise ValueError(f"no triangle of the shells {tuple(tri)} on a {h} x {w} grid")
        for k in tri:
            if k not in power:
                power[k] = (np.abs(xh[:, shell == k]) ** 2).mean(1)            # per field (N,)
        prod = np.concatenate([(xh[m:m + 256, i1] * xh[m:m + 256, i2] * xh[m:m + 256, i3]).real
                               for m in range(0, n, 256)])                       # (N, pairs)
        plus, minus = sign > 0, sign < 0
        scalene = len(set(tri)) == 3                 # an isosceles shell holds each triangle with its mirror image
        per_field = {"even": prod.mean(1),
                     "odd": 0.5 * (prod[:, plus].mean(1) - prod[:, minus].mean(1)) if scalene else np.zeros(n)}
        pw = np.stack([power[k] for k in tri])                                   # (3, N)
        for key, v in per_field.items():
            if not pw.mean(1).all():                 # no power on a shell (constant fields): NaN, which callers refuse
                out[key].append(float("nan"))
                out[f"{key}_se"].append(float("nan"))
                continue
            b = v.mean() * np.sqrt(h * w / pw.mean(1).prod())
            out[key].append(float(b))
            if units < 2:
                out[f"{key}_se"].append(float("nan"))
                continue
            if key == "odd" and not scalene:
                out["odd_se"].append(0.0)                                        # 0 by construction
                continue
            loo = _leave_out(v, groups) * np.sqrt(h * w / _leave_out(pw, groups).prod(0))
            out[f"{key}_se"].append(_jackknife(loo))
    return {key: np.array(v) for key, v in out.items()}


def bispectrum(x: np.ndarray, triangles=TRIANGLES) -> tuple[np.ndarray, np.ndarray]:
    """The reduced bispectrum b(k1, k2, k3) per triangle shell, averaged over both orientations,
    and its jackknife standard error: two arrays (T,), for fields x (N, [C,] H, W) (the `even` part
    of `bispectrum_parts`). Gaussian fields, and fields whose law is even under x -> -x (with a
    mirror image or not: phi^4, 2-D vorticity), have b = 0."""
    parts = bispectrum_parts(x, triangles)
    return parts["even"], parts["even_se"]


def octave_bands(k_max: int) -> list[tuple[int, int]]:
    """Octave bands of shells [1, 2), [2, 4), ..., [2^m, k_max + 1): the last one is at least
    half an octave wide (16 and 21 join [8, 16); 6 is in [4, 7))."""
    edges = [1]
    while edges[-1] * 2 <= k_max:
        edges.append(edges[-1] * 2)
    edges.append(k_max + 1)
    if len(edges) > 2 and edges[-1] - edges[-2] < edges[-2] / 2:
        del edges[-2]
    return list(zip(edges[:-1], edges[1:]))


def band_pairs(k_max: int) -> list[tuple[int, int, int, int]]:
    """Every pair (a <= b) of `octave_bands(k_max)`, as (lo_a, hi_a, lo_b, hi_b)."""
    b = octave_bands(k_max)
    return [(*b[i], *b[j]) for i in range(len(b)) for j in range(i, len(b))]


def trispectrum(x: np.ndarray, pairs, groups: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The reduced trispectrum t per pair of bands, jackknife bias-corrected, and its jackknife
    standard error over the fields: two arrays (pairs,), for fields x (N, [C,] H, W).

    With I_a = F^-1(xhat 1_a) the field band-passed to the shells lo_a <= round(|q|) < hi_a, and
    < > the mean over fields and positions,
        t(a, b) = (<I_a^2 I_b^2> - <I_a^2><I_b^2> - 2 <I_a I_b>^2) / (<I_a^2><I_b^2>),
    the trispectrum T(q1, q2, q3, q4) summed over q1, q2 in a, q3, q4 in b (q1 + ... + q4 = 0),
    less its Gaussian (Wick) part: 0 for a Gaussian field, whatever its spectrum; t(a, a) is the
    excess kurtosis of the band-passed field (<I_a I_b> = 0 for a != b: disjoint supports).
    The ratio of means is biased by O(1/N) (-1.5/N for a band of 4 modes); the jackknife
    correction N t - (N - 1) mean(t_-i) removes that order. For heavy-tailed fields (g^3 of a
    Gaussian g) the jackknife error is 0.55-0.8 of the spread of independent estimates at N = 64:
    read their z-scores as upper bounds. With `groups` the bias correction and the error are the
    jackknife's over groups of fields (`_leave_out`): correlated fields hold less than one field's
    worth each, and the O(1/N) bias is then O(1/groups)."""
    x = np.asarray(x, np.float64)
    h, w = x.shape[-2:]
    xh = np.fft.fft2(x.reshape(-1, h, w))
    shell = shells(h, w)
    band = {}
    for lo, hi in {p[:2] for p in pairs} | {p[2:] for p in pairs}:
        mask = (shell >= lo) & (shell < hi)
        if not mask.any():
            raise ValueError(f"the band {lo} <= |k| < {hi} holds no frequency of a {h} x {w} grid")
        band[lo, hi] = np.fft.ifft2(xh * mask).real
    n = len(xh)
    groups = check_groups(groups, n)

    def reduced(sums, count):
        a4, a2, b2, ab = sums / count
        with np.errstate(divide="ignore", invalid="ignore"):          # no power in a band: NaN, which callers refuse
            return (a4 - a2 * b2 - 2 * ab ** 2) / (a2 * b2)

    t, se = [], []
    for lo_a, hi_a, lo_b, hi_b in pairs:
        ia, ib = band[lo_a, hi_a], band[lo_b, hi_b]
        # per-field means: sums over fields, then the estimate from all and from all but one
        per_field = np.stack([(ia ** 2 * ib ** 2).mean((-2, -1)), (ia ** 2).mean((-2, -1)),
                              (ib ** 2).mean((-2, -1)), (ia * ib).mean((-2, -1))])
        total = per_field.sum(1, keepdims=True)
        whole = float(reduced(total[:, 0], n))
        if n < 2:
            t.append(whole)
            se.append(0.0)
            continue
        leave_one_out = reduced(_leave_out(per_field, groups), 1)                  # (units,)
        units = len(leave_one_out)
        if units < 2:
            t.append(whole)
            se.append(float("nan"))
            continue
        t.append(units * whole - (units - 1) * float(leave_one_out.mean()))
        se.append(_jackknife(leave_one_out))
    return np.array(t), np.array(se)


def mean_abs_magnetisation(x: np.ndarray) -> float:
    x = np.asarray(x, np.float64)
    return float(np.abs(x.reshape(len(x), -1).mean(1)).mean())


def compare(generated: np.ndarray, reference: np.ndarray, k_max: int | None = None) -> dict:
    """Generated samples against reference ones: <|m|>, P(k) per k up to k_max (the data's
    resolved range, `data.resolved_k`) and per octave band (`octave_bands`), histogram TV with its
    bootstrap standard error."""
    k, pg = radial_power_spectrum(generated)
    _, pr = radial_power_spectrum(reference)
    keep = k <= (k_max or k.max())
    k, pg, pr = k[keep], pg[keep], pr[keep]
    rel = (pg - pr) / pr
    band_rows = []
    for lo, hi in octave_bands(int(k.max())):
        sel = (k >= lo) & (k < hi)
        band_rows.append({"k": f"{lo}-{hi - 1}", "generated": float(pg[sel].mean()), "reference": float(pr[sel].mean()),
                          "relative_error": float(pg[sel].mean() / pr[sel].mean() - 1)})
    mg, mr = mean_abs_magnetisation(generated), mean_abs_magnetisation(reference)
    tv, tv_se = tv_with_se(generated, reference)
    return {"n_generated": len(generated), "n_reference": len(reference),
            "abs_m": {"generated": mg, "reference": mr, "relative_error": mg / mr - 1 if mr else float("nan")},
            "spectrum": {"k": k.tolist(), "generated": pg.tolist(), "reference": pr.tolist(), "relative_error": rel.tolist(),
                         "max_abs_relative_error": float(np.abs(rel).max())},
            "bands": band_rows, "histogram_tv": tv, "histogram_tv_se": tv_se,
            "mean": {"generated": float(np.mean(generated)), "reference": float(np.mean(reference))},
            "std": {"generated": float(np.std(generated)), "reference": float(np.std(reference))}}


def format_table(res: dict) -> str:
    a = res["abs_m"]
    lines = [f"samples: {res['n_generated']} generated, {res['n_reference']} reference",
             f"<|m|>          generated {a['generated']:.4f}   reference {a['reference']:.4f}   "
             f"rel. error {a['relative_error']:+.1%}",
             f"std of values  generated {res['std']['generated']:.4f}   reference {res['std']['reference']:.4f}",
             f"histogram total-variation distance {res['histogram_tv']:.4f} ± {res['histogram_tv_se']:.4f} (bootstrap s.e.)",
             f"{'band k':>8} {'P generated':>12} {'P reference':>12} {'rel. error':>10}"]
    for b in res["bands"]:
        lines.append(f"{b['k']:>8} {b['generated']:12.5g} {b['reference']:12.5g} {b['relative_error']:+10.1%}")
    s = res["spectrum"]
    lines.append(f"{'k':>8} {'P generated':>12} {'P reference':>12} {'rel. error':>10}")
    for k, g, r, e in zip(s["k"], s["generated"], s["reference"], s["relative_error"]):
        lines.append(f"{k:8d} {g:12.5g} {r:12.5g} {e:+10.1%}")
    lines.append(f"largest |relative error| of P(k): {s['max_abs_relative_error']:.1%}")
    return "\n".join(lines)


def summary(x: np.ndarray, bins: int = 60, k_max: int | None = None, groups: np.ndarray | None = None) -> dict:
    """Reference statistics of a data set, small enough to store in a checkpoint's config:
    P(k), a value histogram (fractions of all values on `bins` bins over the 0.1-99.9 percentile
    range, and the two tails beyond), <|m|>, the reduced bispectrum on the TRIANGLES and SCALENE
    triangles that fit (its parity-even part b and parity-odd part odd, `bispectrum_parts`), the
    reduced trispectrum on every pair of octave bands up to k_max;
    k_max: the largest |k| the data resolve (`data.resolved_k`), recorded when given; groups: the
    correlated groups of fields (`data.fresh_groups`) whose jackknife gives the polyspectra's errors."""
    x = np.asarray(x, np.float64)
    k, p, p_se = power_spectrum_with_se(x, groups)
    lo, hi = np.percentile(x, [0.1, 99.9])
    edges = np.linspace(lo, hi, bins + 1)
    triangles = [list(t) for t in TRIANGLES + SCALENE if max(t) <= min(x.shape[-2:]) // 2]
    bi = bispectrum_parts(x, triangles, groups)
    pairs = band_pairs(k_max or int(k.max()))
    t, t_se = trispectrum(x, pairs, groups)
    values = field_histograms(x, edges).mean(0)                 # the bins, then below and above them
    return {"n": int(len(x)), "k": k.tolist(), "power": p.tolist(), "power_se": p_se.tolist(),
            "hist_edges": edges.tolist(),
            "hist": values[:-2].tolist(), "hist_tails": values[-2:].tolist(),
            "abs_m": mean_abs_magnetisation(x),
            "mean": float(x.mean()), "std": float(x.std()),
            "bispectrum": {"triangles": triangles, "b": bi["even"].tolist(), "se": bi["even_se"].tolist(),
                           "odd": bi["odd"].tolist(), "odd_se": bi["odd_se"].tolist()},
            "trispectrum": {"pairs": [list(p) for p in pairs], "t": t.tolist(), "se": t_se.tolist()},
            **({"k_max": int(k_max)} if k_max else {}),
            **({"error_groups": int(len(np.unique(groups)))} if groups is not None else {})}


def check_summary(d: object, where: str, error) -> dict:
    """A recorded `summary` checked for types and matching lengths (it is read from files)."""
    from explorer.core.files import schema

    if not isinstance(d, dict):
        raise error(f"{where} must be an object")
    lists = {}
    for key in ("k", "power", "power_se", "hist_edges", "hist", "hist_tails"):
        v = schema.value(d, key, list, where, error, default=None)
        if v is not None:
            if len(v) > 100_000 or not all(schema.is_finite_number(a) for a in v):
                raise error(f"{where}: '{key}' must be a list of at most 100000 finite numbers")
            if key == "power_se" and any(a < 0 for a in v):
                raise error(f"{where}: 'power_se' must hold standard errors, none below 0")
            lists[key] = v
    schema.value(d, "n", int, where, error, lo=0, default=0)
    schema.value(d, "abs_m", float, where, error, default=0.0)
    schema.value(d, "k_max", int, where, error, lo=1, hi=4096, default=None)
    if "bispectrum" in d:
        bi = schema.dict_of(d, "bispectrum", where, error)
        tri = schema.value(bi, "triangles", list, f"{where}: bispectrum", error)
        if len(tri) > 64 or not all(isinstance(t, list) and len(t) == 3 and all(
                isinstance(k, int) and not isinstance(k, bool) and 1 <= k <= 4096 for k in t) for t in tri):
            raise error(f"{where}: bispectrum: 'triangles' must be at most 64 lists of three wavenumbers 1..4096")
        for key in ("b", "se", "odd", "odd_se"):
            v = (schema.value(bi, key, list, f"{where}: bispectrum", error, default=None) if key.startswith("odd")
                 else schema.value(bi, key, list, f"{where}: bispectrum", error))
            if v is not None and (len(v) != len(tri) or not all(schema.is_finite_number(a) for a in v)):
                raise error(f"{where}: bispectrum: '{key}' must hold one finite number per triangle")
    if "trispectrum" in d:
        tri = schema.dict_of(d, "trispectrum", where, error)
        pairs = schema.value(tri, "pairs", list, f"{where}: trispectrum", error)
        if len(pairs) > 64 or not all(isinstance(p, list) and len(p) == 4 and all(
                isinstance(k, int) and not isinstance(k, bool) and 1 <= k <= 4097 for k in p)
                and p[0] < p[1] and p[2] < p[3] for p in pairs):
            raise error(f"{where}: trispectrum: 'pairs' must be at most 64 lists of two bands lo < hi in 1..4097")
        for key in ("t", "se"):
            v = schema.value(tri, key, list, f"{where}: trispectrum", error)
            if len(v) != len(pairs) or not all(schema.is_finite_number(a) for a in v):
                raise error(f"{where}: trispectrum: '{key}' must hold one finite number per pair of bands")
    if len(lists.get("k", [])) != len(lists.get("power", [])) or \
            len(lists.get("power_se", lists.get("power", []))) != len(lists.get("power", [])) or \
            len(lists.get("hist_edges", [None])) != len(lists.get("hist", [])) + 1 or \
            len(lists.get("hist_tails", [0, 0])) != 2 or np.any(np.diff(lists.get("hist_edges", [])) <= 0):
        raise error(f"{where}: the spectrum or histogram lists do not fit together")
    return d


def difference_z(d: dict | None) -> float | None:
    """The largest |generated - reference| of a polyspectrum (`compare_to_summary`'s "bispectrum"
    or "trispectrum") over its configurations, in standard errors of the difference (None when
    there is none)."""
    if not d:
        return None
    diff = np.abs(np.asarray(d["generated"]) - np.asarray(d["reference"]))
    return float((diff / np.hypot(np.asarray(d["generated_se"]), np.asarray(d["reference_se"]))).max())


def relative_difference(d: dict | None, significant: float = 3.0) -> float | None:
    """The largest |generated - reference| of a polyspectrum over its configurations, relative to
    the reference's largest |value|. None when there is none, or when no reference value is
    `significant` standard errors from 0: the reference is then Gaussian within its errors, its
    largest |value| is noise, and a ratio to it would read a perfect model as 100 % off."""
    if not d:
        return None
    ref = np.asarray(d["reference"])
    if not np.any(np.abs(ref) > significant * np.asarray(d["reference_se"])):
        return None
    return float(np.abs(np.asarray(d["generated"]) - ref).max() / np.abs(ref).max())


def compare_to_summary(generated: np.ndarray, reference: dict) -> dict:
    """Generated samples against recorded reference statistics (see `summary`): P(k), the
    histogram on the reference bins and its total-variation distance (the tails beyond the bins
    included: generated values outside the reference range count in full) with its bootstrap
    standard error over the generated fields (the reference's own error is not known), <|m|>, and the reduced
    bi- and trispectrum when the reference records them (the bispectrum's parity-odd part on the
    scalene triangles as "bispectrum_odd", when recorded). P(k) up to the reference's k_max, when
    recorded; with the standard errors of both as "power" (in the polyspectra's layout, for
    `difference_z`), when the reference records its own."""
    k, pg, pg_se = power_spectrum_with_se(generated)
    pr = np.asarray(reference["power"])
    keep = k <= reference.get("k_max", k.max())
    k, pg, pg_se, pr = k[keep], pg[keep], pg_se[keep], pr[keep]
    power = {}
    if "power_se" in reference:                 # older summaries (in checkpoints) record P(k) without errors
        power = {"power": {"k": k.tolist(), "generated": pg.tolist(), "generated_se": pg_se.tolist(),
                           "reference": pr.tolist(), "reference_se": np.asarray(reference["power_se"])[keep].tolist()}}
    edges = np.asarray(reference["hist_edges"])
    rows = field_histograms(generated, edges)
    hr = np.asarray(reference["hist"])
    if "hist_tails" in reference:
        tr = np.asarray(reference["hist_tails"])
    else:       # summaries before 0.2 renormalised the bins between the 0.1 and 99.9 percentiles
        hr, tr = hr * 0.998, np.array([0.001, 0.001])
    tv, tv_se = tv_bootstrap(rows, np.concatenate([hr, tr]))
    hg = rows.mean(0)[:-2]
    mg = mean_abs_magnetisation(generated)
    bi = {}
    if "bispectrum" in reference:
        ref_bi = reference["bispectrum"]
        parts = bispectrum_parts(generated, [tuple(t) for t in ref_bi["triangles"]])
        bi = {"bispectrum": {"triangles": ref_bi["triangles"], "generated": parts["even"].tolist(),
                             "generated_se": parts["even_se"].tolist(), "reference": ref_bi["b"], "reference_se": ref_bi["se"]}}
        scalene = [i for i, t in enumerate(ref_bi["triangles"]) if len(set(t)) == 3]
        if "odd" in ref_bi and scalene:           # the parity-odd part, where a triangle has one (scalene ones)
            bi["bispectrum_odd"] = {"triangles": [ref_bi["triangles"][i] for i in scalene],
                                    **{key: [float(v[i]) for i in scalene] for key, v in (
                                        ("generated", parts["odd"]), ("generated_se", parts["odd_se"]),
                                        ("reference", ref_bi["odd"]), ("reference_se", ref_bi["odd_se"]))}}
    if "trispectrum" in reference:
        ref_t = reference["trispectrum"]
        t, se = trispectrum(generated, [tuple(p) for p in ref_t["pairs"]])
        bi["trispectrum"] = {"pairs": ref_t["pairs"], "generated": t.tolist(), "generated_se": se.tolist(),
                             "reference": ref_t["t"], "reference_se": ref_t["se"]}
    return {**bi, **power, "k": k.tolist(), "power_generated": pg.tolist(), "power_reference": pr.tolist(),
            "power_relative_error": (pg / pr - 1).tolist(), "hist_edges": edges.tolist(),
            "hist_generated": hg.tolist(), "hist_reference": hr.tolist(),
            "histogram_tv": tv, "histogram_tv_se": tv_se, "abs_m_generated": mg,
            "abs_m_reference": float(reference["abs_m"]), "n_generated": int(len(generated)),
            "n_reference": int(reference["n"])}
