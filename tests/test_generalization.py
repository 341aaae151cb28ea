import numpy as np
import pytest

from explorer.core.analysis import generalization as gen
from explorer.core.analysis.sweep_file import read_sweep
from explorer.core.models import RunSpec
from explorer.core.sampling.trajectory import drain


def test_cosine_of_identical_opposite_and_orthogonal_images():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(3, 1, 8, 8))
    assert np.allclose(gen.cosine_pairs(a, a), 1)
    assert np.allclose(gen.cosine_pairs(a, -a), -1)
    assert np.allclose(gen.cosine_pairs(a, 3 * a + 2), 1)          # mean removed, scale-free
    u = np.zeros((1, 1, 2, 2))
    u[0, 0, 0, 0], u[0, 0, 1, 1] = 1, -1
    v = np.zeros((1, 1, 2, 2))
    v[0, 0, 0, 1], v[0, 0, 1, 0] = 1, -1
    assert np.allclose(gen.cosine_pairs(u, v), 0)


def test_a_sample_equal_to_a_training_image_is_its_nearest_neighbour():
    rng = np.random.default_rng(1)
    train = rng.normal(size=(500, 1, 8, 8)).astype(np.float32)
    queries = np.stack([train[17], train[420] + 0.01 * rng.normal(size=(1, 8, 8))])
    nb = gen.nearest(queries, train, k=3)
    assert nb.cos_index[:, 0].tolist() == [17, 420] and nb.l2_index[:, 0].tolist() == [17, 420]
    assert nb.cos_value[0, 0] == pytest.approx(1.0, abs=1e-5) and nb.l2_value[0, 0] == pytest.approx(0, abs=1e-3)
    assert (np.diff(nb.cos_value, axis=1) <= 0).all() and (np.diff(nb.l2_value, axis=1) >= 0).all()
    brute = ((train.reshape(500, -1)[None] - queries.reshape(2, 1, -1)) ** 2).sum(-1)
    assert np.array_equal(nb.l2_index, np.argsort(brute, 1)[:, :3])


def test_analyse_flags_copies_and_not_new_images():
    rng = np.random.default_rng(2)
    t1 = rng.normal(size=(50, 1, 8, 8)).astype(np.float32)
    t2 = rng.normal(size=(50, 1, 8, 8)).astype(np.float32)
    s1 = np.stack([t1[3], rng.normal(size=(1, 8, 8))])            # a copy, and a new image
    s2 = np.stack([t2[9], s1[1] * 1.0])
    res = gen.analyse(s1, s2, t1, t2, k=2)
    rows = res["samples"]
    assert rows[0]["S1"]["memorised"] and rows[0]["S1"]["nearest_own"][0] == 3
    assert rows[0]["S2"]["memorised"] and rows[0]["S2"]["nearest_own"][0] == 9
    assert not rows[1]["S1"]["memorised"] and rows[1]["cos_s1_s2"] == pytest.approx(1.0)
    assert res["summary"]["memorised_fraction"] == pytest.approx(0.5)
    assert rows[0]["S1"]["l2_ratio"] < gen.L2_RATIO


def test_the_copy_verdict_is_the_l2_ratio_and_the_cosine_only_where_there_is_no_second_neighbour():
    rng = np.random.default_rng(5)
    train = rng.normal(size=(10, 1, 8, 8)).astype(np.float32)
    train[0] = 0.007 * rng.normal(size=(1, 8, 8))                   # a near-black training image
    smooth = np.outer(np.sin(np.arange(8)), np.cos(np.arange(8)))[None].astype(np.float32)
    train[1], train[2] = smooth, 1.5 * smooth                        # two images along one direction
    near_black = train[0] + 0.01 * rng.normal(size=(1, 8, 8)).astype(np.float32)
    between = 1.25 * smooth                                          # cos 1 to both, equally far from each
    res = gen.analyse(np.stack([near_black, between]), np.stack([train[5], train[6]]), train, train, k=2)
    black, blob = res["samples"][0]["S1"], res["samples"][1]["S1"]
    assert black["memorised"] and black["nearest_own_l2"][0] == 0 and black["cos_own"][0] < gen.MEMORISED_COSINE
    assert not blob["memorised"] and blob["cos_own"][0] > 0.999 and blob["l2_ratio"] == pytest.approx(1.0, rel=1e-3)
    assert res["summary"]["memorised_fraction"] == 0.75 and res["summary"]["cos_memorised_fraction"] == 0.75
    text = gen.verdict(res["samples"][0])
    assert text.startswith("S1 copies training image #0 (L2 ratio") and "S2 copies training image #5" in text
    assert "S1: a new image (nearest #" in gen.verdict(res["samples"][1])
    one = train[3:4]                                                 # N = 1: no second neighbour, the cosine decides
    res = gen.analyse(np.stack([one[0] + 0.01, train[4]]), np.stack([one[0], train[4]]), one, one, k=2)
    assert [r["S1"]["memorised"] for r in res["samples"]] == [True, False]
    assert np.isnan(res["samples"][0]["S1"]["l2_ratio"]) and "N = 1: no L2 ratio" in gen.verdict(res["samples"][0])


def test_same_noise_runs_share_the_noise(tiny_ckpt, tmp_path):
    from conftest import make_tiny_checkpoint
    other = make_tiny_checkpoint(tmp_path / "s2.safetensors", split="S2", seed=1)
    a, b = gen.same_noise_runs(tiny_ckpt, other, RunSpec("sde", 5, 2, 4))
    assert np.array_equal(a.frames[0].x_t, b.frames[0].x_t)
    res = gen.compare(tiny_ckpt, other, RunSpec("ddim", 4, 2, 0), k=2)
    assert res["summary"]["n_samples"] == 2 and 0 <= res["baseline"]["median"] <= 1
    assert len(res["samples"][0]["S1"]["cos_own"]) == 2



def test_a_pair_of_models_of_different_data_is_refused_before_any_work(tiny_ckpt):
    """Same image shape, another field: refused before a training set is made (for phi4 by MCMC)."""
    from types import SimpleNamespace
    phi4 = SimpleNamespace(name="phi4-model", image_shape=tiny_ckpt.image_shape,
                           data={"name": "phi4", "params": {"beta": 0.69, "lam": 0.5, "L": 16}})
    with pytest.raises(gen.UsageError, match="different data .*one data set"):
        gen.compare_run(tiny_ckpt, phi4, RunSpec("ddim", 4, 2, 0)).send(None)
    cats, dogs = ({"name": "user", "params": {"size": 16, "channels": 1}, "path": p} for p in ("/data/cats", "/data/dogs"))
    a, b = (SimpleNamespace(name=n, image_shape=tiny_ckpt.image_shape, data=d) for n, d in (("a", cats), ("b", dogs)))
    gen.check_pair(a, b)                              # two sets of your own images pair (their overlap is measured)
    with pytest.raises(gen.UsageError, match="different data"):
        gen.check_pair(a, phi4)

def test_the_transition_n_is_interpolated_in_log_n():
    rows = [{"N": 1, "cos_s1_s2_median": 0.1}, {"N": 10, "cos_s1_s2_median": 0.2},
            {"N": 100, "cos_s1_s2_median": 0.8}, {"N": 1000, "cos_s1_s2_median": 0.4}]
    assert gen.transition_n(rows) == pytest.approx(10 ** 1.5)           # halfway between 0.2 and 0.8
    assert gen.transition_n(rows[:2]) is None and gen.transition_n(rows[2:]) is None


def test_sweep_over_a_folder_gives_one_curve_per_network_size(tmp_path, capsys, qtbot):
    """`explorer sweep --folder` groups a folder's S1/S2 pairs by network, orders the curves by
    parameters, skips unpaired files, and the Compare tab draws one curve per size."""
    from conftest import make_tiny_checkpoint

    from explorer.app.views.compare import CompareView
    from explorer.cli import main

    folder = tmp_path / "capacity"
    folder.mkdir()
    for widths in ((8, 16), (4, 8)):
        for n in (4, 8):
            for split in ("S1", "S2"):
                make_tiny_checkpoint(folder / f"w{widths[0]}-N{n}-{split}.safetensors", n=n, split=split, widths=widths)
    make_tiny_checkpoint(folder / "unpaired.safetensors", n=16, split="S1")
    groups = gen.pair_groups(sorted(folder.glob("*.safetensors")))
    assert [g["widths"] for g in groups] == [[4, 8], [8, 16]]
    assert groups[0]["parameters"] < groups[1]["parameters"]
    assert [[n for n, _, _ in g["pairs"]] for g in groups] == [[4, 8], [4, 8]]
    out = tmp_path / "sweep.json"
    assert main(["sweep", "--folder", str(folder), "--n", "2", "--steps", "3", "--sampler", "ddim", "--json", str(out)]) == 0
    assert "N* (median cos(S1, S2) crosses 0.5)" in capsys.readouterr().out
    curves = read_sweep(out)
    assert [c["widths"] for c in curves] == [[4, 8], [8, 16]] and all(len(c["rows"]) == 2 for c in curves)
    panel = CompareView()
    qtbot.addWidget(panel)
    assert not panel.load_sweep(tmp_path / "missing.json", out)
    assert "no sweep yet" in panel.sweep_plot.getPlotItem().titleLabel.text
    assert panel.capacity_legend.text().replace("&nbsp;", " ").count("M parameters") == 2
    assert len(panel.capacity_plot.getPlotItem().listDataItems()) == 2


@pytest.mark.parametrize("text, message", [
    ('{"rows": []}', "'curves' is missing"),
    ('{"curves": [{"label": "a", "rows": [{"N": 10, "cos_s1_s2_median": 5.0}]}]}', "accepted"),
    ('{"curves": [{"label": "a", "rows": [{"N": 0}]}]}', "'N' is 0"),
    ('{"curves": [{"label": "a", "rows": [{"N": 1, "cos_s1_s2_median": NaN}]}]}', "NaN"),
])
def test_a_bad_sweep_file_is_refused_with_a_message(tmp_path, text, message):
    from explorer.core.errors import DataError

    path = tmp_path / "sweep.json"
    path.write_text(text)
    with pytest.raises(DataError, match=message):
        read_sweep(path)


def test_along_the_run_two_identical_models_never_part(tiny_ckpt):
    """One model as S1 and as S2: cos(S1, S2) of x0_hat = 1 at every step; the last step's
    nearest-training cosine is the table's (the same training set, the same search)."""
    res = drain(gen.compare_run(tiny_ckpt, tiny_ckpt, RunSpec("ddim", 4, 3, 0), k=2))
    a = res["along"]
    assert a["step"] == [0, 1, 2, 3, 4] and a["level"][0] > a["level"][3] > 0 == a["level"][4]
    assert np.allclose(a["cos_s1_s2"]["samples"], 1, atol=1e-5) and np.allclose(a["cos_s1_s2"]["q25"], 1, atol=1e-5)
    assert a["settles"] == {"step": 0, "level": a["level"][0], "apart": False}
    assert "join there and never part" in gen.settles_text(a)
    own = [r["S1"]["cos_own"][0] for r in res["analysis"]["samples"]]
    assert np.allclose(a["nearest_S1"]["samples"][-1], own, atol=1e-5) and a["nearest_S1"] == a["nearest_S2"]
    assert res["ran"] == {"S1": "tiny", "S2": "tiny", "N": 8, "sampler": "ddim", "steps": 4, "seed": 0, "n": 3}


def test_along_the_run_finds_where_the_two_part_and_a_copy_of_a_training_image():
    """Together (S2 = 2 S1 + 1: cosine 1) for three steps, then each x0_hat a training image of its own
    set: nearest-training cosine -> 1, cos(S1, S2) low, and the runs part at step 3."""
    rng = np.random.default_rng(3)
    train1, train2 = (rng.normal(size=(300, 1, 8, 8)).astype(np.float32) for _ in range(2))
    K, B = 6, 4
    x1 = rng.normal(size=(K, B, 1, 8, 8)).astype(np.float32)
    x2 = 2 * x1 + 1
    x1[3:], x2[3:] = train1[[5, 17, 42, 99]], train2[[1, 2, 3, 4]]
    level = np.geomspace(100, 0.1, K)
    a = gen.along_the_run(x1, x2, train1, train2, level, level / np.sqrt(1 + level ** 2))
    near1, near2 = np.array(a["nearest_S1"]["samples"]), np.array(a["nearest_S2"]["samples"])
    assert np.allclose(near1[3:], 1, atol=1e-5) and np.allclose(near2[3:], 1, atol=1e-5) and near1[:3].max() < 0.9
    brute = gen.cosine_pairs(np.repeat(x1.reshape(K * B, 1, 64), 300, 1).reshape(-1, 64),
                             np.tile(train1.reshape(300, 64), (K * B, 1))).reshape(K * B, 300).max(1)
    assert np.allclose(near1.ravel(), brute, atol=1e-5)
    assert np.allclose(gen.NeighbourIndex(train1).nearest_cosine(x1.reshape(K * B, -1), chunk=300 * 7), brute, atol=1e-5)
    cos = np.array(a["cos_s1_s2"]["samples"])
    assert np.allclose(cos[:3], 1, atol=1e-5) and np.abs(cos[3:]).max() < 0.5
    assert a["settles"] == {"step": 3, "level": level[3], "apart": True} and "part there" in gen.settles_text(a)
    assert len(gen.along_table(a, rows=4).splitlines()) == 1 + 4 + 1


def test_compare_run_says_it_builds_the_training_sets_and_a_cancel_stops_it_there(tiny_ckpt, tmp_path, monkeypatch):
    """Defect 9: the training sets, built before the first frame, are announced through
    `interrupt.check` (the window's status bar), and a cancel stops their making between chunks."""
    import threading

    from conftest import make_tiny_checkpoint

    from explorer.core import interrupt
    other = make_tiny_checkpoint(tmp_path / "s2.safetensors", split="S2", seed=1)
    told, stop = [], threading.Event()
    with interrupt.hooks(stop, told.append):
        next(gen.compare_run(tiny_ckpt, other, RunSpec("ddim", 4, 2, 0)))
    assert told == [f"building the {side} training set (8 images; made once, then cached)…" for side in ("S1", "S2")]
    cold = tmp_path / "cold"
    monkeypatch.setenv("EXPLORER_CACHE", str(cold))                   # nothing cached: the S1 set is made now
    told.clear()
    with interrupt.hooks(stop, lambda text: (told.append(text), stop.set())), pytest.raises(interrupt.Cancelled):
        next(gen.compare_run(tiny_ckpt, other, RunSpec("ddim", 4, 2, 0)))
    assert len(told) == 1 and "S1 training set" in told[0] and not list(cold.glob("train-*"))


def test_explorer_compare_prints_the_run_and_writes_every_step_to_its_json(tiny_ckpt, tmp_path, capsys):
    import json

    from conftest import make_tiny_checkpoint

    from explorer.cli import main
    other = make_tiny_checkpoint(tmp_path / "s2.safetensors", split="S2", seed=1)
    out = tmp_path / "c.json"
    assert main(["compare", "--s1", str(tiny_ckpt.path), "--s2", str(other.path), "--n", "2", "--steps", "3",
                 "--sampler", "ddim", "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "along the run (ddim, 3 steps, seed 0; --json has every step)" in text and "cos(S1,S2) of x0_hat" in text
    res = json.loads(out.read_text())
    assert res["models"] == {"S1": "tiny", "S2": "s2", "N": 8, "sampler": "ddim", "steps": 3, "seed": 0, "n": 2}
    along = res["along"]
    assert along["step"] == [0, 1, 2, 3] and len(along["nearest_S2"]["samples"]) == 4
    assert len(along["cos_s1_s2"]["samples"][0]) == 2 and set(along["settles"]) == {"step", "level", "apart"}


def _brute(queries: np.ndarray, train: np.ndarray, k: int):
    """k nearest by cosine (mean removed) and by L2, in float64 over every pair."""
    q, t = (np.asarray(x, np.float64).reshape(len(x), -1) for x in (queries, train))
    qc, tc = q - q.mean(1, keepdims=True), t - t.mean(1, keepdims=True)
    cos = (qc @ tc.T) / np.maximum(np.linalg.norm(qc, axis=1)[:, None] * np.linalg.norm(tc, axis=1)[None], 1e-12)
    l2 = np.sqrt(((q[:, None] - t[None]) ** 2).sum(-1))
    ci, li = np.argsort(-cos, 1, kind="stable")[:, :k], np.argsort(l2, 1, kind="stable")[:, :k]
    return ci, np.take_along_axis(cos, ci, 1), li, np.take_along_axis(l2, li, 1), np.take_along_axis(cos, li, 1)


@pytest.mark.parametrize("dtype", ["bfloat16", "float32"])
@pytest.mark.parametrize("case", ["random", "copies", "alike", "offset"])
def test_the_index_finds_the_same_neighbours_as_every_pair_in_float64(dtype, case):
    """The index narrows the search with a cheap product (bfloat16 on CPUs that multiply it, or
    float32) and proved bounds, in blocks of rows, then scores the candidates in float32: the same
    neighbours and values as the brute force in float64, whatever the images. 'alike': every
    cosine within the bound of the others, so that every row is a candidate (the float32 way)."""
    import torch

    rng = np.random.default_rng(7)
    n = 3000
    train = rng.normal(size=(n, 1, 8, 8)).astype(np.float32)
    queries = rng.normal(size=(12, 1, 8, 8)).astype(np.float32)
    if case == "copies":
        queries[:6] = train[[5, 900, 1500, 2999, 0, 77]] + 1e-3 * rng.normal(size=(6, 1, 8, 8)).astype(np.float32)
        queries[6] = train[42]
    if case == "alike":
        train = (train[:1] + 0.05 * train).astype(np.float32)
        queries = (train[:1] + 0.05 * queries).astype(np.float32)
    if case == "offset":                                   # means far from 0 and norms of many sizes
        train = (train * rng.uniform(0.1, 3, size=(n, 1, 1, 1)) + rng.uniform(-5, 5, size=(n, 1, 1, 1))).astype(np.float32)
        queries = (queries + 2).astype(np.float32)
    index = gen.NeighbourIndex(train, dtype=getattr(torch, dtype), block=700)
    nb = index.query(queries, k=3)
    ci, cv, li, lv, lc = _brute(queries, train, 3)
    assert np.array_equal(nb.cos_index, ci) and np.array_equal(nb.l2_index, li)
    assert np.allclose(nb.cos_value, cv, atol=2e-6) and np.allclose(nb.l2_cos, lc, atol=2e-6)
    assert np.allclose(nb.l2_value, lv, rtol=1e-5, atol=1e-5)
    assert np.allclose(index.nearest_cosine(queries, chunk=700 * 5), cv[:, 0], atol=2e-6)


def test_a_query_runs_on_one_thread_and_gives_the_callers_setting_back():
    import torch

    rng = np.random.default_rng(8)
    train, queries = rng.normal(size=(200, 1, 4, 4)), rng.normal(size=(3, 1, 4, 4))
    flat = np.zeros((1, 1, 4, 4))                                      # no direction: cosine 0, L2 still
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        index = gen.NeighbourIndex(train)
        nb = index.query(np.concatenate([queries, flat]), k=2)
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
    assert np.allclose(nb.cos_value[-1], 0) and np.array_equal(nb.l2_index[-1], _brute(flat, train, 2)[2][0])
