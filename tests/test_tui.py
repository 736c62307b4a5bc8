"""The Textual app, driven with Pilot: each flow a user takes."""

from __future__ import annotations

import difflib

import shutil
from typing import Any
from pathlib import Path

import pytest
from textual.widgets import Button, DataTable, Input, Select, Static

from fleetui.demo import generate_demo
from fleetui.config.fleetfile import FleetSource, load_fleet
from fleetui.store import Store
from fleetui.tui.app import FleetApp
from fleetui.tui.data import Session
from fleetui.tui.model_detail import ModelDetail
from fleetui.tui.test_panel import TrialPanel
from fleetui.tui.themes import load_themes
from tests.conftest import SAMPLE_FLEET
from tests.fakeproviders import REPLY, FakeProviders

SIZE = (120, 40)


@pytest.fixture
def demo_session(tmp_path: Path) -> Session:
    fleet_file = tmp_path / "fleet.toml"
    shutil.copy(SAMPLE_FLEET, fleet_file)
    db = tmp_path / "demo.db"
    generate_demo(load_fleet(fleet_file), db, calls=3000)
    return Session(FleetSource(fleet_file, "--config"), db, demo=True)


async def settle(app: FleetApp, pilot: object, timeout: float = 10.0) -> None:
    """Wait until no worker is pending or running (a cancelled exclusive one counts as done)."""
    from textual.worker import WorkerState

    waited = 0.0
    while waited < timeout:
        await pilot.pause(0.05)  # type: ignore[attr-defined]
        waited += 0.05
        if not any(w.state in (WorkerState.PENDING, WorkerState.RUNNING) for w in app.workers):
            await pilot.pause(0.05)  # type: ignore[attr-defined]
            return
    raise AssertionError("workers still running")


async def open_editor(app: FleetApp, pilot: object, key: str, kind: type, table_id: str, row: int | str) -> Any:
    """Open an editor screen with its key and pick a row (an index, or a row key) in its table."""
    await settle(app, pilot)
    await pilot.press(key)  # type: ignore[attr-defined]
    await pilot.pause(0.2)  # type: ignore[attr-defined]
    editor = app.screen
    assert isinstance(editor, kind)
    table = editor.query_one(table_id, DataTable)
    table.focus()
    table.move_cursor(row=row if isinstance(row, int) else table.get_row_index(row))
    await pilot.pause(0.1)  # type: ignore[attr-defined]
    return editor


async def test_fleet_tab_lists_models_and_filters(demo_session: Session) -> None:
    app = FleetApp(demo_session, refresh_s=0)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        table = app.query_one("#fleet-table", DataTable)
        assert table.row_count == 11
        banner = app.query_one("#demo-banner", Static)
        assert "DEMO DATA" in str(banner.render())
        assert app.screen.scroll_y == 0 and banner.region.y == 1, "the banner stays on screen under the title"
        assert "TODAY" in str(app.query_one("#fleet-totals", Static).render())
        await pilot.press("slash")
        await pilot.press(*"gemini")
        await pilot.pause(0.05)
        assert table.row_count == 2
        await pilot.press("escape")
        assert table.row_count == 11


async def test_model_detail_disable_saves_the_fleet_file(demo_session: Session) -> None:
    app = FleetApp(demo_session, refresh_s=0)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("enter")
        await settle(app, pilot)
        assert isinstance(app.screen, ModelDetail)
        model_id = app.screen.model_id
        assert "Coding" in str(app.screen.query_one("#detail-caps", Static).render())
        await pilot.press("d")
        await pilot.pause(0.1)
        assert load_fleet(demo_session.source.path).model(model_id).enabled is False
        assert (demo_session.source.path.parent / "fleet.toml.bak").exists()
        await pilot.press("escape")
        assert not isinstance(app.screen, ModelDetail)


async def test_remove_asks_and_refuses_when_a_rule_needs_the_model(demo_session: Session) -> None:
    app = FleetApp(demo_session, refresh_s=0)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        app.push_screen(ModelDetail(demo_session, "gemini-pro"))  # the long-documents rule names it
        await settle(app, pilot)
        await pilot.press("x")
        await pilot.pause(0.1)
        await pilot.click("#yes")
        await pilot.pause(0.2)
        assert "gemini-pro" in {m.id for m in load_fleet(demo_session.source.path).models}


def fake_fleet(tmp_path: Path, fake: FakeProviders) -> Path:
    path = tmp_path / "fake.toml"
    path.write_text(
        f'[[providers]]\nid = "local"\nkind = "ollama"\nbase_url = "{fake.url("ollama")}"\n'
        f'[[models]]\nid = "tiny"\nname = "Tiny"\nprovider = "local"\nmodel = "fake-small"\n'
        f'price = {{ input = 1.0, output = 2.0 }}\n'
    )
    return path


async def test_test_panel_streams_a_reply_and_logs_it(tmp_path: Path, fake_providers: FakeProviders) -> None:
    session = Session(FleetSource(fake_fleet(tmp_path, fake_providers), "--config"), tmp_path / "s.db", demo=False)
    app = FleetApp(session, refresh_s=0)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        app.push_screen(TrialPanel(session, "tiny"))
        await pilot.pause(0.1)
        await pilot.press(*"hello there", "enter")
        await settle(app, pilot)
        assert str(app.screen.query_one("#test-reply", Static).render()) == REPLY
        stats = str(app.screen.query_one("#test-stats", Static).render())
        assert "first token" in stats and "out tokens" in stats and "$" in stats
    with Store.open(tmp_path / "s.db") as store:
        [row] = list(store.db.query("SELECT source, model_id, ok, sent FROM trials"))
        assert store.count_calls() == 0, "a trial is not a call"
    assert row == {"source": "fleetui-test", "model_id": "tiny", "ok": 1, "sent": 1}


async def test_add_model_validates_then_saves(tmp_path: Path, fake_providers: FakeProviders) -> None:
    session = Session(FleetSource(fake_fleet(tmp_path, fake_providers), "--config"), tmp_path / "s.db", demo=False)
    app = FleetApp(session, refresh_s=0)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("5")
        await pilot.pause(0.1)
        app.query_one("#add-provider", Select).value = "local"
        app.query_one("#add-id", Input).value = "bad id!"
        await pilot.pause(0.1)
        assert "id" in str(app.query_one("#add-errors", Static).render())
        app.query_one("#add-id", Input).value = "tiny-2"
        app.query_one("#add-model", Input).value = "fake-large"
        app.query_one("#add-coding", Input).value = "88"
        await pilot.pause(0.1)
        assert "looks valid" in str(app.query_one("#add-errors", Static).render())
        app.query_one("#add-save", Button).press()
        await pilot.pause(0.2)
    saved = load_fleet(session.source.path)
    assert saved.model("tiny-2").capabilities.coding == 88 and saved.model("tiny-2").provider == "local"


async def test_sample_fleet_is_never_overwritten(tmp_path: Path) -> None:
    session = Session(FleetSource(SAMPLE_FLEET, "sample"), tmp_path / "s.db", demo=True)
    before = SAMPLE_FLEET.read_text()
    app = FleetApp(session, refresh_s=0)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        app.push_screen(ModelDetail(session, "gpt-4"))
        await settle(app, pilot)
        await pilot.press("d")
        await pilot.pause(0.1)
    assert SAMPLE_FLEET.read_text() == before


async def test_recommendation_dismissed_from_the_tab(demo_session: Session) -> None:
    app = FleetApp(demo_session, refresh_s=0)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("4")
        await settle(app, pilot)
        table = app.query_one("#recs-table", DataTable)
        assert table.row_count > 0
        first = app.query_one("RecommendationsTab").recs[0].id
        table.focus()
        await pilot.press("x")
        await settle(app, pilot)
    with Store.open(demo_session.db_path) as store:
        assert store.db.execute("SELECT status FROM recommendations WHERE id = ?", [first]).fetchone()[0] == "dismissed"


async def test_every_tab_loads_without_errors(demo_session: Session) -> None:
    app = FleetApp(demo_session, refresh_s=0)
    async with app.run_test(size=SIZE) as pilot:
        for key in "23451":
            await pilot.press(key)
            await settle(app, pilot)
        assert app.query_one("#usage-models", DataTable).row_count > 0
        assert app.query_one("#costs-models", DataTable).row_count > 0
        assert "budget $500" in str(app.query_one("#costs-summary", Static).render())


def test_bad_theme_is_reported_and_skipped(tmp_path: Path) -> None:
    (tmp_path / "good.toml").write_text('name = "mine"\nprimary = "#336699"\n')
    (tmp_path / "bad.toml").write_text('name = "oops"\nprimary = "not-a-colour"\n')
    (tmp_path / "broken.toml").write_text('name = "x\n')
    themes, problems = load_themes([tmp_path])
    assert [t.name for t in themes] == ["mine"]
    assert len(problems) == 2 and any("not a colour" in p for p in problems)
    builtin, builtin_problems = load_themes()
    assert {"fleet-night", "fleet-day"} <= {t.name for t in builtin} and not builtin_problems


async def test_apply_a_recommendation_from_the_tab(demo_session: Session) -> None:
    app = FleetApp(demo_session, refresh_s=0)
    before = demo_session.source.path.read_text()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("4")
        await settle(app, pilot)
        tab = app.query_one("RecommendationsTab")
        table = app.query_one("#recs-table", DataTable)
        table.focus()
        index = next(i for i, r in enumerate(tab.recs) if r.kind == "cheaper_model")
        table.move_cursor(row=index)
        rec = tab.recs[index]
        await pilot.press("p")
        await pilot.pause(0.2)
        assert "+[[rules]]" in str(app.screen.query_one("Static").render()) or app.screen.diff
        app.screen.query_one("#apply-yes", Button).press()
        await settle(app, pilot)
    after = demo_session.source.path.read_text()
    # Only lines added, the rule after the last rule and before the budget section's banner.
    added = [line for line in difflib.ndiff(before.splitlines(), after.splitlines()) if line[:2] in ("+ ", "- ")]
    assert added and all(line.startswith("+ ") for line in added)
    assert f'+ model = "{rec.recommended_model}"' in added
    lines = after.splitlines()
    rule = max(i for i, line in enumerate(lines) if line == "[[rules]]")
    assert lines[rule + 1].startswith('name = "use-') and rule < lines.index("[budget]")
    assert demo_session.text == after, "the session read the file again, so its next save is not refused"
    with Store.open(demo_session.db_path) as store:
        assert store.db.execute("SELECT status FROM recommendations WHERE id = ?", [rec.id]).fetchone()[0] == "applied"


async def test_edit_a_rule_with_live_validation_and_a_sample_prompt(demo_session: Session) -> None:
    from fleetui.tui.rules_editor import RulesEditor

    app = FleetApp(demo_session, refresh_s=0)
    async with app.run_test(size=SIZE) as pilot:
        editor = await open_editor(app, pilot, "e", RulesEditor, "#rules-table", 1)  # heartbeats
        when = editor.query_one("#rule-when", Input)
        assert when.value == 'task == "heartbeat"'
        when.value = 'tsk == "heartbeat"'
        await pilot.pause(0.1)
        assert "did you mean 'task'" in str(editor.query_one("#rule-check", Static).render())
        when.value = 'task in ["heartbeat", "ping"]'
        editor.query_one("#rule-model", Input).value = "gpt-4o-mini"
        editor.query_one("#rule-role", Input).value = ""
        assert editor.update_rule()
        editor.query_one("#rule-try", Input).value = "are you up? || task=ping"
        await pilot.pause(0.1)
        assert "gpt-4o-mini" in str(editor.query_one("#rule-hit", Static).render())
        await pilot.press("ctrl+s")
        await pilot.pause(0.2)
    saved = load_fleet(demo_session.source.path)
    rule = next(r for r in saved.rules if r.name == "heartbeats")
    assert rule.when == 'task in ["heartbeat", "ping"]' and rule.model_id == "gpt-4o-mini"


async def test_edit_a_model_keeps_what_the_form_does_not_show(demo_session: Session) -> None:
    from fleetui.tui.model_detail import EditModel

    app = FleetApp(demo_session, refresh_s=0)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        app.push_screen(ModelDetail(demo_session, "local-llama"))
        await settle(app, pilot)
        await pilot.press("ctrl+e")
        await pilot.pause(0.2)
        assert isinstance(app.screen, EditModel)
        assert app.screen.query_one("#add-model", Input).value == "llama3.2:3b"
        app.screen.query_one("#add-name", Input).value = "Llama (renamed)"
        app.screen.query_one("#add-speed", Input).value = "80"
        await pilot.pause(0.1)
        app.screen.query_one("#add-save", Button).press()
        await pilot.pause(0.3)
        assert isinstance(app.screen, ModelDetail)
    model = load_fleet(demo_session.source.path).model("local-llama")
    assert model.name == "Llama (renamed)" and model.capabilities.speed == 80
    assert model.price is not None and model.price.input == 0.0 and "local" in model.tags


async def test_usage_tab_shows_how_each_ab_test_is_doing(demo_session: Session) -> None:
    import time

    from fleetui.store import CallRecord

    fleet_file = demo_session.source.path
    fleet_file.write_text(fleet_file.read_text() + '\n[[ab_tests]]\nname = "local-vs-mini"\nrule = "casual-to-local"\n'
                          'arms = { "local-llama" = 1, "gpt-4o-mini" = 1 }\nmin_samples = 20\n')
    demo_session.fleet = load_fleet(fleet_file)
    now = time.time() - 60
    with Store.open(demo_session.db_path) as store:
        store.insert_calls(CallRecord(ts=now, model_id=model, route="ab:local-vs-mini", success=i % 10 < rate,
                                      user_id=f"u{i}")
                           for model, rate in (("local-llama", 6), ("gpt-4o-mini", 10)) for i in range(60))
    app = FleetApp(demo_session, refresh_s=0)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2")
        await settle(app, pilot)
        text = str(app.query_one("#usage-routing", Static).render())
    assert "A/B local-vs-mini: gpt-4o-mini 100.0% (n=60) vs local-llama 60.0% (n=60)" in text
    assert "— winner gpt-4o-mini (p=" in text


async def test_add_a_local_model_with_its_own_keyless_provider_and_prices(tmp_path: Path) -> None:
    """A local server gets a provider of its own (no key, so none is sent), and prices; the
    emptied form then waits for typing before it judges anything."""
    from fleetui.tui.add_model import NEW_PROVIDER

    path = tmp_path / "fleet.toml"
    path.write_text('[[providers]]\nid = "openai"\nkind = "openai-compatible"\nkey = "OPENAI_API_KEY"\n'
                    '[[models]]\nid = "mini"\nname = "Mini"\nprovider = "openai"\nmodel = "gpt-4o-mini"\n')
    session = Session(FleetSource(path, "--config"), tmp_path / "s.db", demo=False)
    app = FleetApp(session, refresh_s=0)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("5")
        await settle(app, pilot)
        app.query_one("#add-provider", Select).value = NEW_PROVIDER
        await pilot.pause(0.05)
        assert app.query_one("#add-new-provider").display
        for field, value in (("new_id", "my-vllm"), ("new_base_url", "http://127.0.0.1:8000/v1"), ("id", "qwen"),
                             ("model", "qwen2.5-7b"), ("price_input", "0.1")):
            app.query_one(f"#add-{field}", Input).value = value
        await pilot.pause(0.05)
        assert "both prices" in str(app.query_one("#add-errors", Static).render())
        app.query_one("#add-price_input", Input).value = "abc"
        app.query_one("#add-price_output", Input).value = "0.4"
        await pilot.pause(0.05)
        assert "not 'abc'" in str(app.query_one("#add-errors", Static).render())
        app.query_one("#add-price_input", Input).value = "0"
        await pilot.pause(0.05)
        assert "looks valid" in str(app.query_one("#add-errors", Static).render())
        app.query_one("#add-save", Button).press()
        await pilot.pause(0.2)
        assert str(app.query_one("#add-errors", Static).render()).strip() == "", "no errors before any typing"
        assert app.query_one("#add-id", Input).value == ""
    saved = load_fleet(path)
    provider = saved.provider("my-vllm")
    assert provider.key is None and provider.base_url == "http://127.0.0.1:8000/v1"
    model = saved.model("qwen")
    assert model.provider == "my-vllm" and model.price is not None and (model.price.input, model.price.output) == (0, 0.4)
    assert saved.key_ref_of(model) is None, "a keyless server is sent no key, not OPENAI_API_KEY"


def two_model_session(tmp_path: Path, fake: FakeProviders, model_id: str, model: str, extra: str = "") -> Session:
    """The fake fleet's tiny model and one more, `model` on the fake server."""
    path = fake_fleet(tmp_path, fake)
    path.write_text(path.read_text() + f'[[models]]\nid = "{model_id}"\nname = "{model_id.title()}"\n'
                    f'provider = "local"\nmodel = "{model}"\n{extra}')
    return Session(FleetSource(path, "--config"), tmp_path / "s.db", demo=False)


async def test_compare_two_models_side_by_side(tmp_path: Path, fake_providers: FakeProviders) -> None:
    from textual.widgets import SelectionList

    from fleetui.tui.compare import ComparePanel

    session = two_model_session(tmp_path, fake_providers, "big", "fake-large", "price = { input = 2.0, output = 4.0 }\n")
    app = FleetApp(session, refresh_s=0)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        await pilot.press("c")  # the highlighted model (Big, sorted by name) comes ticked
        await settle(app, pilot)
        panel = app.screen
        assert isinstance(panel, ComparePanel)
        picks = panel.query_one("#compare-models", SelectionList)
        assert list(picks.selected) == ["big"]
        panel.query_one("#compare-prompt", Input).focus()
        await pilot.press(*"hi", "enter")
        assert "at least two" in str(panel.query_one("#compare-status", Static).render())
        picks.select_all()
        panel.query_one("#compare-prompt", Input).focus()
        await pilot.press("enter")
        await settle(app, pilot)
        replies = [str(s.render()) for s in panel.query(".compare-reply").results(Static)]
        assert len(replies) == 2 and all(REPLY in r for r in replies)
        assert "2 of 2 answered" in str(panel.query_one("#compare-status", Static).render())
    with Store.open(tmp_path / "s.db") as store:
        rows = list(store.db.query("SELECT model_id, sent FROM trials ORDER BY model_id"))
        calls = store.db.execute("SELECT COUNT(*) FROM calls").fetchone()[0]
    assert [(r["model_id"], r["sent"]) for r in rows] == [("big", 1), ("tiny", 1)]
    assert calls == 0  # trials are kept apart: no usage, cost or ranking counts them


async def test_closing_compare_before_the_replies_come_is_no_crash(tmp_path: Path, fake_providers: FakeProviders) -> None:
    """Esc while a slow model is still answering: the replies arrive at a closed panel, and the
    app carries on (the trials are still logged)."""
    from fleetui.tui.compare import ComparePanel

    fake_providers.slow_s = 1.0
    session = two_model_session(tmp_path, fake_providers, "slowpoke", "slow")
    app = FleetApp(session, refresh_s=0)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        panel = ComparePanel(session, ["tiny", "slowpoke"])
        await app.push_screen(panel)
        panel.query_one("#compare-prompt", Input).focus()
        await pilot.press(*"hi", "enter")
        await pilot.press("escape")
        assert not isinstance(app.screen, ComparePanel)
        from tests.test_tui_keys import until

        def logged() -> int:
            with Store.open(tmp_path / "s.db") as store:
                return int(store.db.execute("SELECT COUNT(*) FROM trials").fetchone()[0])

        await until(pilot, lambda: logged() == 2, "both trials logged")
        await pilot.pause(0.3)  # the replies' arrival at the closed panel has been handled
        assert app.is_running and app.return_code is None
