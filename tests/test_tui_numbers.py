"""Unknown is unknown on screen: an unpriced model never shows $0, and a sum that leaves out
unpriced calls says how many; prices keep their digits and no column cuts a number."""

from __future__ import annotations

import time
from pathlib import Path

from rich.text import Text
from textual.widgets import DataTable, Static

from fleetui.config.fleetfile import FleetSource
from fleetui.store import CallRecord, Store
from fleetui.pricing import format_calls_cost, format_cost, format_price_pair, format_price_per_mtok
from fleetui.tui.app import FleetApp
from fleetui.tui.data import Session
from fleetui.tui.model_detail import ModelDetail
from tests.test_tui_keys import until

FLEET = """\
[[providers]]
id = "lab"
kind = "openai-compatible"
base_url = "http://127.0.0.1:9/v1"

[[models]]
id = "mystery"
name = "Mystery"
provider = "lab"
model = "mystery-7b"

[[models]]
id = "cheap"
name = "Cheap"
provider = "lab"
model = "cheap-1"
price = { input = 0.0007, output = 0.0028 }
"""


def session_with_calls(tmp_path: Path) -> Session:
    path = tmp_path / "fleet.toml"
    path.write_text(FLEET)
    db = tmp_path / "s.db"
    now = time.time() - 30
    with Store.open(db) as store:
        store.insert_calls([
            *(CallRecord(ts=now, model_id="mystery", input_tokens=500, output_tokens=100, success=True)
              for _ in range(4)),
            *(CallRecord(ts=now, model_id="cheap", input_tokens=1000, output_tokens=100, success=True,
                         cost_usd=0.25, cost_source="fleet") for _ in range(2)),
            *(CallRecord(ts=now, model_id="cheap", success=True) for _ in range(3)),  # no tokens: no price
        ])
    return Session(FleetSource(path, "--config"), db, demo=False)


def cells(table: DataTable[object], key: str) -> list[str]:
    return [c.plain if isinstance(c, Text) else str(c) for c in table.get_row(key)]


async def test_unpriced_model_and_partly_priced_sums(tmp_path: Path) -> None:
    session = session_with_calls(tmp_path)
    app = FleetApp(session, refresh_s=0)
    async with app.run_test(size=(120, 40)) as pilot:
        table = app.query_one("#fleet-table", DataTable)
        await until(pilot, lambda: table.row_count == 2, "the fleet rows")
        mystery, cheap = cells(table, "mystery"), cells(table, "cheap")
        assert "unpriced" in mystery and not any("$0" in c for c in mystery)
        assert "$0.50 + 3 unpriced" in cheap and "$0.0007 / $0.0028" in cheap
        totals = str(app.query_one("#fleet-totals", Static).render())
        assert "$0.50 + 7 unpriced" in totals
        await app.push_screen(ModelDetail(session, "mystery"))
        usage = app.screen.query_one("#detail-usage", Static)
        await until(pilot, lambda: "today" in str(usage.render()), "the detail's usage")
        text = str(usage.render()) + str(app.screen.query_one("#detail-costs", Static).render())
        assert "unpriced" in text and "$0.00" not in text
        assert "p50 —, p95 —" in text and "0.00s" not in text, "no latency measured: unknown, not 0s"


async def test_costs_tab_share_of_an_unpriced_model_is_unknown(tmp_path: Path) -> None:
    app = FleetApp(session_with_calls(tmp_path), refresh_s=0)
    async with app.run_test(size=(200, 40)) as pilot:  # wide enough for the share column beside the cost
        await pilot.press("3")
        costs = app.query_one("#costs-models", DataTable)
        await until(pilot, lambda: costs.row_count == 2, "the costs rows")
        assert [str(c.label) for c in costs.ordered_columns] == ["Model", "Cost", "%"]
        assert cells(costs, "mystery")[1:] == ["unpriced", "—"], "an unpriced model's share is unknown, not 0%"
        assert cells(costs, "cheap")[1:] == ["$0.50 + 3 unpriced", "100.0%"]


def test_prices_keep_their_digits() -> None:
    assert [format_price_per_mtok(x) for x in (15, 1.25, 0.075, 0.0007, 0)] == ["$15", "$1.25", "$0.075", "$0.0007", "$0"]
    assert format_price_pair(None, 2.0) == "unpriced"
    assert format_calls_cost(0.0, 4, 4) == "unpriced" and format_calls_cost(1.2, 5, 3) == "$1.20 + 3 unpriced"
    assert format_calls_cost(0.0, 0, 0) == "—"


async def test_fleet_tab_has_the_spec_pieces(tmp_path: Path) -> None:
    """ACTIVE FLEET (N models), standby, Quality %, saving vs the dearest, HIGH IMPACT."""
    import shutil

    from fleetui.analysis.recommend import recommend, store_recommendations
    from fleetui.config.fleetfile import load_fleet
    from fleetui.demo import generate_demo
    from tests.conftest import SAMPLE_FLEET

    fleet_file = tmp_path / "fleet.toml"
    shutil.copy(SAMPLE_FLEET, fleet_file)
    db = tmp_path / "demo.db"
    generate_demo(load_fleet(fleet_file), db, calls=3000, seed=5)
    session = Session(FleetSource(fleet_file, "--config"), db, demo=True)
    with Store.open(db) as store:
        top = max((r for r in store_recommendations(store, recommend(session.fleet, store))),
                  key=lambda r: r.numbers.get("saving_monthly_usd") or 0)
    app = FleetApp(session, refresh_s=0)
    async with app.run_test(size=(120, 40)) as pilot:
        table = app.query_one("#fleet-table", DataTable)
        await until(pilot, lambda: table.row_count == 11, "the fleet rows")
        heading = str(app.query_one("#fleet-heading", Static).render())
        enabled = [m for m in session.fleet.models if m.enabled and "standby" not in m.tags]
        assert f"ACTIVE FLEET ({len(enabled)} models)" in heading and "1 on standby" in heading
        assert cells(table, "claude-opus")[1] == "○ standby"
        labels = [str(c.label) for c in table.ordered_columns]
        assert "Quality" in labels
        quality = cells(table, "gpt-4")[labels.index("Quality")]
        assert quality.endswith("%") or quality == "—"
        totals = str(app.query_one("#fleet-totals", Static).render())
        assert "today vs using GPT-4 for all" in totals
        assert f"HIGH IMPACT: {top.title}" in totals and top.id in totals
        # the same figure, by the same formatter, as its row on the Recommendations tab
        assert f"save {format_cost(top.numbers['saving_monthly_usd'])} per 30 days" in totals
        await app.push_screen(ModelDetail(session, "gpt-4"))
        box = app.screen.query_one("#detail-quality", Static)
        await until(pilot, lambda: "quality" in str(box.render()), "the detail's quality")
        assert "the mean of" in str(box.render()) or "no user ratings" in str(box.render())


async def test_model_detail_shows_the_adapters_capabilities(tmp_path: Path) -> None:
    from fleetui.providers import adapter_class

    session = session_with_calls(tmp_path)
    app = FleetApp(session, refresh_s=0)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.query_one("#fleet-table", DataTable).row_count == 2, "the fleet rows")
        await app.push_screen(ModelDetail(session, "cheap"))
        caps = str(app.screen.query_one("#detail-caps", Static).render())
        expected = adapter_class("openai-compatible").capabilities.describe()
        assert f"adapter (openai-compatible): {expected}" in caps and "streams" in expected
