"""WHERE clauses from optional conditions: one way to say "these calls" across the store.

A condition whose value is None is left out, so `calls_in(since_ts=None)` means every call.
Column names and operators come from code, never from users; values are always parameters.
"""

from __future__ import annotations


class Where:
    """Conditions joined by AND, with their parameters in order."""

    def __init__(self) -> None:
        self._clauses: list[str] = []
        self.params: list[object] = []

    def when(self, clause: str, value: object | None) -> Where:
        """Add `clause` (one `?`) with `value`, unless the value is None."""
        if value is not None:
            self._clauses.append(clause)
            self.params.append(value)
        return self

    @property
    def condition(self) -> str:
        """The conditions alone, for a query with a WHERE of its own ("1" when there are none)."""
        return " AND ".join(self._clauses) or "1"

    @property
    def sql(self) -> str:
        """" WHERE …", or "" when there are no conditions."""
        return f" WHERE {' AND '.join(self._clauses)}" if self._clauses else ""


def calls_in(*, since_ts: float | None = None, until_ts: float | None = None, model_id: str | None = None) -> Where:
    """Calls (or decisions) made from `since_ts` (inclusive) to `until_ts` (exclusive), of one model."""
    return Where().when("ts >= ?", since_ts).when("ts < ?", until_ts).when("model_id = ?", model_id)


def days_in(*, since: str | None = None, until: str | None = None, model_id: str | None = None) -> Where:
    """Rollup rows of UTC days `since`..`until` inclusive ('YYYY-MM-DD'), of one model."""
    return Where().when("day >= ?", since).when("day <= ?", until).when("model_id = ?", model_id)
