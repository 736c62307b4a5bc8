"""`fleetui export calls`: the call log as JSONL, for other tools and backups."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from fleetui.cli.context import CliContext, CliError


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "export",
        help="export the call log (JSONL)",
        description="Export stored calls as fleetui JSONL (the format `fleetui import` reads).",
    )
    parser.add_argument("what", choices=["calls"], help="what to export")
    parser.add_argument("--since", help="only calls since: 7d, 24h, 2w or a date (default: all)")
    parser.add_argument("--format", choices=["jsonl"], default="jsonl")
    parser.add_argument("-o", "--output", help="write to FILE atomically (default: stdout)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    from fleetui.importers.jsonl import to_json
    from fleetui.timespec import parse_since

    try:
        since = parse_since(args.since) if args.since else None
    except ValueError as exc:
        raise CliError(f"--since: {exc}") from None
    calls = ctx.store().iter_calls(since_ts=since)
    if not args.output:
        count = 0
        for call in calls:
            sys.stdout.write(to_json(call) + "\n")
            count += 1
        ctx.note(f"exported {count:,} calls")
        return 0
    target = Path(args.output)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent if str(target.parent) else ".")
    count = 0
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            for call in calls:
                handle.write(to_json(call) + "\n")
                count += 1
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    print(f"exported {count:,} calls to {target}")
    return 0
