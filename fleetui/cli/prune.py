"""`fleetui prune`: delete old calls from the store; the per-day rollups stay."""

from __future__ import annotations

import argparse
from typing import Any

from fleetui.cli.context import CliContext, CliError
from fleetui.cli.output import plural


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "prune",
        help="delete calls older than a period (default: [store] keep_days); rollups stay",
        description="Delete calls older than --older-than (a span like 90d, 12w, or a date like "
        "2026-01-01), or than the fleet file's [store] keep_days when not given. The per-day "
        "rollups are kept, so usage and cost of past months still show; what goes is the call "
        "log behind them (prompts, responses, per-call detail). The count is kept and shown by "
        "`fleetui doctor`. --vacuum then rewrites the file to give the space back.",
    )
    parser.add_argument("--older-than", metavar="PERIOD", help="e.g. 90d; default: [store] keep_days")
    parser.add_argument("--vacuum", action="store_true", help="then give the freed space back (rewrites the file)")
    parser.add_argument("--dry-run", action="store_true", help="only count the calls that would go")
    parser.add_argument("--yes", action="store_true", help="do not ask before deleting")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    from fleetui.clock import utc_day

    if args.older_than:
        cutoff = ctx.since(args.older_than, "--older-than")
        period = args.older_than
    else:
        keep_days = ctx.fleet().store.keep_days
        if keep_days is None:
            raise CliError("nothing to prune by: give --older-than (e.g. 90d) or set keep_days under "
                           f"[store] in {ctx.fleet_source().path}", exit_code=1)
        cutoff = ctx.since(f"{keep_days}d")
        period = f"{keep_days}d ([store] keep_days)"
    store = ctx.store()
    size_before = _size(ctx)
    older = store.count_calls_before(cutoff)
    result: dict[str, Any] = {"db": str(ctx.db_path()), "older_than": period, "before_day": utc_day(cutoff),
                              "calls_older": older, "deleted": 0, "vacuumed": False,
                              "size_before_bytes": size_before, "size_after_bytes": size_before}
    if not args.dry_run and older:
        if not ctx.confirm(f"Delete {plural(older, 'call')} made before {utc_day(cutoff)} (UTC) from "
                           f"{ctx.db_path()}? Their daily totals stay.", args.yes):
            print("Nothing deleted.")
            return 1
        result["deleted"] = store.prune_calls(cutoff)
    if args.vacuum and not args.dry_run:
        store.vacuum()
        result["vacuumed"] = True
    result["size_after_bytes"] = _size(ctx)
    if args.json:
        ctx.print_json(result)
        return 0
    verb = "would delete" if args.dry_run else "deleted"
    count = older if args.dry_run else result["deleted"]
    print(f"{verb} {plural(count, 'call')} made before {result['before_day']} (UTC, older than {period}) "
          f"from {result['db']}; daily totals kept")
    if result["vacuumed"]:
        print(f"vacuumed: {_mib(size_before)} -> {_mib(result['size_after_bytes'])}")
    return 0


def _size(ctx: CliContext) -> int:
    try:
        return ctx.db_path().stat().st_size
    except OSError:
        return 0


def _mib(value: int) -> str:
    return f"{value / 2**20:,.1f} MiB"
