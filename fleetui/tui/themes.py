"""Themes from TOML files: fleetui's own (themes/ in the package) and the user's themes folder.

A theme file that does not parse or names a bad colour is reported and skipped, never fatal.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from textual.color import Color, ColorParseError
from textual.theme import Theme

from fleetui import locations

COLOURS = ("primary", "secondary", "accent", "foreground", "background", "surface", "panel",
           "warning", "error", "success")


def theme_from_file(path: Path) -> Theme:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    unknown = set(data) - {"name", "dark", *COLOURS}
    if unknown:
        raise ValueError(f"unknown key(s) {', '.join(sorted(unknown))}; allowed: name, dark, {', '.join(COLOURS)}")
    if "name" not in data or "primary" not in data:
        raise ValueError("a theme needs at least `name` and `primary`")
    for key in COLOURS:
        if key in data:
            try:
                Color.parse(data[key])
            except ColorParseError:
                raise ValueError(f"{key} = {data[key]!r} is not a colour (try '#1e88e5' or 'ansi_blue')") from None
    return Theme(**data)


def load_themes(folders: list[Path] | None = None) -> tuple[list[Theme], list[str]]:
    folders = folders if folders is not None else [locations.builtin_themes_dir(), locations.themes_dir()]
    loaded: list[Theme] = []
    problems: list[str] = []
    for folder in folders:
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob("*.toml")):
            try:
                loaded.append(theme_from_file(path))
            except (OSError, ValueError, tomllib.TOMLDecodeError, TypeError) as exc:
                problems.append(f"{path}: {exc}")
    return loaded, problems
