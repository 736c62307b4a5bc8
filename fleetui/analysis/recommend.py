"""Recommendations: what to change, each with the numbers behind it and one business sentence.

Every recommendation carries its sample size, current and projected monthly cost, the saving per
month and year, and the success difference with its uncertainty. Monthly figures scale the
analysed window (default 30 days) to 30 days. Ids are stable (kind + subject), so re-running
updates a recommendation instead of duplicating it, and one the user dismissed stays dismissed.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

from fleetui import clock
from fleetui.analysis.costs import per_30_days
from fleetui.analysis.decision_alerts import (
    HIGH_OVERRIDE,
    LOW_CONFIDENCE,
    MIN_DECISIONS,
)
from fleetui.analysis.ranking import ModelInUseCase, rank_use_cases, wilson_interval
from fleetui.config.schema import Fleet
from fleetui.pricing import Pricer, blended_per_mtok
from fleetui.store import Store, analytics

CASUAL = ("casual_chat", "food_dining", "quick_lookup")
UNDERUSED_SHARE = 0.015  # an enabled model serving less than this share of calls is "barely used"


class Kind(StrEnum):
    """What a recommendation is about; stored in `recommendations.kind`."""

    CHEAPER_MODEL = "cheaper_model"
    EXPENSIVE_ON_CASUAL = "expensive_on_casual"
    LOW_SUCCESS = "low_success"
    UNDERUSED_MODEL = "underused_model"
    BUDGET_FORECAST = "budget_forecast"
    MODEL_UNHEALTHY = "model_unhealthy"
    HIGH_OVERRIDE_RATE = "high_override_rate"
    LOW_CONFIDENCE_ROUTE = "low_confidence_route"

    @property
    def moves_traffic(self) -> bool:
        """It proposes moving a model's traffic to a cheaper model (so a replay can verify it)."""
        return self in (Kind.CHEAPER_MODEL, Kind.EXPENSIVE_ON_CASUAL)


class Severity(StrEnum):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"

    @property
    def rank(self) -> int:
        """Sort order: high first."""
        return (Severity.HIGH, Severity.MEDIUM, Severity.LOW).index(self)


@dataclass
class Recommendation:
    kind: Kind
    severity: Severity
    title: str
    sentence: str
    numbers: dict[str, Any]
    use_case: str | None = None
    role: str | None = None  # a fleet role the recommendation is about
    route: str | None = None  # a route (rule or role name) routing decisions were logged under
    current_model: str | None = None
    recommended_model: str | None = None
    status: str = "new"
    id: str = ""
    implementation: str = ""
    verified_by: str | None = None  # the replay run that checked it (`fleetui replay`)
    verification: str | None = None  # that run's sentence
    verified: bool | None = None  # whether the run found a candidate that passes

    @property
    def can_verify(self) -> bool:
        """A replay can test it: it proposes moving a model's traffic to a cheaper one."""
        return Kind(self.kind).moves_traffic and self.current_model is not None

    def __post_init__(self) -> None:
        if not self.id:
            # A route once sat in `role`; the subject keeps that place so stored ids stay the same.
            subject = f"{self.kind}|{self.use_case}|{self.role or self.route}|{self.current_model}"
            self.id = "rec-" + hashlib.sha256(subject.encode()).hexdigest()[:8]

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Window:
    days: int
    since_day: str

    @property
    def to_month(self) -> float:
        return per_30_days(1.0, self.days)


def _money(x: float) -> str:
    return f"${x:,.0f}" if abs(x) >= 10 else f"${x:,.2f}"


@dataclass(frozen=True)
class Evidence:
    """What every detector looks at: one signature, `(Evidence) -> list[Recommendation]`."""

    fleet: Fleet
    store: Store
    ranking: dict[str, list[ModelInUseCase]]
    window: Window
    now: float


Detector = Callable[[Evidence], list[Recommendation]]


def _severity(monthly_saving: float) -> Severity:
    return Severity.HIGH if monthly_saving >= 50 else Severity.MEDIUM if monthly_saving >= 5 else Severity.LOW


def diff_interval(a: ModelInUseCase, b: ModelInUseCase) -> tuple[float, float, float]:
    """Success-rate difference b − a with a 95% normal interval, in percentage points."""
    pa, pb = a.success_rate, b.success_rate
    se = math.sqrt(max(pa * (1 - pa), 1e-9) / max(a.n, 1) + max(pb * (1 - pb), 1e-9) / max(b.n, 1))
    d = pb - pa
    return 100 * d, 100 * (d - 1.96 * se), 100 * (d + 1.96 * se)


def _reprice(pricer: Pricer, model_id: str, calls: ModelInUseCase) -> float | None:
    price = pricer.price_of(model_id)
    if price is None:
        return None
    return price.cost(calls.input_tokens, calls.output_tokens, min(calls.cached_input_tokens, calls.input_tokens))


def cheaper_model(evidence: Evidence) -> list[Recommendation]:
    """Per use case: move its most expensive model's traffic to a cheaper one that does as well."""
    fleet, ranking, window = evidence.fleet, evidence.ranking, evidence.window
    pricer = Pricer(fleet)
    limits = fleet.recommendations
    enabled = {m.id for m in fleet.models if m.enabled}
    out = []
    for use_case, models in ranking.items():
        ranked = [m for m in models if m.ranked]
        spenders = sorted((m for m in ranked if m.cost_usd > 0), key=lambda m: -m.cost_usd)
        if not spenders:
            continue
        current = spenders[0]
        best: tuple[float, ModelInUseCase, float] | None = None
        for candidate in ranked:
            if candidate.model_id == current.model_id or candidate.model_id not in enabled:
                continue
            projected = _reprice(pricer, candidate.model_id, current)
            if projected is None or current.cost_usd <= 0:
                continue
            saving_pct = 100 * (current.cost_usd - projected) / current.cost_usd
            drop = 100 * (current.success_rate - candidate.success_rate)
            quality_drop = 0.0
            if current.quality is not None and candidate.quality is not None and current.quality > 0:
                quality_drop = 100 * (current.quality - candidate.quality) / current.quality
            if (saving_pct < limits.min_saving_pct or drop > limits.max_quality_drop_pct
                    or quality_drop > limits.max_quality_drop_pct or candidate.n < limits.min_samples):
                continue
            if best is None or projected < best[2]:
                best = (saving_pct, candidate, projected)
        if best is None:
            continue
        saving_pct, candidate, projected = best
        monthly_now = current.cost_usd * window.to_month
        monthly_then = projected * window.to_month
        saving = monthly_now - monthly_then
        d, low, high = diff_interval(current, candidate)
        numbers = {
            "n": current.n, "candidate_n": candidate.n, "window_days": window.days,
            "current_monthly_usd": round(monthly_now, 2), "projected_monthly_usd": round(monthly_then, 2),
            "saving_monthly_usd": round(saving, 2), "saving_yearly_usd": round(12 * saving, 2),
            "saving_pct": round(saving_pct, 1),
            "success_current": round(current.success_rate, 4), "success_candidate": round(candidate.success_rate, 4),
            "success_diff_pp": round(d, 2), "success_diff_ci95_pp": [round(low, 2), round(high, 2)],
            "quality_current": None if current.quality is None else round(current.quality, 3),
            "quality_candidate": None if candidate.quality is None else round(candidate.quality, 3),
        }
        out.append(Recommendation(
            kind=Kind.CHEAPER_MODEL, severity=_severity(saving), use_case=use_case,
            current_model=current.model_id, recommended_model=candidate.model_id,
            title=f"Switch {use_case} from {current.model_id} to {candidate.model_id}",
            sentence=(f"Switching {use_case} from {current.model_id} to {candidate.model_id} saves "
                      f"{_money(saving)} per 30 days ({saving_pct:.0f}%); success {100 * current.success_rate:.1f}% → "
                      f"{100 * candidate.success_rate:.1f}%, n={current.n:,}"),
            numbers=numbers,
            implementation=f"add a rule `use_case == \"{use_case}\"` → model {candidate.model_id} "
                           f"(fallback {current.model_id})",
        ))
    return out


def expensive_on_casual(evidence: Evidence) -> list[Recommendation]:
    """Casual traffic (chat, food, lookups) on expensive models: route it to the cheapest capable one."""
    fleet, ranking, window = evidence.fleet, evidence.ranking, evidence.window
    pricer = Pricer(fleet)
    prices = {m.id: p for m in fleet.models if m.enabled and (p := pricer.price_of(m.id)) is not None}
    if not prices:
        return []
    blended = {k: blended_per_mtok(p) for k, p in prices.items()}
    cheapest = min(blended, key=lambda k: blended[k])
    ordered = sorted(blended.values())
    expensive_line = ordered[len(ordered) * 2 // 3]  # the top third by price
    totals: dict[str, dict[str, Any]] = {}
    for use_case in CASUAL:
        for m in ranking.get(use_case, []):
            if m.model_id not in blended or blended[m.model_id] < expensive_line or m.model_id == cheapest:
                continue
            entry = totals.setdefault(m.model_id, {"n": 0, "cost": 0.0, "alt": 0.0, "use_cases": []})
            entry["n"] += m.n
            entry["cost"] += m.cost_usd
            entry["alt"] += _reprice(pricer, cheapest, m) or 0.0
            entry["use_cases"].append(use_case)
    out = []
    for model_id, t in totals.items():
        if t["n"] == 0:
            continue
        per_call = t["cost"] / t["n"]
        saving = (t["cost"] - t["alt"]) * window.to_month
        out.append(Recommendation(
            kind=Kind.EXPENSIVE_ON_CASUAL, severity=_severity(saving), current_model=model_id,
            recommended_model=cheapest, use_case=",".join(t["use_cases"]),
            title=f"Route casual queries away from {model_id}",
            sentence=(f"{model_id} answered {t['n']:,} casual queries in {window.days} days (costs "
                      f"${per_call:.4f}/req) → route casual queries to {cheapest}: saves "
                      f"{_money(saving)} per 30 days"),
            numbers={
                "n": t["n"], "window_days": window.days, "cost_per_call_usd": round(per_call, 6),
                "current_monthly_usd": round(t["cost"] * window.to_month, 2),
                "projected_monthly_usd": round(t["alt"] * window.to_month, 2),
                "saving_monthly_usd": round(saving, 2), "saving_yearly_usd": round(12 * saving, 2),
                "use_cases": t["use_cases"],
            },
            implementation=f"rule `use_case in {list(CASUAL)} and complexity == \"simple\"` → {cheapest}",
        ))
    return out


def low_success(evidence: Evidence) -> list[Recommendation]:
    """Models whose success rate is under 95% even at the optimistic end of its interval."""
    by_model: dict[str, list[int]] = {}
    for models in evidence.ranking.values():
        for m in models:
            acc = by_model.setdefault(m.model_id, [0, 0])
            acc[0] += m.successes
            acc[1] += m.n
    out = []
    for model_id, (ok, n) in by_model.items():
        if n < evidence.fleet.ranking.min_samples:
            continue
        high = wilson_interval(ok, n)[1]
        if high < 0.95:  # even the optimistic bound is under 95%
            out.append(Recommendation(
                kind=Kind.LOW_SUCCESS, severity=Severity.HIGH, current_model=model_id,
                title=f"{model_id} fails too often",
                sentence=f"{model_id} succeeded on {100 * ok / n:.1f}% of {n:,} calls (95% CI up to {100 * high:.1f}%)",
                numbers={"n": n, "success_rate": round(ok / n, 4), "success_ci95_high": round(high, 4)},
                implementation="check its errors (`fleetui probe --deep`), add a fallback to its rules",
            ))
    return out


def underused(evidence: Evidence) -> list[Recommendation]:
    """Enabled models that serve almost none of the traffic (standby models excepted)."""
    counts: dict[str, int] = {}
    for models in evidence.ranking.values():
        for m in models:
            counts[m.model_id] = counts.get(m.model_id, 0) + m.n
    total = sum(counts.values())
    out: list[Recommendation] = []
    if total < 100:
        return out
    for model in evidence.fleet.models:
        used = counts.get(model.id, 0)
        if model.enabled and used / total < UNDERUSED_SHARE and "standby" not in model.tags:
            out.append(Recommendation(
                kind=Kind.UNDERUSED_MODEL, severity=Severity.LOW, current_model=model.id,
                title=f"{model.id} is barely used",
                sentence=f"{model.id} served {used:,} of {total:,} calls ({100 * used / total:.1f}%): "
                         "give it traffic it is good at, or disable it",
                numbers={"n": used, "total_calls": total, "share_pct": round(100 * used / total, 2)},
            ))
    return out


def budget_forecast(evidence: Evidence) -> list[Recommendation]:
    """The month-end projection at or over the critical level of the fleet's budget, or of a
    model's own (`[budget.per_model]`)."""
    from fleetui.analysis.costs import cost_report

    report = cost_report(evidence.fleet, evidence.store)
    out = []
    budget = report.budget
    if budget.level == "critical" and budget.monthly_usd:
        over = report.projection - budget.monthly_usd
        out.append(Recommendation(
            kind=Kind.BUDGET_FORECAST, severity=Severity.HIGH if over > 0 else Severity.MEDIUM,
            title="Month-end spend is heading over the budget" if over > 0 else "Spend is near the budget",
            sentence=f"Projected month-end spend {_money(report.projection)} against a {_money(budget.monthly_usd)} "
                     f"budget ({budget.used_pct:.0f}%)",
            numbers={"month_to_date_usd": round(report.this_month, 2), "projected_usd": round(report.projection, 2),
                     "budget_usd": budget.monthly_usd, "used_pct": budget.used_pct},
        ))
    for entry in report.model_budgets:
        status = entry.status
        if status.level != "critical" or not status.monthly_usd:
            continue
        over = status.projected - status.monthly_usd
        out.append(Recommendation(
            kind=Kind.BUDGET_FORECAST, severity=Severity.HIGH if over > 0 else Severity.MEDIUM,
            current_model=entry.model_id,
            title=f"{entry.model_id} is heading over its budget" if over > 0 else f"{entry.model_id} is near its budget",
            sentence=f"{entry.model_id}: projected month-end spend {_money(status.projected)} against its "
                     f"{_money(status.monthly_usd)} budget ({status.used_pct:.0f}%)",
            numbers={"month_to_date_usd": round(status.month_to_date, 2), "projected_usd": round(status.projected, 2),
                     "budget_usd": status.monthly_usd, "used_pct": status.used_pct},
            implementation=f"route some of {entry.model_id}'s traffic to a cheaper model, or raise "
                           f"[budget.per_model] {entry.model_id}",
        ))
    return out


def unhealthy(evidence: Evidence) -> list[Recommendation]:
    """Enabled models that their latest probes find offline, unauthorised or misconfigured; one
    item per status, so that a machine without keys shows one setup step, not one HIGH item a
    model above the savings. Misconfigured (no key, a bad URL) is a setup step routing already
    works around (it skips those models): MEDIUM; offline or refused keys: HIGH."""
    from fleetui.probes import model_status

    by_status: dict[str, list[tuple[str, str]]] = {}
    for model in evidence.fleet.models:
        if not model.enabled:
            continue
        recent = evidence.store.recent_probes(model.id, 5)
        status = model_status(recent)
        if status in ("offline", "auth_failed", "misconfigured"):
            by_status.setdefault(status, []).append((model.id, recent[0].message or ""))
    out = []
    for status, models in by_status.items():
        said = status.replace("_", " ")
        # A missing key or model name is a setup step, not an outage: it sorts after every item
        # that saves money (the demo, with no keys, had eleven HIGH ones above them all).
        severity = Severity.LOW if status == "misconfigured" else Severity.HIGH
        if len(models) == 1:
            (model_id, message), = models
            out.append(Recommendation(
                kind=Kind.MODEL_UNHEALTHY, severity=severity, current_model=model_id,
                title=f"{model_id} is {said}", sentence=f"{model_id} is {said} in its last probe: {message}",
                numbers={"n": 1, "status": status, "models": [model_id]},
                implementation="fix its key or endpoint, or disable it so routing skips it",
            ))
            continue
        names = [m for m, _ in models]
        out.append(Recommendation(
            kind=Kind.MODEL_UNHEALTHY, severity=severity, route=f"status:{status}",
            title=f"{len(models)} models are {said}",
            sentence=f"{', '.join(names)} are {said} in their last probes; first: {models[0][1]}",
            numbers={"n": len(models), "status": status, "models": names},
            implementation="set their keys (`fleetui key list` shows which are missing) or fix their endpoints, "
                           "or disable them so routing skips them",
        ))
    return out


def routing_issues(evidence: Evidence) -> list[Recommendation]:
    """Routing decisions that are often overridden, or routes that decide with low confidence."""
    from fleetui.analysis.usage import routing_stats

    stats = routing_stats(evidence.store, clock.window_start(evidence.window.days, evidence.now))
    out = []
    if stats.routed_calls >= MIN_DECISIONS and (stats.override_rate or 0) > HIGH_OVERRIDE:
        out.append(Recommendation(
            kind=Kind.HIGH_OVERRIDE_RATE, severity=Severity.MEDIUM,
            title="Routing decisions are overridden often",
            sentence=f"{100 * (stats.override_rate or 0):.0f}% of {stats.routed_calls:,} routed calls were overridden",
            numbers={"n": stats.routed_calls, "override_rate": stats.override_rate},
        ))
    for route in stats.routes:
        if route.calls >= MIN_DECISIONS and route.confidence is not None and route.confidence < LOW_CONFIDENCE:
            out.append(Recommendation(
                kind=Kind.LOW_CONFIDENCE_ROUTE, severity=Severity.MEDIUM, route=route.route,
                title=f"Route {route.route} decides with low confidence",
                sentence=f"route {route.route}: mean confidence {route.confidence:.2f} over {route.calls:,} calls",
                numbers={"n": route.calls, "mean_confidence": route.confidence},
            ))
    return out


DETECTORS: tuple[Detector, ...] = (
    cheaper_model, expensive_on_casual, low_success, underused, budget_forecast, unhealthy, routing_issues,
)


def recommend(fleet: Fleet, store: Store, days: int = 30, now: float | None = None) -> list[Recommendation]:
    now = clock.now() if now is None else now
    since_day = clock.window_start_day(days, now)
    evidence = Evidence(fleet, store, rank_use_cases(fleet, store, since_day), Window(days, since_day), now)
    found = [rec for detector in DETECTORS for rec in detector(evidence)]
    found.sort(key=lambda r: (Severity(r.severity).rank, -float(r.numbers.get("saving_monthly_usd") or 0)))
    return found


@dataclass(frozen=True)
class UseCaseSaving:
    """One use case's spend against the cheapest model that keeps its quality, with the evidence."""

    use_case: str
    calls: int
    actual_usd: float  # over the window, priced calls only
    best_model: str | None  # None: no model passes the quality limit for less
    optimal_usd: float  # actual_usd when best_model is None
    success_now: float  # the use case's success rate over all its calls
    success_best: float | None
    quality_now: float | None  # satisfaction or judge score, 0–1, when any was given
    quality_best: float | None
    best_n: int  # the evidence: how many calls of the best model the figures rest on
    reason: str

    @property
    def quality_measured(self) -> bool:
        """Both sides have a quality figure; else the switch rests on success rates alone."""
        return self.quality_now is not None and self.quality_best is not None


@dataclass(frozen=True)
class Savings:
    window_days: int
    max_quality_drop_pct: float  # the fleet's limit every switch here stays within
    actual_per_30_days_usd: float
    optimal_per_30_days_usd: float
    saving_per_30_days_usd: float
    saving_pct: float | None  # None: nothing priced to compare
    per_use_case: tuple[UseCaseSaving, ...]

    @property
    def saving_with_quality_evidence_usd(self) -> float:
        """The part of the saving whose switches have quality measured on both sides, per 30 days."""
        scale = per_30_days(1.0, self.window_days)
        return round(sum(r.actual_usd - r.optimal_usd for r in self.per_use_case if r.quality_measured) * scale, 2)

    def as_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["saving_with_quality_evidence_usd"] = self.saving_with_quality_evidence_usd
        for row, data in zip(self.per_use_case, out["per_use_case"], strict=True):
            data["quality_measured"] = row.quality_measured
        return out


def savings(fleet: Fleet, store: Store, days: int = 30) -> Savings:
    """What the window's traffic would have cost with each use case on the cheapest model whose
    measured success (and quality, where known) stays within `max_quality_drop_pct` of what the
    use case gets today and that has `min_samples` calls of evidence. Scaled to 30 days at the
    window's rate ("per 30 days", not the calendar month `fleetui costs` projects)."""
    since_day = clock.window_start_day(days)
    pricer = Pricer(fleet)
    limits = fleet.recommendations
    actual = optimal = 0.0
    per_use_case = []
    for use_case, models in rank_use_cases(fleet, store, since_day).items():
        n = sum(m.n for m in models)
        spent = sum(m.cost_usd for m in models)
        if not n or not any(m.priced_calls for m in models):
            continue
        success_now = sum(m.successes for m in models) / n
        rated = [m for m in models if m.quality is not None]
        quality_now = (sum((m.quality or 0.0) * m.n for m in rated) / sum(m.n for m in rated)) if rated else None
        best: tuple[float, ModelInUseCase] | None = None
        for m in models:
            if not m.ranked or m.n < limits.min_samples or pricer.price_of(m.model_id) is None:
                continue
            if 100 * (success_now - m.success_rate) > limits.max_quality_drop_pct:
                continue
            if quality_now and m.quality is not None and \
                    100 * (quality_now - m.quality) / quality_now > limits.max_quality_drop_pct:
                continue
            could = sum(_reprice(pricer, m.model_id, other) or 0.0 for other in models)
            if could < spent and (best is None or could < best[0]):
                best = (could, m)
        actual += spent
        if best is None:
            optimal += spent
            per_use_case.append(UseCaseSaving(
                use_case, n, round(spent, 2), None, round(spent, 2), round(success_now, 4), None,
                None if quality_now is None else round(quality_now, 3), None, 0,
                f"no cheaper model with {limits.min_samples}+ calls stays within {limits.max_quality_drop_pct:g}% "
                "of its success and quality"))
            continue
        could, m = best
        optimal += could
        reason = f"success {100 * success_now:.1f}% → {100 * m.success_rate:.1f}% over {m.n:,} calls of {m.model_id}"
        if quality_now is not None and m.quality is not None:
            reason += f"; quality {100 * quality_now:.0f}% → {100 * m.quality:.0f}%"
        else:
            reason += "; quality not measured: verify with `fleetui replay`"
        per_use_case.append(UseCaseSaving(
            use_case, n, round(spent, 2), m.model_id, round(could, 2), round(success_now, 4),
            round(m.success_rate, 4), None if quality_now is None else round(quality_now, 3),
            None if m.quality is None else round(m.quality, 3), m.n, reason))
    scale = per_30_days(1.0, days)
    return Savings(
        window_days=days, max_quality_drop_pct=limits.max_quality_drop_pct,
        actual_per_30_days_usd=round(actual * scale, 2), optimal_per_30_days_usd=round(optimal * scale, 2),
        saving_per_30_days_usd=round((actual - optimal) * scale, 2),
        saving_pct=round(100 * (actual - optimal) / actual, 1) if actual else None,
        per_use_case=tuple(per_use_case),
    )


def store_recommendations(store: Store, found: list[Recommendation], now: float | None = None) -> list[Recommendation]:
    """Upsert by id, keeping the user's status (accepted, dismissed, applied) on re-runs."""
    now = time.time() if now is None else now
    existing = analytics.recommendation_statuses(store)
    checked = analytics.recommendation_verifications(store)
    rows = []
    for rec in found:
        rec.status = existing.get(rec.id, "new")
        if rec.id in checked:
            rec.verified_by, rec.verification, rec.verified = checked[rec.id]
        rows.append({
            "id": rec.id, "created_ts": now, "updated_ts": now, "kind": rec.kind, "severity": rec.severity,
            "title": rec.title, "sentence": rec.sentence, "use_case": rec.use_case, "role": rec.role,
            "current_model": rec.current_model, "recommended_model": rec.recommended_model,
            "numbers": {**rec.numbers, "implementation": rec.implementation,
                        **({"route": rec.route} if rec.route else {})},
            "status": rec.status,
        })
    analytics.upsert_recommendations(store, rows)
    return found
