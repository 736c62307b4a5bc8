""""Now" for everything that reports by day: today's calls, this month, the last 30 days.

`FLEETUI_NOW` (an ISO 8601 time) freezes it, which is how the TUI's snapshot tests render the
same screens every day; unset, it is the real time.
"""

from __future__ import annotations

import datetime as dt
import os
import time


def now() -> float:
    frozen = os.environ.get("FLEETUI_NOW")
    if frozen:
        when = dt.datetime.fromisoformat(frozen.replace("Z", "+00:00"))
        return (when if when.tzinfo else when.replace(tzinfo=dt.UTC)).timestamp()
    return time.time()


def today() -> dt.date:
    return dt.datetime.fromtimestamp(now(), dt.UTC).date()
