"""The user's keymap file (`keymap.toml` in the config folder): binding id → keys.

Both ways of writing an id work: `fleet.filter = "f"` (TOML reads the dotted key as a table
`fleet` holding `filter`, the form the README shows) and `"fleet.filter" = "f"`. An id the app
does not have is an error that names the closest one, not a line silently ignored.
"""

from __future__ import annotations

import difflib
import tomllib
from collections.abc import Collection, Iterator, Mapping
from pathlib import Path
from typing import Any

from fleetui.config.tomllines import LineIndex, Lines, shape_problems

_TOML_AT_END = "(at end of document)"


class KeymapError(Exception):
    """A keymap file that cannot be used; one line per problem, file:line:column first."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


def read_keymap(path: Path, known: Collection[str]) -> dict[str, str]:
    """binding id → keys from `path` ({} when there is no such file); raises KeymapError."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        raise KeymapError([f"{path}: cannot read ({exc}); fix or remove the file"]) from None
    return parse_keymap(text, known, path)


def parse_keymap(text: str, known: Collection[str], path: Path | str = "keymap.toml") -> dict[str, str]:
    lines = Lines(text)
    shapes = shape_problems(text)
    if shapes:
        raise KeymapError([_at(path, lines.at(offset), message) for offset, message in shapes])
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        where = lines.end() if _TOML_AT_END in message else _toml_position(message) or lines.end()
        reason = message.split(" (at ")[0]
        raise KeymapError([_at(path, where, f"invalid TOML: {reason}; write one binding-id = \"key\" per line")]) \
            from None
    index: LineIndex | None = None
    problems: list[str] = []
    keymap: dict[str, str] = {}
    for binding, value, key_path in _entries(data):
        if index is None:
            index = LineIndex(text)
        at = index.position_of(key_path)
        if not isinstance(value, str) or not value.strip():
            problems.append(_at(path, at, f"{binding}: expected keys as a string, e.g. {binding} = \"f\" or "
                                             f"\"ctrl+f,f3\"; got {_kind(value)}"))
        elif binding not in known:
            hint = difflib.get_close_matches(binding, sorted(known), n=1, cutoff=0.5)
            advice = f"did you mean {hint[0]!r}?" if hint else f"the ids are: {', '.join(sorted(known))}"
            problems.append(_at(path, at, f"{binding}: no key binding has this id; {advice}"))
        else:
            keymap[binding] = value
    if problems:
        raise KeymapError(problems)
    return keymap


def _entries(data: Mapping[str, Any]) -> Iterator[tuple[str, Any, tuple[str, ...]]]:
    """(binding id, value, TOML key path) for every leaf; tables nest ids by their dots."""
    stack: list[tuple[tuple[str, ...], Any]] = [((key,), value) for key, value in reversed(list(data.items()))]
    while stack:
        key_path, value = stack.pop()
        if isinstance(value, Mapping):
            stack.extend(((*key_path, key), child) for key, child in reversed(list(value.items())))
        else:
            yield ".".join(key_path), value, key_path


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, list):
        return "a list"
    return "an empty string" if value == "" or isinstance(value, str) else type(value).__name__


def _toml_position(message: str) -> tuple[int, int] | None:
    import re

    found = re.search(r"\(at line (\d+), column (\d+)\)", message)
    return (int(found.group(1)), int(found.group(2))) if found else None


def _at(path: Path | str, where: tuple[int, int] | None, message: str) -> str:
    return f"{path}:{where[0]}:{where[1]}: {message}" if where else f"{path}: {message}"
