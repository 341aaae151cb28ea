"""The Run panel: sampler, steps, batch, seed, device, final denoising, and for a model that
draws a coarse scale first (a WCRG) that scale's own sampler and steps; Run and Cancel.

Its interface is typed: `spec()` gives the RunSpec the controls describe, `set_spec()` sets
them, `set_model()` offers the samplers a model runs with its default steps, `set_running()`
switches the buttons. It knows nothing of how a run is made.
"""
from __future__ import annotations

import random

from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtWidgets import QCheckBox, QComboBox, QFormLayout, QHBoxLayout, QPushButton, QSpinBox, QWidget

from explorer.app.settings import CheckedSettings
from explorer.core.files import schema
from explorer.core.models import Model, RunSpec, default_batch, runs_by_default
from explorer.core.sampling import catalogue

SETTINGS = ("sampler", "steps", "batch", "seed", "device")   # and the kind of model they were for, and the coarse scale's
AS_DETAILS = "as above"


class RunPanel(QWidget):
    run_clicked = Signal()
    cancel_clicked = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self._model: Model | None = None
        self._settings_kind: str | None = None                 # the kind of model the restored settings were for
        self.sampler_box = QComboBox()
        for key, label in catalogue.LABELS.items():
            self.sampler_box.addItem(label, key)
        self.sampler_box.currentIndexChanged.connect(self._sampler_changed)
        self.sampler_box.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
        self.sampler_box.setMinimumContentsLength(12)          # the dock stays narrow; the list shows all
        self.sampler_box.view().setMinimumWidth(self.sampler_box.view().sizeHintForColumn(0) + 24)
        self.steps_box = QSpinBox(minimum=1, maximum=schema.MAX_STEPS, value=catalogue.DEFAULT_STEPS["sde"])
        self._auto_steps = self.steps_box.value()             # the steps last set for the user, not by them
        self.batch_box = QSpinBox(minimum=1, maximum=1024, value=16)
        self._auto_batch = self.batch_box.value()             # the batch last set for the user (`default_batch`)
        self.seed_box = QSpinBox(minimum=0, maximum=2 ** 31 - 1, value=0)
        self.seed_box.setMinimumWidth(60)                     # not ten digits wide: the dock fits a 1000 px screen
        randomise = QPushButton("Randomise")
        randomise.clicked.connect(lambda: self.seed_box.setValue(random.randrange(2 ** 31 - 1)))
        seed_row = QHBoxLayout()
        seed_row.addWidget(self.seed_box, 1)
        seed_row.addWidget(randomise)
        self.device_box = QComboBox()
        self.device_box.addItems(["auto", "cpu", "cuda"])
        self.coarse_box = QComboBox()                          # shown for models with coarse_samplers only
        self.coarse_box.addItem(AS_DETAILS, None)
        for key, label in catalogue.LABELS.items():
            self.coarse_box.addItem(label, key)
        self.coarse_box.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
        self.coarse_box.setMinimumContentsLength(5)             # with its steps beside it, no wider than the sampler
        self.coarse_steps_box = QSpinBox(minimum=1, maximum=schema.MAX_STEPS, value=200)
        self.coarse_steps_box.setMinimumWidth(52)
        self.coarse_box.currentIndexChanged.connect(lambda: self._show_coarse())
        coarse_row = QHBoxLayout()
        coarse_row.addWidget(self.coarse_box, 1)
        coarse_row.addWidget(self.coarse_steps_box)
        tip = ("the sampler and steps of the coarsest scale x_J, drawn first ('as above': the sampler and steps "
               "above, which the details of every finer scale follow). For phi4-wcrg, x_J by the ODE is 7-8 % low in power at "
               "|k| = 2 at any steps; by the SDE with 200 steps it is within its error (docs/results/notebook.md)")
        self._coarse_tip = tip
        self.coarse_box.setToolTip(tip)
        self.coarse_steps_box.setToolTip(tip)
        self.final_denoise = QCheckBox("final denoising step")
        self.final_denoise.setChecked(True)
        self.run_button = QPushButton("Run")
        self.run_button.setDefault(True)
        self.run_button.clicked.connect(self.run_clicked)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel_clicked)
        buttons = QHBoxLayout()
        buttons.addWidget(self.run_button)
        buttons.addWidget(self.cancel_button)
        form = QFormLayout(self)
        form.addRow("sampler", self.sampler_box)
        form.addRow("steps", self.steps_box)
        form.addRow("batch", self.batch_box)
        form.addRow("seed", seed_row)
        form.addRow("device", self.device_box)
        form.addRow("coarse scale", coarse_row)
        self._show_coarse()
        form.addRow("", self.final_denoise)
        form.addRow(buttons)
        for widget, tip in ((self.steps_box, "the number of steps of the sampler's grid (frames: steps + 1)"),
                            (self.batch_box, "samples drawn at once, from the same seed"),
                            (self.seed_box, "the seed of the initial noise and of every random draw: the same seed, "
                                            "the same run"),
                            (self.device_box, "where the networks run: auto is a GPU when torch sees one"),
                            (self.final_denoise, "end with x0_hat of the last step (Tweedie's estimate) rather than "
                                                 "the last noisy x_t")):
            widget.setToolTip(tip)
        self._tips()

    def _tips(self) -> None:
        for box in (self.sampler_box, self.coarse_box):
            for i in range(box.count()):
                box.setItemData(i, catalogue.TIPS.get(box.itemData(i), box.toolTip()), Qt.ToolTipRole)

    # --- the typed interface ------------------------------------------------------------------------
    def spec(self) -> RunSpec:
        coarse = self.coarse_box.currentData() if self._coarse_scale() else None
        return RunSpec(sampler=self.sampler_box.currentData(), steps=self.steps_box.value(), n=self.batch_box.value(),
                       seed=self.seed_box.value(), device=self.device_box.currentText(),
                       final_denoise=self.final_denoise.isChecked(), coarse_sampler=coarse,
                       coarse_steps=self.coarse_steps_box.value() if coarse else None)

    def set_spec(self, sampler: str | None = None, steps: int | None = None, n: int | None = None,
                 seed: int | None = None, device: str | None = None, coarse_sampler: str | None = None,
                 coarse_steps: int | None = None) -> None:
        """Set the given controls (a sampler the model does not run is ignored; coarse_sampler
        "": as the other scales)."""
        if sampler is not None:
            i = self.sampler_box.findData(sampler)
            if i >= 0 and self.sampler_box.model().item(i).isEnabled():
                self.sampler_box.setCurrentIndex(i)
        for value, box in ((steps, self.steps_box), (n, self.batch_box), (seed, self.seed_box)):
            if value is not None:
                box.setValue(int(value))
        if device is not None:
            self.device_box.setCurrentText(device)
        if coarse_sampler is not None:
            i = self.coarse_box.findData(coarse_sampler) if coarse_sampler else 0
            if i >= 0 and self.coarse_box.model().item(i).isEnabled():
                self.coarse_box.setCurrentIndex(i)
        if coarse_steps is not None:
            self.coarse_steps_box.setValue(int(coarse_steps))

    def set_model(self, model: Model) -> None:
        """Offer the samplers `model` runs (others greyed out; unknown ones added). A model of
        another kind than the last one (for the first model: than the one the restored settings
        were saved with, and when none were), a sampler it does not run, or a panel that shows
        the last model's default run untouched when this one's differs (its file's, `explorer
        set-default`) brings the model's own default sampler and steps (as `explorer sample` uses);
        otherwise the user's settings stay. The batch is the model's `default_batch` unless the user
        set one."""
        previous, self._model = self._model, model
        last_kind = previous.kind if previous is not None else self._settings_kind
        shown = (self.sampler_box.currentData(), self.steps_box.value())
        untouched = previous is not None and shown == runs_by_default(previous) != runs_by_default(model)
        for key in model.samplers:
            if self.sampler_box.findData(key) < 0:
                self.sampler_box.addItem(catalogue.LABELS.get(key, key), key)
                self.sampler_box.setItemData(self.sampler_box.count() - 1, catalogue.TIPS.get(key), Qt.ToolTipRole)
        offer(self.sampler_box, model.samplers)
        if self.batch_box.value() == self._auto_batch:         # not the user's own: this model's default
            self._auto_batch = default_batch(model)
            self.batch_box.setValue(self._auto_batch)
        coarse = model.coarse_samplers
        offer(self.coarse_box, (None, *coarse))
        if self.coarse_box.currentData() not in (None, *coarse) or last_kind != model.kind:
            self.coarse_box.setCurrentIndex(0)
        self._show_coarse()
        if self.sampler_box.currentData() not in model.samplers or last_kind != model.kind or untouched:
            self._auto_steps = self.steps_box.value()          # the model's defaults replace these steps
            self.sampler_box.setCurrentIndex(self.sampler_box.findData(model.samplers[0]))
            self._sampler_changed()

    def set_running(self, running: bool) -> None:
        self.run_button.setEnabled(not running)
        self.cancel_button.setEnabled(running)

    def set_cancelling(self) -> None:
        """Cancel was pressed: the run ends after its current step."""
        self.cancel_button.setEnabled(False)

    def _coarse_scale(self) -> bool:
        """Whether the model draws a coarse scale first (the coarse-scale row is for it)."""
        return self._model is not None and bool(self._model.coarse_samplers)

    def _show_coarse(self) -> None:
        """The coarse-scale row: on for a model with a coarse scale only, its steps only when it has
        a sampler of its own. Off, not hidden: the panel and its Run button keep their place."""
        on = self._coarse_scale()
        self.coarse_box.setEnabled(on)
        self.coarse_steps_box.setEnabled(on and self.coarse_box.currentData() is not None)
        self.coarse_box.setToolTip(self._coarse_tip if on else "for a model that draws a coarse scale first (a WCRG "
                                   "model); the loaded model has one scale")

    def _sampler_changed(self) -> None:
        """A new sampler brings its default steps, unless the user typed a number of their own;
        the final denoising step is offered for the samplers on a time grid."""
        sampler = self.sampler_box.currentData()
        self.final_denoise.setEnabled(sampler in catalogue.GRID_SAMPLERS)    # a time grid's last step only
        if self._model is not None and sampler in self._model.samplers:
            default = self._model.default_steps(sampler)
        else:
            default = catalogue.DEFAULT_STEPS.get(sampler)
        if default is not None and self.steps_box.value() == self._auto_steps:
            self.steps_box.setValue(default)
            self._auto_steps = default

    # --- settings -------------------------------------------------------------------------------------
    def save(self, s: QSettings) -> None:
        spec = self.spec()
        for key, value in zip(SETTINGS, (spec.sampler, spec.steps, spec.n, spec.seed, spec.device)):
            s.setValue(key, value)
        if spec.n == self._auto_batch:                          # the model's default, not the user's: the next
            s.remove("batch")                                   # model brings its own
        s.setValue("kind", self._model.kind if self._model is not None else (self._settings_kind or ""))
        s.setValue("coarse_sampler", self.coarse_box.currentData() or "")
        s.setValue("coarse_steps", self.coarse_steps_box.value())

    def restore(self, s: CheckedSettings) -> None:
        """The controls as saved, each value checked (a bad one is dropped: `CheckedSettings`)."""
        self._settings_kind = s.text("kind") or None
        i = self.sampler_box.findData(s.text("sampler", "sde"))
        self.sampler_box.setCurrentIndex(max(i, 0))
        boxes = self.steps_box, self.batch_box, self.seed_box, self.coarse_steps_box
        steps, n, seed, coarse_steps = (s.integer(key, box.value(), box.minimum(), box.maximum())
                                        for key, box in zip(("steps", "batch", "seed", "coarse_steps"), boxes))
        self.set_spec(steps=steps, n=n, seed=seed, device=s.text("device", "auto", ("auto", "cpu", "cuda")),
                      coarse_sampler=s.text("coarse_sampler"), coarse_steps=coarse_steps)


def offer(box: QComboBox, keys) -> None:
    """Show (and enable) only the entries of `box` whose data is in `keys`: a model's own samplers,
    not greyed-out others."""
    for i in range(box.count()):
        on = box.itemData(i) in keys
        box.model().item(i).setEnabled(on)
        box.view().setRowHidden(i, not on)
