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
    import tomllib

    from fleetui import locations

    path = locations.config_dir() / "keymap.toml"
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise CliError(f"{path}: {exc}") from None
    bad = [k for k, v in data.items() if not isinstance(v, str)]
    if bad:
        raise CliError(f"{path}: each entry is binding-id = \"key\"; not a string: {', '.join(bad)}")
    return data


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    from fleetui.tui.app import FleetApp
    from fleetui.tui.data import Session

    ctx.fleet()  # reports a bad fleet file before the screen takes over
    ctx.store()  # creates the demo data first when needed
    session = Session(ctx.fleet_source(), ctx.db_path(), ctx.is_demo_data)
    FleetApp(session, keymap=load_keymap()).run()
    return 0
