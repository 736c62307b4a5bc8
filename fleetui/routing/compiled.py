"""One version of the fleet compiled for routing: everything a decision needs, computed once.

Conditions become closures, rules are indexed by the facts they require, endpoints and prices
are looked up, learned rules get their router loaded and cut to the fleet's models. A reload
builds a new `CompiledFleet` and the router swaps it in with one assignment.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fleetui.config.schema import Fleet, Model
from fleetui.routing.ab import ABTest
from fleetui.routing.conditions import Predicate, parse_condition
from fleetui.routing.index import RuleIndex
from fleetui.routing.strategies import blended_prices

if TYPE_CHECKING:
    from fleetui.routing.learned.decide import LearnedTarget

DEFAULT_ROLE = "default"
Signature = tuple[tuple[int, int, int], ...]


@dataclass(frozen=True, slots=True)
class CompiledRule:
    name: str
    when: str
    predicate: Predicate
    targets: tuple[str, ...]  # the model, or the role's models by priority, then the fallbacks
    reason: str
    learned: LearnedTarget | None = None  # a learned rule orders its models per prompt
    budget_degrade: bool = True


@dataclass(frozen=True, slots=True)
class CompiledFleet:
    fleet: Fleet
    rules: tuple[CompiledRule, ...]  # enabled rules, in priority order
    index: RuleIndex
    models: dict[str, Model]
    endpoints: dict[str, str]
    prices: dict[str, float]  # blended USD per 1M tokens; unpriced models are absent
    default_role: tuple[str, ...]
    reads_hour: bool  # the local time is looked up only when a rule reads it
    smallest_context: float  # tokens; a prompt under it fits every model
    ab_tests: tuple[ABTest, ...]  # the fleet file's enabled A/B tests
    never_blocked: frozenset[str]  # free or local models: budgets never step away from them
    router_files: tuple[Path, ...] = ()  # learned routers read, watched like the fleet file
    # Orders of models when no rule decides, by what the request needs (see Router._without_rule).
    orderings: dict[tuple[Any, ...], tuple[tuple[str, ...], str]] = field(default_factory=dict)


def compile_fleet(fleet: Fleet, routers_dir: Path | None = None) -> CompiledFleet:
    from fleetui.routing.budget import never_blocked

    enabled = sorted((r for r in fleet.rules if r.enabled), key=lambda r: r.priority)  # stable: file order
    learned: dict[str, LearnedTarget] = {}
    if any(r.learned for r in enabled):  # numpy is imported only for fleets that use it
        from fleetui.routing.learned.decide import load_targets

        learned = load_targets(enabled, routers_dir, {m.id for m in fleet.models})
    rules: list[CompiledRule] = []
    conditions = []
    reads_hour = False
    for rule in enabled:
        condition = parse_condition(rule.when)
        target = learned.get(rule.name)
        if target is not None:
            targets = list(target.models)
        else:
            targets = fleet.targets_of(rule)
        targets += [f for f in rule.fallbacks if f not in targets]
        reason = f"rule {rule.name}: {rule.when}"
        rules.append(CompiledRule(rule.name, rule.when, condition.evaluate, tuple(targets), reason, target,
                                  rule.budget_degrade is not False))
        conditions.append(condition)
        reads_hour = reads_hour or "hour" in condition.attributes
    prices = blended_prices(fleet)
    files = tuple(sorted({routers_dir / f"{r.learned}.router.json" for r in enabled if r.learned})) if routers_dir else ()
    return CompiledFleet(
        fleet=fleet, rules=tuple(rules), index=RuleIndex(conditions),
        models={m.id: m for m in fleet.models},
        endpoints={m.id: fleet.base_url_of(m) for m in fleet.models},
        prices=prices,
        default_role=tuple(m.id for m in fleet.models_in_role(DEFAULT_ROLE)),
        reads_hour=reads_hour,
        smallest_context=min((m.context_window for m in fleet.models if m.context_window), default=float("inf")),
        ab_tests=tuple(ABTest(t.name, dict(t.arms), rule=t.rule, min_samples=t.min_samples, alpha=t.alpha)
                       for t in fleet.ab_tests if t.enabled),
        never_blocked=never_blocked(fleet, prices),
        router_files=files,
    )


def carry_over_outcomes(old: CompiledFleet, new: CompiledFleet) -> None:
    """Keep the outcomes counted in this process for A/B tests a reload left as they were."""
    before = {t.name: t for t in old.ab_tests}
    for test in new.ab_tests:
        previous = before.get(test.name)
        if previous is not None and previous.arms.keys() == test.arms.keys() and previous.rule == test.rule:
            test.take_outcomes(previous)


def file_signature(paths: tuple[Path, ...]) -> Signature:
    # The inode changes when an editor or `save_fleet` renames a new file into place, even
    # within one mtime tick.
    out = []
    for path in paths:
        stat = path.stat()
        out.append((stat.st_mtime_ns, stat.st_size, stat.st_ino))
    return tuple(out)
