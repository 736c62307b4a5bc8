"""`fleetui metrics`: the store's counters as Prometheus text, or as JSON."""

from __future__ import annotations

import argparse
from typing import Any

from fleetui.cli.context import CliContext, CliError


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "metrics",
        help="print Prometheus metrics: calls, errors, refusals, cost, tokens, latency and TTFT",
        description="Print the store's totals in the Prometheus text format (for a textfile collector "
        "or a scrape wrapper): fleetui_calls_total, _errors_total, _refusals_total, _cost_usd_total, "
        "_unpriced_calls_total, fleetui_tokens_total{type=input|cached_input|output}, and the histograms "
        "fleetui_latency_seconds and fleetui_time_to_first_token_seconds, each by model, provider, "
        "operation and in_fleet. Calls outside the fleet keep the model they asked for. Counters cover "
        "the whole store.",
    )
    parser.add_argument("--json", action="store_true", help="print the same metrics as JSON")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    from fleetui.analysis.metrics import collect, metrics_json, prometheus_text

    try:
        fleet = ctx.fleet()
    except CliError:  # metrics need only the store; the fleet names the providers of its models
        fleet = None
        ctx.note("fleetui metrics: no usable fleet file, so provider labels are the providers recorded with calls")
    import sqlite3

    store = ctx.store()
    try:
        families = collect(store, fleet)
    except sqlite3.Error as exc:  # the totals are kept in the store: a read-only or locked file stops here
        raise CliError(f"{ctx.db_path()}: cannot bring the metrics totals up to date ({exc}); run this where "
                       "the database is writable and not held by a long write", exit_code=1) from None
    if args.json:
        ctx.print_json(metrics_json(families))
    else:
        print(prometheus_text(families), end="")
    return 0
