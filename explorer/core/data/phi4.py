"""The 2-D lattice phi^4 field theory, sampled by checkerboard Metropolis over many chains.

    E(phi) = -beta sum_<x,y> phi_x phi_y + sum_x [phi_x^2 + lam (phi_x^2 - 1)^2],

each nearest-neighbour bond counted once, on an L x L periodic lattice. A sweep updates the two
checkerboard colours in turn (a site's neighbours all have the other colour, so a colour is
updated in parallel exactly), proposing phi' = phi + delta xi and accepting with probability
min(1, e^{-dE}), dE = -beta (phi' - phi) sum_{y~x} phi_y + V(phi') - V(phi),
V(u) = u^2 + lam (u^2 - 1)^2; then each chain is flipped phi -> -phi with probability 1/2 (an
exact move, E being even, which cures the slow tunnelling between +m and -m).

`clusters` > 0 adds that many Swendsen-Wang updates of the embedded Ising signs after each sweep
(Brower & Tamayo, PRL 62, 1087, 1989): with phi_x = eps_x |phi_x|, E given the |phi| is an Ising
model with couplings beta |phi_x| |phi_y|; a bond whose ends agree in sign is drawn with
probability 1 - e^{-2 beta phi_x phi_y}, and each connected cluster flips its sign with probability
1/2. The update is exact (detailed balance for the signs, the |phi| untouched) and cuts the critical
slowing down: tau_int(|m|) falls from about 500 sweeps to a few at L = 32 (docs/results/phi4.md).

The generator measures its own burn-in (hot and cold starts meet on <|m|>) and integrated
autocorrelation time of |m|, and spaces the samples it returns by 2 tau_int sweeps. The critical
beta comes from the crossing of Binder cumulants U = 1 - <m^4>/(3 <m^2>^2) for several L
(`critical_point`), recorded in phi4_critical.json beside this file; the equilibration of the
bundled data (L = 32 at beta_c: <|m|> against sweeps from hot and cold starts, burn-in, tau_int)
is recorded in phi4_equilibrium_L32.json (`explorer phi4 equilibrium` re-measures it).
"""
from __future__ import annotations

import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch

from explorer.core import interrupt
from explorer.core.errors import DataError, ExplorerError, UsageError

ALGORITHM = "checkerboard-metropolis+flip/2"          # clusters = 0: the bundled L = 16 and 32 data
CLUSTER_EQUILIBRIUM = {"chains": 64, "sweeps": 1000}  # `measured_equilibrium` with cluster updates (tau_int ~ 10)
_CRITICAL_FILE = Path(__file__).with_name("phi4_critical.json")
CRITICAL = json.loads(_CRITICAL_FILE.read_text()) if _CRITICAL_FILE.exists() else {"beta_c": 0.68, "measured": False}


def algorithm(clusters: int = 0) -> str:
    """The name of the Markov chain, part of every cache key of its fields."""
    return ALGORITHM if clusters == 0 else f"{ALGORITHM}+swendsen-wang/{clusters}"


def potential(u: torch.Tensor, lam: float) -> torch.Tensor:
    return u * u + lam * (u * u - 1) ** 2


def energy(phi: torch.Tensor, beta: float, lam: float) -> torch.Tensor:
    """E per chain, phi: (chains, L, L); each bond once (right and down neighbours)."""
    bonds = phi * (torch.roll(phi, 1, -1) + torch.roll(phi, 1, -2))
    return -beta * bonds.sum((-1, -2)) + potential(phi, lam).sum((-1, -2))


class Chains:
    """`chains` independent Markov chains of L x L fields, all updated in parallel."""

    def __init__(self, L: int, beta: float, lam: float = 0.5, chains: int = 1000, seed: int = 0,
                 start: str = "hot", delta: float = 1.0, dtype=torch.float32, clusters: int = 0):
        if clusters and beta < 0:
            raise ValueError("cluster updates need beta >= 0 (bonds between same-sign neighbours)")
        self.L, self.beta, self.lam, self.delta, self.clusters = L, beta, lam, delta, clusters
        self.g = torch.Generator().manual_seed(seed)
        if start == "hot":
            self.phi = torch.randn(chains, L, L, generator=self.g, dtype=dtype)
        elif start == "cold":
            self.phi = torch.ones(chains, L, L, dtype=dtype)
        else:
            raise ValueError("start must be 'hot' or 'cold'")
        ii, jj = torch.meshgrid(torch.arange(L), torch.arange(L), indexing="ij")
        self.colours = [((ii + jj) % 2 == c) for c in (0, 1)]
        self.accepted = 0.0

    def sweep(self) -> None:
        phi, beta, lam = self.phi, self.beta, self.lam
        acc = torch.zeros(())
        for mask in self.colours:
            nb = (torch.roll(phi, 1, -1) + torch.roll(phi, -1, -1) + torch.roll(phi, 1, -2) + torch.roll(phi, -1, -2))
            prop = phi + self.delta * torch.randn(phi.shape, generator=self.g, dtype=phi.dtype)
            d_e = -beta * (prop - phi) * nb + potential(prop, lam) - potential(phi, lam)
            u = torch.rand(phi.shape, generator=self.g, dtype=phi.dtype)
            accept = mask & (u < torch.exp(-d_e.clamp(min=-50)))
            phi = torch.where(accept, prop, phi)
            acc = acc + accept.sum() / (mask.sum() * phi.shape[0])
        flip = torch.rand(phi.shape[0], generator=self.g) < 0.5
        self.phi = torch.where(flip[:, None, None], -phi, phi)
        self.accepted = acc / 2          # acceptance rate of the last sweep (a 0-d tensor)
        for _ in range(self.clusters):
            self.cluster_update()

    def cluster_update(self) -> None:
        """One Swendsen-Wang update of the signs of every chain (see the module's docstring): bonds
        to the right and down neighbours, each drawn with p = 1 - e^{-2 beta max(phi_x phi_y, 0)};
        clusters by scipy's connected components over all chains at once (the lattice is periodic
        within each chain, so no cluster crosses two chains)."""
        from scipy.sparse import coo_matrix
        from scipy.sparse.csgraph import connected_components

        phi = self.phi
        sites = torch.arange(phi.numel()).reshape(phi.shape)
        ends = []
        for dim in (-1, -2):
            bond = phi * torch.roll(phi, -1, dim)
            drawn = torch.rand(phi.shape, generator=self.g, dtype=phi.dtype) < -torch.expm1(-2 * self.beta * bond.clamp(min=0))
            ends.append((sites[drawn], torch.roll(sites, -1, dim)[drawn]))
        x, y = (torch.cat(e).numpy() for e in zip(*ends))
        graph = coo_matrix((np.ones(len(x), np.int8), (x, y)), shape=(phi.numel(),) * 2)
        count, labels = connected_components(graph, directed=False)
        flip = torch.rand(count, generator=self.g) < 0.5
        self.phi = torch.where(flip[torch.from_numpy(labels.astype(np.int64))].reshape(phi.shape), -phi, phi)

    def magnetisation(self) -> torch.Tensor:
        return self.phi.mean((-1, -2))

    def run(self, sweeps: int, every: int = 1) -> np.ndarray:
        """Do `sweeps` sweeps; return m of every chain each `every` sweeps: (sweeps // every, chains)."""
        ms = []
        for s in range(sweeps):
            if s % 10 == 0:
                interrupt.check()                               # a cancelled run stops within 10 sweeps
            self.sweep()
            if (s + 1) % every == 0:
                ms.append(self.magnetisation().numpy().copy())
        return np.array(ms).reshape(-1, self.phi.shape[0])


def integrated_autocorrelation(series: np.ndarray, c: float = 5.0) -> float:
    """tau_int = 1/2 + sum_m rho(m) of series (T, chains), with Sokal's window M >= c tau.

    All chains sample one distribution, so the mean subtracted is the global one (a per-chain
    mean removes each chain's slow wandering and biases tau low), and the lag-m autocovariance is
    divided by the T - m products it averages (the unbiased estimator)."""
    x = series - series.mean()
    n = x.shape[0]
    f = np.fft.rfft(x, n=2 * n, axis=0)
    acf = np.fft.irfft(f * np.conj(f), axis=0)[:n].mean(1) / (n - np.arange(n))
    acf = acf / acf[0]
    tau = 0.5
    for m in range(1, n):
        tau += acf[m]
        if m >= c * tau:
            return float(tau)
    return float(tau)


MIN_TAU_BLOCKS = 51          # blocks after the burn-in that tau_int is measured on
MIN_BURN_BLOCKS = 7          # the shortest burn-in `equilibrium` can find: 1.5 x (0 + 5 blocks of the moving average)


def check_stable(beta: float, lam: float, error: type[ExplorerError] = UsageError) -> None:
    """E bounded below: at lam = 0 the field is Gaussian, E = sum phi^2 - beta sum_<x,y> phi_x phi_y,
    whose quadratic form has the eigenvalue 1 - 2 beta for the uniform field: no equilibrium for
    beta >= 1/2 (the field runs away and nothing measured means anything)."""
    if lam == 0 and beta >= 0.5:
        raise error(f"at lam = 0 the phi^4 energy is unbounded below for beta >= 0.5 (here beta = {beta:g}): there is "
                    "no equilibrium to measure; choose lam > 0 or beta < 0.5")


def check_equilibrium(sweeps: int, every: int, beta: float, lam: float, error: type[ExplorerError] = UsageError) -> None:
    """What `equilibrium` needs to measure anything: a stable theory (`check_stable`) and sweeps for
    at least MIN_BURN_BLOCKS + MIN_TAU_BLOCKS blocks of `every` sweeps."""
    check_stable(beta, lam, error)
    need = (MIN_BURN_BLOCKS + MIN_TAU_BLOCKS) * every
    if sweeps < need:
        raise error(f"--sweeps {sweeps}: the measurement needs at least {need} sweeps (blocks of {every}: a burn-in of "
                    f"at least {MIN_BURN_BLOCKS} blocks, then {MIN_TAU_BLOCKS} to measure tau_int)")


def check_critical(sizes, betas, lam: float, chains: int, measure: int, error: type[ExplorerError] = UsageError) -> None:
    """What `critical_point` needs to find a crossing: two or more distinct sizes and betas, a
    stable theory at every beta, chains for the 8 jackknife blocks, and at least one measurement
    (`binder` records m every 5 sweeps)."""
    if len(set(sizes)) < 2 or len(set(sizes)) != len(sizes):
        raise error(f"--sizes {','.join(map(str, sizes))}: the Binder crossing needs two or more distinct sizes")
    if len(set(betas)) < 2 or len(set(betas)) != len(betas):
        raise error(f"--betas {','.join(f'{b:g}' for b in betas)}: the crossing is looked for between two or more "
                    "distinct values of beta")
    for b in betas:
        check_stable(b, lam, error)
    if chains < 8:
        raise error(f"--chains {chains}: the errors are a jackknife over 8 blocks of chains; give at least 8")
    if measure < 5:
        raise error(f"--measure {measure}: m is recorded every 5 sweeps; measure at least 5 sweeps")


def every_of(clusters: int) -> int:
    """The sweeps between recorded magnetisations: 10 for Metropolis alone (tau_int ~ 500 at L = 32),
    every sweep with cluster updates (tau_int ~ 10)."""
    return 1 if clusters else 10


def equilibrium(L: int = 32, beta: float | None = None, lam: float = 0.5, chains: int = 256, sweeps: int = 16000,
                seed: int = 0, every: int | None = None, log=None, clusters: int = 0) -> dict:
    """Burn-in and autocorrelation at (L, beta, lam) of the chain with `clusters` Swendsen-Wang
    updates per sweep (every: `every_of(clusters)`). Hot and cold starts run side by side;
    burn-in = 1.5 times the first sweep at which their <|m|> curves meet; tau_int of |m| (in
    sweeps) is measured on all chains after the burn-in (NaN, and `enough` False, when the
    burn-in leaves MIN_TAU_BLOCKS blocks or fewer). Parameters that can measure nothing are a
    UsageError before any sweep (`check_equilibrium`)."""
    beta = CRITICAL["beta_c"] if beta is None else beta
    every = every_of(clusters) if every is None else every
    check_equilibrium(sweeps, every, beta, lam)
    hot = Chains(L, beta, lam, chains, seed, "hot", clusters=clusters)
    cold = Chains(L, beta, lam, chains, seed + 1, "cold", clusters=clusters)
    t0 = time.perf_counter()
    mh, mc = [], []
    for s in range(sweeps // every):
        if s % 10 == 0:
            interrupt.check(f"phi4: measuring burn-in and autocorrelation at L = {L} (once, cached after), "
                            f"sweep {s * every} of {sweeps}")
        mh.append(hot.run(every, every)[0])
        mc.append(cold.run(every, every)[0])
    seconds_per_sweep = (time.perf_counter() - t0) / (2 * sweeps)
    mh, mc = np.abs(np.array(mh)), np.abs(np.array(mc))
    # <|m|> from the cold start decays, from the hot start rises: they meet at equilibrium.
    # burn-in = 1.5 times the first meeting of the two curves (5-block moving averages).
    window = np.ones(5) / 5
    gap = np.convolve(mc.mean(1), window, "valid") - np.convolve(mh.mean(1), window, "valid")
    met = np.nonzero(gap <= 0)[0]
    burn_blocks = min(int(1.5 * (int(met[0]) + 5)), len(mh)) if len(met) else len(mh)
    burn_in = burn_blocks * every
    rest = np.concatenate([mh[burn_blocks:], mc[burn_blocks:]], 1)
    tau = integrated_autocorrelation(rest) * every if len(rest) >= MIN_TAU_BLOCKS else float("nan")
    curve = [{"sweep": (k + 1) * every, "hot": float(mh[k].mean()), "cold": float(mc[k].mean())}
             for k in range(0, len(mh), max(1, len(mh) // 40))]
    out = {"L": L, "beta": beta, "lam": lam, "algorithm": algorithm(clusters), "chains": chains, "sweeps": sweeps,
           "every": every, "burn_in": burn_in,
           "tau_int_abs_m": tau, "abs_m": float(rest.mean()) if len(rest) else float("nan"),
           "acceptance": float(hot.accepted), "seconds_per_sweep_per_1000_chains": seconds_per_sweep * 1000 / chains,
           "curve": curve, "enough": bool(np.isfinite(tau)) and burn_blocks <= 0.5 * len(mh)}
    if log:
        log(f"L={L} beta={beta:.4f}: burn-in {burn_in} sweeps, " + (
            f"tau_int(|m|) {tau:.0f} sweeps, <|m|> {out['abs_m']:.4f}" if math.isfinite(tau) else
            f"tau_int(|m|) undefined: the burn-in leaves {len(rest)} blocks of {every} sweeps, fewer than "
            f"the {MIN_TAU_BLOCKS} it is measured on"))
    return out


def binder(L: int, beta: float, lam: float = 0.5, chains: int = 512, burn_in: int = 3000, measure: int = 3000,
           seed: int = 0) -> dict:
    """Binder cumulant U, <|m|> and susceptibility chi = L^2 (<m^2> - <|m|>^2) at one point,
    with a jackknife error over 8 blocks of chains."""
    ch = Chains(L, beta, lam, chains, seed, "cold")
    ch.run(burn_in, burn_in)
    m = ch.run(measure, 5)                                      # (T, chains)

    def stats(mm):
        m2, m4, am = (mm ** 2).mean(), (mm ** 4).mean(), np.abs(mm).mean()
        return np.array([1 - m4 / (3 * m2 ** 2), am, L * L * (m2 - am ** 2)])

    full = stats(m)
    blocks = np.array_split(np.arange(chains), 8)
    jack = np.array([stats(np.delete(m, b, axis=1)) for b in blocks])
    err = np.sqrt((len(blocks) - 1) * jack.var(0))
    return {"L": L, "beta": beta, "U": float(full[0]), "U_err": float(err[0]), "abs_m": float(full[1]),
            "chi": float(full[2]), "chi_err": float(err[2])}


def critical_point(sizes=(16, 32), betas=(0.64, 0.66, 0.68, 0.70, 0.72), lam: float = 0.5, log=print, **kw) -> dict:
    """beta_c from the crossing of U(beta) between consecutive sizes (see `binder_crossings`);
    arguments that can give no crossing are a UsageError before any sweep (`check_critical`)."""
    check_critical(sizes, betas, lam, kw.get("chains", 512), kw.get("measure", 3000))
    table = []
    for L in sizes:
        for b in betas:
            row = binder(L, b, lam, **kw)
            table.append(row)
            log(f"  L={L:3d} beta={b:.3f}  U={row['U']:.4f}±{row['U_err']:.4f}  <|m|>={row['abs_m']:.4f}  chi={row['chi']:.2f}")
    return {**binder_crossings(table, sizes), "lam": lam, "table": table, "algorithm": ALGORITHM, "measured": True}


def binder_crossings(table: list[dict], sizes) -> dict:
    """The crossing of d(beta) = U_L2 - U_L1 for consecutive sizes, from a table of `binder` rows.

    beta_c: linear interpolation between the two grid points that bracket the sign change.
    statistical error: the U errors at those points over the slope of d. systematic error: the
    interpolation's, the largest distance from beta_c to the roots of quadratic and cubic fits
    of d over the whole grid (weighted by 1/error). error = both added in quadrature."""
    crossings = []
    for L1, L2 in zip(sizes, sizes[1:]):
        r1 = sorted((r for r in table if r["L"] == L1), key=lambda r: r["beta"])
        r2 = sorted((r for r in table if r["L"] == L2), key=lambda r: r["beta"])
        betas = np.array([r["beta"] for r in r1])
        d = np.array([b["U"] - a["U"] for a, b in zip(r1, r2)])          # < 0 below beta_c, > 0 above
        e = np.array([math.hypot(a["U_err"], b["U_err"]) for a, b in zip(r1, r2)])
        k = next((k for k in range(len(betas) - 1) if d[k] <= 0 < d[k + 1] or d[k] >= 0 > d[k + 1]), None)
        if k is None:
            continue
        bc = betas[k] + d[k] / (d[k] - d[k + 1]) * (betas[k + 1] - betas[k])
        stat = float(max(e[k], e[k + 1]) / (abs(d[k + 1] - d[k]) / (betas[k + 1] - betas[k])))
        fits = {}
        for degree in (2, 3):
            if len(betas) > degree:
                roots = np.roots(np.polyfit(betas, d, degree, w=1 / e))
                real = [float(r.real) for r in roots if abs(r.imag) < 1e-9 and betas[0] <= r.real <= betas[-1]]
                if real:
                    fits[f"degree_{degree}"] = min(real, key=lambda r: abs(r - bc))
        syst = max((abs(v - bc) for v in fits.values()), default=0.0)
        crossings.append({"sizes": [L1, L2], "beta_c": float(bc), "error_statistical": stat, "error_systematic": syst,
                          "polynomial_fits": fits, "error": math.hypot(stat, syst)})
    if not crossings:
        raise DataError("no Binder crossing in the scanned range of beta; widen it (--betas)")
    return {"beta_c": float(np.mean([c["beta_c"] for c in crossings])),
            "error": float(max(c["error"] for c in crossings)),
            "error_statistical": float(max(c["error_statistical"] for c in crossings)),
            "error_systematic": float(max(c["error_systematic"] for c in crossings)), "crossings": crossings}


def measured_equilibrium(L: int, beta: float, lam: float, clusters: int = 0, log=None) -> tuple[int, float]:
    """Burn-in and tau_int(|m|), in sweeps, of the chain with `clusters` updates at (L, beta, lam):
    `equilibrium` from seed 101 (its chains and sweeps; with cluster updates CLUSTER_EQUILIBRIUM),
    measured once and cached on disk (a property of the model alone); a DataError when it finds none."""
    from explorer.core.data import cached_array

    def measure():
        eq = equilibrium(L, beta, lam, seed=101, log=log, clusters=clusters, **(CLUSTER_EQUILIBRIUM if clusters else {}))
        if not eq["enough"]:
            raise DataError(f"phi4 at L={L}, beta={beta}: no equilibrium within {eq['sweeps']} sweeps "
                            f"(burn-in {eq['burn_in']}, tau {eq['tau_int_abs_m']}); measure with more sweeps")
        return np.array([eq["burn_in"], eq["tau_int_abs_m"]], np.float64)

    eq_key = {"L": L, "beta": beta, "lam": lam, "algorithm": algorithm(clusters)}
    burn_in, tau = cached_array("phi4-equilibrium", eq_key, measure)
    return int(burn_in), float(tau)


def samples(count: int, L: int = 32, beta: float | None = None, lam: float = 0.5, seed: int = 0,
            chains: int = 2000, progress: bool = True, clusters: int = 0) -> np.ndarray:
    """`count` equilibrium fields (count, 1, L, L) float32, cached on disk: burn-in and spacing
    are measured first (`measured_equilibrium`), then each chain gives samples 2 tau_int sweeps apart.
    progress: say so on stderr, and the sweeps done at each tenth of them with the time left."""
    from explorer.core.data import cached_array

    beta = CRITICAL["beta_c"] if beta is None else float(beta)
    check_stable(beta, lam, DataError)
    chains = min(chains, count)
    key = {"L": L, "beta": beta, "lam": lam, "seed": seed, "chains": chains, "algorithm": algorithm(clusters)}
    say = (lambda s: print(f"phi4: {s}", file=sys.stderr)) if progress else None
    burn_in, tau = measured_equilibrium(L, beta, lam, clusters, log=say)
    spacing = max(1, int(math.ceil(2 * tau)))

    def make() -> np.ndarray:
        per_chain = int(math.ceil(count / chains))
        ch = Chains(L, beta, lam, chains, seed, "hot", clusters=clusters)
        total, done, told, t0 = int(burn_in) + per_chain * spacing, 0, 0, time.perf_counter()
        if say:
            say(f"{count} samples: {chains} chains x ({int(burn_in)} burn-in + {per_chain} x {spacing}) sweeps")

        def sweeps(n: int) -> None:
            """n sweeps of every chain, in pieces of at most 1/20 of all (and 100) so that each
            tenth is told."""
            nonlocal done, told
            while n > 0:
                step = min(n, 100, max(1, total // 20))
                ch.run(step, step)
                n, done = n - step, done + step
                interrupt.check(f"phi4: making {count} fields by Monte Carlo (cached after), sweep {done} of {total}")
                if say and 10 * done // total > told:
                    told = 10 * done // total
                    spent = time.perf_counter() - t0
                    say(f"sweep {done}/{total} ({done / total:.0%}), {spent:.0f} s, about "
                        f"{spent * (total - done) / done:.0f} s left")

        sweeps(int(burn_in))
        out = []
        for _ in range(per_chain):
            sweeps(spacing)
            out.append(ch.phi.clone())
        return torch.stack(out, 1).reshape(-1, 1, L, L)[:count].numpy().astype(np.float32)

    return cached_array("phi4", {**key, "count": count}, make)


def check_chains(chains: int, L: int) -> None:
    """Markov chains of L x L fields held at once: at most 1 GiB of float32 (a UsageError before any work)."""
    need = chains * L * L * 4
    if need > 2 ** 30:
        raise UsageError(f"{chains} chains of {L} x {L} fields need {need / 2 ** 30:.1f} GiB, more than the 1 GiB "
                         "explorer holds; lower --chains")
