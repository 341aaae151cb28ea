"""Writes checkpoints/index.json from the records of the models in a folder (each opened by
`open_model`): python -m explorer.core.models.index checkpoints/"""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

from explorer.core.files.io import atomic_write
from explorer.core.models.bundle import bundled_dir
from explorer.core.models.registry import open_model

DEFAULT = "shapes-N10000-S1"


def _natural(path: Path) -> tuple:
    """shapes-N10-S1 after shapes-N1-S2 and before shapes-N100-S1: numbers compare as numbers."""
    return tuple(int(t) if t.isdigit() else t for t in re.split(r"(\d+)", path.stem))


def index_entries(folder: Path) -> list[dict]:
    """One entry per model in `folder` (any kind `open_model` reads), in natural order."""
    entries = []
    paths = sorted([*folder.glob("*.safetensors"), *folder.glob("*.wcrg")], key=_natural)     # each field's models together
    for path in paths:
        model = open_model(path)
        data = model.data
        entries.append({"name": model.name, "file": path.name, "kind": model.kind, "data": data.get("name"),
                        "n": data.get("n"), "split": data.get("split"), "size": model.image_shape[-1],
                        "description": model.summary().get("description", "")})
    names = [e["name"] for e in entries]
    default = DEFAULT if DEFAULT in names else (names[0] if names else None)
    for e in entries:
        e["default"] = e["name"] == default
    return entries


def main(folder: str) -> int:
    folder = Path(folder)
    entries = index_entries(folder)
    text = (json.dumps({"checkpoints": entries}, indent=1) + "\n").encode()
    atomic_write(folder / "index.json", lambda f: f.write(text))
    print(f"indexed {len(entries)} checkpoints in {folder / 'index.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1] if len(sys.argv) > 1 else str(bundled_dir())))
