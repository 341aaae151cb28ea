"""How each kind of model is made: train diffusion | wcrg | scattering | gaussian, and a model's exact training set (data)."""
from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

from explorer.cli.arguments import TRAIN_STEPS, command_line, data_arguments, fit_arguments, floats, int_in, ints
from explorer.core.errors import UsageError
from explorer.core.files.io import check_not_input, parse_json


def data_record(args) -> dict:
    """The data record of `explorer train ...` arguments (`data.make_record`); args.channels set
    to the images' channels; --out checked to be none of the inputs (--data, --init)."""
    from explorer.core.data import make_record

    params = parse_json(args.data_params or "{}", "--data-params", UsageError)
    if not isinstance(params, dict):
        raise UsageError("--data-params must be a JSON object, e.g. '{\"beta\": 0.69}'")
    data = make_record(args.data, args.n, args.split, args.data_seed, params, args.size, args.channels,
                       "--data and --data-params", UsageError)
    if args.channels is None and data["params"].get("channels") == 3:
        print("explorer: the images are in colour: training with 3 channels (--channels 1 for grey)", file=sys.stderr)
    args.channels = data["params"].get("channels") or args.channels or 1
    check_not_input(args.out, [p for p in (args.data, vars(args).get("init")) if p and Path(p).exists()])
    return data


def cmd_train(args) -> int:
    from explorer.core.data import PERIODIC
    from explorer.core.nets.unet import UNetConfig
    from explorer.core.training.train import TrainConfig, train_diffusion

    data = data_record(args)
    arch = UNetConfig(channels=args.channels, size=args.size, widths=ints(args.widths, "--widths"),
                      blocks=args.blocks, bias_free=args.bias_free,
                      padding="circular" if data["name"] in PERIODIC else "zeros")
    arch.check_budget("--widths, --size and --blocks")
    tc = TrainConfig(steps=args.steps, batch=args.batch, lr=args.lr, seed=args.seed, bf16=args.bf16,
                     save_every=args.save_every, lr_schedule=args.lr_schedule, monitor_every=args.monitor_every,
                     noise_levels=args.noise_levels and floats(args.noise_levels, "--noise-levels"))
    ckpt = train_diffusion(data, arch, args.out, tc, args.device, name=args.name, description=args.description,
                           command=command_line(), init=args.init)
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

    data = data_record(args)
    recipe = wcrg.WCRGRecipe(levels=args.J, wavelet=args.wavelet,
                             coarse_widths=ints(args.widths, "--widths"),
                             conditional_widths=ints(args.cond_widths, "--cond-widths"), blocks=args.blocks,
                             shared=args.shared,
                             padding="circular" if data["name"] in PERIODIC else "zeros")
    tc = dict(batch=args.batch, lr=args.lr, seed=args.seed, bf16=args.bf16, save_every=args.save_every,
              lr_schedule=args.lr_schedule, monitor_every=args.monitor_every)
    model = wcrg.train(data, recipe, args.out, TrainConfig(steps=args.steps, **tc),
                       TrainConfig(steps=args.cond_steps or args.steps, **tc), args.device, name=args.name,
                       description=args.description, command=command_line())
    print(model.describe(), file=sys.stderr)
    return 0

def cmd_train_scattering(args) -> int:
    from explorer.core.models import scattering_model
    from explorer.core.statistics.scattering import ScatteringConfig

    data = data_record(args)
    if args.channels != 1:
        raise UsageError("a scattering model is of one-channel fields: use --channels 1")
    J = args.J if args.J is not None else max(1, args.size.bit_length() - 2)          # log2(size) - 1
    bank = ScatteringConfig.from_dict({"size": args.size, "J": J, "L": args.L, "isotropic": not args.anisotropic,
                                       "scale_invariant": args.scale_invariant, "shells": args.shells or 0,
                                       "moments": args.moments},
                                      "--size, --J, --L and --shells", UsageError)
    if args.shells is None:
        bank = replace(bank, shells=None)                                      # every shell the data resolve
    model = scattering_model.fit(data, bank, args.out, name=args.name, description=args.description,
                                 command=command_line(), spectrum_tolerance=args.spectrum_tolerance)
    print(model.describe(), file=sys.stderr)
    return 0

def cmd_train_gaussian(args) -> int:
    from explorer.core.models import gaussian_model

    data = data_record(args)
    if args.channels != 1:
        raise UsageError("a Gaussian model is of one-channel fields: use --channels 1")
    model = gaussian_model.fit(data, args.out, name=args.name, description=args.description, command=command_line())
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


def add_commands(sub) -> None:
    """This group's subcommands on the parser's `sub`."""
    s = sub.add_parser("train", help="train a model")
    tsub = s.add_subparsers(dest="model", required=True)
    t = tsub.add_parser("diffusion", help="train a diffusion denoiser")
    data_arguments(t)
    t.add_argument("--widths", default="16,32,64")
    t.add_argument("--bias-free", action="store_true")
    t.add_argument("--init", default=None, help="start from this checkpoint's weights (same data and network); "
                                                 "its training record is kept in the new file's")
    t.add_argument("--noise-levels", default=None, metavar="LO,HI",
                   help="half of each batch draws sigma/alpha log-uniformly in [LO, HI], the other half as "
                        "without it (over the whole sampler range, half where images form); with --init, a stage "
                        "that sharpens the lowest levels")
    fit_arguments(t)
    t.set_defaults(func=cmd_train)

    t = tsub.add_parser("wcrg", help="train a wavelet-RG model: the coarse x_J and one conditional model per scale")
    data_arguments(t)
    t.add_argument("--J", "--levels", dest="J", type=int_in(1, 8), default=2, help="J: the wavelet depth")
    t.add_argument("--wavelet", default="haar", help="an orthogonal PyWavelets wavelet: haar, db2, db4, ...")
    t.add_argument("--widths", default="32,64", help="U-Net widths of the coarse model")
    t.add_argument("--cond-widths", default="32,64", help="U-Net widths of the conditional models")
    t.add_argument("--cond-steps", type=TRAIN_STEPS, default=None, help="training steps per scale (default: --steps)")
    t.add_argument("--shared", action="store_true", help="one conditional network for all scales (default: one per scale)")
    fit_arguments(t)
    t.set_defaults(func=cmd_train_wcrg)

    t = tsub.add_parser("scattering", help="a scattering-spectra model: the statistics Phi of the training set (no network)")
    data_arguments(t)
    t.add_argument("--J", type=int_in(1, 8), default=None, help="wavelet scales (default log2(size) - 1)")
    t.add_argument("--L", type=int_in(1, 16), default=4, help="wavelet angles in [0, pi)")
    t.add_argument("--anisotropic", action="store_true", help="keep every angle (default: the isotropic reduction)")
    t.add_argument("--scale-invariant", action="store_true", help="S3 and S4 by scale differences only")
    t.add_argument("--shells", type=int_in(0, 128), default=None,
                   help="match the power P(k) of the shells |k| = 1..SHELLS too (default: every shell the data "
                        "resolve: size/3 for dealiased turbulence, else size/2; 0: the wavelet statistics only)")
    t.add_argument("--moments", type=int, choices=[2, 4], default=2,
                   help="the highest one-point moment <x^p> matched (2: <x>, <|x|>, <x^2>; 4: <x^3> and <x^4> too, "
                        "for a skewed one-point law such as the cosmic web's log density)")
    t.add_argument("--spectrum-tolerance", type=float, default=None, metavar="T",
                   help="weigh each P(k) statistic at least as one whose spread is T of P(k) (default: its spread "
                        "over single fields, about 50 %% at |k| = 1 where a field holds a few modes, which leaves the "
                        "largest scales' power a few %% off at the generator's fixed point)")
    t.add_argument("--name", default=None)
    t.add_argument("--description", default="")
    t.add_argument("--out", required=True, help="NAME.scat.safetensors")
    t.set_defaults(func=cmd_train_scattering)

    t = tsub.add_parser("gaussian", help="a Gaussian model: the training set's mean and isotropic power spectrum")
    data_arguments(t)
    t.add_argument("--name", default=None)
    t.add_argument("--description", default="")
    t.add_argument("--out", required=True, help="NAME.gauss.safetensors")
    t.set_defaults(func=cmd_train_gaussian)
    s = sub.add_parser("data", help="write a checkpoint's exact training set (N, C, H, W) float32 to .npy")
    s.add_argument("checkpoint")
    s.add_argument("--out", required=True)
    s.set_defaults(func=cmd_data)
