"""`fleetui demo`: fill the demo database with 30 days of realistic traffic."""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from fleetui.cli.context import CliContext, CliError


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="generate 30 days of demo traffic into the demo database",
        description="Generate 30 days of realistic calls on the fleet into a separate demo "
        "database (replacing it), then look at it with `fleetui --demo COMMAND`. Your own "
        "database is never touched unless you pass --db.",
    )
    parser.add_argument("--calls", type=int, default=None, help="how many calls (default 20,000)")
    parser.add_argument("--seed", type=int, default=7, help="random seed (same seed, same data)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    from fleetui import locations
    from fleetui.demo import DEFAULT_CALLS, generate_demo

    calls = DEFAULT_CALLS if args.calls is None else args.calls
    if calls < 1:
        raise CliError("--calls must be at least 1")
    path = ctx.db_path() if ctx.db else locations.demo_db()
    if ctx.db and path.exists() and path != locations.demo_db():
        raise CliError(
            f"{path} exists; demo data only goes into a new file or the demo database "
            "(omit --db to use it) so that real data is never replaced"
        )
    ctx.demo = True  # with no fleet file of the user's, demo traffic runs on the sample fleet
    fleet = ctx.fleet()
    started = time.perf_counter()
    show = sys.stderr.isatty()

    def progress(done: int, total: int) -> None:
        if show:
            print(f"\r  {done:,}/{total:,} calls", end="", file=sys.stderr, flush=True)

    written = generate_demo(fleet, path, calls=calls, seed=args.seed, progress=progress)
    if show:
        print(file=sys.stderr)
    elapsed = time.perf_counter() - started
    print(f"Wrote {written:,} demo calls to {path} in {elapsed:.1f}s.")
    hint = "fleetui --demo status" if path == locations.demo_db() else f"fleetui --db {path} status"
    print(f"Look at them with: {hint}")
    return 0
