"""The Costs tab: 30-day spend chart, budget bar, cost by model and task, what-it-would-have-cost."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import DataTable, Static
from textual_plotext import PlotextPlot

from fleetui.analysis.costs import (
    CostReport,
    WhatIf,
    cost_report,
    what_it_would_have_cost,
)
from fleetui.analysis.usage import known_cost
from fleetui.pricing import format_calls_cost, format_cost
from fleetui.tui.base import DataTab
from fleetui.tui.tables import Column, Row, refill, table_width


def _share(cost: float | None, total: float) -> str:
    """A row's share of the month's priced spend; "—" for a row none of whose calls had a price
    (unknown, not 0%), as `fleetui costs` leaves it blank."""
    return "—" if cost is None else f"{100 * cost / total:.1f}%"


def budget_bar(used_pct: float, warn: float, critical: float, width: int = 40) -> str:
    colour = "red" if used_pct >= critical else "yellow" if used_pct >= warn else "green"
    filled = min(width, round(width * used_pct / 100))
    return f"[{colour}]{'█' * filled}[/][dim]{'░' * (width - filled)}[/] {used_pct:.0f}%"


@dataclass(frozen=True)
class CostsData:
    report: CostReport
    what_if: list[WhatIf]


class CostsTab(DataTab[CostsData]):
    def __init__(self, session: Any) -> None:
        super().__init__(session)
        self.data: CostsData | None = None

    def compose(self) -> ComposeResult:
        # Scrolls, so the tables under the chart can be reached at 80×24.
        with VerticalScroll(id="costs-scroll"):
            yield Static("", id="costs-summary")
            yield PlotextPlot(id="costs-chart")
            with Horizontal(id="costs-tables"):
                for widget_id, first in (("costs-models", "Model"), ("costs-tasks", "Task"), ("costs-whatif", "All on")):
                    yield DataTable(id=widget_id, zebra_stripes=True)

    def load(self) -> CostsData:
        with self.session.store() as store:
            report = cost_report(self.session.fleet, store)
            month_start = report.daily[-1][0][:8] + "01"
            return CostsData(report, what_it_would_have_cost(self.session.fleet, store, month_start))

    def show(self, data: CostsData) -> None:
        report = data.report
        budget = self.session.fleet.budget
        change = report.change_vs_yesterday_pct
        lines = [
            f"today {format_cost(report.today)}"
            + ("" if change is None else f" ({'↑' if change > 0 else '↓'}{abs(change):.0f}% vs yesterday to this time)")
            + f"   week {format_cost(report.this_week)}   month {format_cost(report.this_month)}"
            + f"   projected {format_cost(report.projection)}",
        ]
        if report.budget.used_pct is not None:
            lines.append(f"month-end projection vs budget ${budget.monthly_usd:,.0f}: "
                         + budget_bar(report.budget.used_pct, budget.warn_pct, budget.critical_pct)
                         + f"  {report.budget.message}")
        else:
            lines.append("no monthly budget: set [budget] monthly_usd in the fleet file")
        if report.unpriced_calls_this_month:
            lines.append(f"[dim]{report.unpriced_calls_this_month:,} unpriced calls are not in these sums[/]")
        self.query_one("#costs-summary", Static).update("\n".join(lines))
        plot = self.query_one(PlotextPlot)
        plt = plot.plt
        plt.clear_data()
        plt.clear_figure()
        labels = [d[5:] for d, _ in report.daily]
        plt.plot(list(range(len(labels))), [c for _, c in report.daily], marker="braille")
        plt.xticks(list(range(0, len(labels), 5)), labels[::5])
        plt.title("daily spend, last 30 days (USD)")
        plot.refresh()
        self.data = data
        self._fill()

    def _fill(self) -> None:
        if self.data is None:
            return
        report = self.data.report
        total = report.this_month or 1.0
        for widget_id, first, rows in (("costs-models", "Model", report.by_model), ("costs-tasks", "Task", report.by_task)):
            table = self.query_one(f"#{widget_id}", DataTable)
            refill(table, [Column(first, flex=True), Column("Cost"), Column("%", 1)], [Row(t.key or "(none)", [
                t.key or "(none)", format_calls_cost(t.cost_usd, t.calls, t.unpriced_calls),
                _share(known_cost(t), total)]) for t in rows], table_width(table))
        table = self.query_one("#costs-whatif", DataTable)
        what_if: list[Row] = []
        for w in self.data.what_if:
            delta = "unpriced" if w.saving_usd is None else (
                f"-{format_cost(w.saving_usd)}" if w.saving_usd > 0 else f"+{format_cost(-w.saving_usd)}")
            what_if.append(Row(w.model_id, [w.model_id, format_cost(w.cost_usd), delta]))
        refill(table, [Column("All on", flex=True), Column("Cost"), Column("vs actual", 1)], what_if, table_width(table))

    def on_resize(self) -> None:
        if self.loaded:
            self._fill()
