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
    """Wait until the screen is done changing: no load running, every shown tab loaded, every
    table's columns sized (a DataTable sizes them on an Idle event after rows arrive) — all of
    it true for several checks in a row, so a load that starts late is not missed on a busy
    machine (CI once took the Recommendations tab with clipped columns)."""
    from textual.widgets import DataTable
    from textual.worker import WorkerState

    from fleetui.tui.base import DataTab

    def settled() -> bool:
        app = pilot.app
        if any(w.state in (WorkerState.PENDING, WorkerState.RUNNING) for w in app.workers):
            return False
        if any(tab.display and tab.is_on_screen and not tab.loaded for tab in app.screen.query(DataTab)):
            return False
        return not any(t._require_update_dimensions or t._updated_cells or t._new_rows
                       for t in app.screen.query(DataTable))

    calm = 0
    for _ in range(300):
        await pilot.pause(0.05)
        calm = calm + 1 if settled() else 0
        if calm >= 5:
            break
    await pilot.pause(0.4)  # the tab underline's animation


@pytest.mark.parametrize("tab", ["1", "2", "3", "4", "5"])
def test_tab_snapshot(snap_compare, frozen_app: FleetApp, tab: str) -> None:  # type: ignore[no-untyped-def]
    async def show(pilot) -> None:  # type: ignore[no-untyped-def]
        await _settle(pilot)
        await pilot.press(tab)
        await _settle(pilot)

    assert snap_compare(frozen_app, terminal_size=(120, 40), run_before=show)
