"""A sweep file (`explorer sweep --json`: the generalise-or-memorise curves against N): its rows
as printed, and the file read back, checked. No torch: the Compare tab draws it before torch is
loaded."""
from __future__ import annotations

from pathlib import Path

from explorer.core.errors import DataError
from explorer.core.files import schema
from explorer.core.files.io import parse_json, read_regular


def read_sweep(path: str | Path) -> list[dict]:
    """The curves of a sweep file written by `explorer sweep --json`, checked before use."""
    value = parse_json(read_regular(Path(path), "sweep file", 2 ** 22, DataError), str(path), DataError)
    curves = schema.value(value if isinstance(value, dict) else {}, "curves", list, str(path), DataError)
    for curve in curves:
        where = f"{path}: a curve"
        schema.value(curve if isinstance(curve, dict) else {}, "label", str, where, DataError)
        for row in schema.value(curve, "rows", list, where, DataError):
            if not isinstance(row, dict):
                raise DataError(f"{where}: a row must be an object")
            schema.value(row, "N", int, where, DataError, lo=1)
            for key in ("cos_s1_s2", "cos_nearest_own", "baseline"):
                for q in ("median", "q25", "q75"):
                    if row.get(f"{key}_{q}") is not None:
                        schema.value(row, f"{key}_{q}", float, where, DataError, lo=-1.0001, hi=1.0001)
    return curves


SWEEP_HEADER = (f"{'N':>6} {'cos(S1,S2) median [q25,q75]':>30} {'cos(nearest own) median [q25,q75]':>36} "
                f"{'copies':>7} {'cos>=0.95':>9} {'fresh baseline':>15}")


def format_sweep_row(r: dict) -> str:
    return (f"{r['N']:6d} {r['cos_s1_s2_median']:13.3f} [{r['cos_s1_s2_q25']:.3f},{r['cos_s1_s2_q75']:.3f}] "
            f"{r['cos_nearest_own_median']:19.3f} [{r['cos_nearest_own_q25']:.3f},{r['cos_nearest_own_q75']:.3f}] "
            f"{r['memorised_fraction']:7.0%} {r['cos_memorised_fraction']:9.0%} "
            + (f"{r['baseline_median']:15.3f}" if r.get("baseline_median") is not None else f"{'-':>15}"))
