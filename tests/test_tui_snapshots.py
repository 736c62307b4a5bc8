"""What each tab looks like at 120×40, on fixed demo data at a frozen "now".

Update the pictures after an intended change with `pytest tests/test_tui_snapshots.py
--snapshot-update`, and look at the report before committing them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from fleetui.demo import generate_demo
from fleetui.fleetfile import FleetSource, load_fleet
from fleetui.tui.app import FleetApp
from fleetui.tui.data import Session
from tests.conftest import SAMPLE_FLEET

NOW = "2026-11-20T15:00:00+00:00"


@pytest.fixture
def frozen_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FleetApp:
    monkeypatch.setenv("FLEETUI_NOW", NOW)
    db = tmp_path / "demo.db"
    generate_demo(load_fleet(SAMPLE_FLEET), db, calls=3000, seed=11)
    return FleetApp(Session(FleetSource(SAMPLE_FLEET, "sample"), db, demo=True), refresh_s=0)


async def _settle(pilot) -> None:  # type: ignore[no-untyped-def]
    from textual.worker import WorkerState

    idle = 0
    for _ in range(300):
        await pilot.pause(0.05)
        busy = any(w.state in (WorkerState.PENDING, WorkerState.RUNNING) for w in pilot.app.workers)
        idle = 0 if busy else idle + 1
        if idle >= 3:  # idle for a while: no message is about to start another load
            break
    await pilot.pause(0.4)  # the tab underline's animation
    # A DataTable sizes its columns on an Idle event after rows arrive; on a busy machine that
    # can come after the pause above, and the screen would be taken with clipped columns.
    from textual.widgets import DataTable

    for _ in range(60):
        tables = pilot.app.screen.query(DataTable)
        if not any(getattr(t, "_require_update_dimensions", False) or getattr(t, "_updated_cells", None)
                   for t in tables):
            break
        await pilot.pause(0.05)


@pytest.mark.parametrize("tab", ["1", "2", "3", "4", "5"])
def test_tab_snapshot(snap_compare, frozen_app: FleetApp, tab: str) -> None:  # type: ignore[no-untyped-def]
    async def show(pilot) -> None:  # type: ignore[no-untyped-def]
        await _settle(pilot)
        await pilot.press(tab)
        await _settle(pilot)

    assert snap_compare(frozen_app, terminal_size=(120, 40), run_before=show)
