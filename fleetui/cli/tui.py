"""`fleetui tui` (and `fleetui` alone in a terminal): the Textual app."""

from __future__ import annotations

import argparse
from typing import Any

from fleetui.cli.context import CliContext, CliError


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "tui",
        help="open the terminal app (what `fleetui` alone does in a terminal)",
        description="Open the terminal app: Fleet, Usage, Costs, Recommendations and Add Model tabs.",
    )
    parser.set_defaults(run=run)


def load_keymap() -> dict[str, str]:
    from fleetui import locations
    from fleetui.config.keymap import KeymapError, read_keymap
    from fleetui.tui.keymap import binding_ids

    try:
        return read_keymap(locations.config_dir() / "keymap.toml", binding_ids())
    except KeymapError as exc:
        raise CliError(str(exc), exit_code=1) from None


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    from fleetui.tui.app import FleetApp
    from fleetui.tui.data import Session

    ctx.fleet()  # reports a bad fleet file before the screen takes over
    ctx.store()  # creates the demo data first when needed
    session = Session(ctx.fleet_source(), ctx.db_path(), ctx.is_demo_data)
    FleetApp(session, keymap=load_keymap()).run()
    return 0
