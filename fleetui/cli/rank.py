"""`fleetui rank [USE_CASE]`: the best model per use case, the alternatives, and why."""

from __future__ import annotations

import argparse
from typing import Any

from fleetui.cli.context import CliContext, CliError


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "rank",
        help="rank models per use case on success, speed, cost and satisfaction",
        description="Rank models per use case with the fleet's weights (success uses its Wilson "
        "95% lower bound; satisfaction is shrunk toward the use case's mean). Models under "
        "ranking.min_samples calls are listed but not ranked. Rankings are stored.",
    )
    parser.add_argument("use_case", nargs="?", help="one use case (default: all)")
    parser.add_argument("--since", default="30d", help="period: 30d, 2w, a date (default 30d)")
    parser.add_argument("--json", action="store_true",
                        help="print as JSON: {use case: [models]}, and teammates' rankings under \"shared\" "
                        "when a sync brought some (`fleetui sync git --pull`, `fleetui pull s3`)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    import time

    from fleetui.analysis.ranking import rank_use_cases, save_rankings
    from fleetui.store.shared import shared_rankings
    from fleetui.clock import utc_day

    since = utc_day(ctx.since(args.since))
    fleet, store = ctx.fleet(), ctx.store()
    ranking = rank_use_cases(fleet, store, since)
    save_rankings(store, ranking, time.time())
    if args.use_case:
        if args.use_case not in ranking:
            known = ", ".join(ranking) or "none yet"
            raise CliError(f"no calls for use case {args.use_case!r} since {since}; use cases: {known}")
        ranking = {args.use_case: ranking[args.use_case]}
    shared: dict[str, list[dict[str, Any]]] = {}
    for row in shared_rankings(store, args.use_case):
        shared.setdefault(row["use_case"], []).append(row)
    if args.json:
        out: dict[str, Any] = {uc: [m.as_json() for m in models] for uc, models in ranking.items()}
        if shared:
            out["shared"] = shared
        ctx.print_json(out)
        return 0
    if ctx.is_demo_data:
        print("DEMO DATA")
    weights = fleet.ranking.weights
    print(f"weights: success {weights.success:g}, speed {weights.speed:g}, cost {weights.cost:g}, "
          f"satisfaction {weights.satisfaction:g}; minimum {fleet.ranking.min_samples} calls\n")
    for use_case, models in ranking.items():
        ranked = [m for m in models if m.ranked]
        print(f"{use_case}  ({sum(m.n for m in models):,} calls)")
        if not ranked:
            print("  not enough calls to rank any model yet")
        for m in ranked:
            marker = "★" if m.rank == 1 else " "
            print(f"  {marker}{m.rank:>2}. {m.model_id:<16} {m.score:5.1f}  {m.why()}")
        for m in models:
            if not m.ranked:
                print(f"      {m.model_id:<16}   —    not ranked: n={m.n} < {fleet.ranking.min_samples}")
        _print_shared(shared.pop(use_case, []))
        print()
    for use_case, rows in shared.items():  # use cases only teammates have calls for
        print(f"{use_case}  (no calls here)")
        _print_shared(rows)
        print()
    return 0


def _print_shared(rows: list[dict[str, Any]]) -> None:
    """Teammates' rankings of a use case, as their last sync brought them, by where they came from."""
    sources: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        sources.setdefault(row["source"], []).append(row)
    for source, ranked in sources.items():
        who = f" ({ranked[0]['published_by']})" if ranked[0].get("published_by") else ""
        best = ", ".join(f"{r['rank']}. {r['model_id']} {r['score']:.1f} (n={r['n']:,})"
                         for r in ranked[:3] if r.get("rank") is not None and r.get("score") is not None)
        print(f"    shared from {source}{who}: {best or 'not enough calls to rank'}")
