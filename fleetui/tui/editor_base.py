"""What every screen that saves the fleet shares: one save path that never writes over a file
that changed on disk (it offers to reload or to show what changed instead), and, for the rules
and roles editors, a private copy of the fleet edited until Save and a question before leaving
with changes that are not in the file yet."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, Label, Static

from fleetui.config.fleetfile import FleetFileError
from fleetui.config.schema import Fleet
from fleetui.config.writer import FileChanged
from fleetui.tui.data import Session
from fleetui.tui.model_detail import Confirm


class FileChangedScreen(ModalScreen[str]):
    """The fleet file changed on disk since it was loaded: reload it, look at the change, or keep editing.

    Dismisses with "reload" or "keep"; "Show the change" shows the diff in place.
    """

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "keep", "Keep editing", id="changed.keep")]

    def __init__(self, session: Session, reason: str) -> None:
        super().__init__()
        self.session = session
        self.reason = reason

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="file-changed"):
            yield Label(f"[b]Not saved.[/] {self.reason}")
            yield Label("Reload drops the changes made here and reads the file as it is now.")
            yield Static("", id="file-changed-diff")
            with Horizontal():
                yield Button("Reload from disk", id="changed-reload", variant="warning")
                yield Button("Show the change", id="changed-diff")
                yield Button("Keep editing", id="changed-keep", variant="primary")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "changed-diff":
            diff = self.session.outside_change() or "(no difference in the text)"
            self.query_one("#file-changed-diff", Static).update(_coloured(diff))
        elif event.button.id == "changed-reload":
            self.dismiss("reload")
        else:
            self.dismiss("keep")

    def action_keep(self) -> None:
        self.dismiss("keep")


def _coloured(diff: str) -> Text:
    text = Text()
    for line in diff.splitlines(keepends=True):
        style = "green" if line.startswith("+") else "red" if line.startswith("-") else "dim" if line.startswith("@") else ""
        text.append(line, style=style)
    return text


def save_fleet_from(screen: Screen[Any], session: Session, fleet: Fleet,
                    on_reload: Callable[[], None] | None = None) -> Path | None:
    """Save `fleet` for `screen`: the path on success, else None with the reason shown.

    When the file changed on disk, nothing is written and the user chooses: reload it (then
    `on_reload` runs, so the screen can show the file's fleet) or keep editing.
    """
    app = screen.app
    try:
        return session.save(fleet)
    except FileChanged as exc:
        def chosen(choice: str | None) -> None:
            if choice != "reload":
                return
            try:
                session.reload()
            except FleetFileError as error:
                app.notify(str(error)[:600], title="The file on disk does not read", severity="error", timeout=12)
                return
            app.notify(f"reloaded {session.source.path}", title="Reloaded")
            if on_reload is not None:
                on_reload()

        app.push_screen(FileChangedScreen(session, exc.reason), chosen)
        return None
    except (PermissionError, OSError, FleetFileError, ValueError) as exc:
        app.notify(str(exc)[:600], title="Not saved", severity="error", timeout=10)
        return None


class FleetEditor(Screen[None]):
    WHAT = "changes"  # what the notifications call the edits: "rules", "roles"

    def __init__(self, session: Session) -> None:
        super().__init__()
        self.session = session
        self.fleet: Fleet = session.fleet.model_copy(deep=True)
        self.dirty = False  # changes made here and not saved yet

    def apply_form(self) -> bool:
        """Put what the form holds and was not applied yet into `self.fleet`; False (the reason
        shown) when it is not valid. Editors with a form override this."""
        return True

    def refill(self) -> None:
        """Show `self.fleet` again (after a reload)."""

    def action_save(self) -> bool:
        if not self.apply_form():
            self.app.notify(f"the form is not valid, so the {self.WHAT} were not saved; fix it or press esc",
                            title="Not saved", severity="error", timeout=8)
            return False
        path = save_fleet_from(self, self.session, self.fleet, self._reloaded)
        if path is None:
            return False
        self.dirty = False
        self.app.notify(f"{self.WHAT} saved to {path}", title="Saved")
        return True

    def _reloaded(self) -> None:
        self.fleet = self.session.fleet.model_copy(deep=True)
        self.dirty = False
        self.refill()

    def action_leave(self) -> None:
        if not self.dirty:
            self.app.pop_screen()
            return

        def answer(discard: bool | None) -> None:
            if discard:
                self.app.pop_screen()

        self.app.push_screen(
            Confirm(f"Leave without saving? The {self.WHAT} changes are not in the fleet file yet."), answer)
