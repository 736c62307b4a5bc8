"""The Fleet tab: every model with status, roles, today's calls and cost, price; Enter opens it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from rich.markup import escape
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Input, Static

from fleetui import clock
from fleetui.analysis.fleet_extras import (
    HighImpact,
    Quality,
    VsPriciest,
    high_impact,
    is_standby,
    quality_by_model,
    saving_vs_priciest,
)
from fleetui.analysis.overview import fleet_overview
from fleetui.pricing import format_calls_cost, format_cost, format_price_pair
from fleetui.serve.status import GatewayStatus, read_status
from fleetui.tui.base import DataTab
from fleetui.tui.tables import Column, Row, cursor_key, refill, seconds, table_width

STATUS_STYLE = {"online": ("●", "green"), "degraded": ("◐", "yellow"), "offline": ("○", "red"),
                "auth_failed": ("✗", "red"), "rate_limited": ("◔", "yellow"), "misconfigured": ("!", "red")}
SORTS = {"n": "name", "c": "cost", "k": "calls", "p": "price"}


def status_text(status: str | None, enabled: bool, standby: bool = False) -> Text:
    if not enabled:
        return Text("– disabled", style="dim")
    if standby:  # kept for the hardest cases; its probe is in the detail view
        return Text("○ standby", style="cyan")
    if status is None:
        return Text("? not probed", style="dim")
    mark, colour = STATUS_STYLE.get(status, ("?", "white"))
    return Text(f"{mark} {status.replace('_', ' ')}", style=colour)


def gateway_line(status: GatewayStatus) -> str:
    """`fleetui serve` as the app sees it: running or not, its load, and what it adds per call."""
    if not status.running():
        return f"GATEWAY [dim]○ not running[/] (last at {status.url})"
    if status.overhead_p50_ms is None:
        load = "no calls in the last minute"
    else:
        load = (f"{status.requests_per_minute:,} req/min | overhead p50 {status.overhead_p50_ms:.2f} ms, "
                f"p99 {status.overhead_p99_ms:.2f} ms")
    return f"GATEWAY [green]● {status.url}[/] | {load} | {status.requests_total:,} since start"


# At 80 columns the name, status, calls, cost and price stay; provider and roles go first.
COLUMNS = [Column("Model"), Column("Status"), Column("Provider", 7), Column("Roles", 6, flex=True),
           Column("Calls"), Column("Cost today"), Column("Quality", 3), Column("Success", 2), Column("p50", 4),
           Column("$/1M in/out", 1), Column("Saved today", 5)]


def fleet_cells(r: dict[str, Any], quality: Quality | None, saved: float | None) -> list[str | Text]:
    price = r["price_per_mtok"]
    return [
        r["name"],
        status_text((r["last_probe"] or {}).get("status"), r["enabled"], r.get("standby", False)),
        r["provider"],
        ", ".join(x["name"] for x in r["roles"]) or "—",
        f"{r['calls_today']:,}",
        format_calls_cost(r["cost_today"], r["calls_today"], r["unpriced_calls_today"]),
        "—" if quality is None or quality.score is None else f"{100 * quality.score:.0f}%",
        f"{100 * r['success_today']:.1f}%" if r["success_today"] is not None else "—",
        seconds(r["p50_ms_today"]),
        format_price_pair(price["input"], price["output"]) if price else "unpriced",
        "—" if saved is None else format_cost(saved),
    ]


@dataclass(frozen=True)
class FleetExtras:
    quality: dict[str, Quality]
    vs_priciest: VsPriciest
    high_impact: HighImpact | None


@dataclass(frozen=True)
class FleetData:
    overview: dict[str, Any]  # `fleet_overview`, the same figures as `fleetui status --json`
    extras: FleetExtras
    gateway: GatewayStatus | None


class FleetTab(DataTab[FleetData]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "filter", "Filter", id="fleet.filter"),
        Binding("s", "cycle_sort", "Sort", id="fleet.sort"),
        Binding("escape", "clear_filter", "Clear filter", show=False, id="fleet.clear"),
        Binding("y", "sync", "Sync", id="fleet.sync"),
    ]

    def __init__(self, session: Any) -> None:
        super().__init__(session)
        self.rows: list[dict[str, Any]] = []
        self.extras: FleetExtras | None = None
        self.sort = "name"

    def compose(self) -> ComposeResult:
        yield Static("", id="fleet-heading")
        yield Input(placeholder="filter models (name, provider, role)…", id="fleet-filter", classes="hidden")
        yield DataTable(id="fleet-table", cursor_type="row", zebra_stripes=True)
        yield Static("", id="fleet-totals")
        yield Static("", id="fleet-empty")

    def load(self) -> FleetData:
        from fleetui.sync.status import last_sync_line

        fleet = self.session.fleet
        day = clock.utc_today()
        month_ago = clock.window_start_day(30)
        with self.session.store() as store:
            overview = {**fleet_overview(fleet, store), "last_sync": last_sync_line(store)}
            extras = FleetExtras(quality_by_model(store, month_ago),
                                 saving_vs_priciest(fleet, store.totals("model", since=day, until=day)),
                                 high_impact(store, fleet))
        standby = {m.id for m in fleet.models if is_standby(m)}
        for row in overview["models"]:
            row["standby"] = row["id"] in standby
        return FleetData(overview, extras, read_status())

    def show(self, fleet_data: FleetData) -> None:
        data, extras = fleet_data.overview, fleet_data.extras
        self.rows = data["models"]
        self.extras = extras
        self._fill()
        active = [r for r in self.rows if r["enabled"] and not r["standby"]]
        standby = sum(1 for r in self.rows if r["enabled"] and r["standby"])
        disabled = sum(1 for r in self.rows if not r["enabled"])
        self.query_one("#fleet-heading", Static).update(
            f"[b]ACTIVE FLEET ({len(active)} model{'' if len(active) == 1 else 's'})[/]"
            + (f"  ·  {standby} on standby" if standby else "") + (f"  ·  {disabled} disabled" if disabled else ""))
        if not self.loaded and self.app.visible_tab() is self:  # type: ignore[attr-defined]
            # Only while showing: focusing a widget in a hidden pane switches back to it, which
            # would undo a tab key pressed before the first load finished.
            self.query_one("#fleet-table", DataTable).focus()
        today, month, budget = data["today"], data["month_to_date"], data["budget"]
        spent = format_calls_cost(today["cost"], today["calls"], today["unpriced_calls"]) if today["calls"] else "$0.00"
        line = (f"TODAY {spent} | {today['calls']:,} calls | {today['tokens']:,} tokens"
                f"    MONTH {format_cost(month['cost'])}")
        if budget["used_pct"] is not None:  # budget use: projected month-end (analysis.costs.fleet_budget)
            colour = {"critical": "red", "warn": "yellow"}.get(budget["level"], "green")
            line += f" [{colour}]projected {budget['used_pct']:.0f}% of ${budget['monthly_usd']:,.0f} budget[/]"
        vs, top = extras.vs_priciest, extras.high_impact
        if vs.priciest_id and vs.by_model:
            line += f"\nsaving {format_cost(vs.saving_usd)} today vs using {vs.priciest_name} for all"
        if top is not None:
            line += (f"\n[b]HIGH IMPACT[/]: {escape(top.title)} → save {format_cost(top.saving_monthly_usd)} per 30 days"
                     f" [dim](Recommendations, {top.id})[/]")
        if data.get("last_sync"):
            line += f"    [dim]{data['last_sync']}[/]"
        gateway = fleet_data.gateway
        if gateway is not None:
            line += "\n" + gateway_line(gateway)
        self.query_one("#fleet-totals", Static).update(line)
        empty = self.query_one("#fleet-empty", Static)
        if not self.rows:
            empty.update("No models yet: add one in the Add Model tab, or start from the sample with `fleetui init`.")
        elif today["calls"] == 0 and month["calls"] == 0:
            empty.update("No calls recorded yet. Add the logging shim to your app:\n"
                         "  from fleetui.shim import instrument; client = instrument(openai.OpenAI())\n"
                         "or look around with demo data: fleetui --demo")
        else:
            empty.update("")

    def _fill(self) -> None:
        table = self.query_one("#fleet-table", DataTable)
        needle = self.query_one("#fleet-filter", Input).value.strip().lower()
        rows = [r for r in self.rows if not needle or needle in " ".join(
            [r["id"], r["name"], r["provider"], *(x["name"] for x in r["roles"])]).lower()]
        key = {"name": lambda r: r["name"].lower(), "cost": lambda r: -(r["cost_today"] or 0.0),
               "calls": lambda r: -r["calls_today"],
               "price": lambda r: (r["price_per_mtok"] or {"input": 1e9})["input"]}[self.sort]
        rows.sort(key=key)
        quality = self.extras.quality if self.extras else {}
        saved = self.extras.vs_priciest.by_model if self.extras else {}
        refill(table, COLUMNS, [Row(r["id"], fleet_cells(r, quality.get(r["id"]), saved.get(r["id"]))) for r in rows],
               table_width(self))

    def highlighted_id(self) -> str | None:
        return cursor_key(self.query_one("#fleet-table", DataTable))

    def on_resize(self) -> None:
        if self.loaded:
            self._fill()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "sync":  # offered only where [sync] names a place
            from fleetui.sync.auto import is_configured

            return is_configured(self.session.fleet.sync)
        return True

    def action_sync(self) -> None:
        from fleetui.sync.auto import Reason
        from fleetui.tui.syncing import start_sync

        if not self.session.can_save:
            self.app.notify("the sample fleet is read-only: create your own with `fleetui init`", severity="error")
            return
        start_sync(self.app, self.session, Reason.ASKED, then=lambda: self.reload(force=True))

    def action_filter(self) -> None:
        box = self.query_one("#fleet-filter", Input)
        box.remove_class("hidden")
        box.focus()

    def action_clear_filter(self) -> None:
        box = self.query_one("#fleet-filter", Input)
        box.value = ""
        box.add_class("hidden")
        self.query_one("#fleet-table", DataTable).focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "fleet-filter":
            self._fill()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "fleet-filter":
            self.query_one("#fleet-table", DataTable).focus()

    def action_cycle_sort(self) -> None:
        order = ["name", "cost", "calls", "price"]
        self.sort = order[(order.index(self.sort) + 1) % len(order)]
        self.app.notify(f"sorted by {self.sort}", timeout=2)
        self._fill()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        from fleetui.tui.model_detail import ModelDetail

        model_id = event.row_key.value
        if model_id:
            self.app.push_screen(ModelDetail(self.session, model_id), lambda _: self.reload(force=True))
