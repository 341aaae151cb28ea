"""Specific exceptions raised by the core; the CLI and the window turn them into messages."""
from __future__ import annotations


class ExplorerError(Exception):
    """Base class: a problem the user can act on (the message says how). The CLI turns these
    (and only these, with OSError on the user's own files) into one line and exit status 2;
    any other exception is a bug and keeps its traceback. `field`: the value refused (a config
    key, an argument such as "steps"), when one is; tests and callers read it, not the wording."""

    def __init__(self, *args, field: str | None = None) -> None:
        super().__init__(*args)
        self.field = field


class UsageError(ExplorerError):
    """A bad argument or combination of arguments (a sampler the model does not run, steps < 1, ...)."""


class CheckpointError(ExplorerError):
    """A checkpoint file cannot be used."""


class NotASafetensorsFile(CheckpointError):
    pass


class TruncatedCheckpoint(CheckpointError):
    pass


class UnknownKind(CheckpointError):
    pass


class ConfigError(CheckpointError):
    pass


class ShapeMismatch(CheckpointError):
    pass


class MissingKeys(CheckpointError):
    pass


class DataError(ExplorerError):
    """A data set cannot be read or built."""


class SamplingError(ExplorerError):
    """A sampling run failed (for instance the model returned NaN)."""


class ExportError(ExplorerError):
    """A file could not be written; nothing partial is left behind."""
