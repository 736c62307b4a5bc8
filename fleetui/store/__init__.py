"""fleetui's SQLite store. SQL lives in this package only.

The record types load without sqlite-utils so that the logging shim, which lives inside other
people's apps, can build records cheaply; the Store itself loads on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fleetui.store.records import CallRecord, ProbeRecord, TrialRecord, new_call_id

if TYPE_CHECKING:
    from fleetui.store.store import Grouping, Store, StoreError, Totals

_LAZY = {"Grouping", "Store", "StoreError", "Totals"}
_SUBMODULES = {"analytics", "histogram", "rankings", "recommendations", "replays", "routed", "usage", "use_cases"}

__all__ = [
    "CallRecord", "Grouping", "ProbeRecord", "Store", "StoreError", "Totals", "TrialRecord", "new_call_id",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from fleetui.store import store

        return getattr(store, name)
    if name in _SUBMODULES:
        import importlib

        return importlib.import_module(f"fleetui.store.{name}")
    raise AttributeError(f"module 'fleetui.store' has no attribute {name!r}")
