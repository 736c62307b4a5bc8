"""`fleetui doctor`: the store's health — is every call stored or counted, and can apps write?"""

from __future__ import annotations

import argparse
from typing import Any

from fleetui.cli.context import CliContext


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "doctor",
        help="check the store: calls dropped or rejected, the spool, WAL, integrity, schema",
        description="Check the SQLite store that apps write to, without changing it: its path, size, "
        "WAL size, schema version, integrity (PRAGMA quick_check), calls stored, and the calls that "
        "are not (yet) in it — dropped by the shim, rejected by the database (kept in <db>.rejected.jsonl), "
        "waiting in the spool — and the values that were coerced or stored as NULL, by field. "
        "Exit status: 0 healthy, 1 something needs a look (calls dropped, rejected, or waiting in the "
        "spool for more than a minute; no database yet), 2 the store cannot be used (unreadable, "
        "failed integrity check, newer schema).",
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--no-integrity", action="store_true",
                        help="skip the integrity check (it reads the whole file)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, ctx: CliContext) -> int:
    from fleetui.store import health

    report = health.check(ctx.db_path(), integrity=not args.no_integrity)
    if args.json:
        ctx.print_json(report.as_json())
    else:
        print(render(report))
    return report.health.exit_code


def render(report: Any) -> str:
    def size(value: int | None) -> str:
        if value is None:
            return "none"
        return f"{value / 2**20:,.1f} MiB" if value >= 2**20 else f"{value:,} bytes"

    losses, spooled = report.losses, report.spool
    lines = [
        f"database      {report.db_path}" + ("" if report.exists else " (does not exist)"),
        f"size          {size(report.size_bytes)}, WAL {size(report.wal_bytes)}",
        f"schema        {report.schema_version if report.schema_version is not None else '?'} "
        f"(this fleetui: {report.schema_expected})",
        f"integrity     {report.integrity or 'not checked'}",
        f"calls stored  {report.calls:,}" if report.calls is not None else "calls stored  ?",
        f"spool         {spooled.lines:,} lines waiting, {size(spooled.bytes)}"
        + (f", oldest {spooled.oldest_age_s:,.0f} s" if spooled.oldest_age_s is not None else ""),
        f"dropped       {losses.dropped:,}",
        f"rejected      {losses.rejected:,}" + (f" (in {report.rejected_file})" if report.rejected_file else ""),
        f"torn lines    {losses.torn_lines:,}",
        f"pruned        {losses.pruned:,} (retention; their rollups stay)",
    ]
    for label, counts in (("coerced", losses.coerced), ("nulled", losses.nulled)):
        text = ", ".join(f"{name} {n:,}" for name, n in sorted(counts.items())) or "none"
        lines.append(f"{label:<13} {text}")
    lines.append("")
    lines.append(f"health: {report.health.value}")
    lines += [f"  - {problem}" for problem in report.problems]
    return "\n".join(lines)
