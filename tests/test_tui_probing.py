"""The app probes on its own, every `[probes] interval_s`, on a worker thread."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from rich.text import Text
from textual.widgets import DataTable

from fleetui.config.fleetfile import FleetSource
from fleetui.store import Store
from fleetui.tui.app import FleetApp
from fleetui.tui.data import Session
from tests.fakeproviders import FakeProviders
from tests.test_tui import fake_fleet
from tests.test_tui_keys import until


def fleet(tmp_path: Path, fake: FakeProviders) -> Path:
    """The test panel's one-model fleet, probed hourly, with a second model that answers slowly."""
    path = fake_fleet(tmp_path, fake)
    path.write_text("[probes]\ninterval_s = 3600\n" + path.read_text()
                    + '[[models]]\nid = "sleepy"\nname = "Sleepy"\nprovider = "local"\nmodel = "slow"\n')
    return path


async def test_probes_run_on_their_own_on_a_thread(tmp_path: Path, fake_providers: FakeProviders,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    import fleetui.probes

    threads: list[threading.Thread] = []
    real = fleetui.probes.probe_fleet

    def recording(*args: Any, **kwargs: Any) -> Any:
        threads.append(threading.current_thread())
        return real(*args, **kwargs)

    monkeypatch.setattr(fleetui.probes, "probe_fleet", recording)
    session = Session(FleetSource(fleet(tmp_path, fake_providers), "--config"), tmp_path / "s.db", demo=False)
    app = FleetApp(session, refresh_s=60)  # timers on: probes every [probes] interval_s
    assert app.probe_s == 3600
    async with app.run_test(size=(120, 40)) as pilot:
        table = app.query_one("#fleet-table", DataTable)
        await until(pilot, lambda: table.row_count == 2, "the fleet rows")
        await until(pilot, lambda: app.probe_rounds >= 1, "the first probe round")
        assert threads and all(t is not threading.main_thread() for t in threads), "never on the UI thread"

        def tiny_status() -> str:
            cell = table.get_row("tiny")[1]
            return cell.plain if isinstance(cell, Text) else str(cell)

        await until(pilot, lambda: "online" in tiny_status(), "the Fleet tab showing the probe")
    with Store.open(tmp_path / "s.db") as store:
        assert {p["model_id"] for p in store.db.query("SELECT model_id FROM probes")} == {"tiny", "sleepy"}


def test_timers_off_means_no_probes(tmp_path: Path, fake_providers: FakeProviders) -> None:
    session = Session(FleetSource(fleet(tmp_path, fake_providers), "--config"), tmp_path / "s.db", demo=False)
    assert FleetApp(session, refresh_s=0).probe_s == 0
    assert FleetApp(session, refresh_s=0, probe_s=30).probe_s == 30
