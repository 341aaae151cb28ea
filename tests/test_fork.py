"""Forks: a run continued from one of its frames n times with fresh noise."""
import numpy as np
import pytest

from explorer.cli import main
from explorer.core.analysis import fork
from explorer.core.errors import UsageError
from explorer.core.models import RunSpec
from explorer.core.sampling.trajectory import Trajectory, drain


@pytest.fixture(scope="module")
def run(tiny_ckpt, tmp_path_factory):
    path = tmp_path_factory.mktemp("fork") / "run.npz"
    drain(tiny_ckpt.run(RunSpec("sde", 6, n=2, seed=4))).save_npz(path)
    return Trajectory.load_npz(path)


def test_a_fork_continues_the_run_from_its_frame(tiny_ckpt, run):
    f = fork.fork(tiny_ckpt, run, 2, n=4, seed=1, sample=1)
    assert len(f.frames) == 6 + 1 - 2 and [fr.step for fr in f.frames] == [2, 3, 4, 5, 6]
    assert f.frames[0].t == run.frames[2].t
    assert all(np.array_equal(np.asarray(x), np.asarray(run.frames[2].x_t[1])) for x in f.frames[0].x_t)
    assert fork.spread(np.asarray(f.sample)) > 0.01                      # fresh noise: different endings
    assert f.meta["fork_step"] == 2 and f.meta["start"] == 2


def test_the_spread_falls_to_zero_at_the_last_step_and_a_deterministic_fork_has_none(tiny_ckpt, run):
    rows = fork.spread_curve(tiny_ckpt, run, [0, 5], n=4)
    assert rows[0]["spread"] > 0.01 and rows[1]["spread"] == 0.0
    assert fork.spread(np.asarray(fork.fork(tiny_ckpt, run, 1, n=3, sampler="ddim").sample)) < 1e-6


def test_a_fork_checks_its_run_and_model(tiny_ckpt, tiny_wcrg, run):
    with pytest.raises(UsageError) as refused:
        fork.fork(tiny_ckpt, run, 6)
    assert refused.value.field == "step"
    with pytest.raises(UsageError) as refused:
        fork.fork(tiny_ckpt, run, 1, sample=9)
    assert refused.value.field == "sample"
    with pytest.raises(UsageError, match="not by"):
        fork.fork(tiny_ckpt, Trajectory(run.frames, {**run.meta, "checkpoint_sha256": "0" * 64}), 1)
    with pytest.raises(UsageError) as refused:
        fork.fork(tiny_wcrg, run, 1)
    assert str(refused.value) == tiny_wcrg.fork_refusal


def test_cli_fork_writes_the_endings_and_prints_the_curve(tiny_ckpt, run, tmp_path, capsys):
    path = tmp_path / "run.npz"
    run.save_npz(path)
    assert main(["fork", str(path), "--step", "3", "--n", "3", "--out", str(tmp_path / "f.npz"), "--curve", "3",
                 "--json", str(tmp_path / "c.json")]) == 0
    assert Trajectory.load_npz(tmp_path / "f.npz").frames[-1].x0_hat.shape == (3, 1, 16, 16)
    assert "spread of endings" in capsys.readouterr().out


def test_a_fork_draws_its_own_noise():
    seeds = {fork.fork_seed(0, k) for k in range(50)} | {fork.fork_seed(1, k) for k in range(50)}
    assert len(seeds) == 100 and all(s + 1 != 1 for s in seeds)       # never the parent's stream (seed 0 -> 1)
