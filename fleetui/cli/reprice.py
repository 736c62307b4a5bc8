"""`fleetui reprice`: recompute stored costs after a price change and show what moved."""

from __future__ import annotations

import argparse
from typing import Any

from fleetui.cli.context import CliContext, CliError
from fleetui.cli.output import plural


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "reprice",
        help="recompute stored costs with today's prices (fleet overrides, price catalog); show what moved",
        description="Recompute the cost of stored calls with the fleet file's price overrides and the "
        "genai-prices catalog as they are now — after you change a price, or to price calls that "
        "were unpriced — and show, per model, how many calls changed and their total before and "
        "after. Daily rollups move in the same transaction, so every view agrees. Costs reported "
        "by a provider or proxy (OpenRouter, LiteLLM) are never changed.",
    )
    parser.add_argument("--since", metavar="PERIOD", help="only calls since then: 30d, 24h, 2w or a date (default: all)")
    parser.add_argument("--model", metavar="ID", help="only calls of this fleet model id")
    parser.add_argument("--dry-run", action="store_true", help="show what would move; change nothing")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    from fleetui.pricing import format_cost
    from fleetui.shim.enrich import Enricher
    from fleetui.store.reprice import RepriceError, reprice

    since_ts = ctx.since(args.since) if args.since else None
    fleet, store = ctx.fleet(), ctx.store()
    if args.model is not None and args.model not in {m.id for m in fleet.models}:
        stored = store.db.conn.execute("SELECT 1 FROM calls WHERE model_id = ? LIMIT 1", [args.model]).fetchone()
        if stored is None:
            raise CliError(f"--model {args.model}: no such model in {ctx.fleet_source().path} or in the call log; "
                           "`fleetui status` lists the fleet's model ids", 1)
    enricher = Enricher.for_fleet(fleet, None, None)
    try:
        result = reprice(store, enricher.price, since_ts=since_ts, model_id=args.model, dry_run=args.dry_run)
    except RepriceError as exc:
        raise CliError(str(exc), 1) from None
    models = result.models()
    if args.json:
        ctx.print_json({
            "dry_run": args.dry_run, "applied": result.applied, "considered": result.considered,
            "changed": result.changed, "relabelled": result.relabelled, "kept_reported": result.kept_reported,
            "by_source": result.by_source,
            "by_model": [{"model": m.model_id, "calls": m.calls, "old_usd": m.old_usd, "new_usd": m.new_usd}
                         for m in models],
        })
        return 0
    verb = "would change" if args.dry_run else "changed"
    print(f"{plural(result.considered, 'call')} priced by fleetui: {verb} the cost of {result.changed:,}"
          + (f", recorded the price source of {result.relabelled:,} more" if result.relabelled and not args.dry_run
             else f", would record the price source of {result.relabelled:,} more" if result.relabelled else ""))
    if result.kept_reported:
        print(f"{result.kept_reported:,} costs reported by the provider or a proxy kept as reported")
    if models:
        print(f"\n  {'model':<24} {'calls':>8}  {'old total':>12} → new total")
        for m in models:
            print(f"  {m.model_id or '(none)':<24} {m.calls:>8,}  {format_cost(m.old_usd):>12} → {format_cost(m.new_usd)}")
    if result.by_source:
        sources = ", ".join(f"{name} {n:,}" for name, n in sorted(result.by_source.items(), key=lambda kv: -kv[1]))
        print(f"\ncosts by source{' (as they would be)' if args.dry_run else ''}: {sources}")
    if args.dry_run and (result.changed or result.relabelled):
        print("\nnothing written (--dry-run); run again without it to apply")
    return 0
