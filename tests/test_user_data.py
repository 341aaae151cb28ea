import numpy as np
import pytest
from PIL import Image

from explorer.core.data import training_set, user
from explorer.core.errors import DataError


def test_folder_of_images_resized_cropped_and_bad_files_skipped(tmp_path, capsys):
    rng = np.random.default_rng(0)
    for i in range(3):
        Image.fromarray(rng.integers(0, 255, (40, 60, 3), dtype=np.uint8)).save(tmp_path / f"img{i}.png")
    Image.fromarray(rng.integers(0, 255, (20, 20), dtype=np.uint8)).save(tmp_path / "grey.jpg")
    (tmp_path / "broken.png").write_bytes(b"not an image")
    x = user.load(tmp_path, size=16, channels=1)
    assert x.shape == (4, 1, 16, 16) and 0 <= x.min() and x.max() <= 1
    assert "broken.png" in capsys.readouterr().err
    assert user.load(tmp_path, size=16, channels=3).shape == (4, 3, 16, 16)


def test_bad_folders_and_arrays(tmp_path):
    with pytest.raises(DataError, match="no PNG or JPEG"):
        user.load(tmp_path)
    (tmp_path / "a.png").write_bytes(b"junk")
    with pytest.raises(DataError, match="none of the 1"):
        user.load(tmp_path)
    np.save(tmp_path / "rank.npy", np.zeros((3, 4)))
    with pytest.raises(DataError, match="shape"):
        user.load(tmp_path / "rank.npy")
    nan = np.zeros((3, 32, 32))
    nan[0, 0, 0] = np.nan
    np.save(tmp_path / "nan.npy", nan)
    with pytest.raises(DataError, match="NaN"):
        user.load(tmp_path / "nan.npy")
    np.save(tmp_path / "size.npy", np.zeros((3, 1, 8, 8)))
    with pytest.raises(DataError, match="8x8"):
        user.load(tmp_path / "size.npy")
    with pytest.raises(DataError, match="no such"):
        user.load(tmp_path / "missing.npy")
    (tmp_path / "data.txt").write_text("1 2 3")
    with pytest.raises(DataError):
        user.load(tmp_path / "data.txt")


def test_user_array_split(tmp_path):
    rng = np.random.default_rng(1)
    np.savez(tmp_path / "fields.npz", x=rng.normal(size=(20, 16, 16)).astype(np.float32))
    rec = {"name": "user", "path": str(tmp_path / "fields.npz"), "params": {"size": 16, "channels": 1}, "seed": 0}
    s1 = training_set({**rec, "n": 5, "split": "S1"})
    s2 = training_set({**rec, "n": 5, "split": "S2"})
    assert s1.shape == (5, 1, 16, 16) and not np.isin(s1.reshape(5, -1)[:, 0], s2.reshape(5, -1)[:, 0]).any()
    with pytest.raises(DataError, match="distinct"):
        training_set({**rec, "n": 11, "split": "S1"})
