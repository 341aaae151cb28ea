import os

import numpy as np
import pytest
from PIL import Image

from explorer.core.display import export, figure, render
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
    (t0, l0, h0, w0), (t1, l1, h1, w1) = figure.frame_figure(traj, k, scale=1).boxes
    xt_panel, x0_panel = rgb[t0:t0 + h0, l0:l0 + w0][np.isfinite(xt_tiles)], rgb[t1:t1 + h1, l1:l1 + w1][np.isfinite(x0_tiles)]
    assert np.isin(xt_panel, (0, 255)).mean() < 0.02              # 1 % of pixels clip at each end, by design
    assert np.isin(x0_panel, (0, 255)).mean() < 0.02
    lo, hi = render.default_display_range(xt_tiles)
    expected = np.clip((xt_tiles - lo) / (hi - lo), 0, 1) * 255
    assert np.abs(xt_panel - expected[np.isfinite(xt_tiles)]).max() <= 1

def test_sequence_gif_and_sheet(traj, tmp_path):
    paths = export.save_frame_sequence(tmp_path / "frames", traj)
    assert [p.name for p in paths] == [f"frame_{k:04d}.png" for k in range(6)]
    assert {p.parent for p in paths} == {tmp_path / "frames" / "tiny-ddim-seed2"}
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
    assert export.sheet_labels(traj, [0, 5]) == [f"step 0  σ/α = {sigma_over_alpha(traj.frames[0].t):.3g}",
                                                 "step 5  σ/α = 0"]
    other = Trajectory(frames=traj.frames, meta={**traj.meta, "level": "rms missing"})
    assert export.sheet_labels(other, [1])[0].startswith("step 1  rms missing = ")


def _other_run(traj, checkpoint: str, frames: int) -> Trajectory:
    """Another run of another model: its own name and number of frames."""
    return Trajectory(frames=traj.frames[:frames], meta={**traj.meta, "checkpoint": checkpoint})


def test_two_runs_exported_into_one_folder_keep_both(traj, tmp_path):
    """Issue 32, defect 1: every frame of a second run into a folder that holds a first run's
    frames replaced them (frame_0000.png ... each time). Each run gets its own new folder."""
    from explorer.cli import main
    first = export.save_frame_sequence(tmp_path, traj)
    second = export.save_frame_sequence(tmp_path, _other_run(traj, "wcrg", 4))
    again = export.save_frame_sequence(tmp_path, traj)                       # the same run again: -2
    other = tmp_path / "other.npz"
    _other_run(traj, "cli-model", 3).save_npz(other)
    assert main(["export", str(other), "--frames", str(tmp_path)]) == 0
    for paths, checkpoint, n in ((first, "tiny", 6), (second, "wcrg", 4), (again, "tiny", 6)):
        assert len(paths) == n and len({p.parent for p in paths}) == 1
        assert all(export.read_png_metadata(p)["checkpoint"] == checkpoint for p in paths)
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_dir()) == \
        ["cli-model-ddim-seed2", "tiny-ddim-seed2", "tiny-ddim-seed2-2", "wcrg-ddim-seed2"]
    cli = sorted((tmp_path / "cli-model-ddim-seed2").iterdir())
    assert len(cli) == 3 and export.read_png_metadata(cli[0])["checkpoint"] == "cli-model"
    assert len(list((tmp_path / "tiny-ddim-seed2").iterdir())) == 6                # the first run intact


def test_a_run_folder_is_never_an_existing_file_or_link(traj, tmp_path):
    """The run's folder name is taken by a file and a link: the next free name, both left alone."""
    (tmp_path / "tiny-ddim-seed2").write_text("the user's file")
    (tmp_path / "tiny-ddim-seed2-2").symlink_to(tmp_path / "elsewhere")
    paths = export.save_frame_sequence(tmp_path, traj)
    assert paths[0].parent.name == "tiny-ddim-seed2-3"
    assert (tmp_path / "tiny-ddim-seed2").read_text() == "the user's file" and not (tmp_path / "elsewhere").exists()
    assert export.run_stem({"checkpoint": "../x/y\n", "sampler": "ode", "seed": 1}) == "_x_y_-ode-seed1"


def _dark_row_runs(gray: np.ndarray) -> list[tuple[int, int]]:
    """(first, last) row of each band of rows holding dark pixels (text), top to bottom."""
    rows = np.flatnonzero((gray < 100).any(1))
    runs, start = [], rows[0]
    for a, b in zip(rows, rows[1:]):
        if b > a + 1:
            runs.append((start, a))
            start = b
    return runs + [(start, rows[-1])]


def test_a_frame_figure_is_ready_for_a_slide(traj, tmp_path):
    """Issue 32: a caption (model, step, level), a title over each panel, a visible gap between
    x_t and x0_hat, a colour bar with its numbers beside each, labels at least 14 px tall."""
    k = 2
    fig = figure.frame_figure(traj, k)
    png = np.asarray(Image.open(export.save_frame_png(tmp_path / "f.png", traj, k)).convert("L"))
    assert np.array_equal(png, np.asarray(Image.fromarray(fig.rgb).convert("L")))
    (t0, l0, h0, w0), (t1, l1, h1, w1) = fig.boxes
    assert t0 == t1 and l1 - (l0 + w0) >= 40                                   # the x_t colour bar and a gap
    caption, titles = _dark_row_runs(png[:t0])[:2]
    assert caption[1] - caption[0] + 1 >= 14 and titles[1] - titles[0] + 1 >= 14
    font = figure.label_font()
    assert font.getbbox("H")[3] - font.getbbox("H")[1] >= 14                    # a capital letter's own height
    assert figure.frame_caption(traj.meta, traj.frames[k], k, 6) == \
        f"tiny · ddim · step 2/5 · σ/α = {traj.frames[k].level:.3g}"
    for top, left, h, w in fig.boxes:                # a bar: white at the top of its range, black at the bottom
        strip = png[top:top + h, left + w:left + w + 30]
        bars = [c for c in range(strip.shape[1]) if strip[2, c] > 240 and strip[-3, c] < 15
                and np.all(np.diff(strip[2:-2, c].astype(int)) <= 1)]
        assert bars
        numbers = png[top:top + h, left + w + 30:left + w + 120]
        assert (numbers < 100).sum() > 50                                       # its numbers beside it


def test_greek_letters_are_written_out_by_a_font_without_them():
    from PIL import ImageFont
    plain = ImageFont.load_default(size=20)                   # Pillow's own font: no Greek
    assert figure.drawable("σ/α = 0.5, x_t\x1b", plain) == "sigma/alpha = 0.5, x_t?"
    font = figure.label_font()
    assert figure.drawable("σ/α", font) in ("σ/α", "sigma/alpha")
    assert figure.ticks(-2.41, 2.4, 3) == [-2, 0, 2] and figure.ticks(0.0109, 0.997, 3) == [0.25, 0.5, 0.75]
    assert render.number(-0.0, ".3g") == "0" and render.number(3 * 0.1, ".3g") == "0.3"


def test_gif_and_contact_sheet_frames_are_captioned(traj, tmp_path):
    with Image.open(export.save_gif(tmp_path / "a.gif", traj)) as im:         # each frame captioned, one size
        first = figure.frame_figure(traj, 0, scale=3).rgb
        assert im.size[0] >= first.shape[1] and im.size[1] == first.shape[0]
        caption = _dark_row_runs(np.asarray(im.convert("L"))[:40])[0]
        assert caption[1] - caption[0] + 1 >= 14
    sheet = np.asarray(Image.open(export.save_contact_sheet(tmp_path / "s.png", traj, rows=3)).convert("L"))
    plain = render.tile(np.zeros((9, 1, 16, 16)), cols=3)
    assert sheet.shape[0] > 3 * plain.shape[0] and sheet.shape[1] > 3 * plain.shape[1] + 150   # labels, a bar
    caption = _dark_row_runs(sheet[:40])[0]
    assert caption[1] - caption[0] + 1 >= 14


def _ffmpeg_report(path) -> str:
    """What ffmpeg says of a file (`ffmpeg -i`: its duration and streams); ffprobe is not shipped."""
    import subprocess

    import imageio_ffmpeg
    return subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-i", str(path)], capture_output=True,
                          text=True, timeout=60).stderr


def test_a_video_of_a_run_is_h264_of_the_length_asked(traj, tmp_path):
    import re

    import imageio_ffmpeg

    from explorer.cli import main

    video = export.save_video(tmp_path / "run.mp4", traj, fps=10, seconds=1.5)
    report = _ffmpeg_report(video)
    assert re.search(r"Video: h264 .*yuv420p", report), report
    assert "Duration: 00:00:01.50" in report
    assert imageio_ffmpeg.count_frames_and_secs(str(video)) == (15, 1.5)
    reader = imageio_ffmpeg.read_frames(str(video))
    meta = next(reader)
    w, h = meta["size"]
    assert w % 2 == 0 and h % 2 == 0 and w >= figure.frame_figure(traj, 0).rgb.shape[1]
    first = np.frombuffer(next(reader), np.uint8).reshape(h, w, 3)
    assert first[:40].min() < 60 and np.median(first[:40]) > 240                 # a caption: dark text on white
    reader.close()
    assert export.video_frames(6, 10, 1.5) == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 5, 5, 5]     # the last held
    run = tmp_path / "run.npz"
    traj.save_npz(run)
    assert main(["export", str(run), "--video", str(tmp_path / "cli.mp4"), "--fps", "8", "--seconds", "2"]) == 0
    assert "Duration: 00:00:02.00" in _ffmpeg_report(tmp_path / "cli.mp4")


def test_a_video_to_a_bad_path_is_refused_and_leaves_nothing(traj, tmp_path, capsys):
    from explorer.cli import main
    with pytest.raises(ExportError, match="no such folder"):
        export.save_video(tmp_path / "missing" / "v.mp4", traj, seconds=1)
    (tmp_path / "v.mp4").mkdir()
    with pytest.raises(ExportError, match="is a directory"):
        export.save_video(tmp_path / "v.mp4", traj, seconds=1)
    with pytest.raises(export.UsageError):
        export.save_video(tmp_path / "w.mp4", traj, fps=0)
    run = tmp_path / "run.npz"
    traj.save_npz(run)
    assert main(["export", str(run), "--video", str(tmp_path / "v.avi")]) == 2
    assert "name it so" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.npz", "v.mp4"]
