"""Every test runs in its own folders, with no keys and no network beyond 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tests.fakeproviders import FakeProviders

REPO = Path(__file__).resolve().parent.parent
SAMPLE_FLEET = REPO / "sample_fleet.toml"

_KEY_VARS = (
    "OPENAI_API_KEY",
    "ANTHROPIC_API_KEY",
    "GEMINI_API_KEY",
    "DEEPSEEK_API_KEY",
    "MOONSHOT_API_KEY",
)


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    home = tmp_path / "home"
    monkeypatch.setenv("FLEETUI_CONFIG_DIR", str(home / "config"))
    monkeypatch.setenv("FLEETUI_DATA_DIR", str(home / "data"))
    for name in ("FLEETUI_CONFIG", "FLEETUI_DB", *_KEY_VARS):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    yield home


@pytest.fixture
def sample_text() -> str:
    return SAMPLE_FLEET.read_text(encoding="utf-8")


@pytest.fixture
def fake_providers() -> Iterator["FakeProviders"]:
    from tests.fakeproviders import FakeProviders

    server = FakeProviders(slow_s=1.0).start()
    yield server
    server.stop()
