"""Budgets that degrade routing rather than block it.

The levels come from `fleetui.analysis.costs.cost_report` (the month's projection against the
fleet's budget and per-model budgets, the one projection fleetui makes). Past a level, learned
rules step down their quality target along the router's quality/cost curve (warn: one step,
critical: two), and a model past its own critical line moves behind the other candidates.
Free and local models are never moved: they cost nothing to keep using.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urlparse

if TYPE_CHECKING:
    from fleetui.analysis.costs import CostReport
    from fleetui.config.schema import Fleet
    from fleetui.store import Store

LEVELS = ("none", "ok", "warn", "critical")
_LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1", "0.0.0.0"})


@dataclass(frozen=True)
class BudgetLevels:
    overall: str = "ok"  # of the fleet's monthly budget: none, ok, warn or critical
    per_model: Mapping[str, str] = field(default_factory=dict)

    @property
    def steps(self) -> int:
        """How many steps down the quality/cost curve learned rules take."""
        return {"warn": 1, "critical": 2}.get(self.overall, 0)

    def over(self, level: str) -> frozenset[str]:
        """Models whose own budget is at `level` or past it."""
        rank = LEVELS.index(level)
        return frozenset(m for m, v in self.per_model.items() if LEVELS.index(v) >= rank)


def budget_levels(fleet: Fleet, store: Store, now: float | None = None) -> tuple[BudgetLevels, CostReport]:
    from fleetui.analysis.costs import cost_report

    report = cost_report(fleet, store, now)
    levels = BudgetLevels(report.budget.level, {b.model_id: b.status.level for b in report.model_budgets})
    return levels, report


def never_blocked(fleet: Fleet, prices: Mapping[str, float]) -> frozenset[str]:
    """Models a budget never steps away from: priced at 0, or served on this machine."""
    out = set()
    for model in fleet.models:
        host = urlparse(fleet.base_url_of(model)).hostname or ""
        if prices.get(model.id) == 0 or host in _LOCAL_HOSTS or fleet.provider_of(model).kind == "ollama":
            out.add(model.id)
    return frozenset(out)
