"""A/B test results from the call log: each arm's outcomes and whether one arm really wins.

The router records an A/B arm's calls under the route `ab:<test>` (see
`RouteDecision.call_attributes`), so results hold across processes and restarts, and survive the
test's removal from the fleet file (`fleetui ab NAME` still reads them).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from fleetui.config.schema import ABTestSpec, Fleet
from fleetui.routing.ab import ABVerdict, Arm, verdict
from fleetui.store import analytics
from fleetui.store.store import Store


@dataclass(frozen=True)
class ABResult:
    """A test as the call log tells it, with what the fleet file says of it."""

    verdict: ABVerdict
    in_fleet_file: bool  # False: the file no longer has it (ended?) but the log does
    enabled: bool
    rule: str | None  # None: every routed request takes part
    min_samples: int
    alpha: float
    calls: int

    def as_json(self) -> dict[str, Any]:
        v = self.verdict
        return {"test": v.test, "arms": v.arms_json(), "p_value": v.p_value, "winner": v.winner, "reason": v.reason,
                "in_fleet_file": self.in_fleet_file, "enabled": self.enabled, "rule": self.rule,
                "min_samples": self.min_samples, "alpha": self.alpha, "calls": self.calls}


def ab_results(fleet: Fleet, store: Store, since_ts: float | None, name: str | None = None) -> list[ABResult]:
    """Results of the fleet file's A/B tests and of any other test found in the log, or of `name`.

    Raises KeyError when `name` is neither in the fleet file nor in the log."""
    specs = {t.name: t for t in fleet.ab_tests}
    logged = analytics.ab_test_routes(store, since_ts)
    names = list(dict.fromkeys([*specs, *logged]))
    if name is not None:
        if name not in names:
            raise KeyError(name)
        names = [name]
    return [_result(n, specs.get(n), analytics.ab_arm_outcomes(store, n, since_ts)) for n in names]


def _result(name: str, spec: ABTestSpec | None, rows: list[dict[str, Any]]) -> ABResult:
    by_model = {r["model_id"]: r for r in rows}
    # The file's arms first (even those without calls yet), then models only the log knows of.
    weights = dict(spec.arms) if spec else {}
    models = list(dict.fromkeys([*weights, *by_model]))
    arms = []
    for model_id in models:
        row = by_model.get(model_id) or {}
        rated = row.get("rated") or 0
        arms.append(Arm(model_id, weights.get(model_id, 0.0), int(row.get("successes") or 0),
                        int(row.get("calls") or 0), (row.get("feedback") or 0.0) * rated, rated))
    min_samples = spec.min_samples if spec else 100
    alpha = spec.alpha if spec else 0.05
    found = verdict(name, arms, min_samples=min_samples, alpha=alpha)
    logged = []
    for arm in found.arms:
        row = by_model.get(arm.model_id) or {}
        logged.append(replace(arm, weight=weights.get(arm.model_id), users=row.get("users") or 0,
                              mean_latency_ms=row.get("mean_latency_ms"), cost_usd=row.get("cost_usd") or 0.0))
    return ABResult(replace(found, arms=tuple(logged)), in_fleet_file=spec is not None,
                    enabled=bool(spec and spec.enabled), rule=spec.rule if spec else None,
                    min_samples=min_samples, alpha=alpha, calls=sum(a.trials for a in arms))
