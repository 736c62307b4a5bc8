"""The Usage tab: calls and tokens by model and use case for a period, common prompts, routing."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich.markup import escape
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import DataTable, Label, Select, Static

from fleetui import clock
from fleetui.analysis.abtests import ABResult, ab_results
from fleetui.analysis.usage import RoutingStats, routing_stats, top_prompts, usage
from fleetui.pricing import format_calls_cost, format_cost
from fleetui.routing.ab import ABVerdict, ArmResult
from fleetui.store import Totals
from fleetui.tui.base import DataTab
from fleetui.tui.tables import Column, Row, refill, seconds, table_width

# Side by side at 80 columns each table has ~38: the name, calls and cost stay.
TOTALS_COLUMNS = [Column("Calls"), Column("Err%", 2), Column("Tokens", 4), Column("p50", 3), Column("p95", 5),
                  Column("Cost")]
PROMPT_COLUMNS = [Column("Calls"), Column("Prompt", flex=True), Column("Models", 1), Column("Cost")]
PERIODS = [("today", 0), ("7 days", 6), ("30 days", 29)]


@dataclass(frozen=True)
class UsageData:
    models: list[Totals]
    cases: list[Totals]
    prompts: list[dict[str, Any]]
    routing: RoutingStats
    ab_tests: list[ABResult]


class UsageTab(DataTab[UsageData]):
    def __init__(self, session: Any) -> None:
        super().__init__(session)
        self.days = 6
        self.data: UsageData | None = None

    def compose(self) -> ComposeResult:
        # One scrolling column: at 80×24 each table keeps a usable height and the rest is a scroll away.
        with VerticalScroll(id="usage-scroll"):
            with Horizontal(classes="toolbar"):
                yield Label("Period ")
                yield Select(PERIODS, value=6, allow_blank=False, id="usage-period")
            with Horizontal(id="usage-tables"):
                yield self._table("usage-models", "Model")
                yield self._table("usage-cases", "Use case")
            yield Label("Most common prompts", classes="section")
            yield DataTable(id="usage-prompts", zebra_stripes=True)
            yield Static("", id="usage-routing")

    @staticmethod
    def _table(widget_id: str, first: str) -> DataTable[Any]:
        return DataTable(id=widget_id, zebra_stripes=True)

    def _fill(self) -> None:
        data = self.data
        if data is None:
            return
        for widget_id, first, rows in (("usage-models", "Model", data.models), ("usage-cases", "Use case", data.cases)):
            table = self.query_one(f"#{widget_id}", DataTable)
            refill(table, [Column(first, flex=True), *TOTALS_COLUMNS], [Row(t.key or "(none)", [
                t.key or "(none)", f"{t.calls:,}", f"{100 * t.errors / t.calls:.1f}" if t.calls else "—",
                f"{t.tokens:,}", seconds(t.p50_ms), seconds(t.p95_ms),
                format_calls_cost(t.cost_usd, t.calls, t.unpriced_calls),
            ]) for t in rows], table_width(table))
        prompts = self.query_one("#usage-prompts", DataTable)
        refill(prompts, PROMPT_COLUMNS, [Row(str(i), [
            f"{p['calls']:,}", p["example"] or "(only the hash is kept)", _short(p["models"] or "", 30),
            format_cost(p["cost_usd"])]) for i, p in enumerate(data.prompts)], table_width(prompts))

    def on_resize(self) -> None:
        if self.loaded:
            self._fill()

    def on_select_changed(self, event: Select.Changed) -> None:
        if event.select.id == "usage-period" and isinstance(event.value, int):
            self.days = event.value
            self.reload(force=True)

    def load(self) -> UsageData:
        since_ts = clock.window_start(self.days + 1)  # PERIODS count the days before today
        since_day = clock.utc_day(since_ts)
        with self.session.store() as store:
            return UsageData(
                models=usage(store, "model", since_day),
                cases=usage(store, "use_case", since_day),
                prompts=top_prompts(store, since_ts),
                routing=routing_stats(store, since_ts),
                ab_tests=ab_results(self.session.fleet, store, since_ts),
            )

    def show(self, data: UsageData) -> None:
        self.data = data
        self._fill()
        routing = data.routing
        if routing.routed_calls:
            bars = "  ".join(f"{b.band}: {b.calls:,}" for b in routing.confidence)
            text = (f"Routing: {routing.routed_calls:,} routed calls, override rate "
                    f"{100 * (routing.override_rate or 0):.1f}%  ·  confidence {bars}")
        else:
            text = "Routing: no routed calls yet (decisions appear here once apps use fleetui's Router)."
        for test in data.ab_tests:  # `fleetui ab` has the full table
            found = test.verdict
            verdict = f"winner {found.winner} (p={found.p_value:.2g})" if found.winner else found.reason
            text += f"\nA/B {escape(found.test)}: {escape(_arms(found))} — {escape(verdict)}"
        self.query_one("#usage-routing", Static).update(text)


def _short(text: str, width: int) -> str:
    """A list of model ids is text: shortened with … so the prompt and its cost keep their room."""
    return text if len(text) <= width else text[: width - 1] + "…"


def _arms(found: ABVerdict) -> str:
    def rate(arm: ArmResult) -> str:
        return "—" if arm.rate is None else f"{arm.rate:.1%}"

    return " vs ".join(f"{arm.model_id} {rate(arm)} (n={arm.trials:,})" for arm in found.arms)
