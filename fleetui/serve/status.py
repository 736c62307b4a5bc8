"""The gateway's own figures, live: requests per minute and the overhead it adds, p50/p99.

The running gateway keeps the last minutes of requests in memory and writes a small status file
in the data folder every few seconds; the terminal app reads that file to show whether a gateway
runs and how it does, without a network call. Imports nothing heavy.
"""

from __future__ import annotations

import collections
import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

WINDOW_S = 60.0
STALE_S = 15.0  # a status file not refreshed for this long belongs to a gateway that stopped


@dataclass(frozen=True, slots=True)
class GatewayStatus:
    pid: int
    url: str
    started: float
    updated: float
    requests_total: int
    errors_total: int  # replies with status >= 400, the gateway's or a provider's
    requests_per_minute: int
    overhead_p50_ms: float | None  # None until a call went through
    overhead_p99_ms: float | None

    def running(self, now: float | None = None) -> bool:
        if (now or time.time()) - self.updated > STALE_S:
            return False
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True


class GatewayStats:
    """Counted on the event loop's thread only; no lock."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.started = time.time()
        self.requests_total = 0
        self.errors_total = 0
        self._recent: collections.deque[tuple[float, float]] = collections.deque()  # (time, overhead ms)

    def count(self, status: int, overhead_ms: float | None) -> None:
        self.requests_total += 1
        if status >= 400:
            self.errors_total += 1
        if overhead_ms is not None:
            self._recent.append((time.monotonic(), overhead_ms))

    def snapshot(self) -> GatewayStatus:
        cutoff = time.monotonic() - WINDOW_S
        recent = self._recent
        while recent and recent[0][0] < cutoff:
            recent.popleft()
        overheads = sorted(o for _, o in recent)
        return GatewayStatus(os.getpid(), self.url, self.started, time.time(), self.requests_total,
                             self.errors_total, len(overheads), _quantile(overheads, 0.5), _quantile(overheads, 0.99))


def _quantile(ordered: list[float], q: float) -> float | None:
    if not ordered:
        return None
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 3)


def status_path() -> Path:
    from fleetui import locations

    return locations.data_dir() / "gateway.json"


def write_status(status: GatewayStatus, path: Path | None = None) -> None:
    from fleetui.config.writer import write_text

    file = path or status_path()
    file.parent.mkdir(parents=True, exist_ok=True)
    write_text(file, json.dumps(asdict(status)))  # the one writer: a reader never sees half a file


def read_status(path: Path | None = None) -> GatewayStatus | None:
    """The last status a gateway wrote, or None when none ever ran (or the file is unreadable)."""
    try:
        data = json.loads((path or status_path()).read_text(encoding="utf-8"))
        return GatewayStatus(**data)
    except (OSError, ValueError, TypeError):
        return None
