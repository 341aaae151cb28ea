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


def test_split_all_trains_on_your_images_as_given_and_says_how_many_are_near_duplicates(tmp_path, capsys):
    from explorer.cli import main
    from explorer.core.data import training_set
    from explorer.core.models import open_model
    rng = np.random.default_rng(3)
    images = rng.random((20, 16, 16), dtype=np.float32)
    images[7], images[12], images[15] = images[2] * 1.01, images[4] + 0.002, images[4]
    np.save(tmp_path / "mine.npy", images)
    out = tmp_path / "mine.safetensors"
    assert main(["train", "diffusion", "--data", str(tmp_path / "mine.npy"), "--n", "20", "--split", "all", "--size", "16",
                 "--widths", "8,16", "--steps", "2", "--batch", "4", "--out", str(out)]) == 0
    assert "3 of the 20 images are near-duplicates" in capsys.readouterr().err
    assert np.allclose(training_set(open_model(out).data)[:, 0], images)          # all of them, in their order


def test_two_models_of_two_files_of_your_own_compare_and_say_whether_their_sets_are_disjoint(tmp_path, capsys):
    from explorer.cli import main
    rng = np.random.default_rng(4)
    a, b = rng.random((2, 12, 16, 16), dtype=np.float32)
    b[:2] = a[:2]                                                    # two images in both files
    for name, arr in (("a", a), ("b", b)):
        np.save(tmp_path / f"{name}.npy", arr)
        assert main(["train", "diffusion", "--data", str(tmp_path / f"{name}.npy"), "--n", "12", "--split", "all",
                     "--size", "16", "--widths", "8,16", "--steps", "2", "--batch", "4",
                     "--out", str(tmp_path / f"{name}.safetensors")]) == 0
    capsys.readouterr()
    assert main(["compare", "--s1", str(tmp_path / "a.safetensors"), "--s2", str(tmp_path / "b.safetensors"),
                 "--n", "2", "--steps", "3", "--sampler", "ddim", "--json", str(tmp_path / "c.json")]) == 0
    assert "share 2 near-duplicate images" in capsys.readouterr().out
    import json
    assert json.loads((tmp_path / "c.json").read_text())["summary"]["shared_training_images"] == 2


def test_a_set_of_constant_images_is_refused_in_one_line_before_any_note(tmp_path, capsys):
    """Images with no variation have no statistics: with --split all the refusal is the only line,
    not a note on their near-duplicates followed by it."""
    from explorer.cli import main

    np.save(tmp_path / "flat.npy", np.full((8, 1, 8, 8), 0.5, np.float32))
    assert main(["train", "gaussian", "--data", str(tmp_path / "flat.npy"), "--n", "8", "--split", "all", "--size", "8",
                 "--out", str(tmp_path / "g.gauss.safetensors")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "all 8 images are constant" in err[0]
    assert not (tmp_path / "g.gauss.safetensors").exists()
