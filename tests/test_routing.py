"""The routing engine: rules in priority order, roles and fallbacks, health, the default role,
complexity and escalation, pinning, decision logs, hot reload and many threads at once."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from fleetui import Router
from fleetui.config.schema import Fleet
from fleetui.config.fleetfile import load_fleet, parse_fleet
from fleetui.routing import NoRoute, RouteDecision
from fleetui.routing.complexity import estimate_complexity
from tests.conftest import SAMPLE_FLEET

CASUAL = {"use_case": "casual_chat", "complexity": "simple"}


@pytest.fixture
def fleet() -> Fleet:
    return load_fleet(SAMPLE_FLEET)


def with_rules(sample_text: str, rules: str) -> Fleet:
    """The sample fleet with its rules replaced."""
    head = sample_text.split("[[rules]]", 1)[0]
    tail = sample_text.split("[budget]", 1)[1]
    return parse_fleet(head + rules + "\n[budget]" + tail)


def write_atomically(path: Path, text: str) -> None:
    """As an editor or save_fleet would: a new file renamed over the old one."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


# -- rules, roles, fallbacks ----------------------------------------------------------------------


def test_rules_roles_and_fallbacks(fleet: Fleet) -> None:
    router = Router(fleet)
    coding = router.route("refactor this module step by step", task="coding", complexity="complex")
    # serious-coding targets the primary-coder role: its models by role priority, then the
    # rule's fallbacks without repeating one.
    assert (coding.model_id, coding.rule) == ("claude-sonnet", "serious-coding")
    assert coding.fallbacks == ("deepseek-v3",)
    assert coding.reason == 'rule serious-coding: task == "coding" and complexity in ["medium", "complex"]'
    vision = router.route("what is in this picture?", tags=["vision"])
    assert vision.model_id == "gemini-flash" and vision.fallbacks == ("gemini-pro", "claude-sonnet")
    casual = router.route("hi!", **CASUAL)
    assert (casual.model_id, casual.fallbacks) == ("local-llama", ("gpt-4o-mini",))
    long = router.route("x" * 5000, complexity="medium")
    assert (long.rule, long.model_id, long.fallbacks) == ("long-documents", "gemini-pro", ("gpt-4-turbo",))
    assert long.provider_model == "gemini-2.5-pro" and long.endpoint == "https://generativelanguage.googleapis.com"


def test_lower_priority_number_wins_and_ties_keep_file_order(sample_text: str) -> None:
    fleet = with_rules(sample_text, """
[[rules]]
name = "late"
priority = 50
when = 'task == "coding"'
model = "claude-opus"

[[rules]]
name = "early"
priority = 5
when = 'task == "coding"'
model = "deepseek-v3"

[[rules]]
name = "tie-first"
priority = 7
when = '"x" in tags'
model = "gpt-4"

[[rules]]
name = "tie-second"
priority = 7
when = '"x" in tags'
model = "gpt-4-turbo"

[[rules]]
name = "off"
priority = 1
when = "true"
model = "claude-haiku"
enabled = false
""")
    router = Router(fleet)
    assert router.route("x", task="coding").rule == "early"
    assert router.route("x", tags=["x"]).rule == "tie-first"


def test_no_rule_matches_default_role_then_cheap_fallbacks(fleet: Fleet) -> None:
    decision = Router(fleet).route("tell me something", complexity="medium")
    assert decision.rule is None and decision.model_id == "kimi-k2.5"
    assert decision.reason == "no rule matched: role default"
    assert decision.endpoint == "https://api.moonshot.ai/v1" and decision.provider_model == "kimi-k2.5"
    assert 1 <= len(decision.fallbacks) <= 3 and "kimi-k2.5" not in decision.fallbacks


def test_without_a_default_role_the_cheapest_capable_model(sample_text: str) -> None:
    no_default = sample_text.replace('roles = [{ role = "default", priority = 1 }]', "roles = []")
    fleet = with_rules(no_default, '[[rules]]\nname = "never"\nwhen = "false"\nmodel = "gpt-4"\n')
    router = Router(fleet)
    simple = router.route("hello there", complexity="simple")
    assert simple.model_id == "local-llama"  # priced at 0 by the fleet file: cheapest of all
    assert simple.reason.startswith("no rule matched: cheapest model capable of simple reasoning")
    hard = router.route("prove it", complexity="complex")
    # complex needs reasoning 85+: of those, DeepSeek V3 is the cheapest.
    assert hard.model_id == "deepseek-v3"
    assert fleet.model(hard.model_id).capabilities.reasoning >= 85


# -- health -----------------------------------------------------------------------------------------


def test_offline_models_fall_through_to_fallbacks_then_the_next_rule(fleet: Fleet) -> None:
    router = Router(fleet)
    router.set_health({"local-llama": "offline"})
    decision = router.route("hi", **CASUAL)
    assert (decision.model_id, decision.rule, decision.fallbacks) == ("gpt-4o-mini", "casual-to-local", ())
    router.set_health({"local-llama": "rate_limited", "gpt-4o-mini": "auth_failed"})
    decision = router.route("hi", **CASUAL)
    assert decision.rule is None and decision.model_id == "kimi-k2.5"  # the rule had no one left
    router.set_health({"local-llama": "degraded"})  # slow but up: still used
    assert router.route("hi", **CASUAL).model_id == "local-llama"
    router.set_health({m.id: "offline" for m in router.fleet.models})
    with pytest.raises(NoRoute):
        router.route("hi")
    router.set_health({})
    assert router.route("hi", **CASUAL).model_id == "local-llama"


def test_disabled_models_are_skipped(fleet: Fleet) -> None:
    fleet.model("claude-sonnet").enabled = False
    decision = Router(fleet).route("write a parser", task="coding", complexity="medium")
    assert (decision.model_id, decision.fallbacks) == ("deepseek-v3", ())
    vision = Router(fleet).route("look", tags=["vision"])
    assert "claude-sonnet" not in (vision.model_id, *vision.fallbacks)


# -- complexity and escalation ----------------------------------------------------------------------


@pytest.mark.parametrize(("prompt", "tier"), [
    ("hi", "simple"),
    ("thanks!", "simple"),
    ("what time does the store close?", "simple"),
    ("refactor this service step by step", "medium"),
    ("```python\ndef f(x):\n    return x\n```\nwhy does this fail?", "medium"),
    ("Design the architecture of a payment system, compare the trade-offs and prove it is consistent, "
     "step by step.", "complex"),
    ("Summarise this report: " + "lorem ipsum dolor sit amet " * 200, "complex"),
])
def test_complexity_estimate(prompt: str, tier: str) -> None:
    estimate = estimate_complexity(prompt)
    assert estimate.tier == tier
    assert 0.5 <= estimate.confidence <= 1.0


def test_estimate_names_what_drove_it() -> None:
    estimate = estimate_complexity("Refactor this:\n```\nx = 1\n```\nIs it faster? Is it safe?")
    assert {"refactor", "code", "questions"} <= set(estimate.signals)
    assert estimate_complexity("hi").confidence > 0.9


def test_unsure_estimates_go_one_tier_up(fleet: Fleet) -> None:
    unsure = "refactor this service step by step"  # medium, near the complex boundary
    estimate = estimate_complexity(unsure)
    assert estimate.tier == "medium" and estimate.confidence < 0.9
    router = Router(fleet, escalate_below=0.9)
    decision = router.route(unsure, task="coding")
    assert decision.escalated and decision.complexity == "complex"
    assert decision.confidence == round(estimate.confidence, 3)
    assert decision.matched == ("refactor", "step by step")
    calm = Router(fleet)  # 0.7 by default: this estimate is sure enough
    assert not calm.route(unsure, task="coding").escalated
    assert not router.route(unsure, task="coding", complexity="medium").escalated  # the caller knows
    assert not Router(fleet, escalate_below=1.01).route("x" * 9000).escalated  # nothing above complex


def test_bad_complexity_and_lone_tag(fleet: Fleet) -> None:
    router = Router(fleet)
    with pytest.raises(ValueError, match="complexity is one of"):
        router.route("x", complexity="hard")
    assert router.route("x", tags="vision").model_id == "gemini-flash"  # a string is one tag
    with pytest.raises(ValueError, match="unknown routing strategy"):
        Router(fleet, strategy="cheapest")  # type: ignore[arg-type]


def test_hour_is_local_and_only_looked_up_when_a_rule_reads_it(sample_text: str) -> None:
    fleet = with_rules(sample_text, """
[[rules]]
name = "night"
priority = 1
when = "hour >= 22 or hour < 6"
model = "local-llama"
""")
    router = Router(fleet)
    assert router.route("x", hour=23).rule == "night"
    assert router.route("x", hour=12).rule is None
    local = time.localtime().tm_hour
    assert (router.route("x").rule == "night") == (local >= 22 or local < 6)


# -- pinning, logging, ids --------------------------------------------------------------------------


def test_pinned_model_keeps_routings_choice_as_fallback(fleet: Fleet) -> None:
    router = Router(fleet)
    decision = router.route("ping", task="heartbeat", override="claude-opus")
    assert decision.override and decision.model_id == "claude-opus"
    assert decision.fallbacks[0] == "claude-haiku" and decision.rule == "heartbeats"
    assert decision.reason.startswith("pinned by the caller (routing picks claude-haiku")
    assert decision.call_attributes()["override"] is True
    with pytest.raises(ValueError, match="unknown model"):
        router.route("ping", override="nope")


def test_decisions_are_logged_and_a_failing_log_does_not_break_routing(fleet: Fleet) -> None:
    seen: list[RouteDecision] = []
    router = Router(fleet, on_decision=seen.append)
    decision = router.route("hi", task="heartbeat")
    assert seen == [decision]
    assert decision.rule == "heartbeats" and decision.decision_us > 0 and decision.strategy == "task-based"
    assert decision.as_json()["fallbacks"] == list(decision.fallbacks)

    def broken(_: RouteDecision) -> None:
        raise OSError("disk full")

    router.on_decision = broken
    assert router.route("hi", task="heartbeat").model_id == "claude-haiku"
    assert router.log_errors == 1


def test_decision_ids_are_unique_across_routers(fleet: Fleet) -> None:
    ids = {Router(fleet).route("x").decision_id for _ in range(5)}
    one = Router(fleet)
    ids |= {one.route("x").decision_id for _ in range(100)}
    assert len(ids) == 105


# -- hot reload -------------------------------------------------------------------------------------


def test_edits_are_picked_up_and_a_bad_edit_keeps_the_last_good_config(tmp_path: Path, sample_text: str) -> None:
    path = tmp_path / "fleet.toml"
    path.write_text(sample_text)
    router = Router.from_toml(path, check_interval_s=0.0)
    assert router.route("hi", **CASUAL).model_id == "local-llama"
    edited = sample_text.replace('model = "local-llama"\nfallbacks', 'model = "claude-haiku"\nfallbacks')
    write_atomically(path, edited)
    assert router.route("hi", **CASUAL).model_id == "claude-haiku"
    assert router.reloads == 1 and router.reload_error is None
    write_atomically(path, "this is [ not toml")
    assert router.route("hi", **CASUAL).model_id == "claude-haiku"
    assert router.reload_error and "invalid TOML" in router.reload_error
    write_atomically(path, edited.replace('model = "claude-haiku"\nfallbacks', 'model = "nope"\nfallbacks'))
    assert router.route("hi", **CASUAL).model_id == "claude-haiku"  # valid TOML, invalid fleet
    assert "unknown model 'nope'" in (router.reload_error or "")
    path.unlink()
    assert router.route("hi", **CASUAL).model_id == "claude-haiku"
    assert "No such file" in (router.reload_error or "")
    write_atomically(path, sample_text)  # fixed: taken, and the error cleared
    assert router.route("hi", **CASUAL).model_id == "local-llama" and router.reload_error is None


def test_the_file_is_checked_at_most_once_per_interval(tmp_path: Path, sample_text: str,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "fleet.toml"
    path.write_text(sample_text)
    router = Router.from_toml(path)  # the default: once a second
    stats = 0
    real = Path.stat

    def counting_stat(self: Path, *args: object, **kwargs: object) -> os.stat_result:
        nonlocal stats
        if self == path:
            stats += 1
        return real(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Path, "stat", counting_stat)
    write_atomically(path, sample_text.replace('model = "local-llama"\nfallbacks', 'model = "claude-haiku"\nfallbacks'))
    for _ in range(1000):
        router.route("hi", **CASUAL)
    assert stats == 0, "no stat within a second of the last check"
    assert router.route("hi", **CASUAL).model_id == "local-llama"
    assert router.reload() is True and stats == 1  # reload() checks at once
    assert router.route("hi", **CASUAL).model_id == "claude-haiku"
    assert router.reload() is False  # unchanged since


@pytest.mark.slow
def test_many_threads_route_while_the_file_changes(tmp_path: Path, sample_text: str) -> None:
    path = tmp_path / "fleet.toml"
    path.write_text(sample_text)
    router = Router.from_toml(path, check_interval_s=0.0)
    versions = [sample_text.replace('model = "local-llama"\nfallbacks', f'model = "{target}"\nfallbacks')
                for target in ("claude-haiku", "local-llama")]
    errors: list[BaseException] = []
    seen: set[str] = set()
    stop = threading.Event()

    def hammer() -> None:
        try:
            while not stop.is_set():
                seen.add(router.route("hi", **CASUAL).model_id)
                assert router.route("fix this bug", task="coding", complexity="medium").model_id == "claude-sonnet"
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=hammer) for _ in range(6)]
    for t in threads:
        t.start()
    for i in range(20):
        write_atomically(path, versions[i % 2])
        time.sleep(0.005)
    write_atomically(path, versions[0])
    time.sleep(0.02)
    stop.set()
    for t in threads:
        t.join()
    assert not errors
    assert seen <= {"claude-haiku", "local-llama"} and router.reload_error is None
    router.reload()
    assert router.route("hi", **CASUAL).model_id == "claude-haiku"
    assert router.reloads >= 2


# -- health from probes ------------------------------------------------------------------------------


def test_watch_health_skips_models_probes_find_down_and_forgets_old_probes(tmp_path: Path, sample_text: str) -> None:
    from fleetui.store import ProbeRecord, Store

    fleet_file, db = tmp_path / "fleet.toml", tmp_path / "fleetui.db"
    fleet_file.write_text(sample_text)
    router = Router.from_toml(fleet_file)
    router.watch_health(db, every_s=0.05)
    assert "no such database yet" in (router.health_error or "")
    assert router.route("hi", task="heartbeat").model_id == "claude-haiku"

    def routed_within(model_id: str, seconds: float = 5.0) -> bool:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if router.route("hi", task="heartbeat").model_id == model_id:
                return True
            time.sleep(0.02)
        return False

    with Store.open(db) as store:  # what `fleetui probe --watch` records
        store.record_probes([ProbeRecord("claude-haiku", "offline", error_type="ConnectError")])
    assert routed_within("gpt-4o-mini")  # the heartbeat role's next model
    assert router.health_error is None
    with Store.open(db) as store:
        store.record_probes([ProbeRecord("claude-haiku", "online", ts=time.time() + 1)])
    assert routed_within("claude-haiku")
    router.stop_watching_health()
    with pytest.raises(RuntimeError, match="already watches"):
        router.watch_health(db)
        router.watch_health(db)
    router.stop_watching_health()

    # A model found down two hours ago and not probed since is routed to again.
    old = tmp_path / "old.db"
    with Store.open(old) as store:
        store.record_probes([ProbeRecord("claude-haiku", "offline", ts=time.time() - 7200)])
    for max_age_s, expected in ((3600, "claude-haiku"), (3 * 86400, "gpt-4o-mini")):
        watching = Router.from_toml(fleet_file)
        watching.watch_health(old, every_s=60, max_age_s=max_age_s)
        assert watching.route("hi", task="heartbeat").model_id == expected
        watching.stop_watching_health()
