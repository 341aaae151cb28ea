"""Every generator is a `Model`: the protocol, RunSpec and DisplayHints (`base`), the file format of
the networks (`checkpoint`), one module per kind (`diffusion`, `wcrg`, `scattering_model`,
`gaussian_model`, `hf_diffusers`), and the registry that says which one a path is (`registry`).

This face hands on what the window and the CLI use; inside the package, import the modules."""
from explorer.core.models.base import (
    DisplayHints,
    Model,
    ModelBase,
    RunSpec,
    check_made_by,
    final_samples,
    is_whole_run,
    resolve_device,
    run_meta,
    run_title,
    samplers_text,
)
from explorer.core.models.registry import Opener, open_maker, open_model, register_opener, unregister_opener

__all__ = ["DisplayHints", "Model", "ModelBase", "Opener", "RunSpec", "check_made_by", "final_samples", "is_whole_run",
           "open_maker", "open_model", "register_opener", "resolve_device", "run_meta", "run_title", "samplers_text",
           "unregister_opener"]
