"""`fleetui discover`: label calls by keywords, then cluster prompts into use cases."""

from __future__ import annotations

import argparse
from typing import Any

from fleetui.cli.context import CliContext, CliError


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "discover",
        help="find what people really ask: keyword labels, then clusters of prompts",
        description="Give every call without a use case one from the keyword rules, then cluster "
        "the period's distinct prompts (TF-IDF, small k-means clusters merged while alike, none "
        "over 35% of the prompts) into use cases named by their distinctive terms, with example "
        "prompts, keywords, typical length and models. Re-runs keep ids, and the names, merges "
        "and pins you set with `fleetui usecase` (by id or by name).",
    )
    parser.add_argument("--since", default="30d", help="period: 30d, 2w, a date (default 30d)")
    parser.add_argument("--k", type=int, help="number of clusters (default: chosen from the data)")
    parser.add_argument("--json", action="store_true", help="print as JSON")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    from fleetui.analysis.discover import discover
    since = ctx.since(args.since)
    if args.k is not None and args.k < 2:
        raise CliError("--k must be at least 2")
    result = discover(ctx.fleet(), ctx.store(), since, k=args.k)
    if args.json:
        ctx.print_json({"labelled": result.labelled, "k": result.k, "silhouette": result.silhouette,
                        "seconds": round(result.seconds, 2), "use_cases": [c.as_json() for c in result.clusters]})
        return 0
    if ctx.is_demo_data:
        print("DEMO DATA")
    print(f"{result.labelled:,} calls labelled by keywords; {result.k} clusters"
          + (f" (silhouette {result.silhouette:.2f})" if result.silhouette is not None else "")
          + f" in {result.seconds:.1f}s\n")
    if not result.clusters and args.k is not None and result.prompts > 0:
        print(f"--k {args.k} asks for as many clusters as the period has distinct prompts with text "
              f"({result.prompts:,}); give a smaller --k, or leave it out to let the data choose")
    elif not result.clusters:
        print("not enough prompts with text to cluster (prompts kept only as hashes cannot be clustered)")
    from fleetui.cli.output import plural, say, shorten, terminal_width

    for c in result.clusters:
        models = ", ".join(f"{m} {n:,}" for m, n in c.models.items())
        print(f"{c.id}  — {c.name}{'  [pinned]' if c.pinned else ''}")
        print(f"  {plural(c.calls, 'call')}, {plural(c.prompts, 'distinct prompt')}, typically {c.typical_chars} characters")
        say(f"keywords: {', '.join(c.keywords)}", indent=2, hang=2)
        say(f"models: {models}", indent=2, hang=2)
        for example in c.examples:
            print(f"    “{shorten(example, terminal_width() - 6)}”")
        print()
    return 0
