import os

import numpy as np
import pytest
from PIL import Image

from explorer.core.display import export, render
from explorer.core.errors import ExportError
from explorer.core.files import io
from explorer.core.sampling.trajectory import Trajectory, drain


@pytest.fixture(scope="module")
def traj(tiny_ckpt, tmp_path_factory):
    from explorer.core.models import RunSpec
    t = drain(tiny_ckpt.run(RunSpec("ddim", 5, 3, 2)))
    path = tmp_path_factory.mktemp("run") / "run.npz"
    t.save_npz(path)
    return Trajectory.load_npz(path)


def test_npz_round_trip(traj):
    assert len(traj.frames) == 6 and traj.meta["sampler"] == "ddim" and traj.meta["seed"] == 2
    assert traj.frames[0].x_t.shape == (3, 1, 16, 16)
    with pytest.raises(ValueError):
        traj.frames[0].x_t[0, 0, 0, 0] = 1.0                 # frames are read-only


def test_frame_png_carries_metadata(traj, tmp_path):
    p = export.save_frame_png(tmp_path / "f.png", traj, 2)
    meta = export.read_png_metadata(p)
    assert meta["sampler"] == "ddim" and meta["seed"] == "2" and meta["step"] == "2"
    assert float(meta["sigma"]) == pytest.approx(traj.frames[2].sigma, rel=1e-5)
    assert meta["checkpoint"] == "tiny" and len(meta["checkpoint_sha256"]) == 64 and meta["explorer_version"]
    assert float(meta["t"]) == pytest.approx(traj.frames[2].t, rel=1e-5)



def test_each_panel_of_an_exported_frame_has_its_own_range(traj, tmp_path):
    """Early in a run x_t spreads far wider than x0_hat: in x0_hat's range it would be almost
    all black and white. Each panel gets its own robust range, as on screen."""
    k = 1
    assert np.std(traj.frames[k].x_t) > 3 * np.std(traj.frames[k].x0_hat)
    rgb = np.asarray(Image.open(export.save_frame_png(tmp_path / "f.png", traj, k, scale=1)))[..., 0]
    frame = traj.frames[k]
    xt_tiles, x0_tiles = render.tile(np.asarray(frame.x_t)), render.tile(np.asarray(frame.x0_hat))
    w = xt_tiles.shape[1]
    xt_panel, x0_panel = rgb[:, :w][np.isfinite(xt_tiles)], rgb[:, w + 2:][np.isfinite(x0_tiles)]
    assert np.isin(xt_panel, (0, 255)).mean() < 0.02              # 1 % of pixels clip at each end, by design
    assert np.isin(x0_panel, (0, 255)).mean() < 0.02
    lo, hi = render.default_display_range(xt_tiles)
    expected = np.clip((xt_tiles - lo) / (hi - lo), 0, 1) * 255
    assert np.abs(xt_panel - expected[np.isfinite(xt_tiles)]).max() <= 1

def test_sequence_gif_and_sheet(traj, tmp_path):
    paths = export.save_frame_sequence(tmp_path / "frames", traj)
    assert [p.name for p in paths] == [f"frame_{k:04d}.png" for k in range(6)]
    assert export.read_png_metadata(paths[-1])["step"] == "5"
    gif = export.save_gif(tmp_path / "a.gif", traj)
    with Image.open(gif) as im:
        assert im.n_frames == 6
    sheet = export.save_contact_sheet(tmp_path / "s.png", traj, rows=4)
    with Image.open(sheet) as im:
        assert im.size[0] > im.size[1] * 0.5
    assert export.read_png_metadata(sheet)["rows_steps"] == "0,2,3,5"


def test_tile_places_each_sample():
    x = np.arange(4 * 2 * 2, dtype=np.float32).reshape(4, 1, 2, 2)
    m = render.tile(x, cols=2, pad=1)
    assert m.shape == (5, 5) and np.isnan(m[2]).all()
    assert np.array_equal(m[3:5, 3:5], x[3, 0])


def test_export_errors_leave_nothing_behind(traj, tmp_path):
    with pytest.raises(ExportError, match="no such folder"):
        export.save_gif(tmp_path / "missing" / "a.gif", traj)
    (tmp_path / "afile").write_text("x")
    with pytest.raises(ExportError, match="is a file"):
        export.save_frame_sequence(tmp_path / "afile", traj)
    if os.geteuid() != 0:                    # root ignores permissions
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o500)
        with pytest.raises(ExportError):
            export.save_contact_sheet(ro / "s.png", traj)
        assert list(ro.iterdir()) == []


def test_a_failing_write_removes_the_temporary_file(tmp_path):
    def write(f):
        f.write(b"half")
        raise OSError(28, "No space left on device")

    with pytest.raises(ExportError, match="No space left"):
        io.atomic_write(tmp_path / "x.png", write)
    assert list(tmp_path.iterdir()) == []


def test_coarse_to_fine_strip(traj, tmp_path):
    p = export.save_coarse_to_fine_strip(tmp_path / "strip.png", traj, J=2)
    with Image.open(p) as im:
        w, h = im.size
    assert w == 3 * (3 * 16 + 2) and h == 3 * (3 * 16 + 2)      # 3 samples x (x_2, x_1, x_0), scale 3
    assert export.read_png_metadata(p)["columns"].startswith("x_2")


def test_a_full_disk_leaves_no_partial_file(traj, tmp_path):
    """A file-size limit makes the write fail part-way, as a full disk would."""
    import subprocess
    import sys
    code = f"""
import resource, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
from explorer.core.display import export
from explorer.core.sampling.trajectory import Trajectory
traj = Trajectory.load_npz({str(tmp_path / 'run.npz')!r})
resource.setrlimit(resource.RLIMIT_FSIZE, (2000, 2000))
try:
    export.save_gif({str(tmp_path / 'out' / 'a.gif')!r}, traj, scale=8)
except export.ExportError as e:
    print('refused:', e)
    sys.exit(3)
"""
    traj.save_npz(tmp_path / "run.npz")
    (tmp_path / "out").mkdir()
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 3, r.stderr
    assert "refused" in r.stdout and list((tmp_path / "out").iterdir()) == []


def test_gifs_are_strided_and_sheets_are_labelled(traj, tmp_path):
    from PIL import Image
    assert export.gif_frames(101, 40) == list(range(0, 101, 3)) + [100]
    gif = export.save_gif(tmp_path / "a.gif", traj, max_frames=3)
    with Image.open(gif) as im:
        assert im.n_frames == len(export.gif_frames(len(traj.frames), 3)) <= 4
    sheet = export.save_contact_sheet(tmp_path / "s.png", traj, rows=3)
    plain = render.to_rgb(render.tile(np.stack([traj.frames[k].x0_hat for k in export.sheet_rows(6, 3)])
                                      .reshape(-1, 1, 16, 16), cols=3), (0, 1), "grey", 3)
    with Image.open(sheet) as im:
        assert im.width > plain.shape[1] and im.height > plain.shape[0]      # a labelled margin and a title


def test_contact_sheet_rows_name_the_runs_own_level(traj):
    """sigma/alpha for a diffusion run; a Gaussian or scattering run's own level, with the value the
    window shows (sigma_over_alpha(t)), not sigma e^t (which is sigma/alpha for diffusion frames only)."""
    from explorer.core.sampling.schedule import sigma_over_alpha
    assert traj.meta["level"] == "σ/α"
    assert export.sheet_labels(traj, [0, 5]) == [f"step 0  sigma/alpha={sigma_over_alpha(traj.frames[0].t):.3g}",
                                                 "step 5  sigma/alpha=0"]
    other = Trajectory(frames=traj.frames, meta={**traj.meta, "level": "rms missing"})
    assert export.sheet_labels(other, [1])[0].startswith("step 1  rms missing=")
