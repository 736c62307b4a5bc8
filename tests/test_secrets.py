"""Keys: env vars first, then the OS keyring; values never shown; no keyring is not a crash."""

from __future__ import annotations

import json
import logging

import pytest

from fleetui import secrets
from fleetui.cli import main
from tests.conftest import SAMPLE_FLEET
from tests.keyrings import MemoryKeyring, use_backend

SECRET = "sk-" "test-0123456789abcdefghijklmnopqrstuvwxyz"  # fake; split so no scanner mistakes it


def test_env_wins_over_keyring(memory_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch) -> None:
    secrets.set_key("OPENAI_API_KEY", "from-keyring-value-123456")
    assert secrets.resolve_key("OPENAI_API_KEY").source == "keyring"
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    found = secrets.resolve_key("OPENAI_API_KEY")
    assert found.source == "env" and found.value == SECRET
    assert secrets.resolve_key("NOPE") is None


def test_resolved_key_never_prints_its_value(memory_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    found = secrets.resolve_key("OPENAI_API_KEY")
    for shown in (repr(found), str(found), f"{found}"):
        assert SECRET not in shown and "0123456789abcdef" not in shown


def test_no_keyring_falls_back_to_env_and_warns_once(
    no_keyring: None, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="fleetui.secrets")
    assert secrets.resolve_key("ANTHROPIC_API_KEY") is None
    monkeypatch.setenv("ANTHROPIC_API_KEY", SECRET)
    assert secrets.resolve_key("ANTHROPIC_API_KEY").source == "env"
    assert not secrets.keyring_available()
    assert "environment variables only" in secrets.keyring_problem()
    assert len([r for r in caplog.records if "keyring" in r.getMessage()]) == 1
    with pytest.raises(secrets.SecretsError, match="env"):
        secrets.set_key("ANTHROPIC_API_KEY", SECRET)


def test_cli_key_set_list_delete(
    memory_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO(SECRET + "\n"))
    assert main(["key", "set", "OPENAI_API_KEY"]) == 0
    out = capsys.readouterr().out
    assert "stored OPENAI_API_KEY" in out and SECRET not in out
    assert memory_keyring.entries[("fleetui", "OPENAI_API_KEY")] == SECRET

    monkeypatch.setenv("GEMINI_API_KEY", "gm-" + "x" * 30)
    assert main(["--config", str(SAMPLE_FLEET), "key", "list", "--json"]) == 0
    listing = json.loads(capsys.readouterr().out)
    keys = {k["name"]: k for k in listing["keys"]}
    assert keys["OPENAI_API_KEY"]["source"] == "keyring"
    assert keys["GEMINI_API_KEY"]["source"] == "env"
    assert keys["ANTHROPIC_API_KEY"]["resolves"] is False
    assert "provider anthropic" in keys["ANTHROPIC_API_KEY"]["used_by"]

    assert main(["--config", str(SAMPLE_FLEET), "key", "list"]) == 0
    text = capsys.readouterr().out
    assert "MISSING" in text and SECRET not in text

    assert main(["key", "delete", "OPENAI_API_KEY"]) == 0
    assert ("fleetui", "OPENAI_API_KEY") not in memory_keyring.entries
    assert main(["key", "delete", "OPENAI_API_KEY"]) == 0
    assert "was not in the OS keyring" in capsys.readouterr().out


def test_cli_key_set_without_keyring_says_what_to_do(
    no_keyring: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO(SECRET + "\n"))
    assert main(["key", "set", "OPENAI_API_KEY"]) == 2
    err = capsys.readouterr().err
    assert "environment variables only" in err and SECRET not in err


def test_a_keyring_that_fails_when_used_warns_once(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    class Locked(MemoryKeyring):
        def get_password(self, service: str, username: str) -> str | None:
            raise RuntimeError("keyring is locked")

    caplog.set_level(logging.WARNING, logger="fleetui.secrets")
    for _ in use_backend(Locked()):
        for name in ("A_KEY", "B_KEY", "C_KEY"):
            assert secrets.resolve_key(name) is None
        assert len([r for r in caplog.records if "keyring" in r.getMessage()]) == 1
        assert "RuntimeError" in (secrets.keyring_problem() or "")
