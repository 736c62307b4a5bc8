"""What the rules and roles editors share: a private copy of the fleet, edited until Save, and
a question before leaving with changes that are not in the file yet."""

from __future__ import annotations

from textual.screen import Screen

from fleetui.config.schema import Fleet
from fleetui.config.fleetfile import FleetFileError
from fleetui.tui.data import Session
from fleetui.tui.model_detail import Confirm


class FleetEditor(Screen[None]):
    WHAT = "changes"  # what the notifications call the edits: "rules", "roles"

    def __init__(self, session: Session) -> None:
        super().__init__()
        self.session = session
        self.fleet: Fleet = session.fleet.model_copy(deep=True)
        self.dirty = False  # changes made here and not saved yet

    def action_save(self) -> bool:
        try:
            path = self.session.save(self.fleet)
        except (PermissionError, OSError, FleetFileError, ValueError) as exc:
            self.app.notify(str(exc), title="Not saved", severity="error", timeout=8)
            return False
        self.dirty = False
        self.app.notify(f"{self.WHAT} saved to {path}", title="Saved")
        return True

    def action_leave(self) -> None:
        if not self.dirty:
            self.app.pop_screen()
            return

        def answer(discard: bool | None) -> None:
            if discard:
                self.app.pop_screen()

        self.app.push_screen(
            Confirm(f"Leave without saving? The {self.WHAT} changes are not in the fleet file yet."), answer)
