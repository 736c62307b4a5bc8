"""Every test runs in its own folders, with no keys and no network beyond 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tests.fakeproviders import FakeProviders
    from tests.keyrings import MemoryKeyring

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
def memory_keyring(monkeypatch: pytest.MonkeyPatch) -> Iterator[MemoryKeyring]:
    """An empty keyring for every test: never the developer's own, whatever this machine has.

    Child processes (CLI tests that run `python -m fleetui`) get keyring's null backend, which
    stores nothing and finds nothing, for the same reason.
    """
    from tests.keyrings import MemoryKeyring, use_backend

    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")
    yield from use_backend(MemoryKeyring())


@pytest.fixture
def no_keyring() -> Iterator[None]:
    """A machine without a keyring service (headless Linux, most CI)."""
    from keyring.backends import fail

    from tests.keyrings import use_backend

    for _ in use_backend(fail.Keyring()):
        yield None


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
def fake_providers() -> Iterator[FakeProviders]:
    from tests.fakeproviders import FakeProviders

    server = FakeProviders(slow_s=1.0).start()
    yield server
    server.stop()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Tests that drive the Textual app take 2–5 s each: they are the `slow` tier with the few
    # long multi-process tests marked one by one, so `pytest -m "not slow"` is the quick loop.
    for item in items:
        if item.path.name.startswith("test_tui"):
            item.add_marker(pytest.mark.slow)
