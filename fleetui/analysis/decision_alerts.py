"""What in the logged routing decisions needs a look (the spec's routing alerts). The same
thresholds make the routing recommendations (`fleetui.analysis.recommend.routing_issues`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fleetui.store.decisions import DecisionSummary

LOW_CONFIDENCE = 0.6  # mean confidence of the complexity estimate
HIGH_ESCALATION = 0.30  # share of decisions sent one tier up
HIGH_OVERRIDE = 0.15  # share of decisions the app overrode
MIN_DECISIONS = 50  # fewer say too little to alert on


def decision_alerts(summary: DecisionSummary) -> list[str]:
    """Alerts for a `fleetui.store.decisions.decision_summary`, each saying what to do."""
    total = summary.decisions
    if total < MIN_DECISIONS:
        return []
    alerts = []
    if summary.mean_confidence is not None and summary.mean_confidence < LOW_CONFIDENCE:
        alerts.append(f"low confidence: the complexity estimate averages {summary.mean_confidence:.2f} "
                      f"(under {LOW_CONFIDENCE}); pass complexity= from the app where it knows, or add rules "
                      "on task and use case")
    escalated = summary.escalated / total
    if escalated > HIGH_ESCALATION:
        alerts.append(f"high escalation: {escalated:.0%} of decisions went one tier up (over "
                      f"{HIGH_ESCALATION:.0%}), which costs more; pass complexity= or lower escalate_below")
    overridden = summary.overridden / total
    if overridden > HIGH_OVERRIDE:
        alerts.append(f"high override rate: the app overrode {overridden:.0%} of decisions (over "
                      f"{HIGH_OVERRIDE:.0%}); the rules do not pick what it wants — see `fleetui decisions --json`")
    return alerts
