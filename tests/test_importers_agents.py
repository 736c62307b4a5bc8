"""`fleetui import` of coding agents' own session logs: Claude Code and Codex CLI, in one store.

The fixture sessions (tests/data/agents, see its README) follow the documented line formats,
including the quirks that make naive counting wrong: Claude Code writes a reply once per
content block, each line repeating the message id and usage; Codex repeats a token_count when
nothing new was used.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from fleetui.cli import main
from fleetui.store import Store

DATA = Path(__file__).parent / "data" / "agents"
CLAUDE = DATA / "claude-code-session.jsonl"
CODEX = DATA / "codex-rollout.jsonl"


def lines_of(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture
def agent_logs(tmp_path: Path) -> Path:
    """An agent user's home: ~/.claude/projects/<project>/<session>.jsonl and ~/.codex/sessions/Y/M/D/rollout-….jsonl."""
    home = tmp_path / "agents"
    claude = home / ".claude" / "projects" / "-home-dev-shop"
    codex = home / ".codex" / "sessions" / "2026" / "11" / "21"
    claude.mkdir(parents=True)
    codex.mkdir(parents=True)
    shutil.copy(CLAUDE, claude / "4f35e220-c435-4cf7-b9b9-f40426042847.jsonl")
    # Claude Code's index of a project's sessions: not a log, passed over.
    (claude / "sessions-index.json").write_text(json.dumps({"version": 1, "entries": [
        {"sessionId": "4f35e220-c435-4cf7-b9b9-f40426042847", "firstPrompt": "add a config file for the shop"}]}))
    shutil.copy(CODEX, codex / "rollout-2026-11-21T09-00-00-019a2d7a-41c4-78b1-b7cc-a45d62a89cd5.jsonl")
    return home


def stored(db: Path) -> dict[str, dict[str, Any]]:
    with Store.open(db) as store:
        return {r["call_id"]: r for r in store.db.query("SELECT * FROM calls")}


def test_claude_code_and_codex_in_one_view(agent_logs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "s.db"
    assert main(["--db", str(db), "import", str(agent_logs)]) == 0
    out = capsys.readouterr().out
    assert "(2 files: claude-code, codex): 5 calls read, 5 stored, 0 already there, 0 skipped" in out
    calls = stored(db)

    claude_lines = [e for e in lines_of(CLAUDE) if e.get("type") == "assistant"]
    replies = {e["message"]["id"] for e in claude_lines if e["message"]["model"] != "<synthetic>"}
    assert {c["call_id"] for c in calls.values() if c["source"] == "claude-code"} == {f"claude-code:{m}" for m in replies}
    first = calls["claude-code:msg_01A"]
    final_usage = [e["message"]["usage"] for e in claude_lines if e["message"]["id"] == "msg_01A"][-1]
    assert first["output_tokens"] == final_usage["output_tokens"], "the reply's last line has its full usage"
    assert first["input_tokens"] == (final_usage["input_tokens"] + final_usage["cache_read_input_tokens"]
                                     + final_usage["cache_creation_input_tokens"])
    assert first["cached_input_tokens"] == final_usage["cache_read_input_tokens"]
    assert first["response"] == "I'll look at the project first." and first["finish_reason"] == "tool_calls"
    assert json.loads(first["tool_calls"]) == [{"name": "Read", "arguments": {"file_path": "/home/dev/shop/README.md"}}]
    assert first["prompt"] == "add a config file for the shop"
    assert calls["claude-code:msg_01B"]["prompt"] == "add a config file for the shop\n\n[tool results: Read]"
    subagent = calls["claude-code:msg_01C"]
    assert json.loads(subagent["tags"]) == ["subagent"] and subagent["prompt"] is None
    assert {c["session_id"] for c in calls.values() if c["source"] == "claude-code"} == {claude_lines[0]["sessionId"]}

    counts = [e["payload"]["info"] for e in lines_of(CODEX)
              if e["type"] == "event_msg" and e["payload"]["type"] == "token_count" and e["payload"]["info"]]
    codex = sorted((c for c in calls.values() if c["source"] == "codex"), key=lambda c: c["ts"])
    assert len(counts) == 3 and len(codex) == 2, "a repeated token_count is not a call"
    for call, info in zip(codex, counts, strict=False):
        last = info["last_token_usage"]
        assert (call["input_tokens"], call["output_tokens"], call["cached_input_tokens"]) == (
            last["input_tokens"], last["output_tokens"], last["cached_input_tokens"])
        assert call["request_model"] == "gpt-5-codex" and call["provider_name"] == "openai"
    assert json.loads(codex[0]["tool_calls"]) == [{"name": "shell", "arguments": {"command": ["bash", "-lc", "ls tests"]}}]
    assert codex[1]["response"] == "There is one test file: test_shop.py."
    assert codex[1]["prompt"] == "list the tests\n\n[tool results: shell]"

    # One view: what each agent used and cost, side by side, straight from the import.
    assert main(["--db", str(db), "import", str(agent_logs), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert (summary["stored"], summary["already_there"]) == (0, 5)
    by_source = summary["by_source"]
    assert by_source["claude-code"]["calls"] == 3 and by_source["codex"]["calls"] == 2
    assert by_source["codex"]["input_tokens"] == sum(c["input_tokens"] for c in codex)
    assert by_source["claude-code"]["cost_usd"] == pytest.approx(
        sum(c["cost_usd"] or 0 for c in calls.values() if c["source"] == "claude-code"))
    assert summary["unmapped_models"]["gpt-5-codex"] == 2


def test_a_resumed_session_counts_each_reply_once(agent_logs: Path, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """Claude Code copies a resumed session's history into the new session's file."""
    project = agent_logs / ".claude" / "projects" / "-home-dev-shop"
    shutil.copy(CLAUDE, project / "resumed.jsonl")
    db = tmp_path / "s.db"
    assert main(["--db", str(db), "import", str(project)]) == 0
    assert "6 calls read, 3 stored, 3 already there" in capsys.readouterr().out


def test_bad_agent_lines(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    claude = lines_of(CLAUDE)
    broken = json.loads(json.dumps(claude[7]))  # the second reply
    broken["message"]["usage"]["input_tokens"] = float("inf")
    claude[7] = broken
    bad = tmp_path / "claude.jsonl"
    text = "\n".join(json.dumps(e) for e in claude)
    bad.write_bytes(text.encode() + b"\n\xc3\x28\n")
    codex = lines_of(CODEX)
    codex[8]["payload"]["info"]["last_token_usage"]["output_tokens"] = 2**70
    codex[3]["payload"]["message"] = "\udcff"
    bad_codex = tmp_path / "rollout.jsonl"
    bad_codex.write_bytes("\n".join(json.dumps(e) for e in codex).encode())
    db = tmp_path / "s.db"
    assert main(["--db", str(db), "import", str(bad), "--format", "claude-code"]) == 1
    captured = capsys.readouterr()
    assert f"{bad}:8: input_tokens inf is not a whole number" in captured.err
    assert f"{bad}:13: not UTF-8 (byte 0xc3 at column 1)" in captured.err
    assert "2 calls read, 2 stored" in captured.out
    assert main(["--db", str(db), "import", str(bad_codex)]) == 1
    captured = capsys.readouterr()
    assert f"{bad_codex}:9: output_tokens 1180591620717411303424 is not a count" in captured.err
    assert f"{bad_codex}:13: prompt has a lone surrogate '\\udcff' at character 1" in captured.err
    assert "Traceback" not in captured.err


def test_codex_versions_that_log_only_running_totals(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    def count_line(second: int, **total: int) -> str:
        return json.dumps({"timestamp": f"2026-09-23T10:00:{second:02d}Z", "type": "event_msg",
                           "payload": {"type": "token_count", "info": {"total_token_usage": total}}})
    log = tmp_path / "rollout-old.jsonl"
    log.write_text("\n".join([
        json.dumps({"timestamp": "2026-09-23T10:00:00Z", "type": "session_meta", "payload": {"id": "s-old"}}),
        json.dumps({"timestamp": "2026-09-23T10:00:00Z", "type": "turn_context", "payload": {"model": "gpt-5"}}),
        count_line(1, input_tokens=1000, cached_input_tokens=600, output_tokens=20),
        count_line(2, input_tokens=1800, cached_input_tokens=1100, output_tokens=40),
        count_line(3, input_tokens=1800, cached_input_tokens=1100, output_tokens=40),
    ]) + "\n")
    db = tmp_path / "s.db"
    assert main(["--db", str(db), "import", str(log)]) == 0
    assert "(codex): 2 calls read, 2 stored" in capsys.readouterr().out
    got = sorted((c["ts"], c["input_tokens"], c["cached_input_tokens"], c["output_tokens"]) for c in stored(db).values())
    assert [g[1:] for g in got] == [(1000, 600, 20), (800, 500, 20)]
