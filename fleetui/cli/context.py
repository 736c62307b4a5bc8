"""What every command needs: the fleet, the store, and how to print."""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fleetui import locations
from fleetui.config.fleetfile import FleetFileError, FleetSource, find_fleet_file, load_fleet

if TYPE_CHECKING:
    from fleetui.config.schema import Fleet
    from fleetui.config.change import Change
    from fleetui.store import Store


class CliError(Exception):
    """An error the user can act on; printed without a traceback."""

    def __init__(self, message: str, exit_code: int = 2) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@dataclass
class CliContext:
    config: str | None = None
    db: str | None = None
    demo: bool = False
    _fleet: Fleet | None = field(default=None, repr=False)
    _source: FleetSource | None = field(default=None, repr=False)
    _store: Store | None = field(default=None, repr=False)

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> CliContext:
        return cls(config=args.config, db=args.db, demo=args.demo)

    # -- the fleet ---------------------------------------------------------------------------

    def fleet_source(self) -> FleetSource:
        if self._source is None:
            found = find_fleet_file(self.config)
            if found is None:
                found = self._no_fleet_file()
            self._source = found
        return self._source

    def own_fleet_source(self) -> FleetSource:
        """The fleet file a command is about to change; the built-in sample is never changed."""
        source = self.fleet_source()
        if source.is_sample:
            raise CliError("the sample fleet is read-only; create your own with `fleetui init`, then change it")
        return source

    def _no_fleet_file(self) -> FleetSource:
        sample = FleetSource(locations.sample_fleet_file(), "sample")
        if self.demo:
            return sample
        target = locations.user_fleet_file()
        if sys.stdin.isatty() and sys.stderr.isatty():
            answer = input(f"No fleet file found. Create {target} from the sample fleet? [Y/n] ")
            if answer.strip().lower() in ("", "y", "yes"):
                from fleetui.config.fleetfile import create_from_sample

                create_from_sample(target)
                print(f"Created {target}; edit it to describe your own fleet.", file=sys.stderr)
                return FleetSource(target, "user config")
        raise CliError(
            "no fleet file found (looked at --config, $FLEETUI_CONFIG, ./fleet.toml and "
            f"{target}).\n  Create one from the sample with `fleetui init`, or try the sample "
            "fleet with demo data: `fleetui --demo`."
        )

    def fleet(self) -> Fleet:
        if self._fleet is None:
            source = self.fleet_source()
            try:
                self._fleet = load_fleet(source.path)
            except FleetFileError as exc:
                raise CliError(str(exc), exit_code=1) from None
        return self._fleet

    # -- the store ---------------------------------------------------------------------------

    def db_path(self) -> Path:
        if self.db:
            return Path(self.db).expanduser()
        if self.demo:
            return locations.demo_db()
        return locations.default_db()

    def has_calls_store(self) -> bool:
        """A store to read calls from exists, or `store()` will make it (the demo's, on first use)."""
        return self.db_path().exists() or (self.demo and not self.db)

    def store(self) -> Store:
        if self._store is None:
            from fleetui.store import Store, StoreError

            path = self.db_path()
            self._refuse_missing_folder(path)
            if self.demo and not self.db and not path.exists():
                self._make_demo_db(path)
            try:
                self._store = Store.open(path)
            except StoreError as exc:
                raise CliError(str(exc)) from None
            if self.demo and not self.db and self._demo_is_stale(self._store):
                self._store.close()
                self._make_demo_db(path)
                self._store = Store.open(path)
        return self._store

    def _refuse_missing_folder(self, path: Path) -> None:
        """A database the user named (--db, $FLEETUI_DB) goes in a folder that exists: a typo'd
        folder is an error, not a new folder. Only fleetui's own data folder is created."""
        named = self.db or os.environ.get("FLEETUI_DB")
        if named and not path.parent.is_dir():
            where = "--db" if self.db else "$FLEETUI_DB"
            raise CliError(f"{where} {path}: there is no folder {path.parent}; create it or choose another file",
                           exit_code=1)

    @staticmethod
    def _demo_is_stale(store: Store) -> bool:
        """Demo traffic ends when it was generated; a day later "today" would be empty."""

        latest = store.latest_call_ts()
        from fleetui import clock

        return latest is None or latest < clock.now() - 86400

    def _make_demo_db(self, path: Path) -> None:
        from fleetui.demo import DEFAULT_CALLS, generate_demo

        print(f"Creating demo data in {path} ({DEFAULT_CALLS:,} calls of the last 30 days)…", file=sys.stderr)
        generate_demo(self.fleet(), path, calls=DEFAULT_CALLS)

    @property
    def is_demo_data(self) -> bool:
        return self.demo or self.db_path() == locations.demo_db()

    @staticmethod
    def since(text: str, option: str = "--since") -> float:
        """A period start as the user typed it (7d, 24h, a date), or a CliError saying what works."""
        from fleetui.clock import parse_since

        try:
            return parse_since(text)
        except ValueError as exc:
            raise CliError(f"{option}: {exc}") from None

    # -- output ------------------------------------------------------------------------------

    @staticmethod
    def print_json(value: Any) -> None:
        json.dump(value, sys.stdout, indent=2, default=_json_default)
        sys.stdout.write("\n")

    @staticmethod
    def confirm(question: str, yes: bool) -> bool:
        """Go on? True with --yes or when the user answers y; without a terminal to ask on, an error."""
        if yes:
            return True
        if not sys.stdin.isatty():
            raise CliError("not a terminal: pass --yes to go on without asking")
        return input(f"{question} [y/N] ").strip().lower() in ("y", "yes")

    def write_change(self, change: Change, *, yes: bool, dry_run: bool, show: bool = True) -> int | None:
        """Show a fleet file change's diff (unless `show` is off), ask, write it atomically. None
        when written, else the exit status (0 for a dry run, 1 when the user says no)."""
        from fleetui.config.change import write_change
        from fleetui.config.writer import FileChanged

        if show or dry_run:
            print(change.diff)
        if dry_run:
            return 0
        if not self.confirm(f"Write this to {change.path}?", yes):
            print("nothing written")
            return 1
        try:
            write_change(change)
        except FileChanged as exc:
            raise CliError(f"{exc}; run the command again to see the new diff", exit_code=1) from None
        return None

    @staticmethod
    def note(message: str) -> None:
        """A remark for the human, on stderr so `--json` output stays clean."""
        print(message, file=sys.stderr)


def _json_default(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    if hasattr(value, "__dataclass_fields__"):
        from dataclasses import asdict

        return asdict(value)
    raise TypeError(f"cannot encode {type(value).__name__} as JSON")
