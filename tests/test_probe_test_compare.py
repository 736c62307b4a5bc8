"""`fleetui probe`, `test` and `compare` against the loopback provider servers."""

from __future__ import annotations

import io
import json
import time
from pathlib import Path

import pytest

from fleetui.cli import main
from fleetui.probes import model_status
from fleetui.store import ProbeRecord, Store
from tests.fakeproviders import CHUNKS, REPLY, FakeProviders


@pytest.fixture
def fleet_file(tmp_path: Path, fake_providers: FakeProviders, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("FAKE_OPENAI_KEY", fake_providers.keys["openai"])
    monkeypatch.setenv("FAKE_ANTHROPIC_KEY", fake_providers.keys["anthropic"])
    monkeypatch.setenv("FAKE_GEMINI_KEY", "wrong-gemini-key")
    path = tmp_path / "fleet.toml"
    path.write_text(f"""
[[providers]]
id = "oa"
kind = "openai-compatible"
base_url = "{fake_providers.url('openai')}"
key = "FAKE_OPENAI_KEY"
[[providers]]
id = "an"
kind = "anthropic"
base_url = "{fake_providers.url('anthropic')}"
key = "FAKE_ANTHROPIC_KEY"
[[providers]]
id = "gm"
kind = "gemini"
base_url = "{fake_providers.url('gemini')}"
key = "FAKE_GEMINI_KEY"
[[providers]]
id = "ol"
kind = "ollama"
base_url = "{fake_providers.url('ollama')}"
[[providers]]
id = "nokey"
kind = "openai-compatible"
base_url = "{fake_providers.url('openai')}"
key = "NOT_SET_ANYWHERE"
[[providers]]
id = "down"
kind = "openai-compatible"
base_url = "http://127.0.0.1:9/v1"

[[models]]
id = "small"
name = "Fake small"
provider = "oa"
model = "fake-small"
price = {{ input = 1.0, output = 2.0 }}
[[models]]
id = "claude"
name = "Fake Claude"
provider = "an"
model = "fake-large"
[[models]]
id = "gem"
name = "Fake Gemini"
provider = "gm"
model = "fake-small"
[[models]]
id = "local"
name = "Fake Ollama"
provider = "ol"
model = "fake-small"
[[models]]
id = "renamed"
name = "Wrong model name"
provider = "oa"
model = "gpt-99"
[[models]]
id = "keyless"
name = "No key"
provider = "nokey"
model = "fake-small"
[[models]]
id = "gone"
name = "Server down"
provider = "down"
model = "fake-small"
[[models]]
id = "busy"
name = "Rate limited"
provider = "oa"
model = "fault-429"
[[models]]
id = "off"
name = "Disabled"
provider = "oa"
model = "fake-small"
enabled = false

[probes]
timeout_s = 3
""")
    return path


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, object]:
    code = main(list(argv))
    return code, json.loads(capsys.readouterr().out)


def test_probe_all_enabled_models_maps_each_fault(fleet_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "f.db"
    code, rows = run_json(capsys, "--config", str(fleet_file), "--db", str(db), "probe", "--json")
    status = {r["model"]: r["status"] for r in rows}
    assert status == {
        "small": "online", "claude": "online", "local": "online",
        "gem": "auth_failed", "renamed": "misconfigured", "keyless": "misconfigured",
        "gone": "offline",
        "busy": "online",  # listed by the server: a cheap probe cannot see rate limits
    }
    details = {r["model"]: r["detail"] for r in rows}
    assert "fleetui key set NOT_SET_ANYWHERE" in details["keyless"]
    assert "gpt-99" in details["renamed"] and "127.0.0.1:9" in details["gone"]
    with Store.open(db) as store:
        assert {p.model_id for p in store.last_probe_by_model().values()} == set(status)
        assert store.recent_probes("small")[0].latency_ms is not None
    code, rows = run_json(capsys, "--config", str(fleet_file), "--db", str(db), "probe", "busy", "small", "--deep", "--json")
    assert {r["model"]: r["status"] for r in rows} == {"busy": "rate_limited", "small": "online"}


def test_probe_named_models_and_text_output(fleet_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--config", str(fleet_file), "--db", str(tmp_path / "f.db"), "probe", "small", "gone"])
    out = capsys.readouterr().out
    assert code == 1  # something is down
    assert "● small" in out and "online" in out and "○ gone" in out and "offline" in out
    assert main(["--config", str(fleet_file), "probe", "nope"]) == 2
    assert "unknown model 'nope'" in capsys.readouterr().err


def test_status_comes_from_recent_probes_not_only_the_last() -> None:
    ok = ProbeRecord("m", "online")
    down = ProbeRecord("m", "offline")
    assert model_status([ok, ok, ok]) == "online"
    assert model_status([ok, down, ok, down]) == "degraded"
    assert model_status([down, ok, ok]) == "offline"
    assert model_status([]) == "unknown"


def test_test_streams_reply_and_logs_the_call(fleet_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "f.db"
    assert main(["--config", str(fleet_file), "--db", str(db), "test", "small", "say hello", "--max-tokens", "20"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(REPLY)
    assert "small:" in out and "first token" in out and f"in / {len(CHUNKS)} out" in out and "$" in out
    with Store.open(db) as store:
        [row] = list(store.db.query("SELECT * FROM trials"))
        assert store.count_calls() == 0 and store.overall().calls == 0, "a trial is not a call"
    assert row["source"] == "fleetui-test" and row["model_id"] == "small" and row["ok"] == 1 and row["sent"] == 1
    assert row["output_tokens"] == len(CHUNKS) and row["cost_usd"] > 0


def test_test_reads_prompt_from_stdin_and_prints_json(
    fleet_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("hello from a pipe\n"))
    code, result = run_json(capsys, "--config", str(fleet_file), "--db", str(tmp_path / "f.db"), "test", "claude",
                            "--system", "be brief", "--json")
    assert code == 0 and result["text"] == REPLY and result["ttft_ms"] is not None
    assert result["cost_usd"] is None, "the fake model is in no catalog: unpriced, not $0"


def test_test_failure_is_reported_and_logged(fleet_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "f.db"
    assert main(["--config", str(fleet_file), "--db", str(db), "test", "gem", "hi"]) == 1
    assert "failed (auth)" in capsys.readouterr().err
    with Store.open(db) as store:
        [row] = list(store.db.query("SELECT ok, sent, error_type FROM trials"))
    assert row == {"ok": 0, "sent": 1, "error_type": "auth"}


def test_compare_runs_models_side_by_side(fleet_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "f.db"
    code, results = run_json(capsys, "--config", str(fleet_file), "--db", str(db), "compare", "hello", "small", "claude", "local", "--json")
    assert code == 0 and [r["model"] for r in results] == ["small", "claude", "local"]
    assert all(r["text"] == REPLY for r in results)
    assert main(["--config", str(fleet_file), "--db", str(db), "compare", "hello", "small", "gone"]) == 1
    out = capsys.readouterr().out
    assert "small" in out and "gone" in out and "│" in out and "[connection]" in out
    with Store.open(db) as store:
        assert store.count_calls() == 0 and store.db["trials"].count == 5
    assert main(["--config", str(fleet_file), "compare", "hello", "small"]) == 2


def test_probe_watch_repeats_until_interrupted(fleet_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    rounds = []
    real_sleep = time.sleep

    def sleep(seconds: float) -> None:
        if seconds < 1:  # other code's short waits pass through
            return real_sleep(seconds)
        rounds.append(seconds)
        if len(rounds) == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr("time.sleep", sleep)
    db = tmp_path / "w.db"
    assert main(["--config", str(fleet_file), "--db", str(db), "probe", "small", "--watch", "--interval", "7"]) == 0
    assert rounds == [7, 7]
    assert capsys.readouterr().out.count("● small") == 2
    with Store.open(db) as store:
        assert len(store.recent_probes("small")) == 2


def test_a_trial_without_a_key_changes_nothing_of_the_models_record(
        fleet_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A `test` that fails before leaving the machine once took a model from 100% to 75%
    success and halved its p50; now usage, status and costs read the same after it."""
    from fleetui.store import CallRecord

    db = tmp_path / "f.db"
    with Store.open(db) as store:
        store.insert_calls([CallRecord(ts=time.time() - 60, model_id="keyless", input_tokens=100, output_tokens=10,
                                       cost_usd=0.002, success=True, latency_ms=16_000.0) for _ in range(3)])
    base = ["--config", str(fleet_file), "--db", str(db)]
    before = run_json(capsys, *base, "status", "--json")[1]
    usage_before = run_json(capsys, *base, "usage", "--json")[1]
    assert main([*base, "test", "keyless", "hi"]) == 1
    assert "misconfigured" in capsys.readouterr().err
    after = run_json(capsys, *base, "status", "--json")[1]
    assert [m for m in after["models"] if m["id"] == "keyless"] == [m for m in before["models"] if m["id"] == "keyless"]
    assert run_json(capsys, *base, "usage", "--json")[1]["rows"] == usage_before["rows"]
    with Store.open(db) as store:
        [trial] = list(store.db.query("SELECT model_id, ok, sent, error_type, cost_usd FROM trials"))
    assert trial == {"model_id": "keyless", "ok": 0, "sent": 0, "error_type": "misconfigured", "cost_usd": None}
