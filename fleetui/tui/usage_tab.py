"""The Usage tab: calls and tokens by model and use case for a period, common prompts, routing."""

from __future__ import annotations

from typing import Any

from rich.markup import escape
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import DataTable, Label, Select, Static

from fleetui import clock
from fleetui.analysis.abtests import ab_results
from fleetui.analysis.usage import routing_stats, top_prompts, usage
from fleetui.pricing import format_cost
from fleetui.routing.ab import ABVerdict, ArmResult
from fleetui.tui.base import DataTab

PERIODS = [("today", 0), ("7 days", 6), ("30 days", 29)]


class UsageTab(DataTab):
    def __init__(self, session: Any) -> None:
        super().__init__(session)
        self.days = 6

    def compose(self) -> ComposeResult:
        with Horizontal(classes="toolbar"):
            yield Label("Period ")
            yield Select(PERIODS, value=6, allow_blank=False, id="usage-period")
        with Horizontal():
            yield self._table("usage-models", "Model")
            yield self._table("usage-cases", "Use case")
        yield Label("Most common prompts", classes="section")
        prompts: DataTable[Any] = DataTable(id="usage-prompts", zebra_stripes=True)
        prompts.add_columns("Calls", "Prompt", "Models", "Cost")
        yield prompts
        yield Static("", id="usage-routing")

    @staticmethod
    def _table(widget_id: str, first: str) -> DataTable[Any]:
        table: DataTable[Any] = DataTable(id=widget_id, zebra_stripes=True)
        table.add_columns(first, "Calls", "Err%", "Tokens", "p50", "p95", "Cost")
        return table

    def on_select_changed(self, event: Select.Changed) -> None:
        if event.select.id == "usage-period" and isinstance(event.value, int):
            self.days = event.value
            self.reload(force=True)

    def load(self) -> dict[str, Any]:
        since_ts = clock.window_start(self.days + 1)  # PERIODS count the days before today
        since_day = clock.utc_day(since_ts)
        with self.session.store() as store:
            return {
                "models": usage(store, "model", since_day),
                "cases": usage(store, "use_case", since_day),
                "prompts": top_prompts(store, since_ts),
                "routing": routing_stats(store, since_ts),
                "ab_tests": ab_results(self.session.fleet, store, since_ts),
            }

    def show(self, data: dict[str, Any]) -> None:
        for widget_id, rows in (("usage-models", data["models"]), ("usage-cases", data["cases"])):
            table = self.query_one(f"#{widget_id}", DataTable)
            table.clear()
            for t in rows:
                table.add_row(
                    t.key or "(none)", f"{t.calls:,}", f"{100 * t.errors / t.calls:.1f}" if t.calls else "—",
                    f"{t.tokens:,}", f"{(t.p50_ms or 0) / 1000:.1f}s", f"{(t.p95_ms or 0) / 1000:.1f}s",
                    format_cost(t.cost_usd),
                )
        prompts = self.query_one("#usage-prompts", DataTable)
        prompts.clear()
        for p in data["prompts"]:
            prompts.add_row(f"{p['calls']:,}", (p["example"] or "(only the hash is kept)")[:60],
                            (p["models"] or "")[:30], format_cost(p["cost_usd"]))
        routing = data["routing"]
        if routing.routed_calls:
            bars = "  ".join(f"{b.band}: {b.calls:,}" for b in routing.confidence)
            text = (f"Routing: {routing.routed_calls:,} routed calls, override rate "
                    f"{100 * (routing.override_rate or 0):.1f}%  ·  confidence {bars}")
        else:
            text = "Routing: no routed calls yet (decisions appear here once apps use fleetui's Router)."
        for test in data["ab_tests"]:  # `fleetui ab` has the full table
            found = test.verdict
            verdict = f"winner {found.winner} (p={found.p_value:.2g})" if found.winner else found.reason
            text += f"\nA/B {escape(found.test)}: {escape(_arms(found))} — {escape(verdict)}"
        self.query_one("#usage-routing", Static).update(text)


def _arms(found: ABVerdict) -> str:
    def rate(arm: ArmResult) -> str:
        return "—" if arm.rate is None else f"{arm.rate:.1%}"

    return " vs ".join(f"{arm.model_id} {rate(arm)} (n={arm.trials:,})" for arm in found.arms)
