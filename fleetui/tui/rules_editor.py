"""Edit routing rules: conditions validated as you type, a sample prompt shows which rule it hits."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import ValidationError
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, DataTable, Footer, Input, Label, Static

from fleetui.config.schema import Fleet, RoutingRule
from fleetui.routing import NoRoute, Router
from fleetui.routing.conditions import validate_condition
from fleetui.tui.data import Session
from fleetui.tui.editor_base import FleetEditor

FIELDS = (("name", "Name"), ("priority", "Priority (lower runs first)"), ("when", "When (condition)"),
          ("model", "Target model"), ("role", "or target role"), ("fallbacks", "Fallbacks (comma separated)"))


class RulesEditor(FleetEditor):
    WHAT = "rules"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "leave", "Back", id="rules.back"),
        Binding("ctrl+s", "save", "Save", id="rules.save"),
        Binding("n", "new_rule", "New rule", id="rules.new"),
        Binding("x,delete", "remove_rule", "Remove rule", id="rules.remove"),
    ]

    def __init__(self, session: Session) -> None:
        super().__init__(session)
        self.editing: int | None = None
        self._tried: tuple[str, Router] | None = None  # the fleet (as JSON) `_try` last routed with, and its router

    def compose(self) -> ComposeResult:
        with Horizontal(id="rules"):
            table: DataTable[Any] = DataTable(id="rules-table", cursor_type="row")
            table.add_columns("Pri", "Rule", "When", "Target")
            yield table
            with Vertical(id="rule-form"):
                for field, label in FIELDS:
                    yield Label(label)
                    yield Input(id=f"rule-{field}")
                yield Static("", id="rule-check")
                yield Static("", id="rule-ab")
                with Horizontal():
                    yield Button("Update rule", id="rule-update", variant="primary")
                    yield Button("Save file", id="rule-save")
                yield Label("Try a prompt (task=… use_case=… tags=a,b may follow after ||)")
                yield Input(placeholder='hi there || use_case=casual_chat', id="rule-try")
                yield Static("", id="rule-hit")
        yield Footer()

    def on_mount(self) -> None:
        self._fill()
        self.query_one("#rules-table", DataTable).focus()

    def _fill(self) -> None:
        table = self.query_one("#rules-table", DataTable)
        table.clear()
        split = set(self._ab_tests_of().values())
        for rule in self.fleet.rules:
            target = rule.model_id or (f"learned:{rule.learned}" if rule.learned else f"role:{rule.role}")
            if rule.name in split:  # its traffic is split by user (the form names the test); first, so it shows
                target = f"A/B {target}"
            when = rule.when if len(rule.when) <= 24 else rule.when[:23] + "…"
            table.add_row(str(rule.priority), rule.name, when, target)

    def _ab_tests_of(self) -> dict[str, str]:
        """Enabled A/B test name → the rule it splits."""
        return {t.name: t.rule for t in self.fleet.ab_tests if t.enabled and t.rule}

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.cursor_row < len(self.fleet.rules):
            self.editing = event.cursor_row
            rule = self.fleet.rules[event.cursor_row]
            for field, value in self._rule_values(event.cursor_row).items():
                self.query_one(f"#rule-{field}", Input).value = value
            tests = [name for name, split in self._ab_tests_of().items() if split == rule.name]
            self.query_one("#rule-ab", Static).update(
                f"split by A/B test {', '.join(tests)}: results with `fleetui ab {tests[0]}`" if tests else "")

    def _rule_values(self, index: int) -> dict[str, str]:
        rule = self.fleet.rules[index]
        return {"name": rule.name, "priority": str(rule.priority), "when": rule.when, "model": rule.model_id or "",
                "role": rule.role or "", "fallbacks": ", ".join(rule.fallbacks)}

    def _form_pending(self) -> bool:
        """Whether the form holds an edit not in the fleet yet: a new rule typed after `n`, or a
        changed field of the selected rule."""
        if self.editing is None:
            return any(self._value(field) for field, _ in FIELDS if field != "priority")
        if self.editing >= len(self.fleet.rules):
            return False
        form = {field: self._value(field) for field, _ in FIELDS}
        return form != {k: v.strip() for k, v in self._rule_values(self.editing).items()}

    def apply_form(self) -> bool:
        # ctrl+s saves what the user sees: a rule typed into the form is saved with the others.
        return self.update_rule() if self._form_pending() else True

    def refill(self) -> None:
        self.editing = None
        self._fill()

    def action_new_rule(self) -> None:
        self.editing = None
        for field, _ in FIELDS:
            self.query_one(f"#rule-{field}", Input).value = ""
        self.query_one("#rule-priority", Input).value = "100"
        self.query_one("#rule-name", Input).focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "rule-when":
            problem = validate_condition(event.value) if event.value.strip() else "a condition is required"
            self.query_one("#rule-check", Static).update(f"[red]{problem}[/]" if problem else "[green]condition ok[/]")
        elif event.input.id == "rule-try":
            self._try(event.value)

    def _value(self, field: str) -> str:
        return self.query_one(f"#rule-{field}", Input).value.strip()

    def _form_rule(self) -> RoutingRule:
        data: dict[str, Any] = {"name": self._value("name"), "when": self._value("when"),
                                "fallbacks": [f.strip() for f in self._value("fallbacks").split(",") if f.strip()]}
        if self._value("priority"):
            data["priority"] = self._value("priority")
        if self._value("model"):
            data["model"] = self._value("model")
        if self._value("role"):
            data["role"] = self._value("role")
        if self.editing is None or self.editing >= len(self.fleet.rules):
            return RoutingRule.model_validate(data)
        # What the form has no field for (enabled, description, a learned router and its target)
        # stays as the rule had it; a model or role typed in replaces a learned router.
        kept = self.fleet.rules[self.editing].model_dump(
            by_alias=True, exclude={"name", "priority", "when", "model_id", "role", "fallbacks"})
        if "model" in data or "role" in data:
            kept.update(learned=None, quality_target=None, price_weight=None, profile=None)
        return RoutingRule.model_validate({**kept, **data})

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "rule-update":
            self.update_rule()
        elif event.button.id == "rule-save":
            self.action_save()

    def update_rule(self) -> bool:
        check = self.query_one("#rule-check", Static)
        try:
            rule = self._form_rule()
            rules = list(self.fleet.rules)
            if self.editing is None:
                rules.append(rule)
            else:
                rules[self.editing] = rule
            data = self.fleet.model_dump()
            data["rules"] = [r.model_dump() for r in rules]
            if self.editing is not None:  # a renamed rule keeps its A/B tests
                old_name = self.fleet.rules[self.editing].name
                for test in data["ab_tests"]:
                    if test["rule"] == old_name:
                        test["rule"] = rule.name
            candidate = Fleet.model_validate(data)  # the whole fleet: unknown models, roles, conditions
        except ValidationError as exc:
            check.update("[red]" + "; ".join(e["msg"].removeprefix("Value error, ") for e in exc.errors(include_url=False))[:400] + "[/]")
            return False
        self.fleet = candidate
        self.editing = self.editing if self.editing is not None else len(rules) - 1
        self.dirty = True
        self._fill()
        check.update(f"[green]rule {rule.name} updated (not saved yet)[/]")
        return True

    def action_remove_rule(self) -> None:
        if self.editing is None or self.editing >= len(self.fleet.rules):
            return
        removed = self.fleet.rules[self.editing]
        splitting = [t.name for t in self.fleet.ab_tests if t.rule == removed.name]
        if splitting:
            self.query_one("#rule-check", Static).update(
                f"[red]rule {removed.name} is split by A/B test {', '.join(splitting)}: remove the test from the "
                "fleet file or point it at another rule first[/]")
            return
        self.fleet.rules = [r for i, r in enumerate(self.fleet.rules) if i != self.editing]
        self.editing = None
        self.dirty = True
        self._fill()
        self.query_one("#rule-check", Static).update(f"[green]rule {removed.name} removed (not saved yet)[/]")

    def _try(self, text: str) -> None:
        prompt, _, extra = text.partition("||")
        attrs: dict[str, Any] = {}
        for pair in extra.split():
            key, _, value = pair.partition("=")
            if key in ("task", "use_case", "complexity", "user"):
                attrs[key] = value
            elif key == "tags":
                attrs["tags"] = [t for t in value.split(",") if t]
        hit = self.query_one("#rule-hit", Static)
        try:
            decision = self._router().route(prompt.strip(), **attrs)
        except (NoRoute, ValueError) as exc:
            hit.update(f"[red]{exc}[/]")
            return
        hit.update(f"→ [b]{decision.model_id}[/]  {decision.reason}  (complexity {decision.complexity})")

    def _router(self) -> Router:
        """A router over the rules as edited, built again only when they change: a learned
        rule's router file (beside the fleet file) is read once, not at every key typed."""
        key = self.fleet.model_dump_json()
        if self._tried is None or self._tried[0] != key:
            self._tried = (key, Router(self.fleet, routers_dir=self.session.source.path.parent))
        return self._tried[1]
