import numpy as np
import pytest
import torch

from explorer.core import data
from explorer.core.data import shapes


def test_shapes_are_deterministic_and_in_range():
    a, b = shapes.images(0, 5, 4), shapes.images(0, 5, 4)
    assert torch.equal(a, b) and a.shape == (4, 1, 32, 32)
    assert float(a.min()) >= 0 and float(a.max()) <= 1
    assert not torch.equal(shapes.images(1, 5, 4), a)
    assert torch.equal(shapes.images(0, 6, 1)[0], a[1])         # image i depends on (seed, i) only


def test_splits_are_disjoint_prefix_sets_without_near_duplicates():
    rec = {"name": "shapes", "params": {"size": 16}, "seed": 0}
    s1 = data.training_set({**rec, "n": 30, "split": "S1"})
    s2 = data.training_set({**rec, "n": 30, "split": "S2"})
    small = data.training_set({**rec, "n": 10, "split": "S1"})
    assert s1.shape == (30, 1, 16, 16)
    assert np.array_equal(small, s1[:10])
    u = data.unit_vectors(torch.from_numpy(np.concatenate([s1, s2])))
    gram = (u @ u.T).numpy()
    np.fill_diagonal(gram, 0)
    assert gram.max() <= data.DUPLICATE_COSINE


def test_select_distinct_drops_duplicates():
    base = torch.randn(6, 1, 4, 4, generator=torch.Generator().manual_seed(0))
    pool = torch.stack([base[0], base[0] * 2 + 1, base[1], base[2], base[1] + 0.001, base[3]])
    kept = data.select_distinct(lambda s, n: pool[s:s + n], 4, limit=len(pool))
    assert len(kept) == 4 and torch.equal(kept[1], base[1])
    with pytest.raises(data.DataError, match="only 4 distinct"):
        data.select_distinct(lambda s, n: pool[s:s + n], 5, limit=len(pool))


def test_training_sets_are_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("EXPLORER_CACHE", str(tmp_path))
    rec = {"name": "shapes", "params": {"size": 16}, "seed": 3, "n": 4, "split": "S2"}
    a = data.training_set(rec)
    files = list(tmp_path.glob("train-*.npy"))
    assert len(files) == 1
    np.save(files[0], np.zeros_like(a))                 # the cache is what is read back
    assert not data.training_set(rec).any()


def test_unknown_data_and_split():
    with pytest.raises(data.DataError):
        data.training_set({"name": "cifar", "n": 3, "split": "S1"})
    with pytest.raises(data.DataError):
        data.training_set({"name": "shapes", "n": 3, "split": "S3"})


@pytest.mark.slow           # two phi4 equilibrations: about 2 minutes on 2 cores
def test_phi4_splits_come_from_disjoint_chains():
    """S1 and S2 are drawn from their own chains: each set is a subset of its own chains' fields,
    which share no field (and no chain) with the other's."""
    from explorer.core.data import phi4
    rec = {"name": "phi4", "params": {"L": 8, "beta": 0.3}, "n": 6, "seed": 0}
    s1 = data.training_set({**rec, "split": "S1"})
    s2 = data.training_set({**rec, "split": "S2"})
    chains1 = phi4.samples(6 + 32, L=8, beta=0.3, seed=0, progress=False).reshape(38, -1)
    chains2 = phi4.samples(6 + 32, L=8, beta=0.3, seed=data.S2_SEED, progress=False).reshape(38, -1)
    inside = lambda x, pool: all((np.abs(pool - f).max(1) == 0).any() for f in x.reshape(len(x), -1))  # noqa: E731
    assert inside(s1, chains1) and inside(s2, chains2)
    assert not any(inside(f[None], chains1) for f in s2) and not any(inside(f[None], chains2) for f in s1)
