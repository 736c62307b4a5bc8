"""The roles editor, and removing rules: Pilot flows on a copy of the commented sample fleet."""

from __future__ import annotations

from textual.widgets import Button, DataTable, Input, Static

from fleetui.config.fleetfile import load_fleet
from fleetui.tui.app import FleetApp
from fleetui.tui.data import Session
from fleetui.tui.model_detail import Confirm
from fleetui.tui.roles_editor import RolesEditor
from fleetui.tui.rules_editor import RulesEditor
from tests.test_tui import SIZE, demo_session, open_editor  # noqa: F401  (fixture)


def _comments(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.lstrip().startswith("#")]


async def test_rename_a_role_and_change_who_holds_it(demo_session: Session) -> None:  # noqa: F811
    before = demo_session.source.path.read_text()
    app = FleetApp(demo_session, refresh_s=0)
    async with app.run_test(size=SIZE) as pilot:
        editor = await open_editor(app, pilot, "o", RolesEditor, "#roles-table", "fast-tasks")
        assert editor.query_one("#role-models", Input).value == "claude-haiku, gpt-4o-mini"
        editor.query_one("#role-id", Input).value = "quick-tasks"
        editor.query_one("#role-description", Input).value = "heartbeats and one-liners"
        editor.query_one("#role-models", Input).value = "gpt-4o-mini, gemini-flash"
        assert editor.update_role()
        await pilot.press("ctrl+s")
        await pilot.pause(0.2)
    fleet = load_fleet(demo_session.source.path)
    role = next(r for r in fleet.roles if r.id == "quick-tasks")
    assert role.description == "heartbeats and one-liners"
    assert {m.id for m in fleet.models_in_role("quick-tasks")} == {"gpt-4o-mini", "gemini-flash"}
    assert all(a.role != "fast-tasks" for m in fleet.models for a in m.roles)
    # The rule that routed to the old name follows the rename.
    assert next(r for r in fleet.rules if r.name == "heartbeats").role == "quick-tasks"
    # Edited in place: the sample's comments are all still there.
    assert set(_comments(before)) <= set(_comments(demo_session.source.path.read_text()))


async def test_role_editor_refuses_what_would_break_the_fleet(demo_session: Session) -> None:  # noqa: F811
    app = FleetApp(demo_session, refresh_s=0)
    async with app.run_test(size=SIZE) as pilot:
        editor = await open_editor(app, pilot, "o", RolesEditor, "#roles-table", "fast-tasks")
        editor.query_one("#role-models", Input).value = "gpt-4o-mini, gpt-9"
        assert not editor.update_role()
        assert "no model 'gpt-9' in the fleet" in str(editor.query_one("#role-check", Static).render())
        editor.query_one("#role-models", Input).value = "gpt-4o-mini"
        editor.query_one("#role-id", Input).value = "Not An Id!"
        assert not editor.update_role()
        await pilot.press("x")  # fast-tasks is the target of the heartbeats rule
        await pilot.pause(0.1)
        assert "rules heartbeats route to fast-tasks" in str(editor.query_one("#role-check", Static).render())
        await pilot.press("n")
        for field, value in (("id", "vision"), ("name", "Again")):
            editor.query_one(f"#role-{field}", Input).value = value
        assert not editor.update_role()
        assert "exists already" in str(editor.query_one("#role-check", Static).render())
        assert not editor.dirty
    assert load_fleet(demo_session.source.path) == demo_session.fleet


async def test_remove_a_rule_and_leaving_unsaved_asks_first(demo_session: Session) -> None:  # noqa: F811
    app = FleetApp(demo_session, refresh_s=0)
    async with app.run_test(size=SIZE) as pilot:
        editor = await open_editor(app, pilot, "e", RulesEditor, "#rules-table", 1)
        name = editor.fleet.rules[1].name
        await pilot.press("x")
        await pilot.pause(0.1)
        assert name not in [r.name for r in editor.fleet.rules] and editor.dirty
        await pilot.press("escape")
        await pilot.pause(0.2)
        assert isinstance(app.screen, Confirm)  # unsaved: asks before leaving
        app.screen.query_one("#no", Button).press()
        await pilot.pause(0.2)
        assert app.screen is editor
        await pilot.press("ctrl+s")
        await pilot.pause(0.2)
        await pilot.press("escape")
        await pilot.pause(0.2)
        assert not isinstance(app.screen, (RulesEditor, Confirm))  # saved: leaves at once
    assert name not in [r.name for r in load_fleet(demo_session.source.path).rules]


async def test_rules_split_by_an_ab_test_keep_it_when_renamed_and_are_not_removed(demo_session: Session) -> None:  # noqa: F811
    path = demo_session.source.path
    path.write_text(path.read_text() + '\n[[ab_tests]]\nname = "haiku-vs-flash"\nrule = "heartbeats"\n'
                    'arms = { "claude-haiku" = 1, "gemini-flash" = 1 }\n')
    demo_session.reload()
    app = FleetApp(demo_session, refresh_s=0)
    async with app.run_test(size=SIZE) as pilot:
        editor = await open_editor(app, pilot, "e", RulesEditor, "#rules-table", 1)
        assert editor.fleet.rules[1].name == "heartbeats"
        table = editor.query_one("#rules-table", DataTable)
        assert str(table.get_row_at(1)[3]) == "A/B role:fast-tasks"
        assert "split by A/B test haiku-vs-flash" in str(editor.query_one("#rule-ab", Static).render())
        await pilot.press("x")
        await pilot.pause(0.1)
        assert "rule heartbeats is split by A/B test haiku-vs-flash" in str(editor.query_one("#rule-check", Static).render())
        assert "heartbeats" in [r.name for r in editor.fleet.rules] and not editor.dirty
        editor.query_one("#rule-name", Input).value = "pings"
        assert editor.update_rule()
        await pilot.press("ctrl+s")
        await pilot.pause(0.2)
    fleet = load_fleet(path)
    assert [t.rule for t in fleet.ab_tests] == ["pings"] and "heartbeats" not in [r.name for r in fleet.rules]


async def type_a_new_rule_and_press_ctrl_s(session: Session, fields: dict[str, str]) -> tuple[RulesEditor, str]:
    """`n`, fill the form, ctrl+s from the table: no "Update rule" in between. The editor, and
    the check line under the form as shown then."""
    app = FleetApp(session, refresh_s=0)
    async with app.run_test(size=SIZE) as pilot:
        editor = await open_editor(app, pilot, "e", RulesEditor, "#rules-table", 0)
        await pilot.press("n")
        for field, value in fields.items():
            editor.query_one(f"#rule-{field}", Input).value = value
        editor.query_one("#rules-table", DataTable).focus()
        await pilot.press("ctrl+s")
        await pilot.pause(0.2)
        assert isinstance(editor, RulesEditor)
        return editor, str(editor.query_one("#rule-check", Static).render())


async def test_a_rule_typed_after_n_is_saved_by_ctrl_s_without_update(demo_session: Session) -> None:  # noqa: F811
    path = demo_session.source.path
    before = path.read_text()
    editor, _ = await type_a_new_rule_and_press_ctrl_s(
        demo_session, {"name": "night-batch", "when": "hour < 6", "model": "deepseek-v3"})
    assert not editor.dirty
    fleet = load_fleet(path)
    rule = next(r for r in fleet.rules if r.name == "night-batch")
    assert (rule.when, rule.model_id, rule.priority) == ("hour < 6", "deepseek-v3", 100)
    assert set(_comments(before)) <= set(_comments(path.read_text()))


async def test_an_invalid_form_stops_ctrl_s_and_writes_nothing(demo_session: Session) -> None:  # noqa: F811
    path = demo_session.source.path
    before = path.read_text()
    editor, check = await type_a_new_rule_and_press_ctrl_s(
        demo_session, {"name": "broken", "when": "taks == 1", "model": "deepseek-v3"})
    assert "unknown attribute 'taks'" in check and editor.dirty is False
    assert path.read_text() == before and not path.with_name("fleet.toml.bak").exists()


async def test_a_file_broken_on_disk_is_not_overwritten_and_can_be_reloaded(demo_session: Session) -> None:  # noqa: F811
    from fleetui.tui.editor_base import FileChangedScreen

    path = demo_session.source.path
    app = FleetApp(demo_session, refresh_s=0)
    async with app.run_test(size=SIZE) as pilot:
        editor = await open_editor(app, pilot, "e", RulesEditor, "#rules-table", 1)
        assert editor.fleet.rules[1].name == "heartbeats"
        editor.query_one("#rule-priority", Input).value = "21"
        assert editor.update_rule()
        # Meanwhile another editor leaves the file half-typed: an unclosed string.
        broken = path.read_text().replace('name = "sample fleet"', 'name = "sample fleet')
        path.write_text(broken)
        await pilot.press("ctrl+s")
        await pilot.pause(0.2)
        assert isinstance(app.screen, FileChangedScreen)
        assert path.read_text() == broken, "the save wrote nothing"
        assert not path.with_name("fleet.toml.bak").exists()
        await pilot.click("#changed-diff")
        await pilot.pause(0.1)
        shown = str(app.screen.query_one("#file-changed-diff", Static).render())
        assert '+name = "sample fleet' in shown and '-name = "sample fleet"' in shown
        await pilot.click("#changed-reload")
        await pilot.pause(0.2)
        assert app.screen is editor and editor.dirty, "a broken file is not loaded; the edits stay"
        # Fixed on disk, with a change of its own: reloading shows the file's rules.
        path.write_text(broken.replace('name = "sample fleet', 'name = "sample fleet"').replace(
            'name = "heartbeats"', 'name = "pings"'))
        await pilot.press("ctrl+s")
        await pilot.pause(0.2)
        await pilot.click("#changed-reload")
        await pilot.pause(0.2)
        assert app.screen is editor and not editor.dirty
        assert "pings" in [r.name for r in editor.fleet.rules] and demo_session.fleet == load_fleet(path)
