"""Edit roles: what each role is for and which models hold it.

A role is what rules route to ("fast-tasks", "primary-coder"); models hold roles. The form edits
one role and its holders together, so renaming a role also renames it in the models that hold
it and in the rules and budgets that name it. Nothing is written until Save; leaving with
unsaved changes asks first.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import ValidationError
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, DataTable, Footer, Input, Label, Static

from fleetui.config.schema import Fleet, RoleAssignment
from fleetui.tui.data import Session
from fleetui.tui.editor_base import FleetEditor

FIELDS = (("id", "Role id"), ("name", "Name"), ("description", "What it is for"),
          ("models", "Held by (model ids, comma separated)"))


class RolesEditor(FleetEditor):
    WHAT = "roles"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "leave", "Back", id="roles.back"),
        Binding("ctrl+s", "save", "Save", id="roles.save"),
        Binding("n", "new_role", "New role", id="roles.new"),
        Binding("x,delete", "remove_role", "Remove role", id="roles.remove"),
    ]

    def __init__(self, session: Session) -> None:
        super().__init__(session)
        self.editing: str | None = None  # the id of the role in the form, None for a new one

    def compose(self) -> ComposeResult:
        with Horizontal(id="roles"):
            table: DataTable[Any] = DataTable(id="roles-table", cursor_type="row")
            table.add_columns("Role", "Name", "Held by")
            yield table
            with Vertical(id="role-form"):
                for field, label in FIELDS:
                    yield Label(label)
                    yield Input(id=f"role-{field}")
                yield Static("", id="role-check")
                with Horizontal():
                    yield Button("Update role", id="role-update", variant="primary")
                    yield Button("Save file", id="role-save")
        yield Footer()

    def on_mount(self) -> None:
        self._fill()
        self.query_one("#roles-table", DataTable).focus()

    def _fill(self) -> None:
        table = self.query_one("#roles-table", DataTable)
        table.clear()
        for role in self.fleet.roles:
            holders = ", ".join(m.id for m in self.fleet.models_in_role(role.id)) or "[dim](nobody)[/]"
            table.add_row(role.id, role.name, holders, key=role.id)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.cursor_row < len(self.fleet.roles):
            role = self.fleet.roles[event.cursor_row]
            self.editing = role.id
            for field, value in self._role_values(role.id).items():
                self.query_one(f"#role-{field}", Input).value = value

    def _role_values(self, role_id: str) -> dict[str, str]:
        role = next(r for r in self.fleet.roles if r.id == role_id)
        return {"id": role.id, "name": role.name, "description": role.description,
                "models": ", ".join(m.id for m in self.fleet.models_in_role(role.id))}

    def _value(self, field: str) -> str:
        return self.query_one(f"#role-{field}", Input).value.strip()

    def apply_form(self) -> bool:
        # ctrl+s saves what the user sees: a role typed into the form is saved with the others.
        if self.editing is None:
            pending = any(self._value(field) for field, _ in FIELDS)
        elif any(r.id == self.editing for r in self.fleet.roles):
            form = {field: self._value(field) for field, _ in FIELDS}
            pending = form != {k: v.strip() for k, v in self._role_values(self.editing).items()}
        else:
            pending = False
        return self.update_role() if pending else True

    def refill(self) -> None:
        self.editing = None
        self._fill()

    def _check(self, text: str) -> None:
        self.query_one("#role-check", Static).update(text)

    # -- editing ----------------------------------------------------------------------------------

    def action_new_role(self) -> None:
        self.editing = None
        for field, _ in FIELDS:
            self.query_one(f"#role-{field}", Input).value = ""
        self.query_one("#role-id", Input).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "role-update":
            self.update_role()
        elif event.button.id == "role-save":
            self.action_save()

    def update_role(self) -> bool:
        """Put the form into the (unsaved) fleet; False, with the reason shown, when it is invalid."""
        role_id = self._value("id")
        holders = [m.strip() for m in self._value("models").split(",") if m.strip()]
        known = {m.id for m in self.fleet.models}
        unknown = [m for m in holders if m not in known]
        if unknown:
            self._check(f"[red]no model {', '.join(map(repr, unknown))} in the fleet[/]")
            return False
        data = self.fleet.model_dump()
        old = self.editing
        role = {"id": role_id, "name": self._value("name") or role_id, "description": self._value("description")}
        if old is None:
            if any(r["id"] == role_id for r in data["roles"]):
                self._check(f"[red]a role {role_id!r} exists already: pick it in the table to edit it[/]")
                return False
            data["roles"].append(role)
        else:
            data["roles"] = [role if r["id"] == old else r for r in data["roles"]]
            _rename_references(data, old, role_id)
        for model in data["models"]:
            mine = [a for a in model["roles"] if a["role"] not in (old, role_id)]
            kept = next((a for a in model["roles"] if a["role"] in (old, role_id)), None)
            if model["id"] in holders:
                # A model that already held it keeps its priority and note; a new holder takes
                # the role as its last one.
                mine.append({**(kept or RoleAssignment(role=role_id, priority=len(mine) + 1).model_dump()),
                             "role": role_id})
            model["roles"] = mine
        try:
            candidate = Fleet.model_validate(data)  # every cross-reference checked, as on load
        except ValidationError as exc:
            self._check("[red]" + "; ".join(e["msg"].removeprefix("Value error, ")
                                            for e in exc.errors(include_url=False))[:400] + "[/]")
            return False
        except ValueError as exc:  # CrossReferenceError
            self._check(f"[red]{exc}[/]"[:400])
            return False
        self.fleet = candidate
        self.editing = role_id
        self.dirty = True
        self._fill()
        self._check(f"[green]role {role_id} updated (not saved yet)[/]")
        return True

    def action_remove_role(self) -> None:
        role_id = self.editing
        if role_id is None:
            return
        targeting = [r.name for r in self.fleet.rules if r.role == role_id]
        if targeting:
            self._check(f"[red]rules {', '.join(targeting)} route to {role_id}: point them elsewhere first[/]")
            return
        data = self.fleet.model_dump()
        data["roles"] = [r for r in data["roles"] if r["id"] != role_id]
        for model in data["models"]:
            model["roles"] = [a for a in model["roles"] if a["role"] != role_id]
        data["budget"]["per_role"].pop(role_id, None)
        self.fleet = Fleet.model_validate(data)
        self.editing = None
        self.dirty = True
        self._fill()
        self._check(f"[green]role {role_id} removed (not saved yet)[/]")



def _rename_references(data: dict[str, Any], old: str, new: str) -> None:
    """A role renamed: the rules and budgets that name it follow."""
    if old == new:
        return
    for rule in data["rules"]:
        if rule.get("role") == old:
            rule["role"] = new
    per_role = data["budget"]["per_role"]
    if old in per_role:
        per_role[new] = per_role.pop(old)
