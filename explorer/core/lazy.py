"""A module imported where it is first used. The window's modules name the part of the core that
needs torch this way (`Later("explorer.core.models.registry")`), so that its first paint does
not wait for torch (~1 s of its start-up): what they need at once (the Model protocol, RunSpec,
the trajectory's Frames, the sampler catalogue, the bundled index) imports no torch, and a test
keeps it so. `importlib.import_module` holds the import locks: two threads asking at once get
one module, imported once."""
from __future__ import annotations

import importlib
from types import ModuleType


class Later:
    """Stands for the module `name`: an attribute read imports it (once: later reads find it in
    sys.modules) and returns the module's attribute."""

    __slots__ = ("name",)

    def __init__(self, name: str):
        self.name = name

    def __getattr__(self, attr: str):
        return getattr(self.module(), attr)

    def module(self) -> ModuleType:
        return importlib.import_module(self.name)

    def __repr__(self) -> str:
        return f"<module {self.name!r}, imported where first used>"
