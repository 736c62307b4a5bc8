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
    rename.add_argument("id", help="its id, or its name")
    rename.add_argument("name")
    merge = actions.add_parser("merge", help="fold one use case into another")
    merge.add_argument("id", help="its id, or its name")
    merge.add_argument("into", help="the id or name of the use case it joins")
    pin = actions.add_parser("pin", help="keep a use case's name and id fixed across runs")
    pin.add_argument("id", help="its id, or its name")
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

            # The pinned / merged column says what the user did: kept whole, before a name's tail.
            print_table((Column("ID"), Column("NAME"), Column("CALLS", numeric=True), Column("", wrap=True)),
                        [(r["id"], r["name"], f"{r['calls'] or 0:,}",
                          " ".join(filter(None, ["[pinned]" if r["pinned"] else "",
                                                 f"→ merged into {r['merged_into']}" if r["merged_into"] else ""])))
                         for r in rows])
        return 0
    rows = analytics.use_cases(store)
    args.id = _resolve(args.id, rows)
    if args.action == "merge":
        args.into = _resolve(args.into, rows)
    if args.action == "rename":
        analytics.rename_use_case(store, args.id, args.name)
    elif args.action == "merge":
        if not analytics.merge_use_case(store, args.id, args.into):
            raise CliError("a use case cannot be merged into itself")
    else:
        analytics.pin_use_case(store, args.id)
    done = {"rename": "renamed", "merge": "merged", "pin": "pinned"}[args.action]
    print(f"{done} {args.id}" + (f" into {args.into}" if args.action == "merge" else ""))
    return 0


def _resolve(given: str, rows: list[dict[str, Any]]) -> str:
    """A use case by its id or, as `usecase rename` gives one, by its name (any case)."""
    if any(r["id"] == given for r in rows):
        return given
    named = [r["id"] for r in rows if str(r["name"]).casefold() == given.casefold()]
    if len(named) == 1:
        return named[0]
    if named:
        raise CliError(f"{len(named)} use cases are named {given!r} ({', '.join(named)}); give one of their ids")
    raise CliError(f"no use case {given!r}; run `fleetui discover` first, or see `fleetui usecase list`")
