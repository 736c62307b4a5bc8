"""Run logged traffic through a candidate routing config and predict what would have happened.

A call whose model stays the same keeps what really happened. A call that moves to another model
is re-priced from its tokens on that model, and takes that model's observed success rate and mean
latency for the call's use case (else the model's overall figures; a model never observed leaves
those unknown and is counted apart).
"""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

from fleetui.routing.conditions import COMPLEXITY_TIERS
from fleetui.config.schema import Fleet
from fleetui.pricing import Pricer
from fleetui.routing.router import NoRoute, Router
from fleetui.store import Store


@dataclass
class DryRun:
    calls: int = 0
    moved: int = 0
    unroutable: int = 0
    unobserved: int = 0  # moved to a model with no observed calls: success/latency not predicted
    actual_cost: float = 0.0
    predicted_cost: float = 0.0
    unpriced: int = 0
    actual_success: float = 0.0
    predicted_success: float = 0.0
    actual_latency_ms: float = 0.0
    predicted_latency_ms: float = 0.0
    shift: dict[str, int] = field(default_factory=dict)  # "from → to": calls

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def _observed(store: Store) -> tuple[dict[tuple[str, str], tuple[float, float | None]], dict[str, tuple[float, float | None]]]:
    per_case: dict[tuple[str, str], tuple[float, float | None]] = {}
    for use_case, models in _by_use_case(store).items():
        for model_id, t in models.items():
            per_case[(use_case, model_id)] = (t.success_rate or 0.0, t.mean_latency_ms)
    overall = {t.key: (t.success_rate or 0.0, t.mean_latency_ms) for t in store.totals("model") if t.key}
    return per_case, overall


def _by_use_case(store: Store) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    # Per (use case, model) from rollups: one small query per model.
    for model in {t.key for t in store.totals("model") if t.key}:
        for t in store.totals("use_case", model_id=model):
            if t.key:
                out.setdefault(t.key, {})[model] = t
    return out


def dry_run(candidate: Fleet, store: Store, since_ts: float) -> DryRun:
    router = Router(candidate)
    pricer = Pricer(candidate)
    per_case, overall = _observed(store)
    result = DryRun()
    shift: Counter[str] = Counter()
    success_known = latency_known = 0
    for (model_id, use_case, task, complexity, chars, tags, user, ts, success, cost, latency,
         tokens_in, tokens_out, cached) in store.calls_for_dry_run(since_ts):
        result.calls += 1
        result.actual_cost += cost or 0.0
        result.actual_success += success
        result.actual_latency_ms += latency or 0.0
        try:
            decision = router.route(
                "", task=task, use_case=use_case,
                complexity=complexity if complexity in COMPLEXITY_TIERS else "medium",
                tags=json.loads(tags) if tags else (), user=user, hour=time.localtime(ts).tm_hour,
                prompt_length=chars or 0,
            )
        except NoRoute:
            result.unroutable += 1
            continue
        target = decision.model_id
        if target == model_id:
            result.predicted_cost += cost or 0.0
            result.predicted_success += success
            result.predicted_latency_ms += latency or 0.0
            success_known += 1
            latency_known += 1
            continue
        result.moved += 1
        shift[f"{model_id} → {target}"] += 1
        new_cost = pricer.cost(target, tokens_in, tokens_out, cached or 0)
        if new_cost is None:
            result.unpriced += 1
        else:
            result.predicted_cost += new_cost
        observed = per_case.get((use_case or "", target)) or overall.get(target)
        if observed is None:
            result.unobserved += 1
            continue
        result.predicted_success += observed[0]
        success_known += 1
        if observed[1] is not None:
            result.predicted_latency_ms += observed[1]
            latency_known += 1
    if result.calls:
        result.actual_success /= result.calls
        result.actual_latency_ms /= result.calls
    if success_known:
        result.predicted_success /= success_known
    if latency_known:
        result.predicted_latency_ms /= latency_known
    result.shift = dict(shift.most_common(10))
    return result
