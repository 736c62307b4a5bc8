"""`fleetui key`: the paths tests/test_secrets.py leaves out.

Covered here: reading a key without echo on a TTY, refusing empty input, model-level key
references in `key list`, the missing-keyring line in text and JSON, and `key delete` with no
keyring. Every test checks that the key's value never reaches stdout or stderr.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from fleetui.cli import main
from tests.conftest import SAMPLE_FLEET
from tests.keyrings import MemoryKeyring

# Fake, and built from two pieces so secret scanners do not flag the test file.
SECRET = "sk-" "cli-test-abcdefghijklmnopqrstuvwxyz0123456789"

# A model with its own key, different from its provider's key, to check that both are listed.
FLEET_WITH_MODEL_KEY = """
[[providers]]
id = "openai"
kind = "openai-compatible"
key = "OPENAI_API_KEY"

[[models]]
id = "mini"
name = "GPT-4o mini"
provider = "openai"
model = "gpt-4o-mini"

[[models]]
id = "mini-team-b"
name = "GPT-4o mini (team B's account)"
provider = "openai"
model = "gpt-4o-mini"
key = "TEAM_B_OPENAI_KEY"
"""


class _Tty(io.StringIO):
    """Stdin that claims to be a terminal, so `key set` prompts instead of reading a pipe."""

    def isatty(self) -> bool:
        return True


def test_set_on_a_terminal_reads_without_echo(
    memory_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    prompts: list[str] = []

    def fake_getpass(prompt: str = "") -> str:
        prompts.append(prompt)
        return SECRET

    monkeypatch.setattr("sys.stdin", _Tty(""))
    monkeypatch.setattr("getpass.getpass", fake_getpass)
    assert main(["key", "set", "OPENAI_API_KEY"]) == 0
    assert prompts and "OPENAI_API_KEY" in prompts[0]
    assert memory_keyring.entries[("fleetui", "OPENAI_API_KEY")] == SECRET
    captured = capsys.readouterr()
    assert SECRET not in captured.out + captured.err


@pytest.mark.parametrize("typed", ["", "\n", "   \n"])
def test_set_refuses_an_empty_key(
    memory_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    typed: str,
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(typed))
    assert main(["key", "set", "OPENAI_API_KEY"]) == 2
    assert memory_keyring.entries == {}
    assert "no key given" in capsys.readouterr().err


def test_list_includes_model_level_keys_and_who_uses_them(
    memory_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    fleet_file = tmp_path / "fleet.toml"
    fleet_file.write_text(FLEET_WITH_MODEL_KEY, encoding="utf-8")
    memory_keyring.entries[("fleetui", "TEAM_B_OPENAI_KEY")] = SECRET
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)

    assert main(["--config", str(fleet_file), "key", "list", "--json"]) == 0
    out = capsys.readouterr().out
    assert SECRET not in out
    listing = json.loads(out)
    assert listing["keyring"] is None  # a working keyring: nothing to warn about
    keys = {k["name"]: k for k in listing["keys"]}
    assert set(keys) == {"OPENAI_API_KEY", "TEAM_B_OPENAI_KEY"}
    assert keys["OPENAI_API_KEY"] == {
        "name": "OPENAI_API_KEY", "resolves": True, "source": "env", "used_by": ["provider openai"],
    }
    assert keys["TEAM_B_OPENAI_KEY"]["source"] == "keyring"
    assert keys["TEAM_B_OPENAI_KEY"]["used_by"] == ["model mini-team-b"]


def test_list_without_keyring_says_so_and_still_sees_env_vars(
    no_keyring: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DEEPSEEK_API_KEY", SECRET)

    assert main(["--config", str(SAMPLE_FLEET), "key", "list", "--json"]) == 0
    out = capsys.readouterr().out
    assert SECRET not in out
    listing = json.loads(out)
    assert "environment variables only" in listing["keyring"]
    keys = {k["name"]: k for k in listing["keys"]}
    # Every provider key of the sample fleet is listed; the local Ollama provider has none.
    assert set(keys) == {
        "ANTHROPIC_API_KEY", "OPENAI_API_KEY", "DEEPSEEK_API_KEY", "GEMINI_API_KEY", "MOONSHOT_API_KEY",
    }
    assert keys["DEEPSEEK_API_KEY"]["resolves"] and keys["DEEPSEEK_API_KEY"]["source"] == "env"
    assert not keys["OPENAI_API_KEY"]["resolves"] and keys["OPENAI_API_KEY"]["source"] is None

    assert main(["--config", str(SAMPLE_FLEET), "key", "list"]) == 0
    text = capsys.readouterr().out
    assert "environment variables only" in text
    assert "MISSING" in text and "found (env)" in text and SECRET not in text


def test_delete_without_keyring_is_a_clean_error(
    no_keyring: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["key", "delete", "OPENAI_API_KEY"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("fleetui: ") and "Traceback" not in err


def test_set_without_keyring_says_so_before_asking(
    no_keyring: None, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    asked: list[str] = []
    monkeypatch.setattr("sys.stdin", _Tty(""))
    monkeypatch.setattr("getpass.getpass", lambda prompt="": asked.append(prompt) or SECRET)
    assert main(["key", "set", "OPENAI_API_KEY"]) == 2
    err = capsys.readouterr().err
    assert not asked, "the secret was asked for although it could not be stored"
    assert err.startswith("fleetui: cannot store OPENAI_API_KEY: ") and SECRET not in err
