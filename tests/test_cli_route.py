"""`fleetui route` when nothing can take the request: each model named with why, and a way out."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from fleetui.cli import main
from fleetui.store import ProbeRecord, Store

FLEET = """
[[providers]]
id = "oa"
kind = "openai-compatible"
base_url = "http://127.0.0.1:9/v1"
key = "NOT_SET_ANYWHERE"

[[models]]
id = "alpha"
name = "Alpha"
provider = "oa"
model = "alpha-1"

[[models]]
id = "beta"
name = "Beta"
provider = "oa"
model = "beta-1"

[[models]]
id = "gamma"
name = "Gamma"
provider = "oa"
model = "gamma-1"
enabled = false
"""


def test_no_route_names_every_model_and_why(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fleet = tmp_path / "fleet.toml"
    fleet.write_text(FLEET)
    db = tmp_path / "s.db"
    at = time.time() - 120
    with Store.open(db) as store:
        store.record_probes([
            ProbeRecord("alpha", "misconfigured", ts=at, error_type="misconfigured",
                        message="alpha: no key NOT_SET_ANYWHERE (set it with `fleetui key set`)"),
            ProbeRecord("beta", "offline", ts=at, error_type="connection", message="beta: connection refused"),
        ])
    base = ["--config", str(fleet), "--db", str(db), "route", "hello"]
    assert main(base) == 1
    err = " ".join(capsys.readouterr().err.split())  # wrapped to the terminal
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(at))
    assert f"alpha: misconfigured by probe at {stamp}: alpha: no key NOT_SET_ANYWHERE" in err
    assert f"beta: offline by probe at {stamp}: beta: connection refused" in err
    assert "gamma: disabled" in err and "--ignore-health" in err
    assert main([*base, "--json"]) == 1
    assert set(json.loads(capsys.readouterr().out)["excluded"]) == {"alpha", "beta", "gamma"}
    assert main([*base, "--ignore-health"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(("→ alpha", "→ beta"))
