"""`fleetui replay`: verify a cheaper model on the current model's real past prompts."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from fleetui.cli.context import CliContext, CliError


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "replay",
        help="replay past prompts on cheaper models and judge the answers before switching",
        description="Sample the current model's past prompts (distinct, stratified by length), "
        "replay them on cheaper candidates, have a judge model score each answer against the "
        "current model's (accuracy, helpfulness, clarity, completeness; both orders), and "
        "decide with the fleet's thresholds ([recommendations] min_saving_pct, "
        "max_quality_drop_pct, min_samples). When no candidate passes, the next stronger price "
        "band is tried, at most 3 rounds. Answers and scores are cached: nothing is paid for "
        "twice, and a run stopped by Ctrl+C or its budget continues when run again. "
        "Exit status: 0 verified, 1 not verified or stopped at the budget, 2 usage error, 130 interrupted.",
    )
    parser.add_argument("--current", metavar="MODEL", help="the model whose traffic might move")
    parser.add_argument("--use-case", help="only prompts of this use case (several: comma-separated)")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--candidates", metavar="A,B", help="models to try, comma-separated")
    group.add_argument("--auto", action="store_true",
                       help="choose cheaper fleet models by fit for the use case (the default)")
    parser.add_argument("--recommendation", metavar="ID",
                        help="verify this recommendation: its model, use case and proposed model (unless "
                        "--candidates or --auto say otherwise), linked to the result")
    parser.add_argument("--sample", type=int, default=30, metavar="N", help="prompts to replay (default 30)")
    parser.add_argument("--budget", type=float, metavar="USD",
                        help="stop before spending more (default: [recommendations] verification_budget_usd)")
    parser.add_argument("--judge", metavar="MODEL",
                        help="the judge (default: [recommendations] judge, else the strongest other model)")
    parser.add_argument("--since", default="30d", help="how far back to sample prompts (default 30d)")
    parser.add_argument("--max-tokens", type=int, default=1024, help="answer length limit (default 1024)")
    parser.add_argument("--concurrency", type=int, default=4, help="calls at once per model (default 4)")
    parser.add_argument("--seed", type=int, default=0, help="sampling seed (default 0)")
    parser.add_argument("--replay-current", action="store_true",
                        help="answer again on the current model instead of reusing its logged answers")
    parser.add_argument("--list", action="store_true", help="list past replay runs and exit")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    from fleetui.store import replays as saved

    store = ctx.store()
    if args.list:
        return _list(ctx, saved.runs(store), args.json)
    settings = _settings(args, ctx)
    fleet = ctx.fleet()
    from fleetui.replay import Replayer, ReplayError

    progress = _ProgressLine(enabled=sys.stderr.isatty())
    replayer = Replayer(fleet, store, settings, on_progress=progress.update)
    try:
        planned = replayer.plan()
    except (ReplayError, LookupError) as exc:
        raise CliError(str(exc), exit_code=1) from None
    if not args.json:
        names = "; ".join(f"round {i}: " + ", ".join(c.model_id for c in r) for i, r in enumerate(planned.rounds, 1))
        ctx.note(f"Replaying {len(planned.prompts)} prompts of {settings.current}"
                 + (f" on {settings.use_case}" if settings.use_case else "")
                 + f" — judge {planned.judge_id}, budget ${replayer.budget.limit:.2f}; {names or 'no candidates'}")
    try:
        report = asyncio.run(replayer.run())
    except ReplayError as exc:
        raise CliError(str(exc), exit_code=1) from None
    except KeyboardInterrupt:
        progress.clear()
        ctx.note(f"Stopped. Spent ${replayer.budget.spent:.4f}; every answer and score paid for is kept "
                 "— run the same command again to continue.")
        return 130
    progress.clear()
    if args.json:
        ctx.print_json(report.as_json())
    else:
        from fleetui.replay.text import render

        print(render(report))
    return 0 if report.chosen else 1


def _settings(args: argparse.Namespace, ctx: CliContext) -> Any:
    from fleetui.replay import ReplaySettings
    from fleetui.store import analytics

    current, use_case = args.current, args.use_case
    if args.recommendation:
        rec = analytics.recommendation(ctx.store(), args.recommendation)
        if rec is None:
            raise CliError(f"no recommendation {args.recommendation!r}; see `fleetui recommend`")
        if not rec.get("current_model"):
            raise CliError(f"recommendation {args.recommendation} ({rec['kind']}) names no model to replace; "
                           "there is nothing to replay")
        current = current or rec["current_model"]
        use_case = use_case or rec.get("use_case")
        if not args.candidates and not args.auto and rec.get("recommended_model"):
            args.candidates = rec["recommended_model"]  # the switch it proposes is what to verify
    if not current:
        raise CliError("say which model to verify against: --current MODEL (or --recommendation ID)")
    if args.sample < 1:
        raise CliError("--sample must be at least 1")
    if args.budget is not None and args.budget < 0:
        raise CliError("--budget cannot be negative")
    if args.concurrency < 1:
        raise CliError("--concurrency must be at least 1")
    candidates = tuple(c.strip() for c in args.candidates.split(",") if c.strip()) if args.candidates else None
    if args.candidates is not None and not candidates:
        raise CliError("--candidates: give model ids separated by commas, e.g. --candidates gpt-4o-mini,gemini-flash")
    since = ctx.since(args.since)
    from fleetui import clock

    return ReplaySettings(
        current=current, use_case=use_case, candidates=candidates, sample=args.sample, budget_usd=args.budget,
        judge=args.judge, max_tokens=args.max_tokens, since_days=max(0.0, (clock.now() - since) / 86400),
        concurrency=args.concurrency, seed=args.seed, replay_current=args.replay_current,
        recommendation_id=args.recommendation,
    )


class _ProgressLine:
    """One line on stderr, redrawn: round, candidate, prompts done, money spent of the budget."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.width = 0

    def update(self, p: Any) -> None:
        if not self.enabled:
            return
        filled = int(20 * p.done / p.total) if p.total else 20
        line = (f"round {p.round} · {p.candidate:<16} [{'█' * filled}{'░' * (20 - filled)}] {p.done}/{p.total}"
                f"  ${p.spent_usd:.4f} of ${p.budget_usd:.2f}" + (f"  ({p.cache_hits} cached)" if p.cache_hits else ""))
        self.width = max(self.width, len(line))
        sys.stderr.write("\r" + line.ljust(self.width))
        sys.stderr.flush()

    def clear(self) -> None:
        if self.enabled and self.width:
            sys.stderr.write("\r" + " " * self.width + "\r")
            sys.stderr.flush()


def _list(ctx: CliContext, runs: list[dict[str, Any]], as_json: bool) -> int:
    if as_json:
        ctx.print_json(runs)
        return 0
    if not runs:
        print("No replay runs yet. Try: fleetui replay --current MODEL --use-case USE_CASE")
        return 0
    for r in runs:
        print(f"{r['run_id']}  {r['status']:<8} {r['verdict'] or '':<13} {r['current_model']}"
              f"{' on ' + r['use_case'] if r['use_case'] else ''} → {r['chosen_model'] or '—'}  "
              f"${r['cost_usd'] or 0:.4f}\n    {r['sentence']}")
    return 0
