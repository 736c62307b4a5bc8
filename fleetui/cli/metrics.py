"""`fleetui metrics`: Prometheus text exposition of the store's counters."""

from __future__ import annotations

import argparse
from typing import Any

from fleetui.cli.context import CliContext


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "metrics",
        help="print Prometheus metrics: calls, errors, refusals, cost and latency per model",
        description="Print the store's totals in the Prometheus text format (for a textfile "
        "collector or a scrape wrapper). Counters cover the whole store.",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    from fleetui.analysis.metrics import prometheus_text

    print(prometheus_text(ctx.store()), end="")
    return 0
