"""`fleetui savings`: actual spend against the best-ranked model per use case."""

from __future__ import annotations

import argparse
from typing import Any

from fleetui.cli.context import CliContext


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "savings",
        help="what moving each use case to the cheapest model that keeps its quality would save",
        description="Actual cost of the last --days days against the same calls on each use case's "
        "cheapest ranked model whose measured success (and satisfaction, where known) stays within "
        "the fleet's max_quality_drop_pct, with min_samples calls of evidence; scaled to 30 days. "
        "Each use case shows the numbers the switch rests on.",
    )
    parser.add_argument("--days", type=int, default=30, help="window (default 30)")
    parser.add_argument("--json", action="store_true", help="print as JSON")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    from fleetui.analysis.recommend import savings
    from fleetui.cli.output import Column, print_table, say
    from fleetui.cli.router import learned_recommendations, print_learned

    result = savings(ctx.fleet(), ctx.store(), days=args.days)
    learned = learned_recommendations(ctx)  # the fleet's learned routers, from their held-out figures
    if args.json:
        ctx.print_json({**result.as_json(), "learned_routers": [a.as_savings_json() for a in learned]})
        return 0
    if ctx.is_demo_data:
        print("DEMO DATA")
    if result.saving_pct is None:
        print("no priced calls to compare yet")
        print_learned(learned, result.max_quality_drop_pct)
        return 0
    say(f"per 30 days at the last {result.window_days} days' rate: actual ${result.actual_per_30_days_usd:,.2f}, "
        f"with the switches below ${result.optimal_per_30_days_usd:,.2f} — could save "
        f"${result.saving_per_30_days_usd:,.2f} ({result.saving_pct:.1f}%), each switch within "
        f"{result.max_quality_drop_pct:g}% of today's success and quality")
    measured = result.saving_with_quality_evidence_usd
    if measured < result.saving_per_30_days_usd:
        say(f"of which ${measured:,.2f} rests on measured quality (feedback or judged replays); the rest on "
            "success rates only", indent=2)
    print_table((Column("USE CASE"), Column("MOVE TO"), Column("ACTUAL", numeric=True), Column("AFTER", numeric=True),
                 Column("WHY", wrap=True)),
                [(row.use_case, row.best_model or "(keep)", f"${row.actual_usd:,.2f}", f"${row.optimal_usd:,.2f}",
                  row.reason) for row in result.per_use_case], indent=2)
    if any(row.best_model for row in result.per_use_case):
        say("(ACTUAL and AFTER are over the window; `fleetui savings --json` has each switch's evidence)", indent=2)
    print_learned(learned, result.max_quality_drop_pct)
    return 0
