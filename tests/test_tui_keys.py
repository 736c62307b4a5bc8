"""Keys act where the cursor is: across a refresh, after a tab switch, at once.

Each test does what a user does (arrows, tab digits, `x`) and then checks the store or the
screen. Every wait is on a state (a load counted, a screen shown), never a fixed sleep.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from textual.command import CommandPalette
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, TabbedContent

from fleetui.config.fleetfile import FleetSource, load_fleet
from fleetui.demo import generate_demo
from fleetui.store import Store, analytics
from fleetui.tui.app import FleetApp
from fleetui.tui.base import DataTab
from fleetui.tui.data import Session
from fleetui.tui.recs_tab import RecommendationsTab
from tests.conftest import SAMPLE_FLEET


@pytest.fixture
def session(tmp_path: Path) -> Session:
    fleet_file = tmp_path / "fleet.toml"
    shutil.copy(SAMPLE_FLEET, fleet_file)
    db = tmp_path / "demo.db"
    generate_demo(load_fleet(fleet_file), db, calls=3000, seed=5)
    return Session(FleetSource(fleet_file, "--config"), db, demo=True)


async def until(pilot: Pilot[None], condition: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    """Let the app run until `condition` holds (a generous bound, for a loaded machine)."""
    import time

    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.02)


async def show_tab(pilot: Pilot[None], key: str, pane: str) -> DataTab | None:
    app = pilot.app
    await pilot.press(key)
    await until(pilot, lambda: app.query_one(TabbedContent).active == pane, f"tab {pane}")
    tab = app.query_one(f"#{pane}").children[0]
    if isinstance(tab, DataTab):
        await until(pilot, lambda: tab.loaded, f"{pane} loaded")
        return tab
    return None


def status_of(session: Session, rec_id: str) -> str:
    with Store.open(session.db_path) as store:
        return str(store.db.execute("SELECT status FROM recommendations WHERE id = ?", [rec_id]).fetchone()[0])


async def test_x_after_a_refresh_dismisses_the_highlighted_row(session: Session) -> None:
    app = FleetApp(session, refresh_s=0)
    async with app.run_test(size=(120, 40)) as pilot:
        tab = await show_tab(pilot, "4", "recommendations")
        assert isinstance(tab, RecommendationsTab) and len(tab.recs) > 5
        await pilot.press("down", "down", "down")
        table = app.query_one("#recs-table", DataTable)
        assert table.cursor_row == 3
        target, first = tab.recs[3], tab.recs[0]
        # Meanwhile another session (`fleetui recommend --dismiss`) dismisses the top row, so the
        # refreshed list is one shorter above the cursor: only a cursor kept by key stays put.
        with Store.open(session.db_path) as store:
            analytics.set_recommendation_status(store, first.id, "dismissed")
        before = tab.loads
        app._refresh_if_idle()  # what the 15 s timer calls
        await until(pilot, lambda: tab.loads > before, "the refresh")
        assert table.cursor_row == 2, "the row moved up one; the cursor went with it"
        await pilot.press("x")
        await until(pilot, lambda: status_of(session, target.id) == "dismissed", "the dismissal")
        others = [r.id for r in tab.recs if r.id not in (target.id, first.id)]
        assert all(status_of(session, i) != "dismissed" for i in others[:3])


async def test_a_refresh_that_removes_the_row_keeps_the_index(session: Session) -> None:
    app = FleetApp(session, refresh_s=0)
    async with app.run_test(size=(120, 40)) as pilot:
        tab = await show_tab(pilot, "4", "recommendations")
        assert isinstance(tab, RecommendationsTab)
        await pilot.press("down", "down")
        gone, after = tab.recs[2], tab.recs[3]
        with Store.open(session.db_path) as store:
            analytics.set_recommendation_status(store, gone.id, "dismissed")
        before = tab.loads
        app._refresh_if_idle()
        await until(pilot, lambda: tab.loads > before, "the refresh")
        table = app.query_one("#recs-table", DataTable)
        assert table.cursor_row == 2 and tab.recs[2].id == after.id


async def test_down_on_recommendations_moves_and_shows_that_row(session: Session) -> None:
    app = FleetApp(session, refresh_s=0)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.query_one("FleetTab", DataTab).loaded, "fleet loaded")
        tab = await show_tab(pilot, "4", "recommendations")
        assert isinstance(tab, RecommendationsTab)
        await pilot.press("down")
        assert app.query_one("#recs-table", DataTable).cursor_row == 1
        detail = str(app.query_one("#recs-detail").render())
        assert tab.recs[1].id in detail


async def test_after_switching_tabs_slash_opens_the_filter(session: Session) -> None:
    app = FleetApp(session, refresh_s=0)
    async with app.run_test(size=(120, 40)) as pilot:
        await show_tab(pilot, "2", "usage")
        await show_tab(pilot, "1", "fleet")
        await pilot.press("slash")
        box = app.query_one("#fleet-filter", Input)
        await until(pilot, lambda: box.has_focus, "the filter's focus")
        await pilot.press(*"gpt")
        table = app.query_one("#fleet-table", DataTable)
        await until(pilot, lambda: table.row_count == 3, "the filtered rows")
        await pilot.press("escape", "s")  # back in the table, `s` sorts at once
        assert app.query_one("FleetTab").sort == "cost"  # type: ignore[attr-defined]


async def test_digits_on_add_model_switch_tabs_and_type_nothing(session: Session) -> None:
    app = FleetApp(session, refresh_s=0)
    async with app.run_test(size=(120, 40)) as pilot:
        await show_tab(pilot, "5", "add")
        await show_tab(pilot, "1", "fleet")
        assert app.query_one("#add-id", Input).value == ""
        assert isinstance(app.focused, DataTable) and app.focused.id == "fleet-table"


async def test_ctrl_p_and_colon_open_the_command_palette(session: Session) -> None:
    app = FleetApp(session, refresh_s=0)
    async with app.run_test(size=(120, 40)) as pilot:
        for key in ("ctrl+p", "colon"):
            await pilot.press(key)
            await until(pilot, lambda: isinstance(app.screen, CommandPalette), f"the palette after {key}")
            await pilot.press("escape")
            await until(pilot, lambda: not isinstance(app.screen, CommandPalette), "the palette closed")


def test_savings_rank_above_models_without_a_key(session: Session) -> None:
    """The demo has no keys, so every probe says "misconfigured": those come after the savings."""
    from fleetui.analysis.recommend import Kind, recommend
    from fleetui.store import ProbeRecord

    with Store.open(session.db_path) as store:
        store.record_probes(ProbeRecord(model_id=m.id, status="misconfigured", message="OPENAI_API_KEY is not set")
                            for m in session.fleet.models)
        recs = recommend(session.fleet, store)
    kinds = [r.kind for r in recs]
    assert Kind.MODEL_UNHEALTHY in kinds
    first_unhealthy = kinds.index(Kind.MODEL_UNHEALTHY)
    assert all(r.numbers.get("saving_monthly_usd") is None for r in recs[first_unhealthy:])
    assert any(r.numbers.get("saving_monthly_usd") for r in recs[:first_unhealthy])


async def test_fleet_keys_follow_the_highlighted_model_across_a_reorder(session: Session) -> None:
    """Sorted by calls, a refresh that moves another model above the cursor: `c` and `enter`
    still take the model the user highlighted, after a tab switch too, without Tab pressed."""
    import time

    from fleetui.store import CallRecord
    from fleetui.tui.compare import ComparePanel
    from fleetui.tui.model_detail import ModelDetail
    from fleetui.tui.tables import cursor_key
    from textual.widgets import SelectionList

    app = FleetApp(session, refresh_s=0)
    async with app.run_test(size=(120, 40)) as pilot:
        await show_tab(pilot, "2", "usage")
        tab = await show_tab(pilot, "1", "fleet")
        assert tab is not None
        await pilot.press("s", "s")  # by calls today
        assert tab.sort == "calls"  # type: ignore[attr-defined]
        table = app.query_one("#fleet-table", DataTable)
        await pilot.press(*["up"] * table.row_count, "down")  # the second row (today's calls vary by the hour)
        chosen, at = cursor_key(table), table.cursor_row
        assert at == 1
        last = str(table.coordinate_to_cell_key((table.row_count - 1, 0)).row_key.value)
        assert chosen and last != chosen
        with Store.open(session.db_path) as store:  # the least-used model gets busy meanwhile
            store.insert_calls([CallRecord(ts=time.time() - 5, model_id=last, success=True) for _ in range(5000)])
        before = tab.loads
        app._refresh_if_idle()
        await until(pilot, lambda: tab.loads > before, "the refresh")
        assert cursor_key(table) == chosen and table.cursor_row == at + 1, "the model moved down one; so did the cursor"
        assert table.coordinate_to_cell_key((0, 0)).row_key.value == last

        await show_tab(pilot, "4", "recommendations")
        await show_tab(pilot, "1", "fleet")
        await pilot.press("c")
        await until(pilot, lambda: isinstance(app.screen, ComparePanel), "the compare panel")
        assert list(app.screen.query_one("#compare-models", SelectionList).selected) == [chosen]
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, ComparePanel), "the panel closed")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ModelDetail), "the model's detail")
        assert app.screen.model_id == chosen  # type: ignore[attr-defined]


async def test_at_80_columns_the_footer_shows_each_tabs_own_keys(session: Session) -> None:
    from textual.widgets._footer import FooterKey

    app = FleetApp(session, refresh_s=0)
    async with app.run_test(size=(80, 24)) as pilot:
        for digit, pane, keys in (("4", "recommendations", {"x", "a", "v", "p"}), ("1", "fleet", {"slash", "s"})):
            await show_tab(pilot, digit, pane)

            def laid_out() -> bool:  # the footer recomposes after the bindings change, then is laid out
                regions = {k.key: k.region for k in app.screen.query(FooterKey)}
                return keys <= set(regions) and all(regions[k].width for k in keys)

            await until(pilot, laid_out, f"{pane}'s keys in the footer")
            shown = {k.key: k.region for k in app.screen.query(FooterKey)}
            cut = sorted(k for k in keys if shown[k].right > 80)
            assert not cut, f"{pane}: {cut} past the right edge: {shown}"
            overlapping = [(a, b) for a in shown for b in shown
                           if a < b and shown[a].y == shown[b].y and shown[a].intersection(shown[b]).area]
            assert not overlapping, overlapping
