"""Property-based fuzzing (hypothesis) of the config validator and the run-file reader: for any
input they return a checked value or raise the project's own error, never anything else."""
from __future__ import annotations

import io
import json

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from explorer.core.errors import ExplorerError  # noqa: E402
from explorer.core.files.io import load_arrays, parse_json  # noqa: E402
from explorer.core.models import checkpoint  # noqa: E402
from explorer.core.sampling.trajectory import check_run  # noqa: E402

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2 ** 70, 2 ** 70) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12)

GOOD = {"format": checkpoint.FORMAT, "version": "0.2.0", "kind": "diffusion", "name": "m", "description": "",
        "arch": {"channels": 1, "size": 16, "widths": [8, 16], "blocks": 1, "bias_free": False, "emb_dim": 16,
                 "sigma_data": 0.5, "cond_channels": 0, "padding": "zeros"},
        "data": {"name": "shapes", "params": {"size": 16}, "n": 8, "split": "S1", "seed": 0},
        "training": {"steps": 3, "monitor": [{"step": 1, "mse": {"0.01": 0.1}}]}}
PATHS = [(k,) for k in GOOD] + [("arch", k) for k in GOOD["arch"]] + [("data", k) for k in GOOD["data"]] + \
    [("data", "params", "size"), ("training", "monitor")]


def _replaced(path: tuple, value) -> dict:
    cfg = json.loads(json.dumps(GOOD))
    d = cfg
    for k in path[:-1]:
        d = d[k]
    d[path[-1]] = value
    return cfg


def test_the_good_config_passes():
    assert checkpoint.check_config(json.loads(json.dumps(GOOD)), "p") == GOOD


@FUZZ
@given(st.sampled_from(PATHS), json_values)
def test_config_validator_on_any_field_value(path, value):
    cfg = _replaced(path, value)
    try:
        checkpoint.check_config(cfg, "p")
    except ExplorerError:
        return
    checkpoint.build_model(cfg, "p")                 # what passes can be built (within the budget)


@FUZZ
@given(json_values)
def test_config_validator_on_any_json(value):
    try:
        checkpoint.check_config(value, "p")
    except ExplorerError:
        pass


@FUZZ
@given(st.binary(max_size=300))
def test_json_parser_on_any_bytes(blob):
    try:
        parse_json(blob, "p")
    except ExplorerError:
        pass


arrays = st.sampled_from([np.float32, np.float64, np.int64, np.bool_, np.complex64]).flatmap(
    lambda dtype: st.lists(st.integers(0, 3), min_size=0, max_size=5).map(lambda shape: np.zeros(shape, dtype)))


@FUZZ
@given(st.dictionaries(st.sampled_from(["meta", "t", "sigma", "level", "x_t", "x0_hat", "scale"]),
                       arrays | st.just(np.array('{"seed": 1}')) | st.just(np.array("[]")), min_size=0, max_size=7))
def test_run_checker_on_any_arrays(parts):
    try:
        meta, t, sigma, level, x_t, x0, scale = check_run(parts, "p")
    except ExplorerError:
        return
    assert isinstance(meta, dict) and x_t.ndim == 5 and x_t.shape == x0.shape
    assert len(t) == len(sigma) == len(level) == len(x_t) >= 1


@FUZZ
@given(st.binary(max_size=400), st.integers(0, 399))
def test_array_reader_on_any_bytes(tmp_path_factory, blob, cut):
    good = io.BytesIO()
    np.savez(good, t=np.zeros(3), x=np.ones((2, 2)))
    path = tmp_path_factory.mktemp("fuzz") / "f.npz"
    for data in (blob, good.getvalue()[:cut] + blob[:20]):
        path.write_bytes(data)
        try:
            load_arrays(path, "run", 2 ** 20)
        except ExplorerError:
            pass
