"""A replay report as text, for the terminal and the TUI alike."""

from __future__ import annotations

from fleetui.pricing import format_cost
from fleetui.replay.runner import Report


def _pct(value: float | None, signed: bool = False) -> str:
    if value is None:
        return "—"
    return (f"{value:+.1f}%" if signed else f"{value:.1f}%").replace("-", "−")


COLUMNS = ("round", "candidate", "n", "saving", "quality (95% CI)", "refusals", "format", "errors", "p50 ms", "verdict")


def verdict_rows(report: Report) -> list[tuple[str, ...]]:
    """One row per candidate tried, in the order of COLUMNS."""
    rows: list[tuple[str, ...]] = []
    for number, round_ in enumerate(report.rounds, 1):
        for v in round_:
            ci = (f" ({_pct(v.ci_low_pct, True)}…{_pct(v.ci_high_pct, True)})"
                  if v.ci_low_pct is not None and v.ci_high_pct is not None else "")
            rows.append((
                str(number), v.model_id, str(v.n), _pct(v.saving_pct), _pct(v.quality_impact_pct, True) + ci,
                f"{v.refusal_pct:.0f}%", f"{v.format_failure_pct:.0f}%", f"{v.error_pct:.0f}%",
                f"{v.candidate_p50_ms:.0f}" if v.candidate_p50_ms is not None else "—",
                "✓ passes" if v.passed else f"✗ {v.reason}",
            ))
    return rows


def footer_lines(report: Report) -> list[str]:
    lines = []
    best = report.best
    if best and best.current_p50_ms is not None:
        lines.append(f"Current model {report.current}: p50 {best.current_p50_ms:.0f} ms.")
    saving = report.projected_monthly_saving_usd
    if saving is not None and report.monthly_calls:
        lines.append(f"Projected saving: {format_cost(saving)}/month at the logged volume "
                     f"({report.monthly_calls:,} calls, {format_cost(report.monthly_cost_usd)} in the last 30 days)")
    lines.append(f"Verification cost: {format_cost(report.verification_cost_usd)} "
                 f"(this run {format_cost(report.spent_usd)}; {report.cache_hits} answers and scores from the cache)")
    lines += [f"Note: {note}" for note in report.notes]
    link = f", linked to recommendation {report.recommendation_id}" if report.recommendation_id else ""
    lines.append(f"Stored as run {report.run_id}{link} ({report.status}).")
    return lines


def render(report: Report) -> str:
    """The sentence, a table of the candidates, and what it cost."""
    rows = [COLUMNS, *verdict_rows(report)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS) - 1)]
    right = {2, 3, 5, 6, 7, 8}  # numbers line up on the right
    table = ["  " + "  ".join((cell.rjust(w) if i in right else cell.ljust(w)) for i, (cell, w)
                              in enumerate(zip(row, widths, strict=False))) + "  " + row[-1] for row in rows]
    return "\n".join([report.sentence, "", *table, "", *footer_lines(report)])
