"""`fleetui router train|eval|show`: a router learned from the store's labelled calls.

`train` fits per-model quality predictors on calls with a quality signal (user feedback, the
replay judge's scores, or an imported quality field; or a JSONL file with --calls), holds out a
share of the prompts, calibrates the price weight for each profile there, and saves
`<NAME>.router.json` beside the fleet file. A rule then routes with it: `learned = "NAME"`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fleetui.cli.context import CliContext, CliError
from fleetui.pricing import format_cost, format_share

if TYPE_CHECKING:
    from fleetui.analysis.learned_advice import LearnedAdvice
    from fleetui.routing.learned.fileformat import SavedRouter
    from fleetui.routing.learned.samples import Sample, SampleChecker


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "router", help="train, measure and show learned routers (router train|eval|show)",
        description="Learned routing. `train [NAME]` fits a router on labelled calls and saves NAME.router.json "
        "beside the fleet file (NAME defaults to 'default'); `eval NAME` prints its held-out figures beside "
        "random routing, the best single model, a per-category table and the oracle; `show NAME` what it "
        "was trained on; `eval NAME --calls FILE` (or `--since 7d`, the store's labelled calls) routes new "
        "labelled prompts with the saved price weights and says whether it keeps what it promised. "
        "Reference it from a rule: learned = \"NAME\", quality_target = \"95% of MODEL\".")
    parser.add_argument("action", choices=["train", "eval", "show"])
    parser.add_argument("name", nargs="?", default="default", help="the router's name (default: default)")
    parser.add_argument("--since", help="labelled calls since (7d, 24h, 2026-11-01); train: default 30d; "
                        "eval: measure on the store's calls since then (at the earliest, since the router was trained)")
    parser.add_argument("--models", help="comma-separated model ids to choose among (default: every labelled model)")
    parser.add_argument("--quality", choices=["feedback", "judge", "field"], default="feedback",
                        help="the quality signal: user feedback, replay judge scores, or an imported quality field")
    parser.add_argument("--calls", type=Path, help="learn from this JSONL file instead of the store "
                        "(each line: prompt_id, prompt, model, quality 0..1, cost_usd, optional category)")
    parser.add_argument("--reference", help="the model quality targets are shares of (default: the best on training data)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the held-out split")
    parser.add_argument("--out", type=Path, help="where to save (default: NAME.router.json beside the fleet file)")
    parser.add_argument("--check", action="store_true",
                        help="eval on new calls: exit 1 when quality falls below the promised interval at a target")
    parser.add_argument("--json", action="store_true", help="print as JSON")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    from fleetui.routing.learned.fileformat import RouterFileError, check_name, load

    try:
        check_name(args.name)
        if args.action == "train":
            return _train(args, ctx)
        saved = load(args.out or _path(ctx, args.name, writing=False))
    except RouterFileError as exc:
        raise CliError(str(exc), exit_code=1) from None
    if args.action == "eval" and (args.calls is not None or args.since is not None):
        return _eval_new(args, ctx, saved)
    if args.json:
        ctx.print_json(saved.meta if args.action == "eval" else _summary(saved))
    elif args.action == "eval":
        print_evaluation(saved.meta["metrics"], saved.meta["calibration"])
        print_recommendation(saved, _max_drop(ctx))
    else:
        print_summary(saved)
    return 0


def _eval_new(args: argparse.Namespace, ctx: CliContext, saved: SavedRouter) -> int:
    """Route new labelled prompts with the saved price weights; set what they reach beside the promise."""
    from fleetui.routing.learned import promise
    from fleetui.routing.learned.samples import DataError

    # From the store, calls from before training may be what it learned from: never those.
    samples, checker, data = labelled_samples(args, ctx, not_before=float(saved.meta["trained_at"]))
    try:
        result = promise.check(saved, samples)
    except DataError as exc:
        extra = f" ({checker.summary()})" if checker.rejected else ""
        if args.calls is None:
            import time

            trained = time.strftime("%Y-%m-%d %H:%M", time.gmtime(float(saved.meta["trained_at"])))
            extra += f" (calls from before it was trained, {trained} UTC, never count)"
        raise CliError(f"{data['source']}: {exc}{extra}", exit_code=1) from None
    if args.json:
        ctx.print_json({"router": saved.name, "data": {**data, "left_out": checker.summary() or None},
                        **result.as_json()})
    else:
        print_promise(saved, result, data, checker.summary())
    return 1 if args.check and not result.holds else 0


def print_promise(saved: SavedRouter, result: Any, data: dict[str, Any], left_out: str) -> None:
    from fleetui.cli.output import say

    window = f" from {data['since']} to {data['until']}" if data.get("since") else ""
    say(f"router {saved.name!r} on {result.prompts} new prompts every one of its models answered "
        f"({data['source']}{window}); quality and cost as shares of sending every prompt to {result.reference}:")
    if result.incomplete or result.unknown_models or left_out:
        parts = ([f"{result.incomplete} prompt(s) some model did not answer"] if result.incomplete else []) + \
            ([f"calls of models it does not know ({', '.join(result.unknown_models)})"] if result.unknown_models else []) + \
            ([left_out] if left_out else [])
        say("left out: " + "; ".join(parts), indent=2)
    for k in result.kept:
        verdict = "keeps its promise" if k.holds else "BELOW its promise"
        say(f"{k.share:.0%} of {result.reference}: quality {format_share(k.quality)} at cost {format_share(k.cost)} "
            f"({format_share(k.to_reference)} of prompts to {result.reference}); promised {format_share(k.promised_quality)} "
            f"[{format_share(k.promised_quality_ci[0])}, {format_share(k.promised_quality_ci[1])}] at {format_share(k.promised_cost)} "
            f"[{format_share(k.promised_cost_ci[0])}, {format_share(k.promised_cost_ci[1])}]: {verdict}", indent=2, hang=2)
    i95 = next((i for i, b in enumerate(result.baselines["random"]) if abs(b["share"] - 0.95) < 1e-9), None)
    if i95 is not None:
        single = result.baselines["best_single"][i95]
        say(f"on the same prompts, cost at 95% of it: random routing {format_share(result.baselines['random'][i95]['cost_share'])}, "
            f"best single model {format_share(single['cost_share'])} ({single['model']}), oracle "
            f"{format_share(result.baselines['oracle'][i95]['cost_share'])}", indent=2, hang=2)
    if not result.holds:
        say("retrain on recent calls (fleetui router train) or raise the rule's quality_target", indent=2)


def _path(ctx: CliContext, name: str, *, writing: bool) -> Path:
    from fleetui.routing.learned.fileformat import path_for

    source = ctx.own_fleet_source() if writing else ctx.fleet_source()
    return path_for(source.path, name)


def labelled_samples(args: argparse.Namespace, ctx: CliContext,
                     not_before: float = 0.0) -> tuple[list[Sample], SampleChecker, dict[str, Any]]:
    """The labelled calls a command learns from (from the store: none before `not_before`), with
    what was left out, or one clear error."""
    from fleetui.routing.learned.samples import DataError, SampleChecker, read_calls

    if args.calls is not None:
        checker = SampleChecker(str(args.calls))
        try:
            samples = read_calls(args.calls, checker)
        except DataError as exc:
            raise CliError(str(exc)) from None
        return samples, checker, {"source": f"file {args.calls.name}"}
    from fleetui.clock import parse_since, utc_day
    from fleetui.routing.learned.store_data import samples_from_store

    try:
        since = parse_since(args.since or "30d")
    except ValueError as exc:
        raise CliError(f"--since: {exc}") from None
    since = max(since, not_before)
    if not ctx.has_calls_store():
        raise CliError(f"{ctx.db_path()}: no database yet, so no logged calls to learn from")
    checker = SampleChecker("the store")
    samples = samples_from_store(ctx.store(), args.quality, since, checker)
    from fleetui import clock

    window = {"since": utc_day(since), "until": utc_day(clock.now())}
    return samples, checker, {"source": f"store ({args.quality})", **window}


def _train(args: argparse.Namespace, ctx: CliContext) -> int:
    from fleetui.routing.learned.fileformat import dumps, save
    from fleetui.routing.learned.samples import DataError
    from fleetui.routing.learned.train import split_summary, train_router

    samples, checker, data = labelled_samples(args, ctx)
    models = [m.strip() for m in args.models.split(",") if m.strip()] if args.models else None
    path = args.out or _path(ctx, args.name, writing=True)
    try:
        saved = train_router(samples, name=args.name, models=models, reference=args.reference, seed=args.seed,
                             data={**data, "left_out": checker.summary() or None})
    except DataError as exc:
        extra = f" ({checker.summary()})" if checker.rejected else ""
        raise CliError(f"{exc}{extra}", exit_code=1) from None
    if ctx.fleet_source().path.exists():
        unknown = [m for m in saved.model.models if m not in {x.id for x in ctx.fleet().models}]
        if unknown:
            # stderr: `--json` keeps stdout one JSON document
            print(f"note: {', '.join(unknown)} not in the fleet: rules cannot route to them (use the fleet's model "
                  "ids in the calls, or leave them out with --models)", file=sys.stderr)
    save(path, saved)
    if args.json:
        ctx.print_json({"path": str(path), **saved.meta})
        return 0
    for line in (checker.summary(), checker.id_problem()):
        if line:
            print(f"warning: {line}")
    d = saved.meta["data"]
    print(f"trained {args.name!r}: {len(saved.model.models)} models ({d['source']}), {split_summary(d)}; "
          f"{saved.meta['train_seconds']} s")
    print_evaluation(saved.meta["metrics"], saved.meta["calibration"])
    print_recommendation(saved, _max_drop(ctx))
    print(f"saved {path} ({len(dumps(saved)) / 1024:.0f} KiB); use it in a rule: learned = \"{args.name}\"")
    return 0


def _max_drop(ctx: CliContext) -> float:
    try:
        return float(ctx.fleet().recommendations.max_quality_drop_pct)
    except CliError:  # no fleet file: the fleet's default limit
        return 5.0


def print_recommendation(saved: SavedRouter, max_drop_pct: float) -> None:
    from fleetui.analysis.learned_advice import advise

    advice = advise(saved, max_drop_pct)
    e = advice.evidence
    if e is None:
        print(f"recommendation: none — no calibrated target keeps quality within max_quality_drop_pct = "
              f"{max_drop_pct:g}% on the prompts it was calibrated and measured on (the 95% interval included)")
        return
    if e.cost_share is None or e.cost_share_ci is None:
        cost, apart = "costs an unknown share (its held-out calls carry no cost)", ""
    else:
        cost = (f"costs {format_share(e.cost_share)} [{format_share(e.cost_share_ci[0])}, {format_share(e.cost_share_ci[1])}] of "
                f"sending every call to {e.reference}")
        apart = f"{format_share(e.test_cost_share)} at "
    print(f"recommendation (within max_quality_drop_pct = {max_drop_pct:g}%): quality_target = "
          f"\"{e.quality_target}\" {cost}, quality {format_share(e.quality_share_ci[0])}–{format_share(e.quality_share_ci[1])} "
          f"of it (measured apart: {apart}{format_share(e.test_quality_share)} on {e.test_prompts} more); evidence: "
          f"{e.calibration_prompts} {e.calibration_kind} + {e.test_prompts} held-out prompts, {e.source}" + (f" since {e.since}" if e.since else ""))


def learned_recommendations(ctx: CliContext) -> list[LearnedAdvice]:
    """Each learned router of the fleet as a recommendation (`fleetui savings`, `fleetui recommend`)."""
    from fleetui.analysis.learned_advice import learned_advice

    return learned_advice(ctx.fleet(), ctx.fleet_source().path)


def print_learned(learned: list[LearnedAdvice], max_drop_pct: float) -> None:
    """One sentence per learned router, with its evidence (savings and recommend print these)."""
    from fleetui.cli.output import say

    for entry in learned:
        found = entry.evidence
        name = entry.router
        for sentence in entry.outside:  # first: the fleet routes now past its own limit
            say(f"learned router {name}: a target outside max_quality_drop_pct = {max_drop_pct:g}% — {sentence} "
                f"How: {entry.fix}", hang=2)
        if entry.problem:
            say(f"learned router {name}: {entry.problem}")
        elif found is None:
            say(f"learned router {name}: no target keeps quality within {max_drop_pct:g}% on held-out logs")
        else:
            rule = (f'quality_target = "{found.quality_target}"' if entry.in_use else
                    f'a rule with learned = "{name}", quality_target = "{found.quality_target}" '
                    "(trained, not used by any rule yet; " + (f"`fleetui apply {entry.id}` adds it)" if entry.actionable
                                                              else f"it saves nothing over all-{found.reference})"))
            if found.cost_share is None or found.cost_share_ci is None:
                cost = "costs an unknown share (its held-out calls carry no cost)"
            else:
                low, high = found.cost_share_ci
                cost = (f"costs {100 * found.cost_share:.1f}% [{100 * low:.1f}–{100 * high:.1f}%] "
                        f"of all-{found.reference}")
            tested = (f"{format_share(found.test_cost_share)} cost / " if found.test_cost_share is not None else "")
            saving = (f"; about {format_cost(entry.saving_per_30_days_usd)} less per 30 days ({entry.saving_basis})"
                      if entry.saving_per_30_days_usd is not None else "")
            say(f"learned router {name}: {rule} {cost}, quality ≥ {100 * found.quality_share_ci[0]:.1f}% of it "
                f"(95% interval), measured apart at {tested}{format_share(found.test_quality_share)} quality; evidence: "
                f"{found.calibration_prompts} {found.calibration_kind} + {found.test_prompts} held-out prompts{saving}", hang=2)


def _summary(saved: SavedRouter) -> dict[str, Any]:
    return {"name": saved.name, "models": saved.model.models, "default_reference": saved.default_reference,
            "data": saved.meta["data"], "trained_at": saved.meta["trained_at"], "profiles": saved.meta["profiles"],
            "curves": saved.meta["curves"]}


def print_summary(saved: SavedRouter) -> None:
    import time

    d = saved.meta["data"]
    print(f"router {saved.name!r}: {len(saved.model.models)} models, trained "
          f"{time.strftime('%Y-%m-%d %H:%M', time.gmtime(saved.meta['trained_at']))} UTC on {d['source']}"
          + (f" from {d['since']} to {d['until']}" if d.get("since") else "") + f", {d['prompts']} prompts")
    for model, cost in zip(saved.model.models, saved.model.typical_cost, strict=True):
        print(f"  {model}: ${cost:.6f} a call on average")
    curve = saved.meta["curves"].get(saved.default_reference, {})
    print(f"price weight per target share of {saved.default_reference}'s quality: "
          + ", ".join(f"{float(k):.0%} → {'—' if v is None else f'{v:g}'}" for k, v in curve.items()))
    print("profiles: " + ", ".join(f"{k} = {v:.0%}" for k, v in saved.meta["profiles"].items()))


def print_evaluation(metrics: dict[str, Any], calibration: list[dict[str, Any]]) -> None:
    """Cost at 90/95/99% of the reference model's quality, held-out prompts, beside baselines."""
    from fleetui.cli.output import Column, print_table, say

    ref = metrics["reference"]
    print(f"on held-out prompts, cost as a share of sending every prompt to {ref} (quality reached in brackets):")

    def cell(point: dict[str, Any]) -> str:
        return f"{format_share(point['cost_share'])} ({format_share(point['quality_share'])})"

    ranking = metrics.get("router_ranking_only")  # files trained before it was measured have none
    rows = []
    for i, target in enumerate(metrics["router"]):
        single = metrics["best_single"][i]
        rows.append([f"{target['share']:.0%}", cell(target), format_share(ranking[i]["cost_share"]) if ranking else "—",
                     cell(metrics["category_table"][i]), format_share(metrics["random"][i]["cost_share"]),
                     f"{format_share(single['cost_share'])} {single['model']}", format_share(metrics["oracle"][i]["cost_share"])])
    print_table([Column("target", numeric=True), Column("router", numeric=True),
                 Column("ranking only", numeric=True, drop=2), Column("category table", numeric=True, drop=1),
                 Column("random", numeric=True), Column("best single", drop=3, max_width=30),
                 Column("oracle", numeric=True)], rows, indent=2)
    se = metrics.get("test_quality_se")
    say("router: λ calibrated without the test half — what routing will do; ranking only: its threshold picked "
        "on the test half, as RouteLLM's CPT" + (f"; the test half measures quality to ±{format_share(se)} (one standard "
                                                  "error), so a target met exactly shows a little above or below it"
                                                  if se else ""), indent=2)
    apgr = metrics.get("apgr")
    if apgr:
        print(f"  APGR {ref} vs {metrics['weak']}: router {apgr['router']:.3f}, oracle {apgr['oracle']:.3f}, "
              f"random {apgr['random']:.3f}")
    at_cost = metrics.get("at_best_single_cost")
    if at_cost:
        print(f"  at the cost of the best single model ({at_cost['model']}): router quality "
              f"{format_share(at_cost['quality_share'])} of it at {format_share(at_cost['cost_share'])} of its cost")
    print("calibrated price weights (chosen on the calibration prompts; 95% bootstrap intervals):")
    for c in calibration:
        weight = "none reaches it" if c["price_weight"] is None else f"λ = {c['price_weight']:g}"
        ci = c["price_weight_ci"]
        print(f"  {c['share']:.0%} of {c['reference']}: {weight}"
              + (f" [{ci[0]:g}, {ci[1]:g}]" if ci else "")
              + f"; quality {format_share(c['quality'] / c['reference_quality'] if c['reference_quality'] else None)}"
              f" [{format_share(c['quality_share_ci'][0])}, {format_share(c['quality_share_ci'][1])}] at cost "
              f"{format_share(c['cost_share'])} [{format_share(c['cost_share_ci'][0])}, {format_share(c['cost_share_ci'][1])}]")
