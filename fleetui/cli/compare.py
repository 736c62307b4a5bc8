"""`fleetui compare "prompt" MODEL MODEL...`: the same prompt on several models, side by side."""

from __future__ import annotations

import argparse
import asyncio
import shutil
import textwrap
from typing import Any

from fleetui.cli.context import CliContext, CliError
from fleetui.cli.prompting import add_prompt_options, check_models, read_prompt


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "compare",
        help="send one prompt to several models at once and compare the replies",
        description="Send one prompt to several models concurrently and show the replies side "
        "by side with latency, tokens and cost. Trials are kept apart from your apps' calls "
        "(never counted in usage, costs or rankings). "
        "Use '-' as the prompt to read it from stdin.",
    )
    parser.add_argument("prompt", help="the prompt ('-': read stdin)")
    parser.add_argument("models", nargs="+", metavar="MODEL", help="two or more model ids")
    add_prompt_options(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    from fleetui.probes import run_trials, trial_record
    from fleetui.providers import ChatRequest

    fleet = ctx.fleet()
    if len(args.models) < 2:
        raise CliError("compare needs at least two models")
    check_models({m.id for m in fleet.models}, args.models)
    request = ChatRequest.of(read_prompt(args.prompt), system=args.system, max_tokens=args.max_tokens,
                             temperature=args.temperature)
    trials = asyncio.run(run_trials(fleet, args.models, request))
    ctx.store().record_trials([trial_record(fleet, t, request) for t in trials])
    if args.json:
        ctx.print_json([t.as_json() for t in trials])
    else:
        print(render(trials))
    return 0 if all(t.error is None for t in trials) else 1


def render(trials: list[Any]) -> str:
    from fleetui.pricing import format_cost

    width = shutil.get_terminal_size((120, 40)).columns
    column = max(24, (width - 3 * (len(trials) - 1)) // len(trials))
    cells = []
    for t in trials:
        r = t.result
        head = [t.model_id, "─" * min(column, 40)]
        body = textwrap.wrap(t.text, column) if t.text else []
        if t.error:
            body += textwrap.wrap(f"[{t.error.kind.value}] {t.error}", column)
        foot = ["", f"{t.latency_ms:.0f} ms" + (f", ttft {r.ttft_ms:.0f} ms" if r and r.ttft_ms else ""),
                f"{r.input_tokens if r else '?'} in / {r.output_tokens if r else '?'} out tokens",
                format_cost(t.cost_usd)]
        cells.append(head + body + foot)
    height = max(len(c) for c in cells)
    lines = []
    for row in range(height):
        lines.append(" │ ".join((c[row] if row < len(c) else "").ljust(column) for c in cells).rstrip())
    return "\n".join(lines)
