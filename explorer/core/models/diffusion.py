"""A diffusion checkpoint as a Model: one sigma-conditioned denoiser run by any sampler of `samplers`."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Generator

from explorer.core.data import colormap_for
from explorer.core.models import checkpoint
from explorer.core.models.base import (
    DisplayHints,
    ModelBase,
    RunSpec,
    default_first,
    default_run_steps,
    new_default_run,
    resolve_device,
    run_meta,
)
from explorer.core.sampling import catalogue, samplers
from explorer.core.sampling.trajectory import Frame, Trajectory


@dataclass
class DiffusionModel(ModelBase):
    """A loaded, validated `diffusion` checkpoint; `denoiser(x_t, t) -> x0_hat`."""

    fork_refusal = None                      # any run on a time grid continues from its frames

    checkpoint: checkpoint.Checkpoint

    @property
    def path(self) -> Path:
        return self.checkpoint.path

    @property
    def sha256(self) -> str:
        return self.checkpoint.sha256

    @property
    def config(self) -> dict:
        return self.checkpoint.config

    @property
    def denoiser(self):
        return self.checkpoint.denoiser

    @property
    def name(self) -> str:
        return self.checkpoint.name

    @property
    def kind(self) -> str:
        return "diffusion"

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return self.checkpoint.image_shape

    @property
    def parameters(self) -> int:
        return self.checkpoint.parameters

    @property
    def data(self) -> dict:
        return self.config.get("data") or {}

    @property
    def default_run(self) -> dict | None:
        return self.config.get("default_run")

    @property
    def samplers(self) -> tuple[str, ...]:
        return default_first(tuple(catalogue.DEFAULT_STEPS), self.default_run)

    @property
    def display(self) -> DisplayHints:
        return DisplayHints(colormap=colormap_for(self.data))

    def default_steps(self, sampler: str) -> int:
        return default_run_steps(self.default_run, sampler, catalogue.DEFAULT_STEPS[sampler])

    def write_default(self, sampler: str, steps: int, why: str) -> None:
        run = new_default_run(self, sampler, steps, why)
        if run is not None:
            checkpoint.rewrite_default_run(self.path, run)

    def describe(self) -> str:
        return checkpoint.describe(self.checkpoint)

    def summary(self) -> dict:
        return self.checkpoint.summary()

    def frame_count(self, spec: RunSpec) -> int | None:
        options = {k: v for k, v in self.sampler_options(spec.sampler).items() if k != "mean"}
        return samplers.frame_count(spec.sampler, spec.steps, spec.start, **options)

    def sampler_options(self, sampler: str) -> dict:
        """Options a sampler takes from the model's data: the ascent starts at N(mean, sigma0^2 I)
        with sigma0 = max(1, 3 std), so that the initial noise dominates the data's spread (the
        paper's sigma0 = 1 is for images in [0, 1])."""
        if sampler != "ascent":
            return {}
        return {"mean": float(self.data.get("mean", 0.0)), "sigma0": max(1.0, 3 * float(self.data.get("std", 0.0)))}

    def run(self, spec: RunSpec) -> Generator[Frame, None, Trajectory]:
        """Sample spec.n images; x_init (n, C, H, W) defaults to initial_noise(seed), the SDE
        increments come from seed + 1."""
        spec = spec.resolved(self)
        device = resolve_device(spec.device)
        net = self.denoiser.to(device)
        x_init = spec.x_init if spec.x_init is not None else samplers.initial_noise((spec.n, *self.image_shape), seed=spec.seed)
        return samplers.sample(net, x_init.to(device), spec.sampler, spec.steps, seed=spec.seed,
                               meta=run_meta(self, spec), final_denoise=spec.final_denoise,
                               keep_frames=spec.keep_frames, **self.sampler_options(spec.sampler),
                               **({"start": spec.start} if spec.start else {}))


def claims(path: Path) -> bool:
    """Any file: the loader's checks say precisely what is wrong with one that is not a checkpoint."""
    return not path.is_dir()


def load(path: str | Path) -> DiffusionModel:
    """Open a diffusion checkpoint (a wcrg part or another kind is refused with a message)."""
    return DiffusionModel(checkpoint.load(path, expect_kind="diffusion"))
