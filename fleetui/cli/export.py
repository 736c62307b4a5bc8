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
        description="`fleetui export --format toml|json|litellm`: the fleet's routing for apps. TOML is "
        "the routing part of the fleet file (`fleetui.Router.from_toml` loads it); JSON is "
        '{"exported_from": ..., "fleet": ...}; LiteLLM is a proxy config.yaml (keys as os.environ/NAME, '
        "a placeholder key for keyless models, fleetui's prices, roles and rules as model groups with "
        "their fallbacks) whose header lists what LiteLLM cannot do as fleetui does. Every export names "
        "the fleet file and its sha256 and mtime. `fleetui export calls`: stored calls as fleetui JSONL "
        "(what `fleetui import` reads). `fleetui export decisions`: the routing decisions apps logged, "
        "as JSONL.",
    )
    parser.add_argument("what", nargs="?", choices=["routing", "calls", "decisions"], default="routing",
                        help="what to export (default: routing)")
    parser.add_argument("--since", help="calls and decisions: since 7d, 24h, 2w or a date (default: all)")
    parser.add_argument("--format", choices=["toml", "json", "litellm", "jsonl"],
                        help="routing: toml (default), json, litellm; calls and decisions: jsonl")
    parser.add_argument("-o", "--output", help="write to FILE atomically (default: stdout)")
    parser.add_argument("--check", action="store_true",
                        help="with --format litellm: list what LiteLLM will do differently from fleetui and "
                        "write nothing. Exit 0 when only LiteLLM's inherent limits differ (rule conditions, "
                        "complexity escalation, no-rule defaults: clients pick a name instead), 1 when anything "
                        "else does (A/B tests, prices, keys, names, shared roles)")
    parser.add_argument("--json", action="store_true",
                        help="routing to stdout: the JSON export (same as --format json); with -o or --check: "
                        "a JSON summary of what was written or found; calls and decisions are JSON lines already")
    parser.set_defaults(run=run)


def _write(target: Path, lines: Any) -> int:
    """Write lines to `target` with the one atomic writer; returns how many."""
    from fleetui.config.writer import write_chunks

    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise CliError(f"cannot write {target}: there is no folder {folder}; create it or write elsewhere",
                       exit_code=1)
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
    from fleetui.config.fleetfile import FleetFileError
    from fleetui.routing.export import EXPORTERS, read_fleet_for_export

    fmt = args.format or ("json" if args.json and not args.output and not args.check else "toml")
    if fmt not in EXPORTERS:
        raise CliError(f"routing exports as toml, json or litellm, not {fmt}")
    if args.json and fmt != "json" and not args.output and not args.check:
        raise CliError(f"--json prints the routing config as JSON; drop --format {fmt}, or add -o FILE for a summary")
    if args.check and fmt != "litellm":
        raise CliError("--check compares a LiteLLM export with fleetui's routing: add --format litellm")
    path = ctx.fleet_source().path
    try:
        fleet, source = read_fleet_for_export(path)
    except FleetFileError as exc:
        raise CliError(str(exc)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CliError(f"{path}: cannot read the fleet file: {getattr(exc, 'strerror', None) or exc}") from None
    if args.check:
        return _check(fleet, args.json)
    text = EXPORTERS[fmt](fleet, source)
    if args.output:
        _write(Path(args.output), [text])
        if args.json:
            ctx.print_json({"written": args.output, "format": fmt, "bytes": len(text.encode()),
                            "exported_from": source})
        else:
            print(f"wrote {fmt} routing config to {args.output}")
    else:
        sys.stdout.write(text)
    return 0


def _check(fleet: Any, as_json: bool) -> int:
    from fleetui.routing.export_litellm import build_litellm_export

    differences = build_litellm_export(fleet).differences
    surprises = [d for d in differences if not d.inherent]
    if as_json:
        CliContext.print_json({"surprises": len(surprises), "differences": [
            {"kind": d.kind.value, "subject": d.subject, "inherent": d.inherent, "message": d.message}
            for d in differences]})
    else:
        limits = [d for d in differences if d.inherent]
        if limits:
            print("LiteLLM cannot do this (clients choose a model, role or rule by name instead):")
            print("\n".join(f"  [{d.kind.value}] {d.message}" for d in limits))
        if surprises:
            print(f"LiteLLM will behave differently from fleetui in {len(surprises)} more "
                  f"way{'s' if len(surprises) != 1 else ''}:")
            print("\n".join(f"  [{d.kind.value}] {d.message}" for d in surprises))
        else:
            print("Otherwise LiteLLM will route, fall back, use keys and price as fleetui does.")
    return 1 if surprises else 0


def _log(args: argparse.Namespace, ctx: CliContext) -> int:
    """The call log as fleetui JSONL (what `fleetui import` reads), or the stored decisions."""
    if args.format not in (None, "jsonl"):
        raise CliError(f"{args.what} export as jsonl, not {args.format}")
    if args.check:
        raise CliError("--check is for the LiteLLM routing export: `fleetui export --format litellm --check`")
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
    if args.json:
        ctx.print_json({"written": args.output, "what": args.what, "count": count})
    else:
        print(f"exported {count:,} {args.what} to {args.output}")
    return 0
