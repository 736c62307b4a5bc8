"""A learned router trained beside the fleet file is a recommendation everywhere: in `fleetui
recommend --json` beside the store's, in `fleetui savings`, as a row of the app's
Recommendations tab (with its evidence in sentences), and `fleetui apply learned:NAME` writes the
rule that routes with it."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Button, DataTable, Static

from fleetui.analysis.learned_advice import learned_advice
from fleetui.cli import main
from fleetui.config.fleetfile import FleetSource, load_fleet
from fleetui.demo import generate_demo
from fleetui.pricing import format_cost
from fleetui.routing import Router
from fleetui.routing.learned import fileformat
from fleetui.routing.learned.samples import Sample
from fleetui.routing.learned.train import train_router
from fleetui.store import Store
from fleetui.tui.app import FleetApp
from fleetui.tui.data import Session
from tests.conftest import SAMPLE_FLEET
from tests.test_router_train import two_kinds
from tests.test_tui import SIZE, settle

BIG, SMALL = "claude-sonnet", "claude-haiku"  # two of the sample fleet's models
WINDOW = {"source": "store (feedback)", "since": "2026-11-03", "until": "2026-12-02"}  # train's --since 30d on 12-02
MATH = "solve the equation 12 x plus 7 integral derivative"


def _samples(priced: bool = True) -> list[Sample]:
    """Math needs the big model; on chat the small one is as good at a tenth of the cost."""
    names = {"big": BIG, "small": SMALL}
    return [Sample(str(r["prompt_id"]), str(r["prompt"]), names[str(r["model"])], float(r["quality"]),  # type: ignore[arg-type]
                   float(r["cost_usd"]) if priced else 0.0)  # type: ignore[arg-type]
            for r in two_kinds()]


def _fleet(tmp_path: Path, *, router: str = "cheap", priced: bool = True, data: dict[str, Any] | None = None) -> Path:
    fleet = tmp_path / "fleet.toml"
    shutil.copy(SAMPLE_FLEET, fleet)
    saved = train_router(_samples(priced), name=router, data=dict(WINDOW if data is None else data), boots=100)
    fileformat.save(fileformat.path_for(fleet, router), saved)
    return fleet


def _with_demo_calls(tmp_path: Path) -> tuple[Path, Path, Session]:
    """The fleet with its router, and a store of demo calls: the app's Recommendations tab has both kinds."""
    fleet = _fleet(tmp_path)
    db = tmp_path / "demo.db"
    generate_demo(load_fleet(fleet), db, calls=1500)
    return fleet, db, Session(FleetSource(fleet, "--config"), db, demo=True)


def _run(capsys: pytest.CaptureFixture[str], fleet: Path, *args: str) -> tuple[int, str]:
    db = fleet.parent / "calls.db"
    code = main(["--config", str(fleet), "--db", str(db), *args])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def _learned(capsys: pytest.CaptureFixture[str], fleet: Path) -> list[dict[str, Any]]:
    code, out = _run(capsys, fleet, "recommend", "--json")
    assert code == 0
    return [r for r in json.loads(out) if r["kind"] == "learned_router"]


def test_recommend_json_lists_the_router_beside_the_stores_recommendations(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fleet = _fleet(tmp_path)
    generate_demo(load_fleet(fleet), fleet.parent / "calls.db", calls=1500)
    code, out = _run(capsys, fleet, "recommend", "--json")
    assert code == 0
    listed = json.loads(out)
    stores = [r for r in listed if r["kind"] != "learned_router"]
    assert stores, "the demo store has recommendations of its own"
    from fleetui.analysis.recommend import Recommendation, Kind, Severity

    keys = set(Recommendation(Kind.LOW_SUCCESS, Severity.LOW, "t", "s", {}).as_json()) | {"rule_in_fleet"}
    assert all(set(r) == keys for r in stores), "the store's entries keep exactly their keys"

    (entry,) = [r for r in listed if r["kind"] == "learned_router"]
    assert entry["id"] == "learned:cheap" and entry["in_use"] is False and entry["status"] == "new"
    saved = fileformat.load(fleet.parent / "cheap.router.json")
    e = entry["evidence"]
    assert e["quality_target"] == f"95% of {BIG}" and e["quality_share_ci"][0] >= 0.95
    assert 0.4 < e["cost_share"] < 0.8 and e["cost_share_ci"][0] <= e["cost_share"] <= e["cost_share_ci"][1]
    assert e["calibration_prompts"] == saved.meta["data"]["calibration_prompts"] and e["test"]["prompts"] > 0
    assert e["data"] == {"source": "store (feedback)", "since": "2026-11-03", "until": "2026-12-02"}
    # 300 prompts in 30 days, each $0.01 on the big model: the saving is the share the router spares.
    big_per_prompt = saved.meta["metrics"]["single_models"][BIG]["cost_usd"] / e["test"]["prompts"]
    assert entry["numbers"]["saving_monthly_usd"] == pytest.approx(
        big_per_prompt * (1 - e["test"]["cost_share"]) * 300, abs=0.01)
    assert 0.8 < entry["numbers"]["saving_monthly_usd"] < 2.0
    assert entry["change"] == {"learned": "cheap", "quality_target": f"95% of {BIG}", "when": "true",
                               "apply": "fleetui apply learned:cheap"}
    assert "$" in entry["sentence"] and "per 30 days" in entry["sentence"]

    code, out = _run(capsys, fleet, "savings", "--json")
    (saving,) = json.loads(out)["learned_routers"]
    assert saving["recommendation"]["share"] == e["share"] and saving["in_use"] is False
    assert saving["saving_per_30_days_usd"] == entry["numbers"]["saving_monthly_usd"]  # one function for both


def test_a_router_from_a_file_without_dates_has_no_dollar_saving(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fleet = _fleet(tmp_path, data={"source": "file calls.jsonl"})
    (entry,) = _learned(capsys, fleet)
    assert entry["numbers"]["saving_monthly_usd"] is None and entry["evidence"]["cost_share"] is not None
    assert entry["severity"] == "medium" and "$" not in entry["sentence"]


def test_an_unpriced_router_shows_unknown_cost_not_zero(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fleet = _fleet(tmp_path, router="free", priced=False)
    (entry,) = _learned(capsys, fleet)
    e = entry["evidence"]
    assert e["cost_share"] is None and e["cost_share_ci"] is None and e["test"]["cost_share"] is None
    assert entry["numbers"]["saving_monthly_usd"] is None and entry["severity"] == "low"
    assert "no cost" in entry["sentence"] and "unknown" in entry["sentence"]
    code, out = _run(capsys, fleet, "recommend")
    said = " ".join(out.split())
    assert code == 0 and "learned router free:" in said and "unknown share" in said
    assert not re.search(r"(?<![\d.])0\.0%", said) and "$0.00" not in said, said
    code, out = _run(capsys, fleet, "savings", "--json")
    (saving,) = json.loads(out)["learned_routers"]
    assert saving["saving_per_30_days_usd"] is None


def test_apply_writes_the_rule_once_and_the_router_routes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fleet = _fleet(tmp_path)
    before = fleet.read_text()
    code, out = _run(capsys, fleet, "apply", "learned:cheap", "--yes")
    assert code == 0 and "added rule learned-cheap" in out
    after = fleet.read_text()
    assert after.startswith(before.rstrip("\n")[:200]) and (fleet.parent / "fleet.toml.bak").exists()
    rule = next(r for r in load_fleet(fleet).rules if r.name == "learned-cheap")
    assert (rule.learned, rule.quality_target, rule.when) == ("cheap", f"95% of {BIG}", "true")
    assert rule.priority > max(r.priority for r in load_fleet(fleet).rules if r.name != "learned-cheap")
    assert "# Added by `fleetui apply learned:cheap`" in after
    assert Router.from_toml(fleet).route(MATH).model_id == BIG  # the rule works: math needs the big model

    code, out = _run(capsys, fleet, "apply", "learned:cheap", "--yes")
    assert code == 1 and "rule learned-cheap" in out and "already uses learned router 'cheap'" in out
    assert len(out.strip().splitlines()) == 1 and fleet.read_text() == after
    (entry,) = _learned(capsys, fleet)
    assert entry["in_use"] is True and entry["status"] == "in use" and entry["rule_in_fleet"] == "learned-cheap"
    assert entry["change"] is None

    code, out = _run(capsys, fleet, "recommend", "--dismiss", "learned:cheap")
    assert code == 2 and "learned:cheap is not stored, so it has no status to mark" in out
    code, out = _run(capsys, fleet, "apply", "learned:nosuch", "--yes")
    assert code == 2 and "no learned router 'nosuch'" in out and "router train nosuch" in out


def test_apply_refuses_a_router_without_a_target(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fleet = _fleet(tmp_path)
    fleet.write_text(fleet.read_text().replace("max_quality_drop_pct = 5", "max_quality_drop_pct = 0"))
    assert load_fleet(fleet).recommendations.max_quality_drop_pct == 0, "the sample sets the limit"
    (entry,) = _learned(capsys, fleet)
    # No calibrated target is 100% of the big model with its whole interval: nothing to add.
    assert entry["evidence"] is None and entry["status"] == "no target" and entry["change"] is None
    assert "no calibrated target" in entry["sentence"].lower()
    code, out = _run(capsys, fleet, "apply", "learned:cheap", "--yes")
    assert code == 2 and "nothing to apply" in out and len(out.strip().splitlines()) == 1
    assert all(r.learned is None for r in load_fleet(fleet).rules)


async def test_the_tab_lists_the_router_with_its_evidence_and_applies_it(tmp_path: Path) -> None:
    fleet, db, session = _with_demo_calls(tmp_path)
    app = FleetApp(session, refresh_s=0)
    said: list[str] = []
    async with app.run_test(size=SIZE) as pilot:
        app.notify = lambda message, **kw: said.append(str(message))  # type: ignore[method-assign]
        await pilot.press("4")
        await settle(app, pilot)
        table = app.query_one("#recs-table", DataTable)
        table.focus()
        table.move_cursor(row=table.get_row_index("learned:cheap"))
        await pilot.pause(0.1)
        row = [str(c) for c in table.get_row("learned:cheap")]
        assert row[1] == f"Route with learned router cheap at 95% of {BIG}" and row[2].startswith("$")
        (advice,) = learned_advice(load_fleet(fleet), fleet)  # what `fleetui recommend --json` reports
        assert advice.saving_per_30_days_usd is not None and row[2] == format_cost(advice.saving_per_30_days_usd)
        assert row[4] == "new"
        detail = str(app.query_one("#recs-detail", Static).render())
        assert "calibrated on" in detail and "held-out prompts" in detail and "measured apart on" in detail
        assert "2026-11-03 to 2026-12-02" in detail and "learned:cheap" in detail

        for key, words in (("v", "verified on held-out logs at train time"), ("x", "cannot be dismissed"),
                           ("a", "nothing to mark accepted")):
            await pilot.press(key)
            await pilot.pause(0.1)
            assert words in said[-1], key
        with Store.open(db) as store:
            assert store.db.execute("SELECT count(*) FROM recommendations WHERE id LIKE 'learned:%'").fetchone()[0] == 0

        await pilot.press("p")
        await pilot.pause(0.2)
        assert '+learned = "cheap"' in app.screen.diff  # type: ignore[attr-defined]
        app.screen.query_one("#apply-yes", Button).press()
        await settle(app, pilot)
        assert [str(c) for c in table.get_row("learned:cheap")][4] == "in use"
        await pilot.press("p")
        await pilot.pause(0.1)
        assert "already uses learned router 'cheap'" in said[-1]
    assert load_fleet(fleet).rules[-1].learned == "cheap"


async def test_keys_act_on_the_highlighted_learned_row_after_a_refresh_and_a_tab_switch(tmp_path: Path) -> None:
    """Arrows to the learned row; another session dismisses a stored row above it; the timer
    refreshes; the user leaves the tab and comes back (which reloads it): x and p still answer
    for the learned row, and up then x dismisses the stored row above it — no Tab pressed."""
    from fleetui.store import analytics
    from fleetui.tui.recs_tab import DiffConfirm, RecommendationsTab
    from fleetui.tui.tables import cursor_key
    from tests.test_tui_keys import show_tab, status_of, until

    fleet, db, session = _with_demo_calls(tmp_path)
    app = FleetApp(session, refresh_s=0)
    said: list[str] = []
    async with app.run_test(size=SIZE) as pilot:
        app.notify = lambda message, **kw: said.append(str(message))  # type: ignore[method-assign]
        tab = await show_tab(pilot, "4", "recommendations")
        assert isinstance(tab, RecommendationsTab) and len(tab.recs) >= 2
        table = app.query_one("#recs-table", DataTable)
        at = table.get_row_index("learned:cheap")
        assert at >= 2
        await pilot.press(*["down"] * at)
        assert cursor_key(table) == "learned:cheap"
        with Store.open(db) as store:  # `fleetui recommend --dismiss` elsewhere, on the top row
            analytics.set_recommendation_status(store, tab.recs[0].id, "dismissed")
        before = tab.loads
        app._refresh_if_idle()
        await until(pilot, lambda: tab.loads > before, "the refresh")
        assert cursor_key(table) == "learned:cheap" and table.cursor_row == at - 1
        tab.FRESH_S = 0  # coming back reloads, as after 10 s away
        await show_tab(pilot, "1", "fleet")
        before = tab.loads
        await pilot.press("4")
        await until(pilot, lambda: tab.loads > before, "the reload on return")
        assert cursor_key(table) == "learned:cheap"
        assert "learned:cheap" in str(app.query_one("#recs-detail", Static).render())
        await pilot.press("x")
        await until(pilot, lambda: bool(said), "the answer to x")
        assert "learned:cheap is not stored, so it cannot be dismissed" in said[-1]
        await pilot.press("p")
        await until(pilot, lambda: isinstance(app.screen, DiffConfirm), "the diff")
        assert '+learned = "cheap"' in app.screen.diff  # type: ignore[attr-defined]
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, DiffConfirm), "the diff closed")
        await pilot.press("up")
        above = cursor_key(table)
        assert above is not None and not above.startswith("learned:")
        await pilot.press("x")
        await until(pilot, lambda: status_of(session, above) == "dismissed", "the dismissal of the row above")
    assert all(r.learned is None for r in load_fleet(fleet).rules), "escape wrote nothing"


async def test_at_80x24_a_learned_rows_detail_is_a_tab_away_and_scrolls_to_its_end(tmp_path: Path) -> None:
    from textual.containers import VerticalScroll

    from tests.test_tui_keys import show_tab, until

    _, _, session = _with_demo_calls(tmp_path)
    app = FleetApp(session, refresh_s=0)
    async with app.run_test(size=(80, 24)) as pilot:
        await show_tab(pilot, "4", "recommendations")
        table = app.query_one("#recs-table", DataTable)
        await pilot.press(*["down"] * table.get_row_index("learned:cheap"))
        box = app.query_one("#recs-detail-box", VerticalScroll)
        await until(pilot, lambda: "learned:cheap" in str(app.query_one("#recs-detail", Static).render()), "its detail")
        assert table.size.height >= 6, "the table keeps rows to choose from"
        assert box.max_scroll_y > 0 and box.scroll_y == 0, "taller than its box at 80x24: it must scroll"
        await pilot.press("tab")
        assert app.focused is box
        await pilot.press("end")
        await until(pilot, lambda: box.scroll_y == box.max_scroll_y, "the end of the detail (retrain with …)")


async def test_the_rules_editor_shows_tries_and_keeps_a_learned_rule(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """After `p` (here `fleetui apply`), `e`: the rule's target reads learned:cheap, a prompt tried
    routes through the router (its file read once however much is typed), a new priority keeps
    the router and its target, and a model typed in replaces them."""
    from textual.widgets import Input

    from fleetui.routing.learned import decide
    from fleetui.tui.rules_editor import RulesEditor
    from tests.test_tui import open_editor

    fleet = _fleet(tmp_path)
    assert _run(capsys, fleet, "apply", "learned:cheap", "--yes")[0] == 0
    fleet.write_text(fleet.read_text().replace('learned = "cheap"\n',
                                               'learned = "cheap"\ndescription = "kept"\nbudget_degrade = false\n'))
    reads: list[Path] = []
    real_load = decide.load
    monkeypatch.setattr(decide, "load", lambda path: reads.append(path) or real_load(path))
    session = Session(FleetSource(fleet, "--config"), tmp_path / "calls.db", demo=False)
    app = FleetApp(session, refresh_s=0)
    async with app.run_test(size=SIZE) as pilot:
        at = [r.name for r in session.fleet.rules].index("learned-cheap")
        editor = await open_editor(app, pilot, "e", RulesEditor, "#rules-table", at)
        table = editor.query_one("#rules-table", DataTable)
        assert [str(c) for c in table.get_row_at(table.cursor_row)][1:] == ["learned-cheap", "true", "learned:cheap"]
        editor.query_one("#rule-try", Input).focus()
        await pilot.press(*"solve the equation")
        hit = str(editor.query_one("#rule-hit", Static).render())
        assert "rule learned-cheap" in hit and "learned:cheap at 95% of" in hit, hit
        assert len(reads) == 1, reads
        editor.query_one("#rule-priority", Input).value = "150"
        assert editor.update_rule()
        rule = editor.fleet.rules[at]
        assert (rule.priority, rule.learned, rule.quality_target) == (150, "cheap", f"95% of {BIG}")
        assert (rule.description, rule.budget_degrade) == ("kept", False), "what the form has no field for stays"
        editor.query_one("#rule-model", Input).value = SMALL
        assert editor.update_rule()
        rule = editor.fleet.rules[at]
        assert (rule.model_id, rule.learned, rule.quality_target) == (SMALL, None, None)


def test_a_rule_whose_target_lets_quality_fall_past_the_limit_is_flagged(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fleet = _fleet(tmp_path)
    assert _run(capsys, fleet, "apply", "learned:cheap", "--yes")[0] == 0
    (entry,) = _learned(capsys, fleet)
    assert entry["rules_outside_limit"] == [] and entry["severity"] != "high"  # 95% within the 5% limit
    written = fleet.read_text()
    for target, said in ((f'quality_target = "80% of {BIG}"', f'asks for quality_target = "80% of {BIG}": up to 20% '
                                                               "less quality"),
                         ('profile = "economy"', f'asks for profile = "economy" (90% of {BIG}): up to 10% less')):
        fleet.write_text(written.replace(f'quality_target = "95% of {BIG}"', target))
        (entry,) = _learned(capsys, fleet)
        assert entry["severity"] == "high" and entry["in_use"] is True
        (sentence,) = entry["rules_outside_limit"]
        assert sentence.startswith("Rule learned-cheap " + said) and "max_quality_drop_pct = 5%" in sentence
        assert entry["sentence"].startswith(sentence)
        code, out = _run(capsys, fleet, "recommend")
        assert code == 0 and "a target outside max_quality_drop_pct = 5%" in " ".join(out.split())
        assert f'How: set quality_target = "95% of {BIG}" in rule learned-cheap' in " ".join(out.split())
        assert entry["implementation"].startswith(f'set quality_target = "95% of {BIG}"')
    fleet.write_text(written.replace(f'quality_target = "95% of {BIG}"', "price_weight = 0.5"))
    (entry,) = _learned(capsys, fleet)
    assert entry["rules_outside_limit"] == []  # a price weight is no quality promise to hold it to
