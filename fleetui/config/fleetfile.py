"""Reading, checking and writing fleet files.

Reading never raises anything but :class:`FleetFileError`, whatever the text: shapes that would
break a parser (deep nesting, huge numbers) are refused first, values are type-checked before
anything uses them, and every problem says ``file:line:column: field: what is wrong; what to do``.

Saving edits the text that was read, in place (comments and layout kept), checks that the
result reads back as the fleet, and writes it with :mod:`fleetui.config.writer`: atomically, the
mode kept, `.bak` only on a real change, and never over a file that changed since it was read.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomli_w
from pydantic import ValidationError

from fleetui import locations
from fleetui.config.problems import FieldPath, FleetFileError, FleetProblem, explain, format_path, label
from fleetui.config.schema import CrossReferenceError, Fleet, cross_reference_problems
from fleetui.config.tomllines import MAX_DEPTH, LineIndex, Lines, shape_problems
from fleetui.config.writer import Written, read_text, write_text

__all__ = [
    "FleetFileError", "FleetProblem", "FleetSource", "create_from_sample", "dump_fleet", "edit_fleet_text",
    "find_fleet_file", "fleet_data_problems", "fleet_file_text", "format_path", "load_fleet", "parse_fleet",
    "read_fleet", "Saved", "save_fleet",
]

# Larger than any fleet file a person writes; reading more would only slow a mistake down.
MAX_BYTES = 4 * 1024 * 1024
_INT64 = (-(2**63), 2**63 - 1)
_TOML_AT = re.compile(r"\(at line (\d+), column (\d+)\)")


# -- loading -------------------------------------------------------------------------------------


def load_fleet(path: Path | str) -> Fleet:
    return read_fleet(path)[0]


def read_fleet(path: Path | str) -> tuple[Fleet, str]:
    """The fleet in `path` and the exact text it was read from (what a later save must find)."""
    file = Path(path)
    try:
        with open(file, "rb") as handle:
            data = handle.read(MAX_BYTES + 1)  # bounded: a wrong path to a huge file is not read whole
        if len(data) > MAX_BYTES:
            raise FleetFileError(file, [FleetProblem(
                file, None, (), f"more than {MAX_BYTES:,} bytes, more than a fleet file can be; is this the right "
                "file?")])
        text = data.decode("utf-8")
    except FileNotFoundError:
        raise FleetFileError(file, [FleetProblem(
            file, None, (), "file not found; create one with `fleetui init` or point --config at yours")]) from None
    except UnicodeDecodeError as exc:
        line, column = Lines(data[: exc.start].decode("utf-8", "replace")).end()
        raise FleetFileError(file, [FleetProblem(
            file, line, (), f"not UTF-8 text ({exc.reason}); save the file as UTF-8", column)]) from None
    except OSError as exc:
        raise FleetFileError(file, [FleetProblem(
            file, None, (), f"cannot read: {exc.strerror or exc}; check the path and its permissions")]) from None
    return parse_fleet(text, file), text


def parse_fleet(text: str, file: Path | str = "<fleet>") -> Fleet:
    file = Path(file)
    lines = Lines(text)
    shapes = shape_problems(text)
    if shapes:
        raise FleetFileError(file, [_at_offset(file, lines, offset, message) for offset, message in shapes])
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise FleetFileError(file, [_toml_problem(str(exc), lines, file)]) from None
    except (ValueError, RecursionError, OverflowError) as exc:  # shape_problems should stop these first
        raise FleetFileError(file, [FleetProblem(
            file, None, (), f"cannot read this TOML ({type(exc).__name__}); simplify the file", None)]) from None
    index: LineIndex | None = None
    out_of_range = list(_out_of_range(data))
    if out_of_range:
        index = LineIndex(text)
        raise FleetFileError(file, [_located(file, index, data, path, message) for path, message in out_of_range])
    try:
        return Fleet.model_validate(data)
    except ValidationError as exc:
        index = LineIndex(text)
        problems = [_located(file, index, data, path, message) for path, message in _found(exc, data)]
        problems.sort(key=lambda p: (p.line or 0, p.column or 0, format_path(p.path)))
        raise FleetFileError(file, problems) from None


def _at_offset(file: Path, lines: Lines, offset: int, message: str) -> FleetProblem:
    line, column = lines.at(offset)
    return FleetProblem(file, line, (), message, column)


def _toml_problem(message: str, lines: Lines, file: Path) -> FleetProblem:
    at = _TOML_AT.search(message)
    reason = _TOML_AT.sub("", message).replace("(at end of document)", "").strip()
    if at:
        line, column = int(at.group(1)), int(at.group(2))
    else:  # "at end of document": the last position of the text
        line, column = lines.end()
    return FleetProblem(file, line, (), f"invalid TOML: {reason}; fix the TOML syntax at this position", column)


def _out_of_range(data: Any) -> Iterator[tuple[FieldPath, str]]:
    """Integers no 64-bit field holds and nesting no fleet needs (dotted keys nest without brackets)."""
    stack: list[tuple[FieldPath, Any]] = [((), data)]
    while stack:
        path, node = stack.pop()
        if len(path) > MAX_DEPTH:
            yield path[:MAX_DEPTH], f"nested more than {MAX_DEPTH} levels deep; flatten this value"
            continue
        if isinstance(node, dict):
            stack.extend(((*path, key), value) for key, value in node.items())
        elif isinstance(node, list):
            stack.extend(((*path, i), value) for i, value in enumerate(node))
        elif isinstance(node, int) and not isinstance(node, bool) and not _INT64[0] <= node <= _INT64[1]:
            yield path, "a whole number beyond 64 bits; TOML integers are 64-bit: use a smaller value"


def _found(exc: ValidationError, data: dict[str, Any]) -> list[tuple[FieldPath, str]]:
    """(path, what is wrong; what to do) for every problem; a path ending in "" points at the
    key itself (an unknown or missing key) rather than at its value."""
    found: list[tuple[FieldPath, str]] = []
    cross_checked = False
    for error in exc.errors(include_url=False):
        loc = tuple(error["loc"])
        cause = (error.get("ctx") or {}).get("error")
        if isinstance(cause, CrossReferenceError):
            cross_checked = True
            found += cause.problems
        else:
            on_key = error["type"] in ("extra_forbidden", "missing")
            found.append(((*loc, "") if on_key else loc, explain(error, loc)))
    if not cross_checked:
        # Field errors stop pydantic before the cross-section checks; run them on the raw data
        # so one pass reports everything.
        found += cross_reference_problems(data)
    return found


def _located(file: Path, index: LineIndex, data: Any, path: FieldPath, message: str) -> FleetProblem:
    """The problem at `path`, placed on the value when it is written, else on its key or table."""
    if path and path[-1] == "":  # the key itself
        path = path[:-1]
        position = index.position_of(path)
    else:
        position = index.value_position(path) or index.position_of(path)
    if path and path[-1] == "when" and position is not None:
        position = _in_condition(index, data, path) or position
    line, column = position if position else (None, None)
    return FleetProblem(file, line, label(path, data), message, column)


def _in_condition(index: LineIndex, data: Any, path: FieldPath) -> tuple[int, int] | None:
    """The file position of a condition's error: its column inside the string, from the string's start."""
    from fleetui.routing.conditions import ConditionError, parse_condition

    node = data
    for part in path:
        if isinstance(node, dict):
            node = node.get(part)
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
        else:
            return None
    offset = index.value_offset(path)
    if not isinstance(node, str) or offset is None:
        return None
    raw = index.lines.text
    quote = 3 if raw.startswith(('"""', "'''"), offset) else 1
    try:
        parse_condition(node)
    except ConditionError as exc:
        # Exact for literal strings and strings without escapes, which is how conditions are written.
        start = offset + quote
        if "\n" not in node and raw[start : start + len(node)] == node:
            return index.lines.at(start + exc.column - 1)
    return None


def fleet_data_problems(exc: ValidationError, data: dict[str, Any]) -> list[str]:
    """Every problem of fleet data that failed to validate, as "models[gpt-x].key: what is wrong"
    (for changes made in code, which have no file lines yet)."""
    return [f"{format_path(label(path[:-1] if path[-1:] == ('',) else path, data)) or 'fleet'}: {message}"
            for path, message in _found(exc, data)]


# -- saving --------------------------------------------------------------------------------------


def dump_fleet(fleet: Fleet) -> str:
    return tomli_w.dumps(_fleet_data(fleet, defaults=False))


def _fleet_data(fleet: Fleet, *, defaults: bool) -> dict[str, Any]:
    return fleet.model_dump(mode="json", exclude_none=True, exclude_defaults=not defaults)


def edit_fleet_text(text: str, fleet: Fleet, notes: dict[str, dict[str, str]] | None = None) -> str:
    """The fleet file `text` edited to hold `fleet`, its comments and layout kept.

    Only what changed is rewritten; keys the file spells out at their default value stay, new
    keys are written only when they differ from the default (as :func:`dump_fleet` would).
    `notes` puts a comment above new array entries: ``{"rules": {"rule-name": "# why"}}``.
    Raises when the text cannot be edited in place (see :func:`fleetui.config.tomledit.update_toml`).
    """
    from fleetui.config.tomledit import update_toml  # tomlkit loads only when a file is saved

    # A file with Windows line ends keeps them: the new lines get them too.
    crlf = "\r\n" in text and text.count("\r\n") == text.count("\n")
    plain = text.replace("\r\n", "\n") if crlf else text
    edited = update_toml(plain, _fleet_data(fleet, defaults=True), _fleet_data(fleet, defaults=False), notes)
    return edited.replace("\n", "\r\n") if crlf else edited


def fleet_file_text(fleet: Fleet, file: Path, base: str | None = None) -> str:
    """What `save_fleet` writes: `base` (the text the change started from; by default the file
    as it is now) edited in place to hold `fleet`, or a fresh dump for a new or empty file.

    Raises :class:`FleetFileError` when `base` is not a valid fleet file (a save would overwrite
    what it could not read), when it cannot be edited in place, or when the result would not
    read back as `fleet`. Nothing here falls back to rewriting the file whole.
    """
    if base is None:
        base = _current_text(file)
    if base is None or not base.strip():
        text = ("# fleetui fleet file. Written by fleetui; the previous version is kept as "
                f"{file.name}.bak.\n" + dump_fleet(fleet))
    else:
        parse_fleet(base, file)  # the file must read before it is edited: never write over a broken file
        text = _edited_in_place(base, fleet, file)
    if parse_fleet(text, file) != fleet:
        raise FleetFileError(file, [FleetProblem(
            file, None, (), "the edited file would not read back as the fleet; nothing written. "
            "Please report this with the file attached")])
    return text


def _current_text(file: Path) -> str | None:
    try:
        return read_text(file)
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise FleetFileError(file, [FleetProblem(
            file, None, (), f"cannot read the file to edit it ({exc}); nothing written")]) from None


def _edited_in_place(previous: str, fleet: Fleet, file: Path) -> str:
    from tomlkit.exceptions import TOMLKitError

    from fleetui.config.tomledit import TomlEditError

    try:
        return edit_fleet_text(previous, fleet)
    except (TomlEditError, TOMLKitError, RecursionError) as exc:
        raise FleetFileError(file, [FleetProblem(
            file, None, (), f"cannot edit this file in place ({exc}); nothing written, so no line of it is "
            "lost: make the change by hand, or simplify the layout (one [[models]] block per model)")]) from None


@dataclass(frozen=True)
class Saved:
    written: Written
    text: str  # what the file holds now: the `expect` of the next save


def save_fleet(fleet: Fleet, path: Path | str, *, expect: str | None = None, backup: bool = True) -> Saved:
    """Write `fleet` to `path`, editing in place the text it was read from.

    `expect` is that text (as :func:`read_fleet` returned it); without it, the file as it is now.
    Either way the write stops with :class:`fleetui.config.writer.FileChanged` when the file on
    disk is no longer that text. An unchanged fleet writes nothing.
    """
    file = Path(path)
    base = expect if expect is not None else _current_text(file)
    text = fleet_file_text(fleet, file, base)
    file.parent.mkdir(parents=True, exist_ok=True)
    return Saved(write_text(file, text, expect=base, backup=backup), text)


# -- which file ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class FleetSource:
    path: Path
    origin: str  # "--config", "$FLEETUI_CONFIG", "./fleet.toml", "user config", "sample"

    @property
    def is_sample(self) -> bool:
        return self.origin == "sample"


def find_fleet_file(explicit: str | Path | None = None) -> FleetSource | None:
    """The fleet file to use: --config, $FLEETUI_CONFIG, ./fleet.toml, the user config folder."""
    if explicit:
        return FleetSource(Path(explicit).expanduser(), "--config")
    env = os.environ.get("FLEETUI_CONFIG")
    if env:
        return FleetSource(Path(env).expanduser(), "$FLEETUI_CONFIG")
    local = Path.cwd() / "fleet.toml"
    if local.is_file():
        return FleetSource(local, "./fleet.toml")
    user = locations.user_fleet_file()
    if user.is_file():
        return FleetSource(user, "user config")
    return None


def create_from_sample(path: Path) -> Path:
    """Copy the commented sample fleet to `path` (refusing to overwrite)."""
    if path.exists():
        raise FileExistsError(f"{path} already exists; not overwriting it")
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text(path, locations.sample_fleet_file().read_text(encoding="utf-8"))
    return path
