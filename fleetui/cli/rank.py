"""`fleetui rank [USE_CASE]`: the best model per use case, the alternatives, and why."""

from __future__ import annotations

import argparse
from typing import Any

from fleetui.cli.context import CliContext, CliError
from fleetui.cli.output import Column


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
    from fleetui.cli.output import plural, print_table
    from fleetui.clock import utc_day
    from fleetui.store.shared import shared_rankings

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
        print(f"{use_case}  ({plural(sum(m.n for m in models), 'call')})")
        if not ranked:
            print("  not enough calls to rank any model yet")
        table = [_rank_row(m) for m in ranked]
        table += [("", m.model_id, "—", f"{m.n:,}", f"not ranked: fewer than {fleet.ranking.min_samples}", "", "", "",
                  "") for m in models if not m.ranked]
        if table:
            print_table(RANK_COLUMNS, table, indent=2)
        _print_shared(shared.pop(use_case, []))
        print()
    for use_case, rows in shared.items():  # use cases only teammates have calls for
        print(f"{use_case}  (no calls here)")
        _print_shared(rows)
        print()
    return 0


RANK_COLUMNS = (Column("#", numeric=True), Column("MODEL"), Column("SCORE", numeric=True), Column("N", numeric=True),
                Column("SUCCESS", numeric=True), Column("95% CI", numeric=True, drop=3), Column("P50", numeric=True, drop=1),
                Column("$/CALL", numeric=True), Column("SATISF.", numeric=True, drop=2))


def _rank_row(m: Any) -> tuple[str, ...]:
    low, high = m.success_interval
    return (("★" if m.rank == 1 else "") + str(m.rank), m.model_id, f"{m.score:.1f}", f"{m.n:,}",
            f"{100 * m.success_rate:.1f}%", f"{100 * low:.1f}–{100 * high:.1f}%",
            "—" if m.p50_ms is None else f"{m.p50_ms / 1000:.2f}s",
            f"${m.cost_per_call:.4f}" if m.cost_per_call is not None else "unpriced",
            "—" if m.quality is None else f"{100 * m.quality:.0f}% (n={m.feedback_n:,})")


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
