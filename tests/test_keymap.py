"""The keymap file: the README's form works, and an unknown binding id is named, not ignored."""

from __future__ import annotations

from pathlib import Path

import pytest

from fleetui.cli.context import CliError
from fleetui.cli.tui import load_keymap
from fleetui.config.keymap import KeymapError, parse_keymap
from fleetui.tui.data import Session
from fleetui.tui.keymap import binding_ids
from tests.test_tui import SIZE, demo_session, settle  # noqa: F401  (fixture)

KNOWN = binding_ids()


def test_every_screen_s_binding_ids_are_known() -> None:
    assert {"fleet.filter", "recs.dismiss", "rules.save", "roles.new", "tab.fleet", "detail.toggle"} <= KNOWN


def test_the_readme_form_a_quoted_id_and_a_table_all_work() -> None:
    text = 'fleet.filter = "f"\n"recs.dismiss" = "z"\n\n[rules]\nsave = "ctrl+w"\n'
    assert parse_keymap(text, KNOWN) == {"fleet.filter": "f", "recs.dismiss": "z", "rules.save": "ctrl+w"}


def test_unknown_ids_and_wrong_values_are_named_with_their_place() -> None:
    text = 'fleet.filtr = "f"\nrecs.dismiss = 5\nnothing.like.this = "q"\n'
    with pytest.raises(KeymapError) as caught:
        parse_keymap(text, KNOWN, "keymap.toml")
    first, second, third = caught.value.problems
    assert first == "keymap.toml:1:7: fleet.filtr: no key binding has this id; did you mean 'fleet.filter'?"
    assert second.startswith("keymap.toml:2:6: recs.dismiss: expected keys as a string") and "got a number" in second
    assert third.startswith("keymap.toml:3:14: nothing.like.this: no key binding has this id; the ids are: ")
    assert "fleet.filter" in third


def test_broken_toml_says_where() -> None:
    with pytest.raises(KeymapError, match=r"^keymap.toml:1:18: invalid TOML: .*; write one binding-id"):
        parse_keymap('fleet.filter = "f', KNOWN)
    with pytest.raises(KeymapError, match="nested more than 32 levels"):
        parse_keymap("x = " + "[" * 100 + "]" * 100, KNOWN)


def test_fleetui_tui_stops_on_a_bad_keymap_with_exit_1(isolated_home: Path) -> None:
    keymap = isolated_home / "config" / "keymap.toml"
    keymap.parent.mkdir(parents=True)
    keymap.write_text('fleet.filter = "f"\n')
    assert load_keymap() == {"fleet.filter": "f"}
    keymap.write_text('fleet.fliter = "f"\n')
    with pytest.raises(CliError) as caught:
        load_keymap()
    assert caught.value.exit_code == 1 and "did you mean 'fleet.filter'?" in str(caught.value)


async def test_a_remapped_key_works_in_the_app(demo_session: Session) -> None:  # noqa: F811
    from textual.widgets import Input

    from fleetui.tui.app import FleetApp

    app = FleetApp(demo_session, refresh_s=0, keymap=parse_keymap('fleet.filter = "f"\n', KNOWN))
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("f")
        await pilot.pause(0.1)
        assert isinstance(app.focused, Input)
