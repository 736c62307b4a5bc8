"""`fleetui import FILE`: other tools' call logs into the store; twice imports nothing twice."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from fleetui.cli.context import CliContext, CliError

SHOW_PROBLEMS = 20


def register(subparsers: Any) -> None:
    from fleetui.importers import FORMATS

    parser = subparsers.add_parser(
        "import",
        help="import call logs: fleetui JSONL, simonw/llm logs.db, LiteLLM spend logs",
        description="Import call logs into the store. Formats: fleetui JSONL (see the README's "
        "'Call log format'), simonw/llm's logs.db, LiteLLM spend logs (JSON or CSV export of "
        "LiteLLM_SpendLogs). The format is detected unless --format says. Bad lines are reported "
        "with their line number and skipped; importing the same file again adds nothing.",
    )
    parser.add_argument("file", help="the log file")
    parser.add_argument("--format", choices=FORMATS, help="the file's format (default: detected)")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    from fleetui.importers import Problem, detect, read
    from fleetui.shim.enrich import Enricher
    from fleetui.store.records import CallRecord

    path = Path(args.file)
    if not path.is_file():
        raise CliError(f"{path}: no such file")
    fmt = args.format or detect(path)
    fleet = ctx.fleet()
    store = ctx.store()
    enrich = Enricher.for_fleet(fleet, None, None)
    problems: list[Problem] = []
    totals = {"read": 0, "stored": 0, "already_there": 0}
    show = sys.stderr.isatty() and not args.json
    batch: list[CallRecord] = []

    def flush() -> None:
        stored, skipped = store.insert_new_calls(batch)
        totals["stored"] += stored
        totals["already_there"] += skipped
        batch.clear()
        if show:
            print(f"\r  {totals['read']:,} read, {totals['stored']:,} stored", end="", file=sys.stderr, flush=True)

    try:
        for row in read(path, fmt):
            if isinstance(row, Problem):
                problems.append(row)
                continue
            totals["read"] += 1
            enrich(row)
            batch.append(row)
            if len(batch) >= 5_000:
                flush()
        flush()
    except OSError as exc:
        raise CliError(f"{path}: cannot read ({exc})") from None
    if show:
        print(file=sys.stderr)
    summary = {"file": str(path), "format": fmt, **totals, "problems": len(problems)}
    if args.json:
        ctx.print_json({**summary, "problem_lines": [{"line": p.line, "message": p.message} for p in problems]})
    else:
        for problem in problems[:SHOW_PROBLEMS]:
            print(f"{path}:{problem.line}: {problem.message}", file=sys.stderr)
        if len(problems) > SHOW_PROBLEMS:
            print(f"… and {len(problems) - SHOW_PROBLEMS} more problems", file=sys.stderr)
        print(f"{path} ({fmt}): {totals['read']:,} calls read, {totals['stored']:,} stored, "
              f"{totals['already_there']:,} already there, {len(problems):,} lines skipped")
    return 0 if not problems else 1
