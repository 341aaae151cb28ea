"""The physical fields' own measurements: phi4 (critical point, equilibration) and turbulence (spin-up)."""
from __future__ import annotations

import math
import sys

from explorer.cli.arguments import command_line, float_in, floats, int_in, ints, write_json
from explorer.core.errors import UsageError
from explorer.core.files import schema
from explorer.core.files.io import parse_json


def cmd_phi4(args) -> int:
    from explorer.core.data import phi4
    from explorer.core.files.io import check_output

    if args.out:
        check_output(args.out)
    if args.action == "critical":
        sizes = [schema.number(L, "a size in --sizes", UsageError, 4, 256) for L in ints(args.sizes, "--sizes")]
        betas = floats(args.betas, "--betas")
        for b in betas:
            schema.number(b, "a value of --betas", UsageError, 0.01, 10.0, kind=float)
        phi4.check_critical(sizes, betas, args.lam, args.chains, args.measure)
        phi4.check_chains(args.chains, max(sizes))
        res = phi4.critical_point(sizes, betas, args.lam, chains=args.chains, burn_in=args.burn_in,
                                  measure=args.measure, log=lambda s: print(s, file=sys.stderr))
        res["command"] = command_line()
        print(f"beta_c = {res['beta_c']:.4f} ± {res['error']:.4f} (lam = {args.lam}, Binder crossing of L = {sizes})")
    else:
        phi4.check_chains(2 * args.chains, args.L)              # hot and cold starts
        beta = phi4.CRITICAL["beta_c"] if args.beta is None else args.beta
        phi4.check_equilibrium(args.sweeps, phi4.every_of(args.clusters), beta, args.lam)
        res = phi4.equilibrium(args.L, args.beta, args.lam, chains=args.chains, sweeps=args.sweeps,
                               log=lambda s: print(s, file=sys.stderr), clusters=args.clusters)
        for row in res["curve"]:
            print(f"sweep {row['sweep']:6d}  <|m|> hot start {row['hot']:.4f}  cold start {row['cold']:.4f}")
        tau = res["tau_int_abs_m"]
        print(f"burn-in {res['burn_in']} sweeps; "
              + (f"tau_int(|m|) = {tau:.0f} sweeps; " if math.isfinite(tau) else
                 f"tau_int(|m|) undefined: the burn-in took too much of the {args.sweeps} sweeps to leave "
                 f"{phi4.MIN_TAU_BLOCKS} blocks to measure it on (give more --sweeps); ")
              + f"{res['seconds_per_sweep_per_1000_chains'] * 1000:.1f} ms per sweep of 1000 chains")
    if args.out:
        write_json(args.out, res)
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
    solver = turbulence.parameters(error=UsageError, **params)
    turbulence.check_recording(args.duration, args.every, solver["dt"], UsageError)
    turbulence.check_memory(args.runs, int(params.get("grid", args.size)), args.duration, args.every)
    res = turbulence.spin_up(runs=args.runs, duration=args.duration, every=args.every,
                             log=lambda s: print(s, file=sys.stderr), **params)
    for row in res["curve"][::max(1, len(res["curve"]) // 40)]:
        print(f"t {row['t']:7.1f}  E {row['E']:.4f}  Z {row['Z']:.4f}")
    print(f"stationary E = {res['E']:.4f}, Z = {res['Z']:.4f}; spin-up {res['spin_up']:.1f} time units (both within "
          f"{turbulence.STATIONARY_TOLERANCE:.0%}); L_int = {res['L_int']:.3f}, u_rms = {res['u_rms']:.3f}, "
          f"turnover T = {res['T']:.2f}; tau_int(omega) = {res['tau_int']:.2f}, the |k| = 1 modes' tau_1 = "
          f"{res['tau_1']:.2f}, their energy fraction {res['box_energy_fraction']:.3f}; omega_rms = {res['omega_rms']:.3f}, "
          f"kurtosis {res['kurtosis']:.2f}; {res['seconds_per_step_per_run'] * 1e3:.2f} ms per step per run"
          + ("" if res["enough"] else "; NOT stationary in the first half of the window: measure longer"))
    if args.out:
        res["command"] = command_line()
        write_json(args.out, res)
    return 0


def add_commands(sub) -> None:
    """This group's subcommands on the parser's `sub`."""
    s = sub.add_parser("phi4", help="phi^4 Monte Carlo: locate the critical point, measure equilibration")
    s.add_argument("action", choices=["critical", "equilibrium"])
    s.add_argument("--sizes", default="16,32", help="lattice sizes for the Binder crossing")
    s.add_argument("--betas", default="0.64,0.66,0.68,0.70,0.72")
    s.add_argument("--lam", type=float_in(0.0, 100.0), default=0.5)
    s.add_argument("--L", type=int_in(4, 256), default=32)
    s.add_argument("--beta", type=float_in(0.01, 10.0), default=None, help="default: the recorded critical beta")
    s.add_argument("--chains", type=int_in(1, 100_000), default=256)
    s.add_argument("--burn-in", type=int_in(0, 10_000_000), default=2000)
    s.add_argument("--measure", type=int_in(1, 10_000_000), default=2000)
    s.add_argument("--sweeps", type=int_in(1, 10_000_000), default=8000)
    s.add_argument("--clusters", type=int_in(0, 4), default=0,
                   help="Swendsen-Wang updates of the signs after each sweep (equilibrium only; 0: Metropolis alone)")
    s.add_argument("--out", default=None, help="write the result as JSON")
    s.set_defaults(func=cmd_phi4)
    s = sub.add_parser("turbulence", help="2-D turbulence: spin-up from rest, turnover time, vorticity statistics")
    s.add_argument("--size", type=int_in(16, 256), default=64)
    s.add_argument("--data-params", default=None, help="JSON of solver parameters, e.g. '{\"mu\": 0.05, \"dt\": 0.01}'")
    s.add_argument("--runs", type=int_in(1, 4096), default=16, help="runs averaged together")
    s.add_argument("--duration", type=float_in(1.0, 1e5), default=120.0, help="time units from rest")
    s.add_argument("--every", type=float_in(1e-3, 1e3), default=1.0, help="time between recorded points")
    s.add_argument("--out", default=None, help="write the result as JSON")
    s.set_defaults(func=cmd_turbulence)
