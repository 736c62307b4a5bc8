"""`fleetui decisions`: what the routers decided, per rule, and the latest decisions with why."""

from __future__ import annotations

import argparse
import datetime
from dataclasses import asdict
from typing import Any

from fleetui.cli.context import CliContext


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "decisions",
        help="routing decisions logged by apps: per rule, models chosen, confidence, escalations, timing",
        description="Routing decisions stored by routers created with "
        "`Router.from_toml(..., on_decision=fleetui.log_decision)`: how many, how fast (median and p95 "
        "decision time), how sure (complexity confidence, escalations, overrides), per rule with the "
        "models it chose, and the latest decisions with their reason and what in the prompt drove them.",
    )
    parser.add_argument("--since", default="24h", help="period: 24h, 7d, 2026-11-01 (default 24h)")
    parser.add_argument("--rule", help="only this rule's decisions ('' for those no rule matched)")
    parser.add_argument("--limit", type=int, default=10, help="latest decisions to list (default 10)")
    parser.add_argument("--json", action="store_true", help="print as JSON")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    from fleetui.analysis.decision_alerts import decision_alerts
    from fleetui.store.decisions import decision_summary, recent_decisions

    since = ctx.since(args.since)
    store = ctx.store()
    summary = decision_summary(store, since, args.rule)
    alerts = decision_alerts(summary)
    latest = recent_decisions(store, since, max(0, args.limit), args.rule)
    if args.json:
        ctx.print_json({"since": args.since, **asdict(summary), "alerts": alerts, "latest": latest})
        return 0
    total = summary.decisions
    if not total:
        print(f"no routing decisions logged since {args.since}; route with "
              "`Router.from_toml(path, on_decision=fleetui.log_decision)` to keep them")
        return 0
    print(f"{total:,} routing decisions since {args.since}: median {summary.p50_us:.1f} µs, "
          f"p95 {summary.p95_us:.1f} µs; mean confidence {summary.mean_confidence:.2f}, "
          f"{summary.escalated / total:.1%} escalated, {summary.overridden / total:.1%} overridden")
    for alert in alerts:
        print(f"! {alert}")
    print(f"  {'rule':<20} {'decisions':>9} {'share':>6} {'conf.':>5} {'escal.':>6}  models")
    for entry in summary.rules:
        models = ", ".join(f"{m} {n / entry.decisions:.0%}" for m, n in list(entry.models.items())[:3])
        print(f"  {entry.rule or '(no rule)':<20} {entry.decisions:>9,} {entry.decisions / total:>6.1%} "
              f"{entry.mean_confidence:>5.2f} {entry.escalated / entry.decisions:>6.1%}  {models}")
    if latest:
        print("latest:")
    for d in latest:
        when = datetime.datetime.fromtimestamp(d["ts"]).strftime("%Y-%m-%d %H:%M:%S")
        drove = f"; {', '.join(d['matched'])}" if d["matched"] else ""
        flags = (" escalated" if d["escalated"] else "") + (" override" if d["override"] else "")
        print(f"  {when}  {d['model_id']:<16} {d['complexity']} ({d['confidence']:.2f}{drove}){flags}  "
              f"{d['decision_us']:.0f} µs  {d['reason']}")
    return 0
