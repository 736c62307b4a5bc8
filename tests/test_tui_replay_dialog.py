"""Verify from the Recommendations tab: the plan first, then the replay in a worker with progress."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from textual.widgets import Button, DataTable, Static

from fleetui.config.fleetfile import FleetSource
from fleetui.providers import RetryPolicy
from fleetui.replay import ReplaySettings
from fleetui.store import Store
from fleetui.store import replays as saved
from fleetui.tui.app import FleetApp
from fleetui.tui.data import Session
from fleetui.tui.replay_dialog import ReplayDialog
from tests.fakeproviders import FakeProviders
from tests.test_replay import FLEET, _log, fake  # noqa: F401  (the scripted providers fixture)
from tests.test_tui import SIZE, demo_session, settle  # noqa: F401  (fixture)


async def _until(pilot: object, check: object, timeout: float = 15.0) -> None:
    waited = 0.0
    while not check():  # type: ignore[operator]
        await pilot.pause(0.05)  # type: ignore[attr-defined]
        waited += 0.05
        if waited > timeout:
            raise AssertionError("timed out waiting for the screen")


@pytest.fixture
def replay_session(tmp_path: Path, fake: FakeProviders) -> Session:  # noqa: F811
    path = tmp_path / "fleet.toml"
    path.write_text(FLEET.format(openai=fake.url("openai"), anthropic=fake.url("anthropic"), judge_enabled="true"))
    db = tmp_path / "calls.db"
    with Store.open(db) as store:
        _log(store)
        store.db["recommendations"].insert({
            "id": "rec-test", "created_ts": time.time(), "updated_ts": time.time(), "kind": "cheaper_model",
            "severity": "high", "title": "Use Tiny Good for qa", "sentence": "…", "use_case": "qa",
            "current_model": "big", "recommended_model": "tiny-good", "numbers": "{}", "status": "new",
        })
    return Session(FleetSource(path, "--config"), db, demo=False)


def verify_screen(session: Session) -> ReplayDialog:
    """The dialog for the test recommendation: Tiny Good in place of Big on qa, judged by Judge."""
    settings = ReplaySettings(current="big", use_case="qa", candidates=("tiny-good",), judge="judge", sample=6,
                              budget_usd=1.0, recommendation_id="rec-test")
    return ReplayDialog(session, settings, "Use Tiny Good for qa", {"retry": RetryPolicy(max_retries=0)})


async def test_verify_shows_the_plan_then_replays_with_progress(replay_session: Session) -> None:
    app = FleetApp(replay_session, refresh_s=0)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        screen = verify_screen(replay_session)
        app.push_screen(screen)
        await pilot.pause(0.1)
        start = screen.query_one("#verify-start", Button)
        await _until(pilot, lambda: not start.disabled)
        plan = str(screen.query_one("#verify-plan", Static).render())
        assert "6 past prompts of big on qa" in plan and "judge: judge" in plan and "tiny-good" in plan
        assert "$1.00" in str(start.label)
        start.press()
        await _until(pilot, lambda: screen.report is not None)
        status = str(screen.query_one("#verify-status", Static).render())
        assert status.startswith("Switching from Big Model to Tiny Good reduces cost by")
        assert "n=6" in status
        table = screen.query_one("#verify-table", DataTable)
        assert table.row_count == 1 and table.get_row_at(0)[:2] == ["tiny-good", "✓ passes"]
        assert "Verification cost" in str(screen.query_one("#verify-report", Static).render())
        screen.query_one("#verify-close", Button).press()
        await pilot.pause(0.1)
        assert not isinstance(app.screen, ReplayDialog)
    with Store.open(replay_session.db_path) as store:
        run = saved.runs(store)[0]
        assert run["recommendation_id"] == "rec-test" and run["verdict"] == "verified"
        assert store.db.execute("SELECT verified_by FROM recommendations WHERE id = 'rec-test'").fetchone()[0] == run["run_id"]


async def test_verify_can_be_cancelled_and_keeps_what_was_paid(replay_session: Session, fake: FakeProviders) -> None:  # noqa: F811
    app = FleetApp(replay_session, refresh_s=0)
    settings = ReplaySettings(current="big", use_case="qa", candidates=("slowpoke",), judge="judge", sample=8,
                              budget_usd=1.0, concurrency=1)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        screen = ReplayDialog(replay_session, settings, "slow one")
        app.push_screen(screen)
        await pilot.pause(0.1)
        start = screen.query_one("#verify-start", Button)
        await _until(pilot, lambda: not start.disabled)
        start.press()
        # Any count between the first answer and the last: under load two progress updates can
        # land in one turn of the app's loop, so waiting for exactly "1/8" could miss it.
        await _until(pilot, lambda: re.search(r"round 1 · slowpoke: [1-7]/8",
                                              str(screen.query_one("#verify-status", Static).render())) is not None)
        screen.query_one("#verify-close", Button).press()  # labelled Cancel while running
        await _until(pilot, lambda: "Stopped after" in str(screen.query_one("#verify-status", Static).render()))
        assert str(screen.query_one("#verify-close", Button).label) == "Close"
    with Store.open(replay_session.db_path) as store:
        assert saved.runs(store)[0]["status"] == "stopped"
        assert store.db.execute("SELECT COUNT(*) FROM replay_answers WHERE model_id = 'slowpoke'").fetchone()[0] >= 1


async def test_verify_on_demo_data_without_keys_says_what_to_set(demo_session: Session) -> None:  # noqa: F811
    app = FleetApp(demo_session, refresh_s=0)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("4")
        await settle(app, pilot)
        tab = app.query_one("RecommendationsTab")
        table = app.query_one("#recs-table", DataTable)
        assert table.has_focus  # the tab's keys and arrows work as soon as it shows
        table.move_cursor(row=next(i for i, r in enumerate(tab.recs) if r.can_verify))
        await pilot.press("v")
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, ReplayDialog)
        plan = str(screen.query_one("#verify-plan", Static).render())
        assert "Cannot verify" in plan and "is not set" in plan and "fleetui key set" in plan
        assert screen.query_one("#verify-start", Button).disabled
        await pilot.press("escape")
        await pilot.pause(0.1)
        assert not isinstance(app.screen, ReplayDialog)
        # A recommendation that moves no traffic has nothing to replay.
        other = next((i for i, r in enumerate(tab.recs) if not r.can_verify), None)
        if other is not None:
            table.move_cursor(row=other)
            await pilot.press("v")
            await pilot.pause(0.1)
            assert not isinstance(app.screen, ReplayDialog)


async def test_the_judge_is_picked_in_the_dialog(replay_session: Session) -> None:
    """No `--judge MODEL` in an app: a list of the fleet's models, and the plan follows the pick."""
    from textual.widgets import Select

    app = FleetApp(replay_session, refresh_s=0)
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        screen = verify_screen(replay_session)
        await app.push_screen(screen)
        plan = screen.query_one("#verify-plan", Static)
        await _until(pilot, lambda: "judge: judge" in str(plan.render()))
        screen.query_one("#verify-judge", Select).value = "chatty-judge"
        await _until(pilot, lambda: "judge: chatty-judge" in str(plan.render()))
        assert not screen.query_one("#verify-start", Button).disabled
        screen.query_one("#verify-judge", Select).value = "big"  # the model being replaced cannot judge itself
        await _until(pilot, lambda: "judge: chatty-judge" not in str(plan.render())
                     and "Working out" not in str(plan.render()))
        assert "--judge" not in str(plan.render())
