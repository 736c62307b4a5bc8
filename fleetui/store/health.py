"""The store's health, read without changing anything: what `fleetui doctor` and `status` show.

Opens the database read-only (no migration, no WAL switch, nothing created) so that looking at
a broken or busy store never makes it worse.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from fleetui.store import spool
from fleetui.store.checks import COERCED, NULLED
from fleetui.store.migrations import SCHEMA_VERSION
from fleetui.store.store import PRUNED, REJECTED, WAL_LIMIT

DROPPED = "shim.dropped"
SPOOL_STALE_S = 60.0  # a spool older than this is not being drained: the database is in trouble


class Health(StrEnum):
    OK = "ok"
    ATTENTION = "attention"  # calls lost or waiting: look at the problems listed
    BROKEN = "broken"  # the store cannot be used as it is

    @property
    def exit_code(self) -> int:
        return {Health.OK: 0, Health.ATTENTION: 1, Health.BROKEN: 2}[self]


@dataclass(frozen=True, slots=True)
class Losses:
    """What the store's counters say about calls that are not (or not wholly) in it."""

    dropped: int = 0  # the shim could keep them nowhere (queue full, no disk)
    rejected: int = 0  # SQLite refused them even after the checks: in <db>.rejected.jsonl
    torn_lines: int = 0  # spool lines cut by a crash
    pruned: int = 0  # deleted by retention on purpose; their rollups stay
    coerced: dict[str, int] = field(default_factory=dict)  # field -> values turned into numbers/text
    nulled: dict[str, int] = field(default_factory=dict)  # field -> unreadable values stored as NULL


@dataclass(frozen=True, slots=True)
class SpoolState:
    files: list[str]
    lines: int
    bytes: int
    oldest_age_s: float | None


@dataclass(frozen=True, slots=True)
class StoreHealth:
    db_path: str
    exists: bool
    size_bytes: int | None
    wal_bytes: int | None
    schema_version: int | None
    schema_expected: int
    integrity: str | None  # "ok", the first problem SQLite reports, or None when not checked
    calls: int | None
    losses: Losses
    spool: SpoolState
    rejected_file: str | None
    rejected_lines: int
    health: Health
    problems: list[str]

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def losses_from(counters: dict[str, int]) -> Losses:
    return Losses(
        dropped=counters.get(DROPPED, 0), rejected=counters.get(REJECTED, 0),
        torn_lines=counters.get(spool.TORN, 0), pruned=counters.get(PRUNED, 0),
        coerced={k[len(COERCED):]: v for k, v in counters.items() if k.startswith(COERCED) and v},
        nulled={k[len(NULLED):]: v for k, v in counters.items() if k.startswith(NULLED) and v},
    )


def spool_state(db_path: Path) -> SpoolState:
    files = spool.spool_files(db_path)
    size = 0
    for path in files:
        try:
            size += path.stat().st_size
        except OSError:
            pass
    return SpoolState([str(p) for p in files], spool.count_lines(files), size, spool.oldest_age_s(db_path))


def check(db_path: Path, *, integrity: bool = True) -> StoreHealth:
    """Everything `fleetui doctor` reports about the database apps write to at `db_path`."""
    problems: list[str] = []
    broken = False
    exists = db_path.exists()
    size = _size(db_path)
    wal = _size(db_path.with_name(db_path.name + "-wal"))
    version = calls = None
    result: str | None = None
    counters: dict[str, int] = {}
    if not exists:
        problems.append(f"{db_path}: no database yet — no app has recorded a call here; check FLEETUI_DB "
                        "or the db_path the apps pass to fleetui.shim.configure")
    else:
        try:
            conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=2.0)
            try:
                version = int(conn.execute("PRAGMA user_version").fetchone()[0])
                if integrity:
                    rows = [r[0] for r in conn.execute("PRAGMA quick_check")]
                    result = "ok" if rows == ["ok"] else "; ".join(rows[:3])
                if version >= 1:
                    calls = int(conn.execute("SELECT COUNT(*) FROM calls").fetchone()[0])
                    counters = {n: int(v) for n, v in conn.execute("SELECT name, value FROM counters")}
            finally:
                conn.close()
        except sqlite3.Error as exc:
            broken = True
            problems.append(f"{db_path}: cannot read the database ({exc}); if it is locked, try again; "
                            "if it is not a database, move it away")
        if result not in (None, "ok"):
            broken = True
            problems.append(f"{db_path}: integrity check failed ({result}); copy the file away and "
                            f"recover it with `sqlite3 {db_path} .recover`")
        if version is not None and version > SCHEMA_VERSION:
            broken = True
            problems.append(f"{db_path}: schema {version} is newer than this fleetui's {SCHEMA_VERSION}; upgrade fleetui")
    losses = losses_from(counters)
    spooled = spool_state(db_path)
    rejected_file = spool.rejected_path(db_path)
    rejected_lines = spool.count_lines([rejected_file])
    if losses.dropped:
        problems.append(f"{losses.dropped:,} calls dropped by the shim (queue full or nowhere to write): "
                        "raise max_queue in fleetui.shim.configure, or free the disk")
    if losses.rejected:
        problems.append(f"{losses.rejected:,} records the database refused, kept with their reasons in {rejected_file}")
    if losses.torn_lines:
        problems.append(f"{losses.torn_lines:,} spool lines cut short by a crash, kept in {rejected_file}")
    if spooled.lines and (spooled.oldest_age_s or 0) > SPOOL_STALE_S:
        problems.append(f"{spooled.lines:,} calls waiting in the spool for {_age(spooled.oldest_age_s)}: the database "
                        "is locked, read-only or its disk is full; the next writer that can write stores them")
    if wal is not None and wal > 2 * WAL_LIMIT:
        problems.append(f"the WAL is {wal / 2**20:,.0f} MiB: a reader keeps it from being checkpointed "
                        "(close long-running programs on this database)")
    health = Health.BROKEN if broken else (Health.ATTENTION if problems else Health.OK)
    return StoreHealth(
        db_path=str(db_path), exists=exists, size_bytes=size, wal_bytes=wal, schema_version=version,
        schema_expected=SCHEMA_VERSION, integrity=result, calls=calls, losses=losses, spool=spooled,
        rejected_file=str(rejected_file) if rejected_lines else None, rejected_lines=rejected_lines,
        health=health, problems=problems,
    )


def _size(path: Path) -> int | None:
    try:
        return os.stat(path).st_size
    except OSError:
        return None


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
