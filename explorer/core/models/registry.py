"""Which Model a path is: the openers (one per kind of model file or folder), `open_model`, and a
run's own model (`open_maker`). The registry sits above the models it opens; a new kind registers
its opener here (`BUILTIN_OPENERS`) or from a plug-in (`register_opener`)."""
from __future__ import annotations

import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from explorer.core.errors import CheckpointError, UsageError
from explorer.core.files.io import kind_of
from explorer.core.models import diffusion, gaussian_model, hf_diffusers, scattering_model, wcrg
from explorer.core.models.base import Model, made_by
from explorer.core.models.bundle import bundled_dir, bundled_index


@dataclass(frozen=True)
class Opener:
    """claims(path) says whether this opener is for `path`; open(path) loads and validates it."""

    name: str
    claims: Callable[[Path], bool]
    open: Callable[[Path], Model]


BUILTIN_OPENERS = (Opener("wcrg", wcrg.is_wcrg, wcrg.load),
                   Opener("a diffusers UNet2DModel folder", hf_diffusers.claims, hf_diffusers.load),
                   Opener(f"a scattering model ({scattering_model.SUFFIX})", scattering_model.claims, scattering_model.load),
                   Opener(f"a Gaussian model ({gaussian_model.SUFFIX})", gaussian_model.claims, gaussian_model.load),
                   Opener("diffusion", diffusion.claims, diffusion.load))
_REGISTERED: list[Opener] = []                # plug-ins' openers, asked before the built-in ones


def register_opener(opener: Opener) -> None:
    """Add an opener; later ones are asked first, so a new kind can claim its own files."""
    _REGISTERED.insert(0, opener)


def unregister_opener(opener: Opener) -> None:
    _REGISTERED.remove(opener)


def open_model(path: str | Path) -> Model:
    """The model at `path`: a diffusion checkpoint (.safetensors), a WCRG folder (or its
    index.json), or anything a registered opener claims. Raises a CheckpointError that says
    what is wrong with the file."""
    path = Path(path)
    openers = (*_REGISTERED, *BUILTIN_OPENERS)
    try:
        mode = path.stat().st_mode                              # a link followed; a FIFO's stat does not block
    except FileNotFoundError:
        bundled = {e["name"]: e["file"] for e in bundled_index()} if len(path.parts) == 1 else {}
        if str(path) in bundled:                                # a bundled model by the name the window lists
            return open_model(bundled_dir() / bundled[str(path)])
        raise CheckpointError(f"{path}: no such file or folder"
                              + (f" (the bundled models are in {bundled_dir()}; name one by its file, or by its name "
                                 f"in the window's list)" if len(path.parts) == 1 else "")) from None
    except (OSError, ValueError, RuntimeError) as e:            # too long, a NUL, a link loop
        raise CheckpointError(f"{str(path)[:200]}: cannot be opened ({getattr(e, 'strerror', None) or e})") from None
    if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        raise CheckpointError(f"{path}: is {kind_of(mode)}, not a model file or folder")
    if stat.S_ISDIR(mode) and path.resolve() == bundled_dir().resolve():
        raise CheckpointError(f"{path}: is the folder of the bundled models, not one model; name one of its files "
                              f"(or a model by its name, e.g. {next(iter(e['name'] for e in bundled_index()), 'one')})")
    for opener in openers:
        if opener.claims(path):
            return opener.open(path)
    raise CheckpointError(f"{path}: not a model explorer can open (a .safetensors checkpoint, a WCRG folder"
                          f"{', '.join([''] + [o.name for o in openers if o.name not in ('wcrg', 'diffusion')])})")


def open_maker(meta: dict) -> Model:
    """The model that made a run (its `meta`): the recorded file, else the bundled file of that
    name, whichever has the recorded hash; a UsageError saying why when neither has."""
    recorded = meta.get("checkpoint_path")
    if not recorded:
        raise UsageError(f"the run does not record where its model {meta.get('checkpoint')!r} is")
    for path in dict.fromkeys([Path(recorded), bundled_dir() / Path(recorded).name]):
        try:
            model = open_model(path)
        except (CheckpointError, OSError, ValueError):      # a path the system refuses (too long, a NUL)
            continue
        if made_by(model, meta):
            return model
    raise UsageError(f"the model that made the run, {meta.get('checkpoint')!r}, is no longer at {recorded} "
                     f"(or that file has changed since)")
