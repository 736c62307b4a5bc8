"""The CLI's tables fit the terminal and never cut a number."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from fleetui.cli import main
from fleetui.cli.output import Column, plural, render_table
from tests.conftest import SAMPLE_FLEET


def test_plural() -> None:
    assert (plural(1, "call"), plural(2, "call"), plural(1234, "call")) == ("1 call", "2 calls", "1,234 calls")
    assert plural(0, "use case") == "0 use cases"


@pytest.mark.parametrize("width", [40, 60, 80, 120])
def test_a_table_fits_by_dropping_columns_and_keeps_numbers_whole(width: int) -> None:
    columns = [Column("MODEL"), Column("ROLES", drop=2), Column("$/1M", numeric=True), Column("N", numeric=True),
               Column("COST", numeric=True), Column("NOTE", drop=1)]
    rows = [("Claude Sonnet 4 with a very long display name", "Primary coder, General assistant, Research lead",
             "$15 / $75", "385", "$0.0007", "a long remark about this model " * 3),
            ("x", "y", "$3 / $15", "1,234,567", "$12,345.67", "z")]
    text = render_table(columns, rows, width=width)
    lines = text.splitlines()
    if width >= 60:  # below that even the numbers alone do not fit: they stay whole regardless
        assert all(len(line) <= width for line in lines), text
    for number in ("$15 / $75", "385", "$0.0007", "$3 / $15", "1,234,567", "$12,345.67"):
        assert number in text, (number, text)
    assert ("NOTE" in lines[0]) == (width >= 120)  # the least important column goes first


def test_a_cut_text_column_says_so() -> None:
    text = render_table([Column("MODEL"), Column("N", numeric=True)], [("a" * 100, "7")], width=40)
    assert "…" in text and text.splitlines()[1].endswith("7")


COMMANDS = [["status"], ["costs"], ["usage"], ["usage", "--by", "use-case"], ["rank"], ["recommend"],
            ["savings"], ["decisions"], ["ab"], ["key", "list"], ["dryrun", str(SAMPLE_FLEET)]]


@pytest.mark.parametrize("columns", ["80", "120"])
def test_cli_tables_fit_and_keep_their_numbers(columns: str, isolated_home: Path, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--calls", "3000"]) == 0
    monkeypatch.setenv("COLUMNS", columns)
    for command in COMMANDS:
        capsys.readouterr()
        assert main(["--demo", *command]) == 0, command
        out = capsys.readouterr().out
        too_wide = [line for line in out.splitlines() if len(line) > int(columns)]
        assert not too_wide, (command, too_wide)
        assert not re.search(r"\d…|\$…", out), (command, out)
    capsys.readouterr()
    assert main(["--demo", "usage", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["rows"]
    assert main(["--demo", "usage"]) == 0
    text = capsys.readouterr().out
    for row in rows:
        calls = f"{row['calls']:,}"
        assert re.search(rf"\b{re.escape(calls)}\b", text)
        assert f"{row['input_tokens']:,}" in text or columns == "80"


def test_an_unknown_option_shows_that_commands_usage(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["costs", "--bogus"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: fleetui costs ") and "fleetui costs: error: unrecognized arguments: --bogus" in err
    with pytest.raises(SystemExit):
        main(["key", "set", "NAME", "--zz"])
    assert capsys.readouterr().err.startswith("usage: fleetui key set ")
