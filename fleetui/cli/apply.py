"""`fleetui apply RECOMMENDATION_ID`: a recommendation becomes a routing rule in the fleet file."""

from __future__ import annotations

import argparse
from typing import Any

from fleetui.cli.context import CliContext, CliError


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "apply",
        help="turn a recommendation into a routing rule (shows the diff, asks, writes atomically)",
        description="Add the routing rule a recommendation calls for to the fleet file: show the "
        "diff, validate the whole new fleet, ask, then write atomically keeping FILE.bak, and "
        "mark the recommendation applied. Comments and layout of the file are kept.",
    )
    parser.add_argument("recommendation", help="its id, from `fleetui recommend`")
    parser.add_argument("--yes", action="store_true", help="do not ask")
    parser.add_argument("--dry-run", action="store_true", help="show the diff only")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    from fleetui.config.fleetfile import FleetFileError
    from fleetui.routing.apply import AlreadyInFleet, CannotApply, plan
    from fleetui.store import analytics

    source = ctx.own_fleet_source()
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
    status = ctx.write_change(change, yes=args.yes, dry_run=args.dry_run)
    if status is not None:
        return status
    analytics.set_recommendation_status(store, rec["id"], "applied")
    print(f"added rule {change.subject} to {source.path} (previous version: {source.path.name}.bak)")
    from fleetui.cli.sync import sync_after

    sync_after(ctx, "apply")
    return 0
