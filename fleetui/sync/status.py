"""The last sync in words, for `fleetui sync status` and the app's Fleet tab: "synced 2 h ago to
origin/main"."""

from __future__ import annotations

from fleetui import clock
from fleetui.store import Store
from fleetui.store.shared import SyncRecord, last_sync


def ago(ts: float, now: float | None = None) -> str:
    seconds = max(0.0, (clock.now() if now is None else now) - ts)
    for size, unit in ((86400, "d"), (3600, "h"), (60, "min")):
        if seconds >= size:
            return f"{seconds // size:.0f} {unit} ago"
    return "just now"


def describe(sync: SyncRecord, now: float | None = None) -> str:
    verb = {"publish": "published", "pull": "pulled"}.get(sync.action, "synced")
    short = sync.target.split(" (")[0]  # "origin/main (URL)" → "origin/main"
    return f"{verb} {ago(sync.ts, now)} {'from' if sync.action == 'pull' else 'to'} {short}"


def last_sync_line(store: Store, now: float | None = None) -> str | None:
    """The latest sync of any kind, or None when there has been none."""
    sync = last_sync(store)
    return None if sync is None else describe(sync, now)
