"""A/B test results from the call log: each arm's outcomes and whether one arm really wins.

The router records an A/B arm's calls under the route `ab:<test>` (see
`RouteDecision.call_attributes`), so results hold across processes and restarts, and survive the
test's removal from the fleet file (`fleetui ab NAME` still reads them).
"""

from __future__ import annotations

from typing import Any

from fleetui.config.schema import ABTestSpec, Fleet
from fleetui.routing.ab import Arm, verdict
from fleetui.store import analytics
from fleetui.store.store import Store


def ab_results(fleet: Fleet, store: Store, since_ts: float | None, name: str | None = None) -> list[dict[str, Any]]:
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


def _result(name: str, spec: ABTestSpec | None, rows: list[dict[str, Any]]) -> dict[str, Any]:
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
    result = verdict(name, arms, min_samples=min_samples, alpha=alpha)
    for model_id, arm in result["arms"].items():
        row = by_model.get(model_id) or {}
        arm.update(weight=weights.get(model_id), users=row.get("users") or 0,
                   mean_latency_ms=row.get("mean_latency_ms"), cost_usd=row.get("cost_usd") or 0.0)
    result.update(
        in_fleet_file=spec is not None, enabled=bool(spec and spec.enabled), rule=spec.rule if spec else None,
        min_samples=min_samples, alpha=alpha, calls=sum(a.trials for a in arms),
    )
    return result
