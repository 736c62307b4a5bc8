"""`fleetui decisions`: what the routers decided, per rule, and the latest decisions with why."""

from __future__ import annotations

import argparse
import time
from dataclasses import asdict
from typing import Any

from fleetui.cli.context import CliContext, CliError


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
    from fleetui.cli.output import Column, plural, print_table, say
    from fleetui.store.decisions import decision_summary, recent_decisions

    since = ctx.since(args.since)
    store = ctx.store()
    if args.rule:
        _check_rule(ctx, args.rule)
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
    say(f"{plural(total, 'routing decision')} since {args.since}: median {summary.p50_us:.1f} µs, "
        f"p95 {summary.p95_us:.1f} µs; mean confidence {summary.mean_confidence:.2f}, "
        f"{summary.escalated / total:.1%} escalated, {summary.overridden / total:.1%} overridden")
    for alert in alerts:
        say(f"! {alert}", hang=2)
    print_table((Column("RULE"), Column("DECISIONS", numeric=True), Column("SHARE", numeric=True),
                 Column("CONF.", numeric=True, drop=2), Column("ESCAL.", numeric=True, drop=1),
                 Column("MODELS", wrap=True)),
                [(entry.rule or "(no rule)", f"{entry.decisions:,}", f"{entry.decisions / total:.1%}",
                  f"{entry.mean_confidence:.2f}", f"{entry.escalated / entry.decisions:.1%}",
                  ", ".join(f"{m} {n / entry.decisions:.0%}" for m, n in list(entry.models.items())[:3]))
                 for entry in summary.rules], indent=2)
    if latest:
        print("latest (UTC):")
    print_table((Column("WHEN", numeric=True), Column("MODEL"), Column("COMPLEXITY", drop=2, wrap=True), Column("µS", numeric=True, drop=1),
                 Column("WHY", wrap=True)),
                [(time.strftime("%m-%d %H:%M:%S", time.gmtime(d["ts"])), d["model_id"],
                  f"{d['complexity']} ({d['confidence']:.2f}{'; ' + ', '.join(d['matched']) if d['matched'] else ''})",
                  f"{d['decision_us']:.0f}",
                  ("escalated; " if d["escalated"] else "") + ("override; " if d["override"] else "") + d["reason"])
                 for d in latest], indent=2)
    return 0


def _check_rule(ctx: CliContext, rule: str) -> None:
    """A rule that is neither in the fleet file nor in any logged decision is a typo, not "none
    since 24h"."""
    from fleetui.store.decisions import decision_summary

    if decision_summary(ctx.store(), None, rule).decisions:
        return
    names = [r.name for r in ctx.fleet().rules]
    if rule in names:
        return
    known = ", ".join(names) or "none"
    raise CliError(f"--rule: no rule {rule!r} in the fleet file or in the logged decisions (the fleet's rules: "
                   f"{known}; '' selects the decisions no rule matched)")
