"""Reading, checking and writing fleet files.

Every problem is reported with the file, the line and the field path, and what is allowed, so a
user can fix the file without guessing. Saving never leaves a half-written file: the new text is
validated first, written to a temporary file in the same folder, fsynced and renamed over the
old one, whose previous version is kept as ``<name>.bak``.
"""

from __future__ import annotations

import difflib
import os
import re
import shutil
import tempfile
import tomllib
import types
import typing
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tomli_w
from pydantic import BaseModel, ValidationError

from fleetui import locations
from fleetui.config.schema import CrossReferenceError, Fleet, cross_reference_problems
from fleetui.config.tomllines import LineIndex


@dataclass(frozen=True)
class FleetProblem:
    file: Path
    line: int | None
    path: tuple[str | int, ...]
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else str(self.file)
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


# -- loading -------------------------------------------------------------------------------------

_TOML_POSITION = re.compile(r"\(at line (\d+), column \d+\)")


def load_fleet(path: Path | str) -> Fleet:
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FleetFileError(file, [FleetProblem(file, None, (), "file not found")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise FleetFileError(file, [FleetProblem(file, None, (), f"cannot read: {exc}")]) from None
    return parse_fleet(text, file)


def parse_fleet(text: str, file: Path | str = "<fleet>") -> Fleet:
    file = Path(file)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        at = _TOML_POSITION.search(message)
        line = int(at.group(1)) if at else None
        raise FleetFileError(file, [FleetProblem(file, line, (), f"invalid TOML: {message}")]) from None
    try:
        return Fleet.model_validate(data)
    except ValidationError as exc:
        raise FleetFileError(file, _problems(exc, LineIndex(text), file, data)) from None


def _problems(
    exc: ValidationError, lines: LineIndex, file: Path, data: dict[str, Any]
) -> list[FleetProblem]:
    problems = [
        FleetProblem(file, lines.line_of(path), _label(path, data), message) for path, message in _found(exc, data)
    ]
    problems.sort(key=lambda p: (p.line or 0, format_path(p.path)))
    return problems


def fleet_data_problems(exc: ValidationError, data: dict[str, Any]) -> list[str]:
    """Every problem of fleet data that failed to validate, as "models[gpt-x].key: what is wrong"
    (for changes made in code, which have no file lines yet)."""
    return [f"{format_path(_label(path, data)) or 'fleet'}: {message}" for path, message in _found(exc, data)]


def _found(exc: ValidationError, data: dict[str, Any]) -> list[tuple[tuple[str | int, ...], str]]:
    found: list[tuple[tuple[str | int, ...], str]] = []
    cross_checked = False
    for error in exc.errors(include_url=False):
        loc = tuple(error["loc"])
        cause = (error.get("ctx") or {}).get("error")
        if isinstance(cause, CrossReferenceError):
            cross_checked = True
            found += cause.problems
        else:
            found.append((loc, _explain(error, loc)))
    if not cross_checked:
        # Field errors stop pydantic before the cross-section checks; run them on the raw data
        # so one pass reports everything.
        found += cross_reference_problems(data)
    return found


def _label(path: tuple[str | int, ...], data: Any) -> tuple[str | int, ...]:
    """Name list entries by their id where they have one: models[claude-sonnet], not models[1]."""
    labelled: list[str | int] = []
    node = data
    for part in path:
        if isinstance(part, int) and isinstance(node, list) and part < len(node):
            node = node[part]
            name = node.get("id", node.get("name")) if isinstance(node, dict) else None
            labelled.append(f"[{name}]" if isinstance(name, str) else part)
            continue
        labelled.append(part)
        node = node.get(part) if isinstance(node, dict) else None
    return tuple(labelled)


def _explain(error: Any, loc: tuple[str | int, ...]) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        allowed = _allowed_keys(loc[:-1])
        key = str(loc[-1])
        hint = difflib.get_close_matches(key, allowed, n=1)
        message = f"unknown key {key!r}"
        if hint:
            message += f" (did you mean {hint[0]!r}?)"
        return f"{message}; allowed here: {', '.join(allowed)}"
    if kind == "missing":
        return f"required key {loc[-1]!r} is missing"
    message = str(error["msg"]).removeprefix("Value error, ")
    # Never echo a `key` value back: if validation failed, it may be a real secret.
    echo = loc[-1] != "key" if loc else True
    if echo and "input" in error and not isinstance(error["input"], dict | list):
        message += f" (got {error['input']!r})"
    return message


def _allowed_keys(loc: tuple[str | int, ...]) -> list[str]:
    """The keys the model at `loc` accepts, walking the Fleet's field types."""
    current: Any = Fleet
    for part in loc:
        if isinstance(part, int):
            continue
        model = _model_in(current)
        if model is None or part not in model.model_fields:
            return []
        current = model.model_fields[part].annotation
    model = _model_in(current)
    return list(model.model_fields) if model else []


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


# -- saving --------------------------------------------------------------------------------------


def dump_fleet(fleet: Fleet) -> str:
    return tomli_w.dumps(_fleet_data(fleet, defaults=False))


def _fleet_data(fleet: Fleet, *, defaults: bool) -> dict[str, Any]:
    return fleet.model_dump(mode="json", exclude_none=True, exclude_defaults=not defaults)


def edit_fleet_text(text: str, fleet: Fleet) -> str:
    """The fleet file `text` edited to hold `fleet`, its comments and layout kept.

    Only what changed is rewritten; keys the file spells out at their default value stay, new
    keys are written only when they differ from the default (as :func:`dump_fleet` would).
    Raises when the text cannot be edited in place (see :func:`fleetui.config.tomledit.update_toml`).
    """
    from fleetui.config.tomledit import update_toml  # tomlkit loads only when a file is saved

    return update_toml(text, _fleet_data(fleet, defaults=True), _fleet_data(fleet, defaults=False))


def fleet_file_text(fleet: Fleet, file: Path) -> str:
    """What `save_fleet` writes: the current file edited in place, else a fresh dump.

    Either way the text parses back to `fleet`, or this raises :class:`FleetFileError`.
    """
    previous = _current_text(file)
    edited = _edited_in_place(previous, fleet, file) if previous is not None else None
    if edited is not None:
        return edited
    text = (
        "# fleetui fleet file. Written by fleetui; the previous version is kept as "
        f"{file.name}.bak.\n" + dump_fleet(fleet)
    )
    # Never write what we could not read back as the same fleet.
    if parse_fleet(text, file) != fleet:
        raise FleetFileError(file, [FleetProblem(file, None, (), "internal error: fleet does not round-trip")])
    return text


def _current_text(file: Path) -> str | None:
    try:
        return file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def _edited_in_place(previous: str, fleet: Fleet, file: Path) -> str | None:
    """`previous` edited to hold `fleet`, or None when that fails or would not read back."""
    try:
        text = edit_fleet_text(previous, fleet)
    except Exception:  # noqa: BLE001 - keeping the layout is a nicety; a fresh dump still saves
        return None
    try:
        reads_back = parse_fleet(text, file) == fleet
    except FleetFileError:
        reads_back = False
    return text if reads_back else None


def save_fleet(fleet: Fleet, path: Path | str, *, backup: bool = True) -> Path:
    """Write `fleet` to `path` atomically; returns the path of the backup (or `path`).

    An existing file is edited in place, so its comments and layout survive the save.
    """
    file = Path(path)
    text = fleet_file_text(fleet, file)
    file.parent.mkdir(parents=True, exist_ok=True)
    backup_path = file.with_name(file.name + ".bak")
    fd, tmp_name = tempfile.mkstemp(prefix=f".{file.name}.", suffix=".tmp", dir=file.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        if backup and file.exists():
            shutil.copy2(file, backup_path)
        os.replace(tmp_name, file)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    _fsync_dir(file.parent)
    return backup_path if backup else file


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return  # not supported on this platform (Windows); the rename is still atomic
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


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
    shutil.copyfile(locations.sample_fleet_file(), path)
    return path
