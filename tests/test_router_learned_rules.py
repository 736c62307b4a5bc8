"""A fleet file whose rule targets a learned router: loading, deciding, explaining, reloading,
budgets that step down, and every bad reference as one clear line."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from fleetui.cli import main
from fleetui.config.fleetfile import FleetFileError, load_fleet
from fleetui.routing import Router
from fleetui.routing.budget import BudgetLevels
from fleetui.routing.learned import fileformat
from tests.test_router_train import two_kinds, write

FLEET = """
name = "learned"

[[providers]]
id = "cloud"
kind = "openai-compatible"
base_url = "https://api.example.com/v1"

[[providers]]
id = "home"
kind = "openai-compatible"
base_url = "http://localhost:8080/v1"

[[models]]
id = "big"
name = "Big"
provider = "cloud"
model = "big-1"
price = {{ input = 10, output = 30 }}

[[models]]
id = "small"
name = "Small"
provider = "cloud"
model = "small-1"
price = {{ input = 1, output = 3 }}

[[models]]
id = "local"
name = "Local"
provider = "home"
model = "llama"

[[rules]]
name = "smart"
when = "true"
learned = "default"
{target}
fallbacks = ["local"]

[budget]
monthly_usd = 100
"""

MATH = "solve the equation 12 x plus 7 integral derivative"
CHAT = "say hello to my friend ann nicely chat"


@pytest.fixture
def trained(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    fleet = tmp_path / "fleet.toml"
    fleet.write_text(FLEET.format(target='quality_target = "95% of big"'))
    calls = write(tmp_path / "calls.jsonl", two_kinds())
    assert main(["--config", str(fleet), "router", "train", "--calls", str(calls)]) == 0
    out = capsys.readouterr().out
    assert "saved" in out and "default.router.json" in out and 'learned = "default"' in out
    return fleet


def test_the_router_sends_math_to_big_and_chat_to_small(trained: Path) -> None:
    router = Router.from_toml(trained)
    math, chat = router.route(MATH), router.route(CHAT)
    assert (math.model_id, chat.model_id) == ("big", "small")
    assert math.fallbacks == ("small", "local")  # the router's other model, then the rule's fallbacks
    assert math.learned is not None and math.learned.target == "95% of big"
    predicted = dict(math.learned.predicted)
    assert predicted["big"] > predicted["small"] + 0.4
    assert "learned:default at 95% of big (price weight" in math.reason
    assert math.learned.threshold.startswith("price weight ")
    assert json.loads(json.dumps(math.as_json()))["learned"]["predicted"]["big"] == predicted["big"]


def test_budgets_step_down_and_a_rule_can_opt_out(trained: Path) -> None:
    router = Router.from_toml(trained)
    normal = router.route(MATH).learned
    router.set_budget(BudgetLevels("critical"))
    stepped = router.route(MATH)
    assert stepped.learned is not None and normal is not None
    assert stepped.learned.step == 2 and stepped.learned.price_weight >= normal.price_weight
    assert "2 budget step(s) cheaper" in stepped.reason
    # a model past its own critical line goes behind the others: degraded, not blocked
    router.set_budget(BudgetLevels("ok", {"big": "critical", "local": "critical"}))
    behind = router.route(MATH)
    assert behind.model_id == "small" and behind.fallbacks[-1] == "big"
    assert "local" in behind.fallbacks  # free and local models are never moved
    trained.write_text(trained.read_text().replace('fallbacks = ["local"]', 'fallbacks = ["local"]\nbudget_degrade = false'))
    assert router.reload()
    assert router.route(MATH).model_id == "big", "the rule opted out"


def test_profiles_and_price_weights(trained: Path) -> None:
    for target, expect in (('profile = "economy"', "90% of big"), ('profile = "quality"', "99% of big"),
                           ("price_weight = 0", "price weight 0"), ("", "95% of big")):
        trained.write_text(FLEET.format(target=target))
        decision = Router.from_toml(trained).route(MATH)
        assert decision.learned is not None and decision.learned.target == expect
    trained.write_text(FLEET.format(target="price_weight = 1000"))
    assert Router.from_toml(trained).route(MATH).model_id == "small", "cost above all"


def test_a_retrained_router_is_picked_up_and_a_broken_one_keeps_the_last(trained: Path) -> None:
    router = Router.from_toml(trained, check_interval_s=0)
    assert router.route(MATH).model_id == "big"
    file = trained.parent / "default.router.json"
    file.write_text(file.read_text().replace('"intercept":[', '"intercept":[9,'))
    router.route(MATH)
    assert router.reload_error and "checksum does not match" in router.reload_error
    assert router.route(MATH).model_id == "big"


def test_bad_references_are_one_line(tmp_path: Path, trained: Path, capsys: pytest.CaptureFixture[str]) -> None:
    trained.write_text(FLEET.format(target='quality_target = "95% of nope"'))
    with pytest.raises(FleetFileError, match="unknown model 'nope'"):
        load_fleet(trained)
    trained.write_text(FLEET.format(target='quality_target = "lots of big"'))
    with pytest.raises(FleetFileError, match='write it as "95% of MODEL"'):
        load_fleet(trained)
    trained.write_text(FLEET.format(target='quality_target = "95% of local"'))
    with pytest.raises(fileformat.RouterFileError, match="names local, which learned router 'default' was not trained on"):
        Router.from_toml(trained)
    trained.write_text(FLEET.format(target="").replace('learned = "default"', 'learned = "other"'))
    with pytest.raises(fileformat.RouterFileError, match="other.router.json: no such router file; train it"):
        Router.from_toml(trained)
    with pytest.raises(fileformat.RouterFileError, match="give Router routers_dir="):
        Router(load_fleet(trained))
    assert main(["--config", str(trained), "route", MATH]) == 1
    err = capsys.readouterr().err
    assert "no such router file" in err and len(err.strip().splitlines()) == 1


def test_route_explains_and_show_eval(trained: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--config", str(trained), "route", MATH]) == 0
    out = capsys.readouterr().out
    assert out.startswith("→ big") and "learned:default at 95% of big" in out
    assert re.search(r"predicted quality: big 0\.(8|9)\d, small 0\.[0-3]\d", out), out
    assert main(["--config", str(trained), "router", "show"]) == 0
    out = capsys.readouterr().out
    assert "router 'default': 2 models" in out and "profiles: economy = 90%" in out
    assert main(["--config", str(trained), "router", "eval", "default"]) == 0
    out = capsys.readouterr().out
    assert "category table" in out and "95% of big: λ =" in out
    assert main(["--config", str(trained), "router", "eval", "missing"]) == 1
    assert "missing.router.json: no such router file" in capsys.readouterr().err


def test_validate_checks_the_router_file_and_export_names_what_litellm_cannot(
        trained: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(trained)]) == 0
    assert "valid" in capsys.readouterr().out
    file = trained.parent / "default.router.json"
    text = file.read_text()
    file.write_text(text.replace('"intercept":[', '"intercept":[9,'))
    assert main(["validate", str(trained)]) == 1
    out = capsys.readouterr().out
    assert "rules[smart].learned" in out and "checksum does not match" in out
    file.unlink()
    assert main(["validate", str(trained)]) == 1
    assert "no such router file; train it with `fleetui router train default`" in capsys.readouterr().out
    file.write_text(text)
    trained.write_text(trained.read_text().replace('id = "small"', 'id = "tiny"'))
    assert main(["validate", str(trained)]) == 0
    assert "was also trained on small, not in the fleet" in capsys.readouterr().out
    assert main(["--config", str(trained), "export", "--format", "litellm"]) == 0
    out = capsys.readouterr().out
    assert "# - rule smart (priority 100): learned router default picks a model per prompt" in out
    assert "requesting 'smart' reaches the rule's fallbacks only (local)" in out


def test_budget_check_exits_non_zero_past_the_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import time

    from fleetui.store import CallRecord, Store

    fleet, db = tmp_path / "fleet.toml", tmp_path / "fleetui.db"
    fleet.write_text(FLEET.format(target="").replace("monthly_usd = 100", "monthly_usd = 10000\n[budget.per_model]\nbig = 1"))
    args = ["--config", str(fleet), "--db", str(db), "budget"]
    with Store.open(db):
        pass
    assert main([*args, "--check"]) == 0
    assert "check: every budget under critical" in capsys.readouterr().out
    # $2 on big today projects to $2–124 by month-end whatever the day: past big's $1, under $10,000
    with Store.open(db) as store:
        store.insert_calls([CallRecord(ts=time.time(), model_id="big", cost_usd=2.0, prompt="x")])
    assert main([*args, "--check"]) == 1
    out = capsys.readouterr().out
    assert "model big: critical" in out and "check: model big at or past critical" in out
    assert main([*args]) == 0, "without --check it only reports"
    capsys.readouterr()
    assert main([*args, "--check", "--json"]) == 1
    body = json.loads(capsys.readouterr().out)
    assert body["failed"] is True and body["past_fail_on"] == ["model big"]
    assert {b["budget"]: b["level"] for b in body["budgets"]} == {"fleet": "ok", "model big": "critical"}


async def test_the_gateway_routes_with_the_learned_rule(trained: Path) -> None:
    import httpx

    from fleetui.serve.server import ServeOptions, build_gateway

    options = ServeOptions(fleet_path=trained, db_path=trained.parent / "gateway.db", write_status_file=False)
    app = build_gateway(load_fleet(trained), options)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1") as http:
        math = (await http.post("/route", json={"prompt": MATH})).json()
        chat = (await http.get("/route", params={"prompt": CHAT})).json()
    assert (math["model_id"], chat["model_id"]) == ("big", "small")
    assert math["learned"]["target"] == "95% of big" and math["learned"]["predicted"]["big"] > 0.7


def test_the_routers_arithmetic_is_the_trained_models(trained: Path) -> None:
    """The hot path adds plain floats; it must predict what the fitted model predicts."""
    saved = fileformat.load(trained.parent / "default.router.json")
    target = Router.from_toml(trained)._state[0].rules[0].learned
    assert target is not None
    texts = [MATH, CHAT, "", "x" * 3000, "What is 2+2?\n\nAnswer briefly."]
    batch = saved.model.predict(texts, [""] * len(texts))
    for i, text in enumerate(texts):
        assert target.predict(text) == pytest.approx(list(batch[i][[saved.model.models.index(m) for m in target.models]]),
                                                     abs=1e-9)


def test_the_recommendation_stays_within_the_fleets_quality_drop(trained: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from fleetui.analysis.learned_advice import recommendation

    saved = fileformat.load(trained.parent / "default.router.json")
    within_5 = recommendation(saved, 5.0)
    assert within_5 is not None and within_5["share"] >= 0.95 and within_5["quality_share_ci"][0] >= 0.95
    assert recommendation(saved, 0.0) is None or recommendation(saved, 0.0)["quality_share_ci"][0] >= 1.0  # type: ignore[index]
    assert main(["--config", str(trained), "router", "eval"]) == 0
    out = capsys.readouterr().out
    assert "recommendation (within max_quality_drop_pct = 5%): quality_target = \"95% of big\" costs" in out
    assert "evidence: " in out and "held-out prompts, file calls.jsonl" in out


def test_a_target_no_routing_reached_sends_calls_to_the_reference(trained: Path) -> None:
    file = trained.parent / "default.router.json"
    body = json.loads(file.read_text())
    body["curves"]["big"] = {k: None for k in body["curves"]["big"]}  # as if nothing reached any target
    body.pop("checksum")
    from fleetui.routing.learned.fileformat import _checksum

    body["checksum"] = _checksum(body)
    file.write_text(json.dumps(body))
    decision = Router.from_toml(trained).route(CHAT)
    assert decision.model_id == "big" and decision.learned is not None
    assert "the reference first" in decision.reason


def test_watch_budget_reads_the_projection_and_dryrun_finds_the_router(
        trained: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import time

    from fleetui.store import CallRecord, Store

    db = trained.parent / "fleetui.db"
    # $20 on big today projects past the fleet's $100 whatever the day of the month
    with Store.open(db) as store:
        store.insert_calls([CallRecord(ts=time.time(), model_id="big", cost_usd=20.0, prompt=MATH, task="chat")])
    router = Router.from_toml(trained)
    router.watch_budget(db, every_s=3600)
    try:
        assert router.budget_error is None and router.budget.overall == "critical"
        decision = router.route(MATH)
        assert decision.learned is not None and decision.learned.step == 2
    finally:
        router.stop_watching_budget()
    assert main(["--config", str(trained), "--db", str(db), "dryrun", str(trained)]) == 0
    assert "candidate" in capsys.readouterr().out


def test_many_models_take_the_numpy_path_to_the_same_predictions() -> None:
    from fleetui.config.schema import RoutingRule
    from fleetui.routing.learned.decide import LearnedTarget
    from fleetui.routing.learned.train import train_router
    from tests.test_router_train import samples_of

    rows = [dict(r, model=f"{r['model']}-{k}", cost_usd=float(r["cost_usd"]) * (1 + k))  # type: ignore[arg-type]
            for r in two_kinds(120) for k in range(3)]
    saved = train_router(samples_of(rows), name="many")
    target = LearnedTarget(RoutingRule(name="r", when="true", learned="many", price_weight=0.1), saved,
                           set(saved.model.models))
    assert target.dense is not None and len(target.models) == 6
    texts = [MATH, CHAT, "", "What is 2+2?\n\nAnswer briefly."]
    batch = saved.model.predict(texts, [""] * len(texts))
    for i, text in enumerate(texts):
        assert target.predict(text) == pytest.approx(list(batch[i]), abs=1e-9)
    ordered, evidence = target.choose(MATH, "", {"big-0", "small-0"}, 0)
    assert ordered == ["big-0", "small-0"] and [m for m, _ in evidence.predicted] == ordered


def test_savings_shows_the_learned_routers_recommendation(trained: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from fleetui.store import Store

    db = trained.parent / "fleetui.db"
    with Store.open(db):
        pass
    assert main(["--config", str(trained), "--db", str(db), "savings"]) == 0
    out = capsys.readouterr().out
    assert 'learned router default: quality_target = "95% of big" costs' in out and "held-out prompts" in out
    assert main(["--config", str(trained), "--db", str(db), "savings", "--json"]) == 0
    body = json.loads(capsys.readouterr().out)
    assert body["learned_routers"][0]["recommendation"]["share"] == 0.95


def test_the_toml_export_names_the_router_files_it_needs(trained: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out_file = trained.parent / "export" / "routing.toml"
    out_file.parent.mkdir()
    assert main(["--config", str(trained), "export", "--format", "toml", "-o", str(out_file)]) == 0
    text = out_file.read_text()
    assert "# learned rules read default.router.json from beside this file" in text
    with pytest.raises(fileformat.RouterFileError, match="no such router file"):
        Router.from_toml(out_file)
    (out_file.parent / "default.router.json").write_text((trained.parent / "default.router.json").read_text())
    assert Router.from_toml(out_file).route(MATH).model_id == "big"
