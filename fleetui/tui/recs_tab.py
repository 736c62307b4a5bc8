"""The Recommendations tab: by severity with their numbers; dismiss or accept."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.markup import escape
from rich.syntax import Syntax
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, DataTable, Label, Static

from fleetui.analysis.recommend import Recommendation, Severity, recommend, store_recommendations
from fleetui.store import analytics
from fleetui.tui.base import DataTab

SEVERITY_STYLE = {Severity.HIGH: "[red]HIGH[/]", Severity.MEDIUM: "[yellow]MEDIUM[/]", Severity.LOW: "[dim]LOW[/]"}


class RecommendationsTab(DataTab):
    """Its keys (x a v p) are bound in the app, which offers them while this tab shows."""

    def __init__(self, session: Any) -> None:
        super().__init__(session)
        self.recs: list[Recommendation] = []
        self.replayer_options: dict[str, Any] = {}  # tests pass a retry policy here

    def compose(self) -> ComposeResult:
        table: DataTable[Any] = DataTable(id="recs-table", cursor_type="row", zebra_stripes=True)
        table.add_columns("Severity", "Recommendation", "Saving/month", "n", "Status")
        yield table
        yield Static("", id="recs-detail")

    def load(self) -> list[Recommendation]:
        with self.session.store() as store:
            return store_recommendations(store, recommend(self.session.fleet, store))

    def show(self, recs: list[Recommendation]) -> None:
        self.recs = [r for r in recs if r.status != "dismissed"]
        table = self.query_one("#recs-table", DataTable)
        table.clear()
        for r in self.recs:
            saving = r.numbers.get("saving_monthly_usd")
            table.add_row(SEVERITY_STYLE[r.severity], r.title, f"${saving:,.2f}" if saving is not None else "—",
                          f"{r.numbers.get('n', 0):,}", _status(r), key=r.id)
        if not self.recs:
            self.query_one("#recs-detail", Static).update(
                "Nothing to recommend yet: recommendations need logged calls (see the README's shim section).")
        else:
            self._detail(self.recs[0])

    def _detail(self, rec: Recommendation) -> None:
        numbers = "  ".join(f"{k}={v}" for k, v in rec.numbers.items() if not isinstance(v, list | dict))
        if rec.verification:
            mark = "[green]verified[/]" if rec.verified else "[yellow]replayed, not verified[/]"
            check = f"\n{mark}: {escape(rec.verification)}"
        else:
            check = "\n[dim]v: verify by replaying past prompts[/]" if rec.can_verify else ""
        self.query_one("#recs-detail", Static).update(
            f"[b]{rec.title}[/]\n{rec.sentence}\n[dim]{numbers}[/]"
            + (f"\nhow: {rec.implementation}" if rec.implementation else "") + check
        )

    def _selected(self) -> Recommendation | None:
        table = self.query_one("#recs-table", DataTable)
        if not self.recs or table.cursor_row >= len(self.recs):
            return None
        return self.recs[table.cursor_row]

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
        from fleetui.tui.verify import VerifyScreen

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

        self.app.push_screen(VerifyScreen(self.session, settings, rec.title, self.replayer_options), finished)


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
