"""`fleetui import` and `fleetui export calls`: other tools' logs in, our log out, idempotently."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from fleetui.cli import main
from fleetui.privacy import prompt_hash
from fleetui.store import CallRecord, Store
from tests.conftest import SAMPLE_FLEET


def cli(*argv: str, db: Path) -> int:
    return main(["--config", str(SAMPLE_FLEET), "--db", str(db), *argv])


def test_jsonl_import_reports_bad_lines_and_is_idempotent(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = tmp_path / "calls.jsonl"
    log.write_text("\n".join([
        json.dumps({"ts": "2026-11-20T10:00:00Z", "request_model": "gpt-4o-mini", "server_address": "https://api.openai.com",
                    "prompt": "what is GDPR?", "input_tokens": 1000, "output_tokens": 200, "latency_ms": 900}),
        json.dumps({"ts": 1763640000, "model_id": "claude-haiku", "input_tokens": 10, "output_tokens": 5, "success": False,
                    "error_type": "timeout"}),
        "{broken",
        json.dumps({"ts": 1763640000, "request_model": "x", "tokens": 3}),
        json.dumps({"request_model": "x"}),
        json.dumps({"ts": 1763640000, "request_model": "x", "input_tokens": -4}),
        "",
    ]))
    db = tmp_path / "s.db"
    assert cli("import", str(log), db=db) == 1
    captured = capsys.readouterr()
    assert f"{log}:3: not JSON" in captured.err
    assert f"{log}:4: unknown key(s) tokens" in captured.err
    assert f"{log}:5: missing 'ts'" in captured.err
    assert f"{log}:6: input_tokens must be a whole number" in captured.err
    assert "2 calls read, 2 stored, 0 already there, 4 skipped" in captured.out
    with Store.open(db) as store:
        got = {r["request_model"] or r["model_id"]: r for r in store.db.query("SELECT * FROM calls")}
    assert got["gpt-4o-mini"]["cost_usd"] == pytest.approx(1000 * 0.15e-6 + 200 * 0.6e-6)  # priced on import
    assert got["claude-haiku"]["success"] == 0 and got["gpt-4o-mini"]["source"] == "import"
    assert cli("import", str(log), "--json", db=db) == 1
    summary = json.loads(capsys.readouterr().out)
    assert (summary["stored"], summary["already_there"]) == (0, 2)


def test_llm_logs_db(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    logs = tmp_path / "logs.db"
    conn = sqlite3.connect(logs)
    conn.execute("""CREATE TABLE responses (id TEXT PRIMARY KEY, model TEXT, prompt TEXT, system TEXT, prompt_json TEXT,
        options_json TEXT, response TEXT, response_json TEXT, conversation_id TEXT, duration_ms INTEGER,
        datetime_utc TEXT, input_tokens INTEGER, output_tokens INTEGER, token_details TEXT)""")
    conn.executemany("INSERT INTO responses (id, model, prompt, response, conversation_id, duration_ms, datetime_utc, "
                     "input_tokens, output_tokens) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", [
        ("01j1", "gpt-4o-mini", "ten names for a cat", "Whiskers…", "c1", 1234, "2026-11-01T12:00:00.123456", 8, 40),
        ("01j2", "claude-3-haiku-20240307", "hello", "Hi!", "c1", 300, "2026-11-01T12:01:00", 2, 3),
    ])
    conn.commit()
    conn.close()
    db = tmp_path / "s.db"
    assert cli("import", str(logs), db=db) == 0
    assert "(llm): 2 calls read, 2 stored" in capsys.readouterr().out
    with Store.open(db) as store:
        rows = list(store.db.query("SELECT * FROM calls ORDER BY ts"))
    assert [r["call_id"] for r in rows] == ["llm:01j1", "llm:01j2"]
    assert rows[0]["latency_ms"] == 1234 and rows[0]["session_id"] == "c1" and rows[0]["source"] == "llm"
    # llm names no host: the provider model name maps it, as only one fleet model has that name.
    assert rows[1]["model_id"] == "claude-haiku" and rows[1]["cost_usd"] == pytest.approx(2 * 0.25e-6 + 3 * 1.25e-6)


def test_export_then_import_round_trips(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "a.db"
    with Store.open(source) as store:
        store.insert_calls([
            CallRecord(ts=1763600000.5, model_id="gpt-4", prompt="hi", prompt_hash=prompt_hash("hi"), prompt_chars=2,
                       input_tokens=3, output_tokens=4, cost_usd=0.1, cost_source="provider", tags=["x"], success=True,
                       latency_ms=12.5,
                       source="support-bot"),
            CallRecord(ts=1763700000.0, model_id="claude-haiku", success=False, error_type="timeout"),
        ])
    out = tmp_path / "calls.jsonl"
    assert cli("export", "calls", "-o", str(out), db=source) == 0
    assert "exported 2 calls" in capsys.readouterr().out
    target = tmp_path / "b.db"
    assert cli("import", str(out), db=target) == 0
    capsys.readouterr()
    with Store.open(source) as a, Store.open(target) as b:
        assert [vars_of(c) for c in a.iter_calls()] == [vars_of(c) for c in b.iter_calls()]
    assert cli("export", "calls", "--since", "2025-11-21", db=source) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1 and json.loads(lines[0])["model_id"] == "claude-haiku"
    assert cli("export", "calls", "--since", "last tuesday", db=source) == 2
    assert "use a span like 7d" in capsys.readouterr().err


def vars_of(call: CallRecord) -> dict[str, object]:
    return {name: getattr(call, name) for name in call.__dataclass_fields__}


def test_jsonl_values_no_store_can_hold_are_reported_and_the_rest_stored(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = {"ts": 1763640000, "request_model": "gpt-4o-mini", "input_tokens": 10, "output_tokens": 5}
    bad = [{"ts": float("nan")}, {"ts": float("inf")}, {"ts": 1e20}, {"input_tokens": float("inf")},
           {"output_tokens": 2**70}, {"cost_usd": float("nan")}, {"cost_usd": -1.5}, {"latency_ms": float("inf")},
           {"feedback_score": 7}, {"prompt": "\ud800 hi"}, {"cost_usd": 0.1, "cost_source": "guess"}]
    lines = [json.dumps(good)] + [json.dumps({**good, **change}) for change in bad] + [json.dumps({**good, "ts": 1763640001})]
    log = tmp_path / "calls.jsonl"
    log.write_text("\n".join(lines) + "\n")
    db = tmp_path / "s.db"
    assert cli("import", str(log), db=db) == 1
    err = capsys.readouterr()
    expected = ["ts nan is not a time", "ts inf is not a time", "ts 1e+20 is not a time",
                "input_tokens must be a whole number ≥ 0, not inf", "output_tokens 1180591620717411303424 is not a count",
                "cost_usd nan is not a cost", "cost_usd -1.5 is not a cost", "latency_ms inf is not a duration",
                "feedback_score 7.0 is outside 0 … 1", "prompt has a lone surrogate '\\ud800' at character 1",
                "cost_source 'guess' is not provider, fleet, catalog or catalog@VERSION"]
    for number, message in enumerate(expected, 2):
        assert f"{log}:{number}: {message}" in err.err
    assert "Traceback" not in err.err
    assert "2 calls read, 2 stored, 0 already there, 11 skipped" in err.out
    with Store.open(db) as store:
        assert store.db.execute("SELECT count(*) FROM calls").fetchone()[0] == 2


def test_import_needs_no_fleet_file_and_says_what_it_could_not_map(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = tmp_path / "calls.jsonl"
    log.write_text(json.dumps({"ts": 1763640000, "request_model": "my-local-llama", "input_tokens": 3}) + "\n")
    assert main(["--db", str(tmp_path / "s.db"), "import", str(log)]) == 0
    out = capsys.readouterr().out
    assert "1 call read, 1 stored" in out and "no fleet file" in out
    assert "not in the fleet (calls kept, no fleet model): my-local-llama (1)" in out
    assert "  import: 1 call, 3 input and 0 output tokens, unpriced" in out


def test_import_of_what_is_not_there(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli("import", str(tmp_path / "nope.jsonl"), db=tmp_path / "s.db") == 2
    assert "nope.jsonl: no such file or folder" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert cli("import", str(tmp_path / "empty"), db=tmp_path / "s.db") == 2
    assert "no log files (.jsonl, .json, .csv, .db) in this folder" in capsys.readouterr().err


TWO_LLAMAS = """
[[providers]]
id = "laptop"
kind = "ollama"
base_url = "http://localhost:11434"

[[providers]]
id = "gpu-box"
kind = "openai-compatible"
base_url = "http://gpu-box:8000/v1"

[[models]]
id = "llama-laptop"
name = "Llama on the laptop"
provider = "laptop"
model = "llama3.1:8b"

[[models]]
id = "llama-gpu"
name = "Llama on the GPU box"
provider = "gpu-box"
model = "llama3.1:8b"

[[models]]
id = "haiku"
name = "Haiku"
provider = "laptop"
model = "claude-3-haiku-20240307"
"""


def test_imported_calls_map_to_fleet_models_only_when_unambiguous(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fleet = tmp_path / "fleet.toml"
    fleet.write_text(TWO_LLAMAS)
    lines = [{"ts": 1763640000 + n, **fields} for n, fields in enumerate([
        {"request_model": "llama3.1:8b", "server_address": "http://gpu-box:8000/v1"},  # the endpoint says which
        {"request_model": "llama3.1:8b"},  # two fleet models have this name: not guessed
        {"request_model": "anthropic/claude-3-haiku-20240307"},  # LiteLLM's provider prefix
        {"request_model": "llama-laptop"},  # a fleet id
    ])]
    log = tmp_path / "calls.jsonl"
    log.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    db = tmp_path / "s.db"
    assert main(["--config", str(fleet), "--db", str(db), "import", str(log)]) == 0
    assert "not in the fleet (calls kept, no fleet model): llama3.1:8b (1)" in capsys.readouterr().out
    with Store.open(db) as store:
        mapped = [r["model_id"] for r in store.db.query("SELECT model_id FROM calls ORDER BY ts")]
    assert mapped == ["llama-gpu", None, "haiku", "llama-laptop"]
