"""`fleetui apply RECOMMENDATION_ID`: a recommendation becomes a routing rule in the fleet file."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from fleetui.cli.context import CliContext, CliError

if TYPE_CHECKING:
    from fleetui.config.change import Change


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "apply",
        help="turn a recommendation into a routing rule (shows the diff, asks, writes atomically)",
        description="Add the routing rule a recommendation calls for to the fleet file: show the "
        "diff, validate the whole new fleet, ask, then write atomically keeping FILE.bak, and "
        "mark the recommendation applied. Comments and layout of the file are kept.",
    )
    parser.add_argument("recommendation", help="its id, from `fleetui recommend` (learned:NAME: a rule that routes "
                        "with the learned router NAME at its recommended quality_target)")
    parser.add_argument("--yes", action="store_true", help="do not ask")
    parser.add_argument("--dry-run", action="store_true", help="show the diff only")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    from fleetui.config.fleetfile import FleetFileError
    from fleetui.routing.apply import AlreadyInFleet, CannotApply, plan
    from fleetui.store import analytics

    source = ctx.own_fleet_source()
    if args.recommendation.startswith("learned:"):
        return _written(ctx, _learned_change(args.recommendation, ctx), args)
    store = ctx.store()
    rec = analytics.recommendation(store, args.recommendation)
    if rec is None:
        raise CliError(f"no recommendation {args.recommendation!r}; see `fleetui recommend`")
    if rec["status"] == "applied":
        raise CliError(f"{rec['id']} is already applied")
    try:
        change = plan(source.path, rec)
    except AlreadyInFleet as exc:
        analytics.set_recommendation_status(store, rec["id"], "applied")  # the file says so
        raise CliError(str(exc), exit_code=1) from None
    except (CannotApply, FleetFileError) as exc:
        raise CliError(str(exc)) from None
    return _written(ctx, change, args, lambda: analytics.set_recommendation_status(store, rec["id"], "applied"))


def _learned_change(rec_id: str, ctx: CliContext) -> Change:
    """`fleetui apply learned:NAME`: a rule routing with the router at its recommended target;
    refused (exit 1) when a rule uses the router already."""
    from fleetui.analysis.learned_advice import ID_PREFIX, learned_advice, plan_rule
    from fleetui.config.fleetfile import FleetFileError
    from fleetui.routing.apply import AlreadyInFleet, CannotApply

    path = ctx.own_fleet_source().path
    name = rec_id.removeprefix(ID_PREFIX)
    advice = next((a for a in learned_advice(ctx.fleet(), path) if a.router == name), None)
    if advice is None:
        raise CliError(f"no learned router {name!r} beside {path} for this fleet's models; "
                       f"train it with `fleetui router train {name}`")
    try:
        return plan_rule(advice, path)
    except AlreadyInFleet as exc:
        raise CliError(str(exc), exit_code=1) from None
    except (CannotApply, FleetFileError) as exc:
        raise CliError(str(exc)) from None


def _written(ctx: CliContext, change: Change, args: argparse.Namespace,
             mark_applied: Callable[[], object] | None = None) -> int:
    status = ctx.write_change(change, yes=args.yes, dry_run=args.dry_run)
    if status is not None:
        return status
    if mark_applied is not None:
        mark_applied()
    print(f"added rule {change.subject} to {change.path} (previous version: {change.path.name}.bak)")
    from fleetui.cli.sync import sync_after

    sync_after(ctx, "apply")
    return 0
