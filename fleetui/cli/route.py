"""`fleetui route "prompt"`: which model the fleet's routing picks for a request, and why."""

from __future__ import annotations

import argparse
from typing import Any

from fleetui.cli.context import CliContext, CliError


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "route",
        help="show the routing decision for one prompt",
        description="Run one request through the fleet's routing rules and print the decision: "
        "model, endpoint, fallbacks, the rule that matched, complexity and confidence.",
    )
    parser.add_argument("prompt", nargs="?", help="the prompt ('-' or omitted: stdin)")
    parser.add_argument("--task", help="the request's task, e.g. coding")
    parser.add_argument("--use-case", help="the request's use case, e.g. casual_chat")
    parser.add_argument("--complexity", choices=["simple", "medium", "complex"],
                        help="skip the estimate from the prompt")
    parser.add_argument("--tag", action="append", default=[], help="a request tag (repeatable)")
    parser.add_argument("--user", help="the user (A/B splits and rules on user)")
    parser.add_argument("--hour", type=int, choices=range(24), metavar="0-23",
                        help="the hour rules see (default: now, local time)")
    parser.add_argument("--strategy", choices=["task-based", "cost-first", "quality-first", "adaptive"],
                        default="task-based", help="how to pick (default: task-based, the fleet's rules)")
    parser.add_argument("--ignore-health", action="store_true",
                        help="route as if every enabled model were up, whatever the last probes said")
    parser.add_argument("--json", action="store_true", help="print as JSON")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    from fleetui.cli.prompting import read_prompt
    from fleetui.probes import fleet_health
    from fleetui.routing import NoRoute, Router

    from fleetui.routing.budget import budget_levels
    from fleetui.routing.learned.fileformat import RouterFileError

    fleet = ctx.fleet()
    try:
        router = Router(fleet, strategy=args.strategy, routers_dir=ctx.fleet_source().path.parent)
    except RouterFileError as exc:
        raise CliError(str(exc), exit_code=1) from None
    if ctx.db_path().exists():
        store = ctx.store()
        if not args.ignore_health:
            router.set_health(fleet_health(fleet, store.recent_probes))
        router.set_budget(budget_levels(fleet, store)[0])  # as the app's router sees them (watch_budget)
        if args.strategy == "adaptive":  # from the logged outcomes, as an app's router would start
            router.learn_from_store(ctx.db_path())
    try:
        decision = router.route(read_prompt(args.prompt), task=args.task, use_case=args.use_case,
                                complexity=args.complexity, tags=args.tag, user=args.user, hour=args.hour)
    except NoRoute as exc:
        if args.json:
            ctx.print_json({"error": "no_route", "excluded": _why_excluded(ctx, exc.excluded)})
            return 1
        import textwrap

        from fleetui.cli.output import terminal_width

        lines = ["no enabled, healthy model in the fleet can take this request:"]
        lines += [textwrap.fill(f"{model_id}: {why}", terminal_width(), initial_indent="  ", subsequent_indent="    ",
                                break_long_words=False, break_on_hyphens=False)
                  for model_id, why in _why_excluded(ctx, exc.excluded).items()]
        if any(why != "disabled" for why in exc.excluded.values()):
            lines.append("  route anyway with --ignore-health, or probe again with `fleetui probe`")
        raise CliError("\n".join(lines), exit_code=1) from None
    if args.json:
        ctx.print_json(decision.as_json())
        return 0
    print(f"→ {decision.model_id} ({decision.provider_model} at {decision.endpoint})")
    print(f"  {decision.reason}")
    print(f"  complexity {decision.complexity} (confidence {decision.confidence:.2f}"
          + (", escalated one tier" if decision.escalated else "")
          + (f"; from {', '.join(decision.matched)}" if decision.matched else "") + ")")
    if decision.learned is not None:  # why the learned router chose: its threshold and predictions
        learned = decision.learned
        print(f"  learned router {learned.router}: target {learned.target}, {learned.threshold}"
              + (f" ({learned.step} step(s) down for the budget)" if learned.step else ""))
        print("  predicted quality: " + ", ".join(f"{m} {q:.2f}" for m, q in learned.predicted))
    print(f"  fallbacks: {', '.join(decision.fallbacks) if decision.fallbacks else '(none)'}")
    print(f"  decided in {decision.decision_us:.0f} µs")
    return 0


def _why_excluded(ctx: CliContext, excluded: dict[str, str]) -> dict[str, str]:
    """Each excluded model with why, in words: disabled, or the probe that found it down, when,
    and what it said (a missing key, a refused connection…)."""
    import time

    probes = ctx.store().last_probe_by_model() if ctx.db_path().exists() else {}
    out = {}
    for model_id, status in excluded.items():
        probe = probes.get(model_id)
        if status == "disabled":
            out[model_id] = "disabled in the fleet file (enabled = false)"
        elif probe is None:
            out[model_id] = status
        else:
            when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(probe.ts))
            out[model_id] = f"{status.replace('_', ' ')} by probe at {when}" + (f": {probe.message}" if probe.message else "")
    return out
