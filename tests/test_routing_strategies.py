"""Strategies beside the rules (cost-first, quality-first, adaptive) and A/B splits."""

from __future__ import annotations

import math
import random
from collections import Counter
from pathlib import Path

import pytest

from fleetui import Router
from fleetui.config.schema import Fleet
from fleetui.config.fleetfile import load_fleet
from fleetui.pricing import Pricer
from fleetui.routing import ABTest
from fleetui.routing.ab import two_proportion_p_value
from fleetui.routing.strategies import ThompsonSampler
from tests.conftest import SAMPLE_FLEET

KNOWN_ASSIGNMENTS = ["gpt-4o-mini", "gpt-4o-mini", "claude-haiku"]


@pytest.fixture
def fleet() -> Fleet:
    return load_fleet(SAMPLE_FLEET)


def blended(fleet: Fleet, model_id: str) -> float:
    price = Pricer(fleet).price_of(model_id)
    assert price is not None
    return price.input_per_mtok * 500 + price.output_per_mtok * 200


# -- cost-first -------------------------------------------------------------------------------------


def test_cost_first_takes_the_cheapest_model_able_to_do_the_tier(fleet: Fleet) -> None:
    router = Router(fleet, strategy="cost-first")
    simple = router.route("hi", complexity="simple")
    assert simple.model_id == "local-llama" and simple.rule is None and simple.strategy == "cost-first"
    complex_ = router.route("x", complexity="complex")
    chosen = fleet.model(complex_.model_id)
    assert chosen.capabilities.reasoning is not None and chosen.capabilities.reasoning >= 85
    able = [m.id for m in fleet.models if (m.capabilities.reasoning or 0) >= 85]
    assert all(blended(fleet, complex_.model_id) <= blended(fleet, other) for other in able)
    coding = router.route("x", task="coding", complexity="medium")
    assert (fleet.model(coding.model_id).capabilities.coding or 0) >= 70
    assert "medium coding" in coding.reason


def test_cost_first_respects_needed_capabilities(fleet: Fleet) -> None:
    router = Router(fleet, strategy="cost-first")
    vision = router.route("what is this?", complexity="simple", tags=["vision"])
    assert fleet.model(vision.model_id).capabilities.vision
    assert all(fleet.model(m).capabilities.vision for m in (vision.model_id, *vision.fallbacks))
    huge = router.route("x" * 600_000, complexity="complex")  # ~150k tokens: 128k windows are out
    assert all((fleet.model(m).context_window or 0) >= 150_000 for m in (huge.model_id, *huge.fallbacks))


def test_unpriced_models_are_unknown_not_free(fleet: Fleet) -> None:
    # A model served from a self-hosted endpoint under an unknown name has no price: it must
    # come after every priced model, never first as if it cost nothing.
    mystery = fleet.model("gpt-4o-mini").model_copy(update={"id": "mystery", "model": "mystery-7b",
                                                              "roles": [], "endpoint": "http://10.0.0.5:8000/v1"})
    fleet.models.append(mystery)
    assert Pricer(fleet).price_of("mystery") is None
    decision = Router(fleet, strategy="cost-first").route("hi", complexity="simple")
    order = (decision.model_id, *decision.fallbacks)
    assert order[0] != "mystery" and order[-1] == "mystery"


def test_when_no_model_meets_the_bar_it_is_dropped_not_the_request(fleet: Fleet) -> None:
    for model in fleet.models:
        model.capabilities.vision = False
    decision = Router(fleet, strategy="cost-first").route("look", complexity="simple", tags=["vision"])
    assert decision.model_id == "local-llama" and "no model has what the request needs" in decision.reason


# -- quality-first ----------------------------------------------------------------------------------


def test_quality_first_takes_the_best_score_in_the_tasks_dimension(fleet: Fleet) -> None:
    router = Router(fleet, strategy="quality-first")
    reasoning = router.route("x")
    assert reasoning.model_id == "claude-opus"  # reasoning 98
    coding = router.route("x", task="coding")
    # Opus and Sonnet both score 95 in coding: the tie goes to the cheaper one.
    assert coding.model_id == "claude-sonnet" and coding.fallbacks[0] == "claude-opus"
    writing = router.route("x", task="writing")
    assert writing.model_id == "claude-opus" and "creativity" in writing.reason


# -- adaptive ---------------------------------------------------------------------------------------


def test_adaptive_learns_which_model_succeeds_per_use_case(fleet: Fleet) -> None:
    router = Router(fleet, strategy="adaptive", seed=1)
    for _ in range(60):
        router.record_outcome(("casual_chat", "gpt-4o-mini"), success=True)
    for model in fleet.models:
        if model.id != "gpt-4o-mini":
            for _ in range(5):
                router.record_outcome(("casual_chat", model.id), success=False)
    picks = Counter(router.route("hey", use_case="casual_chat", complexity="simple").model_id for _ in range(50))
    assert picks["gpt-4o-mini"] >= 45
    other = Counter(router.route("hey", use_case="food_dining", complexity="simple").model_id for _ in range(50))
    assert len(other) > 2, "another use case has no evidence yet: it explores"


def test_adaptive_starts_from_the_logged_outcomes(fleet: Fleet, tmp_path: Path) -> None:
    import time

    from fleetui.store import CallRecord, Store

    db = tmp_path / "fleetui.db"
    assert Router(fleet, strategy="adaptive").learn_from_store(db) == 0  # no database yet: nothing learned
    now = time.time() - 3600
    with Store.open(db) as store:
        store.insert_calls(
            CallRecord(ts=now, model_id=model, use_case="casual_chat", task=task, success=ok)
            for model, task, successes in (("gpt-4o-mini", "chat", 400), ("gpt-4", "chat", 100))
            for ok in [True] * successes + [False] * (400 - successes)
        )
        store.insert_calls(CallRecord(ts=now - 90 * 86400, model_id="gpt-4", use_case="casual_chat", success=True)
                           for _ in range(5000))  # older than the window: not counted
    router = Router(fleet, strategy="adaptive", seed=2)
    assert router.learn_from_store(db) == 4  # casual_chat and the task chat, for both models
    assert router._sampler.belief("casual_chat", "gpt-4o-mini") == (51.0, 1.0)  # 400/400, weighed as 50
    assert router._sampler.belief("casual_chat", "gpt-4") == pytest.approx((13.5, 38.5))  # 100/400 as 12.5/37.5
    picks = Counter(router.route("hey", use_case="casual_chat", complexity="simple").model_id for _ in range(200))
    assert picks.most_common(1)[0][0] == "gpt-4o-mini" and picks["gpt-4"] < 5
    by_task = Counter(router.route("hey", task="chat", complexity="simple").model_id for _ in range(200))
    assert by_task.most_common(1)[0][0] == "gpt-4o-mini" and by_task["gpt-4o-mini"] > 150


def test_outcomes_by_decision_id_feed_the_right_arm() -> None:
    sampler_seeded = [ThompsonSampler(seed=3), ThompsonSampler(seed=3)]
    fleet = load_fleet(SAMPLE_FLEET)
    models = fleet.models[:4]
    orders = [s.order(models, {"use_case": "x"})[0] for s in sampler_seeded]
    assert orders[0] == orders[1], "a seeded sampler repeats itself"
    router = Router(fleet, strategy="adaptive", seed=0)
    decision = router.route("hello", use_case="faq", complexity="simple")
    assert router.record_outcome(decision.decision_id, success=True, quality=0.5)
    assert router._sampler.belief("faq", decision.model_id) == (1.5, 1.5)
    assert router.record_outcome(decision, success=False)
    assert router._sampler.belief("faq", decision.model_id) == (1.5, 2.5)
    assert router.record_outcome("no-such-decision", success=True) is False
    with pytest.raises(ValueError, match="quality"):
        router.record_outcome(decision, success=True, quality=7)


# -- A/B splits -------------------------------------------------------------------------------------


def test_ab_assignment_is_stable_weighted_and_independent_between_tests() -> None:
    test = ABTest("mini-vs-haiku", arms={"gpt-4o-mini": 1, "claude-haiku": 1})
    users = [f"user-{i}" for i in range(4000)]
    first = {u: test.assign(u) for u in users}
    assert first == {u: ABTest("mini-vs-haiku", arms={"gpt-4o-mini": 1, "claude-haiku": 1}).assign(u) for u in users}
    share = Counter(first.values())["gpt-4o-mini"] / len(users)
    assert 0.47 < share < 0.53
    skewed = ABTest("skewed", arms={"gpt-4o-mini": 9, "claude-haiku": 1})
    assert 0.87 < Counter(skewed.assign(u) for u in users)["gpt-4o-mini"] / len(users) < 0.93
    other = ABTest("another-test", arms={"gpt-4o-mini": 1, "claude-haiku": 1})
    same = sum(first[u] == other.assign(u) for u in users) / len(users)
    assert 0.45 < same < 0.55, "another test splits the same users independently"
    # Fixed by SHA-256 of "mini-vs-haiku\0<user>": the same in every process and release, which
    # Python's salted hash() would not be.
    assert [test.assign(u) for u in ("alice", "erin", "frank")] == KNOWN_ASSIGNMENTS
    with pytest.raises(ValueError, match="two or more arms"):
        ABTest("one", arms={"gpt-4o-mini": 1})
    with pytest.raises(ValueError, match="positive weights"):
        ABTest("zero", arms={"gpt-4o-mini": 1, "claude-haiku": 0})


def test_two_proportion_p_value_matches_the_textbook() -> None:
    # 60/100 vs 40/100: pooled 0.5, se = sqrt(0.25 * 0.02), z = 2.828, two-sided p = 0.00468.
    assert two_proportion_p_value(60, 100, 40, 100) == pytest.approx(math.erfc(2.8284271 / math.sqrt(2)), rel=1e-6)
    assert two_proportion_p_value(60, 100, 40, 100) == pytest.approx(0.00468, abs=1e-5)
    assert two_proportion_p_value(50, 100, 50, 100) == 1.0
    assert two_proportion_p_value(0, 0, 5, 10) == 1.0
    assert two_proportion_p_value(10, 10, 10, 10) == 1.0  # no variance: no evidence


def test_router_splits_a_rules_traffic_and_declares_a_real_winner(fleet: Fleet) -> None:
    router = Router(fleet)
    test = ABTest("casual-mini-vs-haiku", arms={"gpt-4o-mini": 1, "claude-haiku": 1}, rule="casual-to-local",
                  min_samples=200)
    router.add_ab_test(test)
    users = [f"user-{i}" for i in range(400)]
    decisions = {u: router.route("hi", use_case="casual_chat", complexity="simple", user=u) for u in users}
    assert all(d.model_id == test.assign(u) for u, d in decisions.items())
    assert all(d.strategy == "ab:casual-mini-vs-haiku" and d.ab_test == test.name for d in decisions.values())
    assert all(d.fallbacks[-1] != d.model_id for d in decisions.values())
    other_rule = router.route("ping", task="heartbeat", user="user-1")
    assert other_rule.ab_test is None and other_rule.strategy == "task-based", "only the test's rule takes part"
    anonymous = router.route("hi", use_case="casual_chat", complexity="simple")
    assert anonymous.ab_test is None and anonymous.model_id == "local-llama", "no user, no arm"

    assert test.result().winner is None and "not enough samples" in test.result().reason
    rng = random.Random(0)
    for _ in range(3):  # outcomes arrive by decision id, as an app reporting later would
        for user, decision in decisions.items():
            rate = 0.95 if decision.model_id == "gpt-4o-mini" else 0.80
            router.record_outcome(decision.decision_id, success=rng.random() < rate, quality=0.9)
    verdict = test.result()
    assert sum(arm.trials for arm in verdict.arms) == 1200
    assert verdict.winner == "gpt-4o-mini" and verdict.p_value < 0.001
    assert verdict.arm("gpt-4o-mini").mean_quality == pytest.approx(0.9)

    router.set_health({"claude-haiku": "offline"})
    haiku_user = next(u for u in users if test.assign(u) == "claude-haiku")
    down = router.route("hi", use_case="casual_chat", complexity="simple", user=haiku_user)
    assert down.model_id == "local-llama" and down.ab_test is None, "an arm that is down is not forced"


def test_no_winner_without_a_real_difference() -> None:
    even = ABTest("even", arms={"gpt-4o-mini": 1, "claude-haiku": 1}, min_samples=50)
    for i in range(300):
        even.record("gpt-4o-mini", i % 10 != 0)
        even.record("claude-haiku", i % 10 != 1)
    assert even.result().winner is None and "no significant difference" in even.result().reason
    small = ABTest("small", arms={"gpt-4o-mini": 1, "claude-haiku": 1}, min_samples=100)
    for _ in range(60):  # a big gap, but too few samples
        small.record("gpt-4o-mini", True)
        small.record("claude-haiku", False)
    assert small.result().winner is None and "not enough samples" in small.result().reason


def test_ab_tests_must_name_known_models_and_rules(fleet: Fleet) -> None:
    router = Router(fleet)
    with pytest.raises(ValueError, match="unknown model"):
        router.add_ab_test(ABTest("bad", arms={"gpt-4o-mini": 1, "nope": 1}))
    with pytest.raises(ValueError, match="unknown rule"):
        router.add_ab_test(ABTest("bad", arms={"gpt-4o-mini": 1, "claude-haiku": 1}, rule="nope"))
