"""One model: capabilities, costs, today's usage by task, roles, performance, recent errors."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, ClassVar

from rich.markup import escape
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, Footer, Label, Static

from fleetui import clock
from fleetui.analysis.fleet_extras import Quality, is_standby, quality_by_model
from fleetui.pricing import (
    Pricer,
    blended_per_mtok,
    format_calls_cost,
    format_price_per_mtok,
)
from fleetui.tui.data import Session
from fleetui.tui.tables import seconds


def bar(label: str, score: int | None, width: int = 30) -> str:
    if score is None:
        return f"{label:<11} {'·' * width}  —"
    filled = round(width * score / 100)
    return f"{label:<11} [green]{'█' * filled}[/][dim]{'░' * (width - filled)}[/] {score:>3}"


def adapter_flags(kind: str) -> str:
    """What fleetui's adapter for this wire format can do (streaming, tools, usage, listing)."""
    from fleetui.providers import adapter_class

    try:
        return adapter_class(kind).capabilities.describe()
    except KeyError as exc:
        return str(exc)


class Confirm(ModalScreen[bool]):
    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="confirm"):
            yield Label(self.question)
            with Horizontal():
                yield Button("Yes", id="yes", variant="error")
                yield Button("No", id="no", variant="primary")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")


class ModelDetail(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Back", id="detail.back"),
        Binding("t", "test", "Test", id="detail.test"),
        Binding("ctrl+e", "edit", "Edit", id="detail.edit"),
        Binding("d", "toggle_enabled", "Disable/Enable", id="detail.toggle"),
        Binding("p", "probe", "Probe now", id="detail.probe"),
        Binding("x", "remove", "Remove", id="detail.remove"),
    ]

    def __init__(self, session: Session, model_id: str) -> None:
        super().__init__()
        self.session = session
        self.model_id = model_id

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="detail"):
            yield Static(id="detail-head")
            yield Static(id="detail-caps")
            yield Static(id="detail-costs")
            yield Static(id="detail-usage")
            yield Static(id="detail-quality")
            yield Static(id="detail-health")
            with Horizontal(id="detail-actions"):
                yield Button("Test", id="test", variant="primary")
                yield Button("Edit", id="edit")
                yield Button("Disable" if self.model.enabled else "Enable", id="toggle")
                yield Button("Probe now", id="probe")
                yield Button("Remove", id="remove", variant="error")
        yield Footer()

    @property
    def model(self) -> Any:
        return self.session.fleet.model(self.model_id)

    def on_mount(self) -> None:
        self._render_static()
        self.load()

    def _render_static(self) -> None:
        fleet, model = self.session.fleet, self.model
        roles = ", ".join(f"{a.role} (priority {a.priority})" for a in sorted(model.roles, key=lambda a: a.priority))
        self.query_one("#detail-head", Static).update(
            f"[b]{model.name}[/]  ({model.id})  {'' if model.enabled else '[dim]disabled[/]'}"
            f"{'  [cyan]○ standby[/]' if is_standby(model) else ''}\n"
            f"{model.provider} · {model.model} · {fleet.base_url_of(model)}\nroles: {roles or '—'}"
        )
        caps = model.capabilities
        lines = [bar("Coding", caps.coding), bar("Reasoning", caps.reasoning), bar("Creativity", caps.creativity),
                 bar("Speed", caps.speed)]
        extra = [name for name, on in (("vision", caps.vision), ("tools", caps.tools), ("json", caps.json_mode)) if on]
        kind = str(fleet.provider_of(model).kind)
        lines.append(f"adapter ({kind}): {adapter_flags(kind)}")
        lines.append(f"context {model.context_window:,} tokens" if model.context_window else "context —")
        lines.append("strengths: " + (", ".join(caps.strengths) or "—") + ("  ·  " + ", ".join(extra) if extra else ""))
        self.query_one("#detail-caps", Static).update("\n".join(lines))
        price = Pricer(fleet).price_of(model.id)
        if price is None:
            costs = "costs per 1K tokens: unpriced (add a [models.price] override)"
        else:
            avg = blended_per_mtok(price) / 1000
            costs = (f"costs per 1K tokens: in {format_price_per_mtok(price.input_per_mtok / 1000)} · "
                     f"out {format_price_per_mtok(price.output_per_mtok / 1000)} · avg {format_price_per_mtok(avg)} ({price.source})")
        self.query_one("#detail-costs", Static).update(costs)

    @work(thread=True, exclusive=True)
    def load(self) -> None:
        from fleetui.probes import model_status
        from fleetui.store import replays

        with self.session.store() as store:
            day = clock.utc_today()
            by_task = store.totals("task", since=day, until=day, model_id=self.model_id)
            month_ago = clock.window_start_day(30)
            month = store.totals("model", since=month_ago, model_id=self.model_id)
            probes = store.recent_probes(self.model_id, 5)
            errors = store.recent_errors(self.model_id, 5)
            quality = quality_by_model(store, month_ago).get(self.model_id)
            judged = next((r for r in replays.runs(store, limit=50)
                           if self.model_id in (r["current_model"], r["chosen_model"]) and r["sentence"]), None)
        self.app.call_from_thread(self._show, by_task, month, probes, errors, model_status(probes))
        self.app.call_from_thread(self._show_quality, quality, judged)

    def _show_quality(self, quality: Quality | None, judged: dict[str, Any] | None) -> None:
        """Quality score and user rating (spec: the detail's performance block), "—" when none."""
        if quality is None or quality.score is None:
            line = ("[b]quality[/]: — (no user ratings or judged replays in 30 days; send feedback through the "
                    "shim or `fleetui serve`, or verify a switch with `fleetui replay`)")
        else:
            # One figure, as on the Fleet tab: the mean of its labels (0–1), with what it rests on.
            parts = [f"{quality.rated:,} rated call{'' if quality.rated == 1 else 's'}" if quality.rated else "",
                     f"{quality.judged:,} judged answer{'' if quality.judged == 1 else 's'}" if quality.judged else ""]
            line = (f"[b]quality[/]: {100 * quality.score:.0f}% — the mean of "
                    f"{' and '.join(p for p in parts if p)} in 30 days")
        if judged is not None:
            line += f"\n[b]judged replay[/] ({judged['verdict'] or judged['status']}): {escape(judged['sentence'])}"
        self.query_one("#detail-quality", Static).update(line)

    def _show(self, by_task: list[Any], month: list[Any], probes: list[Any], errors: list[Any], status: str) -> None:
        total = sum(t.calls for t in by_task)
        spent = format_calls_cost(sum(t.cost_usd for t in by_task), total, sum(t.unpriced_calls for t in by_task))
        lines = [f"[b]today[/]: {total:,} calls, {sum(t.tokens for t in by_task):,} tokens, {spent}"]
        for t in sorted(by_task, key=lambda t: -t.calls):
            lines.append(f"  {t.key or '(no task)':<14} {t.calls:>6,} calls "
                         f"{format_calls_cost(t.cost_usd, t.calls, t.unpriced_calls):>10} {100 * t.calls / total:5.1f}%")
        if month:
            m = month[0]
            success = "—" if m.success_rate is None else f"{100 * m.success_rate:.1f}%"
            lines.append(f"[b]30 days[/]: success {success} of {m.calls:,}, "
                         f"p50 {seconds(m.p50_ms, 2)}, p95 {seconds(m.p95_ms, 2)}, "
                         f"{format_calls_cost(m.cost_usd, m.calls, m.unpriced_calls)}")
        self.query_one("#detail-usage", Static).update("\n".join(lines))
        health = [f"[b]health[/]: {status}"]
        for p in probes:
            when = dt.datetime.fromtimestamp(p.ts, dt.UTC).strftime("%m-%d %H:%M")
            health.append(f"  {when} {p.status:<13} {p.message or ''}")
        if errors:
            health.append("[b]recent errors[/]:")
            for e in errors:
                when = dt.datetime.fromtimestamp(float(e["ts"]), dt.UTC).strftime("%m-%d %H:%M")
                health.append(f"  {when} {e['error_type']} (HTTP {e['status_code'] or '—'}, {e['source']})")
        self.query_one("#detail-health", Static).update("\n".join(health))

    # -- actions -----------------------------------------------------------------------------

    def on_button_pressed(self, event: Button.Pressed) -> None:
        actions: dict[str, Callable[[], object]] = {
            "test": self.action_test, "toggle": self.action_toggle_enabled, "probe": self.action_probe,
            "remove": self.action_remove, "edit": self.action_edit,
        }
        action = actions.get(event.button.id or "")
        if action is not None:
            action()

    def action_test(self) -> None:
        from fleetui.tui.test_panel import TrialPanel

        self.app.push_screen(TrialPanel(self.session, self.model_id))

    def action_edit(self) -> None:
        def edited(_: None) -> None:
            if self.model_id in {m.id for m in self.session.fleet.models}:
                self._render_static()
            else:  # renamed: the detail of the old id is gone
                self.app.pop_screen()

        self.app.push_screen(EditModel(self.session, self.model_id), edited)

    def _save(self, fleet: Any, done: str) -> bool:
        from fleetui.tui.editor_base import save_fleet_from

        if save_fleet_from(self, self.session, fleet, self._reloaded) is None:
            return False
        self.app.notify(done, title="Saved", timeout=4)
        return True

    def _reloaded(self) -> None:
        """The file was read again: show this model as it is there, or leave if it is gone."""
        if any(m.id == self.model_id for m in self.session.fleet.models):
            self._render_static()
        else:
            self.app.pop_screen()

    # Not `action_toggle`: that is Textual's own action (toggle an attribute) on every widget.
    def action_toggle_enabled(self) -> None:
        fleet = self.session.fleet.model_copy(deep=True)
        model = fleet.model(self.model_id)
        model.enabled = not model.enabled
        if self._save(fleet, f"{self.model_id} {'enabled' if model.enabled else 'disabled'}"):
            self.query_one("#toggle", Button).label = "Disable" if model.enabled else "Enable"
            self._render_static()

    @work(thread=True, exclusive=True, group="probe-one")
    def action_probe(self) -> None:
        import asyncio

        from fleetui.probes import probe_fleet

        with self.session.store() as store:
            [outcome] = asyncio.run(probe_fleet(self.session.fleet, [self.model_id],
                                                history=lambda m: store.recent_probes(m, 4)))
            store.record_probes([outcome.record])
        self.app.call_from_thread(self.app.notify, f"{self.model_id}: {outcome.status} — {outcome.detail}", title="Probe")
        self.app.call_from_thread(self.load)

    def action_remove(self) -> None:
        def answer(yes: bool | None) -> None:
            if not yes:
                return
            fleet = self.session.fleet.model_copy(deep=True)
            try:
                fleet.models = [m for m in fleet.models if m.id != self.model_id]
            except ValueError as exc:  # e.g. a routing rule still names it
                self.app.notify(str(exc).splitlines()[-1][:300], title="Cannot remove", severity="error", timeout=10)
                return
            if self._save(fleet, f"{self.model_id} removed"):
                self.app.pop_screen()

        self.app.push_screen(Confirm(f"Remove {self.model_id} from the fleet file?"), answer)


class EditModel(Screen[None]):
    """The Add Model form, filled in with one model, saving in place."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "dismiss", "Cancel", id="edit.cancel")]

    def __init__(self, session: Session, model_id: str) -> None:
        super().__init__()
        self.session = session
        self.model_id = model_id

    def compose(self) -> ComposeResult:
        from fleetui.tui.add_model import AddModelTab

        yield Label(f"Edit {self.model_id} (Esc cancels)")
        yield AddModelTab(self.session, editing=self.model_id)
        yield Footer()
