"""`fleetui ab [NAME]`: how the fleet's A/B tests are doing, from the call log."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from fleetui.cli.context import CliContext, CliError

if TYPE_CHECKING:
    from fleetui.analysis.abtests import ABResult


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "ab",
        help="A/B test results: each arm's calls, success, feedback, latency, cost, and the winner",
        description="Results of the fleet file's [[ab_tests]] (and of any A/B test found in the call "
        "log) from the calls the router sent to each arm (route 'ab:NAME'; record them with "
        "`fleetui.shim.attributes(**decision.call_attributes())`). A winner is declared when every arm "
        "has min_samples calls and a two-proportion z-test puts the best success rate ahead at alpha. "
        "With NAME --end, a test that has a winner ends: its rule routes to the winner from then on. "
        "Exit status 0; 1 when --end finds no winner or is declined; 2 when NAME is unknown.",
    )
    parser.add_argument("name", nargs="?", help="one test (default: all)")
    parser.add_argument("--since", default="30d", help="period: 7d, 24h, 2026-11-01 (default 30d)")
    parser.add_argument("--json", action="store_true", help="print as JSON")
    parser.add_argument("--end", action="store_true",
                        help="with NAME and a winner: route the test's rule to the winner (its other "
                        "targets become fallbacks) and disable the test; shows the diff and asks")
    parser.add_argument("--yes", action="store_true", help="with --end: do not ask")
    parser.add_argument("--dry-run", action="store_true", help="with --end: show the diff only")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    from fleetui.analysis.abtests import ab_results

    since = ctx.since(args.since)
    fleet = ctx.fleet()
    try:
        results = ab_results(fleet, ctx.store(), since, args.name)
    except KeyError:
        known = ", ".join(t.name for t in fleet.ab_tests) or "none in the fleet file"
        raise CliError(f"no A/B test {args.name!r} in the fleet file or the log since {args.since} "
                       f"(tests: {known})") from None
    if args.end:
        return _end(args, ctx, results)
    if args.json:
        ctx.print_json({"since": args.since, "tests": [r.as_json() for r in results]})
        return 0
    if ctx.is_demo_data:
        print("DEMO DATA")
    from fleetui.cli.output import Column, print_table, say

    if not results:
        say("no A/B tests: add an [[ab_tests]] entry to the fleet file (name, arms = { model = weight }, "
            "optional rule); see the README")
        return 0
    for number, result in enumerate(results):
        if number:
            print()
        say(_heading(result, args.since), hang=2)
        print_table((Column("ARM"), Column("WEIGHT", numeric=True, drop=2), Column("USERS", numeric=True),
                     Column("CALLS", numeric=True), Column("SUCCESS", numeric=True),
                     Column("FEEDBACK", numeric=True, drop=1), Column("MEAN MS", numeric=True, drop=3),
                     Column("COST", numeric=True)),
                    [(arm.model_id, "-" if arm.weight is None else f"{arm.weight:g}", f"{arm.users:,}",
                      f"{arm.trials:,}", "-" if arm.rate is None else f"{arm.rate:.1%}",
                      "-" if arm.mean_quality is None else f"{arm.mean_quality:.2f}",
                      "-" if arm.mean_latency_ms is None else f"{arm.mean_latency_ms:,.0f}",
                      f"${arm.cost_usd:,.4f}") for arm in result.verdict.arms], indent=2)
        say(f"{'winner: ' if result.verdict.winner else ''}{result.verdict.reason}", indent=2)
    return 0


def _heading(result: ABResult, since: str) -> str:
    scope = f"rule {result.rule}" if result.rule else "all routed traffic"
    if not result.in_fleet_file:
        state = "not in the fleet file (ended?)"
    elif not result.enabled:
        state = "disabled"
    else:
        state = f"min {result.min_samples} calls an arm, alpha {result.alpha:g}"
    return f"A/B test {result.verdict.test} ({scope}; {state}; since {since})"


def _end(args: argparse.Namespace, ctx: CliContext, results: list[ABResult]) -> int:
    from fleetui.config.fleetfile import FleetFileError
    from fleetui.routing.apply import CannotApply, plan_ab_winner

    if args.name is None:
        raise CliError("--end needs the test's NAME")
    [result] = results
    winner = result.verdict.winner
    if not winner:
        raise CliError(f"A/B test {args.name} has no winner yet: {result.verdict.reason}", exit_code=1)
    source = ctx.own_fleet_source()
    try:
        change = plan_ab_winner(source.path, args.name, winner)
    except (CannotApply, FleetFileError) as exc:
        raise CliError(str(exc)) from None
    print(result.verdict.reason)
    status = ctx.write_change(change, yes=args.yes, dry_run=args.dry_run)
    if status is not None:
        return status
    print(f"rule {change.subject} now routes to {winner}; A/B test {args.name} disabled "
          f"(previous version: {source.path.name}.bak)")
    return 0
