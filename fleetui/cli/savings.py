"""`fleetui savings`: actual spend against the best-ranked model per use case."""

from __future__ import annotations

import argparse
from typing import Any

from fleetui.cli.context import CliContext


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "savings",
        help="what routing each use case to its best-ranked model would save per month",
        description="Actual cost of the last --days days against the same calls on each use "
        "case's best-ranked priced model, scaled to 30 days.",
    )
    parser.add_argument("--days", type=int, default=30, help="window (default 30)")
    parser.add_argument("--json", action="store_true", help="print as JSON")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    from fleetui.analysis.recommend import savings

    result = savings(ctx.fleet(), ctx.store(), days=args.days)
    if args.json:
        ctx.print_json(result)
        return 0
    if ctx.is_demo_data:
        print("DEMO DATA")
    if result["saving_pct"] is None:
        print("no priced calls to compare yet")
        return 0
    print(f"actual ${result['actual_monthly_usd']:,.2f}/month, optimal ${result['optimal_monthly_usd']:,.2f}: "
          f"could save ${result['saving_monthly_usd']:,.2f}/month ({result['saving_pct']:.1f}%)")
    for row in result["per_use_case"]:
        print(f"  {row['use_case']:<14} best {row['best_model']:<14} ${row['actual_usd']:>9,.2f} → ${row['optimal_usd']:>9,.2f}")
    return 0
