"""Teammates for the sync tests: each has their own fleet file, store and data folder (where
fleetui keeps its clone), and runs the real `fleetui` command in this process."""

from __future__ import annotations

import os
import random
from dataclasses import dataclass
from pathlib import Path

import pytest

from fleetui.cli import main
from fleetui.store import CallRecord, Store

SAMPLE = Path(__file__).resolve().parent.parent / "sample_fleet.toml"


@dataclass
class Result:
    code: int
    out: str
    err: str


@dataclass
class Teammate:
    name: str
    home: Path
    capsys: pytest.CaptureFixture[str]

    @property
    def fleet_file(self) -> Path:
        return self.home / "fleet.toml"

    @property
    def db(self) -> Path:
        return self.home / "fleetui.db"

    def run(self, *args: str) -> Result:
        """`fleetui --config FLEET --db DB ARGS…` as this teammate (their data folder, their git identity)."""
        saved = {k: os.environ.get(k) for k in ("FLEETUI_DATA_DIR", *_IDENTITY)}
        os.environ["FLEETUI_DATA_DIR"] = str(self.home / "data")
        for key in _IDENTITY:
            os.environ[key] = self.name if key.endswith("NAME") else f"{self.name.lower()}@example.com"
        self.capsys.readouterr()
        try:
            code = main(["--config", str(self.fleet_file), "--db", str(self.db), *args])
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
        captured = self.capsys.readouterr()
        return Result(code, captured.out, captured.err)

    def record_calls(self, use_case: str, outcomes: dict[str, tuple[int, float]], seed: int = 1) -> None:
        """Calls of `use_case`: model id → (how many, latency in ms), all successful and priced."""
        rng = random.Random(seed)
        records = [
            CallRecord(model_id=model_id, use_case=use_case, latency_ms=latency * rng.uniform(0.9, 1.1),
                       input_tokens=500, output_tokens=200, cost_usd=0.001, cost_source="fleet", success=True)
            for model_id, (count, latency) in outcomes.items() for _ in range(count)
        ]
        with Store.open(self.db) as store:
            store.insert_calls(records)

    def edit(self, old: str, new: str) -> None:
        text = self.fleet_file.read_text(encoding="utf-8")
        assert old in text, f"{old!r} is not in {self.name}'s fleet file"
        self.fleet_file.write_text(text.replace(old, new, 1), encoding="utf-8")


def lookup_rule(who: str, model: str = "local-llama") -> str:
    """A new rule with a comment, as a teammate would add it at the end of the file."""
    return (f"\n# {who}: lookups are cheap, keep them local\n[[rules]]\nname = \"lookups-local\"\npriority = 55\n"
            f"when = 'use_case == \"quick_lookup\"'\nmodel = \"{model}\"\n")


_IDENTITY = ("GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL")


def teammate(name: str, root: Path, capsys: pytest.CaptureFixture[str]) -> Teammate:
    home = root / name.lower()
    home.mkdir(parents=True)
    (home / "fleet.toml").write_bytes(SAMPLE.read_bytes())
    return Teammate(name, home, capsys)


# Fixtures for the test modules that import them: two teammates in this test's folder.
@pytest.fixture(name="ann")
def ann_fixture(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Teammate:
    return teammate("Ann", tmp_path, capsys)


@pytest.fixture(name="bob")
def bob_fixture(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Teammate:
    return teammate("Bob", tmp_path, capsys)
