"""Unknown is unknown on screen: an unpriced model never shows $0, and a sum that leaves out
unpriced calls says how many; prices keep their digits and no column cuts a number."""

from __future__ import annotations

import time
from pathlib import Path

from rich.text import Text
from textual.widgets import DataTable, Static

from fleetui.config.fleetfile import FleetSource
from fleetui.store import CallRecord, Store
from fleetui.tui import fmt
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


def test_prices_keep_their_digits() -> None:
    assert [fmt.price(x) for x in (15, 1.25, 0.075, 0.0007, 0)] == ["$15", "$1.25", "$0.075", "$0.0007", "$0"]
    assert fmt.price_pair(None, 2.0) == "unpriced"
    assert fmt.cost_of_calls(0.0, 4, 4) == "unpriced" and fmt.cost_of_calls(1.2, 5, 3) == "$1.20 + 3 unpriced"
    assert fmt.cost_of_calls(0.0, 0, 0) == "—"
