"""`fleetui budget [--check]`: the month's projected spend against the fleet's budgets.

With --check it exits 1 once any budget (the fleet's or a model's) is projected past the
--fail-on line (default: critical), for cron and CI. The projection is `fleetui costs`'s own
(fleetui.analysis.costs); the router reads the same levels to step down toward cheaper models.
"""

from __future__ import annotations

import argparse
from typing import Any

from fleetui.cli.context import CliContext


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "budget", help="projected month-end spend against the budgets; --check exits 1 past a line (cron, CI)",
        description="Print the month's projected spend against [budget] monthly_usd and each [budget.per_model] "
        "entry, with the level the router acts on (past warn: learned rules step one target down, past critical: "
        "two, and a model past its own critical line is tried after the others; free and local models never). "
        "--check exits 1 when any budget is at or past --fail-on, 0 otherwise.")
    parser.add_argument("--check", action="store_true", help="exit 1 when a budget is past the --fail-on line")
    parser.add_argument("--fail-on", choices=["warn", "critical"], default="critical",
                        help="the line --check fails at (default: critical)")
    parser.add_argument("--json", action="store_true", help="print as JSON")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    from fleetui.routing.budget import LEVELS, budget_levels

    fleet = ctx.fleet()
    levels, report = budget_levels(fleet, ctx.store())
    rows = [("fleet", report.budget)] + [(f"model {b.model_id}", b.status) for b in report.model_budgets]
    line = LEVELS.index(args.fail_on)
    past = [name for name, status in rows if LEVELS.index(status.level) >= line]
    failed = args.check and bool(past)
    if args.json:
        ctx.print_json({
            "budgets": [{"budget": name, "level": s.level, "monthly_usd": s.monthly_usd,
                         "month_to_date_usd": round(s.month_to_date, 6), "projected_usd": round(s.projected, 6),
                         "used_pct": s.used_pct} for name, s in rows],
            "router_steps_down": levels.steps, "fail_on": args.fail_on, "past_fail_on": past, "failed": failed,
        })
        return 1 if failed else 0
    for name, status in rows:
        print(f"{name}: {status.level:<8} {status.message}")
    if levels.steps:
        print(f"learned rules step {levels.steps} target(s) down toward cheaper models (unless budget_degrade = false)")
    if args.check:
        print(f"check: {', '.join(past)} at or past {args.fail_on}" if past else f"check: every budget under {args.fail_on}")
    return 1 if failed else 0
