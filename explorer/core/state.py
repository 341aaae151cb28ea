"""The state the window shows, without Qt: the loaded model, the run shown and the S1/S2 pair last
compared, and whether the run is still the model's own. The window's widgets observe it, as
napari's Qt layer observes its components; a script or a test can drive it alone.

    state.observe("model", f)   f(model)        after the model changed
    state.observe("run", f)     f(run, why)     after the run shown changed (None: none; why: the reason
                                                  a stale run was dropped, "" otherwise)
    state.observe("pair", f)    f(pair)         after the pair changed
"""
from __future__ import annotations

from typing import Callable

from explorer.core.models import Model, RunSpec, is_whole_run, made_by
from explorer.core.sampling.trajectory import Trajectory

EVENTS = ("model", "run", "pair")


class ExplorerState:
    """model: the Model that Run runs; run: the Trajectory shown (made by `model`, or opened from a
    file whose model could not be opened: `own_run` tells); pair: the (S1, S2) models last compared."""

    def __init__(self) -> None:
        self.model: Model | None = None
        self.run: Trajectory | None = None
        self.pair: tuple[Model, Model] | None = None
        self._observers: dict[str, list[Callable]] = {e: [] for e in EVENTS}

    def observe(self, event: str, callback: Callable) -> None:
        if event not in self._observers:
            raise ValueError(f"no event {event!r}; the events are {', '.join(EVENTS)}")
        self._observers[event].append(callback)

    def _emit(self, event: str, *values) -> None:
        for callback in self._observers[event]:
            callback(*values)

    def set_model(self, model: Model) -> None:
        """Make `model` the loaded one; a run another model made is dropped first (it is stale)."""
        self.model = model
        if self.run is not None and not self.own_run:
            self.set_run(None, f"{model.name} loaded: press Run")
        self._emit("model", model)

    def set_run(self, run: Trajectory | None, why: str = "") -> None:
        self.run = run
        self._emit("run", run, why)

    def set_pair(self, s1: Model, s2: Model) -> None:
        """The S1/S2 pair, checked (`check_pair`: a UsageError before any work)."""
        from explorer.core.analysis.generalization import check_pair  # torch: when a pair is set

        check_pair(s1, s2)
        self.pair = (s1, s2)
        self._emit("pair", self.pair)

    @property
    def own_run(self) -> bool:
        """Whether the run shown was made by the loaded model (its recorded checkpoint hash, `made_by`)."""
        return self.run is not None and self.model is not None and made_by(self.model, self.run.meta)

    def run_spec(self) -> RunSpec | None:
        """The spec that repeats the run shown (`RunSpec.from_meta`), None without a run."""
        return None if self.run is None else RunSpec.from_meta(self.run.meta)

    def whole_run(self) -> bool:
        """Whether the run shown is a whole run of the loaded model (its last frame: finished samples)."""
        return self.own_run and is_whole_run(self.model, self.run)
