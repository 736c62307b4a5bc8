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
    assert result["calls"] == 60 and result["moved"] == 40
    mini_cost = 40 * (1000 * 0.15 + 100 * 0.6) / 1e6 + 20 * (10 * 0.15 + 10 * 0.6) / 1e6
    assert result["predicted_cost"] == pytest.approx(mini_cost)
    assert result["actual_cost"] == pytest.approx(40 * 0.036 + 20 * 7.5e-6)
    # moved calls take mini's observed success (18/20) for casual_chat; the rest keep theirs
    assert result["predicted_success"] == pytest.approx((40 * 0.9 + 18) / 60)
    assert result["predicted_latency_ms"] == pytest.approx(1000.0)
    assert result["shift"] == {"gpt-4 → gpt-4o-mini": 40}
    assert main(["--config", str(SAMPLE_FLEET), "--db", str(db), "dryrun", str(tmp_path / "nope.toml")]) == 2
    capsys.readouterr()
    # The spelling: --config after the command names the candidate.
    assert main(["--config", str(SAMPLE_FLEET), "--db", str(db), "dryrun", "--config", str(candidate), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == result
    assert main(["--db", str(db), "dryrun"]) == 2
    assert "which candidate?" in capsys.readouterr().err
    assert main(["--db", str(db), "dryrun", str(candidate), "--config", str(SAMPLE_FLEET)]) == 2
    assert "give the candidate once" in capsys.readouterr().err
