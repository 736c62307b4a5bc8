"""Sync to every place `[sync]` names, in one go: after an apply or an accepted recommendation
(when the fleet file asks for it), and from the app's sync key.

Git first (pull, commit, push), then the bucket (pull, then publish), each on its own: a remote
that is down is reported and the bucket is still tried. Nothing here raises a SyncError.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from fleetui.config.schema import Sync
from fleetui.store import Store
from fleetui.sync import SyncError


class Reason(StrEnum):
    APPLY = "apply"
    ACCEPT = "accept"
    ASKED = "asked"  # the user pressed the key or ran the command


@dataclass(frozen=True, slots=True)
class SyncReport:
    place: str
    ok: bool
    line: str  # what happened, or the one line that says what failed


def is_configured(settings: Sync) -> bool:
    return bool(settings.git or settings.s3_bucket)


def wanted(settings: Sync, reason: Reason) -> bool:
    if reason is Reason.APPLY:
        return settings.after_apply and is_configured(settings)
    if reason is Reason.ACCEPT:
        return settings.after_accept and is_configured(settings)
    return is_configured(settings)


def sync_everywhere(settings: Sync, fleet_file: Path, store: Store, *, interactive: bool = False) -> list[SyncReport]:
    from fleetui.sync.git import GitOptions, sync_git
    from fleetui.sync.s3 import S3Target, publish, pull

    reports: list[SyncReport] = []
    if settings.git:
        place = f"origin/{settings.branch}"
        try:
            outcome = sync_git(GitOptions(settings.git, settings.branch, fleet_file, pull=True, push=True,
                                          interactive=interactive), store)
            reports.append(SyncReport(place, True, outcome.summary()))
        except SyncError as exc:
            reports.append(SyncReport(place, False, str(exc)))
    if settings.s3_bucket:
        target = S3Target(settings.s3_bucket, settings.s3_prefix, settings.s3_endpoint)
        try:
            pulled = pull(target, fleet_file, store)
            published = publish(target, fleet_file, store)
            got = "" if pulled.unchanged or pulled.set_id is None else f"pulled set {pulled.set_id}; "
            sent = "nothing new to publish" if published.unchanged else f"published set {published.set_id}"
            reports.append(SyncReport(str(target), True, got + sent))
        except SyncError as exc:
            reports.append(SyncReport(str(target), False, str(exc)))
    return reports
