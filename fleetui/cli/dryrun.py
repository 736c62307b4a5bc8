"""`fleetui dryrun CANDIDATE.toml` (or `--config CANDIDATE.toml`): logged traffic through a
candidate config, predicted."""

from __future__ import annotations

import argparse
from typing import Any

from fleetui.cli.context import CliContext, CliError


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "dryrun",
        help="predict cost, success and latency of logged traffic under a candidate fleet file",
        description="Route every logged call of the period with the candidate's rules and predict "
        "cost, success and latency against what happened. Calls that change model are re-priced "
        "from their tokens and take the new model's observed rates for their use case.",
    )
    parser.add_argument("candidate", nargs="?", help="the candidate fleet file")
    # `--config` after the command names the candidate; before it (`fleetui --config F dryrun`),
    # the fleet in use, as for every command. A separate dest keeps the two apart.
    parser.add_argument("--config", dest="candidate_file", metavar="CANDIDATE.toml",
                        help="the candidate fleet file (same as the positional argument)")
    parser.add_argument("--since", default="30d", help="period: 30d, 2w, a date (default 30d)")
    parser.add_argument("--json", action="store_true", help="print as JSON")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    from fleetui.config.fleetfile import FleetFileError, load_fleet
    from fleetui.pricing import format_cost
    from fleetui.routing.dryrun import dry_run
    since = ctx.since(args.since)
    if args.candidate and args.candidate_file and args.candidate != args.candidate_file:
        raise CliError("give the candidate once: either `dryrun CANDIDATE.toml` or `dryrun --config CANDIDATE.toml`")
    path = args.candidate or args.candidate_file
    if not path:
        raise CliError("which candidate? `fleetui dryrun CANDIDATE.toml` (a fleet file with the rules to try)")
    try:
        candidate = load_fleet(path)
    except FleetFileError as exc:
        raise CliError(str(exc)) from None
    result = dry_run(candidate, ctx.store(), since)
    if args.json:
        ctx.print_json(result.as_json())
        return 0
    if not result.calls:
        print("no logged calls in the period to replay through the candidate")
        return 0
    change = (result.predicted_cost - result.actual_cost) / result.actual_cost * 100 if result.actual_cost else 0.0
    print(f"{result.calls:,} calls; {result.moved:,} would change model ({100 * result.moved / result.calls:.1f}%)")
    print(f"cost     {format_cost(result.actual_cost)} → {format_cost(result.predicted_cost)} ({change:+.1f}%)"
          + (f"  [{result.unpriced:,} calls to unpriced models not counted]" if result.unpriced else ""))
    print(f"success  {100 * result.actual_success:.1f}% → {100 * result.predicted_success:.1f}%"
          + (f"  [{result.unobserved:,} calls to never-observed models not predicted]" if result.unobserved else ""))
    print(f"latency  {result.actual_latency_ms / 1000:.2f}s → {result.predicted_latency_ms / 1000:.2f}s mean")
    if result.unroutable:
        print(f"{result.unroutable:,} calls no model could take under the candidate")
    for move, n in result.shift.items():
        print(f"  {move}: {n:,}")
    return 0
