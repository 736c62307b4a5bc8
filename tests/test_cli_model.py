"""`fleetui model add|set|enable|disable|remove`: the Add Model tab's twin on the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fleetui.cli import main
from fleetui.config.fleetfile import load_fleet


@pytest.fixture
def fleet_file(tmp_path: Path, sample_text: str) -> Path:
    path = tmp_path / "fleet.toml"
    path.write_text("# our fleet: ask #infra before removing a model\n" + sample_text, encoding="utf-8")
    return path


def model(path: Path, model_id: str):  # type: ignore[no-untyped-def]
    return next((m for m in load_fleet(path).models if m.id == model_id), None)


def test_add_then_change_disable_enable_and_remove(fleet_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cli = ["--config", str(fleet_file), "model"]
    assert main([*cli, "add", "mini-2", "--provider", "openai", "--model", "gpt-4.1-mini", "--role", "fast-tasks:3",
                 "--tag", "cheap", "--context", "1000000", "--key", "OPENAI_TEAM_KEY"]) == 0
    assert "mini-2 added in" in capsys.readouterr().out
    added = model(fleet_file, "mini-2")
    assert (added.provider, added.model, added.name, added.context_window, added.key) == (
        "openai", "gpt-4.1-mini", "mini-2", 1_000_000, "OPENAI_TEAM_KEY")
    assert [(r.role, r.priority) for r in added.roles] == [("fast-tasks", 3)] and added.tags == ["cheap"]
    text = fleet_file.read_text()
    assert text.startswith("# our fleet: ask #infra") and "# Routing rules, lowest priority number first." in text
    assert (fleet_file.parent / "fleet.toml.bak").exists()

    assert main([*cli, "set", "mini-2", "--price", "0.4", "1.6", "--name", "GPT-4.1 mini", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["model"]["price"] == {"input": 0.4, "output": 1.6} and shown["model"]["name"] == "GPT-4.1 mini"
    assert model(fleet_file, "mini-2").roles[0].role == "fast-tasks"  # what `set` was not given stays

    assert main([*cli, "disable", "mini-2"]) == 0 and not model(fleet_file, "mini-2").enabled
    assert main([*cli, "enable", "mini-2"]) == 0 and model(fleet_file, "mini-2").enabled
    assert main([*cli, "remove", "mini-2"]) == 2  # removing asks; with no terminal to ask on, it says so
    assert "pass --yes" in capsys.readouterr().err and model(fleet_file, "mini-2") is not None
    assert main([*cli, "remove", "mini-2", "--yes"]) == 0 and model(fleet_file, "mini-2") is None
    assert '-id = "mini-2"' in capsys.readouterr().out  # the diff is shown before it is written
    backup = (fleet_file.parent / "fleet.toml.bak").read_text()
    assert 'id = "mini-2"' not in fleet_file.read_text() and 'id = "mini-2"' in backup


def test_bad_changes_say_what_and_write_nothing(fleet_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = fleet_file.read_text()
    cli = ["--config", str(fleet_file), "model"]
    assert main([*cli, "add", "x", "--provider", "nope", "--model", "m", "--role", "boss",
                 "--key", "sk-" + "a1b2c3d4" * 6]) == 2
    err = capsys.readouterr().err
    assert "models[x].provider: unknown provider 'nope' (did you mean 'openai'?); known: anthropic" in err
    assert "models[x].roles[0].role: unknown role 'boss'" in err
    assert "models[x].key: this looks like an API key itself" in err and "a1b2c3d4" not in err
    assert main([*cli, "add", "gpt-4", "--provider", "openai", "--model", "gpt-4"]) == 2
    assert "there is already a model 'gpt-4'" in capsys.readouterr().err
    assert main([*cli, "remove", "local-llama"]) == 2  # a rule routes to it
    assert "rules[casual-to-local].model: rule 'casual-to-local' names unknown model 'local-llama'" in \
        capsys.readouterr().err
    assert main([*cli, "disable", "gpt-5"]) == 2
    assert "no model 'gpt-5'" in capsys.readouterr().err
    assert main([*cli, "add", "y", "--provider", "openai", "--model", "m", "--role", "fast-tasks:first"]) == 2
    assert "the priority after ':' is a whole number" in capsys.readouterr().err
    assert fleet_file.read_text() == before and not (fleet_file.parent / "fleet.toml.bak").exists()


def test_dry_run_shows_the_diff_and_the_sample_is_read_only(fleet_file: Path, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    before = fleet_file.read_text()
    assert main(["--config", str(fleet_file), "model", "disable", "gpt-4", "--dry-run"]) == 0
    assert "+enabled = false" in capsys.readouterr().out and fleet_file.read_text() == before
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # no ./fleet.toml, no user fleet: --demo falls back to the built-in sample
    assert main(["--demo", "model", "disable", "gpt-4"]) == 2
    assert "the sample fleet is read-only" in capsys.readouterr().err
