"""`fleetui import` of simonw/llm's logs.db, written by the real `llm` and its echo model.

llm-echo answers with JSON saying exactly what the model was given (prompt, system prompt,
attachments), so each imported call's prompt is checked against what the model really saw,
and its tokens, latency and session against what llm itself logged.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from fleetui.cli import main
from fleetui.store import Store
from tests.conftest import SAMPLE_FLEET

LLM_030_DB = Path(__file__).parent / "data" / "llm" / "logs-0.30.db"


def run_llm(home: Path, *args: str) -> None:
    from llm.cli import cli as llm_cli

    result = CliRunner().invoke(llm_cli, list(args), env={"LLM_USER_PATH": str(home)}, catch_exceptions=False)
    assert result.exit_code == 0, result.output


@pytest.fixture
def llm_home(tmp_path: Path) -> Path:
    home = tmp_path / "llm"
    home.mkdir()
    (home / "notes.txt").write_text("frag text\n")
    (home / "system.txt").write_text("sys frag\n")
    (home / "cat.png").write_bytes(b"\x89PNG\r\n\x1a\n0000")
    return home


def make_real_logs(home: Path) -> Path:
    """The same session as tests/data/llm/make_llm030_db.sh, with the installed llm."""
    run_llm(home, "-m", "echo", "hello there")
    run_llm(home, "-m", "echo", "-s", "be terse", "second")
    run_llm(home, "-c", "follow up")
    run_llm(home, "-m", "echo", "-f", str(home / "notes.txt"), "with fragment")
    run_llm(home, "-m", "echo", "-T", "llm_version", '{"prompt": "what version", "tool_calls": [{"name": "llm_version"}]}')
    run_llm(home, "-m", "echo", "-a", str(home / "cat.png"), "--sf", str(home / "system.txt"), "describe")
    return home / "logs.db"


def fleetui(db: Path, *argv: str, fleet: Path | None = None) -> int:
    return main([*(["--config", str(fleet)] if fleet else []), "--db", str(db), *argv])


def stored_calls(db: Path) -> dict[str, dict[str, Any]]:
    with Store.open(db) as store:
        return {r["call_id"]: r for r in store.db.query("SELECT * FROM calls")}


def llm_rows(logs: Path, query: str) -> list[sqlite3.Row]:
    conn = sqlite3.connect(logs)
    conn.row_factory = sqlite3.Row
    try:
        return list(conn.execute(query))
    finally:
        conn.close()


def seen_by_model(call: dict[str, Any]) -> dict[str, Any]:
    """What llm-echo says it was given: its reply is that, as JSON."""
    return json.loads(call["response"])


def check_rows(calls: dict[str, dict[str, Any]], rows: list[sqlite3.Row], session_column: str) -> None:
    """One call per llm row (a turn or a response), with the tokens, duration and conversation llm logged."""
    assert sorted(calls) == sorted(f"llm:{r['id']}" for r in rows)
    for row in rows:
        call = calls[f"llm:{row['id']}"]
        assert (call["input_tokens"], call["output_tokens"]) == (row["input_tokens"], row["output_tokens"])
        assert call["latency_ms"] == row["duration_ms"] and call["session_id"] == row[session_column]


def check_session(calls: dict[str, dict[str, Any]], tool_version: str) -> None:
    """The six prompts of make_real_logs, as both llm schemas record them."""
    by_prompt = {c["prompt"]: c for c in calls.values()}
    plain = by_prompt["hello there"]
    assert seen_by_model(plain)["prompt"] == "hello there" and plain["session_id"]
    system = by_prompt["[system]\nbe terse\n\n[user]\nsecond"]
    assert (seen_by_model(system)["system"], seen_by_model(system)["prompt"]) == ("be terse", "second")
    follow = by_prompt["follow up"]
    assert follow["session_id"] == system["session_id"] != plain["session_id"], "a conversation is one session"
    fragment = by_prompt["frag text\n\nwith fragment"]
    assert seen_by_model(fragment)["prompt"] == fragment["prompt"], "the fragment is expanded where the model saw it"
    tool = next(c for c in calls.values() if c["tool_calls"])
    assert json.loads(tool["tool_calls"]) == [{"name": "llm_version", "arguments": {}}]
    assert tool["finish_reason"] == "tool_calls"
    result = by_prompt[f"[tool result llm_version: {tool_version}]"]
    assert result["session_id"] == tool["session_id"]
    described = next(c for c in calls.values() if c["prompt"].endswith("[attachment image/png cat.png]"))
    seen = seen_by_model(described)
    assert seen["system"].strip() == "sys frag" and seen["attachments"][0]["type"] == "image/png"
    assert described["prompt"].startswith("[system]\nsys frag") and "[user]\ndescribe" in described["prompt"]
    assert all(c["source"] == "llm" and c["request_model"] == "echo" and c["success"] for c in calls.values())
    assert all(c["model_id"] is None and c["cost_usd"] is None for c in calls.values()), "echo is in no fleet or catalog"


def test_current_schema_from_real_llm(llm_home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    logs = make_real_logs(llm_home)
    assert llm_rows(logs, "SELECT count(*) FROM responses")[0][0] == 0, "llm ≥ 0.34 logs turns only"
    db = tmp_path / "fleet.db"
    assert fleetui(db, "import", str(logs)) == 0
    out = capsys.readouterr().out
    assert "(llm): 7 calls read, 7 stored, 0 already there, 0 skipped" in out
    assert "no fleet file: calls keep the model names their logs give" in out
    assert "not in the fleet (calls kept, no fleet model): echo (7)" in out
    calls = stored_calls(db)
    check_rows(calls, llm_rows(logs, "SELECT * FROM turns"), "thread_id")
    check_session(calls, version("llm"))

    assert fleetui(db, "import", str(logs), "--json") == 0
    summary = json.loads(capsys.readouterr().out)
    assert (summary["read"], summary["stored"], summary["already_there"]) == (7, 0, 7)
    assert summary["unmapped_models"] == {"echo": 7} and summary["formats"] == {"llm": 1}


def test_older_responses_schema(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "fleet.db"
    assert fleetui(db, "import", str(LLM_030_DB)) == 0
    assert "(llm): 7 calls read, 7 stored" in capsys.readouterr().out
    calls = stored_calls(db)
    responses = llm_rows(LLM_030_DB, "SELECT * FROM responses")
    check_rows(calls, responses, "conversation_id")
    assert all(calls[f"llm:{r['id']}"]["response"] == r["response"] for r in responses)
    check_session(calls, "0.30")


def test_bad_rows_are_reported_and_the_rest_imported(llm_home: Path, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    logs = make_real_logs(llm_home)
    old = tmp_path / "old.db"
    shutil.copy(LLM_030_DB, old)
    turns = [r["rowid"] for r in llm_rows(logs, "SELECT rowid FROM turns ORDER BY rowid")]
    first_part = llm_rows(logs, "SELECT p.id FROM parts p JOIN turns t ON p.message_hash = t.parent_message_hash "
                                f"WHERE t.rowid = {turns[0]}")[0][0]
    with sqlite3.connect(logs) as conn:
        conn.execute("UPDATE parts SET text = CAST(X'6869ff' AS TEXT) WHERE id = ?", (first_part,))
        conn.execute("UPDATE turns SET input_tokens = 1180591620717411303424.0 WHERE rowid = ?", (turns[1],))
        conn.execute("UPDATE turns SET duration_ms = 9e999 WHERE rowid = ?", (turns[2],))
        conn.execute("UPDATE turns SET datetime_utc = 'yesterday' WHERE rowid = ?", (turns[3],))
    with sqlite3.connect(old) as conn:
        conn.execute("UPDATE responses SET prompt = X'00ff' WHERE rowid = 1")
        conn.execute("UPDATE responses SET datetime_utc = '9999-01-01T00:00:00' WHERE rowid = 2")
    db = tmp_path / "fleet.db"
    assert fleetui(db, "import", str(logs)) == 1
    captured = capsys.readouterr()
    assert f"{logs}: turns row {turns[0]}: part {first_part} text is not valid UTF-8 (byte 0xff at offset 2)" in captured.err
    assert f"{logs}: turns row {turns[1]}: input_tokens 1180591620717411303424 is not a count" in captured.err
    assert f"{logs}: turns row {turns[2]}: latency_ms inf is not a duration" in captured.err
    assert f"{logs}: turns row {turns[3]}: 'yesterday' is not a time (ISO 8601, or seconds since 1970)" in captured.err
    assert "Traceback" not in captured.err
    assert "3 calls read, 3 stored, 0 already there, 4 skipped" in captured.out
    assert fleetui(db, "import", str(old)) == 1
    captured = capsys.readouterr()
    assert f"{old}: responses row 1: prompt is a BLOB (2 bytes), not text" in captured.err
    assert f"{old}: responses row 2: ts 253370764800.0 is not a time" in captured.err
    assert "5 calls read, 5 stored" in captured.out
    assert len(stored_calls(db)) == 8


def test_not_an_llm_database(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE things (id INTEGER)")
    assert fleetui(tmp_path / "fleet.db", "import", str(other), fleet=SAMPLE_FLEET) == 1
    captured = capsys.readouterr()
    assert f"{other}: no `turns` or `responses` table: is this an llm logs.db?; nothing imported from it" in captured.err
    assert "0 calls read" in captured.out


def test_a_database_llm_upgraded_keeps_both_schemas_calls(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """llm ≥ 0.34 migrates an old logs.db in place and logs new calls as turns, beside the old responses."""
    home = tmp_path / "llm"
    home.mkdir()
    shutil.copy(LLM_030_DB, home / "logs.db")
    run_llm(home, "-m", "echo", "after the upgrade")
    logs = home / "logs.db"
    assert llm_rows(logs, "SELECT count(*) FROM responses")[0][0] == 7
    assert llm_rows(logs, "SELECT count(*) FROM turns")[0][0] == 1
    db = tmp_path / "fleet.db"
    assert fleetui(db, "import", str(logs)) == 0
    assert "8 calls read, 8 stored" in capsys.readouterr().out
    assert "after the upgrade" in {c["prompt"] for c in stored_calls(db).values()}


def test_cached_tokens_as_llms_plugins_log_them(tmp_path: Path) -> None:
    """OpenAI's cached tokens are inside input_tokens; Anthropic's cache reads and writes are beside it."""
    logs = tmp_path / "logs.db"
    shutil.copy(LLM_030_DB, logs)
    with sqlite3.connect(logs) as conn:
        conn.execute("""UPDATE responses SET input_tokens = 100, token_details = '{"prompt_tokens_details": {"cached_tokens": 64}}' WHERE rowid = 1""")
        conn.execute("""UPDATE responses SET input_tokens = 10, token_details = '{"cache_read_input_tokens": 500, "cache_creation_input_tokens": 40}' WHERE rowid = 2""")
    db = tmp_path / "fleet.db"
    assert fleetui(db, "import", str(logs)) == 0
    ids = [r["id"] for r in llm_rows(logs, "SELECT id FROM responses ORDER BY rowid")]
    calls = stored_calls(db)
    assert (calls[f"llm:{ids[0]}"]["input_tokens"], calls[f"llm:{ids[0]}"]["cached_input_tokens"]) == (100, 64)
    assert (calls[f"llm:{ids[1]}"]["input_tokens"], calls[f"llm:{ids[1]}"]["cached_input_tokens"]) == (550, 500)


def test_a_damaged_database_is_named_not_a_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    damaged = tmp_path / "logs.db"
    damaged.write_bytes(LLM_030_DB.read_bytes()[: 4096 * 20])  # a copy cut short
    assert fleetui(tmp_path / "fleet.db", "import", str(damaged)) == 1
    captured = capsys.readouterr()
    assert f"{damaged}: not an SQLite database llm wrote (database disk image is malformed)" in captured.err
    assert "Traceback" not in captured.err and "0 calls read" in captured.out
