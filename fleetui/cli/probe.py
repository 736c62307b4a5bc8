"""`fleetui probe`: are the fleet's models up? All at once, each within its timeout."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from typing import Any

from fleetui.cli.context import CliContext, CliError

_MARK = {"online": "●", "degraded": "◐", "offline": "○", "auth_failed": "✗", "rate_limited": "◔",
         "misconfigured": "!"}


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "probe",
        help="probe models concurrently and record their health",
        description="Probe the fleet's enabled models (or the ones named) concurrently. Cheap "
        "by default (the provider's model list, or a 1-token request where a list proves "
        "nothing); --deep sends a real short completion. Results are stored, and a model's "
        "status comes from its recent probes.",
    )
    parser.add_argument("models", nargs="*", metavar="MODEL", help="model ids (default: all enabled)")
    parser.add_argument("--deep", action="store_true", help="send a real short completion")
    parser.add_argument("--watch", action="store_true", help="probe again every interval until Ctrl+C")
    parser.add_argument("--interval", type=float, help="seconds between rounds with --watch "
                        "(default: the fleet's probes.interval_s)")
    parser.add_argument("--json", action="store_true", help="print results as JSON")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    fleet = ctx.fleet()
    known = {m.id for m in fleet.models}
    unknown = [m for m in args.models if m not in known]
    if unknown:
        raise CliError(f"unknown model {', '.join(map(repr, unknown))}; the fleet has: {', '.join(sorted(known))}")
    interval = args.interval or fleet.probes.interval_s
    while True:
        failures = _round(args, ctx)
        if not args.watch:
            return 1 if failures and not args.json else 0
        try:
            time.sleep(interval)
        except KeyboardInterrupt:
            return 0


def _round(args: argparse.Namespace, ctx: CliContext) -> int:
    from fleetui.probes import probe_fleet

    fleet, store = ctx.fleet(), ctx.store()
    outcomes = asyncio.run(probe_fleet(
        fleet, args.models or None, deep=args.deep,
        history=lambda model_id: store.recent_probes(model_id, 4),
    ))
    store.record_probes(o.record for o in outcomes)
    if args.json:
        ctx.print_json([
            {"model": o.model_id, "status": o.status, "probe_status": o.record.status,
             "latency_ms": o.record.latency_ms, "error_type": o.record.error_type, "detail": o.detail}
            for o in outcomes
        ])
    else:
        from fleetui.cli.output import Column, print_table

        if outcomes:
            print_table((Column("  MODEL"), Column("STATUS"), Column("DETAIL", wrap=True)),
                        [(f"{_MARK.get(o.status, '?')} {o.model_id}", o.status, o.detail) for o in outcomes])
        if not outcomes:
            print("no enabled models to probe", file=sys.stderr)
    return sum(1 for o in outcomes if o.status not in ("online", "degraded"))
