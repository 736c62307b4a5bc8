"""Where the TUI gets its data: a session over one fleet file and one store.

Every read opens its own short-lived store connection, because workers run on threads and a
SQLite connection is not for sharing between them. Nothing here imports Textual.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from fleetui.config.fleetfile import FleetSource, read_fleet, save_fleet
from fleetui.config.schema import Fleet
from fleetui.store import Store


@dataclass
class Session:
    source: FleetSource
    db_path: Path
    demo: bool
    fleet: Fleet = field(init=False)
    # The file's text as it was read: saves edit this text, and refuse when the file is no longer it.
    text: str = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.reload()

    def reload(self) -> Fleet:
        """Read the fleet file again (raises FleetFileError, keeping what was loaded, when it is broken)."""
        self.fleet, self.text = read_fleet(self.source.path)
        return self.fleet

    @contextmanager
    def store(self) -> Iterator[Store]:
        store = Store.open(self.db_path)
        try:
            yield store
        finally:
            store.close()

    @property
    def can_save(self) -> bool:
        return not self.source.is_sample

    def save(self, fleet: Fleet) -> Path:
        """Validate and write the fleet atomically, editing the text that was read; the sample
        fleet is never overwritten. Raises FileChanged when the file on disk is no longer that text."""
        if not self.can_save:
            raise PermissionError(
                "this is the built-in sample fleet; create your own with `fleetui init` to save changes"
            )
        self.text = save_fleet(fleet, self.source.path, expect=self.text).text
        self.fleet = fleet
        return self.source.path

    def outside_change(self) -> str:
        """The diff between the text that was read and the file on disk now ("" when the same)."""
        from fleetui.config.change import text_diff
        from fleetui.config.writer import read_text

        try:
            now = read_text(self.source.path)
        except (OSError, UnicodeDecodeError) as exc:
            return f"(cannot read {self.source.path}: {exc})"
        return text_diff(self.text, now, f"{self.source.path} (as loaded)", f"{self.source.path} (on disk now)")
