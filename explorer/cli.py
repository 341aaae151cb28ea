"""The `explorer` command: no arguments opens the window; subcommands run headless.

Every command is an adapter over core: it opens a Model with `open_model`, builds a RunSpec and
calls the same core functions as the window. The project's errors (ExplorerError) and OSError on
the user's files become one line on stderr and exit status 2; anything else is a bug and keeps
its traceback.
"""
from __future__ import annotations

import argparse
import os
import shlex
import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from explorer import __version__
from explorer.core.errors import UsageError
from explorer.core.files import schema
from explorer.core.files.io import close_progress_bars, json_text, parse_json, printable, progress_bar

if TYPE_CHECKING:
    from explorer.core.models import RunSpec


class _Parser(argparse.ArgumentParser):
    """argparse, but a bad argument is one line on stderr (and exit status 2), like every other error."""

    def error(self, message: str):
        self.exit(2, f"explorer: error: {self.prog}: {printable(message)} (see {self.prog} --help)\n")


def _in(kind: type, lo, hi):
    """An argparse type: an integer (kind int) or a finite number (kind float) in [lo, hi]."""
    def parse(text: str):
        try:
            v = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text[:40]!r} is not {'an integer' if kind is int else 'a number'}") from None
        if not lo <= v <= hi:
            shown = text[:40] if kind is float else v if abs(v) < 10 ** 20 else text[:20] + "..."
            raise argparse.ArgumentTypeError(f"{shown} is not in {lo}..{hi}")
        return v
    return parse


def _int_in(lo: int, hi: int):
    return _in(int, lo, hi)


def _float_in(lo: float, hi: float):
    return _in(float, lo, hi)


SEED = _int_in(0, schema.MAX_SEED)
STEPS = _int_in(1, schema.MAX_STEPS)
TRAIN_STEPS = _int_in(1, 10_000_000)


def _ints(text: str, what: str) -> list[int]:
    try:
        return [int(v) for v in text.split(",")]
    except ValueError:
        raise UsageError(f"{what} must be comma-separated integers, not {text!r}") from None


def _floats(text: str, what: str) -> list[float]:
    try:
        return [float(v) for v in text.split(",")]
    except ValueError:
        raise UsageError(f"{what} must be comma-separated numbers, not {text!r}") from None


def _spec(args, **fixed) -> "RunSpec":
    """The RunSpec of a command's run arguments (sampler and steps None: the model's defaults)."""
    from explorer.core.models import RunSpec
    values = {k: getattr(args, k) for k in ("sampler", "steps", "n", "seed", "device", "coarse_sampler", "coarse_steps")
              if hasattr(args, k)}
    return RunSpec(**{**values, **fixed})


def cmd_info(args) -> int:
    from explorer.core.models import open_model
    model = open_model(args.checkpoint)
    print(json_text(model.summary(), indent=2) if args.json else printable(model.describe()))
    return 0


def cmd_sample(args) -> int:
    from explorer.core.files.io import check_outputs
    from explorer.core.models import open_model
    from explorer.core.sampling.trajectory import drain

    (out,) = check_outputs([args.out], [args.checkpoint])
    model = open_model(args.checkpoint)
    spec = _spec(args, final_denoise=not args.no_final_denoise).resolved(model)
    with progress_bar(model.frame_count(spec), printable(f"{spec.sampler} {model.name}")) as bar:
        traj = drain(model.run(spec), callback=lambda f: bar.update(1))
    path = traj.save_npz(out)
    scales = sorted({f.scale for f in traj.frames if f.scale is not None}, reverse=True)
    print(f"wrote {path}: {len(traj.frames)} frames of {tuple(traj.frames[0].x_t.shape)}"
          + (f" over scales {scales}" if scales else ""), file=sys.stderr)
    return 0


def _data_record(args) -> dict:
    """The data record of `explorer train ...` arguments (what the checkpoint will store), checked."""
    from explorer.core.data import check_record

    params = parse_json(args.data_params or "{}", "--data-params", UsageError)
    if not isinstance(params, dict):
        raise UsageError("--data-params must be a JSON object, e.g. '{\"beta\": 0.69}'")
    data = {"name": "user" if args.data not in ("shapes", "phi4", "turbulence") else args.data, "n": args.n,
            "split": args.split, "seed": args.data_seed, "params": params}
    if data["name"] == "user":
        data["path"] = str(Path(args.data).resolve())
        data["params"].setdefault("size", args.size)
        if args.channels is None:
            from explorer.core.data import user
            args.channels = user.channels(data["path"])
            if args.channels == 3:
                print("explorer: the images are in colour: training with 3 channels (--channels 1 for grey)",
                      file=sys.stderr)
        data["params"].setdefault("channels", args.channels)
    args.channels = args.channels or 1
    if data["name"] in ("shapes", "turbulence"):
        data["params"].setdefault("size", args.size)
    if data["name"] == "phi4":
        data["params"].setdefault("L", args.size)
    return check_record(data, "--data and --data-params", UsageError)


def _command_line() -> str:
    return "explorer " + " ".join(shlex.quote(a) for a in sys.argv[1:])


def cmd_train(args) -> int:
    from explorer.core.data import PERIODIC
    from explorer.core.nets.unet import UNetConfig
    from explorer.core.training.train import TrainConfig, train_diffusion

    data = _data_record(args)
    arch = UNetConfig(channels=args.channels, size=args.size, widths=_ints(args.widths, "--widths"),
                      blocks=args.blocks, bias_free=args.bias_free,
                      padding="circular" if data["name"] in PERIODIC else "zeros")
    arch.check_budget("--widths, --size and --blocks")
    tc = TrainConfig(steps=args.steps, batch=args.batch, lr=args.lr, seed=args.seed, bf16=args.bf16,
                     save_every=args.save_every, lr_schedule=args.lr_schedule, monitor_every=args.monitor_every,
                     noise_levels=args.noise_levels and _floats(args.noise_levels, "--noise-levels"))
    ckpt = train_diffusion(data, arch, args.out, tc, args.device, name=args.name, description=args.description,
                           command=_command_line(), init=args.init)
    t = ckpt.config["training"]
    from explorer.core.training.distributed import world
    if not world().main:
        return 0
    print(f"wrote {ckpt.path}: {ckpt.parameters:,} parameters, final loss {t['final_loss']:.4f}, "
          f"{t['seconds_this_run']} s ({t['steps_per_second']} steps/s)", file=sys.stderr)
    return 0


def cmd_train_wcrg(args) -> int:
    from explorer.core.data import PERIODIC
    from explorer.core.training import wcrg
    from explorer.core.training.train import TrainConfig

    data = _data_record(args)
    recipe = wcrg.WCRGRecipe(levels=args.J, wavelet=args.wavelet,
                             coarse_widths=_ints(args.widths, "--widths"),
                             conditional_widths=_ints(args.cond_widths, "--cond-widths"), blocks=args.blocks,
                             shared=args.shared,
                             padding="circular" if data["name"] in PERIODIC else "zeros")
    tc = dict(batch=args.batch, lr=args.lr, seed=args.seed, bf16=args.bf16, save_every=args.save_every,
              lr_schedule=args.lr_schedule, monitor_every=args.monitor_every)
    model = wcrg.train(data, recipe, args.out, TrainConfig(steps=args.steps, **tc),
                       TrainConfig(steps=args.cond_steps or args.steps, **tc), args.device, name=args.name,
                       description=args.description, command=_command_line())
    print(model.describe(), file=sys.stderr)
    return 0


def cmd_train_scattering(args) -> int:
    from explorer.core.models import scattering_model
    from explorer.core.statistics.scattering import ScatteringConfig

    data = _data_record(args)
    if args.channels != 1:
        raise UsageError("a scattering model is of one-channel fields: use --channels 1")
    J = args.J if args.J is not None else max(1, args.size.bit_length() - 2)          # log2(size) - 1
    bank = ScatteringConfig.from_dict({"size": args.size, "J": J, "L": args.L, "isotropic": not args.anisotropic,
                                       "scale_invariant": args.scale_invariant, "shells": args.shells or 0},
                                      "--size, --J, --L and --shells", UsageError)
    if args.shells is None:
        bank = replace(bank, shells=None)                                      # every shell the data resolve
    model = scattering_model.fit(data, bank, args.out, name=args.name, description=args.description,
                                 command=_command_line())
    print(model.describe(), file=sys.stderr)
    return 0


def cmd_train_gaussian(args) -> int:
    from explorer.core.models import gaussian_model

    data = _data_record(args)
    if args.channels != 1:
        raise UsageError("a Gaussian model is of one-channel fields: use --channels 1")
    model = gaussian_model.fit(data, args.out, name=args.name, description=args.description, command=_command_line())
    print(model.describe(), file=sys.stderr)
    return 0


def cmd_data(args) -> int:
    import numpy as np

    from explorer.core.data import training_set
    from explorer.core.files.io import atomic_write, check_outputs
    from explorer.core.models import open_model

    (out,) = check_outputs([args.out], [args.checkpoint])
    x = training_set(open_model(args.checkpoint).data)
    atomic_write(out, lambda f: np.save(f, x.astype(np.float32), allow_pickle=False))
    print(f"wrote {args.out}: {x.shape} float32", file=sys.stderr)
    return 0


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
        _write_json(args.json, table)
    return 0


def _write_json(path: str, value) -> None:
    from explorer.core.files.io import atomic_write
    atomic_write(Path(path), lambda f: f.write((json_text(value) + "\n").encode()))


def cmd_phi4(args) -> int:
    from explorer.core.data import phi4
    from explorer.core.files.io import check_output

    if args.out:
        check_output(args.out)
    if args.action == "critical":
        sizes = [schema.number(L, "a size in --sizes", UsageError, 4, 256) for L in _ints(args.sizes, "--sizes")]
        betas = _floats(args.betas, "--betas")
        for b in betas:
            schema.number(b, "a value of --betas", UsageError, 0.01, 10.0, kind=float)
        _check_chains(args.chains, max(sizes))
        res = phi4.critical_point(sizes, betas, args.lam, chains=args.chains, burn_in=args.burn_in,
                                  measure=args.measure, log=lambda s: print(s, file=sys.stderr))
        res["command"] = _command_line()
        print(f"beta_c = {res['beta_c']:.4f} ± {res['error']:.4f} (lam = {args.lam}, Binder crossing of L = {sizes})")
    else:
        _check_chains(2 * args.chains, args.L)              # hot and cold starts
        res = phi4.equilibrium(args.L, args.beta, args.lam, chains=args.chains, sweeps=args.sweeps,
                               log=lambda s: print(s, file=sys.stderr))
        for row in res["curve"]:
            print(f"sweep {row['sweep']:6d}  <|m|> hot start {row['hot']:.4f}  cold start {row['cold']:.4f}")
        print(f"burn-in {res['burn_in']} sweeps; tau_int(|m|) = {res['tau_int_abs_m']:.0f} sweeps; "
              f"{res['seconds_per_sweep_per_1000_chains'] * 1000:.1f} ms per sweep of 1000 chains")
    if args.out:
        _write_json(args.out, res)
    return 0


def cmd_turbulence(args) -> int:
    from explorer.core.data import PARAMS, check_record, turbulence
    from explorer.core.files.io import check_output

    if args.out:
        check_output(args.out)
    params = parse_json(args.data_params or "{}", "--data-params", UsageError)
    if not isinstance(params, dict) or "size" in params:
        raise UsageError("--data-params must be a JSON object of turbulence parameters other than the size, "
                         f"e.g. '{{\"mu\": 0.05}}'; they are {', '.join(k for k in PARAMS['turbulence'] if k != 'size')}")
    params["size"] = args.size
    check_record({"name": "turbulence", "n": 1, "params": params}, "--size and --data-params", UsageError)
    need = args.runs * args.size ** 2 * (200 + 4 * args.duration / args.every)     # solver arrays, kept snapshots
    if need > 2 ** 30:
        raise UsageError(f"{args.runs} runs of {args.size} x {args.size} recorded {args.duration / args.every:.0f} times "
                         f"need {need / 2 ** 30:.1f} GiB, more than the 1 GiB explorer holds; lower --runs or raise --every")
    res = turbulence.spin_up(runs=args.runs, duration=args.duration, every=args.every,
                             log=lambda s: print(s, file=sys.stderr), **params)
    for row in res["curve"][::max(1, len(res["curve"]) // 40)]:
        print(f"t {row['t']:7.1f}  E {row['E']:.4f}  Z {row['Z']:.4f}")
    print(f"stationary E = {res['E']:.4f}, Z = {res['Z']:.4f}; spin-up {res['spin_up']:.1f} time units (both within "
          f"{turbulence.STATIONARY_TOLERANCE:.0%}); L_int = {res['L_int']:.3f}, u_rms = {res['u_rms']:.3f}, "
          f"turnover T = {res['T']:.2f}; tau_int(omega) = {res['tau_int']:.2f}; omega_rms = {res['omega_rms']:.3f}, "
          f"kurtosis {res['kurtosis']:.2f}; {res['seconds_per_step_per_run'] * 1e3:.2f} ms per step per run"
          + ("" if res["enough"] else "; NOT stationary in the first half of the window: measure longer"))
    if args.out:
        res["command"] = _command_line()
        _write_json(args.out, res)
    return 0


def _check_chains(chains: int, L: int) -> None:
    """Markov chains of L x L fields held at once: at most 1 GiB of float32."""
    need = chains * L * L * 4
    if need > 2 ** 30:
        raise UsageError(f"{chains} chains of {L} x {L} fields need {need / 2 ** 30:.1f} GiB, more than the 1 GiB "
                         "explorer holds; lower --chains")


def _data_arguments(t) -> None:
    t.add_argument("--data", required=True, help="shapes, phi4, turbulence, or a folder of images / a .npy or .npz array")
    t.add_argument("--data-params", default=None, help="JSON of generator parameters, e.g. '{\"beta\": 0.69}'")
    t.add_argument("--data-seed", type=SEED, default=0)
    t.add_argument("--n", type=_int_in(1, schema.MAX_TRAIN_IMAGES), required=True, help="training-set size N")
    t.add_argument("--split", choices=["S1", "S2", "all"], default="S1")
    t.add_argument("--size", type=_int_in(4, schema.MAX_SIZE), default=32)
    t.add_argument("--channels", type=int, choices=[1, 3], default=None,
                   help="1 (grey) or 3 (colour); default: 3 for colour images of your own, else 1")


def _fit_arguments(t) -> None:
    t.add_argument("--blocks", type=_int_in(1, 16), default=1)
    t.add_argument("--steps", type=TRAIN_STEPS, default=3000)
    t.add_argument("--batch", type=_int_in(1, 4096), default=64)
    t.add_argument("--lr", type=_float_in(1e-8, 1.0), default=2e-3)
    t.add_argument("--lr-schedule", choices=["constant", "cosine"], default="constant",
                   help="cosine: decay to lr/50 at the last step")
    t.add_argument("--monitor-every", type=_int_in(0, 10_000_000), default=0,
                   help="record the training-set denoising error at the lowest noise levels every K steps")
    t.add_argument("--seed", type=SEED, default=0)
    t.add_argument("--bf16", action="store_true", help="bf16 autocast (faster on recent CPUs)")
    t.add_argument("--save-every", type=TRAIN_STEPS, default=500)
    t.add_argument("--device", default="auto")
    t.add_argument("--name", default=None)
    t.add_argument("--description", default="")
    t.add_argument("--out", required=True)


def _run_arguments(s, n: int, sampler: str | None = None) -> None:
    s.add_argument("--sampler", default=sampler, help="sde, ode, ddim, ascent, ... (default: "
                   + (sampler or "the model's first") + "; `explorer info` lists a model's)")
    s.add_argument("--steps", type=STEPS, default=None, help="default: the model's for that sampler "
                   "(a WCRG model: per scale; the ascent: the most iterations)")
    s.add_argument("--n", type=_int_in(1, schema.MAX_SAMPLES), default=n, help="number of samples")
    s.add_argument("--seed", type=SEED, default=0)
    s.add_argument("--device", default="cpu", help="auto, cpu or cuda (default cpu)")
    s.add_argument("--coarse-sampler", default=None, help="a WCRG model: the sampler of its coarse scale x_J "
                   "(default: that of the details)")
    s.add_argument("--coarse-steps", type=STEPS, default=None, help="a WCRG model: the steps of x_J (default: "
                   "those of the details)")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="explorer", description="Watch generative models build images and fields. "
                                "Without a command, opens the window.")
    p.add_argument("--version", action="version", version=f"explorer {__version__}")
    sub = p.add_subparsers(dest="command")

    s = sub.add_parser("info", help="print a checkpoint's config and parameter count")
    s.add_argument("checkpoint")
    s.add_argument("--json", action="store_true", help="print the same as JSON")
    s.set_defaults(func=cmd_info)

    s = sub.add_parser("sample", help="run any model (checkpoint, WCRG folder, ...); write the whole trajectory to .npz")
    s.add_argument("checkpoint", help="a .safetensors checkpoint, a WCRG folder, or any model explorer opens")
    _run_arguments(s, n=16)
    s.add_argument("--no-final-denoise", action="store_true")
    s.add_argument("--out", required=True)
    s.set_defaults(func=cmd_sample)

    s = sub.add_parser("train", help="train a model")
    tsub = s.add_subparsers(dest="model", required=True)
    t = tsub.add_parser("diffusion", help="train a diffusion denoiser")
    _data_arguments(t)
    t.add_argument("--widths", default="16,32,64")
    t.add_argument("--bias-free", action="store_true")
    t.add_argument("--init", default=None, help="start from this checkpoint's weights (same data and network); "
                                                 "its training record is kept in the new file's")
    t.add_argument("--noise-levels", default=None, metavar="LO,HI",
                   help="half of each batch draws sigma/alpha log-uniformly in [LO, HI], the other half as "
                        "without it (over the whole sampler range, half where images form); with --init, a stage "
                        "that sharpens the lowest levels")
    _fit_arguments(t)
    t.set_defaults(func=cmd_train)

    t = tsub.add_parser("wcrg", help="train a wavelet-RG model: the coarse x_J and one conditional model per scale")
    _data_arguments(t)
    t.add_argument("--J", "--levels", dest="J", type=_int_in(1, 8), default=2, help="J: the wavelet depth")
    t.add_argument("--wavelet", default="haar", help="an orthogonal PyWavelets wavelet: haar, db2, db4, ...")
    t.add_argument("--widths", default="32,64", help="U-Net widths of the coarse model")
    t.add_argument("--cond-widths", default="32,64", help="U-Net widths of the conditional models")
    t.add_argument("--cond-steps", type=TRAIN_STEPS, default=None, help="training steps per scale (default: --steps)")
    t.add_argument("--shared", action="store_true", help="one conditional network for all scales (default: one per scale)")
    _fit_arguments(t)
    t.set_defaults(func=cmd_train_wcrg)

    t = tsub.add_parser("scattering", help="a scattering-spectra model: the statistics Phi of the training set (no network)")
    _data_arguments(t)
    t.add_argument("--J", type=_int_in(1, 8), default=None, help="wavelet scales (default log2(size) - 1)")
    t.add_argument("--L", type=_int_in(1, 16), default=4, help="wavelet angles in [0, pi)")
    t.add_argument("--anisotropic", action="store_true", help="keep every angle (default: the isotropic reduction)")
    t.add_argument("--scale-invariant", action="store_true", help="S3 and S4 by scale differences only")
    t.add_argument("--shells", type=_int_in(0, 128), default=None,
                   help="match the power P(k) of the shells |k| = 1..SHELLS too (default: every shell the data "
                        "resolve: size/3 for dealiased turbulence, else size/2; 0: the wavelet statistics only)")
    t.add_argument("--name", default=None)
    t.add_argument("--description", default="")
    t.add_argument("--out", required=True, help="NAME.scat.safetensors")
    t.set_defaults(func=cmd_train_scattering)

    t = tsub.add_parser("gaussian", help="a Gaussian model: the training set's mean and isotropic power spectrum")
    _data_arguments(t)
    t.add_argument("--name", default=None)
    t.add_argument("--description", default="")
    t.add_argument("--out", required=True, help="NAME.gauss.safetensors")
    t.set_defaults(func=cmd_train_gaussian)

    s = sub.add_parser("data", help="write a checkpoint's exact training set (N, C, H, W) float32 to .npy")
    s.add_argument("checkpoint")
    s.add_argument("--out", required=True)
    s.set_defaults(func=cmd_data)

    s = sub.add_parser("evaluate", help="denoising PSNR on the training set and on fresh data, over noise levels")
    s.add_argument("checkpoint")
    s.add_argument("--n", type=_int_in(1, 100_000), default=256, help="images per set")
    s.add_argument("--seed", type=SEED, default=0)
    s.add_argument("--json", default=None)
    s.set_defaults(func=cmd_evaluate)

    s = sub.add_parser("phi4", help="phi^4 Monte Carlo: locate the critical point, measure equilibration")
    s.add_argument("action", choices=["critical", "equilibrium"])
    s.add_argument("--sizes", default="16,32", help="lattice sizes for the Binder crossing")
    s.add_argument("--betas", default="0.64,0.66,0.68,0.70,0.72")
    s.add_argument("--lam", type=_float_in(0.0, 100.0), default=0.5)
    s.add_argument("--L", type=_int_in(4, 256), default=32)
    s.add_argument("--beta", type=_float_in(0.01, 10.0), default=None, help="default: the recorded critical beta")
    s.add_argument("--chains", type=_int_in(1, 100_000), default=256)
    s.add_argument("--burn-in", type=_int_in(0, 10_000_000), default=2000)
    s.add_argument("--measure", type=_int_in(1, 10_000_000), default=2000)
    s.add_argument("--sweeps", type=_int_in(1, 10_000_000), default=8000)
    s.add_argument("--out", default=None, help="write the result as JSON")
    s.set_defaults(func=cmd_phi4)

    s = sub.add_parser("turbulence", help="2-D turbulence: spin-up from rest, turnover time, vorticity statistics")
    s.add_argument("--size", type=_int_in(16, 256), default=64)
    s.add_argument("--data-params", default=None, help="JSON of solver parameters, e.g. '{\"mu\": 0.05, \"dt\": 0.01}'")
    s.add_argument("--runs", type=_int_in(1, 4096), default=16, help="runs averaged together")
    s.add_argument("--duration", type=_float_in(1.0, 1e5), default=120.0, help="time units from rest")
    s.add_argument("--every", type=_float_in(1e-3, 1e3), default=1.0, help="time between recorded points")
    s.add_argument("--out", default=None, help="write the result as JSON")
    s.set_defaults(func=cmd_turbulence)

    s = sub.add_parser("export", help="export a run (.npz) as PNG frames, a GIF and a contact sheet")
    s.add_argument("run")
    s.add_argument("--gif", default=None)
    s.add_argument("--gif-frames", type=_int_in(2, 1000), default=40, help="at most this many frames in the GIF, evenly spaced")
    s.add_argument("--frames", default=None, help="folder for frame_0000.png, ...")
    s.add_argument("--sheet", default=None, help="contact sheet PNG (steps x samples)")
    s.add_argument("--png", default=None, help="one frame as PNG (see --step)")
    s.add_argument("--step", type=_int_in(-10 ** 9, 10 ** 9), default=None, help="frame index for --png (default: the last)")
    s.add_argument("--rows", type=_int_in(1, 1000), default=8, help="steps in the contact sheet")
    s.add_argument("--strip", default=None, help="coarse-to-fine strip PNG of the final samples: x_J ... x_0")
    s.add_argument("--J", "--levels-j", dest="J", type=_int_in(1, 16), default=None,
                   help="J for --strip (default: the run's, else 3)")
    s.add_argument("--wavelet", default=None, help="wavelet for --strip (default: the run's, else haar)")
    s.add_argument("--cmap", choices=["grey", "diverging"], default=None,
                   help="default: the run's own (diverging for signed fields, as the window), else grey")
    s.add_argument("--display-range", "--levels", dest="display_range", type=_float_in(-1e30, 1e30), nargs=2, default=None,
                   metavar=("LOW", "HIGH"), help="the x0_hat values shown black and white (default: the final x0_hat's 0.5-99.5 "
                        "percentiles); x_t always gets each frame's own")
    s.set_defaults(func=cmd_export)

    s = sub.add_parser("screenshot", help="open the window offscreen, run, go to a step, save the window as PNG")
    s.add_argument("out")
    s.add_argument("--checkpoint", default=None)
    s.add_argument("--step", type=_int_in(-10 ** 9, 10 ** 9), default=None, help="default: the middle of the run")
    s.add_argument("--view", choices=["trajectory", "scales", "compare", "statistics"], default="trajectory")
    s.add_argument("--pair", type=_int_in(0, 1000), default=None, help="with --view compare: index of the bundled S1/S2 pair")
    s.add_argument("--sampler", default=None, help="default: the model's")
    s.add_argument("--steps", type=STEPS, default=None)
    s.add_argument("--n", type=_int_in(1, schema.MAX_SAMPLES), default=None)
    s.add_argument("--seed", type=SEED, default=None)
    s.set_defaults(func=cmd_screenshot)

    s = sub.add_parser("stats", help="power spectrum, histogram and <|m|> of samples against fresh or training data")
    s.add_argument("checkpoint")
    _run_arguments(s, n=1000, sampler="ode")
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
    s.add_argument("--n", type=_int_in(2, schema.MAX_SAMPLES), default=16, help="samples per model")
    s.add_argument("--seed", type=SEED, default=0)
    s.add_argument("--device", default="cpu", help="auto, cpu or cuda (default cpu)")
    s.add_argument("--reference", choices=["fresh", "train"], default="fresh",
                   help="fresh data from the generator (as many as --reference-n), or the first model's "
                        "recorded training-data statistics (what the window uses)")
    s.add_argument("--reference-n", type=_int_in(2, 100000), default=1000, help="fresh fields in the reference")
    s.add_argument("--json", default=None)
    s.set_defaults(func=cmd_field)

    s = sub.add_parser("compare", help="S1 and S2 models from the same noise: similarities and nearest training images")
    s.add_argument("--s1", required=True)
    s.add_argument("--s2", required=True)
    _run_arguments(s, n=16, sampler="sde")
    s.add_argument("--k", type=_int_in(1, 100), default=3, help="nearest neighbours per sample")
    s.add_argument("--threshold", type=_float_in(-1.0, 1.0), default=0.95, help="memorised when cos(nearest own) >= this")
    s.add_argument("--json", default=None)
    s.add_argument("--out", default=None, help="also write both runs: OUT.S1.npz and OUT.S2.npz")
    s.set_defaults(func=cmd_compare)

    s = sub.add_parser("sweep", help="the generalise-or-memorise curves over the bundled S1/S2 pairs (or a folder's), "
                                     "one curve per network size, with the transition N*")
    _run_arguments(s, n=16, sampler="sde")
    s.add_argument("--folder", default=None, help="the S1/S2 pairs among this folder's checkpoints "
                   "(e.g. checkpoints/capacity) instead of the bundled ones")
    s.add_argument("--json", default=None)
    s.set_defaults(func=cmd_sweep)

    s = sub.add_parser("basis", help="the denoiser's adaptive basis (Jacobian eigenvectors) at one step of a run")
    s.add_argument("model", help="a model with one denoiser: a diffusion checkpoint or a diffusers folder")
    s.add_argument("--run", default=None, help="a run.npz this model made (default: make one from the run arguments)")
    _run_arguments(s, n=1, sampler="ddim")
    s.add_argument("--step", type=_int_in(0, 10 ** 6), default=None, help="the frame (default: the middle of the run)")
    s.add_argument("--sample", type=_int_in(0, 10 ** 6), default=0)
    s.add_argument("--k", type=_int_in(1, 4096), default=16, help="eigenpairs to keep")
    s.add_argument("--out", required=True)
    s.set_defaults(func=cmd_basis)

    s = sub.add_parser("fork", help="re-sample the rest of a run n times from one of its frames: what each noise level decides")
    s.add_argument("run", help="a run.npz written by `explorer sample`")
    s.add_argument("--model", default=None, help="the model that made the run (default: the path the run records)")
    s.add_argument("--step", type=_int_in(0, 10 ** 6), default=None, help="the frame to fork from")
    s.add_argument("--n", type=_int_in(2, 4096), default=8, help="endings per fork")
    s.add_argument("--seed", type=SEED, default=0)
    s.add_argument("--sample", type=_int_in(0, 10 ** 6), default=0, help="which sample of the run")
    s.add_argument("--sampler", default="sde", help="the sampler of the rest (default sde: fresh noise at every step)")
    s.add_argument("--out", default=None, help="the endings as a run file (FORK.npz)")
    s.add_argument("--curve", type=_int_in(2, 200), default=None, metavar="K",
                   help="forks at K evenly spaced steps: print the spread of the endings against sigma")
    s.add_argument("--json", default=None, help="with --curve: write the table as JSON")
    s.set_defaults(func=cmd_fork)

    s = sub.add_parser("gui", help="open the window (the same as no command)")
    s.add_argument("checkpoint", nargs="?")
    s.set_defaults(func=cmd_gui)
    return p


def cmd_screenshot(args) -> int:
    from explorer.app.screenshot import screenshot
    out = screenshot(Path(args.out), args.checkpoint, args.step, args.view, sampler=args.sampler, steps=args.steps,
                     n=args.n, seed=args.seed, pair=args.pair)
    print(f"wrote {out}", file=sys.stderr)
    return 0


def cmd_export(args) -> int:
    """Every target checked first; all written, or (on any failure) none."""
    from explorer.core.display import export
    from explorer.core.display.render import COLORMAPS
    from explorer.core.files.io import all_or_nothing, check_output_folder, check_outputs
    from explorer.core.sampling.trajectory import Trajectory

    files = {k: Path(getattr(args, k)) for k in ("png", "gif", "sheet", "strip") if getattr(args, k)}
    if not (files or args.frames):
        raise UsageError("say what to export: --gif FILE, --frames DIR, --sheet FILE, --strip FILE and/or --png FILE")
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
            if frames is not None:
                with progress_bar(len(traj.frames), "frames") as bar:
                    export.save_frame_sequence(frames, traj, "both", **shown, progress=lambda k, n: bar.update(1))
    except BaseException:
        if created and frames.is_dir() and not any(frames.iterdir()):
            frames.rmdir()
        raise
    written = [f"{what} {path}" for what, path in files.items()]
    written += [f"{len(traj.frames)} frames into {frames}"] if frames else []
    print(printable(f"exported from {args.run} (of {len(traj.frames)} frames): {'; '.join(written)}"), file=sys.stderr)
    return 0


def cmd_stats(args) -> int:
    import numpy as np

    from explorer.core.data import fresh_images, resolved_k, training_set
    from explorer.core.files.io import atomic_write, check_outputs
    from explorer.core.models import final_samples, open_model, run_meta
    from explorer.core.statistics import stats

    check_outputs([o for o in (args.json, args.samples_out, args.plot) if o], [args.checkpoint])
    model = open_model(args.checkpoint)
    spec = _spec(args, keep_frames=False).resolved(model)
    data = model.data
    ref = fresh_images(data, spec.n) if args.reference == "fresh" else training_set(data)
    with progress_bar(spec.n, "sampling") as bar:
        gen = final_samples(model, spec, progress=lambda done, total: bar.update(done - bar.n))
    res = stats.compare(gen, ref, resolved_k(data))
    res |= {**run_meta(model, spec), "reference": args.reference}
    print(stats.format_table(res))
    if args.json:
        _write_json(args.json, res)
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
    from explorer.core.data import fresh_images, resolved_k
    from explorer.core.files.io import check_outputs
    from explorer.core.models import open_model
    from explorer.core.sampling.trajectory import drain
    from explorer.core.statistics import stats

    check_outputs([args.json] if args.json else [], args.models)
    models = [open_model(m) for m in args.models]
    h2h.check_one_field(models)
    if args.bundled:
        bundled = h2h.bundled_of_field(models[0], lambda file, err: print(f"explorer: left out {file}: {err}",
                                                                         file=sys.stderr))
        models = h2h.same_field(models[0], models[1:] + bundled[1:])
    data = models[0].data
    if args.reference == "train":
        reference = data.get("stats")
        if reference is None:
            raise UsageError(f"{models[0].name} records no statistics of its training data: use --reference fresh")
        label = f"the training data of {models[0].name} ({reference['n']} fields)"
    else:
        if data.get("name") == "user":
            raise UsageError("data of your own have no generator to draw fresh fields from: use --reference train")
        print(f"making {args.reference_n} fresh {data.get('name')} fields for the reference…", file=sys.stderr)
        reference = stats.summary(fresh_images(data, args.reference_n), k_max=resolved_k(data))
        label = f"{args.reference_n} fresh {data.get('name')} fields"
    total = h2h.total_frames(models, args.n, args.seed)
    with progress_bar(total, f"{len(models)} models") as bar:
        rows = drain(h2h.table_steps(models, reference, args.n, args.seed, args.device), callback=lambda _: bar.update(1))
    print(h2h.format_rows(rows, label))
    if args.json:
        _write_json(args.json, {"reference": label, "n": args.n, "seed": args.seed, "rows": rows})
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
    res = gen.compare(model1, model2, _spec(args), args.k, args.threshold)
    traj1, traj2 = res.pop("trajectories")
    print(f"{'sample':>6} {'cos(S1,S2)':>10} {'S1: nearest own (L2 ratio, cos)':>34} {'S2: nearest own (L2 ratio, cos)':>34}")
    for r in res["samples"]:
        cells = [f"#{r[s]['nearest_own_l2'][0]} ({r[s]['l2_ratio']:.2f}, {r[s]['cos_own'][0]:.3f})"
                 + (" C" if r[s]["memorised"] else "  ") for s in ("S1", "S2")]
        print(f"{r['sample']:6d} {r['cos_s1_s2']:10.3f} {cells[0]:>34} {cells[1]:>34}")
    sm, b = res["summary"], res["baseline"]
    print(f"median cos(S1,S2) {sm['cos_s1_s2_median']:.3f}; median cos(nearest own) {sm['cos_nearest_own_median']:.3f}; "
          f"{gen.summary_text(sm)}; "
          + (f"fresh-image baseline: median nearest cos {b['median']:.3f}" if b else
             "no fresh-image baseline (the data set has no generator of fresh images)") + "  (C = copies)")
    if args.json:
        _write_json(args.json, res)
    for traj, out in zip((traj1, traj2), outs):
        traj.save_npz(out)
    return 0


def cmd_sweep(args) -> int:
    from explorer.core.analysis import generalization as gen
    from explorer.core.files.io import check_output
    from explorer.core.models import checkpoint

    if args.json:
        check_output(args.json)
    if args.folder:
        if not Path(args.folder).is_dir():
            raise UsageError(f"{args.folder}: not a folder")
        paths = sorted(Path(args.folder).glob("*.safetensors"))
    else:
        paths = [checkpoint.bundled_dir() / e["file"] for e in checkpoint.bundled_index() if e["kind"] == "diffusion"]
    groups = gen.pair_groups(paths)
    if not groups:
        raise UsageError(f"no S1/S2 pairs among the checkpoints in {args.folder or checkpoint.bundled_dir()}")
    curves = gen.sweep_groups(_spec(args), groups, log=print)
    if args.json:
        _write_json(args.json, {"sampler": args.sampler, "steps": args.steps, "n": args.n, "seed": args.seed,
                                "command": _command_line(), "curves": curves})
    return 0


def cmd_basis(args) -> int:
    """The denoiser's adaptive basis at step K of a run (the run made here from the seed, or --run)."""
    import numpy as np
    import torch

    from explorer.core.analysis.basis import basis
    from explorer.core.files.io import atomic_write, check_outputs
    from explorer.core.models import check_made_by, open_model
    from explorer.core.sampling.trajectory import Trajectory, drain

    (out,) = check_outputs([args.out], [args.model] + ([args.run] if args.run else []))
    model = open_model(args.model)
    denoiser = model.denoiser
    if denoiser is None:
        raise UsageError(f"{model.name} has no single denoiser x0_hat(x_t, t) (a {model.kind} model)")
    if args.run:
        traj = Trajectory.load_npz(args.run)
        check_made_by(model, traj.meta, args.run)
    else:
        spec = _spec(args).resolved(model)
        with progress_bar(model.frame_count(spec), printable(f"{spec.sampler} {model.name}")) as bar:
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
            _write_json(args.json, {"run": args.run, "n": args.n, "seed": args.seed, "sample": args.sample,
                                    "sampler": args.sampler, "rows": rows})
    return 0


def cmd_gui(args) -> int:
    from explorer.app.main_window import launch
    return launch(getattr(args, "checkpoint", None))


def main(argv: list[str] | None = None) -> int:
    from explorer.core.errors import ExplorerError

    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        args.func = cmd_gui
    try:
        code = args.func(args)
        sys.stdout.flush()               # a closed pipe shows here, not at exit
        return code
    except BrokenPipeError:              # `explorer info | head`: the reader has gone, nothing more to say
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except ExplorerError as e:
        return _fail(str(e))
    except OSError as e:                 # the user's own files: permissions, a full disk, ...
        return _fail((f"{e.filename}: " if e.filename else "") + str(e.strerror or e))
    except KeyboardInterrupt:
        close_progress_bars()
        print("explorer: interrupted", file=sys.stderr)
        return 130


def _fail(message: str) -> int:
    """One line on stderr (after ending any progress bar's line), exit status 2."""
    close_progress_bars()
    print(f"explorer: error: {printable(message).replace(chr(10), ' ')}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
