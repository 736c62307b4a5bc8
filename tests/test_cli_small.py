"""Small CLI paths a newcomer trips on: typo'd folders, keyless local models, renamed use cases."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from fleetui.cli import main
from fleetui.config.fleetfile import load_fleet
from fleetui.store import Store, analytics
from tests.conftest import SAMPLE_FLEET


def test_a_typod_db_folder_is_an_error_not_a_new_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "no" / "such" / "dir"
    assert main(["--config", str(SAMPLE_FLEET), "--db", str(missing / "x.db"), "status"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"there is no folder {missing}" in err and "--db" in err
    assert not (tmp_path / "no").exists()


def test_export_to_a_missing_folder_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "nope" / "routing.toml"
    assert main(["--config", str(SAMPLE_FLEET), "--db", str(tmp_path / "s.db"), "export", "-o", str(target)]) == 1
    assert "there is no folder" in capsys.readouterr().err and not target.parent.exists()


def test_a_keyless_local_model_can_be_added(tmp_path: Path, sample_text: str, capsys: pytest.CaptureFixture[str]) -> None:
    fleet_file = tmp_path / "fleet.toml"
    fleet_file.write_text(sample_text)
    assert main(["--config", str(fleet_file), "model", "add", "lab", "--provider", "openai", "--model", "qwen",
                 "--endpoint", "http://127.0.0.1:8080/v1", "--key", ""]) == 0
    fleet = load_fleet(fleet_file)
    lab = next(m for m in fleet.models if m.id == "lab")
    assert lab.key == "" and fleet.key_ref_of(lab) is None, "it must not inherit OPENAI_API_KEY"
    assert fleet.key_ref_of(next(m for m in fleet.models if m.provider == "openai" and m.id != "lab")) == "OPENAI_API_KEY"


def test_a_renamed_use_case_answers_to_its_new_name(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "d.db"
    with Store.open(db) as store:
        analytics.save_discovered_use_cases(store, [
            {"id": uc, "name": uc, "source": "discovered", "keywords": [], "examples": [], "typical_chars": 10,
             "models": {}, "calls": 5} for uc in ("alpha", "beta")], time.time())
    args = ["--config", str(SAMPLE_FLEET), "--db", str(db), "usecase"]
    assert main([*args, "rename", "alpha", "letters"]) == 0
    assert main([*args, "pin", "letters"]) == 0
    assert main([*args, "merge", "beta", "letters"]) == 0
    assert main([*args, "merge", "nope", "letters"]) == 2
    capsys.readouterr()
    assert main([*args, "list", "--json"]) == 0
    rows = {r["id"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["alpha"]["name"] == "letters" and rows["alpha"]["pinned"] == 1
    assert rows["beta"]["merged_into"] == "alpha"
