"""Success per app call and per attempt: an SDK that retries a 429 makes two attempts of one call.

Attempts are the stored rows (the rollups count them). An app call is one row, or the rows that
share an app_call_id (the shim links an SDK's retries so); it succeeded when one of its attempts
did. Only linked rows are read from the call log, through their partial index, so this stays as
cheap as the rollups on a log of millions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fleetui.store.store import Store


@dataclass(frozen=True, slots=True)
class CallOutcomes:
    attempts: int
    failed_attempts: int
    app_calls: int
    failed_app_calls: int  # calls whose every attempt failed
    retried_app_calls: int  # calls that took more than one attempt

    @property
    def attempt_success_rate(self) -> float | None:
        return (self.attempts - self.failed_attempts) / self.attempts if self.attempts else None

    @property
    def call_success_rate(self) -> float | None:
        return (self.app_calls - self.failed_app_calls) / self.app_calls if self.app_calls else None


def call_outcomes(store: Store, since_day: str | None = None) -> CallOutcomes:
    """Attempts and app calls since a UTC day (inclusive; all when None)."""
    conn = store.db.conn
    day_filter = " AND day >= ?" if since_day else ""
    params = [since_day] if since_day else []
    attempts, failed = conn.execute(
        "SELECT COALESCE(SUM(calls), 0), COALESCE(SUM(errors), 0) FROM rollup_daily WHERE 1 = 1" + day_filter, params
    ).fetchone()
    groups, rows, failed_rows, groups_ok, retried = conn.execute(
        "SELECT COUNT(*), COALESCE(SUM(n), 0), COALESCE(SUM(n - ok), 0), COALESCE(SUM(ok > 0), 0), "
        "COALESCE(SUM(n > 1), 0) FROM (SELECT COUNT(*) n, SUM(success) ok FROM calls "
        "WHERE app_call_id IS NOT NULL" + day_filter + " GROUP BY app_call_id)", params
    ).fetchone()
    return CallOutcomes(
        attempts=attempts, failed_attempts=failed,
        app_calls=attempts - rows + groups,
        failed_app_calls=(failed - failed_rows) + (groups - groups_ok),
        retried_app_calls=retried,
    )
