"""`fleetui status`: the fleet at a glance — what each model is, costs, and did today."""

from __future__ import annotations

import argparse
from typing import Any

from fleetui.cli.context import CliContext
from fleetui.cli.output import plural


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "status",
        help="show the fleet: models, providers, roles, prices, probes, today's calls and cost",
        description="Show every model of the fleet with its provider, roles, price per 1M "
        "tokens, whether it is enabled, its last probe, and today's calls and cost (UTC day).",
    )
    parser.add_argument("--json", action="store_true", help="print as JSON")
    parser.set_defaults(run=run)


def fleet_status(ctx: CliContext) -> dict[str, Any]:
    """The rows of `fleetui status`, as plain data (also what --json prints)."""
    from fleetui.analysis.overview import fleet_overview

    source = ctx.fleet_source()
    return {
        "fleet": ctx.fleet().name,
        "fleet_file": str(source.path),
        "sample_fleet": source.is_sample,
        "db": str(ctx.db_path()),
        "demo_data": ctx.is_demo_data,
        **fleet_overview(ctx.fleet(), ctx.store()),
        "store": store_counts(ctx),
    }


def store_counts(ctx: CliContext) -> dict[str, Any]:
    """Calls not (or not wholly) in the store, as `fleetui doctor` counts them."""
    from dataclasses import asdict

    from fleetui.store import health

    losses = health.losses_from(ctx.store().counters())
    spooled = health.spool_state(ctx.db_path())
    return {**asdict(losses), "spooled": spooled.lines}


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    status = fleet_status(ctx)
    if args.json:
        ctx.print_json(status)
        return 0
    print(render(status))
    return 0


def render(status: dict[str, Any], width: int | None = None) -> str:
    from fleetui.cli.output import Column, render_table
    from fleetui.pricing import (
        format_calls_cost,
        format_cost,
        format_known_cost,
        format_price_pair,
    )

    def price(row: dict[str, Any]) -> str:
        p = row["price_per_mtok"]
        return format_price_pair(p["input"], p["output"]) if p is not None else "unpriced"

    def probe(row: dict[str, Any]) -> str:
        p = row["last_probe"]
        if p is None:
            return "never probed"
        latency = f" {p['latency_ms']:.0f}ms" if p["latency_ms"] is not None else ""
        return f"{p['status']}{latency}"

    def cost(row: dict[str, Any]) -> str:
        return format_calls_cost(row["cost_today"] or 0.0, row["calls_today"], row["unpriced_calls_today"])

    # What goes first when the terminal is narrow: whether it is on, then the provider, the
    # probe, the roles. Name, price, calls and cost always stay, and are never cut.
    columns = (Column("MODEL"), Column("PROVIDER", drop=4), Column("ROLES", drop=3, max_width=34),
               Column("$/1M IN / OUT", numeric=True), Column("ON", drop=5), Column("LAST PROBE", drop=2),
               Column("CALLS", numeric=True), Column("COST TODAY", numeric=True))
    rows = [
        (
            row["name"],
            row["provider"],
            ", ".join(r["name"] for r in row["roles"]) or "—",
            price(row),
            "yes" if row["enabled"] else "no",
            probe(row),
            f"{row['calls_today']:,}",
            cost(row),
        )
        for row in status["models"]
    ]
    banner = []
    title = f"{status['fleet']} — {status['fleet_file']}"
    if status["sample_fleet"]:
        title += " (sample fleet)"
    banner.append(title)
    if status["demo_data"]:
        banner.append("DEMO DATA — generated traffic, not your apps' usage")
    today = status["today"]
    totals = (
        f"TODAY (UTC): {format_known_cost(today['cost'], 0)} | {plural(today['calls'], 'call')} | "
        f"{_tokens(today['tokens'])} tokens"
    )
    if today["unpriced_calls"]:
        totals += f" | {plural(today['unpriced_calls'], 'unpriced call')} not in the cost"
    change = today["change_vs_yesterday_pct"]
    if change is not None:
        totals += f" | {'↑' if change > 0 else '↓'}{abs(change):.0f}% vs yesterday to this time"
    month = status["month_to_date"]
    totals += f"\nTHIS MONTH: {format_cost(month['cost'])} over {plural(month['calls'], 'call')}"
    budget = status["budget"]
    if budget["used_pct"] is not None:
        totals += f"\nBUDGET: {budget['message']}"
    if status["shim_dropped"]:
        totals += (f"\nNOTE: the logging shim dropped {plural(status['shim_dropped'], 'record')} because its "
                   "queue was full (raise max_queue in fleetui.shim.configure)")
    totals += _store_notes(status["store"])
    return "\n".join([*banner, "", render_table(columns, rows, width=width), "", totals])


def _store_notes(counts: dict[str, Any]) -> str:
    notes = []
    if counts["rejected"]:
        notes.append(f"{plural(counts['rejected'], 'record')} rejected by the database")
    if counts["spooled"]:
        notes.append(f"{plural(counts['spooled'], 'call')} waiting in the spool")
    fixed = sum(counts["coerced"].values()) + sum(counts["nulled"].values())
    if fixed:
        notes.append(f"{fixed:,} odd values coerced or stored as NULL")
    return f"\nNOTE: {'; '.join(notes)} — see `fleetui doctor`" if notes else ""


def _tokens(count: int) -> str:
    if count >= 1_000_000:
        return f"{count / 1_000_000:.1f}M"
    if count >= 1_000:
        return f"{count / 1_000:.1f}K"
    return str(count)
