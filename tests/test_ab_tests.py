"""A/B tests declared in the fleet file: checked with file and line, routed by user, recorded by
the shim under their own route, and judged from the call log by `fleetui ab`."""

from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path

import pytest

import fleetui
from fleetui.cli import main
from fleetui.config.fleetfile import FleetFileError, load_fleet, parse_fleet
from fleetui.routing import Router
from fleetui.routing.export import to_json
from fleetui.routing.export_litellm import to_litellm
from fleetui.shim import attributes, configure

AB_TEST = '''
[[ab_tests]]
name = "local-vs-mini"
rule = "casual-to-local"
arms = { "local-llama" = 1, "gpt-4o-mini" = 1 }
min_samples = 50
'''
CASUAL = {"use_case": "casual_chat", "complexity": "simple"}


@pytest.fixture
def fleet_file(tmp_path: Path, sample_text: str) -> Path:
    path = tmp_path / "fleet.toml"
    path.write_text(sample_text + AB_TEST, encoding="utf-8")
    return path


def test_bad_ab_tests_are_reported_with_line_and_what_is_known(sample_text: str) -> None:
    text = sample_text + AB_TEST.replace('"casual-to-local"', '"casual"').replace('"gpt-4o-mini" = 1', '"gpt4o" = 0')
    with pytest.raises(FleetFileError) as caught:
        parse_fleet(text, "fleet.toml")
    lines = sample_text.count("\n")
    messages = [str(p) for p in caught.value.problems]
    assert f"fleet.toml:{lines + 4}:8: ab_tests[local-vs-mini].rule: A/B test 'local-vs-mini' names unknown rule " \
           "'casual'; known: casual-to-local," in messages[0]
    assert any(m.startswith(f"fleet.toml:{lines + 5}:8: ab_tests[local-vs-mini].arms: arm weights must be above 0 "
                            "(gpt4o); ")
               for m in messages)
    assert any("names unknown model 'gpt4o' (did you mean 'gpt-4'?); known: claude-haiku" in m for m in messages)
    with pytest.raises(FleetFileError, match="needs two or more arms"):
        parse_fleet(sample_text + AB_TEST.replace(', "gpt-4o-mini" = 1', ""), "fleet.toml")
    with pytest.raises(FleetFileError, match="duplicate A/B test name 'local-vs-mini'"):
        parse_fleet(sample_text + AB_TEST + AB_TEST, "fleet.toml")


def test_the_file_test_splits_its_rule_by_user_and_leaves_other_traffic(fleet_file: Path) -> None:
    router = Router.from_toml(fleet_file)
    arms = {user: router.route("hi there", user=user, **CASUAL).model_id for user in map(str, range(400))}
    assert set(Counter(arms.values())) == {"local-llama", "gpt-4o-mini"}
    assert 150 < Counter(arms.values())["gpt-4o-mini"] < 250  # weights 1:1
    again = Router.from_toml(fleet_file)  # another process: the same users land in the same arms
    assert all(again.route("hi there", user=u, **CASUAL).model_id == m for u, m in list(arms.items())[:50])

    decision = router.route("hi there", user="7", **CASUAL)
    assert decision.ab_test == "local-vs-mini" and decision.rule == "casual-to-local"
    assert decision.call_attributes()["route"] == "ab:local-vs-mini"
    coding = router.route("Refactor this module and add tests", task="coding", complexity="complex", user="7")
    assert coding.ab_test is None and coding.call_attributes()["route"] == "serious-coding"
    anonymous = router.route("hi there", **CASUAL)  # no user: no arm to keep them in
    assert anonymous.ab_test is None and anonymous.model_id == "local-llama"


def test_a_reload_keeps_the_outcomes_of_an_unchanged_test_only(fleet_file: Path) -> None:
    router = Router.from_toml(fleet_file, check_interval_s=0)
    decision = router.route("hi there", user="u1", **CASUAL)
    assert router.record_outcome(decision.decision_id, success=True)
    [test] = router.all_ab_tests()
    assert test.result().arm(decision.model_id).trials == 1

    fleet_file.write_text(fleet_file.read_text() + "\n# a comment changes the file, not the test\n")
    assert router.reload()
    [test] = router.all_ab_tests()
    assert test.result().arm(decision.model_id).trials == 1

    fleet_file.write_text(fleet_file.read_text().replace('"gpt-4o-mini" = 1', '"claude-haiku" = 1'))
    assert router.reload()
    [test] = router.all_ab_tests()
    assert set(test.arms) == {"local-llama", "claude-haiku"}
    assert all(arm.trials == 0 for arm in test.result().arms)
    with pytest.raises(ValueError, match="already an A/B test named 'local-vs-mini'"):
        router.add_ab_test(test)


def _serve(router: Router, users: range, success_rate: dict[str, float], seed: int = 1) -> None:
    """What an app does: route, call the model (here: succeed at the arm's rate), record the call."""
    rng = random.Random(seed)
    for n in users:
        decision = router.route("what's a good pizza place?", user=f"user-{n}", **CASUAL)
        with attributes(user=f"user-{n}", **decision.call_attributes()):
            with fleetui.track(model=decision.provider_model) as call:
                ok = rng.random() < success_rate[decision.model_id]
                call.record(model_id=decision.model_id, prompt="what's a good pizza place?", response="Try Luigi's" if ok else "",
                            success=ok, input_tokens=12, output_tokens=8)


def test_fleetui_ab_reads_the_arms_from_the_log_and_declares_a_real_winner(fleet_file: Path, tmp_path: Path,
                                                                           capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "calls.db"
    recorder = configure(db_path=db, fleet_path=fleet_file, source="app", interval_s=0.05)
    try:
        _serve(Router.from_toml(fleet_file), range(600), {"local-llama": 0.70, "gpt-4o-mini": 0.95})
        assert recorder.flush(10)
    finally:
        recorder.close()
    assert main(["--config", str(fleet_file), "--db", str(db), "ab", "--json"]) == 0
    [result] = json.loads(capsys.readouterr().out)["tests"]
    arms = result["arms"]
    assert result["winner"] == "gpt-4o-mini" and result["p_value"] < 0.001
    assert sum(a["trials"] for a in arms.values()) == 600 and min(a["trials"] for a in arms.values()) > 250
    assert 0.64 < arms["local-llama"]["rate"] < 0.76 and arms["gpt-4o-mini"]["rate"] > 0.9
    assert arms["gpt-4o-mini"]["users"] == arms["gpt-4o-mini"]["trials"]  # one call per user here

    assert main(["--config", str(fleet_file), "--db", str(db), "ab", "local-vs-mini"]) == 0
    out = capsys.readouterr().out
    assert "A/B test local-vs-mini (rule casual-to-local; min 50 calls an arm, alpha 0.05; since 30d)" in " ".join(out.split())
    assert "winner: gpt-4o-mini beats local-llama" in out

    # Removed from the file, the test's calls are still in the log and still reported.
    fleet_file.write_text(fleet_file.read_text().replace(AB_TEST, ""))
    assert main(["--config", str(fleet_file), "--db", str(db), "ab", "local-vs-mini"]) == 0
    assert "not in the fleet file (ended?)" in capsys.readouterr().out
    assert main(["--config", str(fleet_file), "--db", str(db), "ab", "nope"]) == 2
    assert "no A/B test 'nope' in the fleet file or the log since 30d" in capsys.readouterr().err


def test_no_winner_while_arms_are_short_or_alike(fleet_file: Path, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "calls.db"
    recorder = configure(db_path=db, fleet_path=fleet_file, source="app", interval_s=0.05)
    try:
        router = Router.from_toml(fleet_file)
        _serve(router, range(40), {"local-llama": 0.2, "gpt-4o-mini": 1.0})
        assert recorder.flush(10)
        assert main(["--config", str(fleet_file), "--db", str(db), "ab", "--json"]) == 0
        [short] = json.loads(capsys.readouterr().out)["tests"]
        assert short["winner"] is None and short["reason"].startswith("not enough samples yet")

        _serve(router, range(40, 640), {"local-llama": 0.9, "gpt-4o-mini": 0.9}, seed=2)
        assert recorder.flush(10)
    finally:
        recorder.close()
    fleet_file.write_text(fleet_file.read_text().replace("min_samples = 50", "min_samples = 50\nalpha = 0.0001"))
    assert main(["--config", str(fleet_file), "--db", str(db), "ab", "--json"]) == 0
    [alike] = json.loads(capsys.readouterr().out)["tests"]
    assert alike["winner"] is None and alike["reason"].startswith("no significant difference")


def test_exports_carry_the_tests_and_litellm_says_it_cannot(fleet_file: Path) -> None:
    from fleetui.config.fleetfile import load_fleet

    fleet = load_fleet(fleet_file)
    [exported] = json.loads(to_json(fleet))["fleet"]["ab_tests"]
    assert exported == {"name": "local-vs-mini", "rule": "casual-to-local", "enabled": True, "description": "",
                        "arms": {"local-llama": 1.0, "gpt-4o-mini": 1.0}, "min_samples": 50, "alpha": 0.05}
    assert "A/B tests split by user, which LiteLLM's router cannot" in to_litellm(fleet)


def test_ending_a_test_routes_its_rule_to_the_winner(fleet_file: Path, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "calls.db"
    fleet_file.write_text("# my fleet, my comments\n" + fleet_file.read_text())
    recorder = configure(db_path=db, fleet_path=fleet_file, source="app", interval_s=0.05)
    try:
        _serve(Router.from_toml(fleet_file), range(30), {"local-llama": 0.5, "gpt-4o-mini": 1.0})
        assert recorder.flush(10)
        cli = ["--config", str(fleet_file), "--db", str(db), "ab", "local-vs-mini", "--end", "--yes"]
        assert main(cli) == 1  # 15 calls an arm, 50 needed: no winner yet, nothing written
        assert "has no winner yet: not enough samples yet" in capsys.readouterr().err
        assert main(["--config", str(fleet_file), "--db", str(db), "ab", "--end"]) == 2
        _serve(Router.from_toml(fleet_file), range(30, 600), {"local-llama": 0.5, "gpt-4o-mini": 1.0})
        assert recorder.flush(10)
    finally:
        recorder.close()
    before = fleet_file.read_text()
    assert main([*cli[:-1], "--dry-run"]) == 0
    diff = capsys.readouterr().out
    assert '-model = "local-llama"\n-fallbacks = ["gpt-4o-mini"]\n+model = "gpt-4o-mini"\n+fallbacks = ["local-llama"]' in diff
    assert "+enabled = false" in diff and fleet_file.read_text() == before

    assert main(cli) == 0
    assert "rule casual-to-local now routes to gpt-4o-mini; A/B test local-vs-mini disabled" in capsys.readouterr().out
    fleet = load_fleet(fleet_file)
    rule = next(r for r in fleet.rules if r.name == "casual-to-local")
    assert (rule.model_id, rule.fallbacks) == ("gpt-4o-mini", ["local-llama"])
    [test] = fleet.ab_tests
    assert not test.enabled and test.description.startswith("ended: gpt-4o-mini won")
    text = fleet_file.read_text()
    assert text.startswith("# my fleet, my comments\n") and "# Routing rules, lowest priority number first." in text
    assert (fleet_file.parent / "fleet.toml.bak").read_text() == before
    router = Router.from_toml(fleet_file)
    assert all(router.route("hi there", user=f"user-{n}", **CASUAL).model_id == "gpt-4o-mini" for n in range(20))


def test_ending_on_a_role_rule_keeps_the_role_as_fallbacks_and_all_traffic_tests_are_refused(
        tmp_path: Path, sample_text: str) -> None:
    from fleetui.routing.apply import CannotApply, plan_ab_winner

    path = tmp_path / "fleet.toml"
    path.write_text(sample_text + '\n[[ab_tests]]\nname = "pings"\nrule = "heartbeats"\n'
                    'arms = { "claude-haiku" = 1, "gemini-flash" = 1 }\n'
                    '\n[[ab_tests]]\nname = "everything"\narms = { "claude-haiku" = 1, "gemini-flash" = 1 }\n')
    change = plan_ab_winner(path, "pings", "gemini-flash")
    rule = next(r for r in parse_fleet(change.new_text).rules if r.name == "heartbeats")
    assert (rule.model_id, rule.role, rule.fallbacks) == ("gemini-flash", None, ["claude-haiku", "gpt-4o-mini"])
    with pytest.raises(CannotApply, match="splits all traffic"):
        plan_ab_winner(path, "everything", "gemini-flash")
    with pytest.raises(CannotApply, match="not an arm"):
        plan_ab_winner(path, "pings", "gpt-4")
