"""The `explorer` command line: `main` parses and dispatches (`main.py`); one module per group of
commands (`show`, `train`, `fields`, `analysis`); parsing helpers in `arguments`."""
from explorer.cli.main import main

__all__ = ["main"]
