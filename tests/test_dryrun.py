"""`fleetui dryrun`: logged calls through a candidate config, with the arithmetic checked."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from fleetui.cli import main
from fleetui.config.fleetfile import load_fleet
from fleetui.store import CallRecord, Store
from tests.conftest import SAMPLE_FLEET


def test_everything_to_one_model(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    now = time.time()
    db = tmp_path / "s.db"
    with Store.open(db) as store:
        store.insert_calls(
            [CallRecord(ts=now - 60 - i, model_id="gpt-4", use_case="casual_chat", input_tokens=1000, output_tokens=100,
                        cost_usd=(1000 * 30 + 100 * 60) / 1e6, latency_ms=4000.0, success=True) for i in range(40)]
            + [CallRecord(ts=now - 60 - i, model_id="gpt-4o-mini", use_case="casual_chat", input_tokens=10,
                          output_tokens=10, cost_usd=(10 * 0.15 + 10 * 0.6) / 1e6, latency_ms=1000.0,
                          success=i % 10 != 0) for i in range(20)]
        )
    candidate = tmp_path / "candidate.toml"
    candidate.write_text(SAMPLE_FLEET.read_text() + '\n[[rules]]\nname = "all-mini"\npriority = 1\n'
                         'when = "prompt_length >= 0"\nmodel = "gpt-4o-mini"\n')
    load_fleet(candidate)
    assert main(["--config", str(SAMPLE_FLEET), "--db", str(db), "dryrun", str(candidate), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    # The sample fleet sends these calls to its default model (kimi-k2.5, never observed here:
    # no predicted success), the candidate to gpt-4o-mini: all 60 move between the two configs.
    assert result["calls"] == 60 and result["compared_calls"] == 60 and result["moved"] == 60
    assert result["shift"] == {"kimi-k2.5 → gpt-4o-mini": 60}
    assert result["current"]["success"] is None and result["current"]["unobserved"] == 60
    mini_cost = 40 * (1000 * 0.15 + 100 * 0.6) / 1e6 + 20 * (10 * 0.15 + 10 * 0.6) / 1e6
    history_cost = 40 * 0.036 + 20 * 7.5e-6
    assert result["history"]["cost_usd"] == pytest.approx(history_cost)
    assert result["candidate"]["cost_usd"] == pytest.approx(mini_cost)
    current = result["current"]["cost_usd"]
    assert result["change_pct"] == pytest.approx(100 * (mini_cost - current) / current, abs=0.01)
    # moved calls take mini's observed success (18/20) for casual_chat; the rest keep theirs
    assert result["candidate"]["success"] == pytest.approx((40 * 0.9 + 18) / 60)
    assert result["candidate"]["latency_ms"] == pytest.approx(1000.0)
    assert main(["--config", str(SAMPLE_FLEET), "--db", str(db), "dryrun", str(tmp_path / "nope.toml")]) == 2
    capsys.readouterr()
    # The spelling: --config after the command names the candidate.
    assert main(["--config", str(SAMPLE_FLEET), "--db", str(db), "dryrun", "--config", str(candidate), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == result
    assert main(["--db", str(db), "dryrun"]) == 2
    assert "which candidate?" in capsys.readouterr().err
    assert main(["--db", str(db), "dryrun", str(candidate), "--config", str(SAMPLE_FLEET)]) == 2
    assert "give the candidate once" in capsys.readouterr().err


def test_the_unchanged_fleet_saves_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # The candidate is compared with the current config on the same traffic, not with history:
    # whatever the current rules would change already is not the candidate's saving.
    now = time.time()
    db = tmp_path / "s.db"
    with Store.open(db) as store:
        store.insert_calls([CallRecord(ts=now - 60 - i, model_id="gpt-4", use_case="coding", task="coding",
                                       complexity="simple", input_tokens=800, output_tokens=300,
                                       cost_usd=(800 * 30 + 300 * 60) / 1e6, success=True, latency_ms=3000.0)
                            for i in range(30)])
    same = tmp_path / "same.toml"
    same.write_text(SAMPLE_FLEET.read_text())
    assert main(["--config", str(SAMPLE_FLEET), "--db", str(db), "dryrun", str(same), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["moved"] == 0 and result["change_pct"] == 0.0
    assert result["candidate"] == result["current"]
    assert main(["--config", str(SAMPLE_FLEET), "--db", str(db), "dryrun", str(same)]) == 0
    out = capsys.readouterr().out
    assert "candidate vs current +0.0%" in out and "routes 0 of them" in out


def test_calls_to_unpriced_models_are_left_out_of_both_sides(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    now = time.time()
    db = tmp_path / "s.db"
    with Store.open(db) as store:
        store.insert_calls([CallRecord(ts=now - 60 - i, model_id="gpt-4", use_case="casual_chat", input_tokens=100,
                                       output_tokens=10, cost_usd=(100 * 30 + 10 * 60) / 1e6, success=True)
                            for i in range(10)])
    text = SAMPLE_FLEET.read_text()
    candidate = tmp_path / "candidate.toml"
    candidate.write_text(text + '\n[[models]]\nid = "mystery"\nname = "No price"\nprovider = "openai"\n'
                         'model = "mystery-model-9"\n\n[[rules]]\nname = "all-mystery"\npriority = 1\n'
                         'when = "prompt_length >= 0"\nmodel = "mystery"\n')
    assert main(["--config", str(SAMPLE_FLEET), "--db", str(db), "dryrun", str(candidate), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["moved"] == 10 and result["candidate"]["unpriced"] == 10
    assert result["compared_calls"] == 0 and result["candidate"]["cost_usd"] == 0.0
    assert result["change_pct"] is None  # nothing comparable: no "saves 100%"
    assert main(["--config", str(SAMPLE_FLEET), "--db", str(db), "dryrun", str(candidate)]) == 0
    assert "10 go to or came from an unpriced model" in " ".join(capsys.readouterr().out.split())  # wrapped
