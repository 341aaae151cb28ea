"""One way to run anything: every generator is a `Model`, every run a `RunSpec`.

    path --open_model--> Model --spec.resolved(model)--> RunSpec --model.run(spec)--> Frame, ..., Trajectory

The window and the CLI hold a Model and a RunSpec and never ask which kind of model they hold.
A new generator is one core module: a class with the members of `Model`, and an opener
registered with `register_opener` (see docs/architecture.md, "How to add a generator").
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Generator, Protocol, runtime_checkable

import numpy as np

from explorer import __version__
from explorer.core.errors import ExplorerError, UsageError
from explorer.core.files import schema
from explorer.core.sampling.catalogue import GRID_SAMPLERS
from explorer.core.sampling.trajectory import Frame, Trajectory, drain

if TYPE_CHECKING:
    import torch


def resolve_device(device: str = "auto") -> torch.device:
    """"auto": CUDA when present, else the CPU; "cuda" without a GPU is a UsageError."""
    import torch

    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        raise UsageError("CUDA was asked for, but torch sees no GPU (install the CUDA build of torch, or use --device cpu)",
                         field="device")
    if device not in ("cpu", "cuda"):
        raise UsageError(f"unknown device {device!r}; choose auto, cpu or cuda", field="device")
    return torch.device(device)


@dataclass(frozen=True)
class DisplayHints:
    """How a model's frames want to be shown.

    colormap: "grey" for images, "diverging" for signed fields; J, wavelet: a wavelet pyramid worth
    showing in the Scales tab (None: the tab's own default); level: what a Frame's sigma/alpha
    stands for (the slider's and the plot's label), a noise level unless the model says otherwise;
    panels: the titles of its x_t and x0_hat panels when they are not a noisy state and a
    denoiser's estimate (None: those, with x_t also shown in the data's scale); a second title
    None: nothing to denoise (x0_hat is x), the window shows x's power spectrum there instead."""

    colormap: str = "grey"
    J: int | None = None
    wavelet: str | None = None
    level: str = "σ/α"
    panels: tuple[str, str | None] | None = None


@dataclass(frozen=True)
class RunSpec:
    """What to run: sampler (None: the model's first), steps (None: the model's default for that
    sampler; per scale for a WCRG model), n samples (None: `default_batch`), seed, device ("auto", "cpu", "cuda"),
    final_denoise, and optionally the initial noise x_init (n, C, H, W) instead of the seed's.
    coarse_sampler, coarse_steps: for a model that draws a coarse scale first (its
    `coarse_samplers`), that scale's own sampler and steps (None: those of the other scales).
    start > 0 continues a run from its grid step `start`: x_init is then the state x_t there
    (a fork, see `fork.py`); grid samplers only."""

    sampler: str | None = None
    steps: int | None = None
    n: int | None = None
    seed: int = 0
    device: str = "cpu"
    final_denoise: bool = True
    x_init: torch.Tensor | None = field(default=None, compare=False, repr=False)
    keep_frames: bool = True
    start: int = 0
    coarse_sampler: str | None = None
    coarse_steps: int | None = None

    @classmethod
    def from_meta(cls, meta: dict, **changes) -> "RunSpec":
        """The spec a run recorded (`run_meta`: sampler, steps, n, seed, final_denoise, start, the
        coarse scale's), with `changes`; not resolved: `resolved(model)` checks it."""
        spec = cls(sampler=meta.get("sampler"), steps=meta.get("steps"), n=meta.get("n") or 1, seed=meta.get("seed") or 0,
                   final_denoise=bool(meta.get("final_denoise", True)), start=meta.get("start") or 0,
                   coarse_sampler=meta.get("coarse_sampler"), coarse_steps=meta.get("coarse_steps"))
        return replace(spec, **changes)

    def resolved(self, model: "Model") -> "RunSpec":
        """This spec with the model's defaults filled in, checked against the model: a
        UsageError names what is wrong before any work starts."""
        sampler = self.sampler or model.samplers[0]
        if sampler not in model.samplers:
            raise UsageError(f"{model.name} runs the sampler{'s' if len(model.samplers) > 1 else ''} "
                             f"{', '.join(model.samplers)}, not {sampler!r}", field="sampler")
        steps = model.default_steps(sampler) if self.steps is None else self.steps
        n = default_batch(model) if self.n is None else self.n
        schema.number(steps, "steps", UsageError, 1, schema.MAX_STEPS)
        schema.number(n, "the number of samples", UsageError, 1, schema.MAX_SAMPLES, field="n")
        schema.number(self.seed, "the seed", UsageError, 0, schema.MAX_SEED, field="seed")
        schema.number(self.start, "the start step", UsageError, 0, steps - 1, field="start")
        if self.start and (sampler not in GRID_SAMPLERS or self.x_init is None):
            raise UsageError(f"a run continued from step {self.start} needs a grid sampler and the state x_init there")
        resolve_device(self.device)
        if self.x_init is not None and tuple(self.x_init.shape) != (n, *model.image_shape):
            raise UsageError(f"x_init has shape {tuple(self.x_init.shape)}, the run needs {(n, *model.image_shape)}")
        coarse_sampler, coarse_steps = self.coarse_sampler, self.coarse_steps
        if coarse_sampler is not None or coarse_steps is not None:
            offered = model.coarse_samplers
            if not offered:
                raise UsageError(f"{model.name} generates at one scale: a coarse sampler and coarse steps are for "
                                 f"models that draw a coarse scale first (WCRG)")
            coarse_sampler = coarse_sampler or sampler
            if coarse_sampler not in offered:
                raise UsageError(f"{model.name} draws its coarse scale by {', '.join(offered)}, "
                                 f"not {coarse_sampler!r}")
            coarse_steps = steps if coarse_steps is None else coarse_steps
            schema.number(coarse_steps, "the coarse steps", UsageError, 1, schema.MAX_STEPS)
        spec = replace(self, sampler=sampler, steps=steps, n=n, coarse_sampler=coarse_sampler, coarse_steps=coarse_steps)
        frames = (model.frame_count(spec) or steps + 1) if self.keep_frames else 1
        need = 2 * 4 * frames * n * math.prod(model.image_shape)               # x_t and x0_hat, float32
        need *= 2 if self.keep_frames else 1                                    # saving stacks one more copy
        if need > schema.MAX_RUN_BYTES:
            raise UsageError(f"{n} samples x {frames} frames of {model.image_shape} need {need / 2 ** 30:.1f} GiB, "
                             f"more than the {schema.MAX_RUN_BYTES / 2 ** 30:.0f} GiB a run may keep: lower the "
                             f"samples or the steps")
        model.check_run(spec)
        return spec


class ModelBase:
    """What a Model can do besides running, declared once per kind. A kind subclasses this and
    overrides what it has; a caller reads these members and never asks which kind it holds.

    denoiser: D(x_t, t) -> x0_hat on (B, C, H, W) at OU time t, differentiable (the Basis tab,
        `explorer basis`); None: no single denoiser (L-BFGS, a Gaussian field, scale by scale).
    coarse_samplers: the samplers its coarse scale, drawn first, may run on its own (a WCRG's x_J;
        RunSpec.coarse_*); (): one scale.
    fork_refusal: None if a run of it can be continued from one of its frames (`analysis.fork`),
        else why not, in a sentence the window and the CLI show.
    stage(frames, k): what frame k of a run shows being made ("" for a model of one stage).
    networks(): the networks a run evaluates, each with an input at its own size (compute counts).
    default_run, write_default(sampler, steps, why): the run it starts from, as its file records it
        (None: its kind's defaults), and written into its file (`explorer set-default`).
    check_run(spec): a UsageError for a resolved spec beyond what this kind can do (the steps a
        diffusers scheduler can give), raised by `RunSpec.resolved` before any work.
    """

    denoiser: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None
    coarse_samplers: tuple[str, ...] = ()

    @property
    def fork_refusal(self) -> str | None:
        return f"{self.name} runs no reverse SDE to fork with (a {self.kind} model)."

    def stage(self, frames: list[Frame], k: int) -> str:
        return ""

    def check_run(self, spec: RunSpec) -> None:
        """Any spec within the common limits runs."""

    def networks(self) -> list[tuple[str, int, Callable, tuple]]:
        """Each network a run evaluates, the coarse first, with the input of one evaluation for one
        sample at its own resolution: [(level, side, fn, args)], fn(*args) one evaluation (what
        `analysis.compute` counts). This: the denoiser on x ([] without one)."""
        import torch

        if self.denoiser is None:
            return []
        C, side = self.image_shape[0], self.image_shape[-1]
        return [("x", side, self.denoiser, (torch.zeros(1, C, side, side), 0.5))]

    default_run: dict | None = None             # what its file records (`check_default_run`); None: its kind's

    def write_default(self, sampler: str, steps: int, why: str) -> None:
        """Record in the model's own file that it runs by default with `sampler` and `steps`
        (`why`: the measurement that chose them), written atomically (the file's sha256 changes,
        the weights do not; nothing is written when the file records that run already); a
        UsageError for a kind whose file holds no default run."""
        raise UsageError(f"{self.name}: a {self.kind} model's file holds no default run; it runs "
                         "{} with {} steps by default".format(*runs_by_default(self)))


@runtime_checkable
class Model(Protocol):
    """What the CLI and the views need of a generator: `ModelBase`'s capabilities and these."""

    path: Path
    sha256: str
    denoiser: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None
    coarse_samplers: tuple[str, ...]

    @property
    def name(self) -> str: ...

    @property
    def kind(self) -> str: ...                       # "diffusion", "wcrg", ...

    @property
    def image_shape(self) -> tuple[int, int, int]: ...   # (C, H, W) of a sample

    @property
    def parameters(self) -> int: ...

    @property
    def data(self) -> dict: ...                     # the data record (name, n, split, stats, ...)

    @property
    def samplers(self) -> tuple[str, ...]: ...      # the first is the default

    @property
    def display(self) -> DisplayHints: ...

    @property
    def fork_refusal(self) -> str | None: ...

    def default_steps(self, sampler: str) -> int: ...

    def describe(self) -> str: ...                   # a few lines a person reads

    def summary(self) -> dict: ...                   # the same as JSON (`explorer info --json`)

    def frame_count(self, spec: RunSpec) -> int | None: ...   # frames run(spec) yields (spec resolved); None: unknown

    def run(self, spec: RunSpec) -> Generator[Frame, None, Trajectory]: ...

    def stage(self, frames: list[Frame], k: int) -> str: ...

    def check_run(self, spec: RunSpec) -> None: ...

    @property
    def default_run(self) -> dict | None: ...

    def networks(self) -> list[tuple[str, int, Callable, tuple]]: ...

    def write_default(self, sampler: str, steps: int, why: str) -> None: ...


def check_default_run(record: object, samplers: tuple[str, ...], where: str, error: type[ExplorerError]) -> dict | None:
    """A model file's default run, {"sampler": ..., "steps": ..., "why": ...} (None: it records
    none), checked: a sampler the model runs, steps within the common limits, a short "why"."""
    if record is None:
        return None
    if not isinstance(record, dict):
        raise error(f"{where}: 'default_run' must be an object {{sampler, steps, why}}")
    schema.value(record, "sampler", str, f"{where}: default_run", error, choices=samplers)
    schema.value(record, "steps", int, f"{where}: default_run", error, lo=1, hi=schema.MAX_STEPS)
    if len(schema.value(record, "why", str, f"{where}: default_run", error, default="")) > 10_000:
        raise error(f"{where}: default_run: 'why' has more than 10,000 characters")
    earlier = schema.value(record, "earlier_sha256", list, f"{where}: default_run", error, default=[])
    if len(earlier) > MAX_EARLIER or not all(isinstance(h, str) and re.fullmatch("[0-9a-f]{64}", h) for h in earlier):
        raise error(f"{where}: default_run: 'earlier_sha256' must list at most {MAX_EARLIER} sha256 digests "
                    "(64 lower-case hex digits each)")
    return record


MAX_EARLIER = 64        # the file's earlier hashes a default run keeps (`made_by`); the oldest are dropped


def made_by(model: Model, meta: dict) -> bool:
    """Whether `model` made a run (its `meta`): the run records the model file's sha256, or one the
    file had before `write_default` rewrote it (the same weights: `default_run`'s "earlier_sha256")."""
    return meta.get("checkpoint_sha256") in (model.sha256, *(model.default_run or {}).get("earlier_sha256", ()))


def default_first(samplers: tuple[str, ...], record: dict | None) -> tuple[str, ...]:
    """`samplers` with the file's default run (`check_default_run`) first: the first is the default."""
    return samplers if record is None else (record["sampler"], *(s for s in samplers if s != record["sampler"]))


def default_run_steps(record: dict | None, sampler: str, otherwise: int) -> int:
    """The steps of the file's default run (`check_default_run`) for `sampler`, else `otherwise`."""
    return record["steps"] if record is not None and record["sampler"] == sampler else otherwise


def new_default_run(model: Model, sampler: str, steps: int, why: str) -> dict | None:
    """The default run `model.write_default` records, checked against the samplers it runs (a
    UsageError), with the file's present sha256 first among its earlier ones, so that the runs
    saved from it still name it as their maker (`made_by`); None when the file records this one
    already (nothing to write: the file and its hash stay)."""
    now = model.default_run or {}
    if (now.get("sampler"), now.get("steps"), now.get("why", "")) == (sampler, steps, why):
        return None
    earlier = [model.sha256, *now.get("earlier_sha256", ())]
    record = {"sampler": sampler, "steps": steps, "why": why,
              "earlier_sha256": list(dict.fromkeys(earlier))[:MAX_EARLIER]}
    return check_default_run(record, model.samplers, model.name, UsageError)


BATCH_VALUES = 16 * 64 * 64      # a run's default batch holds at most this many values (`default_batch`)


def default_batch(model: Model) -> int:
    """The samples a run draws unless told (`RunSpec.n` None, the Run panel's batch until the user
    sets one): 16, fewer for large images, at most BATCH_VALUES values in all: 16 of 64 x 64, 4 of
    128 x 128, 1 of 256 x 256 (a 256 x 256 scattering model's 200 L-BFGS iterations take ~19 s per
    field on this project's 2-core CPU, 16 fields ~5 min)."""
    return max(1, min(16, BATCH_VALUES // math.prod(model.image_shape)))


def runs_by_default(model: Model) -> tuple[str, int]:
    """The sampler and steps `model` runs when none are given (`RunSpec()`)."""
    return model.samplers[0], model.default_steps(model.samplers[0])


def samplers_text(model: Model) -> str:
    """The samplers a model runs, each with its default steps (the first is the default), and why
    that default when its file says (`Model.default_run`)."""
    why = (model.default_run or {}).get("why", "").strip()
    return "  samplers  " + ", ".join(f"{s} ({model.default_steps(s)} steps)" for s in model.samplers) + \
        " (the first is the default; --sampler, --steps)" + (f"\n  default   {why}" if why else "")


def run_meta(model: Model, spec: RunSpec) -> dict:
    """What every run records about itself (npz `meta`, PNG text chunks); a model's run adds its own."""
    return {"checkpoint": model.name, "checkpoint_path": str(model.path), "checkpoint_sha256": model.sha256,
            "model_kind": model.kind, "level": model.display.level, "colormap": model.display.colormap,
            "start": spec.start,
            "sampler": spec.sampler, "steps": spec.steps, "n": spec.n, "seed": spec.seed,
            "device": resolve_device(spec.device).type, "final_denoise": spec.final_denoise, "version": __version__,
            **({"coarse_sampler": spec.coarse_sampler, "coarse_steps": spec.coarse_steps} if spec.coarse_sampler else {})}


def is_whole_run(model: Model, traj: Trajectory) -> bool:
    """Whether `traj` is a whole run of `model`: the frames its recorded spec (`run_meta`) yields,
    so that its last frame holds finished samples (not a cancelled run's intermediate state)."""
    m = traj.meta
    try:
        spec = RunSpec.from_meta(m, keep_frames=False, start=0).resolved(model)
    except UsageError:
        return False
    return not m.get("start") and model.frame_count(spec) == len(traj.frames)


def check_made_by(model: Model, meta: dict, what: str = "the run") -> None:
    """Refuse a run (its `meta`) that another model made: its recorded checkpoint hash differs."""
    if not made_by(model, meta):
        raise UsageError(f"{what} was made by {meta.get('checkpoint')!r}, not by {model.name}: open that model first")


def final_samples(model: Model, spec: RunSpec, batch: int = 256, progress: Callable[[int, int], None] | None = None
                  ) -> np.ndarray:
    """Only the final samples (spec.n, C, H, W) float32, made in chunks of `batch` with no frames
    kept. Chunk i uses seed + 2 i (a run draws its noise from its seed and its SDE increments
    from seed + 1, so chunks share no random stream); n and batch together fix the result.
    No frame is kept, so the memory check is that of a frame-less run."""
    spec = replace(spec, keep_frames=False).resolved(model)
    last_seed = spec.seed + 2 * ((spec.n - 1) // batch)
    if last_seed > schema.MAX_SEED:
        raise UsageError(f"the seed must leave room for one seed per batch of {batch}: "
                         f"at most {schema.MAX_SEED - (last_seed - spec.seed)}")
    out = []
    for i, start in enumerate(range(0, spec.n, batch)):
        m = min(batch, spec.n - start)
        traj = drain(model.run(replace(spec, n=m, seed=spec.seed + 2 * i, x_init=None, keep_frames=False)))
        out.append(np.asarray(traj.sample, np.float32))
        if progress:
            progress(start + m, spec.n)
    return np.concatenate(out)


def run_title(meta: dict) -> str:
    """What a run's frames are: model, sampler, steps (and the coarse scale's, when its own) and seed."""
    coarse = (meta.get("coarse_sampler"), meta.get("coarse_steps"))
    own = (f" (coarse scale: {coarse[0]}, {coarse[1]} steps)"
           if coarse[0] and coarse != (meta.get("sampler"), meta.get("steps")) else "")
    return (f"{meta.get('checkpoint', '?')} · {meta.get('sampler', '?')}, {meta.get('steps', '?')} steps{own}, "
            f"seed {meta.get('seed', '?')}")
