"""One definition each for windows, UTC days, the month, budget use and "per 30 days", and
every screen that shows one of them giving the same number."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from fleetui import clock
from fleetui.analysis.costs import cost_report, per_30_days, project_month
from fleetui.cli import main
from fleetui.config.fleetfile import load_fleet
from fleetui.store import CallRecord, Store
from tests.conftest import SAMPLE_FLEET

# Wed 2026-11-18 03:53 UTC: early in the day, where a whole yesterday would dwarf today.
NOW = dt.datetime(2026, 11, 18, 3, 53, tzinfo=dt.UTC).timestamp()
MIDNIGHT = dt.datetime(2026, 11, 18, tzinfo=dt.UTC).timestamp()


def test_a_window_of_n_days_is_n_calendar_days_ending_today() -> None:
    start = clock.window_start(7, NOW)
    assert clock.utc_day(start) == "2026-11-12" and start == MIDNIGHT - 6 * 86400
    days = {clock.utc_day(t) for t in range(int(start), int(NOW) + 1, 3600)}
    assert len(days) == 7
    assert clock.window_start(1, NOW) == MIDNIGHT
    assert clock.window_start_day(30, NOW) == "2026-10-20"


def test_since_in_days_is_that_window_and_hours_are_exact() -> None:
    assert clock.parse_since("7d", NOW) == clock.window_start(7, NOW)
    assert clock.parse_since("2w", NOW) == clock.window_start(14, NOW)
    assert clock.parse_since("24h", NOW) == NOW - 86400
    assert clock.parse_since("2026-11-01", NOW) == dt.datetime(2026, 11, 1, tzinfo=dt.UTC).timestamp()
    with pytest.raises(ValueError, match="use a span like 7d"):
        clock.parse_since("last tuesday", NOW)


def test_utc_day_and_same_time_yesterday() -> None:
    assert clock.utc_day(MIDNIGHT - 1) == "2026-11-17" and clock.utc_day(MIDNIGHT) == "2026-11-18"
    start, end = clock.same_time_yesterday(NOW)
    assert (start, end) == (MIDNIGHT - 86400, NOW - 86400)
    assert clock.month_start(dt.date(2026, 11, 18)) == dt.date(2026, 11, 1)


def test_per_30_days_scales_a_window_at_its_rate() -> None:
    assert per_30_days(70.0, 7) == pytest.approx(300.0)
    assert per_30_days(12.5, 30) == 12.5


def _call(ts: float, cost: float | None, model: str = "claude-haiku") -> CallRecord:
    return CallRecord(ts=ts, model_id=model, input_tokens=10, output_tokens=10, cost_usd=cost, success=True,
                      latency_ms=100.0)


def test_today_is_compared_with_yesterday_up_to_the_same_time() -> None:
    fleet = load_fleet(SAMPLE_FLEET)
    store = Store.memory()
    store.insert_calls([
        _call(MIDNIGHT - 86400 + 3600, 1.0),   # yesterday 01:00: before this time of day
        _call(MIDNIGHT - 86400 + 12 * 3600, 9.0),  # yesterday noon: after it
        _call(MIDNIGHT + 3600, 1.5),  # today 01:00
    ])
    report = cost_report(fleet, store, now=NOW)
    assert report.yesterday == pytest.approx(10.0)
    assert report.yesterday_to_this_time == pytest.approx(1.0)
    assert report.change_vs_yesterday_pct == pytest.approx(50.0)  # not ↓85% against the whole day


def test_budget_use_is_the_projection_over_the_budget() -> None:
    fleet = load_fleet(SAMPLE_FLEET)
    store = Store.memory()
    store.insert_calls([_call(MIDNIGHT - 86400, 20.0), _call(MIDNIGHT + 60, 5.0)])
    report = cost_report(fleet, store, now=NOW)
    assert report.projection == pytest.approx(project_month(25.0, dt.date(2026, 11, 18)))
    assert report.budget.used_pct == pytest.approx(round(report.projection / fleet.budget.monthly_usd * 100, 1))


def _json(args: list[str], capsys: pytest.CaptureFixture[str]) -> dict:
    capsys.readouterr()
    assert main(args) == 0
    return json.loads(capsys.readouterr().out)


def _freeze(monkeypatch: pytest.MonkeyPatch) -> None:
    """One "now" for every command of a test, so that no call lands between two of them."""
    monkeypatch.setenv("FLEETUI_NOW", dt.datetime.now(dt.UTC).isoformat())


def test_the_cli_screens_agree(isolated_home: Path, monkeypatch: pytest.MonkeyPatch,
                               capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--calls", "3000"]) == 0
    _freeze(monkeypatch)
    usage = _json(["--demo", "usage", "--since", "7d", "--by", "day", "--json"], capsys)
    assert usage["since_day"] == clock.window_start_day(7)
    assert len(usage["rows"]) <= 7
    status = _json(["--demo", "status", "--json"], capsys)
    costs = _json(["--demo", "costs", "--json"], capsys)
    assert status["budget"]["used_pct"] == costs["budget"]["used_pct"] is not None
    assert status["month_to_date"]["cost"] == pytest.approx(costs["this_month"])
    assert status["today"]["cost"] == pytest.approx(costs["today"])
    savings = _json(["--demo", "savings", "--json"], capsys)
    assert savings["window_days"] == 30
    dryrun_history = _json(["--demo", "dryrun", str(SAMPLE_FLEET), "--since", "30d", "--json"], capsys)
    assert dryrun_history["per_30_days"]["window_days"] == 30
    # "per 30 days" is one figure: the last 30 days' spend wherever it covers the same calls.
    assert costs["per_30_days"] == pytest.approx(sum(d["cost_usd"] for d in costs["daily"]))
    assert dryrun_history["per_30_days"]["history_all_calls_usd"] == pytest.approx(costs["per_30_days"], rel=1e-6)


def test_status_and_costs_compare_today_with_yesterday_alike(isolated_home: Path, monkeypatch: pytest.MonkeyPatch,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--calls", "3000"]) == 0
    _freeze(monkeypatch)
    status = _json(["--demo", "status", "--json"], capsys)
    costs = _json(["--demo", "costs", "--json"], capsys)
    assert status["today"]["yesterday_to_this_time"] == pytest.approx(costs["yesterday_to_this_time"])
    assert status["today"]["change_vs_yesterday_pct"] == costs["change_vs_yesterday_pct"]
