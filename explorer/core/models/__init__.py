"""Every generator is a `Model`: the protocol, RunSpec and DisplayHints (`base`), the file format of
the networks (`checkpoint`), one module per kind (`diffusion`, `wcrg`, `scattering_model`,
`gaussian_model`, `hf_diffusers`), and the registry that says which one a path is (`registry`).

This face hands on what the window and the CLI use; inside the package, import the modules. The
names of `base` cost no torch; those of `registry` (opening a model: every kind, and torch) are
imported when first asked for (PEP 562), so that the window paints before torch is loaded."""
from explorer.core.models.base import (
    DisplayHints,
    Model,
    ModelBase,
    RunSpec,
    check_made_by,
    default_batch,
    final_samples,
    is_whole_run,
    made_by,
    resolve_device,
    run_meta,
    run_title,
    runs_by_default,
    samplers_text,
)

REGISTRY = ("Opener", "open_maker", "open_model", "register_opener", "unregister_opener")


def __getattr__(name: str):
    if name in REGISTRY:
        from explorer.core.models import registry
        return getattr(registry, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["DisplayHints", "Model", "ModelBase", "Opener", "RunSpec", "check_made_by", "default_batch", "final_samples",
           "is_whole_run", "made_by", "open_maker", "open_model", "register_opener", "resolve_device", "run_meta", "run_title",
           "runs_by_default", "samplers_text", "unregister_opener"]
