"""The bundled models: where they are (`bundled_dir`), their index checkpoints/index.json read
(`bundled_index`, `default_checkpoint`, the S1/S2 pairs it lists). No torch: the window lists
them before its first paint. `index` writes the index."""
from __future__ import annotations

import os
import sys
from pathlib import Path

from explorer.core.errors import CheckpointError
from explorer.core.files import schema
from explorer.core.files.io import inside, parse_json, read_regular


def bundled_dir() -> Path:
    """The bundled checkpoints: $EXPLORER_CHECKPOINTS if set; else checkpoints/ beside the package
    (a source checkout or an editable install); else <prefix>/share/explorer/checkpoints, where a
    regular install (a wheel) puts them."""
    if os.environ.get("EXPLORER_CHECKPOINTS"):
        return Path(os.environ["EXPLORER_CHECKPOINTS"])
    source = Path(__file__).resolve().parents[3] / "checkpoints"
    if (source / "index.json").exists():
        return source
    return Path(sys.prefix) / "share" / "explorer" / "checkpoints"


def bundled_index() -> list[dict]:
    """Entries of checkpoints/index.json: name, file, kind, data, n, split, size, description."""
    folder = bundled_dir()
    index = folder / "index.json"
    if not index.exists():
        return []
    value = parse_json(read_regular(index, "bundled index", 2 ** 20, CheckpointError), str(index), CheckpointError)
    entries = schema.value(value if isinstance(value, dict) else {}, "checkpoints", list, str(index), CheckpointError)
    for e in entries:
        if not isinstance(e, dict):
            raise CheckpointError(f"{index}: each entry must be an object")
        inside(folder, schema.value(e, "file", str, str(index), CheckpointError), str(index), CheckpointError)
        for key, kind in (("name", str), ("kind", str), ("data", str), ("split", str), ("description", str),
                          ("n", int), ("size", int), ("default", bool)):
            schema.value(e, key, kind, f"{index}: {e['file']}", CheckpointError, default=None)
    return entries


def default_checkpoint() -> Path:
    """The checkpoint the window opens first: the index's entry marked default, else the first."""
    entries = bundled_index()
    if not entries:
        raise CheckpointError(f"no bundled checkpoints in {bundled_dir()}")
    entry = next((e for e in entries if e.get("default")), entries[0])
    return bundled_dir() / entry["file"]


def bundled_pairs() -> list[tuple[int, str, str]]:
    """(N, S1 file, S2 file) for the bundled S1/S2 pairs, by increasing N."""
    entries = bundled_index()
    by = {}
    for e in entries:
        if e.get("split") in ("S1", "S2") and e.get("kind") == "diffusion":
            by.setdefault((e["data"], e["n"]), {})[e["split"]] = str(bundled_dir() / e["file"])
    return sorted((n, d["S1"], d["S2"]) for (data, n), d in by.items() if "S1" in d and "S2" in d)


def other_split(path: str | Path) -> str | None:
    """The bundled model trained on the other split (S2 for S1 and back) at the same N, if any."""
    p = Path(path).resolve()
    for _, f1, f2 in bundled_pairs():
        if Path(f1).resolve() == p:
            return f2
        if Path(f2).resolve() == p:
            return f1
    return None
