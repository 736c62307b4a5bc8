"""`fleetui import PATH`: other tools' call logs into the store; twice imports nothing twice."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fleetui.cli.context import CliContext, CliError
from fleetui.cli.output import plural

if TYPE_CHECKING:
    from fleetui.config.schema import Fleet
    from fleetui.importers import Problem
    from fleetui.store.records import CallRecord

SHOW_PROBLEMS = 20
BATCH = 5_000


def register(subparsers: Any) -> None:
    from fleetui.importers import FORMATS

    parser = subparsers.add_parser(
        "import",
        help="import call logs: fleetui JSONL, llm, LiteLLM, Claude Code, Codex",
        description="Import call logs into the store: fleetui JSONL (the README's 'Call log format'), "
        "simonw/llm's logs.db (its responses table, and llm ≥ 0.34's threads and turns), LiteLLM "
        "spend logs (JSON, JSONL or CSV) and "
        "StandardLoggingPayload JSONL, Claude Code sessions (~/.claude/projects) and Codex CLI "
        "sessions (~/.codex/sessions). PATH is a file or a folder (every log file under it). The "
        "format is detected unless --format says. Bad lines or rows are reported with their number "
        "and the reason, and skipped; the rest is imported. Importing the same logs again adds "
        "nothing. No fleet file is needed: calls are then kept under the model names their log "
        "gives, and the summary lists the models that match no fleet model. Exit 1 when anything "
        "was skipped.",
    )
    parser.add_argument("path", metavar="PATH", help="the log file, or a folder of them")
    parser.add_argument("--format", choices=FORMATS, help="the format of every file (default: detected per file)")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    from fleetui.importers import Found, ImportFileError, detect, files_in, read
    from fleetui.importers.mapping import ModelMatcher
    from fleetui.shim.enrich import Enricher

    root = Path(args.path).expanduser()
    if not root.exists():
        raise CliError(f"{root}: no such file or folder")
    paths = files_in(root)
    if not paths:
        raise CliError(f"{root}: no log files (.jsonl, .json, .csv, .db) in this folder")
    fleet, fleet_note = _fleet(ctx)
    store = ctx.store()
    enrich = Enricher.for_fleet(fleet, None, None)
    match = ModelMatcher(fleet)
    problems: list[tuple[Path, Problem]] = []
    unreadable: list[dict[str, str]] = []
    formats: dict[str, int] = {}
    totals = {"read": 0, "stored": 0, "already_there": 0}
    by_source: dict[str, dict[str, Any]] = {}
    show = sys.stderr.isatty() and not args.json
    batch: list[CallRecord] = []

    def flush() -> None:
        stored, skipped = store.insert_new_calls(batch)
        totals["stored"] += stored
        totals["already_there"] += skipped
        batch.clear()
        if show:
            files = f"{current + 1:,}/{len(paths):,} files, " if len(paths) > 1 else ""
            print(f"\r  {files}{totals['read']:,} read, {totals['stored']:,} stored", end="", file=sys.stderr, flush=True)

    for current, path in enumerate(paths):
        try:
            fmt = args.format or detect(path)
            formats[fmt] = formats.get(fmt, 0) + 1
            for row in read(path, fmt):
                if not isinstance(row, Found):
                    problems.append((path, row))
                    continue
                totals["read"] += 1
                match(row.call)
                enrich(row.call)
                _count(by_source, row.call)
                batch.append(row.call)
                if len(batch) >= BATCH:
                    flush()
        except ImportFileError as exc:
            unreadable.append({"file": str(path), "message": str(exc)})
        except OSError as exc:
            unreadable.append({"file": str(path), "message": f"cannot read ({exc.strerror or exc})"})
        flush()
    if show:
        print(file=sys.stderr)
    unmapped = dict(match.unmapped.most_common())
    if args.json:
        ctx.print_json({
            "path": str(root), "files": len(paths), "formats": formats, **totals,
            "problems": len(problems),
            "problem_lines": [{"file": str(p), "unit": q.unit, "line": q.line, "message": q.message}
                              for p, q in problems],
            "unreadable_files": unreadable,
            "unmapped_models": unmapped,
            "by_source": by_source,
            "fleet": fleet_note,
        })
    else:
        _print_summary(root, paths, formats, totals, problems, unreadable, unmapped, fleet_note)
        _print_sources(by_source)
    return 0 if not problems and not unreadable else 1


def _count(by_source: dict[str, dict[str, Any]], call: CallRecord) -> None:
    """The calls read, per tool that made them: one view across an agent's and a proxy's logs."""
    entry = by_source.setdefault(call.source, {"calls": 0, "input_tokens": 0, "output_tokens": 0,
                                               "cost_usd": 0.0, "unpriced": 0})
    entry["calls"] += 1
    entry["input_tokens"] += call.input_tokens or 0
    entry["output_tokens"] += call.output_tokens or 0
    if call.cost_usd is None:
        entry["unpriced"] += 1
    else:
        entry["cost_usd"] += call.cost_usd


def _print_sources(by_source: dict[str, dict[str, Any]]) -> None:
    from fleetui.pricing import format_calls_cost

    for source, entry in sorted(by_source.items()):
        cost = format_calls_cost(entry["cost_usd"], entry["calls"], entry["unpriced"])
        print(f"  {source}: {plural(entry['calls'], 'call')}, {entry['input_tokens']:,} input and "
              f"{entry['output_tokens']:,} output tokens, {cost}")


def _fleet(ctx: CliContext) -> tuple[Fleet, str | None]:
    """The fleet to map calls onto; an import needs none (calls keep their logged model names)."""
    from fleetui.config.fleetfile import find_fleet_file
    from fleetui.config.schema import Fleet

    if ctx.config is None and not ctx.demo and find_fleet_file(None) is None:
        return Fleet(), "no fleet file: calls keep the model names their logs give"
    return ctx.fleet(), None


def _where(path: Path, problem: Problem) -> str:
    return f"{path}:{problem.line}" if problem.unit == "line" else f"{path}: {problem.unit} {problem.line}"


def _print_summary(root: Path, paths: list[Path], formats: dict[str, int], totals: dict[str, int],
                   problems: list[tuple[Path, Problem]], unreadable: list[dict[str, str]],
                   unmapped: dict[str, int], fleet_note: str | None) -> None:
    for path, problem in problems[:SHOW_PROBLEMS]:
        print(f"{_where(path, problem)}: {problem.message}", file=sys.stderr)
    if len(problems) > SHOW_PROBLEMS:
        print(f"… and {len(problems) - SHOW_PROBLEMS} more problems (all of them: --json)", file=sys.stderr)
    for entry in unreadable:
        print(f"{entry['file']}: {entry['message']}; nothing imported from it", file=sys.stderr)
    kinds = ", ".join(f"{fmt}" if n == 1 else f"{fmt} ×{n}" for fmt, n in formats.items())
    what = f"{root} ({kinds})" if len(paths) == 1 else f"{root} ({len(paths)} files: {kinds})"
    print(f"{what}: {plural(totals['read'], 'call')} read, {totals['stored']:,} stored, "
          f"{totals['already_there']:,} already there, {len(problems):,} skipped")
    if fleet_note:
        print(f"  {fleet_note}")
    if unmapped:
        listed = ", ".join(f"{name} ({n:,})" for name, n in list(unmapped.items())[:10])
        more = f" and {len(unmapped) - 10} more" if len(unmapped) > 10 else ""
        print(f"  not in the fleet (calls kept, no fleet model): {listed}{more}")
