"""`fleetui recommend`: what to change, by severity, with the numbers behind each."""

from __future__ import annotations

import argparse
from typing import Any

from fleetui.cli.context import CliContext, CliError


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "recommend",
        help="recommendations with their numbers: cheaper models, casual traffic on expensive models, …",
        description="Analyse the last --days days and list recommendations by severity: cheaper "
        "model per use case, expensive models on casual traffic, low success, underused models, "
        "budget forecast, unhealthy models, routing issues. They are stored (with a status) for "
        "the TUI and `fleetui apply`.",
    )
    parser.add_argument("--days", type=int, default=30, help="window to analyse (default 30)")
    parser.add_argument("--all", action="store_true", help="include dismissed and applied ones")
    parser.add_argument("--json", action="store_true", help="print as JSON")
    mark = parser.add_mutually_exclusive_group()
    mark.add_argument("--accept", metavar="ID", help="mark a recommendation accepted (as `a` in the app)")
    mark.add_argument("--dismiss", metavar="ID", help="mark a recommendation dismissed; it is not shown again")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    from fleetui.analysis.recommend import recommend, store_recommendations
    from fleetui.cli.output import say

    if args.accept or args.dismiss:
        return _mark(args, ctx)
    fleet, store = ctx.fleet(), ctx.store()
    found = store_recommendations(store, recommend(fleet, store, days=args.days))
    shown = [r for r in found if args.all or r.status not in ("dismissed", "applied")]
    in_fleet = _rules_in_the_fleet(fleet, shown)
    from fleetui.cli.router import learned_recommendations, print_learned

    # Learned routers' targets come from their held-out figures, not from the store's
    # recommendations table: they follow the store's, as entries of kind learned_router.
    learned = learned_recommendations(ctx)
    if args.json:
        ctx.print_json([r.as_json() | {"rule_in_fleet": in_fleet.get(r.id)} for r in shown]
                       + [a.as_recommendation_json() for a in learned])
        return 0
    if ctx.is_demo_data:
        print("DEMO DATA")
    if not shown and not learned:
        print("nothing to recommend: no calls yet, or the fleet already routes well")
    for r in shown:
        say(f"[{r.severity.upper():<6}] {r.id}  {r.title}", hang=9)
        say(r.sentence, indent=9)
        if r.id in in_fleet:
            say(f"the fleet file has this rule already ({in_fleet[r.id]}): these calls do not go through "
                "fleetui's router (an app calling the model directly, or a gateway without the rules)", indent=9)
        elif r.implementation:
            say(f"how: {r.implementation}", indent=9, hang=5)
        if r.verification:
            say(f"{'verified' if r.verified else 'replayed, not verified'}: {r.verification} (run {r.verified_by})",
                indent=9)
        elif r.can_verify:
            say(f"verify: fleetui replay --recommendation {r.id}", indent=9)
    print_learned(learned, fleet.recommendations.max_quality_drop_pct)
    return 0


def _rules_in_the_fleet(fleet: Any, found: list[Any]) -> dict[str, str]:
    """Recommendation id → the fleet's rule that already does what it asks (what `apply` checks)."""
    from fleetui.routing.apply import rule_in_fleet

    named = {r.id: rule_in_fleet(fleet, r.as_json()) for r in found}
    return {rec_id: rule for rec_id, rule in named.items() if rule is not None}


def _mark(args: argparse.Namespace, ctx: CliContext) -> int:
    from fleetui.store import analytics

    rec_id, status = (args.accept, "accepted") if args.accept else (args.dismiss, "dismissed")
    if rec_id.startswith("learned:"):
        name = rec_id.removeprefix("learned:")
        raise CliError(f"{rec_id} is not stored, so it has no status to mark: `fleetui apply {rec_id}` adds its rule; "
                       f"it goes when {name}.router.json does, or when a rule uses it")
    store = ctx.store()
    rec = analytics.recommendation(store, rec_id)
    if rec is None:
        raise CliError(f"no recommendation {rec_id!r}; see `fleetui recommend`")
    if rec["status"] == "applied":
        raise CliError(f"{rec_id} is already applied; its rule is in the fleet file")
    analytics.set_recommendation_status(store, rec_id, status)
    if args.json:
        ctx.print_json({"id": rec_id, "status": status})
    else:
        print(f"{rec_id} {status}: {rec['title']}")
    if status == "accepted":
        from fleetui.cli.sync import sync_after

        sync_after(ctx, "accept")
    return 0
