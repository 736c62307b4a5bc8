"""`fleetui test MODEL "prompt"`: stream a model's reply, then latency, TTFT, tokens and cost."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from fleetui.cli.context import CliContext
from fleetui.cli.prompting import add_prompt_options, check_models, read_prompt


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "test",
        help="send a prompt to one model and stream the reply",
        description="Send a prompt to a model, stream the reply into the terminal, then print "
        "latency, time to first token, tokens and cost. The trial is kept apart "
        "from your apps' calls: it never counts in usage, costs or rankings. The prompt may come from stdin.",
    )
    parser.add_argument("model", help="model id from the fleet")
    parser.add_argument("prompt", nargs="?", help="the prompt ('-' or omitted: read stdin)")
    add_prompt_options(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    from fleetui.pricing import format_cost
    from fleetui.probes import run_trial, trial_record
    from fleetui.providers import ChatRequest

    fleet = ctx.fleet()
    check_models({m.id for m in fleet.models}, [args.model])
    request = ChatRequest.of(read_prompt(args.prompt), system=args.system, max_tokens=args.max_tokens,
                             temperature=args.temperature)
    def echo(text: str) -> None:
        sys.stdout.write(text)
        sys.stdout.flush()


    trial = asyncio.run(run_trial(fleet, args.model, request, on_text=None if args.json else echo))
    ctx.store().record_trials([trial_record(fleet, trial, request)])
    if args.json:
        ctx.print_json(trial.as_json())
        return 0 if trial.error is None else 1
    if trial.text:
        print()
    if trial.error:
        print(f"\nfailed ({trial.error.kind.value}): {trial.error}", file=sys.stderr)
        return 1
    r = trial.result
    assert r is not None
    ttft = f"{r.ttft_ms:.0f} ms" if r.ttft_ms is not None else "—"
    tokens = f"{r.input_tokens if r.input_tokens is not None else '?'} in / {r.output_tokens if r.output_tokens is not None else '?'} out"
    print(f"\n— {args.model}: {trial.latency_ms:.0f} ms, first token {ttft}, {tokens}, "
          f"{format_cost(trial.cost_usd)}" + (" (refused)" if r.refused else ""))
    return 0
