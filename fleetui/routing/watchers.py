"""What the router hears from outside its fleet file: probe health and budget levels.

Both are set from code (`set_health`, `set_budget`) or watched from fleetui's store on a daemon
thread (`watch_health`, `watch_budget`). A refresh that fails keeps what it had and says why;
routing never waits on the store.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from fleetui.routing.budget import BudgetLevels
from fleetui.routing.compiled import CompiledFleet

if TYPE_CHECKING:
    from fleetui.config.schema import Fleet
    from fleetui.store import Store

# Probe statuses (fleetui.probes) under which a model cannot take requests now; "degraded"
# (slow) still can.
UNAVAILABLE = frozenset({"offline", "auth_failed", "misconfigured", "rate_limited"})
_T = TypeVar("_T")


class Watching:
    """Health and budget state of a Router; the router's config lives in `_state`."""

    _state: tuple[CompiledFleet, frozenset[str]]
    _lock: threading.Lock

    def _init_watching(self) -> None:
        self._health: dict[str, str] = {}
        self.health_error: str | None = None  # why the last health refresh failed (watch_health)
        self.budget = BudgetLevels()
        self.budget_error: str | None = None  # why the last budget refresh failed (watch_budget)
        self._watches: dict[str, threading.Event] = {}

    @property
    def fleet(self) -> Fleet:
        return self._state[0].fleet

    def set_health(self, statuses: Mapping[str, str]) -> None:
        """Model statuses from probes (model id → status); offline, auth_failed, misconfigured
        and rate_limited models are skipped until a later call says otherwise."""
        with self._lock:
            self._health = dict(statuses)
            self._state = self._with_availability(self._state[0])

    def set_budget(self, levels: BudgetLevels) -> None:
        """Budget levels (fleetui.routing.budget.budget_levels): past warn or critical, rules that
        did not opt out step down toward cheaper models."""
        self.budget = levels

    def _with_availability(self, config: CompiledFleet) -> tuple[CompiledFleet, frozenset[str]]:
        available = frozenset(m.id for m in config.models.values()
                              if m.enabled and self._health.get(m.id) not in UNAVAILABLE)
        return config, available

    def watch_health(self, db_path: str | os.PathLike[str] | None = None, *, every_s: float = 30.0,
                     max_age_s: float | None = None) -> None:
        """Skip the models fleetui's probes find down (`fleetui probe --watch`, the terminal app).

        Reads the latest probes from the store (`db_path`, default fleetui's database) now, then
        every `every_s` on a daemon thread, and applies them as `set_health` does. Probes older
        than `max_age_s` (default: three of the fleet's probe intervals) do not count, so a model
        nobody probes any more is routed to again. A refresh that fails keeps the statuses it had
        and says why in `health_error`. `stop_watching_health()` ends it.
        """
        self._watch("health", db_path, every_s, lambda path: self._refresh_health(path, max_age_s))

    def stop_watching_health(self) -> None:
        self._stop("health")

    def watch_budget(self, db_path: str | os.PathLike[str] | None = None, *, every_s: float = 300.0) -> None:
        """Follow the month's projected spend against the fleet's budgets (now, then every
        `every_s`); failures keep the last levels and say why in `budget_error`."""
        self._watch("budget", db_path, every_s, self._refresh_budget)

    def stop_watching_budget(self) -> None:
        self._stop("budget")

    def _watch(self, what: str, db_path: str | os.PathLike[str] | None, every_s: float,
               refresh: Callable[[Path], None]) -> None:
        if what in self._watches:
            raise RuntimeError(f"this router already watches {'probe ' if what == 'health' else ''}{what}")
        from fleetui import locations

        path = Path(db_path) if db_path is not None else locations.default_db()
        stop = threading.Event()
        self._watches[what] = stop
        refresh(path)

        def watch() -> None:
            while not stop.wait(every_s):
                refresh(path)

        threading.Thread(target=watch, name=f"fleetui-router-{what}", daemon=True).start()

    def _stop(self, what: str) -> None:
        stop = self._watches.pop(what, None)
        if stop is not None:
            stop.set()

    def _with_store(self, path: Path, read: Callable[[Store], _T]) -> tuple[_T | None, str | None]:
        """What `read` found in the store, or why it could not read it."""
        from fleetui.store import Store

        if not path.exists():
            return None, f"{path}: no such database yet"
        try:
            with Store.open(path) as store:
                return read(store), None
        except Exception as exc:  # a locked or broken store must not stop routing
            return None, f"{path}: {exc}"

    def _refresh_health(self, path: Path, max_age_s: float | None) -> None:
        from fleetui.probes import fleet_health

        fleet = self.fleet
        oldest = time.time() - (max_age_s if max_age_s is not None else 3 * fleet.probes.interval_s)
        statuses, error = self._with_store(path, lambda store: fleet_health(fleet, lambda model_id, n: [
            p for p in store.recent_probes(model_id, n) if p.ts >= oldest]))
        if statuses is None:
            self.health_error = f"{error}, so no probes (run `fleetui probe`)" if "no such database" in str(error) else error
            return
        self.health_error = None  # before the routes change, so a caller who sees them sees this
        self.set_health(statuses)

    def _refresh_budget(self, path: Path) -> None:
        from fleetui.routing.budget import budget_levels

        levels, error = self._with_store(path, lambda store: budget_levels(self.fleet, store)[0])
        self.budget_error = error
        if levels is not None:
            self.set_budget(levels)
