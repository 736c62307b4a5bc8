"""Markers the shim queues beside calls (feedback, follow-up, abandoned, routing decisions),
applied inside the transaction that stores the calls they refer to.

Each marker runs in its own savepoint: one SQLite refuses is set aside with its reason, and
the calls and the other markers of the batch are stored all the same."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any

from fleetui.store import decisions as stored_decisions
from fleetui.store.store import feedback_in

Marker = tuple[str, str, tuple[Any, ...]]


def marker_work(
    markers: list[Marker], source: str | None, rejects: list[tuple[Marker, str]]
) -> Callable[[sqlite3.Connection], None]:
    """A unit of work for `Store.insert_calls(then=…)`; refused markers are added to `rejects`."""

    def work(conn: sqlite3.Connection) -> None:
        rejects.clear()  # the transaction may be retried after a lock: start over
        decisions = [args[0] for kind, _, args in markers if kind == "decision"]
        if decisions:
            _guarded(conn, ("decision", "", ()), rejects, lambda: conn.executemany(
                stored_decisions.INSERT, stored_decisions.decision_rows(decisions, source)))
        for marker in markers:
            kind, call_id, args = marker
            if kind == "feedback":
                _guarded(conn, marker, rejects, lambda: feedback_in(conn, call_id, args[0], args[1]))
            elif kind in ("follow_up", "abandoned"):
                column = "follow_up" if kind == "follow_up" else "abandoned"
                _guarded(conn, marker, rejects, lambda: conn.execute(
                    f"UPDATE calls SET {column} = 1 WHERE call_id = ?", [call_id]))

    return work


def _guarded(conn: sqlite3.Connection, marker: Marker, rejects: list[tuple[Marker, str]],
             step: Callable[[], object]) -> None:
    conn.execute("SAVEPOINT marker")
    try:
        step()
    except sqlite3.OperationalError:
        raise  # the database's trouble: the whole batch waits in the spool
    except Exception as exc:  # noqa: BLE001 - a marker's own bad data
        conn.execute("ROLLBACK TO marker")
        rejects.append((marker, f"{type(exc).__name__}: {exc}"))
    conn.execute("RELEASE marker")
