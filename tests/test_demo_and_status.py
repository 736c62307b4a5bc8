"""Demo traffic and `fleetui status`: what a new user sees first."""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path

import pytest

from fleetui.cli import main
from fleetui.demo import demo_calls, generate_demo
from fleetui.config.fleetfile import load_fleet
from fleetui.clock import utc_today
from fleetui.store import CallRecord, Store
from tests.conftest import SAMPLE_FLEET

NOW = 1_763_820_000.0  # a fixed "now" keeps the generated traffic identical between runs


def test_demo_traffic_has_the_shape_of_real_fleets() -> None:
    fleet = load_fleet(SAMPLE_FLEET)
    calls = list(demo_calls(fleet, 5_000, now=NOW))
    use_cases = Counter(c.use_case for c in calls)
    casual = sum(use_cases[u] for u in ("casual_chat", "food_dining", "quick_lookup"))
    assert casual / len(calls) > 0.4, "casual questions dominate"
    assert use_cases["coding"] > use_cases["research"] > 0
    expensive_on_casual = sum(
        1 for c in calls if c.use_case == "casual_chat" and c.model_id in ("gpt-4", "claude-sonnet", "claude-opus")
    )
    assert expensive_on_casual / use_cases["casual_chat"] > 0.4, "expensive models overused on casual traffic"
    errors = Counter(c.error_type for c in calls if not c.success)
    assert {"rate_limited", "timeout"} <= set(errors)
    assert 0.005 < sum(errors.values()) / len(calls) < 0.1
    assert 0.04 < sum(c.feedback_score is not None for c in calls) / len(calls) < 0.12
    assert all(c.demo for c in calls)
    assert all(NOW - 30 * 86400 <= c.ts < NOW for c in calls)
    latency = {m: sorted(c.latency_ms for c in calls if c.model_id == m and c.success) for m in ("claude-haiku", "gpt-4")}
    assert latency["claude-haiku"][len(latency["claude-haiku"]) // 2] < latency["gpt-4"][len(latency["gpt-4"]) // 2]


def test_demo_is_deterministic_for_a_seed() -> None:
    fleet = load_fleet(SAMPLE_FLEET)
    first = [(c.model_id, c.prompt, c.cost_usd) for c in demo_calls(fleet, 200, seed=3, now=NOW)]
    again = [(c.model_id, c.prompt, c.cost_usd) for c in demo_calls(fleet, 200, seed=3, now=NOW)]
    assert first == again


def test_generate_demo_writes_a_fresh_database(tmp_path: Path) -> None:
    path = tmp_path / "demo.db"
    fleet = load_fleet(SAMPLE_FLEET)
    assert generate_demo(fleet, path, calls=1_500) == 1_500
    assert generate_demo(fleet, path, calls=700) == 700  # replaces, never appends
    with Store.open(path) as store:
        assert store.count_calls() == 700
        assert store.overall().calls == 700
        assert "idx_calls_model_id_ts" in {i.name for i in store.db["calls"].indexes}
        # The code assistant routes through fleetui's Router for its last ten days: its calls carry
        # the decisions, and the decisions are stored as an app logging them would leave them.
        routed = list(store.db.query("SELECT decision_id, source, ts, model_id, override FROM calls "
                                     "WHERE decision_id IS NOT NULL"))
        decisions = {r["decision_id"]: r for r in store.db.query("SELECT * FROM decisions")}
    assert routed and {r["decision_id"] for r in routed} == set(decisions)
    assert {r["source"] for r in routed} == {"code-assistant"}
    assert min(r["ts"] for r in routed) >= time.time() - 10 * 86400
    assert all(decisions[r["decision_id"]]["model_id"] == r["model_id"] for r in routed)
    assert {d["rule"] for d in decisions.values()} <= {"serious-coding", None}


def test_demo_refuses_to_fill_an_existing_real_database(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    real = tmp_path / "mine.db"
    Store.open(real).close()
    assert main(["demo", "--calls", "10", "--db", str(real)]) == 2
    assert "real data is never replaced" in capsys.readouterr().err


def test_status_on_demo_data(isolated_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--calls", "3000"]) == 0
    capsys.readouterr()
    assert main(["--demo", "status", "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["demo_data"] is True and status["sample_fleet"] is True
    rows = {m["id"]: m for m in status["models"]}
    assert len(rows) == 11
    assert rows["claude-opus"]["price_per_mtok"]["input"] == 15
    assert rows["local-llama"]["price_per_mtok"]["source"] == "override"
    with Store.open(isolated_home / "data" / "demo.db") as store:
        today_calls = {t.key: t.calls for t in store.totals("model", since=utc_today(), until=utc_today())}
    assert {k: v["calls_today"] for k, v in rows.items() if v["calls_today"]} == today_calls
    assert status["today"]["calls"] == sum(today_calls.values())

    assert main(["status", "--demo"]) == 0  # global options also work after the command
    text = capsys.readouterr().out
    assert "DEMO DATA" in text and "Claude Opus" in text and "$15 / $75" in text


def test_status_shows_unpriced_not_zero(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fleet_file = tmp_path / "fleet.toml"
    fleet_file.write_text(
        '[[providers]]\nid = "lab"\nkind = "openai-compatible"\nbase_url = "http://127.0.0.1:9/v1"\n'
        '[[models]]\nid = "mystery"\nname = "Mystery 7B"\nprovider = "lab"\nmodel = "mystery-7b"\n'
    )
    assert main(["--config", str(fleet_file), "--db", str(tmp_path / "s.db"), "status"]) == 0
    out = capsys.readouterr().out
    assert "unpriced" in out and "DEMO DATA" not in out


def test_an_unpriced_model_is_never_zero_dollars(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fleet_file = tmp_path / "fleet.toml"
    fleet_file.write_text(
        '[[providers]]\nid = "lab"\nkind = "openai-compatible"\nbase_url = "http://127.0.0.1:9/v1"\n'
        '[[models]]\nid = "mystery"\nname = "Mystery 7B"\nprovider = "lab"\nmodel = "mystery-7b"\n'
    )
    db = tmp_path / "s.db"
    with Store.open(db) as store:
        store.insert_calls([CallRecord(ts=time.time() - 60, model_id="mystery", input_tokens=100, output_tokens=50,
                                       cost_usd=None, success=True, latency_ms=900.0) for _ in range(3)])
    base = ["--config", str(fleet_file), "--db", str(db)]
    assert main([*base, "status", "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    mystery = status["models"][0]
    assert mystery["cost_today"] is None and mystery["unpriced_calls_today"] == 3
    assert status["today"]["cost"] is None and status["today"]["unpriced_calls"] == 3
    assert main([*base, "costs", "--json"]) == 0
    costs = json.loads(capsys.readouterr().out)
    assert costs["by_model"][0]["key"] == "mystery" and costs["by_model"][0]["cost_usd"] is None
    assert main([*base, "costs"]) == 0
    text = capsys.readouterr().out
    by_model = text.split("BY MODEL")[1].split("BY TASK")[0]
    assert "mystery" in by_model and "unpriced" in by_model and "$0.00" not in by_model
    assert main([*base, "metrics"]) == 0
    metrics = capsys.readouterr().out
    assert 'fleetui_cost_usd_total{model="mystery"' not in metrics
    assert 'fleetui_unpriced_calls_total{model="mystery",provider="lab",operation="chat",in_fleet="true"} 3' in metrics
