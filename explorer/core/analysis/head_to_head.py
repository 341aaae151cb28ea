"""Every model of one field against the same data: the head-to-head table.

A field is a data generator with its parameters (`model.data`'s name and params: φ⁴ at β and L,
turbulence at its size, ...). Each model makes n final samples with its own default sampler and
steps, from one seed, and `stats.compare_to_summary` judges them against one reference summary
(`stats.summary` of fresh data, or a model's recorded training data). A row per model:

    name, kind, parameters, sampler, steps, n, spectrum_error (max |ΔP/P| over the reference's
    resolved shells), spectrum_z (max |ΔP| over them in standard errors of the difference; None
    when the reference records no P(k) errors), histogram_tv and its bootstrap s.e. histogram_tv_se, bispectrum_z,
    bispectrum_odd_z (its parity-odd part on scalene triangles) and trispectrum_z (max |gen − ref|
    over the configurations in standard errors, None when the reference records none),
    bispectrum_error and trispectrum_error (max |gen − ref| relative to max |ref|; None when the
    reference is Gaussian within its errors), abs_m and abs_m_reference (⟨|m|⟩ = mean
    |field mean|, generated and of the reference), flops (per sample, counted by torch:
    `compute.run_flops`; None for a model without a network), seconds, and details: the per-shell P(k) errors
    and the polyspectra per configuration, generated and reference with their errors.
"""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Generator, Iterable

import numpy as np

from explorer.core.errors import UsageError
from explorer.core.models import Model, RunSpec
from explorer.core.statistics import stats


def field_of(data: dict) -> tuple[str, str]:
    """What identifies a field: the generator's name and its parameters (and for data of your own,
    their file or folder)."""
    params = dict(data.get("params") or {})
    if data.get("name") == "user":
        params["path"] = data.get("path")
    return str(data.get("name")), json.dumps(params, sort_keys=True)


def same_field(model: Model, candidates: Iterable[Model]) -> list[Model]:
    """`model` first, then every other candidate of the same field (not the same file twice)."""
    key = field_of(model.data)
    seen = {Path(model.path).resolve()}
    out = [model]
    for m in candidates:
        p = Path(m.path).resolve()
        if p not in seen and field_of(m.data) == key:
            seen.add(p)
            out.append(m)
    return out


def bundled_of_field(model: Model, skipped=None) -> list[Model]:
    """`model` and every bundled model of its field (`same_field`). Only the bundled entries of the
    same generator are opened; a damaged one (missing, not a regular file, not a model, a model
    whose own files are damaged) is left out, and `skipped(file, error)` told. An index that
    cannot be read, or whose entries cannot be resolved in the folder (outside it, a symbolic link
    that loops), is a CheckpointError: the bundled folder itself is damaged."""
    from explorer.core.errors import ExplorerError
    from explorer.core.models import bundle, open_model

    entries = bundle.bundled_index()            # a looping or escaping entry: a CheckpointError (`io.inside`)
    others = []
    for e in entries:
        if e.get("data") != model.data.get("name"):
            continue
        try:
            others.append(open_model(bundle.bundled_dir() / e["file"]))
        except ExplorerError as err:
            if skipped is not None:
                skipped(e["file"], err)
    return same_field(model, others)


def check_one_field(models: list[Model]) -> None:
    """A UsageError naming the first model of another field than the first model's, or with no
    record of its data."""
    for m in models:
        if not m.data.get("name"):
            raise UsageError(f"{m.name} records no data set: it cannot be placed beside the models of a field")
    key = field_of(models[0].data)
    for m in models[1:]:
        if field_of(m.data) != key:
            raise UsageError(f"{m.name} models {field_of(m.data)[0]} {field_of(m.data)[1]}, not the field of "
                             f"{models[0].name} ({key[0]} {key[1]}): compare models of one field")


def table_steps(models: list[Model], reference: dict, n: int = 16, seed: int = 0, device: str = "cpu"
                ) -> Generator[int, None, list[dict]]:
    """The head-to-head rows (see the module docstring): yields the frames made so far over all
    models, so that a caller shows progress and can stop; returns one row per model."""
    check_one_field(models)
    specs = [RunSpec(n=n, seed=seed, device=device, keep_frames=False).resolved(m) for m in models]
    rows, made = [], 0
    for model, spec in zip(models, specs):
        t0 = time.perf_counter()
        run = model.run(spec)
        while True:
            try:
                next(run)
            except StopIteration as stop:
                traj = stop.value
                break
            made += 1
            yield made
        r = stats.compare_to_summary(np.asarray(traj.sample, np.float32), reference)
        rows.append({"name": model.name, "kind": model.kind, "parameters": int(model.parameters),
                     "sampler": spec.sampler, "steps": spec.steps, "n": n,
                     "spectrum_error": float(np.abs(r["power_relative_error"]).max()),
                     "spectrum_z": stats.difference_z(r.get("power")),
                     "histogram_tv": r["histogram_tv"], "histogram_tv_se": r["histogram_tv_se"],
                     "bispectrum_z": stats.difference_z(r.get("bispectrum")),
                     "bispectrum_error": stats.relative_difference(r.get("bispectrum")),
                     "bispectrum_odd_z": stats.difference_z(r.get("bispectrum_odd")),
                     "trispectrum_z": stats.difference_z(r.get("trispectrum")),
                     "trispectrum_error": stats.relative_difference(r.get("trispectrum")),
                     "abs_m": r["abs_m_generated"], "abs_m_reference": r["abs_m_reference"],
                     "flops": flops_per_sample(model, spec), "seconds": time.perf_counter() - t0,
                     "details": {"k": r["k"], "power_relative_error": r["power_relative_error"],
                                 **{key: r[key] for key in ("power", "bispectrum", "bispectrum_odd", "trispectrum")
                                    if key in r}}})
    return rows


def flops_per_sample(model: Model, spec: RunSpec) -> int | None:
    """FLOPs of the networks per sample of the run `spec` (`compute.run_flops`); None for a model
    with no network (scattering, Gaussian)."""
    from explorer.core.analysis import compute

    levels = compute.network_flops(model)
    if not levels:
        return None
    return compute.run_flops(levels, spec.sampler, spec.steps, spec.coarse_sampler, spec.coarse_steps)["flops"]


def total_frames(models: list[Model], n: int = 16, seed: int = 0) -> int | None:
    """Frames `table_steps` yields in all (None when a model cannot say)."""
    counts = [m.frame_count(RunSpec(n=n, seed=seed, keep_frames=False).resolved(m)) for m in models]
    return None if None in counts else sum(counts)


def format_rows(rows: list[dict], reference_label: str) -> str:
    """The table as text, one line per model."""
    ref_m = f" (<|m|> {rows[0]['abs_m_reference']:.3f})" if rows else ""
    lines = [f"against {reference_label}{ref_m}",
             f"{'model':24} {'kind':10} {'parameters':>10} {'sampler, steps':>16} {'max |dP/P|':>10} {'z':>5} "
             f"{'hist TV ± s.e.':>14} {'bispec':>7} {'z':>5} {'odd z':>5} {'trispec':>7} {'z':>5} {'<|m|>':>7} "
             f"{'GFLOP':>7} {'seconds':>8}"]

    def number(v, form):
        return "-" if v is None else format(v, form)

    for r in rows:
        lines.append(f"{r['name'][:24]:24} {r['kind']:10} {r['parameters']:10d} {r['sampler'] + ', ' + str(r['steps']):>16} "
                     f"{r['spectrum_error']:10.1%} {number(r.get('spectrum_z'), '.1f'):>5} "
                     f"{r['histogram_tv']:6.3f} ± {r['histogram_tv_se']:5.3f} "
                     f"{number(r.get('bispectrum_error'), '.0%'):>7} {number(r['bispectrum_z'], '.1f'):>5} "
                     f"{number(r.get('bispectrum_odd_z'), '.1f'):>5} "
                     f"{number(r['trispectrum_error'], '.0%'):>7} {number(r['trispectrum_z'], '.1f'):>5} "
                     f"{r['abs_m']:7.3f} {number(None if r.get('flops') is None else r['flops'] / 1e9, '7.3g'):>7} "
                     f"{r['seconds']:8.1f}")
    return "\n".join(lines)
