"""What is wrong with a fleet file, said so a user can fix it without guessing.

Every problem reads ``file:line:column: field: what is wrong; what to do``. The "what to do" comes
from the kind of mistake (a type, a range, an unknown key) and from the field's own description
in the schema, so a new field is explained as soon as it is described.
"""

from __future__ import annotations

import datetime as dt
import difflib
import types
import typing
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from fleetui.config.schema import Fleet

FieldPath = tuple[str | int, ...]
# A shown value is cut to this: a 5,000-character string or list helps nobody, and repr() of a
# huge int raises.
_SHOWN = 60


@dataclass(frozen=True)
class FleetProblem:
    file: Path
    line: int | None
    path: FieldPath
    message: str  # what is wrong; what to do
    column: int | None = None

    def __str__(self) -> str:
        where = str(self.file)
        if self.line is not None:
            where += f":{self.line}" + (f":{self.column}" if self.column is not None else "")
        field = format_path(self.path)
        return f"{where}: {field}: {self.message}" if field else f"{where}: {self.message}"


class FleetFileError(Exception):
    """A fleet file that cannot be used, with every problem found in it."""

    def __init__(self, file: Path, problems: Sequence[FleetProblem]) -> None:
        self.file = file
        self.problems = list(problems)
        count = len(self.problems)
        lines = "\n".join(f"  {p}" for p in self.problems)
        super().__init__(f"{file}: {count} problem{'s' if count != 1 else ''}\n{lines}")


def format_path(path: Sequence[str | int]) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part.startswith("["):
            out += part
        else:
            out += f".{part}" if out else part
    return out


def shown(value: Any) -> str:
    """A value as the file would say it, cut short; never raises."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int) and abs(value) > 10**30:
        return f"a {len(str(abs(value)))}-digit number" if abs(value) < 10**4000 else "a huge number"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))  # a bound of 0 reads "above 0", not "above 0.0"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, dt.date | dt.time):
        return f"the date/time {value.isoformat()}"
    if isinstance(value, list):
        return "a list" if len(value) > 5 or any(isinstance(v, list | dict) for v in value) else _cut(repr(value))
    return _cut(repr(value))


def _cut(text: str) -> str:
    return text if len(text) <= _SHOWN else text[: _SHOWN - 1] + "…"


def label(path: FieldPath, data: Any) -> FieldPath:
    """Name list entries by their id where they have one: models[claude-sonnet], not models[1]."""
    labelled: list[str | int] = []
    node = data
    for part in path:
        if isinstance(part, int) and isinstance(node, list) and part < len(node):
            node = node[part]
            name = node.get("id", node.get("name")) if isinstance(node, dict) else None
            good = isinstance(name, str) and 0 < len(name) <= 64 and name.isprintable()
            labelled.append(f"[{name}]" if good else part)
            continue
        labelled.append(part)
        node = node.get(part) if isinstance(node, dict) else None
    return tuple(labelled)


# -- explaining a pydantic error -------------------------------------------------------------------

# pydantic's error type → (what was expected, how to write one)
_EXPECTED = {
    "string_type": ("a string", '"…"'),
    "int_type": ("a whole number", "1"), "int_parsing": ("a whole number", "1"),
    "int_from_float": ("a whole number", "1"),
    "float_type": ("a number", "1.5"), "float_parsing": ("a number", "1.5"),
    "bool_type": ("true or false", "true"), "bool_parsing": ("true or false", "true"),
    "list_type": ("a list", "[ … ]"),
    "dict_type": ("a table", "{ key = … }"), "model_type": ("a table", "{ key = … } or a [section]"),
    "model_attributes_type": ("a table", "{ key = … } or a [section]"),
}
_BOUNDS = {"greater_than": ("gt", "above"), "greater_than_equal": ("ge", "at least"),
           "less_than": ("lt", "below"), "less_than_equal": ("le", "at most")}


def explain(error: Any, loc: FieldPath) -> str:
    """`what is wrong; what to do` for one pydantic error at `loc`."""
    kind = error["type"]
    key = str(loc[-1]) if loc else ""
    given = error.get("input")
    # Never echo a `key` value back: if validation failed, it may be a real secret.
    show = "" if key == "key" or given is None else f" (got {shown(given)})"
    if kind == "extra_forbidden":
        allowed = allowed_keys(loc[:-1])
        hint = difflib.get_close_matches(key, allowed, n=1)
        message = f"unknown key {key!r}" + (f" (did you mean {hint[0]!r}?)" if hint else "")
        return f"{message}; remove it or use one of the keys allowed here: {', '.join(allowed) or '(none)'}"
    if kind == "missing":
        return f"required key {key!r} is missing; add `{key} = …` to this table{_about(loc)}"
    if kind in _EXPECTED:
        what, example = _EXPECTED[kind]
        write = f"{key} = {example}" if key and not key.isdigit() else example
        return f"expected {what}{show}; write {write}{_about(loc)}"
    if kind in _BOUNDS:
        bound, words = _BOUNDS[kind]
        limit = (error.get("ctx") or {}).get(bound)
        return f"must be {words} {shown(limit)}{show}; use a value {words} {shown(limit)}{_about(loc)}"
    if kind == "finite_number":
        return f"must be a finite number{show}; inf and nan are not allowed here{_about(loc)}"
    if kind == "enum":
        expected = (error.get("ctx") or {}).get("expected", "")
        return f"not one of the allowed values{show}; use one of {expected}"
    if kind == "string_pattern_mismatch":
        return f"not a valid name{show}; use letters, digits, '.', '_' and '-', starting with a letter or digit"
    if kind == "string_too_short":
        return f"must not be empty; give it a value{_about(loc)}"
    if kind == "string_too_long":
        limit = (error.get("ctx") or {}).get("max_length")
        return f"longer than {limit} characters; shorten it"
    if kind == "too_short":
        return f"needs at least {(error.get('ctx') or {}).get('min_length')} entries{show}; add some{_about(loc)}"
    message = str(error["msg"]).removeprefix("Value error, ").removeprefix("Assertion failed, ")
    if kind not in ("value_error", "assertion_error"):
        message += show
    return message if ";" in message else f"{message}{_about(loc, lead='; ') or '; see sample_fleet.toml'}"


def _about(loc: FieldPath, lead: str = "") -> str:
    """What the field is, from its schema description: " (the display name)", or with `lead`
    "; name is the display name"."""
    info = field_info(loc)
    if info is None or not info.description:
        return ""
    return f"{lead}{loc[-1]} is {info.description}" if lead else f" ({info.description})"


def field_info(loc: FieldPath) -> FieldInfo | None:
    """The schema field at `loc` (list indexes skipped), if the path names one."""
    current: Any = Fleet
    info: FieldInfo | None = None
    for part in loc:
        if isinstance(part, int):
            continue
        model = _model_in(current)
        if model is None or part not in _keys(model):
            return None
        info = _keys(model)[part]
        current = info.annotation
    return info


def allowed_keys(loc: FieldPath) -> list[str]:
    """The keys the model at `loc` accepts, walking the Fleet's field types."""
    current: Any = Fleet
    for part in loc:
        if isinstance(part, int):
            continue
        model = _model_in(current)
        if model is None or part not in _keys(model):
            return []
        current = _keys(model)[part].annotation
    model = _model_in(current)
    return list(_keys(model)) if model else []


def _keys(model: type[BaseModel]) -> dict[str, FieldInfo]:
    """A model's fields by the key the file uses (the alias where a field has one)."""
    return {info.alias or name: info for name, info in model.model_fields.items()}


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin = typing.get_origin(annotation)
    if origin in (list, typing.Union, types.UnionType, typing.Annotated):
        for arg in typing.get_args(annotation):
            found = _model_in(arg)
            if found:
                return found
    return None
