"""Open, run and show: info, sample, export, screenshot and the window (gui, and tour: on the guided tour)."""
from __future__ import annotations

import sys
from pathlib import Path

from explorer.app.tour_stops import STOPS
from explorer.cli.arguments import SEED, STEPS, float_in, int_in, run_arguments, run_spec
from explorer.core.errors import UsageError
from explorer.core.files import schema
from explorer.core.files.io import json_text, printable, progress_bar


def cmd_info(args) -> int:
    from explorer.core.models import open_model, samplers_text
    model = open_model(args.checkpoint)
    summary = {**model.summary(), "samplers": {s: model.default_steps(s) for s in model.samplers}}
    print(json_text(summary, indent=2) if args.json else printable(model.describe() + "\n" + samplers_text(model)))
    return 0


def cmd_set_default(args) -> int:
    from explorer.core.models import open_model, runs_by_default
    before = open_model(args.checkpoint)
    before.write_default(args.sampler, args.steps, args.why)
    model = open_model(args.checkpoint)                       # as written (its new sha256)
    sampler, steps = runs_by_default(model)
    print(printable(f"{model.name}: runs {sampler} with {steps} steps by default " + (
        "(its file said so already: nothing written)" if model.sha256 == before.sha256 else
        f"(written to {model.path}; the weights are unchanged, the file's sha256 is now {model.sha256[:12]}…; "
        "runs saved from the earlier file still open with it: the file keeps its earlier hashes)")))
    return 0


def check_suffix(path: str | None, suffixes: tuple[str, ...], option: str) -> None:
    """An output's file name ends as what is written into it (a run is .npz, a GIF .gif, ...)."""
    if path is not None and not str(path).lower().endswith(suffixes):
        raise UsageError(f"{option} {printable(str(path))[:80]}: the file is {' or '.join(suffixes)}; name it so")


def cmd_sample(args) -> int:
    from explorer.core.files.io import check_outputs
    from explorer.core.models import open_model
    from explorer.core.sampling.trajectory import drain

    check_suffix(args.out, (".npz",), "--out")
    (out,) = check_outputs([args.out], [args.checkpoint])
    model = open_model(args.checkpoint)
    spec = run_spec(args, final_denoise=not args.no_final_denoise).resolved(model)
    with progress_bar(model.frame_count(spec), printable(f"{spec.sampler} {model.name}")) as bar:
        traj = drain(model.run(spec), callback=lambda f: bar.update(1))
    path = traj.save_npz(out)
    scales = sorted({f.scale for f in traj.frames if f.scale is not None}, reverse=True)
    print(f"wrote {path}: {len(traj.frames)} frames of {tuple(traj.frames[0].x_t.shape)}"
          + (f" over scales {scales}" if scales else ""), file=sys.stderr)
    return 0

def cmd_export(args) -> int:
    """Every target checked first; all written, or (on any failure) none."""
    from explorer.core.display import export
    from explorer.core.display.render import COLORMAPS
    from explorer.core.files.io import all_or_nothing, check_output_folder, check_outputs
    from explorer.core.sampling.trajectory import Trajectory

    for option, suffix in (("png", ".png"), ("gif", ".gif"), ("sheet", ".png"), ("strip", ".png"), ("video", ".mp4")):
        check_suffix(vars(args)[option], (suffix,), f"--{option}")
    files = {k: Path(vars(args)[k]) for k in ("png", "gif", "sheet", "strip", "video") if vars(args)[k]}
    if not (files or args.frames):
        raise UsageError("say what to export: --gif FILE, --frames DIR, --sheet FILE, --strip FILE, --video FILE "
                         "and/or --png FILE")
    check_outputs(list(files.values()), [args.run])
    if args.frames:
        check_output_folder(args.frames)
    if args.display_range and args.display_range[0] >= args.display_range[1]:
        raise UsageError("--display-range LOW HIGH needs LOW < HIGH")
    traj = Trajectory.load_npz(args.run)
    step = len(traj.frames) - 1 if args.step is None else args.step
    if not -len(traj.frames) <= step < len(traj.frames):
        raise UsageError(f"--step {step}: the run has {len(traj.frames)} frames")
    shown = {"display_range": tuple(args.display_range) if args.display_range else None,
             "cmap": args.cmap or (traj.meta.get("colormap") if traj.meta.get("colormap") in COLORMAPS else "grey")}
    frames = Path(args.frames) if args.frames else None
    created = frames is not None and not frames.exists()
    before = set(frames.iterdir()) if frames is not None and not created else set()
    try:
        with all_or_nothing():
            if "png" in files:
                export.save_frame_png(files["png"], traj, step, "both", **shown)
            if "gif" in files:
                export.save_gif(files["gif"], traj, "both", max_frames=args.gif_frames, **shown)
            if "sheet" in files:
                export.save_contact_sheet(files["sheet"], traj, args.rows, "x0_hat", **shown)
            if "strip" in files:
                export.save_coarse_to_fine_strip(files["strip"], traj, args.J, args.wavelet, **shown)
            if "video" in files:
                export.save_video(files["video"], traj, args.fps, args.seconds, "both", **shown)
            if frames is not None:
                with progress_bar(len(traj.frames), "frames") as bar:
                    paths = export.save_frame_sequence(frames, traj, "both", **shown,
                                                       progress=lambda k, n: bar.update(1))
    except BaseException:
        if frames is not None and frames.is_dir():             # the run's folder made for its frames, left empty
            for made in set(frames.iterdir()) - before:
                if made.is_dir() and not made.is_symlink() and not any(made.iterdir()):
                    made.rmdir()
            if created and not any(frames.iterdir()):
                frames.rmdir()
        raise
    written = [f"{what} {path}" for what, path in files.items()]
    written += [f"{len(traj.frames)} frames into {paths[0].parent}"] if frames else []
    print(printable(f"exported from {args.run} (of {len(traj.frames)} frames): {'; '.join(written)}"), file=sys.stderr)
    return 0

def cmd_screenshot(args) -> int:
    from explorer.app.screenshot import screenshot
    out = screenshot(Path(args.out), args.checkpoint, args.step, args.view, sampler=args.sampler, steps=args.steps,
                     n=args.n, seed=args.seed, pair=args.pair)
    print(f"wrote {out}", file=sys.stderr)
    return 0

def cmd_gui(args) -> int:
    from explorer.app.launch import launch
    return launch(getattr(args, "checkpoint", None), tour=getattr(args, "stop", None))


def add_commands(sub) -> None:
    """This group's subcommands on the parser's `sub`."""
    s = sub.add_parser("info", help="print a checkpoint's config and parameter count")
    s.add_argument("checkpoint")
    s.add_argument("--json", action="store_true", help="print the same as JSON")
    s.set_defaults(func=cmd_info)
    s = sub.add_parser("set-default", help="record in a model's file the sampler and steps it runs by default "
                       "(the window's Run panel, `explorer sample`); the weights are unchanged")
    s.add_argument("checkpoint", help="a diffusion checkpoint, a WCRG folder or a scattering model")
    s.add_argument("--sampler", required=True)
    s.add_argument("--steps", type=STEPS, required=True, help="steps (per scale for a WCRG model)")
    s.add_argument("--why", default="", help="the measurement that chose them, shown by `explorer info`")
    s.set_defaults(func=cmd_set_default)
    s = sub.add_parser("sample", help="run any model (checkpoint, WCRG folder, ...); write the whole trajectory to .npz")
    s.add_argument("checkpoint", help="a .safetensors checkpoint, a WCRG folder, or any model explorer opens")
    run_arguments(s, n=None)
    s.add_argument("--no-final-denoise", action="store_true")
    s.add_argument("--out", required=True)
    s.set_defaults(func=cmd_sample)
    s = sub.add_parser("export", help="export a run (.npz) as PNG frames, a GIF, a video and a contact sheet")
    s.add_argument("run", help="a run file (.npz) written by `explorer sample` or the window's File → Save run")
    s.add_argument("--gif", default=None)
    s.add_argument("--gif-frames", type=int_in(2, 1000), default=40, help="at most this many frames in the GIF, evenly spaced")
    s.add_argument("--frames", default=None, help="folder for the frames: frame_0000.png, ... in a new folder of it "
                   "named from the run (MODEL-SAMPLER-seedS, -2, -3, ... when taken)")
    s.add_argument("--video", default=None, help="MP4 video (H.264) of the run, captioned; see --fps and --seconds")
    s.add_argument("--fps", type=int_in(1, 60), default=None, help="frames per second of --video (default 12)")
    s.add_argument("--seconds", type=float_in(0.1, 600), default=None,
                   help="length of --video (default: each frame of the run once and a second on the last, 2-20 s)")
    s.add_argument("--sheet", default=None, help="contact sheet PNG (steps x samples)")
    s.add_argument("--png", default=None, help="one frame as PNG (see --step)")
    s.add_argument("--step", type=int_in(-10 ** 9, 10 ** 9), default=None,
                   help="frame index for --png (default and -1: the last; -2 the one before)")
    s.add_argument("--rows", type=int_in(1, 1000), default=8, help="steps in the contact sheet")
    s.add_argument("--strip", default=None, help="coarse-to-fine strip PNG of the final samples: x_J ... x_0")
    s.add_argument("--J", type=int_in(1, 16), default=None,
                   help="J for --strip (default: the run's, else 3)")
    s.add_argument("--wavelet", default=None, help="wavelet for --strip (default: the run's, else haar)")
    s.add_argument("--cmap", choices=["grey", "diverging"], default=None,
                   help="default: the run's own (diverging for signed fields, as the window), else grey")
    s.add_argument("--display-range", type=float_in(-1e30, 1e30), nargs=2, default=None,
                   metavar=("LOW", "HIGH"), help="the x0_hat values shown black and white (default: the final x0_hat's 0.5-99.5 "
                        "percentiles); x_t always gets each frame's own")
    s.set_defaults(func=cmd_export)
    s = sub.add_parser("screenshot", help="open the window offscreen, run, go to a step, save the window as PNG")
    s.add_argument("out")
    s.add_argument("--checkpoint", default=None)
    s.add_argument("--step", type=int_in(-10 ** 9, 10 ** 9), default=None, help="default: the middle of the run")
    s.add_argument("--view", choices=["trajectory", "scales", "compare", "statistics"], default="trajectory")
    s.add_argument("--pair", type=int_in(0, 1000), default=None, help="with --view compare: index of the bundled S1/S2 pair")
    s.add_argument("--sampler", default=None, help="default: the model's")
    s.add_argument("--steps", type=STEPS, default=None)
    s.add_argument("--n", type=int_in(1, schema.MAX_SAMPLES), default=None)
    s.add_argument("--seed", type=SEED, default=None)
    s.set_defaults(func=cmd_screenshot)
    s = sub.add_parser("gui", help="open the window (the same as no command)")
    s.add_argument("checkpoint", nargs="?")
    s.set_defaults(func=cmd_gui)
    s = sub.add_parser("tour", help="open the window on the guided tour of the lecture (Help → Guided tour)")
    s.add_argument("--stop", type=int_in(1, len(STOPS)), default=1, help=f"the stop to begin at (1 to {len(STOPS)})")
    s.set_defaults(func=cmd_gui)
