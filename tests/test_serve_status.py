"""The gateway's live figures, and the terminal app showing them (issue 18, item 7)."""

from __future__ import annotations

import shutil
import time
from dataclasses import replace
from pathlib import Path

from textual.widgets import Static

from fleetui.config.fleetfile import FleetSource
from fleetui.serve.status import GatewayStats, read_status, status_path, write_status
from fleetui.tui.app import FleetApp
from fleetui.tui.data import Session
from tests.conftest import SAMPLE_FLEET


def test_stats_count_the_last_minute_and_their_quantiles() -> None:
    stats = GatewayStats("http://127.0.0.1:4141")
    assert stats.snapshot().overhead_p50_ms is None  # nothing yet: unknown, not 0
    for ms in range(1, 101):
        stats.count(200, float(ms))
    stats.count(502, None)  # a gateway error: counted, no overhead
    status = stats.snapshot()
    assert (status.requests_total, status.errors_total, status.requests_per_minute) == (101, 1, 100)
    assert (status.overhead_p50_ms, status.overhead_p99_ms) == (51.0, 100.0)


def test_status_file_round_trip_and_staleness(tmp_path: Path) -> None:
    status = GatewayStats("http://127.0.0.1:4141").snapshot()
    write_status(status)
    assert read_status() == status and read_status().running()
    assert not replace(status, updated=time.time() - 60).running()  # stopped writing: not running
    status_path().write_text("{broken", encoding="utf-8")
    assert read_status() is None


async def totals_line(session: Session) -> str:
    """The Fleet tab's totals once its worker has filled them."""
    app = FleetApp(session, refresh_s=0)
    async with app.run_test(size=(120, 40)) as pilot:
        for _ in range(200):
            await pilot.pause(0.05)
            text = str(app.query_one("#fleet-totals", Static).render())
            if "GATEWAY" in text:
                return text
    raise AssertionError(f"no gateway line in the Fleet tab's totals: {text!r}")


async def test_the_fleet_tab_shows_the_gateway(tmp_path: Path) -> None:
    fleet_file = tmp_path / "fleet.toml"
    shutil.copy(SAMPLE_FLEET, fleet_file)
    session = Session(FleetSource(fleet_file, "--config"), tmp_path / "empty.db", demo=False)
    stats = GatewayStats("http://127.0.0.1:4141")
    for ms in (0.3, 0.4, 0.5, 2.0):
        stats.count(200, ms)
    write_status(stats.snapshot())
    text = await totals_line(session)
    assert "GATEWAY ● http://127.0.0.1:4141 | 4 req/min | overhead p50 0.50 ms, p99 2.00 ms" in text
    write_status(replace(stats.snapshot(), updated=time.time() - 60))
    text = await totals_line(session)
    assert "GATEWAY ○ not running (last at http://127.0.0.1:4141)" in text
