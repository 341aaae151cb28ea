"""One run at a time from the RunController to where its frames go, and its progress in the
status bar: steps done of how many, steps/s and time left (or the model's level when the count is
unknown), then how it ended."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from PySide6.QtWidgets import QLabel, QProgressBar, QStatusBar

from explorer.app.run_controller import RunController
from explorer.core.sampling.trajectory import NumpyFrame


@dataclass
class Sink:
    """Where one run's frames and end go (a sampling run, or an S1/S2 comparison)."""

    frame: Callable[[NumpyFrame], None]
    returned: Callable[[object, list], None]
    stopped: Callable[[str, list], None]          # note ("cancelled", "failed"), frames made
    stopping: str = ""                            # why a run of unknown length ends where it ends


class RunFeed:
    """Routes the controller's signals to the current `Sink`. fail(message): a failed run's
    message; level(): the name of the model's level; samples(n): a frame of n samples arrived;
    ended(): after the run's end has been delivered. `after_run`: work left for then (set by a sink)."""

    def __init__(self, controller: RunController, status: QStatusBar, fail: Callable[[str], None],
                 level: Callable[[], str], samples: Callable[[int], object], ended: Callable[[], None]) -> None:
        self.controller, self.status = controller, status
        self.fail, self.level, self.samples, self.ended = fail, level, samples, ended
        self.sink: Sink | None = None
        self.outcome = ""                     # "done", "cancelled" or "failed": how the last run ended
        self.after_run: Callable[[], None] | None = None
        self._told = False                    # the status bar shows progress of work before the frames
        self.total = 0                        # the run's frames, when known
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(260)
        self.progress.setFormat("%v / %m frames")
        self.rate_label = QLabel("")
        status.addPermanentWidget(self.rate_label)
        status.addPermanentWidget(self.progress)
        controller.yielded.connect(self._on_frame)
        controller.returned.connect(self._on_returned)
        controller.errored.connect(self._on_errored)
        controller.aborted.connect(self._on_aborted)
        controller.told.connect(self._on_told)
        controller.finished.connect(self._on_finished)

    def start(self, sink: Sink, make_run, total: int | None, batch: int) -> None:
        self.sink, self.outcome = sink, ""
        self.total = total or 0
        self.progress.setRange(0, self.total)
        self.progress.setValue(0)
        self.rate_label.setText("")
        self.status.showMessage("running…")            # not the last run's "done: …"
        self.controller.start(make_run, total, batch)

    def reset(self) -> None:
        """No run's progress shown."""
        self.progress.reset()
        self.rate_label.setText("")

    def _on_told(self, text: str) -> None:
        """Progress of work before the frames (a data set being made), unless the run is cancelling."""
        if not self.controller.cancelling:
            self.status.showMessage(text)
            self._told = True
            if self.controller.count == 0:
                self.progress.setRange(0, 0)                  # busy: no frame yet, the work before them goes on

    def _on_frame(self, frame: NumpyFrame) -> None:
        if self._told:                                        # that work is done: the frames say how far now
            self.status.showMessage("running…")
            self._told = False
            self.progress.setRange(0, self.total)
        self.sink.frame(frame)
        self.samples(len(frame.x_t))
        n, rate, left = self.controller.progress()
        if self.progress.maximum() > 0:
            self.progress.setValue(min(n, self.progress.maximum()))
            self.rate_label.setText(f"{rate:.1f} steps/s · {left:.0f} s left")
        else:
            self.rate_label.setText(f"{rate:.1f} steps/s · {self.level()} = {frame.level:.3g}")

    def _on_returned(self, result, frames: list) -> None:
        self.outcome = "done"
        self.sink.returned(result, frames)

    def _on_aborted(self, frames: list) -> None:
        self.outcome = "cancelled"
        self.sink.stopped("cancelled", frames)

    def _on_errored(self, message: str, frames: list) -> None:
        self.outcome = "failed"
        self.sink.stopped("failed", frames)
        self.fail(message + (f" The {len(frames)} frames made before are kept." if frames else ""))

    def _on_finished(self) -> None:
        stopping, self.sink = self.sink.stopping, None
        if self.after_run is not None:
            self.after_run()
            self.after_run = None
        n, rate, _ = self.controller.progress()
        self.progress.setRange(0, self.total)                         # not busy, if it ended before a frame
        self.rate_label.setText(f"{rate:.1f} steps/s")                # no time left once it has ended
        if self.outcome != "failed":
            why = f" ({stopping})" if self.outcome == "done" and stopping else ""
            self.status.showMessage(f"{self.outcome}: {n} frames in {self.controller.elapsed:.1f} s{why}")
        self.ended()
