"""Sync from the app (the Fleet tab's key, or after an accept or apply when [sync] asks): on a
thread worker, since git and S3 are the network; the result comes back as notifications."""

from __future__ import annotations

from textual.app import App

from fleetui.sync.auto import Reason, SyncReport, sync_everywhere, wanted
from fleetui.tui.data import Session


def start_sync(app: App[None], session: Session, reason: Reason, *, then: object = None) -> bool:
    """Start a sync if [sync] wants one for `reason`; False when it does not. `then` (a callable)
    runs on the main thread after the notifications."""
    settings = session.fleet.sync
    if not wanted(settings, reason) or not session.can_save:
        return False

    def work() -> None:
        try:
            with session.store() as store:
                reports = sync_everywhere(settings, session.source.path, store)
        except Exception as exc:  # noqa: BLE001 - a broken store is a message on screen, not a crash
            reports = [SyncReport("sync", False, f"{type(exc).__name__}: {exc}")]
        app.call_from_thread(_done, app, session, reports, then)

    app.notify("syncing…", timeout=2)
    app.run_worker(work, thread=True, exclusive=True, group="sync", name="sync")
    return True


def _done(app: App[None], session: Session, reports: list[SyncReport], then: object) -> None:
    from fleetui.config.fleetfile import FleetFileError, load_fleet

    try:
        session.fleet = load_fleet(session.source.path)  # a pull may have merged a teammate's changes in
    except FleetFileError as exc:  # only a hand edit made meanwhile can break it: say so, keep the old
        app.notify(str(exc), title="Fleet file", severity="error", timeout=10)
    for report in reports:
        app.notify(report.line, title=f"Sync: {report.place}", severity="information" if report.ok else "error",
                   timeout=6 if report.ok else 12)
    if callable(then):
        then()
