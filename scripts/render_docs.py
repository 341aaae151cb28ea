#!/usr/bin/env python3
"""Render the results pages of the docs site from the JSON that explorer's commands wrote.

    python scripts/render_docs.py            # (re)write docs/results/{generalisation,phi4,checkpoints}.md
    python scripts/render_docs.py --check    # exit 1 if a page on disk differs from its rendering

Sources (nothing else is read, and nothing but the pages above is written):
- checkpoints/sweep.json, checkpoints/capacity/sweep.json (`explorer sweep --json`);
- explorer/core/data/phi4_critical.json, checkpoints/phi4/critical-burn-in-4050.json,
  explorer/core/data/phi4_equilibrium_L32.json (`explorer phi4`), checkpoints/phi4/chain.json
  (tests/benchmarks/bench_phi4_chain.py: the cluster updates);
- docs/results/hostile_corpus.json (scripts/hostile_corpus.py);
- checkpoints/turbulence/odd.json and odd32-*.json (tests/benchmarks/bench_turbulence_odd.py),
  checkpoints/turbulence/data.json (tests/benchmarks/bench_turbulence_data.py),
  checkpoints/turbulence/field32.json and field256.json (`explorer field --json`), iterations256.json
  (tests/benchmarks/bench_scattering_iterations.py), bound256.json and bound32.json (tests/benchmarks/bench_spectrum_bound.py) and
  runs256.json (tests/benchmarks/bench_turbulence_runs.py), those present;
- checkpoints/cosmic_web/data.json (tests/benchmarks/bench_cosmic_web.py),
  checkpoints/cosmic_web/field64.json, field64-diffusion.json, field64-wcrg.json, field256.json (`explorer field --json`),
  iterations256.json and iterations64-L8.json (tests/benchmarks/bench_scattering_iterations.py), bound256.json and
  bound64-*.json (tests/benchmarks/bench_spectrum_bound.py), those present;
- checkpoints/phi4/hierarchy.json (tests/benchmarks/bench_wcrg.py: WCRG against plain diffusion, FLOPs and the
  paired bootstrap) and checkpoints/phi4/examples.json (tests/benchmarks/bench_examples.py: fewer examples);
- checkpoints/index.json and the JSON record in the safetensors header of every bundled model
  (and of checkpoints/capacity/*.safetensors), plus each WCRG folder's index.json.

Every number on those pages is taken from these files; the script only formats them. The
safetensors header is read directly (8-byte little-endian length, then JSON), so this script needs
only the standard library and never imports torch.
"""
from __future__ import annotations

import argparse
import difflib
import json
import math
import statistics
import struct
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "results"
SWEEP = "checkpoints/sweep.json"
CAPACITY_SWEEP = "checkpoints/capacity/sweep.json"
PHI4_CRITICAL = "explorer/core/data/phi4_critical.json"
PHI4_RECHECK = "checkpoints/phi4/critical-burn-in-4050.json"     # the same crossing, burn-in >= the measured 4050
PHI4_EQUILIBRIUM = "explorer/core/data/phi4_equilibrium_L32.json"
PHI4_CHAIN = "checkpoints/phi4/chain.json"          # tests/benchmarks/bench_phi4_chain.py: the cluster updates
INDEX = "checkpoints/index.json"
HOSTILE = "docs/results/hostile_corpus.json"
TURBULENCE_ODD = "checkpoints/turbulence/odd.json"
TURBULENCE_DATA = "checkpoints/turbulence/data.json"
TURBULENCE_FIELD32 = "checkpoints/turbulence/field32.json"      # `explorer field`: the four 32 x 32 models
TURBULENCE_FIELD256 = "checkpoints/turbulence/field256.json"    # `explorer field`: the 256 x 256 models
TURBULENCE_ITERATIONS = "checkpoints/turbulence/iterations256.json"   # bench_scattering_iterations.py
TURBULENCE_RUNS = "checkpoints/turbulence/runs256.json"               # bench_turbulence_runs.py
TURBULENCE_BOUND = "checkpoints/turbulence/bound256.json"             # bench_spectrum_bound.py
TURBULENCE_BOUND32 = "checkpoints/turbulence/bound32.json"            # bench_spectrum_bound.py, the 32 x 32 models
COSMIC_ITERATIONS = "checkpoints/cosmic_web/iterations256.json"
COSMIC_BOUND = "checkpoints/cosmic_web/bound256.json"                 # bench_spectrum_bound.py
COSMIC_ITERATIONS64 = "checkpoints/cosmic_web/iterations64-L8.json"   # bench_scattering_iterations.py, the L8 model
COSMIC_BOUND64 = ("checkpoints/cosmic_web/bound64-cosmic-web-scattering.json",        # bench_spectrum_bound.py
                  "checkpoints/cosmic_web/bound64-cosmic-web-scattering-L8.json")
TURBULENCE_ODD32 = ("checkpoints/turbulence/odd32-turbulence32-gaussian.json",   # bench_turbulence_odd.py per model
                    "checkpoints/turbulence/odd32-turbulence32-scattering.json",
                    "checkpoints/turbulence/odd32-turbulence32-N2000.json",
                    "checkpoints/turbulence/odd32-turbulence32-wcrg.json")
COSMIC_DATA = "checkpoints/cosmic_web/data.json"
COSMIC_FIELDS = ("checkpoints/cosmic_web/field64.json", "checkpoints/cosmic_web/field64-diffusion.json",
                 "checkpoints/cosmic_web/field64-wcrg.json", "checkpoints/cosmic_web/field256.json")
CAPACITY_DIR = "checkpoints/capacity"
PERF_BEFORE = "docs/results/perf/gui-before.json"   # bench_gui.py run on commit c889c76 (runs in a thread), same machine
PERF = ("docs/results/perf/gui.json", "docs/results/perf/scattering.json", "docs/results/perf/nn.json",
        "docs/results/perf/train.json")
HIERARCHY = "checkpoints/phi4/hierarchy.json"
EXAMPLES = "checkpoints/phi4/examples.json"
MAX_HEADER = 100 * 1024 * 1024


# ---------------------------------------------------------------- reading

def read_json(rel: str) -> dict:
    return json.loads((ROOT / rel).read_text(encoding="utf-8"))


def safetensors_header(path: Path) -> dict:
    """The JSON header of a safetensors file: tensor shapes and `__metadata__` (strings)."""
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        if n > MAX_HEADER:
            raise ValueError(f"{path}: header of {n} bytes")
        return json.loads(f.read(n))


def explorer_record(path: Path) -> tuple[dict, dict]:
    """(explorer's config record, {tensor name: shape}) of one safetensors file."""
    h = safetensors_header(path)
    meta = h.get("__metadata__") or {}
    record = json.loads(meta["explorer"]) if "explorer" in meta else {}
    shapes = {k: v["shape"] for k, v in h.items() if k != "__metadata__"}
    return record, shapes


def tensor_elements(shapes: dict) -> int:
    return sum(math.prod(s) for s in shapes.values())


# ---------------------------------------------------------------- formatting

def num(x, digits: int = 3) -> str:
    """A float to `digits` decimals; None as a dash."""
    if x is None:
        return "–"
    return f"{x:.{digits}f}"


def sig(x, digits: int = 3) -> str:
    """A float to `digits` significant figures (exponent form for small values)."""
    if x is None:
        return "–"
    return f"{x:#.{digits}g}"


def integer(x) -> str:
    return "–" if x is None else f"{int(x):,}"


def percent(x, digits: int = 1) -> str:
    return "–" if x is None else f"{100 * x:.{digits}f} %"


def quartiles(row: dict, key: str, digits: int = 3) -> str:
    return f"{num(row.get(key + '_median'), digits)} [{num(row.get(key + '_q25'), digits)}, {num(row.get(key + '_q75'), digits)}]"


def table(header: list[str], rows: list[list[str]], align: str | None = None) -> list[str]:
    """A Markdown table; `align` one character per column: l or r."""
    align = align or "l" * len(header)
    rule = ["---:" if a == "r" else "---" for a in align]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(rule) + " |"]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in r) + " |" for r in rows]
    return lines + [""]


def yes_no(v) -> str:
    return "–" if v is None else ("yes" if v else "no")


def banner(title: str, sources: list[str], intro: str, more: str = "") -> list[str]:
    src = ", ".join(f"`{s}`" for s in sources) + more
    return [
        "<!-- GENERATED by scripts/render_docs.py: do not edit by hand. -->",
        f"# {title}",
        "",
        '!!! note "Generated page"',
        f"    Rendered by `scripts/render_docs.py` from {src}. Do not edit this page by hand: re-run the",
        "    command that writes the JSON, then `python scripts/render_docs.py`. CI runs",
        "    `python scripts/render_docs.py --check`, which fails when this page and its sources disagree.",
        "",
        intro,
        "",
    ]


# ---------------------------------------------------------------- generalisation

def sweep_section(rel: str, level: str) -> list[str]:
    s = read_json(rel)
    lines = [f"`{rel}`: sampler `{s.get('sampler')}`, {integer(s.get('steps'))} steps, {integer(s.get('n'))} samples "
             f"per model, seed {s.get('seed')}" + (f"; made by `{s['command']}`" if s.get("command") else "") + ".", ""]
    for curve in s["curves"]:
        rows = curve["rows"]
        thresholds = sorted({r.get("threshold") for r in rows if r.get("threshold") is not None})
        thr = "/".join(num(t, 2) for t in thresholds) or "–"
        n_star = curve.get("N_star")
        lines += [
            f"{level} {curve.get('label', '')}",
            "",
            f"Data `{curve.get('data')}`, {curve.get('size')} × {curve.get('size')}, U-Net widths "
            f"{', '.join(str(w) for w in curve.get('widths', []))}, {integer(curve.get('parameters'))} parameters. "
            f"N\\* (median cos(S1, S2) crosses 0.5, interpolated in log N): "
            f"**{'not bracketed' if n_star is None else num(n_star, 1)}**.",
            "",
        ]
        body = [[integer(r["N"]), integer(r.get("n_samples")), quartiles(r, "cos_s1_s2"), quartiles(r, "cos_nearest_own"),
                 percent(r.get("memorised_fraction")), percent(r.get("cos_memorised_fraction")),
                 quartiles(r, "baseline")] for r in sorted(rows, key=lambda r: r["N"])]
        lines += table(["N", "samples", "cos(S1, S2): median [q25, q75]",
                        "cos(sample, nearest own training image): median [q25, q75]",
                        "copies (the verdict: L2 nearest/second < 1/3; N = 1: cos ≥ " + thr + ")",
                        f"nearest-own cos ≥ {thr} (reported, does not decide)",
                        "fresh-image baseline: median [q25, q75]"], body, "rrrrrrr")
    return lines


def render_generalisation() -> str:
    lines = banner(
        "Results: generalise or memorise",
        [SWEEP, CAPACITY_SWEEP],
        "The S1/S2 sweeps of the bundled shapes models, as `explorer sweep --json` wrote them. Per N, two "
        "models trained on disjoint sets S1 and S2 of N images are sampled from the same noise. "
        "Columns: the cosine between the S1 and the S2 sample; the cosine between a sample and the nearest image "
        "of its own training set; the fraction of samples that copy a training image by the copy verdict "
        "(`generalization.copies`, the same in the window, `explorer compare` and `explorer sweep`) and, beside it, "
        "by the cosine alone; the nearest-training-image cosine of fresh images of the "
        "generator (the baseline: a sample at or below it is not a copy). What these mean: "
        "[Generalise or memorise](../science/generalise-or-memorise.md).",
    )
    lines += ["## The bundled pairs against N", ""]
    lines += sweep_section(SWEEP, "###")
    cap = read_json(CAPACITY_SWEEP)
    lines += ["## The capacity axis", "",
              "One curve per network size, one training recipe for all sizes.", ""]
    lines += table(["network", "widths", "parameters", "N*"],
                   [[c.get("label", ""), ", ".join(str(w) for w in c.get("widths", [])), integer(c.get("parameters")),
                     "not bracketed" if c.get("N_star") is None else num(c["N_star"], 1)] for c in cap["curves"]],
                   "lllr")
    lines += sweep_section(CAPACITY_SWEEP, "###")
    return "\n".join(lines).rstrip() + "\n"


# ---------------------------------------------------------------- phi4

def burn_in(record: dict) -> str:
    """The --burn-in of a `phi4 critical` record's command."""
    words = str(record.get("command", "")).split()
    return words[words.index("--burn-in") + 1] if "--burn-in" in words else "?"


def render_phi4() -> str:
    c = read_json(PHI4_CRITICAL)
    e = read_json(PHI4_EQUILIBRIUM)
    lines = banner(
        "Results: φ⁴ at its critical point",
        [PHI4_CRITICAL, PHI4_RECHECK, PHI4_EQUILIBRIUM],
        "The critical coupling of the lattice φ⁴ model that the bundled φ⁴ data sit at, and the equilibration "
        "measurement that sets the Monte Carlo burn-in and spacing. Background: [φ⁴ field theory](../science/phi4.md).",
    )
    lines += [
        "## The critical point",
        "",
        f"**β_c = {num(c['beta_c'], 4)} ± {num(c['error'], 4)}** at λ = {c.get('lam')} "
        f"(statistical error {num(c.get('error_statistical'), 4)}, systematic {num(c.get('error_systematic'), 4)}; "
        "the total error is the one explorer records with β_c).",
        "",
        f"Algorithm `{c.get('algorithm')}`; measured (not a default value): {yes_no(c.get('measured'))}.",
        "",
        "Command:",
        "",
        "```",
        str(c.get("command", "")),
        "```",
        "",
        "### Binder crossings",
        "",
    ]
    rows = []
    for x in c.get("crossings", []):
        fits = x.get("polynomial_fits", {})
        rows.append([" and ".join(str(s) for s in x.get("sizes", [])), num(x.get("beta_c"), 4), num(x.get("error"), 4),
                     num(x.get("error_statistical"), 4), num(x.get("error_systematic"), 4),
                     ", ".join(f"{k.replace('_', ' ')}: {num(v, 4)}" for k, v in fits.items())])
    lines += table(["sizes L", "β_c", "error", "statistical", "systematic", "polynomial fits"], rows, "lrrrrl")
    r = read_json(PHI4_RECHECK)
    shift = abs(r["beta_c"] - c["beta_c"]) / c["error"]
    lines += ["### Re-measured with a longer burn-in", "",
              f"The crossing above burned in {burn_in(c)} sweeps, below the {integer(read_json(PHI4_EQUILIBRIUM)['burn_in'])} "
              f"measured at L = 32 (the next section). Re-run with {burn_in(r)} (algorithm `{r.get('algorithm')}`): "
              f"**β_c = {num(r['beta_c'], 4)} ± {num(r['error'], 4)}** (statistical {num(r['error_statistical'], 4)}, "
              f"systematic {num(r['error_systematic'], 4)}), {num(shift, 2)} of the recorded error from the recorded "
              "β_c: " + ("the shorter burn-in did not move it beyond its error, and the bundled models keep the recorded "
                         "value." if shift < 1 else "the burn-in moved it beyond its error: the bundled φ⁴ data and models "
                         "sit off the critical point and must be re-made."), "", "```", str(r.get("command", "")), "```", ""]
    lines += ["### Measurements", "",
              "U: Binder cumulant; ⟨|m|⟩: mean absolute magnetisation; χ: susceptibility.", ""]
    rows = [[str(r["L"]), num(r["beta"], 3), f"{num(r['U'], 4)} ± {num(r['U_err'], 4)}", num(r["abs_m"], 4),
             f"{num(r['chi'], 2)} ± {num(r['chi_err'], 2)}"] for r in c.get("table", [])]
    lines += table(["L", "β", "U", "⟨\\|m\\|⟩", "χ"], rows, "rrrrr")
    lines += [
        f"## Equilibration at L = {e.get('L')}",
        "",
        f"At β = {num(e.get('beta'), 4)}, λ = {e.get('lam')}:",
        "",
    ]
    rows = [["chains", integer(e.get("chains"))], ["sweeps", integer(e.get("sweeps"))],
            ["burn-in (sweeps)", integer(e.get("burn_in"))],
            ["integrated autocorrelation time of \\|m\\| (sweeps)", num(e.get("tau_int_abs_m"), 1)],
            ["⟨\\|m\\|⟩", num(e.get("abs_m"), 4)], ["Metropolis acceptance", num(e.get("acceptance"), 3)],
            ["seconds per sweep of 1000 chains", num(e.get("seconds_per_sweep_per_1000_chains"), 4)],
            ["enough sweeps", yes_no(e.get("enough"))]]
    lines += table(["quantity", "value"], rows, "lr")
    if e.get("note"):
        lines += [f"Note recorded with the measurement: {e['note']}", ""]
    lines += ["### ⟨|m|⟩ from a hot and a cold start", "",
              "The two starts meet after the burn-in; the curve as recorded.", ""]
    rows = [[integer(p["sweep"]), num(p["hot"], 4), num(p["cold"], 4)] for p in e.get("curve", [])]
    lines += table(["sweep", "hot start", "cold start"], rows, "rrr")
    lines += chain_section(read_json(PHI4_CHAIN))
    return "\n".join(lines).rstrip() + "\n"


def chain_section(d: dict) -> list[str]:
    """Metropolis with and without Swendsen-Wang cluster updates: cost per independent field, and
    the law at L = 32 (bench_phi4_chain.py)."""
    lines = ["## Cluster updates: the L = 64 data", "",
             "Metropolis alone slows down at β_c (τ_int grows like L²), so the L = 64 data add one Swendsen-Wang "
             "update of the signs after each sweep ([φ⁴](../science/phi4.md)). Cost of one independent field "
             "= 2 τ_int sweeps of one chain. Measured by `tests/benchmarks/bench_phi4_chain.py` "
             f"({d['machine']}):", "", "```", d["command"], "```", ""]
    rows = [[str(r["L"]), f"`{r['algorithm']}`", num(r["seconds_per_sweep_256_chains"] * 1e3, 1),
             integer(r["burn_in"]) if "burn_in" in r else "not measured",
             num(r["tau_int"], 1) if "tau_int" in r else "–",
             num(r["seconds_per_field"] * 1e3, 2) if "seconds_per_field" in r else "–"] for r in d["chains"]]
    lines += table(["L", "chain", "ms per sweep of 256 chains", "burn-in (sweeps)", "τ_int of \\|m\\| (sweeps)",
                    "ms per independent field"], rows, "rlrrrr")
    w = d["law"]
    lines += [f"### The same law at L = {w['L']}", "",
              f"Against {integer(w['metropolis']['fields'] - w['floor']['n'])} Metropolis fields (the reference), "
              f"{integer(w['floor']['n'])} other Metropolis fields (the floor: what the same law shows) and as many "
              "fields of the cluster chain (other seeds):", ""]
    rows = [[name, integer(r["n"]), percent(r["mean_abs_dp"], 2), f"{num(r['tv'], 3)} ± {num(r['tv_se'], 3)}",
             f"{num(r['abs_m'], 4)} ± {num(r['abs_m_se'], 4)}"]
            for name, r in (("Metropolis (floor)", w["floor"]), ("with cluster updates", w["cluster_row"]))]
    lines += table(["fields", "n", "mean \\|dP/P\\|", "histogram TV", "⟨\\|m\\|⟩"], rows, "lrrrr")
    lines += [f"All {integer(w['cluster']['fields'])} cluster fields against all {integer(w['metropolis']['fields'])} "
              f"Metropolis fields (s.e. from the spread of the chains' means, {integer(w['cluster']['chains'])} chains "
              f"each): the largest |dP/P| / s.e. over the {len(w['k'])} shells |k| is **{num(w['max_z'], 2)}**; ⟨|m|⟩ "
              f"differs by {percent(w['abs_m_difference'], 2)} ± {percent(w['abs_m_difference_se'], 2)}.", ""]
    rows = [[str(k), f"{percent(v, 2)} ± {percent(e, 2)}"] for k, v, e in zip(w["k"], w["dp"], w["dp_se"])]
    lines += table(["\\|k\\|", "dP/P (clusters against Metropolis)"], rows, "rr")
    return lines


# ---------------------------------------------------------------- the hierarchy, measured fairly

def mflops(x) -> str:
    return "–" if x is None else f"{x / 1e6:,.1f}"


def largest(row: dict) -> float:
    """A benchmark row's largest |dP/P| over |k|."""
    return max(abs(v) for v in row["per_k"])


def hierarchy_size(d: dict, command: str) -> list[str]:
    L, rows = d["L"], d["rows"]
    lines = [f"## L = {L}", "", "```", command, "```", ""]
    if not d.get("complete"):
        return lines + [f"Incomplete: the benchmark stopped after {len(rows)} rows; no verdict.", ""]
    ref = d["reference"]
    chain = f" of `{ref['algorithm']}`" if "algorithm" in ref else ""
    lines += [f"Reference: **{integer(ref['n'])} fresh MCMC fields** at the models' β and λ, from {integer(ref['chains'])} "
              f"chains{chain} ({integer(ref['burn_in'])} sweeps of burn-in, then one field every "
              f"{integer(ref['spacing'])} sweeps = 2 τ_int; burn-in and τ_int: {ref['source']}); ⟨|m|⟩ of the reference "
              f"{num(ref['abs_m'], 4)}. "
              f"The floor row: {integer(ref['floor_n'])} more fresh fields from other chains. "
              f"{integer(d['n'])} samples per generated row; {integer(d['boot'])} paired bootstrap draws.", ""]
    plain_eval = d["models"]["plain"]["networks"][0]["flops"]
    rows_n = []
    for g, m in d["models"].items():
        for lv in m["networks"]:
            rows_n.append([f"{g} ({m['file']})", lv["level"], f"{lv['side']} × {lv['side']}", mflops(lv["flops"]),
                           num(lv["flops"] / plain_eval, 3)])
    lines += ["Networks: FLOPs of one evaluation per sample, counted by `torch.utils.flop_counter.FlopCounterMode`, "
              "each at its own resolution:", ""]
    lines += table(["model", "level", "size", "MFLOP", "of a plain evaluation"], rows_n, "llrrr")
    lines += ["Runs (ODE/Heun, the same step grid for every model; for a WCRG every scale and the coarse x_J run the row's "
              "steps). GFLOP: per sample, evaluations × the networks' counts above; ms: median wall time per "
              "sample over the run's batches (a shared 2-core machine: compare ratios). Error: mean over |k| of "
              "|ΔP/P| ± its bootstrap s.e.; − best: the difference from the best run, ± its paired s.e. (in "
              "brackets the two errors added in quadrature, which ignores the shared reference).", ""]
    out = []
    for r in rows:
        reach = "–" if not r["grid"] else ("**yes**" if r["reaches"] else "no")
        made = r["generator"] != "fresh"
        out.append([r["label"], integer(r["evaluations"]) if made else "–",
                    num(r["flops"] / 1e9, 3) if made else "–", num(1e3 * r["seconds_per_sample"], 2) if made else "–",
                    f"{percent(r['error'], 2)} ± {percent(r['se'], 2)}",
                    f"{100 * r['diff_best']:+.2f} ± {100 * r['diff_best_se']:.2f} ({100 * r['diff_best_se_unpaired']:.2f})",
                    f"{num(r['tv'], 3)} ± {num(r['tv_se'], 3)}", f"{num(r['abs_m'], 4)} ± {num(r['abs_m_se'], 4)}", reach])
    lines += table(["run", "evaluations", "GFLOP", "ms", "mean \\|ΔP/P\\|", "− best (points)", "histogram TV",
                    "⟨\\|m\\|⟩", "reaches"], out, "lrrrrrrrl")
    made = [r for r in rows if r["generator"] != "fresh" and r.get("flops_run_counted")]
    if made:
        extra = [r["flops_run_counted"] / r["flops"] - 1 for r in made]
        lines += [f"Check: torch's count of a whole run of one sample (every operation it counts, the wavelet transforms "
                  f"included) exceeds the networks' count by {percent(min(extra), 2)} to {percent(max(extra), 2)}.", ""]
    lines += [f"**Floor** (the fresh fields' error): {percent(d['floor']['error'], 2)} ± {percent(d['floor']['se'], 2)}. "
              f"Best run: {d['best']} ({percent(d['best_error'], 2)}); a run reaches when its error ≤ best + floor = "
              f"{percent(d['threshold'], 2)}.", ""]
    by = {r["label"]: r for r in rows}
    for g in d["models"]:
        c = d["cheapest"].get(g)
        lines += [f"- cheapest {g} run that reaches: " + (
            f"**{c}**, {num(by[c]['flops'] / 1e9, 3)} GFLOP per sample" if c else "none at these step counts")]
    for g, ratio in d["flop_ratio"].items():
        lines += [f"- **{g} / plain: {percent(ratio)} of the FLOPs**, {percent(d['wall_ratio'][g])} of the wall "
                  "time (goal ≤ 25 % of the FLOPs: " + ("met" if ratio <= 0.25 else "not met") + ")."]
    nets = {g: sum(lv["flops"] for lv in m["networks"]) for g, m in d["models"].items()}
    plain_steps = by[d["cheapest"]["plain"]]["steps"] if "plain" in d["cheapest"] else None
    sharp = []
    for g in d["flop_ratio"]:
        k = by[d["cheapest"][g]]["steps"]
        lower = {h: max((r["steps"] for r in rows if r["grid"] and r["generator"] == h and r["steps"] < n), default=None)
                 for h, n in ((g, k), ("plain", plain_steps))}
        missed = " and ".join(f"{h} at {n}" for h, n in lower.items() if n is not None)
        lines += [f"- why ({g}): one step of every {g} network (x_J and each scale, each at its own size) costs "
                  f"{percent(nets[g] / nets['plain'])} of a plain step, so the FLOP ratio is that times the ratio "
                  f"of the steps each needs: {k} against {plain_steps}"
                  + (f" ({missed} steps, the grid's next lower counts, do not reach; a finer grid could move either)."
                     if missed else ".")]
        sharp += [r for r in rows if r["grid"] and any(r["generator"] == h and r["steps"] == n for h, n in lower.items())
                  and r not in sharp]
    for r in sharp:
        lines += [f"- how sharp: {r['label']} misses by {100 * (r['error'] - d['threshold']):.2f} points; its "
                  f"paired s.e. against the best run is {100 * r['diff_best_se']:.2f} points."]
    if d.get("not_run"):
        lines += [f"- not run (the benchmark's time ran out): {', '.join(d['not_run'])}."]
    lines += [""]
    defaults = [by[c["label"]] for c in d["defaults"].values()]
    if defaults:
        lines += ["### Each bundled model at its default run", "",
                  "A model's default run is its cheapest run that reaches, written into its file by "
                  "`scripts/make_checkpoints.sh` (`explorer set-default`; `explorer info` shows it). ΔP/P per |k| ± "
                  "bootstrap s.e. (the reference resampled too); the fresh fields for scale.", ""]
        cols = defaults + [rows[0]]
        krows = [[str(k)] + [f"{100 * c['per_k'][i]:+.1f} ± {100 * c['per_k_se'][i]:.1f} %" for c in cols]
                 for i, k in enumerate(d["k"])]
        krows.append(["histogram TV"] + [f"{num(c['tv'], 3)} ± {num(c['tv_se'], 3)}" for c in cols])
        krows.append(["⟨|m|⟩ (reference " + num(ref["abs_m"], 4) + ")"]
                     + [f"{num(c['abs_m'], 4)} ± {num(c['abs_m_se'], 4)}" for c in cols])
        krows.append(["largest |ΔP/P|"] + [percent(largest(c)) for c in cols])
        lines += table(["\\|k\\|"] + [c["label"] for c in cols], krows, "l" + "r" * len(cols))
        within = [c["label"] for c in defaults if largest(c) <= 0.05 and c["tv"] <= 0.03]
        fresh_worst = largest(rows[0])
        lines += [f"Within 5 % at every |k| and TV ≤ 0.03 (the goal): {', '.join(within) or 'none'}. For scale: "
                  f"{integer(rows[0]['n'])} fresh fields miss the reference by up to {percent(fresh_worst)} at some |k| "
                  "(the smallest |k| have few modes).", ""]
    return lines


def examples_section(e: dict) -> list[str]:
    """Fewer examples (bench_examples.py): each generator's error against its training-set size."""
    rows = e["rows"]
    lines = ["## Fewer examples", "", "```", e["command"], "```", "",
             f"φ⁴ at L = {e['L']}: each model trained on N fields by its bundled recipe, every diffusion and WCRG "
             "model at one setting, the scattering models by their L-BFGS, "
             f"{integer(e['n'])} samples each from the same seed, against the {integer(e['reference']['n'])} fresh "
             "fields of L = 32 above (the same floor rows' fields); − plain: the paired difference from plain "
             "diffusion at the same N, and at ten times the N. A scattering model's statistics hold P(k) itself "
             "(its |k| shells), so its spectrum error is fitted, not predicted: read its histogram TV.", ""]
    out = []
    for r in rows:
        diff = [f"{100 * r[k]['difference']:+.2f} ± {100 * r[k]['se']:.2f}" if k in r else "–"
                for k in ("vs_plain_same_n", "vs_plain_10x_n")]
        out.append([r["label"], r["run"] or "–", integer(r["parameters"]) if r.get("parameters") else "–",
                    f"{percent(r['error'], 2)} ± {percent(r['se'], 2)}", *diff,
                    f"{num(r['tv'], 3)} ± {num(r['tv_se'], 3)}", f"{num(r['abs_m'], 4)} ± {num(r['abs_m_se'], 4)}",
                    percent(largest(r))])
    lines += table(["model", "run", "parameters", "mean \\|ΔP/P\\|", "− plain, same N (points)",
                    "− plain at 10 N (points)", "histogram TV", "⟨\\|m\\|⟩", "largest \\|ΔP/P\\|"], out, "llrrrrrrr")
    for r in rows:
        if r["generator"] in ("plain", "fresh"):
            continue
        for key, n in (("vs_plain_same_n", r["N"]), ("vs_plain_10x_n", 10 * r["N"])):
            d = r.get(key)
            if d is None:
                continue
            verdict = ("at most plain's" if d["difference"] <= 0 else
                       "above plain's, within 2 s.e." if d["difference"] <= 2 * d["se"] else "above plain's")
            lines += [f"- {r['label']} against plain N = {n}: {100 * d['difference']:+.2f} ± "
                      f"{100 * d['se']:.2f} points, **{verdict}**."]
    lines += ["", "Each model is one training run (seed 0): the s.e. covers the samples and the reference, not the "
              "spread between training runs."]
    for g in dict.fromkeys(r["generator"] for r in rows if r["generator"] != "fresh"):
        curve = sorted((r["N"], r["error"]) for r in rows if r["generator"] == g)
        if any(e_small < e_large for (_, e_small), (_, e_large) in zip(curve, curve[1:])):
            lines += [f"The {g} error is not monotone in N (" + ", ".join(f"N = {n}: {percent(e, 1)}" for n, e in curve)
                      + "): fewer fields gave a smaller error somewhere, so that spread is not small there."]
    return lines + [""]


def render_hierarchy() -> str:
    h = read_json(HIERARCHY)
    sizes = [h["sizes"][k] for k in sorted(h["sizes"], key=int)]
    lines = banner(
        "Results: the hierarchy, measured fairly",
        [HIERARCHY] + ([EXAMPLES] if (ROOT / EXAMPLES).exists() else []),
        "The wavelet renormalisation group (WCRG: a coarse model of x_J and one conditional denoiser per scale, "
        "[the science](../science/wavelet-rg.md)) against plain score diffusion on φ⁴ at its critical point, each "
        "bundled model as it is, by the rules of a fair comparison: compute counted by torch, one reference for "
        "every row, a paired bootstrap, the metric's noise floor, one grid of settings for all, and \"reaches\" "
        "read one way only.",
    )
    done = [d for d in sizes if d.get("complete") and d.get("cheapest")]
    if done:
        top = done[-1]
        c = top["cheapest"]
        verdict = f"At the largest L measured, L = {top['L']}: " + "; ".join(
            f"{g} reaches the best error within the floor with **{percent(ratio)} of plain diffusion's FLOPs** "
            f"({c[g]} against {c['plain']}): the goal of ≤ 25 % is " + ("met" if ratio <= 0.25 else "**not met**")
            for g, ratio in top["flop_ratio"].items()) + "." if top["flop_ratio"] else (
            f"At the largest L measured, L = {top['L']}, only " + " and ".join(c) + " reaches the best error "
            "within the floor: no ratio.")
        lines += [verdict, ""]
        gens = list(dict.fromkeys(g for d in done for g in d["models"]))
        grow = []
        for g in gens:
            cells = []
            for d in done:
                label = d["cheapest"].get(g)
                row = next((r for r in d["rows"] if r["label"] == label), None)
                cells.append("–" if g not in d["models"] else "none reaches" if row is None else
                             f"{row['steps']} steps, {num(row['flops'] / 1e9, 2)} GFLOP")
            grow.append([g, *cells])
        lines += ["The cheapest run that reaches, per sample, as L grows:", ""]
        lines += table(["generator", *(f"L = {d['L']}" for d in done)], grow, "l" + "r" * len(done))
    lines += ["How it is measured (`" + h["benchmark"] + "`):", "",
              f"- metric: {h['metric']}, ΔP/P = mean P_generated(k) / mean P_reference(k) − 1 (means over fields);",
              "- FLOPs per sample: one evaluation of each network at its own resolution counted by `FlopCounterMode`, "
              "times the run's evaluations (Heun: 2K − 1 per run; WCRG: one run per scale and one for x_J);",
              "- paired bootstrap: every draw resamples the reference with one set of indices for all rows, and the "
              "samples with one set (the rows of a model share their seed, so sample i of each starts from the same "
              "noise); a difference's s.e. is the spread of the draws' differences;",
              "- floor: the metric for fresh MCMC fields (not the reference, not trained on) against the reference;",
              f"- reaches: {h['reaches']}; for each generator the cheapest run (FLOPs) that reaches.", "",
              f"Machine: {h['machine']}, torch {h['torch']}.", ""]
    for d in sizes:
        lines += hierarchy_size(d, h.get("commands", {}).get(str(d["L"]), h.get("command", "")))
    if (ROOT / EXAMPLES).exists():
        lines += examples_section(read_json(EXAMPLES))
    return "\n".join(lines).rstrip() + "\n"


# ---------------------------------------------------------------- checkpoints

def parameters_of(record: dict, shapes: dict) -> int:
    """What explorer calls a model's parameters: a network's weights; for a scattering model the number
    of statistics it fixes (the length of `phi`); for a Gaussian model the mean and one power per shell."""
    kind = record.get("kind")
    if kind == "scattering":
        return math.prod(shapes["phi"])
    if kind == "gaussian":
        return 1 + math.prod(shapes["power"])
    return tensor_elements(shapes)


def last_monitor(training: dict) -> str:
    mon = training.get("monitor") or []
    if not mon:
        return "–"
    last = mon[-1]
    levels = ", ".join(f"{k} → {v:.2e}" for k, v in last.get("mse", {}).items())
    return f"step {last.get('step')}: {levels}"


def steps_of(training: dict) -> str:
    stages = []
    t = training
    while t:
        if t.get("steps") is not None:
            stages.append(integer(t["steps"]))
        t = t.get("init") or {}
    return " + ".join(reversed(stages)) or "–"


def recipe(training: dict) -> str:
    parts = []
    for key, label in (("batch", "batch"), ("lr", "lr"), ("lr_schedule", "schedule"), ("warmup", "warm-up"),
                       ("ema", "EMA"), ("bf16", "bf16"), ("noise_levels", "half of each batch at σ/α in"),
                       ("seed", "seed"), ("device", "device")):
        if training.get(key) is not None:
            v = training[key]
            parts.append(f"{label} {yes_no(v) if isinstance(v, bool) else v}")
    if training.get("seconds_this_run") is not None:
        parts.append(f"{num(training['seconds_this_run'], 1)} s this run")
    if training.get("steps_per_second") is not None:
        parts.append(f"{training['steps_per_second']} steps/s")
    if training.get("resumed_from_step"):
        parts.append(f"resumed from step {training['resumed_from_step']}")
    return "; ".join(parts) or "–"


def network_rows(name: str, record: dict, shapes: dict) -> list[str]:
    t = record.get("training") or {}
    arch = record.get("arch") or {}
    widths = ", ".join(str(w) for w in arch.get("widths", []))
    return [name, f"{arch.get('size', '–')} × {arch.get('size', '–')}", widths or "–", integer(tensor_elements(shapes)),
            steps_of(t), sig(t.get("final_loss"), 4), last_monitor(t)]


def model_entry(entry: dict) -> tuple[list[str], list[str]]:
    """(summary row, detail lines) of one model listed in checkpoints/index.json."""
    path = ROOT / "checkpoints" / entry["file"]
    detail = [f"### {entry['name']}", "", f"{entry.get('description', '')}", ""]
    if entry.get("kind") == "wcrg":
        idx = json.loads((path / "index.json").read_text(encoding="utf-8"))
        files = idx.get("files", {})
        nets = [("coarse x_J", files.get("lowpass"))] + [(f"conditional j = {j}", f) for j, f in
                                                           sorted(files.get("conditional", {}).items(), reverse=True)]
        rows, total, seen, steps, losses = [], 0, set(), [], []
        for label, f in nets:
            rec, shapes = explorer_record(path / f)
            if f not in seen:
                total += tensor_elements(shapes)
                seen.add(f)
            rows.append(network_rows(label, rec, shapes))
            steps.append(steps_of(rec.get("training") or {}))
            losses.append(sig((rec.get("training") or {}).get("final_loss"), 4))
        r = idx.get("recipe", {})
        detail += [f"`{entry['file']}/`: {idx.get('levels')} levels, wavelet `{idx.get('wavelet')}`, "
                   f"one network shared by all scales: {yes_no(r.get('shared'))}.", ""]
        detail += table(["network", "image", "widths", "parameters", "training steps", "final loss",
                         "last training-set MSE of x̂₀ (at σ/α)"], rows, "lllrrrl")
        if idx.get("command"):
            detail += ["```", idx["command"], "```", ""]
        summary = [integer(total), " / ".join(steps), " / ".join(losses)]
    else:
        rec, shapes = explorer_record(path)
        t = rec.get("training") or {}
        params = parameters_of(rec, shapes)
        if rec.get("kind") == "diffusion":
            arch = rec.get("arch") or {}
            detail += [f"`{entry['file']}`: U-Net widths {', '.join(str(w) for w in arch.get('widths', []))}, "
                       f"blocks per level {arch.get('blocks')}, padding `{arch.get('padding')}`, "
                       f"{integer(params)} parameters.", ""]
            t_stage, rows, chain = t, [], []
            while t_stage:
                chain.append(t_stage)
                t_stage = t_stage.get("init") or {}
            for stage, ts in enumerate(reversed(chain), start=1):
                rows.append([str(stage), integer(ts.get("steps")), sig(ts.get("final_loss"), 4), last_monitor(ts), recipe(ts)])
            detail += table(["stage", "steps", "final loss", "last training-set MSE of x̂₀ (at σ/α)", "recipe"],
                            rows, "rrrll")
        elif rec.get("kind") == "scattering":
            sc = rec.get("scattering") or {}
            detail += [f"`{entry['file']}`: {integer(params)} statistics; J = {sc.get('J')} scales, L = {sc.get('L')} "
                       f"angles, isotropic reduction {yes_no(sc.get('isotropic'))}, scale-invariant reduction "
                       f"{yes_no(sc.get('scale_invariant'))}, "
                       f"{sc.get('shells')} shells of P(k); fitted on {integer(t.get('fields'))} fields in "
                       f"{num(t.get('seconds'), 2)} s.", ""]
        elif rec.get("kind") == "gaussian":
            detail += [f"`{entry['file']}`: the mean and {integer(params - 1)} shell powers; fitted on "
                       f"{integer(t.get('fields'))} fields.", ""]
        if t.get("command"):
            detail += ["```", t["command"], "```", ""]
        summary = [integer(params), steps_of(t) if rec.get("kind") == "diffusion" else "–",
                   sig(t.get("final_loss"), 4)]
    name = entry["name"] + (" (default)" if entry.get("default") else "")
    row = [name, entry.get("kind", ""), entry.get("data", ""), integer(entry.get("n")), entry.get("split", ""),
           f"{entry.get('size')} × {entry.get('size')}", *summary]
    return row, detail


def render_checkpoints() -> str:
    idx = read_json(INDEX)
    lines = banner(
        "Results: the bundled models",
        [INDEX, f"{CAPACITY_DIR}/*.safetensors"],
        "Every model that `checkpoints/index.json` lists, with its data, training-set size N, split, parameter "
        "count and how it was trained, as recorded in the file itself (`explorer info FILE` prints the same "
        "record). Parameters: a network's weights; for a scattering-spectra model the number of statistics it "
        "fixes; for a Gaussian model the mean and one power per shell. Final loss: the training loss at the last "
        "step. The training-set MSE of x̂₀ is the monitor curve's last point: the mean squared error of the "
        "denoiser's estimate on training images at the listed noise levels σ/α. For a WCRG the steps and losses "
        "are given per network, coarse first.",
        " and the JSON record in the safetensors header of every model file (and each WCRG folder's `index.json`)",
    )
    rows, details = [], []
    for entry in idx["checkpoints"]:
        row, detail = model_entry(entry)
        rows.append(row)
        details += detail
    lines += ["## Summary", ""]
    lines += table(["model", "kind", "data", "N", "split", "image", "parameters", "training steps", "final loss"],
                   rows, "lllrllrrr")
    lines += ["## Each model", ""] + details
    cap_files = sorted((ROOT / CAPACITY_DIR).glob("*.safetensors"))
    if cap_files:
        lines += ["## The capacity pairs", "",
                  f"The S1/S2 pairs of `{CAPACITY_DIR}/` (the capacity axis of the generalisation results).", ""]
        crow = []
        for p in cap_files:
            rec, shapes = explorer_record(p)
            t = rec.get("training") or {}
            d = rec.get("data") or {}
            arch = rec.get("arch") or {}
            crow.append([p.stem, integer(d.get("n")), str(d.get("split", "")), ", ".join(str(w) for w in arch.get("widths", [])),
                         integer(tensor_elements(shapes)), integer(t.get("steps")), sig(t.get("final_loss"), 4)])
        crow.sort(key=lambda r: (int(r[4].replace(",", "")), int(r[1].replace(",", "")), r[2]))
        lines += table(["model", "N", "split", "widths", "parameters", "training steps", "final loss"], crow, "lrllrrr")
    return "\n".join(lines).rstrip() + "\n"

# ---------------------------------------------------------------- the cosmic web

def plus_minus(v, se, digits: int = 3) -> str:
    return f"{sig(v, digits)} ± {sig(se, 2)}"


def z_of(v, se) -> str:
    return "–" if not se else f"{v / se:+.1f}"


def difference_se(a_se, b_se) -> float:
    """The standard error of a difference of two independent estimates."""
    return (a_se ** 2 + b_se ** 2) ** 0.5


def z_difference(a, a_se, b, b_se) -> str:
    """a - b in standard errors of the difference (the two errors combined)."""
    return z_of(a - b, difference_se(a_se, b_se))


def training_spectrum(f: dict) -> list[str]:
    """Which part of each model's P(k) error against the reference is its training set's: the model's
    fields against the mean P(k) its file records of its training data (`data.stats`), and that mean
    against the reference, over the shells of the field table. Models whose file records none (a WCRG
    folder, older files) are left out."""
    files = {e["name"]: ROOT / "checkpoints" / e["file"] for e in read_json(INDEX)["checkpoints"]}
    rows = []
    for r in f["rows"]:
        path = files.get(r["name"])
        if path is None or path.suffix != ".safetensors" or not path.exists():
            continue
        data = explorer_record(path)[0].get("data") or {}
        st, p = data.get("stats") or {}, r["details"]["power"]
        at = {k: i for i, k in enumerate(st.get("k", []))}
        if "power_se" not in st or any(k not in at for k in p["k"]):
            continue
        train = [st["power"][at[k]] for k in p["k"]]
        train_se = [st["power_se"][at[k]] for k in p["k"]]
        own = [abs(g / t - 1) for g, t in zip(p["generated"], train)]
        off = [abs(t / ref - 1) for t, ref in zip(train, p["reference"])]
        z = [abs(t - ref) / difference_se(ts, rs) for t, ts, ref, rs in zip(train, train_se, p["reference"], p["reference_se"])]
        i, j = max(range(len(own)), key=own.__getitem__), max(range(len(off)), key=off.__getitem__)
        rows.append([r["name"], integer(data.get("n")), f"{percent(own[i])} (k = {p['k'][i]})",
                     f"{percent(off[j])} (k = {p['k'][j]})", num(max(z), 1)])
    if not rows:
        return []
    return ["Each model's P(k) against its own training data's (the mean its file records) and that mean against "
            "the reference, over the same shells: a model's error against fresh fields is about the sum of the two. z: "
            "the training mean's largest difference in standard errors (its errors over single fields, which "
            "understate them for correlated turbulence snapshots).", "",
            *table(["model", "training fields", "max \\|P/P_train − 1\\|", "training data: max \\|P_train/P_ref − 1\\|",
                    "z"], rows, "lrrrr")]


def field_section(rel: str, odd: bool = False) -> list[str]:
    """The field table of `explorer field --json` at `rel`, with the even bispectrum per triangle and,
    with `odd`, its parity-odd part per scalene triangle."""
    f = read_json(rel)
    lines = [f"### Against {f['reference']}", "",
             f"{f['n']} samples per model from seed {f['seed']}; each model ran its own default sampler and steps. "
             "Errors are in standard errors of the difference (the generated and the reference errors combined; "
             "for P(k), its largest over the shells); "
             "`bispectrum` is relative to the data's largest |b|.", "",
             "```", str(f.get("command", "")), "```", ""]
    rows = []
    for r in f["rows"]:
        rows.append([r["name"], r["kind"], integer(r["parameters"]), f"{r['sampler']}, {r['steps']}",
                     percent(r["spectrum_error"]), num(r.get("spectrum_z"), 1),
                     plus_minus(r["histogram_tv"], r["histogram_tv_se"]),
                     "–" if r.get("bispectrum_error") is None else percent(r["bispectrum_error"], 0),
                     num(r.get("bispectrum_z"), 1), num(r.get("bispectrum_odd_z"), 1),
                     num(r.get("trispectrum_z"), 1), num(r["seconds"], 0)])
    lines += table(["model", "kind", "parameters", "sampler, steps", "max \\|ΔP/P\\|", "z", "histogram TV",
                    "bispectrum", "z", "odd z", "trispectrum z", "seconds"], rows, "llrlrrrrrrrr")
    lines += training_spectrum(f)
    detailed = [r for r in f["rows"] if r.get("details", {}).get("bispectrum")]
    if detailed:
        tris = detailed[0]["details"]["bispectrum"]["triangles"]
        ref = detailed[0]["details"]["bispectrum"]
        lines += ["Reduced bispectrum per triangle (parity-even part), the data against each model "
                  "(z: the model's difference in standard errors):", ""]
        rows = []
        for i, t in enumerate(tris):
            row = [",".join(map(str, t)), plus_minus(ref["reference"][i], ref["reference_se"][i])]
            for r in detailed:
                b = r["details"]["bispectrum"]
                z = z_difference(b["generated"][i], b["generated_se"][i], b["reference"][i], b["reference_se"][i])
                row.append(f"{sig(b['generated'][i], 3)} ({z})")
            rows.append(row)
        lines += table(["k1,k2,k3", "data"] + [r["name"] for r in detailed], rows, "l" + "r" * (1 + len(detailed)))
    detailed = [r for r in f["rows"] if r.get("details", {}).get("bispectrum_odd")] if odd else []
    if detailed:
        ref = detailed[0]["details"]["bispectrum_odd"]
        lines += ["Its parity-odd part per scalene triangle: the data (z: in its errors) against each model "
                  "(z: the model's difference in standard errors):", ""]
        rows = []
        for i, t in enumerate(ref["triangles"]):
            row = [",".join(map(str, t)), plus_minus(ref["reference"][i], ref["reference_se"][i]),
                   z_of(ref["reference"][i], ref["reference_se"][i])]
            for r in detailed:
                b = r["details"]["bispectrum_odd"]
                z = z_difference(b["generated"][i], b["generated_se"][i], b["reference"][i], b["reference_se"][i])
                row.append(f"{sig(b['generated'][i], 3)} ({z})")
            rows.append(row)
        lines += table(["k1,k2,k3", "data", "z"] + [r["name"] for r in detailed], rows, "l" + "r" * (2 + len(detailed)))
    return lines


def iterations_section(rel: str) -> list[str]:
    """How many L-BFGS iterations a scattering model needs (bench_scattering_iterations.py)."""
    it = read_json(rel)
    lines = ["### How many L-BFGS iterations", "",
             "The statistics' rms error (in units of one training field's spread) and the largest error of P(k) "
             "against the model's own target (the training fields' mean P(k), so that this measures convergence, "
             "not the model), along one run; the model's default run is the first count measured whose rms error "
             f"is at most {it['target']} (what the 64 × 64 models of 4 angles reach in 100) and whose P(k) is within "
             f"{percent(it['spectrum_target'], 0)} of its target (the largest count measured where none is), written "
             "into its file by `explorer set-default`.", "", "```", it["command"], "```", ""]
    for m in it["models"]:
        rows = [[str(r["iterations"]), num(r["rms_error"], 3), f"{percent(r['spectrum_max_error'])} (k = {r['at_k']})",
                 num(r["seconds"] / m["n"], 0)] for r in m["rows"]]
        default = (f"default {m['enough']} iterations" if m["reached"] else
                   f"no count measured met both: default {m['enough']} iterations, the most measured")
        made = "" if m.get("training_fields") is None else f"estimated from {integer(m['training_fields'])} fields, "
        if m.get("spectrum_tolerance") is not None:
            made += f"P(k) weighed as a spread of at most {percent(m['spectrum_tolerance'], 0)} of it, "
        lines += [f"`{m['model']}` ({m['statistics']} statistics, {made}{m['n']} fields generated from seed 0, torch "
                  f"on {it['threads']} thread(s)): {default}.", ""]
        lines += table(["iterations", "rms statistics error", "max \\|P/P_train − 1\\|", "seconds per field"], rows,
                       "rrrr")
    return lines


def render_cosmic_web() -> str:
    d = read_json(COSMIC_DATA)
    p = d["params"]
    fields = [rel for rel in COSMIC_FIELDS if (ROOT / rel).exists()]
    iterations = [COSMIC_ITERATIONS] if (ROOT / COSMIC_ITERATIONS).exists() else []
    bound = [COSMIC_BOUND] if (ROOT / COSMIC_BOUND).exists() else []
    iterations64 = [COSMIC_ITERATIONS64] if (ROOT / COSMIC_ITERATIONS64).exists() else []
    bound64 = [rel for rel in COSMIC_BOUND64 if (ROOT / rel).exists()]
    lines = banner(
        "Results: the cosmic web",
        [COSMIC_DATA, *fields, *iterations, *iterations64, *bound, *bound64],
        "The cosmic-web data set (a thin slab of the matter density today by the truncated Zel'dovich approximation, "
        "shown as log(1 + δ); [the science](../science/cosmic-web.md)) against what the literature expects, on "
        "fresh fields never trained on, and the models of it against the same fresh fields.",
    )
    op = d["one_point"]
    lines += [
        "## The data",
        "",
        f"{integer(d['fields'])} fresh fields of {p['size']} × {p['size']} cells (seed {d['seed']}): box "
        f"{num(p['box'], 0)} Mpc/h, slab depth {num(p['depth'], 0)} Mpc/h, redshift {num(p['z'], 1)}, "
        f"k_NL = {num(d['k_nl'], 3)} h/Mpc; {num(1e3 * d['seconds_per_field'], 0)} ms per field here.",
        "",
        "```", str(d.get("command", "")), "```", "",
        "### One-point law", "",
        "δ is strongly skewed and heavy-tailed; its logarithm nearly symmetric (the log-normal-like law of the "
        "density field). TV: the total-variation distance of standardised log(1 + δ) to a unit normal.", "",
    ]
    rows = [[name, num(op[key]["mean"], 3), num(op[key]["std"], 3), num(op[key]["skewness"], 2),
             num(op[key]["excess_kurtosis"], 2)] for name, key in (("δ", "delta"), ("log(1 + δ)", "log_density"))]
    lines += table(["field", "mean", "std", "skewness", "excess kurtosis"], rows, "lrrrr")
    lines += [f"TV(log(1 + δ), normal) = {num(op['log_density_normal_tv'], 3)}.", "",
              "### Power spectrum", "",
              "P(k) of δ over the truncated-Zel'dovich input P_L(k) exp(−k²/k_G²) / L_z, averaged over the same "
              "modes of each shell (the linear theory of a periodic slab is its k_z = 0 plane): near 1 on large "
              "scales, where Zel'dovich keeps linear growth; below them mode coupling and shell crossing move power "
              "between scales, and the cloud-in-cell window smooths.", ""]
    rows = [[str(r["k"]), num(r["k_h_per_mpc"], 3), plus_minus(r["measured"], r["se"]), sig(r["input"], 3),
             num(r["ratio"], 3)] for r in d["spectrum"] if r["k"] <= 8 or r["k"] % 4 == 0]
    lines += table(["k (cycles per box)", "k (h/Mpc)", "P measured ((Mpc/h)²)", "P input", "ratio"], rows, "rrrrr")
    for key, title in (("bispectrum_delta", "δ"), ("bispectrum_log_density", "log(1 + δ), the field explorer shows")):
        lines += [f"### Reduced bispectrum of {title}", "",
                  "even: b averaged over a triangle and its mirror image; odd: half their difference (0 for a "
                  "mirror-symmetric law); z: the value in jackknife standard errors.", ""]
        rows = [[",".join(map(str, r["triangle"])), plus_minus(r["even"], r["even_se"]), z_of(r["even"], r["even_se"])]
                + ([plus_minus(r["odd"], r["odd_se"]), z_of(r["odd"], r["odd_se"])] if len(set(r["triangle"])) == 3
                   else ["0 (isosceles)", "–"]) for r in d[key]]
        lines += table(["k1,k2,k3", "even", "z", "odd", "z"], rows, "lrrrr")
    if fields:
        lines += ["## Models of the cosmic web", ""]
        for rel in fields:
            if rel.endswith("field256.json") and iterations:
                lines += iterations_section(COSMIC_ITERATIONS)
            if rel.endswith("field64.json") and iterations64:
                lines += iterations_section(COSMIC_ITERATIONS64)
            lines += field_section(rel)
            if rel.endswith("field256.json") and bound:
                lines += bound_section(COSMIC_BOUND, rel)
            for b in bound64 if rel.endswith("field64.json") else []:
                lines += bound_section(b, rel)
    return "\n".join(lines).rstrip() + "\n"


# ---------------------------------------------------------------- hostile inputs

def render_hostile() -> str:
    h = read_json(HOSTILE)
    lines = banner(
        "Results: hostile inputs",
        [HOSTILE],
        "The contract explorer keeps with every input, tried as a user and an attacker would: each case is a separate "
        "`explorer` process with its own files, judged by `scripts/hostile_corpus.py`.",
    )
    lines += [f"**The contract.** {h['contract']}.", "",
              f"{integer(h['tried'])} cases, {integer(h['kept'])} kept the contract, {integer(h['broken'])} broke it; "
              f"{num(h['seconds'] / 60, 1)} min on {h['cpus']} cores ({h['date']}, explorer {h['explorer']}).", "",
              "```", h["command"], "```", ""]
    rows = [[name, integer(f["tried"]), integer(f["kept"]), integer(f["broken"]), num(f["seconds"], 0)]
            for name, f in h["families"].items()]
    lines += table(["family", "tried", "kept", "broken", "seconds"], rows, "lrrrr")
    broken = [(name, c) for name, f in h["families"].items() for c in f.get("broken_cases", [])]
    if broken:
        lines += ["## Cases that broke it", ""]
        for name, c in broken:
            lines += [f"- **{name}**: {c['name']} (exit {c['rc']}: {'; '.join(c['why'])})", ""]
    return "\n".join(lines).rstrip() + "\n"


# ---------------------------------------------------------------- the third order of turbulence

def turbulence_data_section(d: dict) -> list[str]:
    """The data set's own physics, measured on its simulation grid (bench_turbulence_data.py)."""
    p, f, pilot = d["params"], d["fit"], d["pilot"]
    g = p["grid"]
    lines = ["## The data", "",
             f"One run of {g}×{g} per seed (seeds {', '.join(map(str, d['seeds']))}), spun up for {d['spin_up']:g} time "
             f"units from rest, then {', '.join(map(str, d['blocks_per_seed']))} blocks of {d['per_run']} snapshots: "
             f"{d['fields']} fields in all; parameters {p} ({d['algorithm']}). The "
             f"drag μ acts on |k| ≤ {p.get('k_drag', 0):g} only, below the forcing ring |k| = {p['k_f'] - 1:g}…{p['k_f'] + 1:g}; "
             f"ν_h|k|⁸ dissipates at the small scales. The 32×32 and 64×64 fields are the Fourier truncation of "
             "these snapshots (every |k_x|, |k_y| < size/2 kept exactly), divided by the rms of that truncation.", "",
             "```", d["command"], "```", "",
             "| quantity | value |", "| --- | ---: |",
             f"| E(k) slope over k = {f['k'][0]}–{f['k'][1]} (least squares in log-log; jackknife over blocks) | "
             f"{f['slope']:.2f} ± {f['se']:.2f} |"]
    for o in d["octaves"]:
        lines.append(f"| local slope over k = {o['k'][0]}–{o['k'][1]} | {o['slope']:.2f} ± {o['se']:.2f} |")
    pz, pe = d["Pi_Z_plateau"], d["Pi_E_below"]
    lines += [f"| energy E = ⟨\\|u\\|²⟩/2 | {sig(d['energy'])} |",
              f"| energy at \\|k\\| = 1 (the four box modes), fraction of E | {percent(d['box_energy_fraction'], 2)} "
              f"± {percent(d['box_energy_fraction_se'], 2)} |",
              f"| injection ε (energy), η (enstrophy) | {sig(d['eps'])}, {sig(d['eta'])} |",
              f"| drag's dissipation, fraction of ε and of η | {percent(d['drag_energy_rate'] / d['eps'])}, "
              f"{percent(d['drag_enstrophy_rate'] / d['eta'])} |",
              f"| Π_Z(k)/η over k = {pz['k'][0]}–{pz['k'][1]}: min, mean, max | {pz['min'] / d['eta']:.3f}, "
              f"{pz['mean'] / d['eta']:.3f}, {pz['max'] / d['eta']:.3f} |",
              "| Π_E(k)/ε below the forcing, k = " + ", ".join(map(str, pe["k"])) + " | "
              + ", ".join(f"{v / d['eps']:+.3f} ± {e / d['eps']:.3f}" for v, e in zip(pe["values"], pe["se"])) + " |",
              f"| \\|k\\| = 1 correlation time τ₁ (the modes' autocorrelation, integrated): pilot, data runs | "
              f"{pilot['tau_1']:.2f}, {d['tau_1_runs']:.2f} |",
              f"| turnover T, τ_int of ω (pointwise), spin-up (pilot) | {pilot['T']:.2f}, {pilot['tau_int']:.2f}, "
              f"{pilot['spin_up']:.1f} |",
              f"| snapshot spacing; the \\|k\\| = 1 autocorrelation at that lag (data runs) | {d['spacing']:.3f}; "
              f"{d['box_autocorrelation_at_spacing']:.2f} |", ""]
    lines += ["Energy per block, in the order of the runs (a drift after the spin-up would show here): "
              + ", ".join(f"{e:.3f}" for e in d["energy_per_block"]) + ".", "",
              "Spectral fluxes on the simulation grid (mean over blocks ± the standard error over blocks):", ""]
    rows = []
    for i, k in enumerate(d["flux_k"]):
        if k <= 8 or k in (10, 12, 16, 20, 24, 32, 40, 48, 56, 64, 72, 80) or k == d["flux_k"][-1]:
            rows.append([str(k), plus_minus(d["Pi_Z"][i] / d["eta"], d["Pi_Z_se"][i] / d["eta"]),
                         plus_minus(d["Pi_E"][i] / d["eps"], d["Pi_E_se"][i] / d["eps"])])
    lines += table(["k", "Π_Z / η", "Π_E / ε"], rows, "lrr")
    lines += ["b_odd of these fields at 64×64 (in the units of the data set) per scalene triangle: the errors over "
              "fields (jackknife) and over blocks (jackknife by block, the nearly independent units).", ""]
    rows = [[",".join(map(str, t)), sig(v), sig(e1, 2), sig(e2, 2), z_of(v, e2)]
            for t, v, e1, e2 in zip(d["triangles"], d["b_odd"], d["b_odd_se_fields"], d["b_odd_se_blocks"])]
    lines += table(["k1,k2,k3", "b_odd", "error (fields)", "error (blocks)", "z (blocks)"], rows, "lrrrr")
    return lines


def chance_levels(blocks: int, counts: dict[str, int]) -> str:
    """What an exact model would show: z spreads as Student's t with blocks - 1 degrees of freedom
    (the data's errors, over blocks, dominate), the configurations taken as independent: the chance
    that every one of m is within 2 s.e., and the bound its largest |z| stays below 19 times in 20
    (Šidák). Neighbouring shells' fluxes are correlated, which makes both conservative."""
    from scipy.stats import t

    dof = blocks - 1
    within = 1 - 2 * t.sf(2.0, dof)
    parts = [f"{m} {name}: every one within 2 s.e. {percent(within ** m, 0)} of the time, the largest |z| below "
             f"{t.ppf(1 - (1 - 0.95 ** (1 / m)) / 2, dof):.1f} in 95 %" for name, m in counts.items()]
    return (f"How an exact model would fare, its z spreading as Student's t with {dof} degrees of freedom (the data's "
            f"errors over {blocks} blocks) and the configurations taken as independent (neighbouring shells' fluxes "
            "are not, which makes these bounds conservative): " + "; ".join(parts) + ".")


def head_to_head(odd: list[dict]) -> list[str]:
    """The third order of several models of one data set (bench_turbulence_odd.py, one JSON each, the
    same fresh fields): per model the triangles and shells within 2 standard errors of the data, then
    b_odd and Pi_Z side by side."""
    d = odd[0]["data"]
    if any(o["data"]["bispectrum"]["odd"] != d["bispectrum"]["odd"] for o in odd):
        raise SystemExit("the head-to-head files were not measured on the same fresh fields")
    d_se = d["bispectrum"].get("odd_se_blocks", d["bispectrum"]["odd_se"])
    f_se = {key: d["fluxes"].get(f"{key}_se_blocks", d["fluxes"][f"{key}_se"]) for key in ("enstrophy", "energy")}
    top = odd[0]["data_params"].get("size", 64) // 3
    shells = [i for i, k in enumerate(d["fluxes"]["k"]) if k <= top]

    def z(o: dict, i: int, key: str) -> float:
        if key == "odd":
            m = o["model_samples"]["bispectrum"]
            return (m["odd"][i] - d["bispectrum"]["odd"][i]) / difference_se(m["odd_se"][i], d_se[i])
        m = o["model_samples"]["fluxes"]
        return (m[key][i] - d["fluxes"][key][i]) / difference_se(m[f"{key}_se"][i], f_se[key][i])

    def within(o: dict, key: str, index: list[int]) -> str:
        zs = [abs(z(o, i, key)) for i in index]
        return f"{sum(v <= 2 for v in zs)} of {len(zs)} (worst {max(zs):.1f})"

    triangles = range(len(odd[0]["triangles"]))
    lines = [f"{odd[0]['n_data']} fresh fields against {odd[0]['n_model']} samples of each model, each at its default "
             "sampler and steps; the data's errors over blocks, the model's over its samples; z in standard errors "
             "of the difference.", "",
             "```", *[o["command"] for o in odd], "```", ""]
    rows = [[o["model"], o["kind"], integer(o["parameters"]), within(o, "odd", triangles),
             within(o, "enstrophy", shells), within(o, "energy", shells)] for o in odd]
    lines += table(["model", "kind", "parameters", "b_odd within 2 s.e.", "Π_Z within 2 s.e.",
                    "Π_E within 2 s.e."], rows, "llrlll")
    blocks = d.get("blocks")
    if blocks:
        lines += [chance_levels(blocks, {"shells": len(shells), "triangles": len(triangles)}), ""]
    lines += ["b_odd per scalene triangle: the data, then each model (z).", ""]
    rows = [[",".join(map(str, tri)), plus_minus(d["bispectrum"]["odd"][i], d_se[i])]
            + [f"{sig(o['model_samples']['bispectrum']['odd'][i], 3)} ({z(o, i, 'odd'):+.1f})" for o in odd]
            for i, tri in enumerate(odd[0]["triangles"])]
    lines += table(["k1,k2,k3", "data"] + [o["model"] for o in odd], rows, "l" + "r" * (1 + len(odd)))
    lines += ["Π_Z(k) per shell: the data, then each model (z).", ""]
    rows = [[str(d["fluxes"]["k"][i]), plus_minus(d["fluxes"]["enstrophy"][i], f_se["enstrophy"][i])]
            + [f"{sig(o['model_samples']['fluxes']['enstrophy'][i], 3)} ({z(o, i, 'enstrophy'):+.1f})" for o in odd]
            for i in shells]
    lines += table(["k", "data"] + [o["model"] for o in odd], rows, "l" + "r" * (1 + len(odd)))
    return lines


def bound_section(rel: str, field_rel: str | None) -> list[str]:
    """What an exact learner of a model's training set would show against the fresh fields in P(k)
    (bench_spectrum_bound.py), beside the model's own max |ΔP/P| from the field table at `field_rel`."""
    b = read_json(rel)
    q = b["quantiles"]
    rows = [] if field_rel is None else [r for r in read_json(field_rel)["rows"] if r["name"] == b["model"]]
    seen = (f" `{b['model']}` itself is {percent(rows[0]['spectrum_error'])} off the fresh fields (the table above)."
            if rows else "")
    units = f"{b['units'][0]} and {b['units'][1]} {b['unit']}s"
    runs = (" The blocks are taken as exchangeable between the training run and the fresh run: a run-to-run spread "
            "beyond the blocks' (not ruled out below, \"Are the blocks independent?\") would widen these quantiles."
            if b["unit"] == "block" else "")
    return [
        f"### What an exact learner of `{b['model']}`'s training set would show", "",
        f"A model whose P(k) were exactly its training set's mean would still differ from the fresh fields' by the "
        f"two data sets' sampling noise. `{b['model']}`'s {integer(b['data']['n'])} training fields against "
        f"{integer(b['fresh'])} fresh ones: max \\|P_train/P_fresh − 1\\| = {percent(b['observed'])} at "
        f"k = {b['observed_k']} (of k = 1 … {b['k'][-1]}). With the {units} reassigned at random between the two "
        f"sets ({integer(b['permutations'])} times), the max over the shells is {percent(q['0.5'])} at the median, "
        f"{percent(q['0.9'])} at 90 % and {percent(q['0.95'])} at 95 %, below 5 % in "
        f"{percent(b['below_5_percent'], 0)} of draws; one as large as observed comes with p = {num(b['p'], 2)}."
        + seen + (" So with data sets of these sizes even an exact learner meets \"within 5 % at every shell\" against "
                  "fresh fields only that fraction of the time; the model's own error is its P(k) against its training "
                  "data (the table above)." if b["below_5_percent"] < 0.9 else
                  " At these sizes the data's noise alone rarely reaches 5 %: an error beyond the yardstick is the "
                  "model's own.") + " The yardstick leaves out the model's own sampling noise (its samples are finite), so it "
        "applies to a model whose own error is small beside it." + runs, "", "```", b["command"], "```", ""]


def runs_section(d: dict) -> list[str]:
    """Whether the blocks of the runs behave as independent units, within a run and between runs
    (bench_turbulence_runs.py)."""
    two, bt = d["two_runs"], d["between_runs"]
    lo, hi = d["band"]
    tr, fr = d["training"], d["fresh"]
    se_a, se_b = d["lag1"]["se"]
    return [
        "### Are the blocks independent?", "",
        f"The errors over blocks assume that blocks of {d['per_block']} snapshots are independent. The power of the "
        f"vorticity in the shells k = {lo}–{hi} (the cascade range of the slope fit), block by block at 256×256: its "
        f"block means have a lag-1 autocorrelation of {plus_minus(d['lag1']['training'], se_a, 2)} in the training "
        f"run (seed {tr['seed']}, {tr['blocks']} blocks) and {plus_minus(d['lag1']['fresh'], se_b, 2)} in the fresh "
        f"run (seed {fr['seed']}, {fr['blocks']} blocks), and spread by {percent(d['block_sd']['training'])} and "
        f"{percent(d['block_sd']['fresh'])} from block to block. This band says nothing of k = 1–3, whose "
        f"correlation time is the longest. The first {bt['blocks_per_run']} blocks of {bt['runs']} independent runs "
        f"(each from rest after its own spin-up: seeds {d['independent_runs'][0]}–{d['independent_runs'][-1]} and the "
        f"two runs above), by a one-way analysis of variance: the run means spread by {percent(bt['sd_run_means'])}, "
        f"the blocks within a run by {percent(bt['sd_within'])}; F = {num(bt['F'], 2)} on ({bt['dof'][0]}, "
        f"{bt['dof'][1]}) degrees of freedom, p = {num(bt['p'], 2)}; a run-to-run spread of {percent(bt['sd_run'])} "
        f"beyond the blocks', at most {percent(bt['sd_run_upper_95'])} (95 % upper bound). The two long runs' band "
        f"power differs by {percent(two['band'])}; with their blocks reassigned at random "
        f"({integer(two['permutations'])} times), a difference as large comes with p = {num(two['p_band'], 3)}. "
        f"Block 0 is {percent(bt['first_over_later'])} ± {percent(bt['first_over_later_se'])} off the later "
        "blocks (that error assumes no run effect)" + (": no sign that the spin-up is too short." if
                                                        abs(bt["first_over_later"]) < 2 * bt["first_over_later_se"]
                                                        else ": the spin-up may be too short."), "",
        "```", d["command"], "```", ""]


def render_turbulence() -> str:
    t = read_json(TURBULENCE_ODD)
    data = read_json(TURBULENCE_DATA) if (ROOT / TURBULENCE_DATA).exists() else None
    odd32 = [rel for rel in TURBULENCE_ODD32 if (ROOT / rel).exists()]
    bound32 = [TURBULENCE_BOUND32] if (ROOT / TURBULENCE_BOUND32).exists() else []
    field32 = (ROOT / TURBULENCE_FIELD32).exists()
    large = [rel for rel in (TURBULENCE_ITERATIONS, TURBULENCE_FIELD256, TURBULENCE_BOUND, TURBULENCE_RUNS)
             if (ROOT / rel).exists()]
    lines = banner(
        "Results: the third order of 2-D turbulence",
        [TURBULENCE_ODD] + ([TURBULENCE_DATA] if data else []) + ([TURBULENCE_FIELD32] if field32 else []) + bound32 + odd32
        + large,
        "2-D vorticity is odd under a mirror image together with ω → −ω, so its isotropic bispectrum is 0, but the "
        "part of the bispectrum that tells a triangle from its mirror image is not: it is the signature of the "
        "enstrophy cascade, like the spectral fluxes. Both are measured on fresh fields (never trained on) and on the "
        "samples of a model; [the estimators](../science/cosmic-web.md#what-the-literature-expects-and-what-explorer-measures).",
    )
    if data:
        lines += turbulence_data_section(data)
    d, m = t["data"]["bispectrum"], t["model_samples"]["bispectrum"]
    runs = t["data"].get("blocks")
    lines += ["## A model against fresh fields", "",
              f"{t['n_data']} fresh fields (turbulence {t['data_params']}) against {t['n_model']} samples of `{t['model']}` "
              f"({t['kind']}, {integer(t['parameters'])} parameters). "
              + (f"The fresh fields are {runs} blocks of consecutive snapshots of one run; the data's errors below are "
                 "the jackknife's over blocks, which holds the correlation of consecutive snapshots." if runs else
                 "The fields are one turnover time apart, where the largest-scale modes are still correlated: the "
                 "errors of the first shells are too small."), "",
              "```", t["command"], "```", "",
              "### The parity-odd bispectrum", "",
              "b_odd per scalene triangle with its jackknife error; z: the data's value in its errors, and the model's "
              "difference in the errors of both.", ""]
    d_se = d.get("odd_se_blocks", d["odd_se"])
    rows = []
    for i, tri in enumerate(t["triangles"]):
        rows.append([",".join(map(str, tri)), plus_minus(d["odd"][i], d_se[i]), z_of(d["odd"][i], d_se[i]),
                     plus_minus(m["odd"][i], m["odd_se"][i]),
                     z_difference(m["odd"][i], m["odd_se"][i], d["odd"][i], d_se[i])])
    lines += table(["k1,k2,k3", "data", "z", "model", "difference z"], rows, "lrrrr")
    lines += ["### Spectral fluxes", "",
              "Π_Z(k) and Π_E(k), the enstrophy and energy carried through |k| by the nonlinear term of the fields "
              "as given (> 0: towards small scales), with standard errors over "
              + ("blocks (data) and fields (model)." if runs else "fields."), ""]
    fd, fm = t["data"]["fluxes"], t["model_samples"]["fluxes"]
    top = t["data_params"].get("size", 64) // 3
    rows = []
    for i, k in enumerate(fd["k"]):
        if k > top or not (k <= 6 or k % 2 == 0):
            continue
        row = [str(k)]
        for key in ("enstrophy", "energy"):
            se = fd.get(f"{key}_se_blocks", fd[f"{key}_se"])
            row += [plus_minus(fd[key][i], se[i]), plus_minus(fm[key][i], fm[f"{key}_se"][i]),
                    z_difference(fm[key][i], fm[f"{key}_se"][i], fd[key][i], se[i])]
        rows.append(row)
    lines += table(["k", "Π_Z data", "Π_Z model", "z", "Π_E data", "Π_E model", "z"], rows, "lrrrrrr")
    if field32 or odd32:
        lines += ["## The 32×32 models head to head", "",
                  "A Gaussian field of the data's P(k), scattering spectra, plain diffusion and the wavelet "
                  "renormalisation group, all of the same 32×32 fields (the 256×256 runs truncated), against the same "
                  "fresh fields.", ""]
        if field32:
            lines += field_section(TURBULENCE_FIELD32, odd=True)
            if (ROOT / TURBULENCE_BOUND32).exists():
                lines += bound_section(TURBULENCE_BOUND32, TURBULENCE_FIELD32)
        if odd32:
            lines += ["### The third order", ""] + head_to_head([read_json(rel) for rel in odd32])
    if large:
        fitted = [m.get("training_fields") for m in read_json(TURBULENCE_ITERATIONS)["models"]] \
            if (ROOT / TURBULENCE_ITERATIONS).exists() else []
        first = f"the first {integer(fitted[0])} snapshots" if fitted and fitted[0] else "snapshots"
        lines += ["## At 256×256 (d = 65 536)", "",
                  f"Scattering spectra and a Gaussian field of the same P(k), estimated from {first} of the training "
                  "run at the simulation's own resolution, against fresh snapshots of another run.", ""]
        if (ROOT / TURBULENCE_ITERATIONS).exists():
            lines += iterations_section(TURBULENCE_ITERATIONS)
        if (ROOT / TURBULENCE_FIELD256).exists():
            lines += field_section(TURBULENCE_FIELD256, odd=True)
        if (ROOT / TURBULENCE_BOUND).exists():
            lines += bound_section(TURBULENCE_BOUND, TURBULENCE_FIELD256 if (ROOT / TURBULENCE_FIELD256).exists() else None)
        if (ROOT / TURBULENCE_RUNS).exists():
            lines += runs_section(read_json(TURBULENCE_RUNS))
    return "\n".join(lines).rstrip() + "\n"


# ---------------------------------------------------------------- performance

def render_gui(g: dict) -> list[str]:
    st, su = g["stall_ms"], g["startup_s"]
    before = read_json(PERF_BEFORE)["stall_ms"] if (ROOT / PERF_BEFORE).exists() else {}
    was = {k: f"{statistics.median(v):.1f} / {max(v):.1f}" for k, v in before.items()}
    rows = [[what, str(len(st[key])), was.get(key, "–"), f"{statistics.median(st[key]):.1f}", f"{max(st[key]):.1f}",
             ", ".join(f"{v:.1f}" for v in st[key])]
            for key, what in (("idle", "nothing running (the probe's own floor, 1 s)"),
                              ("run", "a run streams (16 samples, 100 SDE steps)"),
                              ("pair", "a pair streams in the Compare tab, to its result"),
                              ("playing", "the trajectory plays at 50 frames/s while a run streams"))]
    empty = statistics.median(su["empty_window"])
    return [
        "## The window",
        "",
        f"`tests/benchmarks/bench_gui.py --repeats {g['repeats']}` on {g['machine']['cores']} cores, Qt offscreen, "
        f"model `{g['model']}`. A 2 ms timer records the longest gap between its ticks: the longest time the "
        "window could not answer. Goal: under 16 ms (no missed frame at 60 Hz) in every run. Before: the same "
        f"benchmark on commit c889c76 (runs in a thread of the window's process), same machine (`{PERF_BEFORE}`).",
        "",
        *table(["while", "runs", "before: median / max (ms)", "median (ms)", "max (ms)", "every run (ms)"], rows,
               "lrrrrl"),
        "",
        f"One slider step (both panels redrawn): median {g['slider_step_ms']['median']:.2f} ms, "
        f"max {g['slider_step_ms']['max']:.2f} ms.",
        "",
        f"Start-up (new process to the window shown): median {statistics.median(su['window_shown']):.2f} s, "
        f"{statistics.median(su['window_shown']) / empty:.1f}× an empty PySide6 window ({empty:.2f} s); with the default "
        f"model open {statistics.median(su['model_open']):.2f} s.",
        "",
    ] + ([
        f"Opening the largest checkpoint explorer opens ({g['big_checkpoint']['gib']} GiB, 50 M parameters; "
        f"larger ones are refused before they are read): median {statistics.median(g['big_checkpoint']['seconds']):.2f} s, "
        f"the longest stall meanwhile median {statistics.median(g['big_checkpoint']['stall_ms']):.1f} ms "
        f"(max {max(g['big_checkpoint']['stall_ms']):.1f}).",
        "",
    ] if "big_checkpoint" in g else []) + [
        f"Load average (1 min) when the benchmark started: {g['machine']['load_average_1min']:.2f} "
        "(2 cores: above 1, other work ran beside it).",
        "",
    ]


def render_scattering_speed(sc: dict) -> list[str]:
    labels = {"phi_and_gradient_16x64x64": "Φ and its gradient, 16 fields of 64²",
              "generate_16x64x64_100_iterations": "16 fields of 64², 100 L-BFGS iterations",
              "generate_1x256x256_100_iterations": "one field of 256², 100 L-BFGS iterations"}
    rows = [[labels.get(k, k), f"{c['old']['median_s']:.3g}" if "old" in c else "–", f"{c['new']['median_s']:.3g}",
             f"{c['ratio']:.2f}×" if "ratio" in c else "–"] for k, c in sc["cases"].items()]
    m = sc["machine"]
    reach, lb = sc.get("time_to_baseline_loss_16x64x64"), sc.get("lbfgs_16x64x64")
    if reach and reach.get("median_s"):
        rows.insert(2, ["16 fields of 64², to the baseline's loss after 100 iterations",
                        rows[1][1], f"{reach['median_s']:.3g}", f"{reach['ratio']:.2f}×"])
    extra = []
    if lb:
        extra = [f"Fields evaluated in the 100 iterations (Φ and gradient, line search included): baseline "
                 f"{', '.join(map(str, lb['old']['fields_evaluated']))}, today "
                 f"{', '.join(map(str, lb['new']['fields_evaluated']))}; last rms statistics error: baseline "
                 f"{', '.join(f'{e:.3f}' for e in lb['old']['last_rms_error'])}, today "
                 f"{', '.join(f'{e:.3f}' for e in lb['new']['last_rms_error'])}"
                 + (f"; today reaches the baseline's last error at iterations "
                    f"{', '.join(str(i) for i in reach['iterations'])}." if reach else "."), ""]
    d = sc["statistics_difference"]
    return [
        "## Scattering spectra",
        "",
        f"`tests/benchmarks/bench_scattering_speed.py`: the statistics and L-BFGS of commit `{sc['baseline'][:9]}` "
        f"(the baseline, taken with `git show`) against today's, in one run on {m['cpu_count']} cores, torch on "
        f"{m.get('threads', '?')} thread(s) (load average {m['loadavg_at_start'][0]:.2f} at the start), medians of "
        f"{sc['repeats']}. Goal: 5× at 16 fields of 64². Φ against the baseline: max |ΔΦ|/s "
        f"{d['max_abs_diff_over_scale']:.1e}, max |ΔΦ|/|Φ| {d['max_rel_diff']:.1e}."
        + (f" Today's L-BFGS evaluates Φ and its gradient in {p['compute'].removeprefix('torch.')} (the iterate and "
           f"line search in float64): its loss and gradient against float64's, max relative difference "
           f"{p['max_rel_loss_diff']:.1e} and {p['max_rel_grad_diff']:.1e}." if (p := sc.get("precision")) else ""),
        "",
        *table(["case", "baseline (s)", "today (s)", "faster"], rows, "lrrr"),
        "",
        *extra,
    ]


def render_nn_speed(nn: dict) -> list[str]:
    rows = [[f"{r['N']:,}", r["load"], f"{1e3 * r['query_s']:.1f}", f"{1e3 * r['bare_product_s']:.1f}",
             f"{r['ratio']:.2f}", f"{r['build_s']:.2f}", f"{r['index_own_MiB']:.0f}"] for r in nn["rows"]]
    return [
        "## Nearest training images",
        "",
        f"`tests/benchmarks/bench_nn.py --busy`: {nn['queries']} queries of 32×32 among N training images "
        f"({nn['benchmark']}), medians of {nn['repeats']}; baseline: the bare float32 matrix product of that size in "
        f"the same run; busy: another CPU-bound process beside it. {nn['machine']}. Goal: under 200 ms at N = 10⁵, "
        "quiet and busy.",
        "",
        *table(["N", "machine", "query (ms)", "bare product (ms)", "ratio", "index build (s)", "index memory (MiB)"],
               rows, "rlrrrrr"),
        "",
    ]


def render_train_speed(tr: dict) -> list[str]:
    ips = tr["images_per_s"]
    rows = [[k, f"{v:.0f}"] for k, v in ips.items()]
    c = tr["compile"]
    st = tr["setup"]
    return [
        "## Training",
        "",
        f"`tests/benchmarks/bench_train.py --variants --compile`: {tr['benchmark']}; {st['data']} {st['size']}², "
        f"widths {st['widths']}, batch {st['batch']}, {st['steps']} steps, medians of {st['repeats']}. "
        f"{tr['machine']}. `explorer train` runs at 1/{tr['ratio_bare_over_ours']:.3f} of the bare loop's speed.",
        "",
        *table(["loop", "images/s"], rows, "lr"),
        "",
        f"torch.compile: {c['compile_s']:.0f} s to compile, then {c['compiled_images_per_s']:.0f} images/s against "
        f"{c['eager_images_per_s']:.0f} eager: not used.",
        "",
    ]


def render_performance() -> str:
    present = [rel for rel in PERF if (ROOT / rel).exists()]
    if (ROOT / PERF_BEFORE).exists():
        present.insert(1, PERF_BEFORE)
    lines = banner(
        "Results: speed and smoothness", present,
        "Every figure below is a median over repeats measured in one run of a benchmark against a baseline "
        "of the same run (the machines are noisy: compare ratios, not seconds across pages).")
    sections = {"gui.json": render_gui, "scattering.json": render_scattering_speed, "nn.json": render_nn_speed,
                "train.json": render_train_speed}
    for rel in present:
        name = rel.rsplit("/", 1)[1]
        if name in sections:
            lines += sections[name](read_json(rel))
    return "\n".join(lines).rstrip() + "\n"


PAGES = {
    "generalisation.md": render_generalisation,
    "phi4.md": render_phi4,
    "checkpoints.md": render_checkpoints,
    "cosmic-web.md": render_cosmic_web,
    "hostile-inputs.md": render_hostile,
    "turbulence.md": render_turbulence,
    "performance.md": render_performance,
    "hierarchy.md": render_hierarchy,
}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="write nothing; exit 1 if a page differs from its rendering")
    args = ap.parse_args(argv)
    stale = []
    for name, render in PAGES.items():
        text = render()
        path = OUT / name
        old = path.read_text(encoding="utf-8") if path.exists() else None
        if args.check:
            if old != text:
                stale.append(name)
                diff = difflib.unified_diff((old or "").splitlines(True), text.splitlines(True),
                                            f"docs/results/{name} (on disk)", f"docs/results/{name} (rendered)", n=1)
                sys.stderr.writelines(list(diff)[:40])
        elif old != text:
            OUT.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            print(f"wrote docs/results/{name}")
    if stale:
        print(f"stale: {', '.join('docs/results/' + s for s in stale)}; run python scripts/render_docs.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
