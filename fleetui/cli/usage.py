"""`fleetui usage`: calls, tokens, errors, success, latency and cost, grouped as asked."""

from __future__ import annotations

import argparse
from typing import Any

from fleetui.cli.context import CliContext

BY = {"model": "model", "use-case": "use_case", "task": "task", "day": "day"}


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "usage",
        help="calls, tokens, errors, success rate, p50/p95 latency and cost by model, use case, task or day",
        description="Usage over a period, from the store's daily rollups (UTC days). With --json, "
        "also the most common prompts and routing-decision statistics.",
    )
    parser.add_argument("--since", default="7d", help="period start: 7d, 24h, 2w or a date (default 7d)")
    parser.add_argument("--by", choices=list(BY), default="model", help="grouping (default: model)")
    parser.add_argument("--prompts", action="store_true", help="also show the most common prompts")
    parser.add_argument("--json", action="store_true", help="print as JSON")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    from fleetui.analysis.usage import routing_stats, top_prompts, totals_json, usage
    from fleetui.clock import utc_day

    since_ts = ctx.since(args.since)
    store = ctx.store()
    rows = usage(store, BY[args.by], utc_day(since_ts))  # type: ignore[arg-type]
    if args.json:
        ctx.print_json({
            "since_day": utc_day(since_ts), "by": args.by, "demo_data": ctx.is_demo_data,
            "rows": [totals_json(t) for t in rows],
            "top_prompts": top_prompts(store, since_ts),
            "routing": routing_stats(store, since_ts).as_json(),
        })
        return 0
    if ctx.is_demo_data:
        print("DEMO DATA")
    if not rows:
        print(f"no calls since {utc_day(since_ts)}. Record your apps' calls with the shim "
              "(see the README) or try `fleetui --demo usage`.")
        return 0
    from fleetui.analysis.usage import known_cost
    from fleetui.cli.output import Column, print_table
    from fleetui.pricing import format_known_cost

    columns = (Column(args.by.upper()), Column("CALLS", numeric=True), Column("ERR%", numeric=True, drop=3),
               Column("TOKENS IN", numeric=True, drop=2), Column("TOKENS OUT", numeric=True, drop=1),
               Column("P50", numeric=True), Column("P95", numeric=True, drop=4), Column("COST", numeric=True))
    table = []
    for t in rows:
        table.append((
            t.key or "(none)", f"{t.calls:,}", f"{100 * t.errors / t.calls:.1f}" if t.calls else "—",
            f"{t.input_tokens:,}", f"{t.output_tokens:,}",
            f"{t.p50_ms / 1000:.2f}s" if t.p50_ms is not None else "—",
            f"{t.p95_ms / 1000:.2f}s" if t.p95_ms is not None else "—",
            format_known_cost(known_cost(t), t.unpriced_calls),
        ))
    print_table(columns, table)
    if args.prompts:
        print("\nMOST COMMON PROMPTS")
        for p in top_prompts(store, since_ts):
            example = (p["example"] or "(text not kept)")[:70]
            print(f"  {p['calls']:>6,}×  {example}")
    return 0
