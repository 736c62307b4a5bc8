"""Saves never overwrite what they did not read, and change only their own lines."""

from __future__ import annotations

import shutil
import stat
from pathlib import Path

import pytest

from fleetui.cli import main
from fleetui.cli.context import CliContext, CliError
from fleetui.config.change import Change
from fleetui.config.fleetfile import FleetFileError, FleetSource, load_fleet, read_fleet, save_fleet
from fleetui.config.writer import FileChanged
from fleetui.tui.data import Session
from tests.conftest import SAMPLE_FLEET

BROKEN = 'name = "sample fleet'  # an editor's half-typed line: an unclosed string


@pytest.fixture
def fleet_file(tmp_path: Path) -> Path:
    target = tmp_path / "fleet.toml"
    shutil.copy(SAMPLE_FLEET, target)
    target.chmod(0o644)
    return target


def test_save_refuses_a_file_that_no_longer_parses_and_writes_nothing(fleet_file: Path) -> None:
    fleet = load_fleet(fleet_file)
    broken = fleet_file.read_text().replace('name = "sample fleet"', BROKEN)
    fleet_file.write_text(broken)
    fleet.models[0].enabled = False
    with pytest.raises(FleetFileError, match=r"fleet.toml:\d+:\d+: invalid TOML"):
        save_fleet(fleet, fleet_file)
    assert fleet_file.read_text() == broken and not fleet_file.with_name("fleet.toml.bak").exists()


def test_the_tui_session_refuses_a_file_changed_since_it_was_loaded(fleet_file: Path, tmp_path: Path) -> None:
    session = Session(FleetSource(fleet_file, "--config"), tmp_path / "s.db", demo=False)
    changed = fleet_file.read_text().replace("monthly_usd = 500", "monthly_usd = 400  # set by hand")
    fleet_file.write_text(changed)
    fleet = session.fleet.model_copy(deep=True)
    fleet.model("gpt-4").enabled = False
    with pytest.raises(FileChanged, match="changed on disk since it was read"):
        session.save(fleet)
    assert fleet_file.read_text() == changed
    assert "+monthly_usd = 400  # set by hand" in session.outside_change()
    session.reload()
    fleet = session.fleet.model_copy(deep=True)
    fleet.model("gpt-4").enabled = False
    session.save(fleet)
    text = fleet_file.read_text()
    assert "monthly_usd = 400  # set by hand" in text and load_fleet(fleet_file).model("gpt-4").enabled is False
    assert stat.S_IMODE(fleet_file.stat().st_mode) == 0o644
    assert fleet_file.with_name("fleet.toml.bak").read_text() == changed


def test_saving_twice_from_one_session_needs_no_reload(fleet_file: Path, tmp_path: Path) -> None:
    session = Session(FleetSource(fleet_file, "--config"), tmp_path / "s.db", demo=False)
    for enabled in (False, True):
        fleet = session.fleet.model_copy(deep=True)
        fleet.model("gpt-4").enabled = enabled
        session.save(fleet)
    assert load_fleet(fleet_file).model("gpt-4").enabled is True


def test_a_no_op_save_keeps_the_file_and_the_real_backup(fleet_file: Path) -> None:
    fleet, text = read_fleet(fleet_file)
    fleet.model("gpt-4").enabled = False
    save_fleet(fleet, fleet_file, expect=text)
    previous = fleet_file.with_name("fleet.toml.bak").read_text()
    mtime = fleet_file.stat().st_mtime_ns
    saved = save_fleet(fleet, fleet_file)
    assert not saved.written.changed and fleet_file.stat().st_mtime_ns == mtime
    assert fleet_file.with_name("fleet.toml.bak").read_text() == previous == text


def test_cli_model_on_a_broken_file_exits_1_with_the_place(fleet_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    broken = fleet_file.read_text().replace('name = "sample fleet"', BROKEN)
    fleet_file.write_text(broken)
    assert main(["--config", str(fleet_file), "model", "disable", "gpt-4", "--yes"]) == 1
    err = capsys.readouterr().err
    assert "fleet.toml:" in err and "invalid TOML" in err and "Traceback" not in err
    assert fleet_file.read_text() == broken


def test_cli_write_of_a_change_whose_file_moved_on_exits_1(fleet_file: Path) -> None:
    old = fleet_file.read_text()
    change = Change(fleet_file, old, old.replace("monthly_usd = 500", "monthly_usd = 600"), "budget")
    fleet_file.write_text(old.replace("warn_pct = 70", "warn_pct = 60"))
    with pytest.raises(CliError) as caught:
        CliContext(config=str(fleet_file)).write_change(change, yes=True, dry_run=False, show=False)
    assert caught.value.exit_code == 1 and "changed on disk since it was read" in str(caught.value)
    assert "warn_pct = 60" in fleet_file.read_text() and "monthly_usd = 500" in fleet_file.read_text()


@pytest.mark.parametrize("text, where", [
    ('id = ["m"]\n', "1:1"),
    ('[[models]]\nid = ["m"]\nname = "m"\nprovider = "p"\nmodel = "m"\n', "2:6"),
    ('[[models]]\nid = { a = 1 }\n', "2:6"),
    ('[[models]]\nid = "m"\nname = "m"\nprovider = "p"\nmodel = "m"\nroles = 5\n', "6:9"),
    ('[[rules]]\nname = "r"\nwhen = "true"\nmodel = "m"\nfallbacks = 3\n', "5:13"),
    ("x = " + "9" * 5000 + "\n", "1:5"),
    ("x = " + "[" * 1000 + "]" * 1000 + "\n", "1:37"),
    ('[[rules]]\nname = "r"\nmodel = "m"\nwhen = "' + "not " * 400 + 'true"\n', "4:137"),
    ('[[rules]]\nname = "r"\nmodel = "m"\nwhen = "(' + "(" * 399 + "true" + ")" * 400 + '"\n', "4:41"),
    ('[[rules]]\nname = "r"\nmodel = "m"\nwhen = "prompt_length > ' + "9" * 400 + '.5"\n', "4:25"),
    ("[budget]\nmonthly_usd = inf\n", "2:15"),
    ('"quoted key" = 1\n', "1:1"),
    ('[models]\n"ünï" = 1\n', "1:1"),
    ('[[models]]\nid = "m"\n[models.price\n', "3:14"),
    ('name = "x', "1:10"),
])
def test_the_issues_crashes_are_one_line_each_with_line_and_column(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, where: str
) -> None:
    target = tmp_path / "fleet.toml"
    target.write_text(text, encoding="utf-8")
    assert main(["validate", str(target)]) == 1
    out = capsys.readouterr().out
    problems = out.splitlines()[1:]
    assert problems and all(line.startswith(f"  {target}:") and "; " in line for line in problems), out
    assert any(line.startswith(f"  {target}:{where}: ") for line in problems), out
    assert main(["--config", str(target), "status"]) == 1
    assert "Traceback" not in capsys.readouterr().err


def test_a_windows_file_saves_in_place_with_its_line_ends(tmp_path: Path) -> None:
    target = tmp_path / "fleet.toml"
    target.write_bytes(SAMPLE_FLEET.read_bytes().replace(b"\n", b"\r\n"))
    session = Session(FleetSource(target, "--config"), tmp_path / "s.db", demo=False)
    fleet = session.fleet.model_copy(deep=True)
    fleet.model("gpt-4").enabled = False
    session.save(fleet)
    raw = target.read_bytes()
    assert b"enabled = false" in raw and raw.count(b"\n") == raw.count(b"\r\n")
    assert load_fleet(target).model("gpt-4").enabled is False
