"""Periods as users type them: `--since 7d`, `24h`, `90m`, `2w`, or a date `2026-11-01`."""

from __future__ import annotations

import datetime as dt
import re
import time

from fleetui import clock

_SPAN = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhdw])$")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_since(text: str, now: float | None = None) -> float:
    """Unix time where the period starts; ValueError with what is allowed otherwise."""
    now = clock.now() if now is None else now
    value = text.strip().lower()
    match = _SPAN.match(value)
    if match:
        return now - float(match.group(1)) * _UNIT[match.group(2)]
    try:
        when = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(
            f"cannot read {text!r} as a period: use a span like 7d, 24h, 90m, 2w or a date like 2026-11-01"
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return when.timestamp()


def utc_day_of(ts: float) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(ts))
