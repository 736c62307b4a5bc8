"""`fleetui bench routing --calls FILE.jsonl`: fit a router on logged calls, measure it on the rest."""

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
        "quality (0..1), cost_usd}. Fits a router on the training prompts (default: per-model ridge "
        "regressors over prompt words and shape; --router knn: TF-IDF nearest neighbours) and reports, "
        "on held-out prompts, its quality/cost curve against the best single model, random routing and "
        "the oracle, and APGR and CPT(50/80/95%) for a strong/weak pair (default: the strongest and the "
        "cheapest model on the training prompts).",
    )
    parser.add_argument("what", choices=["routing"])
    parser.add_argument("--calls", required=True, type=Path, help="JSONL call log with quality values")
    parser.add_argument("--test-fraction", type=float, default=0.3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--strong", help="strong model for APGR (default: the best on the training prompts)")
    parser.add_argument("--weak", help="weak model for APGR (default: the cheapest on the training prompts)")
    parser.add_argument("--router", choices=["ridge", "knn"], default="ridge",
                        help="ridge: quality regressors over prompt words and shape (default); knn: nearest neighbours")
    parser.add_argument("--json", action="store_true", help="print as JSON")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    from fleetui.routing.learned import evaluate, read_calls

    if not 0 < args.test_fraction < 1:
        raise CliError("--test-fraction must be between 0 and 1")
    if not args.calls.is_file():
        raise CliError(f"{args.calls}: no such file")
    try:
        samples = read_calls(args.calls)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    models = {s.model for s in samples}
    for option in ("strong", "weak"):
        name = getattr(args, option)
        if name is not None and name not in models:
            raise CliError(f"--{option} {name!r} is not in the log; models: {', '.join(sorted(models))}")
    if not samples:
        raise CliError(f"{args.calls}: no calls in the file")
    try:
        result = evaluate(samples, test_fraction=args.test_fraction, seed=args.seed, strong=args.strong,
                          weak=args.weak, router=args.router)
    except ValueError as exc:
        raise CliError(f"{args.calls}: {exc}") from None
    if args.json:
        ctx.print_json(result)
        return 0
    best = result["best_single"]
    print(f"{result['train_prompts']} training prompts, {result['test_prompts']} held out (seed {result['seed']}), "
          f"{result['models']} models; router: {result['router']}")
    print(f"best single model (chosen on training data): {result['best_single_model_on_train']}: "
          f"quality {best['quality']:.3f} at ${best['cost_usd']:.4f}")
    at = result["router_at_best_single_cost"]
    if at:
        print(f"router at no more than that cost: quality {at['quality']:.3f} at ${at['cost_usd']:.4f} "
              f"= {100 * result['share_of_best_quality']:.1f}% of the best single model")
    print(f"random routing: quality {result['random']['quality']:.3f}; oracle: {result['oracle']['quality']:.3f}")
    print("quality/cost curve as the price weight λ grows, router beside the oracle (which knows every answer's quality):")
    print(f"  {'λ':>7}  {'router':>7} {'cost':>9}   {'oracle':>7} {'cost':>9}")
    for point in result["router_curve"]:
        router_cost, oracle_cost = f"${point['cost_usd']:.4f}", f"${point['oracle_cost_usd']:.4f}"
        print(f"  {point['price_weight']:>7g}  {point['quality']:>7.3f} {router_cost:>9}   "
              f"{point['oracle_quality']:>7.3f} {oracle_cost:>9}")
    if "strong_weak" in result:
        sw = result["strong_weak"]
        chosen = "" if args.strong and args.weak else " (the strongest and the cheapest on the training prompts)"
        print(f"{result['strong_model']} (strong) vs {result['weak_model']} (weak){chosen}, "
              f"{result['test_prompts']} held-out prompts:")
        gain = sw["share_of_oracle_gain"]
        print(f"  APGR router {sw['router']['apgr']:.3f}, oracle {sw['oracle']['apgr']:.3f}, random {sw['random_apgr']:.3f}"
              + (f": the router gains {gain:.0%} of what the oracle gains over random routing" if gain is not None else ""))
        print(f"  {'calls to strong':>15}  {'PGR router':>10}  {'PGR oracle':>10}")
        for point in sw["pgr_curve"]:
            print(f"  {point['share_to_strong']:>15.0%}  {point['router_pgr']:>10.3f}  {point['oracle_pgr']:>10.3f}")

        def cpt(side: str) -> str:
            return "/".join("—" if v is None else f"{v:.2f}" for v in sw[side]["cpt_share_of_strong_calls"].values())

        print(f"  CPT(50/80/95%), share of calls to the strong model: router {cpt('router')}, oracle {cpt('oracle')}")
    return 0
