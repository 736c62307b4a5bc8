"""The Recommendations tab: by severity with their numbers; dismiss or accept."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.syntax import Syntax
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, DataTable, Label, Static

from fleetui.analysis.recommend import (
    Recommendation,
    Severity,
    recommend,
    store_recommendations,
)
from fleetui.store import analytics
from fleetui.tui.base import DataTab
from fleetui.tui.rec_detail import detail_text
from fleetui.tui.tables import Column, Row, cursor_key, refill, table_width

COLUMNS = [Column("Severity", 2), Column("Recommendation", flex=True), Column("Saving/30d"), Column("n"),
           Column("Status", 1)]
SEVERITY_STYLE = {Severity.HIGH: "[red]HIGH[/]", Severity.MEDIUM: "[yellow]MEDIUM[/]", Severity.LOW: "[dim]LOW[/]"}


class RecommendationsTab(DataTab[list[Recommendation]]):
    """Its keys (x a v p) are bound in the app, which offers them while this tab shows."""

    def __init__(self, session: Any) -> None:
        super().__init__(session)
        self.recs: list[Recommendation] = []
        self.replayer_options: dict[str, Any] = {}  # tests pass a retry policy here

    def compose(self) -> ComposeResult:
        yield DataTable(id="recs-table", cursor_type="row", zebra_stripes=True)
        with VerticalScroll(id="recs-detail-box"):  # at 80×24 the detail scrolls; the table keeps its rows
            yield Static("", id="recs-detail")

    def load(self) -> list[Recommendation]:
        with self.session.store() as store:
            return store_recommendations(store, recommend(self.session.fleet, store))

    def show(self, recs: list[Recommendation]) -> None:
        self.recs = [r for r in recs if r.status != "dismissed"]
        self._fill()
        if not self.recs:
            self.query_one("#recs-detail", Static).update(
                "Nothing to recommend yet: recommendations need logged calls (see the README's shim section).")
        else:
            rec = self._selected()
            self._detail(rec or self.recs[0])

    def _fill(self) -> None:
        rows = []
        for r in self.recs:
            saving = r.numbers.get("saving_monthly_usd")
            rows.append(Row(r.id, [SEVERITY_STYLE[r.severity], r.title, f"${saving:,.2f}" if saving is not None else "—",
                                   f"{r.numbers.get('n', 0):,}", _status(r)]))
        refill(self.query_one("#recs-table", DataTable), COLUMNS, rows, table_width(self))

    def on_resize(self) -> None:
        if self.loaded:
            self._fill()

    def _detail(self, rec: Recommendation) -> None:
        self.query_one("#recs-detail", Static).update(detail_text(rec))

    def _selected(self) -> Recommendation | None:
        """The highlighted recommendation, found by its row key (never by position)."""
        key = cursor_key(self.query_one("#recs-table", DataTable))
        return next((r for r in self.recs if r.id == key), None)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        rec = self._selected()
        if rec:
            self._detail(rec)

    def _set_status(self, status: str) -> None:
        rec = self._selected()
        if rec is None:
            return
        with self.session.store() as store:
            analytics.set_recommendation_status(store, rec.id, status)
        self.app.notify(f"{rec.id} {status}", timeout=3)
        self.reload(force=True)

    def action_dismiss_rec(self) -> None:
        self._set_status("dismissed")

    def action_accept_rec(self) -> None:
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
        from fleetui.routing.apply import CannotApply, plan

        rec = self._selected()
        if rec is None:
            return
        if not self.session.can_save:
            self.app.notify("the sample fleet is read-only: create your own with `fleetui init`", severity="error")
            return
        try:
            change = plan(self.session.source.path, rec.as_json())
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
            self._set_status("applied")
            self.app.notify(f"rule {change.subject} added to {change.path}", title="Applied")
            self._sync_after("apply")

        self.app.push_screen(DiffConfirm(change.diff), answer)

    def action_verify_rec(self) -> None:
        from fleetui.replay import ReplaySettings
        from fleetui.tui.replay_dialog import ReplayDialog

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
