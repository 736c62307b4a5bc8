"""Turn an accepted recommendation into a routing rule in the fleet file, or end an A/B test
by pointing its rule at the winner.

A recommendation's rule is appended as text, so everything the user wrote — comments, order,
layout — stays as it was; an ended A/B test edits its rule in place the same way. The new text is
validated as a whole fleet before anything is written, then written atomically with the previous
file kept as `<name>.bak`.
"""

from __future__ import annotations

import difflib
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fleetui.config.schema import Fleet
from fleetui.config.fleetfile import fleet_file_text, parse_fleet

CASUAL = ["casual_chat", "food_dining", "quick_lookup"]


class CannotApply(ValueError):
    pass


@dataclass(frozen=True)
class Change:
    path: Path
    old_text: str
    new_text: str
    subject: str  # what the change is about: the rule added or routed, the model changed

    @property
    def diff(self) -> str:
        return "".join(difflib.unified_diff(
            self.old_text.splitlines(keepends=True), self.new_text.splitlines(keepends=True),
            fromfile=f"{self.path} (now)", tofile=f"{self.path} (after apply)",
        ))


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-")[:60] or "rule"


def rule_for(rec: dict[str, Any], existing_names: set[str]) -> tuple[str, str]:
    """(rule name, TOML block) for a recommendation row from the store."""
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
    fallbacks = f'["{current}"]' if current and current != target else "[]"
    block = (
        f"\n# Added by `fleetui apply {rec['id']}`: {rec.get('sentence', '')}\n"
        f"[[rules]]\nname = \"{name}\"\npriority = 45\nwhen = '{when}'\nmodel = \"{target}\"\nfallbacks = {fallbacks}\n"
    )
    return name, block


def plan(path: Path, rec: dict[str, Any]) -> Change:
    old = path.read_text(encoding="utf-8")
    fleet = parse_fleet(old, path)
    name, block = rule_for(rec, {r.name for r in fleet.rules})
    new = old + ("" if old.endswith("\n") else "\n") + block
    parse_fleet(new, path)  # raises FleetFileError: nothing is written unless the result is valid
    return Change(path, old, new, name)


def plan_ab_winner(path: Path, test_name: str, winner: str) -> Change:
    """Route the A/B test's rule to `winner` (the rule's other targets become its fallbacks) and
    disable the test, which stays in the file as a record. The file is edited in place."""
    old = path.read_text(encoding="utf-8")
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
    before = [rule.model] if rule.model else [m.id for m in fleet.models_in_role(rule.role or "")]
    data = fleet.model_dump()
    for entry in data["rules"]:
        if entry["name"] == rule.name:
            entry.update(model=winner, role=None,
                         fallbacks=[m for m in dict.fromkeys([*before, *rule.fallbacks]) if m != winner])
    for entry in data["ab_tests"]:
        if entry["name"] == test_name:
            entry.update(enabled=False, description=f"ended: {winner} won; rule {rule.name} routes to it")
    new = fleet_file_text(Fleet.model_validate(data), path)  # validated, comments and layout kept
    return Change(path, old, new, rule.name)


def write(change: Change) -> None:
    path = change.path
    if path.read_text(encoding="utf-8") != change.old_text:
        raise CannotApply(f"{path} changed since the diff was shown; run apply again")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(change.new_text)
            handle.flush()
            os.fsync(handle.fileno())
        shutil.copy2(path, path.with_name(path.name + ".bak"))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
