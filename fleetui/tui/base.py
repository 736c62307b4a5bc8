"""A tab whose data loads in a thread worker and renders on the main thread."""

from __future__ import annotations

import time
from typing import Any, Generic, TypeVar

from textual import work
from textual.containers import Vertical
from textual.worker import get_current_worker

from fleetui.tui.data import Session

T = TypeVar("T")


class DataTab(Vertical, Generic[T]):
    """Subclasses define `load()` (runs on a thread; no widgets) and `show(data)` (main thread),
    typed by what crosses between them: `class UsageTab(DataTab[UsageData])`."""

    FRESH_S = 10.0  # switching back to a tab within this long shows what it has, without a reload

    def __init__(self, session: Session, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.session = session
        self.loaded = False
        self.loads = 0  # how many loads were shown: tests wait on it instead of sleeping
        self._loaded_at = 0.0

    def reload(self, force: bool = False) -> None:
        if not force and self.loaded and time.monotonic() - self._loaded_at < self.FRESH_S:
            return
        self._load()

    @work(thread=True, exclusive=True, group="tab-load")
    def _load(self) -> None:
        try:
            data = self.load()
        except Exception as exc:  # a broken store is a message on screen, not a crash
            self.app.call_from_thread(self.app.notify, f"{type(exc).__name__}: {exc}", title="Could not load",
                                      severity="error")
            return
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self._show, data)

    def _show(self, data: T) -> None:
        from textual.css.query import NoMatches

        if not self.is_attached:
            return  # the app closed while the load ran: nothing to show it on
        try:
            self.show(data)
        except NoMatches:
            if self.is_attached and self.app.is_running:
                raise
            return  # the widgets went while the app was shutting down (q pressed during a load)
        self.loaded = True
        self.loads += 1
        self._loaded_at = time.monotonic()

    def focus_main(self) -> None:
        """Give the keyboard to the tab's main widget (its first table), so its keys answer at once."""
        from textual.widgets import DataTable

        tables = self.query(DataTable)
        if tables:
            tables.first().focus()

    def load(self) -> T:
        raise NotImplementedError

    def show(self, data: T) -> None:
        raise NotImplementedError
