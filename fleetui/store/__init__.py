"""fleetui's SQLite store. SQL lives in this package only."""

from fleetui.store.records import CallRecord, ProbeRecord, new_call_id
from fleetui.store.store import Grouping, Store, StoreError, Totals, today, utc_day

__all__ = [
    "CallRecord", "Grouping", "ProbeRecord", "Store", "StoreError", "Totals", "new_call_id",
    "today", "utc_day",
]
