"""What each tab looks like at 120×40 and 80×24, on fixed demo data at a frozen "now".

Update the pictures after an intended change with `pytest tests/test_tui_snapshots.py
--snapshot-update`, and look at the report before committing them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from fleetui.demo import generate_demo
from fleetui.config.fleetfile import FleetSource, load_fleet
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


TAB_KEYS = {"1": "fleet", "2": "usage", "3": "costs", "4": "recommendations", "5": "add"}


async def _settle(pilot, tab: str | None = None) -> None:  # type: ignore[no-untyped-def]
    """Wait until the screen is done changing: `tab` (a pane id) is the active one, no load is
    running, every shown tab is loaded, every table's columns are sized (a DataTable sizes them
    on an Idle event after rows arrive) — all of it true for several checks in a row. On a busy
    machine the key that switches tabs can still be queued when the checks start; without the
    first condition they passed on the old tab, and CI took the Recommendations tab with
    clipped columns, twice."""
    from textual.widgets import DataTable, TabbedContent
    from textual.worker import WorkerState

    from fleetui.tui.base import DataTab

    def settled() -> bool:
        app = pilot.app
        if tab is not None:
            if app.query_one(TabbedContent).active != tab:
                return False
            if not all(pane.loaded for pane in app.query_one(f"#{tab}").query(DataTab)):
                return False
        if any(w.state in (WorkerState.PENDING, WorkerState.RUNNING) for w in app.workers):
            return False
        if any(pane.display and pane.is_on_screen and not pane.loaded for pane in app.screen.query(DataTab)):
            return False
        return all(_sized(t) for t in app.screen.query(DataTable))

    calm = 0
    for _ in range(300):
        await pilot.pause(0.05)
        calm = calm + 1 if settled() else 0
        if calm >= 5:
            break
    await pilot.pause(0.4)  # the tab underline's animation


def _sized(table) -> bool:  # type: ignore[no-untyped-def]
    """Every column as wide as its widest cell: the table has measured the rows it shows (a
    screenshot before that clips every column). Read through the public API only: the columns'
    widths and the rows' cells."""
    from rich.text import Text

    widths = [column.content_width for column in table.ordered_columns]
    for index in range(table.row_count):
        for width, cell in zip(widths, table.get_row_at(index)):
            text = Text.from_markup(cell) if isinstance(cell, str) else cell
            if isinstance(text, Text) and text.cell_len > width:
                return False
    return True


@pytest.mark.parametrize("tab", ["1", "2", "3", "4", "5"])
def test_tab_snapshot(snap_compare, frozen_app: FleetApp, tab: str) -> None:  # type: ignore[no-untyped-def]
    async def show(pilot) -> None:  # type: ignore[no-untyped-def]
        await _settle(pilot, "fleet")
        await pilot.press(tab)
        await _settle(pilot, TAB_KEYS[tab])

    assert snap_compare(frozen_app, terminal_size=(120, 40), run_before=show)


@pytest.mark.parametrize("tab", ["1", "2", "3", "4", "5"])
def test_tab_snapshot_80x24(snap_compare, frozen_app: FleetApp, tab: str) -> None:  # type: ignore[no-untyped-def]
    """The smallest terminal people use: important columns stay (lower-priority ones go), the
    Usage tables keep their height and the Costs tables are a scroll away."""

    async def show(pilot) -> None:  # type: ignore[no-untyped-def]
        await _settle(pilot, "fleet")
        await pilot.press(tab)
        await _settle(pilot, TAB_KEYS[tab])

    assert snap_compare(frozen_app, terminal_size=(80, 24), run_before=show)
