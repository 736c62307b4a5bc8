"""Turn an accepted recommendation into a routing rule in the fleet file (a learned router's
recommendation into a rule that routes with it), or end an A/B test by pointing its rule at the winner.

All edit the file in place (comments, order and layout stay; a new rule goes after the last
rule, not under another section's comments) and return a :class:`fleetui.config.change.Change`
to show and write; the new text is validated as a whole fleet before anything is written.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from fleetui.config.change import Change
from fleetui.config.fleetfile import edit_fleet_text, fleet_file_text, parse_fleet
from fleetui.config.schema import Fleet
from fleetui.config.writer import read_text

CASUAL = ["casual_chat", "food_dining", "quick_lookup"]


class CannotApply(ValueError):
    pass


class AlreadyInFleet(CannotApply):
    """The fleet file already has a rule with this condition and target: nothing to add. The
    store may have been regenerated (the demo's is, daily) and forgotten the "applied" status;
    the fleet file is what says what is applied."""

    def __init__(self, message: str, rule: str) -> None:
        super().__init__(message)
        self.rule = rule


def _same_condition(a: str, b: str) -> bool:
    """Conditions written the same up to spacing and quote style."""
    def norm(text: str) -> str:
        return re.sub(r"\s+", "", text).replace("'", '"')
    return norm(a) == norm(b)


def rule_in_fleet(fleet: Fleet, rec: dict[str, Any]) -> str | None:
    """The name of the fleet's rule that already does what the recommendation asks, if any."""
    try:
        rule, _ = rule_for(rec, set())
    except CannotApply:
        return None
    for existing in fleet.rules:
        if existing.model_id == rule["model"] and _same_condition(existing.when, rule["when"]):
            return existing.name
    return None


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-")[:60] or "rule"


def rule_for(rec: dict[str, Any], existing_names: set[str]) -> tuple[dict[str, Any], str]:
    """(the rule's fields, the comment above it) for a recommendation row from the store."""
    kind = rec["kind"]
    target = rec.get("recommended_model")
    current = rec.get("current_model")
    if kind == "cheaper_model" and rec.get("use_case") and target:
        when = f'use_case == "{rec["use_case"]}"'
        name = f"use-{target}-for-{rec['use_case']}"
    elif kind == "expensive_on_casual" and target:
        when = f'use_case in {CASUAL} and complexity == "simple"'.replace("'", '"')
        name = f"casual-to-{target}"
    else:
        raise CannotApply(f"a {kind} recommendation has no routing change to apply; act on it by hand")
    name = _slug(name)
    base, n = name, 2
    while name in existing_names:
        name, n = f"{base}-{n}", n + 1
    rule = {"name": name, "priority": 45, "when": when, "model": target,
            "fallbacks": [current] if current and current != target else []}
    return rule, f"Added by `fleetui apply {rec['id']}`: {rec.get('sentence', '')}"


def plan(path: Path, rec: dict[str, Any]) -> Change:
    """The recommendation's rule added after the file's last rule, under the rules' own comments;
    every other line stays as it is. Raises FleetFileError when the result would not be valid."""
    old = read_text(path)
    fleet = parse_fleet(old, path)
    present = rule_in_fleet(fleet, rec)
    if present is not None:
        raise AlreadyInFleet(f"{rec['id']} is already in {path}: rule {present} routes {rec.get('use_case') or 'it'} "
                             f"to {rec.get('recommended_model')}", present)
    rule, comment = rule_for(rec, {r.name for r in fleet.rules})
    return _add_rule(path, old, fleet, rule, comment)


def plan_learned(path: Path, router: str, quality_target: str, note: str) -> Change:
    """A rule routing every call no other rule takes with the learned router `router` at
    `quality_target` ("95% of MODEL"), after the file's last rule; `note` is its comment. Raises
    AlreadyInFleet when a rule uses the router already, CannotApply when the rule could not work."""
    old = read_text(path)
    fleet = parse_fleet(old, path)
    using = next((r for r in fleet.rules if r.learned == router), None)
    if using is not None:
        raise AlreadyInFleet(f"rule {using.name} in {path} already uses learned router {router!r}"
                             + ("" if using.enabled else " (disabled: set enabled = true)"), using.name)
    catch_all = next((r for r in fleet.rules if r.enabled and _same_condition(r.when, "true")), None)
    if catch_all is not None:
        raise CannotApply(f"rule {catch_all.name} in {path} already takes every call (when = \"true\"); point it at "
                          f"the router by hand: learned = \"{router}\", quality_target = \"{quality_target}\"")
    name = _slug(f"learned-{router}")
    base, n = name, 2
    while name in {r.name for r in fleet.rules}:
        name, n = f"{base}-{n}", n + 1
    # Lower runs first: after every rule, so the router takes only what no rule decides.
    priority = max((r.priority for r in fleet.rules), default=90) + 10
    rule = {"name": name, "priority": priority, "when": "true", "learned": router, "quality_target": quality_target}
    return _add_rule(path, old, fleet, rule, note)


def _add_rule(path: Path, old: str, fleet: Fleet, rule: dict[str, Any], comment: str) -> Change:
    """The fleet with `rule` added after its last rule, validated as a whole and written into the
    file's own text (comments and layout kept)."""
    data = fleet.model_dump()
    data["rules"].append(rule)
    try:
        candidate = Fleet.model_validate(data)
    except ValueError as exc:
        raise CannotApply(f"the rule would not be valid in {path}: {str(exc).splitlines()[-1]}") from None
    try:
        new = edit_fleet_text(old, candidate, notes={"rules": {rule["name"]: comment}})
    except Exception as exc:  # noqa: BLE001 - tomlkit raises its own kinds; either way nothing is written
        raise CannotApply(f"cannot add the rule to {path} in place ({exc}); add it by hand") from None
    return Change(path, old, new, rule["name"])


def plan_ab_winner(path: Path, test_name: str, winner: str) -> Change:
    """Route the A/B test's rule to `winner` (the rule's other targets become its fallbacks) and
    disable the test, which stays in the file as a record. The file is edited in place."""
    old = read_text(path)
    fleet = parse_fleet(old, path)
    test = next((t for t in fleet.ab_tests if t.name == test_name), None)
    if test is None:
        raise CannotApply(f"no A/B test {test_name!r} in {path}")
    if winner not in test.arms:
        raise CannotApply(f"{winner!r} is not an arm of A/B test {test_name!r} ({', '.join(test.arms)})")
    if test.rule is None:
        raise CannotApply(f"A/B test {test_name!r} splits all traffic, not a rule's: there is no rule to point "
                          f"at {winner}; make it the first holder of the `default` role by hand")
    rule = next(r for r in fleet.rules if r.name == test.rule)
    before = fleet.targets_of(rule)
    data = fleet.model_dump()
    for entry in data["rules"]:
        if entry["name"] == rule.name:
            entry.update(model=winner, role=None,
                         fallbacks=[m for m in dict.fromkeys([*before, *rule.fallbacks]) if m != winner])
    for entry in data["ab_tests"]:
        if entry["name"] == test_name:
            entry.update(enabled=False, description=f"ended: {winner} won; rule {rule.name} routes to it")
    new = fleet_file_text(Fleet.model_validate(data), path, base=old)  # validated, comments and layout kept
    return Change(path, old, new, rule.name)
