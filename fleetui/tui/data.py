"""Where the TUI gets its data: a session over one fleet file and one store.

Every read opens its own short-lived store connection, because workers run on threads and a
SQLite connection is not for sharing between them. Nothing here imports Textual.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from fleetui.config.schema import Fleet
from fleetui.config.fleetfile import FleetSource, load_fleet, save_fleet
from fleetui.store import Store


@dataclass
class Session:
    source: FleetSource
    db_path: Path
    demo: bool
    fleet: Fleet = field(init=False)

    def __post_init__(self) -> None:
        self.fleet = load_fleet(self.source.path)

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
        """Validate and write the fleet atomically; the sample fleet is never overwritten."""
        if not self.can_save:
            raise PermissionError(
                "this is the built-in sample fleet; create your own with `fleetui init` to save changes"
            )
        save_fleet(fleet, self.source.path)
        self.fleet = fleet
        return self.source.path
