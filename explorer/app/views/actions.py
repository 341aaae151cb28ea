"""The buttons of a tab that computes in the background on the loaded model (Basis, Fork)."""
from __future__ import annotations


class ModelActions:
    """A tab's `action_buttons`, `cancel_button`, `status` and `HINT`: the buttons are off
    while it computes (`set_busy`) and while the loaded model cannot do what they do (`set_refusal`)."""

    refusal = ""                                # why the loaded model cannot ("": it can)

    def set_busy(self, busy: bool) -> None:
        for button in self.action_buttons:
            button.setEnabled(not busy and not self.refusal)
        self.cancel_button.setEnabled(busy)

    def set_refusal(self, why: str) -> None:
        """Why the loaded model cannot do what this tab does ("" when it can): its buttons are then
        off, with the reason shown and in their tooltips (the model declares it: `ModelBase`)."""
        self.refusal = why
        for button in self.action_buttons:
            button.setEnabled(not why)
            button.setToolTip(why)
        self.status.setText(why or self.HINT)
