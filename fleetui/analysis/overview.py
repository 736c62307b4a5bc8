"""The fleet at a glance: every model with its price, roles, health and today's usage.

Shared by `fleetui status` and the TUI's Fleet tab, so both always say the same thing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict
from typing import Any

from fleetui import clock
from fleetui.config.schema import Fleet
from fleetui.pricing import Pricer
from fleetui.store import Store


def fleet_overview(fleet: Fleet, store: Store) -> dict[str, Any]:
    from fleetui.analysis.costs import change_pct, fleet_budget
    from fleetui.analysis.usage import known_cost
    from fleetui.probes import model_status
    from fleetui.store import analytics

    pricer = Pricer(fleet)
    day = clock.utc_today()
    usage = {row.key: row for row in store.totals("model", since=day, until=day)}
    probes = store.last_probe_by_model()
    role_names = {r.id: r.name for r in fleet.roles}
    models = []
    for model in fleet.models:
        price = pricer.price_of(model.id)
        used = usage.get(model.id)
        probe = probes.get(model.id)
        models.append({
            "id": model.id,
            "name": model.name,
            "provider": model.provider,
            "model": model.model,
            "roles": [
                {"id": a.role, "name": role_names.get(a.role, a.role), "priority": a.priority}
                for a in sorted(model.roles, key=lambda a: a.priority)
            ],
            "price_per_mtok": None if price is None else {
                "input": price.input_per_mtok, "output": price.output_per_mtok,
                "cached": price.cached_per_mtok, "source": price.source,
            },
            "enabled": model.enabled,
            "last_probe": None if probe is None else {
                "status": model_status(store.recent_probes(model.id, 5)),
                "latency_ms": probe.latency_ms,
                "at": dt.datetime.fromtimestamp(probe.ts, dt.UTC).isoformat(timespec="seconds"),
            },
            "calls_today": used.calls if used else 0,
            "errors_today": used.errors if used else 0,
            "success_today": used.success_rate if used else None,
            "p50_ms_today": used.p50_ms if used else None,
            "tokens_today": used.tokens if used else 0,
            # Unknown stays unknown: None when every call today is unpriced.
            "cost_today": known_cost(used),
            "unpriced_calls_today": used.unpriced_calls if used else 0,
        })
    month = store.overall(since=clock.month_start(clock.today()).isoformat(), until=day)
    overall = store.overall(since=day, until=day)
    yesterday = analytics.cost_between(store, *clock.same_time_yesterday())[0]
    today_cost = known_cost(overall)
    return {
        "models": models,
        "today": {
            "calls": overall.calls,
            "tokens": overall.tokens,
            "cost": today_cost,
            "unpriced_calls": overall.unpriced_calls,
            # Today so far against yesterday up to the same time of day (as `costs` compares).
            "yesterday_to_this_time": yesterday,
            "change_vs_yesterday_pct": None if today_cost is None else change_pct(today_cost, yesterday),
        },
        "budget_monthly_usd": fleet.budget.monthly_usd,
        # Budget use is the projected month-end over the budget, the same figure as `costs`.
        "budget": asdict(fleet_budget(fleet, store)),
        "month_to_date": {"cost": month.cost_usd, "calls": month.calls, "unpriced_calls": month.unpriced_calls},
        "shim_dropped": store.counter("shim.dropped"),
    }

