"""Training a wavelet RG model: the coarse denoiser of x_J and one conditional denoiser of the
details per scale j (or one shared by every scale), on coefficients standardised per scale; the
folder NAME.wcrg/ that `models.wcrg.load` opens."""
from __future__ import annotations

import json
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path

import torch

from explorer import __version__
from explorer.core.data import check_record, resolved_k, training_set
from explorer.core.errors import ConfigError, UsageError
from explorer.core.files import schema
from explorer.core.files.io import all_or_nothing, atomic_write, check_output, check_output_folder, exclusive, parse_json
from explorer.core.models import checkpoint
from explorer.core.models.base import resolve_device
from explorer.core.models.wcrg import FORMAT, Normalisation, WCRGModel, check_index, load
from explorer.core.nets.unet import UNetConfig
from explorer.core.statistics import wavelets
from explorer.core.statistics.stats import summary
from explorer.core.training import distributed
from explorer.core.training.train import denoising_loss, fit, seeded_model


@dataclass
class WCRGRecipe:
    levels: int = 2                 # J (the name is kept: it is recorded in every WCRG index)
    wavelet: str = "haar"
    coarse_widths: list[int] = field(default_factory=lambda: [32, 64])
    conditional_widths: list[int] = field(default_factory=lambda: [32, 64])
    blocks: int = 1
    padding: str = "zeros"
    shared: bool = False            # one conditional network for every scale (assumes self-similarity)

    def check(self) -> None:
        """Every field's type and range (a UsageError before any work)."""
        d = self.__dict__
        schema.value(d, "levels", int, "", UsageError, lo=1, hi=8)
        schema.value(d, "blocks", int, "", UsageError, lo=1, hi=16)
        if not isinstance(self.wavelet, str) or self.wavelet not in wavelets.ORTHOGONAL:
            raise UsageError(f"wavelet {str(self.wavelet)[:40]!r} is not an orthogonal PyWavelets wavelet (haar, db2, sym4, ...)")
        for key in ("coarse_widths", "conditional_widths"):
            widths = schema.value(d, key, list, "", UsageError)
            if not 1 <= len(widths) <= 8:
                raise UsageError(f"{key} needs 1 to 8 widths, not {len(widths)}")
            for v in widths:
                schema.number(v, f"a width in {key}", UsageError, 1, 2048)


def train(data: dict, recipe: WCRGRecipe, out: str | Path, tc_coarse, tc_conditional, device: str = "auto",
          name: str | None = None, description: str = "", command: str = "", progress: bool = True) -> WCRGModel:
    """Train the coarse model and one conditional model per scale; write the folder `out`."""

    out = check_output_folder(out)
    recipe.check()
    check_record(data, "the data", UsageError)
    checkpoint.check_writable(f"{name or out.stem} details all scales", description, data,
                              "--name, --description and --data-params")
    x = torch.from_numpy(training_set(data))
    size, J = x.shape[-1], recipe.levels
    if size % (2 ** J) or (size >> J) < 4:
        raise ConfigError(f"size {size} cannot be halved {J} times down to at least 4x4")
    created = not out.exists()
    out.mkdir(exist_ok=True)
    try:
        with exclusive(out) if distributed.world().main else nullcontext():
            return _train(x, data, recipe, out, tc_coarse, tc_conditional, device, name, description, command, progress)
    finally:
        if created and out.is_dir() and not any(out.iterdir()):
            out.rmdir()                                            # a failure before any file: no empty folder


def _train(x, data, recipe, out, tc_coarse, tc_conditional, device, name, description, command, progress) -> WCRGModel:

    c, size = x.shape[1], x.shape[-1]
    J, w = recipe.levels, recipe.wavelet
    # every network and file planned, budgeted and checked before any training
    groups = [("conditional_shared.safetensors", list(range(J, 0, -1)))] if recipe.shared else \
        [(f"conditional_j{j}.safetensors", [j]) for j in range(J, 0, -1)]
    plan = [("lowpass.safetensors", [J], UNetConfig(
        channels=c, size=size >> J, widths=list(recipe.coarse_widths)[: _max_levels(size >> J)], blocks=recipe.blocks,
        sigma_data=1.0, padding=recipe.padding))]
    plan += [(fname, scales, UNetConfig(channels=3 * c, cond_channels=c, size=size >> min(scales),
                                        widths=list(recipe.conditional_widths)[: _max_levels(size >> max(scales))],
                                        blocks=recipe.blocks, sigma_data=1.0, padding=recipe.padding))
             for fname, scales in groups]
    for fname, _, arch in plan:
        arch.check_budget(f"the network of {fname}")
        check_output(out / fname)
        check_output(out / (fname + ".resume"))
    check_output(out / "index.json")

    norm = Normalisation.measure(x, J, w)
    dev = resolve_device(device)
    data = {**data, "mean": float(x.mean()), "std": float(x.std()), "stats": summary(x.numpy(), k_max=resolved_k(data))}
    checkpoint.check_writable(f"{name or out.stem} details all scales", description, data, "the training data")
    xj = x.double()
    per_scale = {}
    for j in range(1, J + 1):
        low, d = wavelets.analysis(xj, w)
        per_scale[j] = torch.cat([d / norm.detail_std[j], (low - norm.low_mean[j]) / norm.low_std[j]], 1).float()
        xj = low                                                   # ends as x_J
    coarse = ((xj - norm.low_mean[J]) / norm.low_std[J]).float()
    fp = json.dumps({"data": data, "recipe": recipe.__dict__}, sort_keys=True, default=str)

    def loss_fn(m, batch, t, z, k=3 * c):
        return denoising_loss(m, batch[:, :k], t, z[:, :k], cond=batch[:, k:])

    files = {"lowpass": plan[0][0], "conditional": {}}
    rank = distributed.world()
    with all_or_nothing():                      # every file of the folder replaced together, or none
        for fname, scales, arch in plan:
            lowpass = fname == files["lowpass"]
            tc = tc_coarse if lowpass else tc_conditional
            label = "coarse" if lowpass else "all scales" if recipe.shared else f"scale {min(scales)}"
            ema, stats = fit(seeded_model(arch, tc.seed), coarse if lowpass else [per_scale[j] for j in scales], tc,
                             out / fname, fp + json.dumps(tc.to_dict()) + ("" if lowpass else fname), dev,
                             loss_fn=None if lowpass else loss_fn, desc=f"{out.stem} {label}", progress=progress)
            config = checkpoint.make_config(
                "wcrg-lowpass", arch, f"{name or out.stem} coarse x_J", description, data,
                {**tc.to_dict(), **stats, "device": dev.type}, scale=J, wavelet=w) if lowpass else checkpoint.make_config(
                "wcrg-conditional", arch, f"{name or out.stem} details {label}", description, data,
                {**tc.to_dict(), **stats, "device": dev.type}, scale=min(scales), wavelet=w, scales=scales)
            if rank.main:
                checkpoint.save(out / fname, ema, config)
            if not lowpass:
                files["conditional"].update({str(j): fname for j in scales})
        index = {"format": FORMAT, "version": __version__, "name": name or out.stem, "description": description,
                 "wavelet": w, "levels": J, "size": size, "channels": c, "normalisation": norm.to_dict(), "files": files,
                 "data": data, "recipe": recipe.__dict__, "command": command}
        if rank.main:
            text = json.dumps(index, indent=1) + "\n"
            atomic_write(out / "index.json", lambda f: f.write(text.encode()),
                         verify=lambda tmp: check_index(parse_json(tmp.read_bytes(), str(out / "index.json"), ConfigError),
                                                        str(out / "index.json")))
    for fname, _, _ in plan if rank.main else ():
        (out / (fname + ".resume")).unlink(missing_ok=True)
    distributed.barrier(rank)
    return load(out)


def _max_levels(size: int) -> int:
    """U-Net levels a size allows (each level halves; keep at least 4x4 at the bottom)."""
    levels = 1
    while size % (2 ** levels) == 0 and size >> levels >= 4:
        levels += 1
    return levels
