"""Time for everything that reports by day: "now", UTC days, windows of N days, the month.

One definition each, used by the CLI, the app, the store and the router:

- `now()`: the current Unix time. `FLEETUI_NOW` (an ISO 8601 time) freezes it, which is how the
  TUI's snapshot tests render the same screens every day.
- `utc_day(ts)`: the UTC calendar day of a timestamp, "YYYY-MM-DD" (rollups are keyed by it).
- A window of N days is N UTC calendar days: today (under way) and the N-1 whole days before it.
  Rollups are daily, so this is the only window every screen can answer exactly; `--since 7d`
  starts at midnight UTC six days ago, the same seven days the app's "7 days" shows. Spans in
  hours, minutes or seconds (`--since 24h`) are exact.
- The month is the UTC calendar month of today; month to date runs from its first day to today.
- "Today vs yesterday" compares today so far with yesterday up to the same time of day.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import time

DAY_S = 86400


def now() -> float:
    frozen = os.environ.get("FLEETUI_NOW")
    if frozen:
        when = dt.datetime.fromisoformat(frozen.replace("Z", "+00:00"))
        return (when if when.tzinfo else when.replace(tzinfo=dt.UTC)).timestamp()
    return time.time()


def today() -> dt.date:
    return dt.datetime.fromtimestamp(now(), dt.UTC).date()


def utc_day(ts: float) -> str:
    """The UTC calendar day of a Unix time, as the rollups key it."""
    return time.strftime("%Y-%m-%d", time.gmtime(ts))


def utc_today() -> str:
    return utc_day(now())


def day_start(ts: float) -> float:
    """Midnight UTC at the start of the day `ts` falls in."""
    return ts - ts % DAY_S


def window_start(days: float, at: float | None = None) -> float:
    """Where a window of `days` UTC calendar days ending today starts (midnight UTC). A
    fractional count is rounded up: 1.5 days covers today and yesterday."""
    at = now() if at is None else at
    whole = max(1, -int(-days // 1))
    return day_start(at) - (whole - 1) * DAY_S


def window_start_day(days: float, at: float | None = None) -> str:
    """The first UTC day of a window of `days` calendar days ending today."""
    return utc_day(window_start(days, at))


def month_start(on: dt.date) -> dt.date:
    return on.replace(day=1)


def same_time_yesterday(at: float | None = None) -> tuple[float, float]:
    """(start, end) of yesterday up to the time of day it is now: what today so far is
    compared with."""
    at = now() if at is None else at
    start = day_start(at) - DAY_S
    return start, at - DAY_S


_SPAN = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhdw])$")
_UNIT = {"s": 1, "m": 60, "h": 3600}


def parse_since(text: str, now_ts: float | None = None) -> float:
    """Unix time where the period starts; ValueError with what is allowed otherwise.

    `Nd` and `Nw` are windows of N (or 7N) UTC calendar days ending today (see the module
    docstring); `Nh`, `Nm`, `Ns` are exact spans; a date is its midnight UTC."""
    at = now() if now_ts is None else now_ts
    value = text.strip().lower()
    match = _SPAN.match(value)
    if match:
        amount, unit = float(match.group(1)), match.group(2)
        if unit in ("d", "w"):
            return window_start(amount * (7 if unit == "w" else 1), at)
        return at - amount * _UNIT[unit]
    try:
        when = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(
            f"cannot read {text!r} as a period: use a span like 7d, 24h, 90m, 2w or a date like 2026-11-01"
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when.timestamp()
