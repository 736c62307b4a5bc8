"""`fleetui export`: routing config for apps (TOML, JSON, LiteLLM), or the call log or the routing
decisions (JSONL)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from fleetui.cli.context import CliContext, CliError


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "export",
        help="export routing config (toml, json, litellm), the call log or routing decisions (jsonl)",
        description="`fleetui export --format toml|json|litellm`: the fleet's routing for apps; the "
        "LiteLLM form is a proxy config.yaml with keys as os.environ/NAME. `fleetui export calls`: "
        "stored calls as fleetui JSONL (what `fleetui import` reads). `fleetui export decisions`: the "
        "routing decisions apps logged, as JSONL.",
    )
    parser.add_argument("what", nargs="?", choices=["routing", "calls", "decisions"], default="routing",
                        help="what to export (default: routing)")
    parser.add_argument("--since", help="calls and decisions: since 7d, 24h, 2w or a date (default: all)")
    parser.add_argument("--format", choices=["toml", "json", "litellm", "jsonl"],
                        help="routing: toml (default), json, litellm; calls and decisions: jsonl")
    parser.add_argument("-o", "--output", help="write to FILE atomically (default: stdout)")
    parser.set_defaults(run=run)


def _write(target: Path, lines: Any) -> int:
    """Write lines to `target` with the one atomic writer; returns how many."""
    from fleetui.config.writer import write_chunks

    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise CliError(f"cannot write {target}: there is no folder {folder}; create it or write elsewhere")
    count = 0

    def counted() -> Iterator[str]:
        nonlocal count
        for line in lines:
            count += 1
            yield line

    write_chunks(target, counted())
    return count


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    if args.what == "routing":
        return _routing(args, ctx)
    return _log(args, ctx)


def _routing(args: argparse.Namespace, ctx: CliContext) -> int:
    from fleetui.routing.export import EXPORTERS

    fmt = args.format or "toml"
    if fmt not in EXPORTERS:
        raise CliError(f"routing exports as toml, json or litellm, not {fmt}")
    text = EXPORTERS[fmt](ctx.fleet())
    if args.output:
        _write(Path(args.output), [text])
        print(f"wrote {fmt} routing config to {args.output}")
    else:
        sys.stdout.write(text)
    return 0


def _log(args: argparse.Namespace, ctx: CliContext) -> int:
    """The call log as fleetui JSONL (what `fleetui import` reads), or the stored decisions."""
    if args.format not in (None, "jsonl"):
        raise CliError(f"{args.what} export as jsonl, not {args.format}")
    since = ctx.since(args.since) if args.since else None
    store = ctx.store()
    lines: Iterator[str]
    if args.what == "calls":
        from fleetui.importers.jsonl import to_json

        lines = (to_json(call) + "\n" for call in store.iter_calls(since_ts=since))
    else:
        from fleetui.store.decisions import iter_decisions

        lines = (json.dumps(decision) + "\n" for decision in iter_decisions(store, since))
    if not args.output:
        count = 0
        for line in lines:
            sys.stdout.write(line)
            count += 1
        ctx.note(f"exported {count:,} {args.what}")
        return 0
    count = _write(Path(args.output), lines)
    print(f"exported {count:,} {args.what} to {args.output}")
    return 0
