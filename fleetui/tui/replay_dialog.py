"""Verify a recommendation by replay, from the Recommendations tab.

The plan (which prompts, which candidates, which judge, what budget) is worked out first and
shown; nothing is spent until Start. The replay runs on a thread with its own event loop — it
reads the store and waits on providers, neither of which belongs on the UI thread — and reports
progress back; Cancel stops it, keeping every answer and score paid for.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from dataclasses import replace
from typing import Any, ClassVar

from rich.markup import escape
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, DataTable, Label, ProgressBar, Select, Static

from fleetui.replay import Progress, Replayer, ReplayError, ReplaySettings, Report
from fleetui.store import Store, StoreError
from fleetui.tui.data import Session


def for_the_app(message: str) -> str:
    """The replay's errors speak to the CLI ("pass --judge MODEL"); here the judge is a list."""
    return re.sub(r"(pass|choose another with) --judge MODEL", "pick a judge in the list above", message)


class ReplayDialog(ModalScreen[bool]):
    """Dismissed with True when a run finished (the caller reloads what it shows)."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "close", "Close", id="verify.close")]

    def __init__(self, session: Session, settings: ReplaySettings, title: str,
                 replayer_options: dict[str, Any] | None = None) -> None:
        super().__init__()
        self.session = session
        self.settings = settings
        self.heading = title
        self.replayer_options = replayer_options or {}
        self.report: Report | None = None
        # One store connection and one replayer for the plan and the run, so the plan shown is
        # the plan run and the past prompts are read once (the connection may cross threads).
        self._store: Store | None = None
        self._replayer: Replayer | None = None
        self._stop_replay: Callable[[], object] | None = None
        self._replaying = False
        self._replay_done = False

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="verify"):
            yield Label(f"[b]Verify[/] {self.heading}")
            # The judge is picked here (the CLI's --judge): blank lets the replay choose one.
            judges = [(f"{m.name} ({m.id})", m.id) for m in self.session.fleet.models if m.enabled]
            yield Select(judges, prompt="judge: chosen automatically", id="verify-judge",
                         value=self.settings.judge if self.settings.judge in {j for _, j in judges} else Select.NULL)
            yield Static("[dim]Working out the plan: sampling past prompts, choosing candidates and a judge…[/]",
                         id="verify-plan")
            yield ProgressBar(id="verify-progress", show_eta=False)
            yield Static("", id="verify-status")
            yield DataTable(id="verify-table", cursor_type="none", show_cursor=False)
            yield Static("", id="verify-report")
            with Horizontal():
                yield Button("Start", id="verify-start", variant="primary", disabled=True)
                yield Button("Close", id="verify-close")

    def on_mount(self) -> None:
        self.plan()

    def on_unmount(self) -> None:
        if self._store is not None:
            self._store.close()

    # -- plan ------------------------------------------------------------------------------------

    def on_select_changed(self, event: Select.Changed) -> None:
        if event.select.id != "verify-judge" or self._replaying or self._replay_done:
            return
        judge = event.value if isinstance(event.value, str) else None
        if judge == self.settings.judge:
            return
        self.settings = replace(self.settings, judge=judge)
        self._replayer = None
        self.query_one("#verify-start", Button).disabled = True
        self.query_one("#verify-plan", Static).update("[dim]Working out the plan with that judge…[/]")
        self.plan()

    @work(thread=True, exclusive=True, group="verify")
    def plan(self) -> None:
        try:
            if self._store is None:
                self._store = Store.open(self.session.db_path)
        except StoreError as exc:
            self.app.call_from_thread(self._show_plan, f"[red]Cannot verify:[/] {escape(str(exc))}", None)
            return
        replayer = Replayer(self.session.fleet, self._store, self.settings,
                            on_progress=lambda p: self.app.call_from_thread(self._progress, p),
                            **self.replayer_options)
        try:
            planned = replayer.plan()
            message: str | None = None
        except (ReplayError, LookupError) as exc:
            message = for_the_app(str(exc))
        else:
            budget = replayer.budget.limit
            self._replayer = replayer
        if message is not None:
            self.app.call_from_thread(self._show_plan, f"[red]Cannot verify:[/] {escape(message)}", None)
            return
        sample = planned.sample
        lines = [f"{len(planned.prompts)} past prompts of [b]{self.settings.current}[/]"
                 + (f" on {self.settings.use_case}" if self.settings.use_case else "")
                 + f" ({sample['distinct_prompts']} distinct"
                 + (f"; {sample['hashed_only']} kept only as hashes cannot be replayed" if sample["hashed_only"] else "")
                 + ")",
                 f"judge: {planned.judge_id}    budget: ${budget:.2f}"]
        for number, round_ in enumerate(planned.rounds, 1):
            lines.append(f"round {number}: " + ", ".join(
                f"{c.model_id} (~{c.saving_pct:.0f}% cheaper)" if c.saving_pct is not None else c.model_id
                for c in round_))
        if not planned.rounds:
            lines.append("[red]no cheaper candidate can be called[/]")
        self.app.call_from_thread(self._show_plan, "\n".join(lines), budget if planned.rounds else None)

    def _show_plan(self, text: str, budget: float | None) -> None:
        self.query_one("#verify-plan", Static).update(text)
        start = self.query_one("#verify-start", Button)
        if budget is not None:
            start.label = f"Start (spends at most ${budget:.2f})"
            start.disabled = False
            start.focus()

    # -- run -------------------------------------------------------------------------------------

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "verify-start":
            event.button.disabled = True
            self.query_one("#verify-close", Button).label = "Cancel"
            bar = self.query_one("#verify-progress", ProgressBar)
            bar.display = True
            self._replaying = True
            self.run_replay()
        elif event.button.id == "verify-close":
            self.action_close()

    def action_close(self) -> None:
        if self._replaying and self._stop_replay is not None:
            self._stop_replay()  # the worker reports "stopped" and re-enables Close
            self.query_one("#verify-status", Static).update("[yellow]stopping… (what was paid for is kept)[/]")
            return
        self.dismiss(self._replay_done)

    @work(thread=True, exclusive=True, group="verify")
    def run_replay(self) -> None:
        replayer = self._replayer
        assert replayer is not None, "Start is enabled only once a plan is made"
        loop = asyncio.new_event_loop()
        try:
            task = loop.create_task(replayer.run())
            self._stop_replay = lambda: loop.call_soon_threadsafe(task.cancel)
            try:
                report = loop.run_until_complete(task)
            except asyncio.CancelledError:
                self.app.call_from_thread(self._stopped, replayer.budget.spent)
                return
            except (ReplayError, LookupError) as exc:
                self.app.call_from_thread(self._failed, for_the_app(str(exc)))
                return
        finally:
            self._stop_replay = None
            loop.close()
        self.app.call_from_thread(self._done, report)

    def _progress(self, p: Progress) -> None:
        bar = self.query_one("#verify-progress", ProgressBar)
        bar.update(total=p.total, progress=p.done)
        cached = f" · {p.cache_hits} from the cache" if p.cache_hits else ""
        self.query_one("#verify-status", Static).update(
            f"round {p.round} · {p.candidate}: {p.done}/{p.total} prompts · ${p.spent_usd:.4f} of ${p.budget_usd:.2f}{cached}")

    def _done(self, report: Report) -> None:
        from fleetui.replay.text import COLUMNS, footer_lines, verdict_rows

        self.report = report
        self._replaying = False
        self._replay_done = True
        self.query_one("#verify-close", Button).label = "Close"
        colour = "green" if report.chosen else "yellow"
        self.query_one("#verify-status", Static).update(f"[{colour}]{escape(report.sentence)}[/]")
        table: DataTable[str] = self.query_one("#verify-table", DataTable)
        # The verdict next to the name: in a modal it would otherwise scroll out of sight.
        order = [1, 9, 2, 3, 4, 5, 6, 7, 8] + ([0] if len(report.rounds) > 1 else [])
        table.add_columns(*(COLUMNS[i] for i in order))
        table.add_rows([tuple(row[i] for i in order) for row in verdict_rows(report)])
        table.display = True
        self.query_one("#verify-report", Static).update(Text("\n".join(footer_lines(report))))  # no markup in it

    def _stopped(self, spent: float) -> None:
        self._replaying = False
        self._replay_done = True
        self.query_one("#verify-close", Button).label = "Close"
        self.query_one("#verify-status", Static).update(
            f"[yellow]Stopped after ${spent:.4f}.[/] Every answer and score paid for is kept; Verify again continues.")

    def _failed(self, message: str) -> None:
        self._replaying = False
        self.query_one("#verify-close", Button).label = "Close"
        self.query_one("#verify-status", Static).update(f"[red]{escape(message)}[/]")
