"""Try a prompt on a model: the reply streams in, then latency, time to first token, tokens, cost."""

from __future__ import annotations

from typing import ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

from fleetui.pricing import format_cost
from fleetui.providers import ChatRequest
from fleetui.tui.data import Session


class TrialPanel(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "dismiss", "Close", id="test.close")]

    def __init__(self, session: Session, model_id: str) -> None:
        super().__init__()
        self.session = session
        self.model_id = model_id
        self.reply = ""

    def compose(self) -> ComposeResult:
        with Vertical(id="test-panel"):
            yield Label(f"Test {self.model_id} — type a prompt and press Enter (Esc closes)")
            yield Input(placeholder="What time does the Starbucks on 5th close?", id="test-prompt")
            yield Static("", id="test-reply")
            yield Static("", id="test-stats")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        prompt = event.value.strip()
        if prompt:
            self.reply = ""
            self.query_one("#test-reply", Static).update("")
            self.query_one("#test-stats", Static).update("[dim]waiting for the first token…[/]")
            self.run_test(prompt)

    def _append(self, text: str) -> None:
        self.reply += text
        self.query_one("#test-reply", Static).update(self.reply)

    @work(exclusive=True, group="test")
    async def run_test(self, prompt: str) -> None:
        from fleetui.trials import run_trial

        request = ChatRequest.of(prompt)
        trial = await run_trial(self.session.fleet, self.model_id, request, on_text=self._append)
        stats = self.query_one("#test-stats", Static)
        if trial.error is not None:
            stats.update(f"[red]{trial.error.kind.value}[/]: {trial.error}")
        else:
            r = trial.result
            assert r is not None
            ttft = f"{r.ttft_ms:.0f} ms" if r.ttft_ms is not None else "—"
            stats.update(f"{trial.latency_ms:.0f} ms · first token {ttft} · {r.input_tokens} in / "
                         f"{r.output_tokens} out tokens · {format_cost(trial.cost_usd)}")
        self.log_call(trial, request)

    @work(thread=True)
    def log_call(self, trial: object, request: ChatRequest) -> None:
        from fleetui.trials import call_record
        from fleetui.tui.compare import sent

        if not sent(trial):
            return

        with self.session.store() as store:
            store.insert_calls([call_record(self.session.fleet, trial, request)])  # type: ignore[arg-type]
