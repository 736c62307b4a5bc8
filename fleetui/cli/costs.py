"""`fleetui costs`: spend today, this week and month, the projection against the budget."""

from __future__ import annotations

import argparse
from typing import Any

from fleetui.cli.context import CliContext


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "costs",
        help="today / week / month spend, month-end projection against the budget, by model and task",
        description="Spend today, this week and this month (UTC), the month-end projection against "
        "the fleet's budget with its warn and critical thresholds, cost by model and by task, the "
        "last 30 days, and what the month's calls would have cost on each other model.",
    )
    parser.add_argument("--json", action="store_true", help="print as JSON")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    from fleetui.analysis.costs import cost_report, what_it_would_have_cost
    from fleetui.analysis.usage import known_cost
    from fleetui.cli.output import Column, print_table
    from fleetui.pricing import format_cost, format_known_cost

    fleet, store = ctx.fleet(), ctx.store()
    report = cost_report(fleet, store)
    month_start = report.daily[-1][0][:8] + "01"
    what_if = what_it_would_have_cost(fleet, store, month_start)
    if args.json:
        out = report.as_json()
        out["demo_data"] = ctx.is_demo_data
        out["what_it_would_have_cost"] = [
            {"model": w.model_id, "cost_usd": w.cost_usd, "actual_usd": w.actual_usd, "saving_usd": w.saving_usd}
            for w in what_if
        ]
        ctx.print_json(out)
        return 0
    if ctx.is_demo_data:
        print("DEMO DATA")
    change = report.change_vs_yesterday_pct
    arrow = "" if change is None else (f" ({'↑' if change > 0 else '↓'} {abs(change):.0f}% vs yesterday "
                                       f"to this time, {format_cost(report.yesterday_to_this_time)})")
    print(f"today       {format_cost(report.today)}{arrow}")
    print(f"this week   {format_cost(report.this_week)}")
    print(f"this month  {format_cost(report.this_month)}   projected month-end {format_cost(report.projection)}")
    print(f"per 30 days {format_cost(report.per_30_days)}   (the last 30 days' spend)")
    level = report.budget.level.upper() if report.budget.level not in ("ok", "none") else ""
    print(f"budget      {report.budget.message}" + (f"  [{level}]" if level else ""))
    for entry in report.model_budgets:
        level = entry.status.level.upper() if entry.status.level not in ("ok", "none") else ""
        print(f"  {entry.model_id:<10} {entry.status.message}" + (f"  [{level}]" if level else ""))
    if report.unpriced_calls_this_month:
        print(f"            ({report.unpriced_calls_this_month:,} unpriced calls are not in these sums)")
    total = report.this_month or 1.0

    def share(cost: float | None) -> str:
        return "" if cost is None else f"{100 * cost / total:.1f}%"

    def bar(cost: float | None) -> str:
        return "" if cost is None else "█" * round(20 * cost / total)

    print("\nBY MODEL (this month)")
    print_table((Column("MODEL"), Column("COST", numeric=True), Column("SHARE", numeric=True), Column("", drop=1)),
                [(t.key or "(none)", format_known_cost(known_cost(t), t.unpriced_calls), share(known_cost(t)),
                  bar(known_cost(t))) for t in report.by_model[:12]], indent=2)
    print("\nBY TASK (this month)")
    print_table((Column("TASK"), Column("COST", numeric=True), Column("SHARE", numeric=True)),
                [(t.key or "(none)", format_known_cost(known_cost(t), t.unpriced_calls), share(known_cost(t)))
                 for t in report.by_task[:10]], indent=2)
    print("\nTHE MONTH'S CALLS ON ONE MODEL")

    def saving(w: Any) -> str:
        if w.saving_usd is None:
            return ""
        return f"saves {format_cost(w.saving_usd)}" if w.saving_usd > 0 else f"costs {format_cost(-w.saving_usd)} more"

    print_table((Column("MODEL"), Column("WOULD COST", numeric=True), Column("AGAINST ACTUAL", numeric=True)),
                [(w.model_id, format_cost(w.cost_usd), saving(w)) for w in what_if], indent=2)
    return 0
