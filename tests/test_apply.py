"""`fleetui apply`: a recommendation becomes a rule; the user's file keeps everything else."""

from __future__ import annotations

import difflib
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


def rec_rule_name(rec: dict[str, object]) -> str:
    return f"use-{rec['recommended_model']}-for-{rec['use_case']}"


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
    removed = [line for line in difflib.ndiff(before.splitlines(), after.splitlines()) if line.startswith("- ")]
    assert removed == [], "nothing the user wrote is changed"
    # The rule goes after the last rule, under the rules' own banner, not under the next section's.
    lines = after.splitlines()
    added = lines.index(f'name = "{rec_rule_name(rec)}"')
    last_rule = max(i for i, line in enumerate(lines) if line == "[[rules]]")
    budget_banner = lines.index("[budget]") - 2
    assert lines[last_rule + 1] == lines[added] and added < budget_banner
    assert lines[last_rule - 1].startswith(f"# Added by `fleetui apply {rec['id']}`")
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


def test_a_regenerated_store_does_not_offer_a_rule_the_fleet_file_has(
        setup: tuple[Path, Path, list[dict[str, object]]], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fleet_file, db, recs = setup
    rec = next(r for r in recs if r["kind"] == "cheaper_model")
    base = ["--config", str(fleet_file), "--db", str(db)]
    assert main([*base, "apply", str(rec["id"]), "--yes"]) == 0
    generate_demo(load_fleet(fleet_file), db, calls=4000)  # the store forgets "applied"
    capsys.readouterr()
    assert main([*base, "recommend", "--json"]) == 0
    again = {r["id"]: r for r in json.loads(capsys.readouterr().out)}
    if rec["id"] in again:  # still worth saying (apps may bypass the router), but as already in the file
        assert again[rec["id"]]["rule_in_fleet"] == rec_rule_name(rec)
    text = fleet_file.read_text()
    assert main([*base, "apply", str(rec["id"]), "--yes"]) == 1
    assert fleet_file.read_text() == text and f"{rec_rule_name(rec)}-2" not in text
    assert "already" in capsys.readouterr().err
