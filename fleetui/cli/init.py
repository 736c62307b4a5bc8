"""`fleetui init [PATH]`: start a fleet file from the commented sample."""

from __future__ import annotations

import argparse
from typing import Any

from fleetui.cli.context import CliContext, CliError


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "init",
        help="create a fleet file from the commented sample",
        description="Copy the sample fleet (with comments that explain the format) to PATH, "
        "by default the user config folder's fleet.toml. Never overwrites.",
    )
    parser.add_argument("path", nargs="?", help="where to create it")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    from pathlib import Path

    from fleetui import locations
    from fleetui.config.fleetfile import create_from_sample

    target = Path(args.path).expanduser() if args.path else locations.user_fleet_file()
    try:
        create_from_sample(target)
    except FileExistsError as exc:
        raise CliError(f"{exc}. Edit it, or name another path.") from None
    except OSError as exc:
        raise CliError(f"cannot create {target}: {exc}") from None
    print(f"Created {target}. Check it with `fleetui validate {target}`.")
    return 0
