"""The fair comparison of generators (issue #30, SCIENCE §13): FLOPs counted by torch, the paired
bootstrap, and the cheapest run within the floor."""
import numpy as np
import pytest
import torch

from explorer.core.analysis import compute
from explorer.core.models import RunSpec, final_samples
from explorer.core.sampling import samplers
from explorer.core.sampling.trajectory import drain


def test_the_flop_count_of_one_convolution_is_the_hand_count():
    conv = torch.nn.Conv2d(3, 5, 3, padding=1)
    # 2 FLOPs (multiply, add) per weight per output pixel: 2 * C_in * C_out * k^2 * H * W
    assert compute.flops_of(conv, torch.zeros(1, 3, 8, 8)) == 2 * 3 * 5 * 9 * 8 * 8
    assert compute.flops_of(conv, torch.zeros(4, 3, 8, 8)) == 4 * 2 * 3 * 5 * 9 * 8 * 8     # linear in the batch


def test_a_plain_run_costs_its_evaluations_times_one_evaluation(tiny_ckpt):
    levels = compute.network_flops(tiny_ckpt)
    assert [lv["level"] for lv in levels] == ["x"] and levels[0]["side"] == 16 and levels[0]["flops"] > 0
    # the whole run of one sample counted by torch is the per-evaluation count times the evaluations
    for sampler, steps in (("ode", 4), ("sde", 5)):
        whole = compute.flops_of(lambda: final_samples(tiny_ckpt, RunSpec(sampler, steps, 1, 0), batch=1))
        run = compute.run_flops(levels, sampler, steps)
        assert run["evaluations"] == samplers.evaluations(sampler, steps)
        assert whole == run["flops"] == samplers.evaluations(sampler, steps) * levels[0]["flops"]


def test_a_hierarchy_is_counted_per_level_at_its_own_resolution(tiny_wcrg):
    levels = compute.network_flops(tiny_wcrg)
    assert [(lv["level"], lv["side"]) for lv in levels] == [("x_J", 4), ("j=2", 4), ("j=1", 8)]
    run = compute.run_flops(levels, "ode", 3, coarse_sampler="sde", coarse_steps=7)
    assert [lv["evaluations"] for lv in run["levels"]] == [7, 5, 5]
    assert run["flops"] == 7 * levels[0]["flops"] + 5 * (levels[1]["flops"] + levels[2]["flops"])
    # torch's count of a whole run holds the networks' count (and the wavelet transforms beside it)
    whole = compute.flops_of(lambda: final_samples(tiny_wcrg, RunSpec("ode", 3, 1, 0), batch=1))
    assert whole >= compute.run_flops(levels, "ode", 3)["flops"]


def _rows(rng, n=300, R=400, K=6, shared=0.0):
    """Per-field 'spectra' of a reference and two generated rows; with `shared` the two rows are
    the same fields plus independent noise (correlated rows, as two runs from the same noise)."""
    base = rng.gamma(4.0, 0.25, (n, K))
    a = base + (1 - shared) * rng.gamma(4.0, 0.25, (n, K))
    b = base + (1 - shared) * rng.gamma(4.0, 0.25, (n, K)) + 0.02
    return rng.gamma(4.0, 0.25, (R, K)) * (2 - shared), a, b


def test_the_paired_bootstrap_gives_a_row_minus_itself_no_spread_and_less_than_quadrature():
    rng = np.random.default_rng(1)
    ref, a, b = _rows(rng, shared=0.9)
    draws = compute.paired_bootstrap([a, a, b], ref, boot=300)
    assert draws.shape == (300, 3)
    assert np.std(draws[:, 0] - draws[:, 1]) == 0                       # the same row twice: no spread at all
    paired = np.std(draws[:, 0] - draws[:, 2])
    quadrature = np.hypot(draws[:, 0].std(), draws[:, 2].std())
    assert draws[:, 0].std() > 0 and paired < 0.5 * quadrature       # correlated rows and a shared reference
    # rows of independent fields still share the reference error: paired below quadrature, but not zero
    ref2, c, d = _rows(np.random.default_rng(2), shared=0.0)
    dr = compute.paired_bootstrap([c, d], ref2, boot=300)
    assert 0 < np.std(dr[:, 0] - dr[:, 1]) < np.hypot(dr[:, 0].std(), dr[:, 1].std())


def test_the_paired_bootstrap_is_reproducible_and_takes_any_metric():
    rng = np.random.default_rng(3)
    ref, a, b = _rows(rng)
    one = compute.paired_bootstrap([a, b], ref, boot=50, seed=4)
    assert np.array_equal(one, compute.paired_bootstrap([a, b], ref, boot=50, seed=4))
    per_k = compute.paired_bootstrap([a, b], ref, boot=50, seed=4, metric=compute.spectrum_error)
    assert per_k.shape == (50, 2, ref.shape[1])
    assert np.allclose(np.abs(per_k).mean(-1), one)


def _row(g, steps, flops, error):
    return {"generator": g, "label": f"{g} {steps}", "flops": flops, "error": error}


def test_the_cheapest_run_within_the_floor_of_the_best_of_any_run():
    table = [_row("plain", 5, 100, 0.080), _row("plain", 10, 200, 0.020), _row("plain", 50, 1000, 0.010),
             _row("WCRG", 3, 30, 0.030), _row("WCRG", 5, 50, 0.019), _row("WCRG", 20, 200, 0.012)]
    sel = compute.cheapest_within(table, floor=0.009)
    assert sel["best"]["label"] == "plain 50" and sel["threshold"] == pytest.approx(0.019)
    # plain 10 misses by 0.001: within means error <= best + floor, nothing looser
    assert sel["cheapest"]["plain"]["label"] == "plain 50"
    assert sel["cheapest"]["WCRG"]["label"] == "WCRG 5"
    # a wider floor lets the cheaper runs in; a generator never within is absent
    assert compute.cheapest_within(table, floor=0.010)["cheapest"]["plain"]["label"] == "plain 10"
    tight = compute.cheapest_within(table, floor=0.001)
    assert set(tight["cheapest"]) == {"plain"} and tight["cheapest"]["plain"]["label"] == "plain 50"


def test_the_field_table_gives_each_model_its_flops_beside_its_error(tiny_ckpt, tiny_wcrg):
    from explorer.app.views.statistics import TABLE_COLUMNS
    from explorer.core.analysis import head_to_head as h2h
    rows = drain(h2h.table_steps([tiny_ckpt], tiny_ckpt.data["stats"], n=2))       # any generator: its return value
    spec = RunSpec(n=2).resolved(tiny_ckpt)
    assert rows[0]["flops"] == compute.run_flops(compute.network_flops(tiny_ckpt), spec.sampler, spec.steps)["flops"]
    wspec = RunSpec(n=2, coarse_sampler="sde", coarse_steps=4).resolved(tiny_wcrg)
    assert h2h.flops_per_sample(tiny_wcrg, wspec) == compute.run_flops(
        compute.network_flops(tiny_wcrg), wspec.sampler, wspec.steps, "sde", 4)["flops"]
    assert "GFLOP" in h2h.format_rows(rows, "the training data")
    cell = dict(TABLE_COLUMNS)["GFLOP per sample"]
    assert cell({"flops": 2.5e9}) == "2.5" and cell({"flops": None}) == "–"
    power = dict(TABLE_COLUMNS)["max |ΔP/P| (s.e.)"]              # the P(k) error's z, or a dash where none was recorded
    assert power({"spectrum_error": 0.045, "spectrum_z": 2.46}) == "4.5% (2.5)"
    assert power({"spectrum_error": 0.185, "spectrum_z": None}) == "18.5% (–)" == power({"spectrum_error": 0.185})


def test_each_bundled_phi4_model_runs_by_default_its_cheapest_run_that_reaches():
    """The benchmark's "defaults" (checkpoints/phi4/hierarchy.json) are what the files say: the
    Run panel and `explorer sample` start from the run the fair test found cheapest at the floor;
    a model none of whose runs reached keeps its kind's defaults."""
    import json

    from explorer.core.models import bundle, open_model

    sizes = json.loads((bundle.bundled_dir() / "phi4" / "hierarchy.json").read_text())["sizes"]
    for d in sizes.values():
        for m in d["models"].values():
            model = open_model(bundle.bundled_dir() / m["file"])
            r = d["defaults"].get(m["file"])
            run = model.default_run and (model.default_run["sampler"], model.default_run["steps"])
            assert run == (r and (r["sampler"], r["steps"])), m["file"]
            if r:
                assert r["label"] in model.default_run["why"]
