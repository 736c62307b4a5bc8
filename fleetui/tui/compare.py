"""Side by side: one prompt to several models at once, their replies next to each other.

The same core as `fleetui compare` (`trials.run_trials`), on a thread worker with its own event
loop so the UI thread never waits on a provider; each reply is logged as a test call.
"""

from __future__ import annotations

from typing import Any, ClassVar

from rich.markup import escape
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Input, Label, SelectionList, Static

from fleetui.pricing import format_cost
from fleetui.tui.data import Session


def trial_text(trial: Any) -> str:
    """One column: the reply (or the error), then latency, tokens and cost."""
    r = trial.result
    body = escape(trial.text) if trial.text else ""
    if trial.error is not None:
        body += ("\n" if body else "") + f"[red]{trial.error.kind.value}[/]: {escape(str(trial.error))}"
    ttft = f", first token {r.ttft_ms:.0f} ms" if r is not None and r.ttft_ms is not None else ""
    tokens = f"{r.input_tokens} in / {r.output_tokens} out tokens" if r is not None else "? tokens"
    cost = format_cost(trial.cost_usd) if r is not None else "no reply, nothing billed"
    return f"{body}\n\n[dim]{trial.latency_ms:,.0f} ms{ttft} · {tokens} · {cost}[/]"


class ComparePanel(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "dismiss", "Close", id="compare.close")]

    def __init__(self, session: Session, preselect: list[str] | None = None) -> None:
        super().__init__()
        self.session = session
        self.preselect = set(preselect or [])
        self.trials: list[Any] = []

    def compose(self) -> ComposeResult:
        with Vertical(id="compare"):
            yield Label("Compare — tick two or more models (space), type a prompt, Enter (Esc closes)")
            with Horizontal(id="compare-top"):
                yield SelectionList[str](*((f"{m.name} ({m.id})", m.id, m.id in self.preselect)
                                           for m in self.session.fleet.models if m.enabled), id="compare-models")
                yield Input(placeholder="What time does the Starbucks on 5th close?", id="compare-prompt")
            yield Static("", id="compare-status")
            yield Horizontal(id="compare-replies")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        prompt = event.value.strip()
        models = list(self.query_one("#compare-models", SelectionList).selected)
        status = self.query_one("#compare-status", Static)
        if len(models) < 2:
            status.update("[yellow]tick at least two models to compare (space on a model)[/]")
            return
        if not prompt:
            status.update("[yellow]type a prompt first[/]")
            return
        status.update(f"[dim]asking {', '.join(models)}…[/]")
        self.query_one("#compare-replies", Horizontal).remove_children()
        self.run_compare(prompt, models)

    @work(thread=True, exclusive=True, group="compare")
    def run_compare(self, prompt: str, models: list[str]) -> None:
        import asyncio

        from fleetui.probes import run_trials, trial_record
        from fleetui.providers import ChatRequest

        fleet = self.session.fleet
        request = ChatRequest.of(prompt)
        trials = asyncio.run(run_trials(fleet, models, request))
        with self.session.store() as store:
            # Trials are kept apart from calls (a keyless one is marked as never sent).
            store.record_trials([trial_record(fleet, t, request) for t in trials])
        self.app.call_from_thread(self._show, trials)

    def _show(self, trials: list[Any]) -> None:
        self.trials = trials
        replies = self.query_one("#compare-replies", Horizontal)
        replies.remove_children()
        replies.mount_all(
            VerticalScroll(Label(f"[b]{escape(t.model_id)}[/]"), Static(trial_text(t), classes="compare-reply"),
                           classes="compare-column")
            for t in trials
        )
        ok = sum(1 for t in trials if t.error is None)
        self.query_one("#compare-status", Static).update(
            f"{ok} of {len(trials)} answered (calls that reached a provider are logged as test calls)")
