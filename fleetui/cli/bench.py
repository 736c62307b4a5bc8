"""`fleetui bench routing --calls FILE.jsonl`: train a router on logged calls, measure it on the rest.

The same pipeline as `fleetui router train` (fleetui.routing.learned.train), without saving.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from fleetui.cli.context import CliContext, CliError


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "bench",
        help="measure a router learned from logged calls with a quality value (bench routing)",
        description="`fleetui bench routing --calls FILE.jsonl`: each line {prompt_id, prompt, model, "
        "quality (0..1), cost_usd, optional category}. Trains the router `fleetui router train` makes "
        "(per-model sparse ridge over hashed prompt words and form) on 70% of the prompts and reports, on "
        "held-out prompts, the cost at 90/95/99% of the reference model's quality beside random routing, "
        "the best single model, a per-category table and the oracle, and APGR. Bad lines are counted and "
        "reported, not fatal.",
    )
    parser.add_argument("what", choices=["routing"])
    parser.add_argument("--calls", required=True, type=Path, help="JSONL call log with quality values")
    parser.add_argument("--test-fraction", type=float, default=0.3, help="share of prompts held out (default 0.3)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--models", help="comma-separated models to choose among (default: all in the file)")
    parser.add_argument("--reference", "--strong", dest="reference",
                        help="the model targets are shares of (default: the best on the training prompts)")
    parser.add_argument("--weak", help="the weak model of APGR (default: the cheapest)")
    parser.add_argument("--json", action="store_true", help="print as JSON")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    from fleetui.cli.router import print_evaluation
    from fleetui.routing.learned.samples import DataError, SampleChecker, read_calls
    from fleetui.routing.learned.train import split_summary, train_router

    if not 0 < args.test_fraction < 1:
        raise CliError("--test-fraction must be between 0 and 1, e.g. 0.3")
    checker = SampleChecker(str(args.calls))
    models = [m.strip() for m in args.models.split(",") if m.strip()] if args.models else None
    try:
        samples = read_calls(args.calls, checker)
        saved = train_router(samples, name="bench", models=models, reference=args.reference, weak=args.weak,
                             seed=args.seed,
                             test_fraction=args.test_fraction)
    except DataError as exc:
        extra = f" ({checker.summary()})" if checker.rejected else ""
        raise CliError(f"{args.calls}: {exc}{extra}", exit_code=1) from None
    warnings = [line for line in (checker.summary(), checker.id_problem()) if line]
    if args.json:
        ctx.print_json({**saved.meta, "warnings": warnings})
        return 0
    for line in warnings:
        print(f"warning: {line}")
    d = saved.meta["data"]
    missing = {m: n for m, n in d["missing_calls_by_model"].items() if n}
    if missing:
        print("prompts without a call of a model (trained on, never measured on): "
              + ", ".join(f"{m} {n}" for m, n in missing.items()))
    print(f"{split_summary(d)} (seed {d['seed']}), {len(saved.model.models)} models; {saved.meta['train_seconds']} s")
    print_evaluation(saved.meta["metrics"], saved.meta["calibration"])
    return 0
