"""`fleetui apply`: a recommendation becomes a rule; the user's file keeps everything else."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from fleetui.cli import main
from fleetui.demo import generate_demo
from fleetui.config.fleetfile import load_fleet
from fleetui.routing import Router
from fleetui.store import Store, analytics
from tests.conftest import SAMPLE_FLEET


@pytest.fixture
def setup(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[Path, Path, list[dict[str, object]]]:
    fleet_file = tmp_path / "fleet.toml"
    shutil.copy(SAMPLE_FLEET, fleet_file)
    db = tmp_path / "s.db"
    generate_demo(load_fleet(fleet_file), db, calls=4000)
    assert main(["--config", str(fleet_file), "--db", str(db), "recommend", "--json"]) == 0
    return fleet_file, db, json.loads(capsys.readouterr().out)


def test_apply_adds_a_rule_keeps_comments_and_marks_applied(setup: tuple[Path, Path, list[dict[str, object]]],
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    fleet_file, db, recs = setup
    rec = next(r for r in recs if r["kind"] == "cheaper_model")
    before = fleet_file.read_text()
    assert main(["--config", str(fleet_file), "--db", str(db), "apply", str(rec["id"]), "--yes"]) == 0
    out = capsys.readouterr().out
    assert "+[[rules]]" in out and f'+model = "{rec["recommended_model"]}"' in out
    after = fleet_file.read_text()
    assert after.startswith(before), "nothing the user wrote is changed"
    assert "# Comments in it teach" not in after or "Comments" in before
    assert (fleet_file.parent / "fleet.toml.bak").read_text() == before
    decision = Router.from_toml(fleet_file).route("x", use_case=str(rec["use_case"]), complexity="medium")
    assert decision.model_id == rec["recommended_model"]
    with Store.open(db) as store:
        status = {r["id"]: r["status"] for r in analytics.recommendations(store)}
    assert status[rec["id"]] == "applied"
    assert main(["--config", str(fleet_file), "--db", str(db), "apply", str(rec["id"]), "--yes"]) == 2


def test_apply_refuses_what_it_cannot_do(setup: tuple[Path, Path, list[dict[str, object]]],
                                         capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    fleet_file, db, recs = setup
    before = fleet_file.read_text()
    underused = next(r for r in recs if r["kind"] == "underused_model")
    assert main(["--config", str(fleet_file), "--db", str(db), "apply", str(underused["id"]), "--yes"]) == 2
    assert "no routing change" in capsys.readouterr().err
    assert main(["--config", str(fleet_file), "--db", str(db), "apply", "rec-nope", "--yes"]) == 2
    rec = next(r for r in recs if r["kind"] == "cheaper_model")
    assert main(["--config", str(fleet_file), "--db", str(db), "apply", str(rec["id"]), "--dry-run"]) == 0
    assert fleet_file.read_text() == before
    elsewhere = fleet_file.parent / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # no ./fleet.toml here: --demo falls back to the sample fleet
    assert main(["--demo", "--db", str(db), "apply", str(rec["id"]), "--yes"]) == 2
    assert "sample fleet is read-only" in capsys.readouterr().err
