"""The Recommendations tab: by severity with their numbers; dismiss or accept."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from rich.syntax import Syntax
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, DataTable, Label, Static

from fleetui.analysis.learned_advice import LearnedAdvice, learned_advice
from fleetui.analysis.recommend import (
    Recommendation,
    Severity,
    recommend,
    store_recommendations,
)
from fleetui.pricing import format_cost
from fleetui.store import analytics
from fleetui.tui.base import DataTab
from fleetui.tui.rec_detail import detail_text, learned_detail_text
from fleetui.tui.tables import Column, Row, cursor_key, refill, table_width

COLUMNS = [Column("Severity", 2), Column("Recommendation", flex=True), Column("Saving/30d"), Column("n"),
           Column("Status", 1)]
SEVERITY_STYLE = {Severity.HIGH: "[red]HIGH[/]", Severity.MEDIUM: "[yellow]MEDIUM[/]", Severity.LOW: "[dim]LOW[/]"}


@dataclass(frozen=True)
class RecsData:
    recs: list[Recommendation]  # the store's
    learned: list[LearnedAdvice]  # the learned routers beside the fleet file, from their held-out figures


class RecommendationsTab(DataTab[RecsData]):
    """Its keys (x a v p) are bound in the app, which offers them while this tab shows. Rows are
    the store's recommendations and the learned routers' (ids learned:NAME), by severity."""

    def __init__(self, session: Any) -> None:
        super().__init__(session)
        self.recs: list[Recommendation] = []
        self.learned: list[LearnedAdvice] = []
        self.replayer_options: dict[str, Any] = {}  # tests pass a retry policy here

    def compose(self) -> ComposeResult:
        yield DataTable(id="recs-table", cursor_type="row", zebra_stripes=True)
        with VerticalScroll(id="recs-detail-box"):  # at 80×24 the detail scrolls; the table keeps its rows
            yield Static("", id="recs-detail")

    def load(self) -> RecsData:
        fleet, path = self.session.fleet, self.session.source.path
        with self.session.store() as store:
            recs = store_recommendations(store, recommend(fleet, store))
        return RecsData(recs, learned_advice(fleet, path))  # reads the router files, here on the worker

    def show(self, data: RecsData) -> None:
        self.recs = [r for r in data.recs if r.status != "dismissed"]
        self.learned = data.learned
        self._fill()
        first = self._items()[0] if self._items() else None
        if first is None:
            self.query_one("#recs-detail", Static).update(
                "Nothing to recommend yet: recommendations need logged calls (see the README's shim section).")
        else:
            self._detail(self._highlighted() or first)

    def _items(self) -> list[Recommendation | LearnedAdvice]:
        """The rows in order: by severity, the store's before the learned ones of the same severity."""
        items: list[Recommendation | LearnedAdvice] = [*self.recs, *self.learned]
        return sorted(items, key=lambda item: Severity(item.severity).rank)

    def _fill(self) -> None:
        rows = []
        for item in self._items():
            if isinstance(item, LearnedAdvice):
                rows.append(_learned_row(item))
                continue
            saving = item.numbers.get("saving_monthly_usd")
            rows.append(Row(item.id, [SEVERITY_STYLE[item.severity], item.title,
                                      format_cost(saving) if saving is not None else "—",
                                      f"{item.numbers.get('n', 0):,}", _status(item)]))
        refill(self.query_one("#recs-table", DataTable), COLUMNS, rows, table_width(self))

    def on_resize(self) -> None:
        if self.loaded:
            self._fill()

    def _detail(self, item: Recommendation | LearnedAdvice) -> None:
        text = learned_detail_text(item) if isinstance(item, LearnedAdvice) else detail_text(item)
        self.query_one("#recs-detail", Static).update(text)

    def _highlighted(self) -> Recommendation | LearnedAdvice | None:
        """The highlighted row's recommendation, found by its row key (never by position)."""
        key = cursor_key(self.query_one("#recs-table", DataTable))
        return next((item for item in self._items() if item.id == key), None)

    def _selected(self) -> Recommendation | None:
        """The highlighted store recommendation; a learned row's key says in one line why not."""
        item = self._highlighted()
        if isinstance(item, LearnedAdvice):
            return None
        return item

    def _learned_refusal(self, key: str) -> bool:
        """When a learned row is highlighted, say why `key` does nothing to it (True), else False."""
        item = self._highlighted()
        if not isinstance(item, LearnedAdvice):
            return False
        why = {
            "x": f"{item.id} is not stored, so it cannot be dismissed: it goes when {item.router}.router.json "
                 "does, or when a rule uses it",
            "a": f"{item.id} is not stored, so there is nothing to mark accepted: p adds its rule to the fleet file",
            "v": f"v: a learned router was verified on held-out logs at train time; retrain with "
                 f"`fleetui router train {item.router}`",
        }[key]
        self.app.notify(why, title=key, severity="warning", timeout=6)
        return True

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        item = self._highlighted()
        if item:
            self._detail(item)

    def _set_status(self, status: str) -> None:
        rec = self._selected()
        if rec is None:
            return
        with self.session.store() as store:
            analytics.set_recommendation_status(store, rec.id, status)
        self.app.notify(f"{rec.id} {status}", timeout=3)
        self.reload(force=True)

    def action_dismiss_rec(self) -> None:
        if not self._learned_refusal("x"):
            self._set_status("dismissed")

    def action_accept_rec(self) -> None:
        if self._learned_refusal("a"):
            return
        self._set_status("accepted")
        self._sync_after("accept")

    def _sync_after(self, reason: str) -> None:
        from fleetui.sync.auto import Reason
        from fleetui.tui.syncing import start_sync

        start_sync(self.app, self.session, Reason(reason))  # only when [sync] asks for it

    def action_apply_rec(self) -> None:
        from fleetui.config.change import write_change
        from fleetui.config.fleetfile import FleetFileError
        from fleetui.config.writer import FileChanged
        from fleetui.analysis.learned_advice import plan_rule
        from fleetui.routing.apply import CannotApply, plan

        item = self._highlighted()
        if item is None:
            return
        if not self.session.can_save:
            self.app.notify("the sample fleet is read-only: create your own with `fleetui init`", severity="error")
            return
        try:
            if isinstance(item, LearnedAdvice):
                change = plan_rule(item, self.session.source.path)
            else:
                change = plan(self.session.source.path, item.as_json())
        except (CannotApply, FleetFileError) as exc:
            self.app.notify(str(exc), title="Cannot apply", severity="error", timeout=8)
            return

        def answer(yes: bool | None) -> None:
            if not yes:
                return
            try:
                write_change(change)
                self.session.reload()
            except (FileChanged, FleetFileError, OSError) as exc:
                self.app.notify(str(exc), title="Not written", severity="error", timeout=8)
                return
            if isinstance(item, LearnedAdvice):
                self.reload(force=True)  # the router is in use now: its row says so
            else:
                self._set_status("applied")
            self.app.notify(f"rule {change.subject} added to {change.path}", title="Applied")
            self._sync_after("apply")

        self.app.push_screen(DiffConfirm(change.diff), answer)

    def action_verify_rec(self) -> None:
        from fleetui.replay import ReplaySettings
        from fleetui.tui.replay_dialog import ReplayDialog

        if self._learned_refusal("v"):
            return
        rec = self._selected()
        if rec is None:
            return
        if not rec.can_verify:
            self.app.notify(f"a {rec.kind.replace('_', ' ')} recommendation moves no traffic to a cheaper model: "
                            "there is nothing to replay", title="Verify", severity="warning")
            return
        proposed = (rec.recommended_model,) if rec.recommended_model else None  # the switch it proposes
        settings = ReplaySettings(current=rec.current_model or "", use_case=rec.use_case, candidates=proposed,
                                  recommendation_id=rec.id)

        def finished(ran: bool | None) -> None:
            if ran:
                self.reload(force=True)

        self.app.push_screen(ReplayDialog(self.session, settings, rec.title, self.replayer_options), finished)


def _learned_row(item: LearnedAdvice) -> Row:
    saving = item.saving_per_30_days_usd
    e = item.evidence
    shown = format_cost(saving) if saving is not None else "unknown" if item.actionable else "—"
    prompts = f"{e.calibration_prompts + e.test_prompts:,}" if e else "—"
    return Row(item.id, [SEVERITY_STYLE[item.severity], item.title, shown, prompts, item.status])


def _status(rec: Recommendation) -> str:
    if rec.verification is None:
        return rec.status
    return f"{rec.status} · " + ("[green]verified[/]" if rec.verified else "[yellow]not verified[/]")


class DiffConfirm(ModalScreen[bool]):
    """The TOML diff an apply would write, and a yes/no."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "no", "Cancel", id="apply.cancel")]

    def __init__(self, diff: str) -> None:
        super().__init__()
        self.diff = diff

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="diff-confirm"):
            yield Label("Write this change to the fleet file? (the previous version is kept as .bak)")
            yield Static(Syntax(self.diff, "diff", theme="ansi_dark"))
            with Horizontal():
                yield Button("Apply", id="apply-yes", variant="primary")
                yield Button("Cancel", id="apply-no")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "apply-yes")

    def action_no(self) -> None:
        self.dismiss(False)
