"""Learned routers as recommendations: for each router beside the fleet file, the cheapest
calibrated quality target within the fleet's `max_quality_drop_pct`, with its held-out evidence.

A router file (`NAME.router.json`, made by `fleetui router train NAME`) carries what was measured
on prompts it never learned from: on the calibration half the quality and cost shares of the
reference model's with bootstrap intervals, on the test half the same figures measured apart.
That is all the evidence there is: no call is replayed here. One function (:func:`learned_advice`)
serves `fleetui recommend` (text and JSON), `fleetui savings` and the app's Recommendations tab.

Money: the router's held-out costs say what share of "every prompt to the reference model" the
router costs. A saving per 30 days follows only when those costs are priced and the data came
from a dated window of the store (then: the window's labelled prompts, at the window's rate);
otherwise it is unknown (None), never $0.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fleetui.analysis.costs import per_30_days
from fleetui.analysis.recommend import Severity
from fleetui.config.schema import Fleet, RoutingRule, parse_quality_target
from fleetui.pricing import format_cost, format_share

if TYPE_CHECKING:
    from fleetui.config.change import Change
    from fleetui.routing.learned.fileformat import SavedRouter

KIND = "learned_router"
ID_PREFIX = "learned:"


def _measured(saved: SavedRouter) -> list[tuple[dict[str, Any], dict[str, Any] | None]]:
    """Each calibrated target, lowest share first, with its figures on the test half (None when
    the file has none for it)."""
    on_test = {p["share"]: p for p in saved.meta["metrics"]["router"]}
    return [(c, on_test.get(c["share"])) for c in sorted(saved.meta["calibration"], key=lambda c: c["share"])]


def _falls_below(c: dict[str, Any], tested: dict[str, Any] | None, floor: float) -> str | None:
    """How a calibrated target's quality falls below `floor`, in words; None when it does not.
    The test half never chose λ, so its figure must stay within the limit too."""
    low = c["quality_share_ci"][0]
    if low < floor - 1e-9:
        return f"{format_share(low)} at the low end of its 95% interval"
    share = None if tested is None else tested.get("quality_share")
    if share is not None and share < floor - 1e-9:
        return f"{format_share(share)} on the test half"
    return None


def recommendation(saved: SavedRouter, max_drop_pct: float) -> dict[str, Any] | None:
    """The cheapest calibrated target within the fleet's `max_quality_drop_pct`, whose quality
    interval on held-out prompts stays within it too; None when none does."""
    floor = 1 - max_drop_pct / 100
    for c, tested in _measured(saved):
        if (c["share"] >= floor - 1e-9 and c["price_weight"] is not None and tested is not None
                and tested.get("quality_share") is not None and _falls_below(c, tested, floor) is None):
            return {**c, "test": tested}
    return None


@dataclass(frozen=True)
class LearnedEvidence:
    """What the recommended target rests on: held-out prompts the router never learned from."""

    reference: str
    share: float  # the quality target, a share of the reference's quality
    price_weight: float
    quality_share: float | None  # realised on the calibration half
    quality_share_ci: tuple[float, float]
    cost_share: float | None  # of every prompt to the reference; None: the held-out calls carry no cost
    cost_share_ci: tuple[float, float] | None
    test_quality_share: float | None  # measured apart, on the test half
    test_cost_share: float | None
    calibration_prompts: int
    test_prompts: int
    prompts: int
    cross_fitted: bool  # calibrated on out-of-fold predictions (a small log), not a held-out half
    source: str
    since: str | None
    until: str | None

    @property
    def calibration_kind(self) -> str:
        return "out-of-fold" if self.cross_fitted else "held-out"

    @property
    def quality_target(self) -> str:
        return f"{self.share:.0%} of {self.reference}"

    @property
    def window(self) -> str:
        return f"{self.source}" + (f", {self.since} to {self.until}" if self.since and self.until else "")

    def as_json(self) -> dict[str, Any]:
        return {"reference": self.reference, "quality_target": self.quality_target, "share": self.share,
                "price_weight": self.price_weight, "quality_share": self.quality_share,
                "quality_share_ci": list(self.quality_share_ci), "cost_share": self.cost_share,
                "cost_share_ci": None if self.cost_share_ci is None else list(self.cost_share_ci),
                "test": {"quality_share": self.test_quality_share, "cost_share": self.test_cost_share,
                         "prompts": self.test_prompts},
                "calibration_prompts": self.calibration_prompts, "calibration": self.calibration_kind,
                "prompts": self.prompts,
                "data": {"source": self.source, "since": self.since, "until": self.until}}


@dataclass(frozen=True)
class LearnedAdvice:
    """One learned router as a recommendation (or why it makes none)."""

    router: str
    in_use: bool
    rules: tuple[str, ...]  # the enabled rules with learned = router
    max_drop_pct: float
    evidence: LearnedEvidence | None = None
    problem: str | None = None  # the router file cannot be used
    saving_per_30_days_usd: float | None = None  # vs every prompt to the reference; None: unknown
    saving_basis: str | None = None  # how the saving was scaled, in words
    # What the file said, for `fleetui savings --json` (the keys it has always had).
    found: dict[str, Any] | None = field(default=None, repr=False)
    data: dict[str, Any] | None = field(default=None, repr=False)
    # Rules using the router whose own target is outside the limit, in sentences.
    outside: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        return ID_PREFIX + self.router

    @property
    def saves(self) -> bool | None:
        """The target costs less than every prompt to the reference on held-out prompts (None: unpriced)."""
        if self.evidence is None or self.evidence.cost_share is None:
            return None
        return self.evidence.cost_share < 1 - 1e-9

    @property
    def actionable(self) -> bool:
        """There is a rule worth adding: a usable target that is not dearer than the reference
        (or unpriced), and no rule using the router yet."""
        return self.evidence is not None and not self.in_use and self.saves is not False

    @property
    def severity(self) -> Severity:
        if self.outside:  # the fleet routes now at a quality its own limit does not allow
            return Severity.HIGH
        if not self.actionable:
            return Severity.LOW
        saving = self.saving_per_30_days_usd
        if saving is None:  # a measured cheaper routing whose size is not in dollars, or no costs at all
            return Severity.MEDIUM if self.saves else Severity.LOW
        return Severity.HIGH if saving >= 50 else Severity.MEDIUM if saving >= 5 else Severity.LOW

    @property
    def status(self) -> str:
        if self.in_use:
            return "in use"
        if self.problem:
            return "problem"
        return "no target" if self.evidence is None else "new" if self.actionable else "no saving"

    @property
    def title(self) -> str:
        e = self.evidence
        if self.problem:
            return f"Learned router {self.router} cannot be used"
        if self.outside:
            return (f"Learned router {self.router} (rule {', '.join(self.rules)}): a target outside "
                    f"max_quality_drop_pct = {self.max_drop_pct:g}%")
        if e is None:
            return f"Learned router {self.router}: no target within {self.max_drop_pct:g}% of quality"
        if self.in_use:
            return f"Learned router {self.router} (rule {', '.join(self.rules)}): {e.quality_target} is the cheapest in the limit"
        if not self.actionable:
            return f"Learned router {self.router}: no cheaper routing than all-{e.reference} within the limit"
        return f"Route with learned router {self.router} at {e.quality_target}"

    @property
    def rule_change(self) -> str | None:
        """The fleet-file change to make, in TOML words; None when there is none."""
        if not self.actionable or self.evidence is None:
            return None
        return f'add a rule: when = "true", learned = "{self.router}", quality_target = "{self.evidence.quality_target}"'

    @property
    def fix(self) -> str | None:
        """What to change when a rule's target is outside the limit; None when nothing is."""
        if not self.outside:
            return None
        if self.evidence is None:
            return (f"raise the rule's target, or retrain {self.router} on more logs: no calibrated target of it "
                    "stays within the limit")
        return (f'set quality_target = "{self.evidence.quality_target}" in rule {", ".join(self.rules)}: the cheapest '
                "target its held-out logs keep within the limit")

    @property
    def sentence(self) -> str:
        if self.outside and not self.problem:
            return " ".join(self.outside) + " " + self._sentence()
        return self._sentence()

    def _sentence(self) -> str:
        e = self.evidence
        if self.problem:
            return f"{self.problem}"
        if e is None:
            return (f"No calibrated target of {self.router} keeps quality within max_quality_drop_pct = "
                    f"{self.max_drop_pct:g}% on the prompts it was calibrated and measured on (the 95% interval included).")
        cost = ("its held-out calls carry no cost (unpriced or free), so the saving is unknown"
                if e.cost_share is None or e.cost_share_ci is None else
                f"it costs {format_share(e.cost_share)} [{format_share(e.cost_share_ci[0])}–{format_share(e.cost_share_ci[1])}] of sending every "
                f"prompt to {e.reference}")
        saving = (f", about {format_cost(self.saving_per_30_days_usd)} less per 30 days than all-{e.reference}"
                  if self.saving_per_30_days_usd is not None else "")
        head = (f"Rule {', '.join(self.rules)} routes with {self.router}; at quality_target = \"{e.quality_target}\" it"
                if self.in_use else f"A rule routing with {self.router} at quality_target = \"{e.quality_target}\"")
        return (f"{head} keeps {format_share(e.quality_share_ci[0])}–{format_share(e.quality_share_ci[1])} of {e.reference}'s "
                f"quality on held-out prompts; {cost}{saving}.")

    def evidence_sentences(self) -> list[str]:
        """The evidence a person reads: what was measured, on how many prompts, from which data."""
        e = self.evidence
        if e is None:
            return []
        out = [f"calibrated on {e.calibration_prompts} {e.calibration_kind} prompts: quality {format_share(e.quality_share)} of "
               f"{e.reference}'s (95% interval {format_share(e.quality_share_ci[0])}–{format_share(e.quality_share_ci[1])})"
               + ("" if e.cost_share is None or e.cost_share_ci is None else
                  f", cost {format_share(e.cost_share)} of all-{e.reference} (95% interval {format_share(e.cost_share_ci[0])}–"
                  f"{format_share(e.cost_share_ci[1])})"),
               f"measured apart on {e.test_prompts} more: quality {format_share(e.test_quality_share)}, cost "
               + ("unknown (no priced calls)" if e.test_cost_share is None or e.cost_share is None
                  else format_share(e.test_cost_share)),
               f"trained on {e.prompts} labelled prompts from {e.window}"]
        return out

    def as_savings_json(self) -> dict[str, Any]:
        """`fleetui savings --json`'s `learned_routers` entry (its keys are what scripts read)."""
        out: dict[str, Any] = {"router": self.router, "in_use": self.in_use, "recommendation": self.found}
        if self.problem:
            out["problem"] = self.problem
        if self.data is not None:
            out["data"] = self.data
        out["saving_per_30_days_usd"] = self.saving_per_30_days_usd
        return out

    def as_recommendation_json(self) -> dict[str, Any]:
        """`fleetui recommend --json`'s entry: the keys the store's recommendations have, where they
        mean something here, and the router's own evidence."""
        return {"id": self.id, "kind": KIND, "severity": str(self.severity), "status": self.status,
                "title": self.title, "sentence": self.sentence, "router": self.router, "in_use": self.in_use,
                "rule_in_fleet": self.rules[0] if self.rules else None,
                "recommended_model": None, "current_model": None, "use_case": None,
                "numbers": {"saving_monthly_usd": self.saving_per_30_days_usd, "saving_basis": self.saving_basis},
                "evidence": None if self.evidence is None else self.evidence.as_json(),
                "implementation": self.rule_change or self.fix or "",
                "change": None if self.rule_change is None or self.evidence is None else
                {"learned": self.router, "quality_target": self.evidence.quality_target, "when": "true",
                 "apply": f"fleetui apply {self.id}"},
                "problem": self.problem, "rules_outside_limit": list(self.outside)}


def _window_days(data: dict[str, Any]) -> int | None:
    """The calendar days of a training window, both ends counted: `--since 30d` on 2026-12-02
    records 2026-11-03 to 2026-12-02, 30 days (fleetui.clock's N-day windows)."""
    since, until = data.get("since"), data.get("until")
    if not since or not until:
        return None
    try:
        days = (dt.date.fromisoformat(str(until)) - dt.date.fromisoformat(str(since))).days + 1
    except ValueError:
        return None
    return max(days, 1)


def _evidence(saved: SavedRouter, found: dict[str, Any]) -> tuple[LearnedEvidence, float | None, str | None]:
    """The typed evidence, and the saving per 30 days (with its basis) where the figures give one."""
    data = saved.meta["data"]
    test = found.get("test", {})
    ref = str(found["reference"])
    ref_test_cost = saved.meta["metrics"].get("single_models", {}).get(ref, {}).get("cost_usd")
    priced = isinstance(ref_test_cost, int | float) and ref_test_cost > 0 and test.get("cost_share") is not None
    evidence = LearnedEvidence(
        reference=ref, share=float(found["share"]), price_weight=float(found["price_weight"]),
        quality_share=(float(found["quality"]) / float(found["reference_quality"])
                       if found.get("reference_quality") else None),
        quality_share_ci=(float(found["quality_share_ci"][0]), float(found["quality_share_ci"][1])),
        cost_share=float(found["cost_share"]) if priced else None,
        cost_share_ci=(float(found["cost_share_ci"][0]), float(found["cost_share_ci"][1])) if priced else None,
        test_quality_share=test.get("quality_share"), test_cost_share=test.get("cost_share") if priced else None,
        calibration_prompts=int(data["calibration_prompts"]), test_prompts=int(data["test_prompts"]),
        prompts=int(data["prompts"]), cross_fitted=bool(data.get("cross_fitted_folds")),
        source=str(data.get("source", "?")),
        since=data.get("since"), until=data.get("until"))
    days = _window_days(data)
    if not priced or days is None or not evidence.test_prompts or evidence.test_cost_share is None:
        return evidence, None, None
    assert isinstance(ref_test_cost, int | float)
    per_prompt = float(ref_test_cost) / evidence.test_prompts * (1 - evidence.test_cost_share)
    saving = round(per_30_days(per_prompt * evidence.prompts, days), 2)
    basis = (f"against sending each of the {evidence.prompts} labelled prompts of {days} day{'s' * (days != 1)} to {ref}, "
             "at the cost share measured on the test half")
    return evidence, saving, basis


def learned_advice(fleet: Fleet, fleet_file: Path) -> list[LearnedAdvice]:
    """For each learned router — the ones the fleet's rules use, and the ones trained beside the
    fleet file that no rule uses yet (`in_use` False: the recommendation is to add a rule) — its
    cheapest target within the fleet's `max_quality_drop_pct` and the evidence, or why there is
    none. Reads the router files: call it off the UI thread."""
    from fleetui.routing.learned.fileformat import RouterFileError, load, path_for

    limit = float(fleet.recommendations.max_quality_drop_pct)
    using: dict[str, list[str]] = {}
    for rule in fleet.rules:
        if rule.learned and rule.enabled:
            using.setdefault(rule.learned, []).append(rule.name)
    try:
        trained = sorted(p.name.removesuffix(".router.json") for p in fleet_file.parent.glob("*.router.json"))
    except OSError:
        trained = []
    out: list[LearnedAdvice] = []
    for name in dict.fromkeys([*using, *trained]):
        rules = tuple(using.get(name, ()))
        in_use = bool(rules)
        try:
            saved = load(path_for(fleet_file, name))
        except RouterFileError as exc:
            out.append(LearnedAdvice(name, in_use, rules, limit, problem=str(exc)))
            continue
        if not set(saved.model.models) <= {m.id for m in fleet.models}:
            if in_use:  # `fleetui validate` says more; an unused router of another fleet is not ours
                out.append(LearnedAdvice(name, True, rules, limit,
                                         problem="it names models this fleet does not have; retrain it"))
            continue
        advice = advise(saved, limit, rules)
        outside = tuple(found for rule in fleet.rules if rule.enabled and rule.learned == name
                        if (found := rule_outside_limit(rule, saved, limit)) is not None)
        out.append(replace(advice, outside=outside) if outside else advice)
    return out


def rule_outside_limit(rule: RoutingRule, saved: SavedRouter, max_drop_pct: float) -> str | None:
    """A sentence when the rule's own target lets quality fall further than the fleet's limit:
    a share below it, or a calibrated target whose 95% interval (or test-half figure) does.
    None when it stays within, or when the rule sets a price weight (no quality to compare)."""
    from fleetui.routing.learned.train import PROFILES

    if rule.price_weight is not None:
        return None
    floor = 1 - max_drop_pct / 100
    if rule.quality_target is not None:
        try:
            share, reference = parse_quality_target(rule.quality_target)
        except ValueError:
            return None  # `fleetui validate` reports it
        asked = f'quality_target = "{rule.quality_target}"'
    else:
        share, reference = PROFILES[rule.profile or "balanced"], saved.default_reference
        asked = f'profile = "{rule.profile or "balanced"}" ({share:.0%} of {reference})'
    if share < floor - 1e-9:
        return (f"Rule {rule.name} asks for {asked}: up to {1 - share:.0%} less quality than {reference}, beyond "
                f"max_quality_drop_pct = {max_drop_pct:g}%.")
    if reference != saved.default_reference:
        return None  # calibrated against another model: no interval to read
    for c, tested in _measured(saved):
        measured = _falls_below(c, tested, floor) if abs(c["share"] - share) <= 1e-9 and c["price_weight"] is not None \
            else None
        if measured is not None:
            return (f"Rule {rule.name} asks for {asked}; held-out logs put its quality at {measured} of "
                    f"{reference}'s, beyond max_quality_drop_pct = {max_drop_pct:g}%.")
    return None


def advise(saved: SavedRouter, max_drop_pct: float, rules: tuple[str, ...] = ()) -> LearnedAdvice:
    """One loaded router as a recommendation under the limit; `rules` are the ones using it."""
    found = recommendation(saved, max_drop_pct)
    if found is None:
        return LearnedAdvice(saved.name, bool(rules), rules, max_drop_pct, data=saved.meta["data"])
    evidence, saving, basis = _evidence(saved, found)
    return LearnedAdvice(saved.name, bool(rules), rules, max_drop_pct, evidence=evidence,
                         saving_per_30_days_usd=saving, saving_basis=basis, found=found, data=saved.meta["data"])


def plan_rule(advice: LearnedAdvice, fleet_file: Path) -> Change:
    """The fleet-file change a learned router's recommendation asks for (`fleetui apply
    learned:NAME`, `p` in the app). Raises AlreadyInFleet when a rule uses the router, CannotApply
    (one line saying why) when there is nothing to add."""
    from fleetui.routing.apply import AlreadyInFleet, CannotApply, plan_learned

    name = advice.router
    if advice.in_use:
        raise AlreadyInFleet(f"rule {advice.rules[0]} in {fleet_file} already uses learned router {name!r}",
                             advice.rules[0])
    if advice.problem:
        raise CannotApply(f"learned router {name}: {advice.problem}")
    if advice.evidence is None:
        raise CannotApply(f"learned router {name}: no target keeps quality within max_quality_drop_pct = "
                          f"{advice.max_drop_pct:g}% on its held-out prompts; nothing to apply (retrain on more logs)")
    if advice.saves is False:
        raise CannotApply(f"learned router {name}: within the limit it costs as much as sending every prompt to "
                          f"{advice.evidence.reference}; a rule would save nothing")
    return plan_learned(fleet_file, name, advice.evidence.quality_target,
                        f"Added by `fleetui apply {advice.id}`: {advice.sentence}")
