"""The Add Model tab: a form with catalog suggestions, inline validation, a connection test."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.suggester import SuggestFromList
from textual.widgets import Button, Input, Label, Select, Static

from fleetui.config.schema import Fleet, Model, Provider, ProviderKind
from fleetui.pricing import catalog_id_for, catalog_models

FIELDS = [
    ("id", "Model id", "e.g. gpt-4o-mini (letters, digits, . _ -)"),
    ("name", "Display name", "e.g. GPT-4o mini"),
    ("model", "Provider's model name", "start typing: suggestions come from the price catalog"),
    ("endpoint", "Endpoint (optional)", "only when it differs from the provider's base URL"),
    ("key", "Key name (optional)", "env var / keyring entry, e.g. OPENAI_API_KEY"),
    ("key_value", "Key value (optional)", "stored in the OS keyring, never in the fleet file"),
    ("roles", "Roles (optional)", "comma separated role ids, e.g. fast-tasks, cost-optimizer"),
    ("price_input", "Input price, USD per 1M tokens (optional)", "e.g. 0.15; 0 for a local model you run yourself"),
    ("price_output", "Output price, USD per 1M tokens (optional)", "e.g. 0.60"),
    ("context_window", "Context window (optional)", "tokens"),
    ("coding", "Coding 0-100 (optional)", ""),
    ("reasoning", "Reasoning 0-100 (optional)", ""),
    ("speed", "Speed 0-100 (optional)", ""),
]


NEW_PROVIDER = "+new"  # the provider choice that shows the new-provider fields


def provider_options(fleet: Fleet) -> list[tuple[str, str]]:
    """The provider choice: the fleet's providers, then one to create."""
    return [*((f"{p.id} ({p.kind})", p.id) for p in fleet.providers),
            ("+ a new provider (e.g. a local server)", NEW_PROVIDER)]


PROVIDER_FIELDS = [
    ("new_id", "New provider id", "e.g. my-vllm"),
    ("new_base_url", "Base URL", "e.g. http://localhost:8000/v1"),
    ("new_key", "Key name (leave empty for a server that needs no key)", "e.g. MY_VLLM_KEY"),
]


class AddModelTab(VerticalScroll):
    """Adds a model; given `editing`, the same form edits that model in place."""

    def __init__(self, session: Any, editing: str | None = None) -> None:
        super().__init__()
        self.session = session
        self.editing = editing
        self.catalog: dict[str, Any] = {}

    def on_mount(self) -> None:
        if self.editing is None:
            return
        model = self.session.fleet.model(self.editing)
        self.query_one("#add-provider", Select).value = model.provider
        values = {"id": model.id, "name": model.name, "model": model.model, "endpoint": model.endpoint or "",
                  "key": model.key or "", "roles": ", ".join(a.role for a in sorted(model.roles, key=lambda a: a.priority)),
                  "context_window": str(model.context_window or ""),
                  "price_input": "" if model.price is None else f"{model.price.input:g}",
                  "price_output": "" if model.price is None else f"{model.price.output:g}",
                  "coding": str(model.capabilities.coding or ""),
                  "reasoning": str(model.capabilities.reasoning or ""), "speed": str(model.capabilities.speed or "")}
        for field, value in values.items():
            self.query_one(f"#add-{field}", Input).value = value
        self.query_one("#add-save", Button).label = "Save changes"

    def compose(self) -> ComposeResult:
        providers = provider_options(self.session.fleet)
        yield Label("Provider")
        yield Select(providers, id="add-provider", prompt="choose a provider from the fleet file")
        # A provider of its own, so a local server does not share (and send) another's key.
        with Vertical(id="add-new-provider", classes="hidden"):
            yield Label("Wire format")
            yield Select([(k.value, k.value) for k in ProviderKind], id="add-new_kind",
                         value=ProviderKind.OPENAI_COMPATIBLE.value, allow_blank=False)
            for field, label, hint in PROVIDER_FIELDS:
                yield Label(label)
                yield Input(placeholder=hint, id=f"add-{field}")
        for field, label, hint in FIELDS:
            yield Label(label)
            yield Input(placeholder=hint, id=f"add-{field}", password=field == "key_value")
        yield Static("", id="add-errors")
        with Horizontal():
            yield Button("Test connection", id="add-test")
            yield Button("Save", id="add-save", variant="primary")

    def focus_main(self) -> None:
        """The provider choice, not a text field: a tab key pressed next is not typed into a field."""
        self.query_one("#add-provider", Select).focus()

    def reload(self) -> None:
        if not self.session.can_save:
            self.query_one("#add-errors", Static).update(
                "[yellow]This is the built-in sample fleet: create your own with `fleetui init` to save new models.[/]")

    # -- suggestions and inline validation -------------------------------------------------

    def on_select_changed(self, event: Select.Changed) -> None:
        if event.select.id == "add-new_kind":
            self.validate_form()
            return
        if event.select.id != "add-provider" or not isinstance(event.value, str):
            return
        new = event.value == NEW_PROVIDER
        self.query_one("#add-new-provider").set_class(not new, "hidden")
        if new:
            self.catalog = {}
            self.query_one("#add-model", Input).suggester = None
            self.validate_form()
            return
        provider = self.session.fleet.provider(event.value)
        catalog = catalog_id_for(provider.effective_base_url, provider.kind, provider.catalog_id)
        self.catalog = {m.id: m for m in catalog_models(catalog)} if catalog else {}
        self.query_one("#add-model", Input).suggester = SuggestFromList(sorted(self.catalog), case_sensitive=False)
        self.validate_form()

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "add-model" and event.value in self.catalog:
            entry = self.catalog[event.value]
            if entry.context_window and not self.value("context_window"):
                self.query_one("#add-context_window", Input).value = str(entry.context_window)
            if not self.value("name"):
                self.query_one("#add-name", Input).value = entry.name
            price = entry.price
            if price:
                self.notify(f"catalog price ${price.input_per_mtok:g} / ${price.output_per_mtok:g} per 1M tokens",
                            timeout=4)
        self.validate_form()

    def value(self, field: str) -> str:
        return self.query_one(f"#add-{field}", Input).value.strip()

    def candidate(self) -> tuple[Fleet | None, list[str]]:
        provider = self.query_one("#add-provider", Select).value
        if not isinstance(provider, str):
            return None, ["choose a provider"]
        new_provider: dict[str, Any] | None = None
        if provider == NEW_PROVIDER:
            kind = self.query_one("#add-new_kind", Select).value
            new_provider = {"id": self.value("new_id"), "kind": kind}
            for field, key in (("new_base_url", "base_url"), ("new_key", "key")):
                if self.value(field):
                    new_provider[key] = self.value(field)
            provider = self.value("new_id")
        data: dict[str, Any] = {"id": self.value("id"), "name": self.value("name") or self.value("id"),
                                "provider": provider, "model": self.value("model")}
        for optional in ("endpoint", "key"):
            if self.value(optional):
                data[optional] = self.value(optional)
        if self.value("roles"):
            data["roles"] = [{"role": r.strip(), "priority": i + 1}
                             for i, r in enumerate(self.value("roles").split(",")) if r.strip()]
        errors: list[str] = []
        numbers: dict[str, int] = {}
        for field in ("context_window", "coding", "reasoning", "speed"):
            raw = self.value(field)
            if raw:
                try:
                    numbers[field] = int(raw)
                except ValueError:
                    errors.append(f"{field}: a whole number, not {raw!r}")
        if "context_window" in numbers:
            data["context_window"] = numbers.pop("context_window")
        if numbers:
            data["capabilities"] = numbers
        prices: dict[str, float] = {}
        for field, key in (("price_input", "input"), ("price_output", "output")):
            raw = self.value(field).removeprefix("$")
            if raw:
                try:
                    prices[key] = float(raw)
                except ValueError:
                    errors.append(f"{key} price: a number of USD per 1M tokens, not {raw!r}")
        if len(prices) == 1:
            errors.append("give both prices (input and output), or neither to use the catalog's")
        elif prices:
            data["price"] = prices
        if errors:
            return None, errors
        try:
            fleet = self.session.fleet.model_copy(deep=True)
            if new_provider is not None:
                fleet.providers = [*fleet.providers, Provider.model_validate(new_provider)]
            if self.editing is not None:
                # Keep what the form does not show (price override, strengths, tags, …).
                before = fleet.model(self.editing).model_dump(exclude_none=True)
                caps = {**before.get("capabilities", {}), **data.pop("capabilities", {})}
                model = Model.model_validate({**before, **data, "capabilities": caps})
                fleet.models = [model if m.id == self.editing else m for m in fleet.models]
            else:
                model = Model.model_validate(data)
                fleet.models = [*fleet.models, model]
        except ValidationError as exc:
            return None, [f"{'.'.join(map(str, e['loc'])) or 'model'}: {e['msg'].removeprefix('Value error, ')}"
                          for e in exc.errors(include_url=False)]
        return fleet, []

    def validate_form(self) -> Fleet | None:
        fleet, errors = self.candidate()
        self.query_one("#add-errors", Static).update("[red]" + "\n".join(errors) + "[/]" if errors else "[green]looks valid[/]")
        return fleet

    # -- actions -----------------------------------------------------------------------------

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "add-test":
            fleet = self.validate_form()
            if fleet is not None:
                self.test_connection(fleet, self.value("id"), self.value("key"), self.value("key_value"))
        elif event.button.id == "add-save":
            self.save()

    @work(exclusive=True, group="add-test")
    async def test_connection(self, fleet: Fleet, model_id: str, key_name: str, key_value: str) -> None:
        import os

        from fleetui.providers import ProviderError, adapter_for

        # A key typed into the form is tried without storing it first: through the env of this
        # process only, for the duration of the test.
        name = key_name or fleet.key_ref_of(fleet.model(model_id)) or ""
        previous = os.environ.get(name) if name else None
        if name and key_value:
            os.environ[name] = key_value
        try:
            async with adapter_for(fleet, model_id) as adapter:
                result = await adapter.probe()
            if result.ok:
                self.notify(f"{model_id}: reachable, {result.latency_ms:.0f} ms ({result.method})", title="Test connection")
            else:
                self.notify(str(result.error), title="Test connection failed", severity="error", timeout=10)
        except ProviderError as exc:
            self.notify(str(exc), title="Test connection failed", severity="error", timeout=10)
        finally:
            if name and key_value:
                if previous is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = previous

    def save(self) -> None:
        fleet = self.validate_form()
        if fleet is None:
            return
        key_name, key_value = self.value("key"), self.value("key_value")
        if key_value:
            from fleetui.secrets import SecretsError, set_key

            if not key_name:
                self.notify("give the key a name to store it under", severity="error")
                return
            try:
                set_key(key_name, key_value)
            except SecretsError as exc:
                self.notify(str(exc), title="Key not stored", severity="error", timeout=10)
                return
        from fleetui.tui.editor_base import save_fleet_from

        path = save_fleet_from(self.screen, self.session, fleet)
        if path is None:
            return
        if self.editing is not None:
            self.notify(f"{self.value('id')} saved to {path}", title="Saved")
            self.screen.dismiss(None)
            return
        self.notify(f"{self.value('id')} added to {path}", title="Saved")
        self.clear_form()

    def clear_form(self) -> None:
        """Empty the form for the next model, without judging the empty fields before anyone typed."""
        for field, _, _ in [*FIELDS, *PROVIDER_FIELDS]:
            box = self.query_one(f"#add-{field}", Input)
            with box.prevent(Input.Changed):
                box.value = ""
        if self.query_one("#add-provider", Select).value == NEW_PROVIDER:
            self._refresh_providers()
        self.query_one("#add-errors", Static).update("")

    def _refresh_providers(self) -> None:
        """The provider just created is one of the fleet's now: offer it in the list."""
        select = self.query_one("#add-provider", Select)
        with select.prevent(Select.Changed):
            select.set_options(provider_options(self.session.fleet))
        self.query_one("#add-new-provider").add_class("hidden")
