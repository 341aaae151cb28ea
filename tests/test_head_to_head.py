"""Every model of one field against the same data: core, CLI and the Statistics tab."""
import json
import re

import numpy as np
import pytest
from conftest import make_tiny_checkpoint
from windows import open_window

from explorer.cli import main
from explorer.core.analysis import head_to_head as h2h
from explorer.core.errors import UsageError
from explorer.core.models import open_model
from explorer.core.statistics import stats


@pytest.fixture(scope="module")
def two_fields(tmp_path_factory):
    """Two tiny models of 16 x 16 shapes (one field) and one of 8 x 8 shapes (another)."""
    folder = tmp_path_factory.mktemp("h2h")
    a = make_tiny_checkpoint(folder / "a.safetensors", seed=0)
    b = make_tiny_checkpoint(folder / "b.safetensors", seed=1, widths=(4, 8))
    other = make_tiny_checkpoint(folder / "small.safetensors", size=8)
    return [open_model(m.path) for m in (a, b, other)]


def test_the_table_has_a_row_per_model_with_its_errors(two_fields):
    a, b, _ = two_fields
    reference = a.data["stats"]
    run = h2h.table_steps([a, b], reference, n=3, seed=0)
    made = []
    while True:
        try:
            made.append(next(run))
        except StopIteration as stop:
            rows = stop.value
            break
    assert made == list(range(1, h2h.total_frames([a, b], 3) + 1))          # progress, frame by frame
    assert [r["name"] for r in rows] == ["a", "b"] and rows[0]["parameters"] > rows[1]["parameters"]
    for model, r in zip((a, b), rows):
        spec_sampler = model.samplers[0]
        assert r["sampler"] == spec_sampler and r["steps"] == model.default_steps(spec_sampler)
        assert r["spectrum_error"] > 0 and 0 <= r["histogram_tv"] <= 1 and r["histogram_tv_se"] > 0
    for key in ("bispectrum", "trispectrum", "spectrum"):
        z = rows[0][f"{key}_z"]
        assert z is None if key not in reference and "power_se" not in reference else z >= 0
    # a reference with P(k) errors gives each row the largest |dP| over the shells in standard errors
    with_errors = h2h.table_steps([a], {**reference, "power_se": [0.05 * p for p in reference["power"]]}, n=3, seed=0)
    while True:
        try:
            next(with_errors)
        except StopIteration as stop:
            row = stop.value[0]
            break
    power = row["details"]["power"]
    expected = max(abs(g - r) / (gs ** 2 + rs ** 2) ** 0.5 for g, gs, r, rs in zip(
        power["generated"], power["generated_se"], power["reference"], power["reference_se"]))
    assert row["spectrum_z"] == pytest.approx(expected, rel=1e-12) and expected > 0
    assert f"{row['spectrum_z']:5.1f}" in h2h.format_rows([row], "x")
    text = h2h.format_rows(rows, "the training data")
    assert text.count("\n") == 3 and "a " in text and "diffusion" in text
    assert f"{rows[0]['histogram_tv']:6.3f} ± {rows[0]['histogram_tv_se']:5.3f}" in text


def test_a_field_is_its_generator_its_parameters_and_for_your_own_data_their_file():
    shapes = {"name": "shapes", "params": {"size": 16}, "n": 8, "split": "S1"}
    assert h2h.field_of(shapes) == h2h.field_of({**shapes, "n": 100, "split": "S2"})
    assert h2h.field_of(shapes) != h2h.field_of({**shapes, "params": {"size": 32}})
    mine = {"name": "user", "params": {"size": 16}, "path": "/data/a"}
    assert h2h.field_of(mine) != h2h.field_of({**mine, "path": "/data/b"})


def test_a_polyspectrum_difference_in_standard_errors_and_relative_to_the_reference():
    d = {"generated": [0.0, 1.0], "reference": [0.5, 0.0], "generated_se": [0.3, 0.3], "reference_se": [0.4, 0.4]}
    assert stats.difference_z(d) == pytest.approx(2.0)                      # 1 / hypot(0.3, 0.4)
    assert stats.relative_difference(d) is None          # the reference is 0 within its errors: no ratio
    d["reference_se"] = [0.1, 0.1]
    assert stats.relative_difference(d) == pytest.approx(2.0)               # 1 / 0.5
    assert stats.difference_z(None) is None and stats.relative_difference(None) is None


def test_models_of_another_field_are_refused_before_any_work(two_fields):
    a, _, other = two_fields
    with pytest.raises(UsageError, match="compare models of one field"):
        next(h2h.table_steps([a, other], a.data["stats"]))
    assert [m.name for m in h2h.same_field(a, [other, a, two_fields[1]])] == ["a", "b"]


def test_the_cli_prints_and_writes_the_table(two_fields, tmp_path, capsys):
    a, b, other = two_fields
    out = tmp_path / "field.json"
    assert main(["field", str(a.path), str(b.path), "--reference", "train", "--n", "2", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "against the training data of a" in printed and "max |dP/P|" in printed
    rows = json.loads(out.read_text())["rows"]
    assert [r["name"] for r in rows] == ["a", "b"] and all(np.isfinite(r["spectrum_error"]) for r in rows)
    assert main(["field", str(a.path), str(other.path), "--reference", "train"]) == 2
    assert "compare models of one field" in capsys.readouterr().err


def test_a_table_keeps_only_last_frames_so_long_runs_are_not_refused(two_fields, tmp_path, monkeypatch, capsys):
    """The table keeps each run's last frame: a run too long to keep whole (here, under a lowered
    limit) still makes its row; a run too long even so is refused before the reference is drawn."""
    from explorer.core.files import schema

    a, b, _ = two_fields
    monkeypatch.setattr(schema, "MAX_RUN_BYTES", 2 * 4 * 2 * 16 * 16 * 20)    # 2 samples x 10 frames, kept and saved
    with pytest.raises(UsageError, match="a run may keep"):
        from explorer.core.models import RunSpec
        RunSpec(n=2, steps=30).resolved(a)
    assert main(["field", str(a.path), "--reference", "train", "--n", "2"]) == 0
    monkeypatch.setattr(schema, "MAX_RUN_BYTES", 2 * 4 * 16 * 16)                 # one sample's last frame
    called = []
    monkeypatch.setattr("explorer.core.data.fresh_images", lambda *args: called.append(1))
    capsys.readouterr()
    assert main(["field", str(a.path), "--reference", "fresh", "--n", "2"]) == 2
    assert "a run may keep" in capsys.readouterr().err and not called


def test_the_statistics_tab_fills_the_table(qtbot, tmp_path, two_fields):
    from PySide6.QtCore import QSettings

    a = two_fields[0]
    win = open_window(qtbot, QSettings(str(tmp_path / "s.ini"), QSettings.IniFormat), checkpoint_path=a.path)
    win.show()
    view = win.statistics
    assert not view.table.isVisible()
    view.field_n.setValue(2)
    view.field_button.click()
    qtbot.waitUntil(lambda: not win.analysis.is_running() and bool(view.rows), timeout=60000)
    win.tabs.setCurrentWidget(view)
    assert view.table.isVisible() and view.table.rowCount() == len(view.rows) >= 1
    assert view.table.item(0, 0).text() == "a" and "%" in view.table.item(0, 4).text()
    assert "against the training data of a" in view.field_status.text()
    header = [view.table.horizontalHeaderItem(j).text() for j in range(view.table.columnCount())]
    cell = view.table.item(0, header.index("trispectrum: rel. (s.e.)")).text()            # the data record it
    assert re.fullmatch(r"(–|\d+%) \(\d+\.\d\)", cell), cell
    # the run panel draws both polyspectra, or hides the one a reference lacks, and says which
    samples = np.random.default_rng(0).normal(size=(8, 1, 16, 16))
    view.show_samples(samples, a.data["stats"])
    tabs = view.polyspectra
    assert [tabs.isTabVisible(tabs.indexOf(p)) for p in (view.trispectrum, view.bispectrum)] == [True, True]
    assert "Trispectrum: largest difference" in view.summary.text()
    old = {k: v for k, v in a.data["stats"].items() if k != "trispectrum"}
    view.show_samples(samples, old)
    assert not tabs.isTabVisible(tabs.indexOf(view.trispectrum)) and tabs.isTabVisible(tabs.indexOf(view.bispectrum))
    assert "Trispectrum: not in this model's record" in view.summary.text()
