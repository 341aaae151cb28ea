"""The Basis, Fork and Statistics tabs' background work: the adaptive basis and the effective
dimension of the shown run (`core.basis`), forks and their spread (`core.fork`), every model of a
field against its data (`core.head_to_head`), one computation at a time in a RunController of
its own. Wiring only: the science is in core."""
from __future__ import annotations

from functools import partial

import numpy as np
from PySide6.QtCore import QObject

from explorer.app.run_controller import RunController
from explorer.app.run_process import run_model
from explorer.core.errors import ExplorerError
from explorer.core.lazy import Later
from explorer.core.models import bundle, check_made_by

torch = Later("torch")                                          # imported by the first computation
basis = Later("explorer.core.analysis.basis")
fork = Later("explorer.core.analysis.fork")
head_to_head = Later("explorer.core.analysis.head_to_head")
data = Later("explorer.core.data")


def no_denoiser(model) -> str:
    """Why the Basis tab cannot differentiate `model` (it declares no denoiser)."""
    return f"{model.name} has no single denoiser x0_hat(x_t, t) to differentiate (a {model.kind} model)."


class Analysis(QObject):
    def __init__(self, window):
        super().__init__(window)
        self.window = window
        self.controller = RunController(self)
        self._current = (window.basis, "", lambda result: None)          # (view, what is counted, done)
        c = self.controller
        # the core's steps yield how much is done (columns, forks, frames); a fork's run yields Frames: counted
        c.yielded.connect(lambda done: self._current[0].show_message(
            f"computing: {done if isinstance(done, int) else c.count} of {c.total} {self._current[1]}…"))
        c.returned.connect(lambda result, _: self._current[2](result))
        c.errored.connect(lambda message, _: self._current[0].show_message(message))
        c.aborted.connect(lambda _: self._current[0].show_message("cancelled"))
        c.finished.connect(lambda: self._current[0].set_busy(False))
        window.basis.compute_requested.connect(self.compute_basis)
        window.basis.dimension_requested.connect(self.compute_effective_dimension)
        window.forks.fork_requested.connect(self.fork_here)
        window.forks.curve_requested.connect(self.fork_curve)
        window.statistics.field_requested.connect(self.compare_field)
        for v in (window.basis, window.forks, window.statistics):
            v.cancel_requested.connect(c.cancel)

    def is_running(self) -> bool:
        return self.controller.is_running()

    def _start(self, view, make_run, total: int, what: str, done) -> bool:
        """Run `make_run()` for the Basis or Fork tab in the background; `done(result)` at its end."""
        if self.controller.is_running():
            view.show_message("A computation is in progress; cancel it first.")
            return False
        self._current = (view, what, done)
        view.set_busy(True)
        view.show_message(f"computing: 0 of {total} {what}…")
        return self.controller.start(make_run, total=total)

    def _basis_denoiser(self):
        """The model's denoiser for the Basis tab, or None (and the reason shown there)."""
        frames, model = self.window.view.frames, self.window.model
        denoiser = model.denoiser if model is not None else None
        why = ("Open a model first." if model is None else
               "Run the model first: the basis is computed at a step of a run." if not frames else
               no_denoiser(model) if denoiser is None else "")
        if not why and self.window.trajectory is not None:     # a run opened from a file: its own model's
            try:
                check_made_by(model, self.window.trajectory.meta, "the run shown")
            except ExplorerError as e:
                why = str(e)
        if why:
            self.window.basis.show_message(why)
            return None
        return denoiser

    def compute_basis(self, sample: int) -> bool:
        """The adaptive basis at the Trajectory tab's current step, for `sample`, in the background;
        at the final image, which has no noise level (where a run leaves the slider), at the last
        step before it that has one."""
        denoiser = self._basis_denoiser()
        if denoiser is None:
            return False
        frames, current = self.window.view.frames, self.window.view.current
        k = next((i for i in range(current, -1, -1) if frames[i].t > 0), None)
        if k is None:
            self.window.basis.show_message("No step up to this one has a noise level: choose a later step.")
            return False
        note = "" if k == current else f" (step {current}, the final image, has no noise level)"
        frame = frames[k]
        sample = min(sample, len(frame.x_t) - 1)
        x_t = torch.tensor(np.asarray(frame.x_t[sample]))
        view = self.window.basis
        if view.pair_box.isChecked():
            other = bundle.other_split(self.window.model.path)
            if other is None:
                view.clear()                                   # not the last basis under this refusal
                view.show_message(f"{self.window.model.name} is not one of the bundled S1/S2 pairs.")
                return False

            def failed(message: str) -> None:
                view.clear()
                view.show_message(message)

            def with_twin(models) -> bool:                     # the other split's model, opened off the GUI thread
                names = (self.window.model.name, models[0].name)

                def done(pair) -> None:
                    view.show_pair(pair, names, basis.subspace_overlap(*pair), k, sample, note)
                return self._start(view, partial(basis.pair_steps, denoiser, models[0].denoiser, x_t, frame.t, 16),
                                   2 * x_t.numel(), "Jacobian columns", done)
            return self.window.with_models((other,), with_twin, failed)
        return self._start(view, partial(basis.basis_steps, denoiser, x_t, frame.t, 16), x_t.numel(),
                           "Jacobian columns", lambda b: view.show_basis(b, k, sample, note))

    def compute_effective_dimension(self, sample: int) -> bool:
        """tr A at every step of the shown run, for `sample`, in the background."""
        denoiser = self._basis_denoiser()
        if denoiser is None:
            return False
        frames = list(self.window.view.frames)
        sample = min(sample, len(frames[0].x_t) - 1)
        dim = frames[0].x_t[0].size
        return self._start(self.window.basis, partial(basis.effective_dimension_steps, denoiser, frames, sample), len(frames),
                                    "steps", lambda rows: self.window.basis.show_dimension(rows, dim, sample))

    def _fork_source(self):
        """The finished run the Fork tab forks, or None (and the reason shown there)."""
        traj = self.window.trajectory
        model = self.window.model
        why = ("Open a model first." if model is None else model.fork_refusal or
               ("Run the model to its end first: a fork re-samples the rest of a finished run." if traj is None else ""))
        if why:
            self.window.forks.show_message(why)
            return None
        return traj

    def fork_here(self, sample: int, n: int) -> bool:
        """n endings of the shown run from the Trajectory tab's current step, in the background."""
        traj = self._fork_source()
        if traj is None:
            return False
        k = min(self.window.view.current, len(traj.frames) - 2)
        try:
            spec = fork.fork_spec(self.window.model, traj, k, n, seed=self.window.run_panel.spec().seed, sample=sample)
        except ExplorerError as e:
            self.window.forks.show_message(str(e))
            return False
        model, f = self.window.model, traj.frames[k]
        start = np.asarray(f.x_t[min(sample, len(f.x_t) - 1)])

        def done(result) -> None:
            endings = np.asarray(result.sample)
            self.window.forks.show_endings(start, endings, k, f.level, fork.spread(endings))
        return self._start(self.window.forks, partial(run_model, model, spec), model.frame_count(spec), "steps", done)

    def fork_curve(self, sample: int, n: int) -> bool:
        """The spread of the endings of forks at 8 steps of the shown run, in the background."""
        traj = self._fork_source()
        if traj is None:
            return False
        ks, model = fork.curve_steps(len(traj.frames)), self.window.model
        return self._start(self.window.forks, partial(fork.spread_curve_steps, model, traj, ks, n, sample=sample), len(ks),
                                    "forks", self.window.forks.show_curve)

    def compare_field(self, n: int) -> bool:
        """Every bundled model of the loaded model's field, n samples each, against the loaded
        model's recorded training data, in the background."""
        model, view = self.window.model, self.window.statistics
        reference = model.data.get("stats") if model is not None else None
        if reference is None:
            view.show_message("Open a model that records its training data's statistics first." if model is None else
                              f"{model.name} records no statistics of its training data (trained by an older explorer).")
            return False
        models = head_to_head.bundled_of_field(model)                # a damaged bundled file: left out of the table
        label = f"training data of {model.name} ({reference['n']} {model.data.get('name')} images)"
        return self._start(view, partial(head_to_head.table_steps, models, reference, n, device="cpu"),
                           head_to_head.total_frames(models, n) or 0, f"frames ({len(models)} models)",
                           lambda rows: view.show_table(rows, label, field=model.data.get("name") in data.MAGNETISED))
