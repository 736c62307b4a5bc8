"""`fleetui dryrun CANDIDATE.toml` (or `--config CANDIDATE.toml`): logged traffic through a
candidate config, predicted."""

from __future__ import annotations

import argparse
from typing import Any

from fleetui.cli.context import CliContext, CliError
from fleetui.pricing import format_share


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "dryrun",
        help="predict cost, success and latency of logged traffic under a candidate fleet file",
        description="Route every logged call of the period with the candidate's rules and with the "
        "current fleet file's, and compare the two (history shown beside them). Calls that change "
        "model are re-priced from their tokens and take the new model's observed rates for their "
        "use case; costs cover the calls priced on every side.",
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
    from pathlib import Path

    from fleetui.routing.learned.fileformat import RouterFileError

    try:
        result = dry_run(ctx.fleet(), candidate, ctx.store(), since, (ctx.fleet_source().path.parent, Path(path).parent))
    except RouterFileError as exc:
        raise CliError(str(exc), exit_code=1) from None
    monthly = _per_30_days(result, ctx, since)
    if args.json:
        ctx.print_json(result.as_json() | {"per_30_days": monthly})
        return 0
    if not result.calls:
        print("no logged calls in the period to replay through the candidate")
        return 0
    from fleetui.cli.output import Column, plural, print_table, say

    say(f"{plural(result.calls, 'call')}; the candidate routes {result.moved:,} of them to another model than the "
        f"current config does ({100 * result.moved / result.calls:.1f}%)")
    sides = (result.history, result.current, result.candidate)
    change = "" if result.change_pct is None else f"candidate vs current {result.change_pct:+.1f}%"
    print_table((Column(""), Column("HISTORY", numeric=True), Column("CURRENT CONFIG", numeric=True),
                 Column("CANDIDATE", numeric=True), Column("", drop=1)), [
        ("cost", *(format_cost(s.cost_usd) for s in sides), change),
        ("per 30 days", *(format_cost(monthly[k]) for k in ("history_usd", "current_usd", "candidate_usd")),
         f"at the last {monthly['window_days']:g} days' rate"),
        ("success", *(format_share(s.success) for s in sides), ""),
        ("latency", *(_seconds(s.latency_ms) for s in sides), "mean"),
    ])
    left_out = result.calls - result.compared_calls
    if left_out:
        say(f"costs cover the {result.compared_calls:,} calls priced on all three sides; {left_out:,} go to or "
            "came from an unpriced model (give it a price override to count them)")
    for name, side in (("current config", result.current), ("candidate", result.candidate)):
        if side.unobserved:
            print(f"{name}: {plural(side.unobserved, 'call')} moved to never-observed models; their success is not predicted")
        if side.unroutable:
            print(f"{name}: {plural(side.unroutable, 'call')} no model could take")
    if result.shift:
        print("moves (current config → candidate):")
    for move, n in result.shift.items():
        print(f"  {move}: {n:,}")
    return 0


def _per_30_days(result: Any, ctx: CliContext, since: float) -> dict[str, float]:
    """The sides' costs per 30 days at the period's rate (analysis.costs.per_30_days), and all of
    the period's calls as `costs` counts them, so the figures can be set side by side."""
    import math

    from fleetui import clock
    from fleetui.analysis.costs import per_30_days

    days = max(1, math.ceil((clock.now() - since) / clock.DAY_S))
    spent = ctx.store().overall(since=clock.utc_day(since)).cost_usd
    return {"window_days": days, "history_all_calls_usd": round(per_30_days(spent, days), 6),
            **{f"{name}_usd": round(per_30_days(getattr(result, name).cost_usd, days), 6)
               for name in ("history", "current", "candidate")}}


def _seconds(ms: float | None) -> str:
    return "—" if ms is None else f"{ms / 1000:.2f}s"
