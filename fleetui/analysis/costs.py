"""Costs: today, this week, this month, the month-end projection against the budget, and what the
period would have cost on every fleet model.

Days are UTC days (fleetui.clock). A cost is the sum over priced calls; `unpriced_calls_this_month`
says how many calls are not in it, so a total is never quietly short.

Two figures here have one definition each, used by every screen:
- budget use (`budget_status`) is the projected month-end spend as a share of the budget;
- "per 30 days" (`per_30_days`) is a window's spend scaled to 30 days at that window's rate —
  what `costs`, `savings`, `dryrun` and the recommendations call their 30-day figure. It is not
  the calendar-month projection (`project_month`), which has its own name, "projected month-end".
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any

from fleetui import clock
from fleetui.analysis.usage import totals_json
from fleetui.config.schema import Fleet
from fleetui.pricing import Pricer
from fleetui.store import Store, Totals, analytics


def _day(offset_days: int = 0, today: dt.date | None = None) -> str:
    base = today or clock.today()
    return (base + dt.timedelta(days=offset_days)).isoformat()


@dataclass
class BudgetStatus:
    monthly_usd: float | None
    month_to_date: float
    projected: float
    used_pct: float | None  # projected month-end as % of budget
    level: str  # "ok", "warn", "critical", "none" (no budget)
    message: str


@dataclass
class ModelBudget:
    """A `[budget.per_model]` entry against that model's own month so far and projection."""

    model_id: str
    status: BudgetStatus


@dataclass
class CostReport:
    today: float
    yesterday: float  # the whole of yesterday
    yesterday_to_this_time: float  # yesterday up to the time of day it is now
    change_vs_yesterday_pct: float | None  # today so far against yesterday_to_this_time
    this_week: float
    this_month: float
    projection: float
    budget: BudgetStatus
    by_model: list[Totals]
    by_task: list[Totals]
    daily: list[tuple[str, float]]  # the last 30 days, zeros filled in
    unpriced_calls_this_month: int
    per_30_days: float  # the last 30 days' spend (see per_30_days)
    model_budgets: list[ModelBudget] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["by_model"] = [totals_json(t) for t in self.by_model]
        out["by_task"] = [totals_json(t) for t in self.by_task]
        out["daily"] = [{"day": d, "cost_usd": round(c, 6)} for d, c in self.daily]
        return out


WINDOW_DAYS = 30


def per_30_days(amount: float, window_days: float) -> float:
    """A window's amount at that window's daily rate over 30 days: "per 30 days at the last N
    days' rate", the one "monthly" figure outside the calendar-month projection."""
    return amount * WINDOW_DAYS / window_days if window_days > 0 else amount


def change_pct(now: float, before: float) -> float | None:
    return None if not before else round((now - before) / before * 100, 1)


def project_month(month_to_date: float, today: dt.date) -> float:
    """Month-end spend if the rest of the month goes like the days so far (today counted half:
    it is under way)."""
    days_in_month = calendar.monthrange(today.year, today.month)[1]
    elapsed = today.day - 0.5
    return month_to_date / elapsed * days_in_month if elapsed > 0 else month_to_date


def budget_status(fleet: Fleet, month_to_date: float, projected: float, limit_usd: float | None = None) -> BudgetStatus:
    """Budget use is the projected month-end spend as a share of the budget, everywhere it is
    shown (the month so far is given beside it, never as "% of budget")."""
    budget = fleet.budget
    limit = budget.monthly_usd if limit_usd is None else limit_usd
    if not limit:
        return BudgetStatus(None, month_to_date, projected, None, "none", "no monthly budget set")
    used = projected / limit * 100
    if used >= budget.critical_pct:
        level = "critical"
    elif used >= budget.warn_pct:
        level = "warn"
    else:
        level = "ok"
    verdict = {"ok": "on track", "warn": "above the warning line", "critical": "over the critical line"}[level]
    message = (f"projected ${projected:,.2f} of ${limit:,.0f} ({used:.0f}%): {verdict}")
    return BudgetStatus(limit, month_to_date, projected, round(used, 1), level, message)


def month_to_date(store: Store, today: dt.date | None = None) -> Totals:
    today = today or clock.today()
    return store.overall(since=clock.month_start(today).isoformat(), until=today.isoformat())


def fleet_budget(fleet: Fleet, store: Store, today: dt.date | None = None) -> BudgetStatus:
    """The fleet's budget use this month: what the Fleet tab, `status`, Costs and `costs` show."""
    today = today or clock.today()
    spent = month_to_date(store, today).cost_usd
    return budget_status(fleet, spent, project_month(spent, today))


def cost_report(fleet: Fleet, store: Store, now: float | None = None) -> CostReport:
    now = clock.now() if now is None else now
    today = dt.datetime.fromtimestamp(now, dt.UTC).date()
    day = today.isoformat()
    daily_rows = {t.key: t for t in store.totals("day", since=_day(-29, today), until=day)}
    daily = [(d, daily_rows[d].cost_usd if d in daily_rows else 0.0) for d in (_day(-i, today) for i in range(29, -1, -1))]
    cost = dict(daily)
    yesterday = cost.get(_day(-1, today), 0.0)
    monday = today - dt.timedelta(days=today.weekday())
    week = store.overall(since=monday.isoformat(), until=day).cost_usd
    month_totals = month_to_date(store, today)
    projection = project_month(month_totals.cost_usd, today)
    start, end = clock.same_time_yesterday(now)
    yesterday_so_far = analytics.cost_between(store, start, end)[0]
    month_start = clock.month_start(today).isoformat()
    by_model = sorted(store.totals("model", since=month_start, until=day), key=lambda t: -t.cost_usd)
    spent = {t.key: t.cost_usd for t in by_model}
    model_budgets = [
        ModelBudget(model_id, budget_status(fleet, spent.get(model_id, 0.0),
                                            project_month(spent.get(model_id, 0.0), today), limit))
        for model_id, limit in sorted(fleet.budget.per_model.items())
    ]
    return CostReport(
        today=cost[day],
        yesterday=yesterday,
        yesterday_to_this_time=yesterday_so_far,
        change_vs_yesterday_pct=change_pct(cost[day], yesterday_so_far),
        this_week=week,
        this_month=month_totals.cost_usd,
        projection=projection,
        budget=budget_status(fleet, month_totals.cost_usd, projection),
        by_model=by_model,
        by_task=sorted(store.totals("task", since=month_start, until=day), key=lambda t: -t.cost_usd),
        daily=daily,
        unpriced_calls_this_month=month_totals.unpriced_calls,
        per_30_days=per_30_days(sum(cost.values()), WINDOW_DAYS),
        model_budgets=model_budgets,
    )


# -- what it would have cost ---------------------------------------------------------------------


@dataclass(frozen=True)
class WhatIf:
    model_id: str
    cost_usd: float | None  # None: the model is unpriced
    actual_usd: float
    calls: int

    @property
    def saving_usd(self) -> float | None:
        return None if self.cost_usd is None else self.actual_usd - self.cost_usd


def what_it_would_have_cost(fleet: Fleet, store: Store, since_day: str | None, until_day: str | None = None) -> list[WhatIf]:
    """The period's calls re-priced on every fleet model from their token counts.

    Pricing is linear in tokens, so summed rollup tokens re-price exactly (tiered prices use
    their base rate here). Calls that were unpriced are left out of both sides.
    """
    pricer = Pricer(fleet)
    rows = analytics.priced_tokens_by_model(store, since_day, until_day)
    actual = sum(r["cost_usd"] or 0.0 for r in rows)
    calls = sum(r["calls"] or 0 for r in rows)
    tokens = tuple(sum(r[k] or 0 for r in rows) for k in ("input_tokens", "output_tokens", "cached_input_tokens"))
    out = []
    for model in fleet.models:
        price = pricer.price_of(model.id)
        cost = None if price is None else price.cost(tokens[0], tokens[1], min(tokens[2], tokens[0]))
        out.append(WhatIf(model.id, cost, actual, calls))
    return sorted(out, key=lambda w: (w.cost_usd is None, w.cost_usd or 0.0))
