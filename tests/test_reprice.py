"""`fleetui reprice`: history follows a price change, rollups stay equal to the call log, and
reported costs are never touched."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from fleetui.cli import main
from fleetui.config.fleetfile import load_fleet
from fleetui.shim.enrich import Enricher
from fleetui.store import CallRecord, Store
from fleetui.store.reprice import RepriceError, reprice

FLEET = """
name = "reprice"

[[providers]]
id = "openai"
kind = "openai-compatible"

[[providers]]
id = "ollama"
kind = "ollama"
base_url = "http://localhost:11434"

[[models]]
id = "big"
name = "Big"
provider = "openai"
model = "gpt-4o"
{big_price}

[[models]]
id = "mini"
name = "Mini"
provider = "openai"
model = "gpt-4o-mini"

[[models]]
id = "local"
name = "Local"
provider = "ollama"
model = "llama3.2:3b"
{local_price}
"""
OLD = {"big_price": "price = { input = 1.0, output = 2.0 }", "local_price": ""}
NEW = {"big_price": "price = { input = 10.0, output = 20.0 }", "local_price": "price = { input = 0.5, output = 0.5 }"}
M = 1_000_000


def write_fleet(path: Path, prices: dict[str, str]) -> Path:
    path.write_text(FLEET.format(**prices), encoding="utf-8")
    return path


@pytest.fixture
def history(tmp_path: Path) -> tuple[Path, Path]:
    """A store priced by the old fleet: fleet, catalog, unpriced, reported and legacy rows."""
    fleet_path = write_fleet(tmp_path / "fleet.toml", OLD)
    enrich = Enricher.for_fleet(load_fleet(fleet_path), None, None)
    now = time.time()
    calls = [
        CallRecord(model_id="big", request_model="gpt-4o", input_tokens=M, output_tokens=M, ts=now - 3600, task="a"),
        CallRecord(model_id="big", request_model="gpt-4o", input_tokens=M, output_tokens=0, ts=now - 7200, task="b"),
        CallRecord(model_id="big", request_model="gpt-4o", input_tokens=M, output_tokens=M, ts=now - 60 * 86400),
        CallRecord(model_id="big", input_tokens=M, output_tokens=M, ts=now - 60, cost_usd=0.5, cost_source="provider"),
        CallRecord(model_id="big", input_tokens=M, output_tokens=M, ts=now - 60, cost_usd=0.25, source="litellm"),
        CallRecord(model_id="mini", request_model="gpt-4o-mini", input_tokens=M, output_tokens=M, ts=now - 60),
        CallRecord(model_id="local", request_model="llama3.2:3b", input_tokens=M, output_tokens=M, ts=now - 60),
        CallRecord(request_model="someone-elses-model", input_tokens=10, output_tokens=10, ts=now - 60),
    ]
    for call in calls:
        if call.cost_source is None and call.source != "litellm":
            enrich(call)
    legacy = CallRecord(model_id="big", request_model="gpt-4o", input_tokens=M, output_tokens=M, ts=now - 30,
                        cost_usd=3.0)  # priced by fleetui before costs kept their source
    db = tmp_path / "calls.db"
    with Store.open(db) as store:
        store.insert_calls([*calls, legacy])
    return fleet_path, db


def costs(db: Path) -> list[tuple[str | None, float | None, str | None]]:
    with Store.open(db) as store:
        return [tuple(r) for r in store.db.conn.execute("SELECT model_id, cost_usd, cost_source FROM calls ORDER BY id")]


def assert_rollups_match(db: Path) -> None:
    with Store.open(db) as store:
        from_calls = {tuple(r[:4]): (round(r[4], 9), r[5], r[6]) for r in store.db.conn.execute(
            "SELECT day, COALESCE(model_id, ''), COALESCE(use_case, ''), COALESCE(task, ''), "
            "SUM(COALESCE(cost_usd, 0)), COUNT(cost_usd), SUM(cost_usd IS NULL) FROM calls GROUP BY 1, 2, 3, 4")}
        rollups = {tuple(r[:4]): (round(r[4], 9), r[5], r[6]) for r in store.db.conn.execute(
            "SELECT day, model_id, use_case, task, cost_usd, priced_calls, unpriced_calls FROM rollup_daily")}
    assert rollups == from_calls


def test_history_is_priced_with_the_old_prices(history: tuple[Path, Path]) -> None:
    _, db = history
    got = costs(db)
    assert got[0] == ("big", pytest.approx(3.0), "fleet") and got[5][2].startswith("catalog@")
    assert got[6] == ("local", None, None) and got[7] == (None, None, None)
    assert_rollups_match(db)


def test_reprice_after_a_price_change(history: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    fleet_path, db = history
    before = costs(db)
    write_fleet(fleet_path, NEW)
    assert main(["reprice", "--since", "30d", "--config", str(fleet_path), "--db", str(db)]) == 0
    out = capsys.readouterr().out
    after = costs(db)
    assert after[0] == ("big", pytest.approx(30.0), "fleet") and after[1] == ("big", pytest.approx(10.0), "fleet")
    assert after[2] == before[2], "older than --since: untouched"
    assert after[3] == ("big", 0.5, "provider") and after[4] == ("big", 0.25, None), "reported costs are never changed"
    assert after[5] == before[5], "the catalog did not move"
    assert after[6] == ("local", pytest.approx(1.0), "fleet"), "unpriced, now priced"
    assert after[7] == (None, None, None), "still unknown: still unpriced, never $0"
    assert after[8] == ("big", pytest.approx(30.0), "fleet"), "a legacy fleetui cost is repriced"
    assert "changed the cost of 4" in out and "2 costs reported by the provider or a proxy kept" in out
    assert "$7.00 → $70.00" in out  # big: 3 + 1 + 3 (legacy) → 30 + 10 + 30
    assert "unpriced → $1.00" in out
    assert "costs by source: fleet 4, provider 2, catalog@" in out and "unpriced 1" in out
    assert_rollups_match(db)
    with Store.open(db) as store:
        by_model = {t.key: t for t in store.totals("model")}
    assert by_model["local"].unpriced_calls == 0 and by_model["local"].cost_usd == pytest.approx(1.0)

    assert main(["reprice", "--since", "30d", "--config", str(fleet_path), "--db", str(db), "--json"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["changed"] == 0 and again["by_model"] == [], "repricing twice changes nothing"


def test_dry_run_changes_nothing_and_json_says_what_would_move(history: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    fleet_path, db = history
    before = costs(db)
    write_fleet(fleet_path, NEW)
    assert main(["reprice", "--model", "big", "--dry-run", "--json", "--config", str(fleet_path), "--db", str(db)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert costs(db) == before
    assert report["applied"] is False and report["changed"] == 4 and report["kept_reported"] == 2
    assert report["by_source"] == {"fleet": 4, "provider": 2}
    assert report["by_model"] == [{"model": "big", "calls": 4, "old_usd": pytest.approx(10.0), "new_usd": pytest.approx(100.0)}]


def test_bad_input_is_one_line_and_exit_1(history: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    fleet_path, db = history
    assert main(["reprice", "--model", "nope", "--config", str(fleet_path), "--db", str(db)]) == 1
    err = capsys.readouterr().err
    assert "--model nope: no such model" in err and len(err.strip().splitlines()) == 1
    assert main(["reprice", "--since", "last tuesday", "--config", str(fleet_path), "--db", str(db)]) != 0
    assert "--since" in capsys.readouterr().err


def test_a_missing_rollup_row_aborts_the_whole_change(history: tuple[Path, Path]) -> None:
    fleet_path, db = history
    before = costs(db)
    with Store.open(db) as store:
        store.db.conn.execute("DELETE FROM rollup_daily WHERE model_id = 'local'")
        enrich = Enricher.for_fleet(load_fleet(write_fleet(fleet_path, NEW)), None, None)
        with pytest.raises(RepriceError, match="no rollup row"):
            reprice(store, enrich.price)
    assert costs(db) == before
