"""A recommendation in sentences: what kind, how much work, how often, what it saves, on what evidence.

The stored numbers (`n`, `candidate_n`, `window_days`, …) are for scripts (`fleetui recommend
--json`); a person reads them as sentences, with the id `fleetui apply` takes.
"""

from __future__ import annotations

from typing import Any

from rich.markup import escape

from fleetui.analysis.learned_advice import LearnedAdvice
from fleetui.analysis.recommend import Kind, Recommendation
from fleetui.pricing import format_cost

KIND_LABEL = {
    Kind.CHEAPER_MODEL: "switch a use case to a cheaper model",
    Kind.EXPENSIVE_ON_CASUAL: "route casual queries to a cheaper model",
    Kind.LOW_SUCCESS: "a model that fails too often",
    Kind.UNDERUSED_MODEL: "a model that is barely used",
    Kind.BUDGET_FORECAST: "budget forecast",
    Kind.MODEL_UNHEALTHY: "a model that does not answer its probes",
    Kind.HIGH_OVERRIDE_RATE: "routing decisions overridden often",
    Kind.LOW_CONFIDENCE_ROUTE: "a route decided with low confidence",
}
# What doing it takes: one routing rule (`p` writes it) is low; anything needing a look is more.
EFFORT = {
    Kind.CHEAPER_MODEL: "low: one routing rule (p writes it)",
    Kind.EXPENSIVE_ON_CASUAL: "low: one routing rule",
    Kind.LOW_SUCCESS: "medium: look at its errors, then fix or replace it",
    Kind.UNDERUSED_MODEL: "low: give it a role or disable it",
    Kind.BUDGET_FORECAST: "medium: move traffic to cheaper models or raise the budget",
    Kind.MODEL_UNHEALTHY: "low: check its key, endpoint and model name (`fleetui doctor`)",
    Kind.HIGH_OVERRIDE_RATE: "medium: revise the rule users override",
    Kind.LOW_CONFIDENCE_ROUTE: "medium: sharpen the rule's condition",
}


def _pct(rate: Any) -> str:
    return "—" if rate is None else f"{100 * float(rate):.1f}%"


def detail_text(rec: Recommendation) -> str:
    """Rich markup for the detail pane under the Recommendations table."""
    kind = Kind(rec.kind)
    n: dict[str, Any] = rec.numbers
    lines = [f"[b]{escape(rec.title)}[/]   [dim]id[/] {rec.id}",
             escape(rec.sentence),
             f"[dim]type[/] {KIND_LABEL.get(kind, kind.value)}   [dim]effort[/] {EFFORT.get(kind, '—')}"]
    calls, days = n.get("n"), n.get("window_days")
    if isinstance(calls, int) and isinstance(days, int) and days > 0:
        lines.append(f"[dim]frequency[/] {calls:,} calls in {days} days (about {calls / days:,.0f} a day)")
    monthly = n.get("saving_monthly_usd")
    if isinstance(monthly, int | float):
        yearly = n.get("saving_yearly_usd", 12 * monthly)
        lines.append(f"[dim]saves[/] {format_cost(monthly / 30)} a day · {format_cost(monthly)} per 30 days · {format_cost(yearly)} a year"
                     + (f" ({n['saving_pct']:.0f}%)" if isinstance(n.get("saving_pct"), int | float) else ""))
        if isinstance(n.get("current_monthly_usd"), int | float) and isinstance(n.get("projected_monthly_usd"), int | float):
            lines.append(f"[dim]cost[/] {format_cost(n['current_monthly_usd'])} per 30 days now → "
                         f"{format_cost(n['projected_monthly_usd'])} after")
    evidence = _evidence(rec, n)
    if evidence:
        lines.append(f"[dim]evidence[/] {evidence}")
    if rec.implementation:
        apply = f" (p here, or `fleetui apply {rec.id}`)" if Kind(rec.kind).moves_traffic else ""
        lines.append(f"[dim]how[/] {escape(rec.implementation)}{apply}")
    if rec.verification:
        mark = "[green]verified[/]" if rec.verified else "[yellow]replayed, not verified[/]"
        lines.append(f"{mark}: {escape(rec.verification)}")
    elif rec.can_verify:
        lines.append("[dim]v: verify by replaying past prompts on the cheaper model, with a judge you pick[/]")
    return "\n".join(lines)


def _evidence(rec: Recommendation, n: dict[str, Any]) -> str:
    parts = []
    if "success_current" in n and "success_candidate" in n:
        diff = n.get("success_diff_pp")
        ci = n.get("success_diff_ci95_pp")
        spread = f", 95% interval {ci[0]:+.1f} to {ci[1]:+.1f} points" if isinstance(ci, list) and len(ci) == 2 else ""
        parts.append(f"success {_pct(n['success_current'])} on {rec.current_model} (n={n.get('n', 0):,}) vs "
                     f"{_pct(n['success_candidate'])} on {rec.recommended_model} (n={n.get('candidate_n', 0):,})"
                     + (f", {diff:+.1f} points{spread}" if isinstance(diff, int | float) else ""))
    if n.get("quality_current") is not None and n.get("quality_candidate") is not None:
        parts.append(f"quality {_pct(n['quality_current'])} → {_pct(n['quality_candidate'])}")
    elif "success_current" in n:
        parts.append("no quality scores yet: judged replays (v) or feedback add them")
    if "success_rate" in n:
        parts.append(f"success {_pct(n['success_rate'])} of {n.get('n', 0):,} calls")
    if "share_pct" in n:
        parts.append(f"{n.get('n', 0):,} of {n.get('total_calls', 0):,} calls ({n['share_pct']:.1f}%)")
    if "projected_usd" in n and "budget_usd" in n:
        parts.append(f"month to date {format_cost(n.get('month_to_date_usd') or 0)}, projected {format_cost(n['projected_usd'])}"
                     f" of {format_cost(n['budget_usd'] or 0)}")
    if "override_rate" in n and n["override_rate"] is not None:
        parts.append(f"{100 * n['override_rate']:.1f}% of {n.get('n', 0):,} routed calls overridden")
    if "mean_confidence" in n and n["mean_confidence"] is not None:
        parts.append(f"mean confidence {n['mean_confidence']:.2f} over {n.get('n', 0):,} calls")
    if "status" in n and rec.kind == Kind.MODEL_UNHEALTHY:
        parts.append(f"last {n.get('n', 0)} probes: {n['status']}")
    return "; ".join(parts)


def learned_detail_text(advice: LearnedAdvice) -> str:
    """Rich markup for a learned router's row: its target, evidence and what to do, in sentences."""
    lines = [f"[b]{escape(advice.title)}[/]   [dim]id[/] {advice.id}", escape(advice.sentence),
             "[dim]type[/] route with a learned router   [dim]effort[/] "
             + ("low: one routing rule (p writes it)" if advice.actionable else "none")]
    if advice.saving_per_30_days_usd is not None:
        lines.append(f"[dim]saves[/] {format_cost(advice.saving_per_30_days_usd)} per 30 days "
                     f"({escape(advice.saving_basis or '')})")
    elif advice.actionable:
        lines.append("[dim]saves[/] unknown in dollars: "
                     + ("the held-out calls carry no cost (unpriced or free)" if advice.saves is None else
                        "the router was trained on a file without dates, so there is no rate to scale"))
    for sentence in advice.evidence_sentences():
        lines.append(f"[dim]evidence[/] {escape(sentence)}")
    if advice.fix:
        lines.append(f"[dim]how[/] {escape(advice.fix)}")
    if advice.rule_change:
        lines.append(f"[dim]how[/] {escape(advice.rule_change)} (p here, or `fleetui apply {advice.id}`)")
    elif advice.in_use:
        lines.append(f"[dim]in use[/] by rule {escape(', '.join(advice.rules))}; `fleetui router eval {advice.router}` "
                     "has every target's figures")
    lines.append(f"[dim]v: verified on held-out logs at train time; retrain with `fleetui router train "
                 f"{advice.router}`[/]")
    return "\n".join(lines)
