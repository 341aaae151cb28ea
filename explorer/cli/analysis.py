"""What one learns from models: evaluate, stats, field, compare, sweep, basis, fork."""
from __future__ import annotations

import sys
from pathlib import Path

from explorer.cli.arguments import SEED, command_line, float_in, int_in, run_arguments, run_spec, write_json
from explorer.core.errors import UsageError
from explorer.core.files import schema
from explorer.core.files.io import json_text, printable, progress_bar


def cmd_evaluate(args) -> int:
    from explorer.core.analysis.evaluate import psnr_table
    from explorer.core.files.io import check_outputs
    from explorer.core.models import diffusion

    check_outputs([args.json] if args.json else [], [args.checkpoint])
    table = psnr_table(diffusion.load(args.checkpoint), n=args.n, seed=args.seed)
    print(f"{'sigma/alpha':>11} {'train PSNR':>10} {'test PSNR':>10} {'gap':>6}")
    for row in table["rows"]:
        print(f"{row['level']:11.3f} {row['train_psnr']:10.2f} {row['test_psnr']:10.2f} {row['gap']:6.2f}")
    print(f"mean train-minus-test gap: {table['mean_gap']:.2f} dB over {len(table['rows'])} noise levels")
    if args.json:
        write_json(args.json, table)
    return 0

def cmd_stats(args) -> int:
    import numpy as np

    from explorer.core.data import fresh_images, resolved_k, training_set
    from explorer.core.files.io import atomic_write, check_outputs
    from explorer.core.models import final_samples, open_model, run_meta
    from explorer.core.statistics import stats

    check_outputs([o for o in (args.json, args.samples_out, args.plot) if o], [args.checkpoint])
    if args.plot:                        # the plot is drawn by Qt offscreen: a platform it cannot use, before sampling
        from explorer.app.qt_platform import check_platform
        check_platform(offscreen=True)
    model = open_model(args.checkpoint)
    spec = run_spec(args, keep_frames=False).resolved(model)
    data = model.data
    ref = fresh_images(data, spec.n) if args.reference == "fresh" else training_set(data)
    with progress_bar(spec.n, "sampling") as bar:
        gen = final_samples(model, spec, progress=lambda done, total: bar.update(done - bar.n))
    res = stats.compare(gen, ref, resolved_k(data))
    res |= {**run_meta(model, spec), "reference": args.reference}
    print(stats.format_table(res))
    if args.json:
        write_json(args.json, res)
    if args.samples_out:
        atomic_write(Path(args.samples_out), lambda f: np.save(f, gen, allow_pickle=False))
    if args.plot:
        from explorer.app.views.statistics import save_plot
        label = "training data" if args.reference == "train" else f"fresh {'MCMC ' if data.get('name') == 'phi4' else ''}data"
        save_plot(Path(args.plot), gen, stats.summary(ref, k_max=resolved_k(data)), f"{model.name}, {spec.sampler} sampler",
                  label)
        print(f"wrote {args.plot}", file=sys.stderr)
    return 0

def cmd_field(args) -> int:
    from explorer.core.analysis import head_to_head as h2h
    from explorer.core.data import fresh_groups, fresh_images, resolved_k
    from explorer.core.files.io import check_outputs
    from explorer.core.models import open_model
    from explorer.core.sampling.trajectory import drain
    from explorer.core.statistics import stats

    check_outputs([args.json] if args.json else [], args.models)
    models = [open_model(m) for m in args.models]
    h2h.check_one_field(models)
    if args.bundled:
        bundled = h2h.bundled_of_field(models[0], lambda file, err: print(
            printable(f"explorer: left out the bundled {file}: {err}").replace("\n", " "), file=sys.stderr))
        models = h2h.same_field(models[0], models[1:] + bundled[1:])
    data = models[0].data
    total = h2h.total_frames(models, args.n, args.seed)         # each model's run checked before the reference
    if args.reference == "train":
        reference = data.get("stats")
        if reference is None:
            raise UsageError(f"{models[0].name} records no statistics of its training data: use --reference fresh")
        label = f"the training data of {models[0].name} ({reference['n']} fields)"
    else:
        if data.get("name") == "user":
            raise UsageError("data of your own have no generator to draw fresh fields from: use --reference train")
        groups = fresh_groups(data, args.reference_n)                       # refuses too few blocks, before any work
        print(f"making {args.reference_n} fresh {data.get('name')} fields for the reference…", file=sys.stderr)
        reference = stats.summary(fresh_images(data, args.reference_n), k_max=resolved_k(data), groups=groups)
        label = f"{args.reference_n} fresh {data.get('name')} fields"
    with progress_bar(total, f"{len(models)} models") as bar:
        rows = drain(h2h.table_steps(models, reference, args.n, args.seed, args.device), callback=lambda _: bar.update(1))
    print(h2h.format_rows(rows, label))
    if args.json:
        write_json(args.json, {"reference": label, "n": args.n, "seed": args.seed, "command": command_line(), "rows": rows})
    return 0

def cmd_compare(args) -> int:
    from explorer.core.analysis import generalization as gen
    from explorer.core.files.io import check_outputs
    from explorer.core.models import open_model

    if args.out is not None and not Path(args.out).name:
        raise UsageError(f"--out {args.out!r}: give a file name (OUT makes OUT.S1.npz and OUT.S2.npz)")
    outs = [Path(args.out).with_suffix(f".{side}.npz") for side in ("S1", "S2")] if args.out is not None else []
    check_outputs(([args.json] if args.json else []) + outs, [args.s1, args.s2])
    model1, model2 = open_model(args.s1), open_model(args.s2)
    res = gen.compare(model1, model2, run_spec(args), args.k, args.threshold)
    traj1, traj2 = res.pop("trajectories")
    print(f"{'sample':>6} {'cos(S1,S2)':>10} {'S1: nearest own (L2 ratio, cos)':>34} {'S2: nearest own (L2 ratio, cos)':>34}")
    for r in res["samples"]:
        cells = [f"#{r[s]['nearest_own_l2'][0]} ({r[s]['l2_ratio']:.2f}, {r[s]['cos_own_l2'][0]:.3f})"
                 + (" C" if r[s]["memorised"] else "  ") for s in ("S1", "S2")]
        print(f"{r['sample']:6d} {r['cos_s1_s2']:10.3f} {cells[0]:>34} {cells[1]:>34}")
    sm, b = res["summary"], res["baseline"]
    print(f"median cos(S1,S2) {sm['cos_s1_s2_median']:.3f}; median cos(nearest own) {sm['cos_nearest_own_median']:.3f}; "
          f"{gen.summary_text(sm)}; "
          + (f"fresh-image baseline: median nearest cos {b['median']:.3f}" if b else
             "no fresh-image baseline (the data set has no generator of fresh images)")
          + "\n(C: copies its nearest training image by L2 distance, nearest/second < 1/3; the cosine to that image is "
            "shown beside it and does not decide: it is low for a near-constant image)")
    print(f"along the run ({res['models']['sampler']}, {res['models']['steps']} steps, seed {res['models']['seed']}; "
          f"--json has every step):\n{gen.along_table(res['along'])}")
    if args.json:
        write_json(args.json, res)
    for traj, out in zip((traj1, traj2), outs):
        traj.save_npz(out)
    return 0

def cmd_sweep(args) -> int:
    from explorer.core.analysis import generalization as gen
    from explorer.core.files.io import check_outputs
    from explorer.core.models import bundle

    if args.folder:
        if not Path(args.folder).is_dir():
            raise UsageError(f"{args.folder}: not a folder")
        paths = sorted(Path(args.folder).glob("*.safetensors"))
    else:
        paths = [bundle.bundled_dir() / e["file"] for e in bundle.bundled_index() if e["kind"] == "diffusion"]
    check_outputs([args.json] if args.json else [], paths)      # never over one of the models it sweeps
    groups = gen.pair_groups(paths)
    if not groups:
        raise UsageError(f"no S1/S2 pairs among the checkpoints in {args.folder or bundle.bundled_dir()}")
    curves = gen.sweep_groups(run_spec(args), groups, log=print)
    if args.json:
        write_json(args.json, {"sampler": args.sampler, "steps": args.steps, "n": args.n, "seed": args.seed,
                                "command": command_line(), "curves": curves})
    return 0

def cmd_basis(args) -> int:
    """The denoiser's adaptive basis at step K of a run (the run made here from the seed, or --run)."""
    import numpy as np
    import torch

    from explorer.core.analysis.basis import basis, check_dimension
    from explorer.core.files.io import atomic_write, check_outputs
    from explorer.core.models import check_made_by, open_model
    from explorer.core.sampling.trajectory import Trajectory, drain

    (out,) = check_outputs([args.out], [args.model] + ([args.run] if args.run else []))
    model = open_model(args.model)
    denoiser = model.denoiser
    if denoiser is None:
        raise UsageError(f"{model.name} has no single denoiser x0_hat(x_t, t) (a {model.kind} model)")
    check_dimension(model.image_shape)                           # the Jacobian's cost, before any run is made
    spec = None
    if args.run:
        traj = Trajectory.load_npz(args.run)
        check_made_by(model, traj.meta, args.run)
        shape = tuple(np.shape(traj.frames[0].x_t)[1:]) if traj.frames else ()
        if shape != tuple(model.image_shape):
            raise UsageError(f"{args.run}: its images are {shape} (channels, height, width), but {model.name} makes "
                             f"{tuple(model.image_shape)}: give a run this model made")
        frames, samples = len(traj.frames), len(traj.frames[0].x_t)
    else:
        spec = run_spec(args).resolved(model)
        frames, samples = model.frame_count(spec), spec.n
    # the ranges, before any sampling (a model that cannot count its frames: the step once the run is made)
    if frames is not None:
        step = frames // 2 if args.step is None else args.step
        if not 0 <= step < frames or not 0 <= args.sample < samples:
            raise UsageError(f"--step must be in 0..{frames - 1} and --sample in 0..{samples - 1}")
        if spec is not None and spec.final_denoise and step == frames - 1:
            raise UsageError(f"step {step} is the final denoised image (no noise level): choose an earlier step")
    elif not 0 <= args.sample < samples:
        raise UsageError(f"--sample must be in 0..{samples - 1}")
    if spec is not None:
        with progress_bar(frames, printable(f"{spec.sampler} {model.name}")) as bar:
            traj = drain(model.run(spec), callback=lambda f: bar.update(1))
    step = len(traj.frames) // 2 if args.step is None else args.step
    if not 0 <= step < len(traj.frames) or not 0 <= args.sample < len(traj.frames[0].x_t):
        raise UsageError(f"--step must be in 0..{len(traj.frames) - 1} and --sample in 0..{len(traj.frames[0].x_t) - 1}")
    frame = traj.frames[step]
    if frame.t <= 0:
        raise UsageError(f"step {step} is the final denoised image (no noise level): choose an earlier step")
    x_t = torch.tensor(np.asarray(frame.x_t[args.sample]), dtype=torch.float32)          # a copy: frames are read-only
    b = basis(denoiser, x_t, frame.t, min(args.k, x_t.numel()))
    meta = {**traj.meta, "step": step, "sample": args.sample, "k": len(b.values)}
    arrays = {**b.arrays(), "x_t": x_t.numpy(), "x0_hat": np.asarray(frame.x0_hat[args.sample], np.float32),
              "meta": np.array(json_text(meta, None))}
    atomic_write(out, lambda f: np.savez(f, **arrays))
    s = frame.level
    print(f"step {step}, sample {args.sample}: sigma = {frame.sigma:.4g} (sigma/alpha = {s:.4g}); effective dimension "
          f"(trace) {b.trace:.2f} of {x_t.numel()}; asymmetry ||A - A^T||/||A|| = {b.asymmetry:.3g}")
    print("top eigenvalues: " + " ".join(f"{v:.3f}" for v in b.values[:8]))
    print(f"wrote {out}", file=sys.stderr)
    return 0

def cmd_fork(args) -> int:
    """n endings of a run from one of its frames; with --curve, the endings' spread against sigma."""
    import numpy as np

    from explorer.core.analysis import fork
    from explorer.core.files.io import check_outputs
    from explorer.core.models import open_model
    from explorer.core.sampling.trajectory import Trajectory, drain

    check_outputs([o for o in (args.out, args.json) if o], [args.run])
    if not (args.out or args.curve):
        raise UsageError("say what to make: --out FORK.npz (the endings from --step) and/or --curve (spread against sigma)")
    traj = Trajectory.load_npz(args.run)
    model = open_model(args.model or traj.meta.get("checkpoint_path") or "")
    check_outputs([o for o in (args.out, args.json) if o], [args.run, model.path])    # nor over the model's file
    if args.out:
        if args.step is None:
            raise UsageError("--out needs --step K: the frame to fork from")
        f = fork.fork(model, traj, args.step, args.n, args.seed, args.sample, args.sampler)
        f.save_npz(args.out)
        print(f"wrote {args.out}: {args.n} endings from step {args.step} (sigma = {traj.frames[args.step].sigma:.4g}); "
              f"spread {fork.spread(np.asarray(f.sample)):.4g}", file=sys.stderr)
    if args.curve:
        ks = fork.curve_steps(len(traj.frames), args.curve)
        with progress_bar(len(ks), "forks") as bar:
            rows = drain(fork.spread_curve_steps(model, traj, ks, args.n, args.seed, args.sample, args.sampler),
                         callback=lambda _: bar.update(1))
        print(f"{'step':>5} {'sigma':>8} {'sigma/alpha':>11} {'spread of endings':>18}")
        for r in rows:
            print(f"{r['step']:5d} {r['sigma']:8.4f} {r['level']:11.4g} {r['spread']:18.4f}")
        if args.json:
            write_json(args.json, {"run": args.run, "n": args.n, "seed": args.seed, "sample": args.sample,
                                    "sampler": args.sampler, "rows": rows})
    return 0


def add_commands(sub) -> None:
    """This group's subcommands on the parser's `sub`."""
    s = sub.add_parser("evaluate", help="denoising PSNR on the training set and on fresh data, over noise levels")
    s.add_argument("checkpoint")
    s.add_argument("--n", type=int_in(1, 100_000), default=256, help="images per set")
    s.add_argument("--seed", type=SEED, default=0)
    s.add_argument("--json", default=None)
    s.set_defaults(func=cmd_evaluate)
    s = sub.add_parser("stats", help="power spectrum, histogram and <|m|> of samples against fresh or training data")
    s.add_argument("checkpoint")
    run_arguments(s, n=1000, sampler="ode")
    s.add_argument("--reference", choices=["fresh", "train"], default="fresh",
                   help="fresh data from the generator (MCMC for phi4; as many as --n), or the whole training set "
                        "(the window's reference)")
    s.add_argument("--json", default=None)
    s.add_argument("--samples-out", default=None, help="also save the generated samples (.npy)")
    s.add_argument("--plot", default=None, help="also save the spectrum and histogram plot (PNG)")
    s.set_defaults(func=cmd_stats)
    s = sub.add_parser("field", help="every model of one field against the same data: spectrum, histogram, "
                                     "bi- and trispectrum and parameters (the Statistics tab's table)")
    s.add_argument("models", nargs="+", help="model files of one field (a diffusion checkpoint, a WCRG folder, "
                                             "a scattering model, ...)")
    s.add_argument("--bundled", action="store_true", help="also every bundled model of the first model's field")
    s.add_argument("--n", type=int_in(2, schema.MAX_SAMPLES), default=16, help="samples per model")
    s.add_argument("--seed", type=SEED, default=0)
    s.add_argument("--device", default="cpu", help="auto, cpu or cuda (default cpu)")
    s.add_argument("--reference", choices=["fresh", "train"], default="fresh",
                   help="fresh data from the generator (as many as --reference-n), or the first model's "
                        "recorded training-data statistics (what the window uses)")
    s.add_argument("--reference-n", type=int_in(2, 100000), default=1000, help="fresh fields in the reference")
    s.add_argument("--json", default=None)
    s.set_defaults(func=cmd_field)
    s = sub.add_parser("compare", help="S1 and S2 models from the same noise: similarities and nearest training images")
    s.add_argument("--s1", required=True)
    s.add_argument("--s2", required=True)
    run_arguments(s, n=16, sampler="sde")
    s.add_argument("--k", type=int_in(1, 100), default=3, help="nearest neighbours per sample")
    s.add_argument("--threshold", type=float_in(-1.0, 1.0), default=0.95, help="memorised when cos(nearest own) >= this")
    s.add_argument("--json", default=None)
    s.add_argument("--out", default=None, help="also write both runs: OUT.S1.npz and OUT.S2.npz")
    s.set_defaults(func=cmd_compare)
    s = sub.add_parser("sweep", help="the generalise-or-memorise curves over the bundled S1/S2 pairs (or a folder's), "
                                     "one curve per network size, with the transition N*")
    run_arguments(s, n=16, sampler="sde")
    s.add_argument("--folder", default=None, help="the S1/S2 pairs among this folder's checkpoints "
                   "(e.g. checkpoints/capacity) instead of the bundled ones")
    s.add_argument("--json", default=None)
    s.set_defaults(func=cmd_sweep)
    s = sub.add_parser("basis", help="the denoiser's adaptive basis (Jacobian eigenvectors) at one step of a run")
    s.add_argument("model", help="a model with one denoiser: a diffusion checkpoint or a diffusers folder")
    s.add_argument("--run", default=None, help="a run.npz this model made (default: make one from the run arguments)")
    run_arguments(s, n=1, sampler="ddim")
    s.add_argument("--step", type=int_in(0, 10 ** 6), default=None, help="the frame (default: the middle of the run)")
    s.add_argument("--sample", type=int_in(0, 10 ** 6), default=0)
    s.add_argument("--k", type=int_in(1, 4096), default=16, help="eigenpairs to keep")
    s.add_argument("--out", required=True)
    s.set_defaults(func=cmd_basis)
    s = sub.add_parser("fork", help="re-sample the rest of a run n times from one of its frames: what each noise level decides")
    s.add_argument("run", help="a run.npz written by `explorer sample`")
    s.add_argument("--model", default=None, help="the model that made the run (default: the path the run records)")
    s.add_argument("--step", type=int_in(0, 10 ** 6), default=None, help="the frame to fork from")
    s.add_argument("--n", type=int_in(2, 4096), default=8, help="endings per fork")
    s.add_argument("--seed", type=SEED, default=0)
    s.add_argument("--sample", type=int_in(0, 10 ** 6), default=0, help="which sample of the run")
    s.add_argument("--sampler", default="sde", help="the sampler of the rest (default sde: fresh noise at every step)")
    s.add_argument("--out", default=None, help="the endings as a run file (FORK.npz)")
    s.add_argument("--curve", type=int_in(2, 200), default=None, metavar="K",
                   help="forks at K evenly spaced steps: print the spread of the endings against sigma")
    s.add_argument("--json", default=None, help="with --curve: write the table as JSON")
    s.set_defaults(func=cmd_fork)
