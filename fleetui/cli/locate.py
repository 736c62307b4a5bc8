"""`fleetui locate`: where fleetui's files are."""

from __future__ import annotations

import argparse
from typing import Any

from fleetui.cli.context import CliContext

WHAT = ("config", "fleet", "data", "db", "themes")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "locate",
        help="print the config, data and themes folders and the database path",
        description="Print where fleetui keeps its files. Env vars FLEETUI_CONFIG_DIR, "
        "FLEETUI_DATA_DIR, FLEETUI_CONFIG and FLEETUI_DB move them.",
    )
    parser.add_argument("what", nargs="?", choices=WHAT, help="print only this path")
    parser.add_argument("--json", action="store_true", help="print as JSON")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    from fleetui import locations
    from fleetui.config.fleetfile import find_fleet_file

    found = find_fleet_file(ctx.config)
    if found is None and ctx.demo:
        fleet = f"{locations.sample_fleet_file()} (sample)"
    elif found is None:
        fleet = f"none found (would be {locations.user_fleet_file()}; `fleetui init` creates it)"
    else:
        fleet = f"{found.path} ({found.origin})"
    paths = {
        "config": str(locations.config_dir()),
        "fleet": fleet,
        "data": str(locations.data_dir()),
        "db": str(ctx.db_path()),
        "themes": str(locations.themes_dir()),
    }
    if args.what:
        print(paths[args.what])
    elif args.json:
        ctx.print_json(paths)
    else:
        width = max(map(len, paths))
        for name, value in paths.items():
            print(f"{name:<{width}}  {value}")
    return 0
