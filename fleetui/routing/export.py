"""Routing config for apps: fleetui TOML and JSON (here) and a LiteLLM proxy `config.yaml`
(:mod:`fleetui.routing.export_litellm`).

The TOML and JSON exports are the routing part of the fleet file — providers, roles, models,
rules and A/B tests — so that `fleetui.Router` loads them as it loads the fleet file itself and
an export read back and exported again gives the same text. Every export says which fleet file
and which version of it (content sha256 and modification time) it was made from. Keys are never
written, only the names they are kept under, as in the fleet file.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import tomli_w

from fleetui import __version__
from pydantic import ValidationError

from fleetui.config.fleetfile import FleetFileError, FleetProblem, fleet_data_problems, parse_fleet
from fleetui.config.schema import Fleet

# What routing reads of a fleet file; budgets, rankings, privacy and probes stay out.
ROUTING_SECTIONS = frozenset({"name", "providers", "roles", "models", "rules", "ab_tests"})
_SOURCE_LINE = "# exported by fleetui {version} from {path} (sha256 {sha256}, modified {modified})"


@dataclass(frozen=True, slots=True)
class ExportSource:
    """The fleet file an export was made from, and which version of it."""

    path: str
    sha256: str  # of the file's bytes
    modified: str  # the file's mtime, ISO 8601 UTC
    fleetui_version: str = __version__

    def comment(self) -> str:
        path = self.path.encode("unicode_escape").decode("ascii")  # one comment line, whatever the path holds
        return _SOURCE_LINE.format(version=self.fleetui_version, path=path, sha256=self.sha256, modified=self.modified)


def read_fleet_for_export(path: Path) -> tuple[Fleet, ExportSource]:
    """The fleet and its provenance from one read of the file, so the two always agree.
    Raises OSError or UnicodeDecodeError for an unreadable file, FleetFileError for a bad one."""
    data = path.read_bytes()
    modified = dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC).isoformat(timespec="seconds")
    source = ExportSource(str(path.resolve()), hashlib.sha256(data).hexdigest(), modified.replace("+00:00", "Z"))
    return parse_fleet(data.decode("utf-8"), path), source


def routing_data(fleet: Fleet) -> dict[str, Any]:
    """The fleet's routing sections as fleet-file data: what `Fleet.model_validate` reads back."""
    return fleet.model_dump(mode="json", exclude_none=True, include=set(ROUTING_SECTIONS))


def to_toml(fleet: Fleet, source: ExportSource | None = None) -> str:
    """A fleet file holding only routing: `Router.from_toml(path)` loads it (and reloads it)."""
    header = ["# fleetui routing config: the routing sections of a fleet file (Router.from_toml loads it)"]
    if source is not None:
        header.append(source.comment())
    learned = sorted({r.learned for r in fleet.rules if r.learned})
    if learned:  # the router files are not in the export: they are read from beside it
        header.append("# learned rules read " + ", ".join(f"{name}.router.json" for name in learned)
                      + " from beside this file: copy them along (`fleetui router train` writes them)")
    return "\n".join(header) + "\n\n" + tomli_w.dumps(routing_data(fleet))


def to_json(fleet: Fleet, source: ExportSource | None = None) -> str:
    """`{"exported_from": {...}, "fleet": {...}}`; `Router(Fleet.model_validate(doc["fleet"]))`
    (or `Router(load_export(path))`) routes with it."""
    document = {"exported_from": asdict(source) if source is not None else None, "fleet": routing_data(fleet)}
    return json.dumps(document, indent=2) + "\n"


def load_export(path: Path | str) -> Fleet:
    """A TOML or JSON routing export read back as a fleet; bad input raises FleetFileError."""
    file = Path(path)
    text = file.read_text(encoding="utf-8")
    if file.suffix.lower() != ".json":
        return parse_fleet(text, file)
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise FleetFileError(file, [FleetProblem(file, exc.lineno, (), f"invalid JSON: {exc.msg}")]) from None
    data = document.get("fleet") if isinstance(document, dict) else None
    if not isinstance(data, dict):
        raise FleetFileError(file, [FleetProblem(file, None, (), 'not a fleetui JSON export: no "fleet" object')])
    try:
        return Fleet.model_validate(data)
    except ValidationError as exc:
        raise FleetFileError(file, [FleetProblem(file, None, (), p) for p in fleet_data_problems(exc, data)]) from None


def _litellm(fleet: Fleet, source: ExportSource | None = None) -> str:
    from fleetui.routing.export_litellm import to_litellm

    return to_litellm(fleet, source)


EXPORTERS: dict[str, Callable[[Fleet, ExportSource | None], str]] = {
    "toml": to_toml, "json": to_json, "litellm": _litellm,
}

