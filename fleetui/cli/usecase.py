"""`fleetui usecase rename|merge|pin|list`: curate discovered use cases."""

from __future__ import annotations

import argparse
from typing import Any

from fleetui.cli.context import CliContext, CliError


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "usecase",
        help="rename, merge, pin or list discovered use cases",
        description="Curate the use cases `fleetui discover` found; your changes survive re-runs.",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    actions.add_parser("list", help="the stored use cases").add_argument("--json", action="store_true")
    rename = actions.add_parser("rename", help="give a use case your own name")
    rename.add_argument("id")
    rename.add_argument("name")
    merge = actions.add_parser("merge", help="fold one use case into another")
    merge.add_argument("id")
    merge.add_argument("into")
    pin = actions.add_parser("pin", help="keep a use case's name and id fixed across runs")
    pin.add_argument("id")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    from fleetui.store import analytics

    store = ctx.store()
    if args.action == "list":
        rows = analytics.use_cases(store)
        if getattr(args, "json", False):
            ctx.print_json(rows)
        else:
            from fleetui.cli.output import Column, print_table

            print_table((Column("ID"), Column("NAME"), Column("CALLS", numeric=True), Column("", drop=1)),
                        [(r["id"], r["name"], f"{r['calls'] or 0:,}",
                          " ".join(filter(None, ["[pinned]" if r["pinned"] else "",
                                                 f"→ merged into {r['merged_into']}" if r["merged_into"] else ""])))
                         for r in rows])
        return 0
    rows = analytics.use_cases(store)
    args.id = _resolve(rows, args.id)
    if args.action == "merge":
        args.into = _resolve(rows, args.into)
    if args.action == "rename":
        analytics.rename_use_case(store, args.id, args.name)
    elif args.action == "merge":
        if not analytics.merge_use_case(store, args.id, args.into):
            raise CliError("a use case cannot be merged into itself")
    else:
        analytics.pin_use_case(store, args.id)
    print(f"{args.action}d {args.id}")
    return 0


def _resolve(rows: list[dict[str, Any]], given: str) -> str:
    """A use case's id from its id or its name: after `rename a b`, `b` names it too."""
    if any(r["id"] == given for r in rows):
        return given
    named = [r["id"] for r in rows if r["name"] == given]
    if len(named) == 1:
        return named[0]
    if named:
        raise CliError(f"{len(named)} use cases are named {given!r} ({', '.join(named)}); give the id")
    raise CliError(f"no use case {given!r}; run `fleetui discover` first, or see `fleetui usecase list`")
