"""The fleet file: loading, precise errors, atomic saving, and which file is used."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from fleetui.cli import main
from fleetui.config.schema import Fleet
from fleetui.config.fleetfile import (
    FleetFileError,
    find_fleet_file,
    load_fleet,
    parse_fleet,
    save_fleet,
)
from tests.conftest import SAMPLE_FLEET


def line_of(text: str, needle: str, occurrence: int = 1) -> int:
    """1-based line of the n-th line containing `needle` (to keep tests independent of layout)."""
    hits = [i for i, line in enumerate(text.splitlines(), 1) if needle in line]
    return hits[occurrence - 1]


def problems_of(text: str, name: str = "fleet.toml") -> list[str]:
    with pytest.raises(FleetFileError) as caught:
        parse_fleet(text, name)
    return [str(p) for p in caught.value.problems]


def test_sample_fleet_is_valid_and_complete() -> None:
    fleet = load_fleet(SAMPLE_FLEET)
    names = {m.name for m in fleet.models}
    for expected in (
        "Claude Opus", "Claude Sonnet", "Claude Haiku", "GPT-4", "GPT-4 Turbo", "DeepSeek V3",
        "Gemini Pro", "Gemini Flash", "Kimi K2.5", "GPT-4o mini",
    ):
        assert expected in names
    local = [m for m in fleet.models if fleet.base_url_of(m).startswith("http://localhost")]
    assert local, "the sample has one local model"
    assert fleet.budget.monthly_usd == 500
    assert {r.id for r in fleet.roles} >= {"deep-thinking", "primary-coder", "fast-tasks", "vision"}
    assert [m.id for m in fleet.models_in_role("primary-coder")] == ["claude-sonnet", "deepseek-v3"]


def test_cli_validate_sample_passes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(SAMPLE_FLEET)]) == 0
    assert "valid" in capsys.readouterr().out


def test_typo_key_names_line_field_and_suggestion(sample_text: str) -> None:
    text = sample_text.replace("context_window = 8192", "context_windw = 8192")
    [problem] = problems_of(text)
    line = line_of(text, "context_windw")
    assert problem.startswith(f"fleet.toml:{line}:1: models[gpt-4].context_windw: unknown key")
    assert "did you mean 'context_window'" in problem
    assert "allowed here:" in problem and "capabilities" in problem


def test_wrong_type_names_line_and_value(sample_text: str) -> None:
    text = sample_text.replace("monthly_usd = 500", 'monthly_usd = "lots"')
    [problem] = problems_of(text)
    column = text.splitlines()[line_of(text, "monthly_usd") - 1].index('"lots"') + 1
    assert problem.startswith(f"fleet.toml:{line_of(text, 'monthly_usd')}:{column}: budget.monthly_usd:")
    assert "expected a number (got 'lots'); write monthly_usd = 1.5 (the monthly budget in USD)" in problem


def test_score_out_of_range(sample_text: str) -> None:
    text = sample_text.replace("reasoning = 98", "reasoning = 180")
    [problem] = problems_of(text)
    assert f":{line_of(text, 'reasoning = 180')}:13: models[claude-opus].capabilities.reasoning" in problem
    assert "must be at most 100 (got 180); use a value at most 100" in problem


def test_duplicate_model_id(sample_text: str) -> None:
    text = sample_text.replace('id = "gpt-4-turbo"', 'id = "gpt-4"')
    problems = problems_of(text)
    [dup] = [p for p in problems if "duplicate model id" in p]
    second = line_of(text, 'id = "gpt-4"', 2)
    assert dup.startswith(f"fleet.toml:{second}:")
    # rules naming the vanished id are reported too, in the same pass
    assert any("gpt-4-turbo" in p and "unknown" in p for p in problems)


def test_rule_naming_unknown_model(sample_text: str) -> None:
    text = sample_text.replace('model = "gemini-pro"\nfallbacks', 'model = "gemini-prro"\nfallbacks')
    [problem] = problems_of(text)
    assert problem.startswith(f"fleet.toml:{line_of(text, 'gemini-prro')}:9: rules[long-documents].model:")
    assert "unknown model 'gemini-prro'" in problem and "gemini-pro" in problem


def test_field_and_cross_reference_errors_reported_together(sample_text: str) -> None:
    text = sample_text.replace("speed = 95", "speed = -1").replace(
        'fallbacks = ["deepseek-v3"]', 'fallbacks = ["deepseek-v4"]'
    )
    problems = problems_of(text)
    assert len(problems) == 2
    assert any("speed" in p for p in problems) and any("deepseek-v4" in p for p in problems)


def test_broken_toml_gives_line() -> None:
    text = 'name = "x"\n[[models]\nid = "a"\n'
    [problem] = problems_of(text)
    assert problem.startswith("fleet.toml:2:9: invalid TOML: Expected ']]' at the end of an array declaration; fix")


def test_key_value_in_key_reference_is_refused(sample_text: str) -> None:
    text = sample_text.replace('key = "OPENAI_API_KEY"', 'key = "sk-' + 'proj-abcdefghijklmnopqrstuvwxyz0123456789"')
    [problem] = problems_of(text)
    assert "providers[openai].key" in problem and "fleetui key set" in problem
    assert "abcdefghijklmnopqrstuvwxyz" not in problem, "a key is never echoed back"


def test_rule_must_target_one_thing(sample_text: str) -> None:
    text = sample_text.replace('model = "gemini-pro"\nfallbacks', 'model = "gemini-pro"\nrole = "vision"\nfallbacks')
    [problem] = problems_of(text)
    assert "rules[long-documents]" in problem and "exactly one of `model` or `role`" in problem


def test_round_trip_load_save_load(tmp_path: Path) -> None:
    fleet = load_fleet(SAMPLE_FLEET)
    target = tmp_path / "fleet.toml"
    save_fleet(fleet, target)
    assert load_fleet(target) == fleet


def test_save_keeps_backup_of_previous(tmp_path: Path) -> None:
    target = tmp_path / "fleet.toml"
    target.write_text(SAMPLE_FLEET.read_text())
    fleet = load_fleet(target)
    fleet.budget.monthly_usd = 750
    save_fleet(fleet, target)
    assert load_fleet(target).budget.monthly_usd == 750
    assert (tmp_path / "fleet.toml.bak").read_text() == SAMPLE_FLEET.read_text()


def test_interrupted_save_leaves_old_file_intact(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "fleet.toml"
    original = SAMPLE_FLEET.read_text()
    target.write_text(original)
    fleet = load_fleet(target)
    fleet.name = "changed"

    real_fsync = os.fsync

    def crash_after_partial_write(fd: int) -> None:
        real_fsync(fd)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", crash_after_partial_write)
    with pytest.raises(OSError):
        save_fleet(fleet, target)
    monkeypatch.setattr(os, "fsync", real_fsync)
    assert target.read_text() == original
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fleet.toml"], "no temp file left behind"


def test_saving_an_invalid_fleet_is_refused_before_writing(tmp_path: Path) -> None:
    target = tmp_path / "fleet.toml"
    target.write_text(SAMPLE_FLEET.read_text())
    fleet = load_fleet(target)
    # validate_assignment catches bad values as they are set, before anything reaches the disk
    with pytest.raises(ValueError):
        fleet.budget.warn_pct = 150
    assert target.read_text() == SAMPLE_FLEET.read_text()


def test_fleet_file_resolution_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, isolated_home: Path) -> None:
    assert find_fleet_file() is None
    user = isolated_home / "config" / "fleet.toml"
    user.parent.mkdir(parents=True)
    user.write_text("")
    assert find_fleet_file().origin == "user config"
    (tmp_path / "fleet.toml").write_text("")
    assert find_fleet_file().origin == "./fleet.toml"
    monkeypatch.setenv("FLEETUI_CONFIG", str(tmp_path / "env.toml"))
    assert find_fleet_file().origin == "$FLEETUI_CONFIG"
    assert find_fleet_file("explicit.toml").origin == "--config"


def test_no_fleet_file_explains_what_to_do(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate"]) == 2
    err = capsys.readouterr().err
    assert "no fleet file found" in err and "fleetui init" in err


def test_init_creates_from_sample_and_never_overwrites(isolated_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["init"]) == 0
    created = isolated_home / "config" / "fleet.toml"
    assert created.read_text() == SAMPLE_FLEET.read_text()
    assert main(["init"]) == 2
    assert "already exists" in capsys.readouterr().err


def test_validate_reports_problems_and_exits_nonzero(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(SAMPLE_FLEET.read_text().replace("warn_pct = 70", "warn_pct = 95"))
    assert main(["validate", str(bad)]) == 1
    out = capsys.readouterr().out
    assert f"{bad}:" in out and "warn_pct must be below critical_pct" in out


def test_empty_fleet_is_valid() -> None:
    assert parse_fleet("") == Fleet()


def test_every_field_of_the_schema_has_a_description() -> None:
    from pydantic import BaseModel

    from fleetui.config import schema

    models = [v for v in vars(schema).values()
              if isinstance(v, type) and issubclass(v, BaseModel) and v.__module__ == schema.__name__]
    assert len(models) >= 15
    missing = [f"{m.__name__}.{name}" for m in models for name, info in m.model_fields.items() if not info.description]
    assert missing == []


def test_a_problem_explains_the_field_from_its_description(sample_text: str) -> None:
    text = sample_text.replace("interval_s = 300", "interval_s = -3")
    [problem] = problems_of(text)
    line = line_of(text, "interval_s = -3")
    assert problem == (f"fleet.toml:{line}:14: probes.interval_s: must be above 0 (got -3); use a value above 0 "
                       "(seconds between health probes in the app)")
