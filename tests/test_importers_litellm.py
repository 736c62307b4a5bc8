"""`fleetui import` of LiteLLM's logs, from files LiteLLM's own code wrote (tests/data/litellm).

The fixtures are four calls through LiteLLM (a proxied chat with system prompt, end user, session
and tags; a stream; a tool call; a rate-limited failure), made by make_fixtures.py. Every
expectation here is read from the fixture rows themselves, so a regenerated set is checked the
same way (test_fixtures_regenerate_with_litellm).
"""

from __future__ import annotations

import csv
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from fleetui.cli import main
from fleetui.importers.common import parse_time
from fleetui.store import Store
from tests.conftest import SAMPLE_FLEET

DATA = Path(__file__).parent / "data" / "litellm"
FILES = ("spend_logs.json", "spend_logs.csv", "standard_logging.jsonl")


def fleetui(db: Path, *argv: str) -> int:
    return main(["--config", str(SAMPLE_FLEET), "--db", str(db), *argv])


def stored(db: Path) -> dict[str, dict[str, Any]]:
    with Store.open(db) as store:
        return {r["call_id"]: r for r in store.db.query("SELECT * FROM calls")}


def spend_rows(folder: Path) -> list[dict[str, Any]]:
    return json.loads((folder / "spend_logs.json").read_text())


def check_against_spend_logs(calls: dict[str, dict[str, Any]], rows: list[dict[str, Any]]) -> None:
    """Each call says what LiteLLM's spend-log row says."""
    assert sorted(calls) == sorted(f"litellm:{r['request_id']}" for r in rows)
    for row in rows:
        call = calls[f"litellm:{row['request_id']}"]
        request = json.loads(row["proxy_server_request"])
        assert row["messages"] == "{}", "LiteLLM keeps the prompt only in the request"
        user_message = [m for m in request["messages"] if m["role"] == "user"][-1]["content"]
        assert call["prompt"].endswith(user_message)
        system = [m["content"] for m in request["messages"] if m["role"] == "system"]
        assert call["prompt"] == (f"[system]\n{system[0]}\n\n[user]\n{user_message}" if system else user_message)
        assert call["request_model"] == request["model"] and call["response_model"] == row["model"]
        assert call["user_id"] == (row["end_user"] or None) and call["user_id"] != row["user"]
        assert call["session_id"] == row["session_id"]
        start, end = parse_time(row["startTime"]), parse_time(row["endTime"])
        assert call["latency_ms"] == pytest.approx((end - start) * 1000)
        assert json.loads(call["tags"] or "[]") == json.loads(row["request_tags"])
        assert call["success"] == (row["status"] == "success")
        if row["status"] == "success":
            assert (call["input_tokens"], call["output_tokens"]) == (row["prompt_tokens"], row["completion_tokens"])
            message = json.loads(row["response"])["choices"][0]["message"]
            assert call["response"] == (message["content"] or None)
        if request.get("stream"):
            first = parse_time(row["completionStartTime"])
            assert call["streamed"] and call["ttft_ms"] == pytest.approx((first - start) * 1000)
            assert 0 < call["ttft_ms"] < call["latency_ms"]
        else:
            assert call["ttft_ms"] is None, "LiteLLM's completionStartTime is endTime when nothing streamed"
        if row["spend"] is not None:
            assert (call["cost_usd"], call["cost_source"]) == (row["spend"], "provider")
    by_outcome = {c["success"]: c for c in calls.values()}
    assert (by_outcome[0]["error_type"], by_outcome[0]["status_code"]) == ("RateLimitError", 429)
    tool = next(c for c in calls.values() if c["tool_calls"])
    assert json.loads(tool["tool_calls"]) == [{"name": "get_weather", "arguments": {"city": "Paris"}}]
    assert tool["finish_reason"] == "tool_calls"


def test_spend_logs_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "s.db"
    assert fleetui(db, "import", str(DATA / "spend_logs.json")) == 0
    assert "(litellm-json): 4 calls read, 4 stored, 0 already there, 0 skipped" in capsys.readouterr().out
    calls = stored(db)
    check_against_spend_logs(calls, spend_rows(DATA))
    unpriced = [r for r in spend_rows(DATA) if r["spend"] is None]
    assert unpriced, "LiteLLM could not price the Claude stream"
    # LiteLLM could not price it; fleetui does, from the catalog, and says it is not LiteLLM's figure.
    assert calls[f"litellm:{unpriced[0]['request_id']}"]["cost_source"] != "provider"
    blob = json.dumps(list(calls.values()))
    assert spend_rows(DATA)[0]["api_key"] not in blob, "LiteLLM's key hash is never imported"


def test_three_exports_of_the_same_calls_store_them_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "s.db"
    assert fleetui(db, "import", str(DATA / "spend_logs.csv")) == 0
    assert "(litellm-csv): 4 calls read, 4 stored" in capsys.readouterr().out
    check_against_spend_logs(stored(db), spend_rows(DATA))
    assert fleetui(db, "import", str(DATA / "standard_logging.jsonl"), "--json") == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["formats"] == {"litellm-payload": 1} and (summary["stored"], summary["already_there"]) == (0, 4)


def test_standard_logging_payload_jsonl(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "s.db"
    assert fleetui(db, "import", str(DATA / "standard_logging.jsonl")) == 0
    assert "(litellm-payload): 4 calls read, 4 stored" in capsys.readouterr().out
    calls = stored(db)
    for line in (DATA / "standard_logging.jsonl").read_text().splitlines():
        payload = json.loads(line)
        call = calls[f"litellm:{payload['id']}"]
        assert call["prompt"].endswith(payload["messages"][-1]["content"])
        assert call["session_id"] == (payload["session_id"] or payload["trace_id"])
        assert call["user_id"] == payload["end_user"]
        assert call["latency_ms"] == pytest.approx((payload["endTime"] - payload["startTime"]) * 1000)
        if payload["stream"]:
            assert call["ttft_ms"] == pytest.approx((payload["completionStartTime"] - payload["startTime"]) * 1000)
        if payload["response_cost_failure_debug_info"]:
            assert call["cost_source"] != "provider", "LiteLLM's 0.0 for a call it could not price is not a cost"
        else:
            assert (call["cost_usd"], call["cost_source"]) == (payload["response_cost"], "provider")


def test_bad_rows_are_reported_by_number(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = spend_rows(DATA)[0]
    lines = [json.dumps(good)]
    for change in ({"spend": float("nan")}, {"spend": -0.5}, {"startTime": 1e20}, {"prompt_tokens": 2**70},
                   {"prompt_tokens": float("inf")}, {"end_user": "\ud800"}, {"endTime": "later"}):
        lines.append(json.dumps({**good, "request_id": f"bad-{len(lines)}", **change}))
    lines.append("{not json")
    lines.append(json.dumps({**good, "request_id": "fine-too"}))
    log = tmp_path / "spend.jsonl"
    log.write_bytes("\n".join(lines).encode("utf-8", "surrogatepass") + b"\n" + b'{"request_id": "\xff"}\n')
    db = tmp_path / "s.db"
    assert fleetui(db, "import", str(log)) == 1
    err = capsys.readouterr()
    assert f"{log}:2: cost_usd nan is not a cost" in err.err
    assert f"{log}:3: cost_usd -0.5 is not a cost" in err.err
    assert f"{log}:4: ts 1e+20 is not a time" in err.err
    assert f"{log}:5: input_tokens 1180591620717411303424 is not a count" in err.err
    assert f"{log}:6: prompt_tokens inf is not a whole number" in err.err
    assert f"{log}:7: user_id has a lone surrogate '\\ud800' at character 1" in err.err
    assert f"{log}:8: 'later' is not a time" in err.err
    assert f"{log}:9: not JSON" in err.err
    assert f"{log}:11: not UTF-8 (byte 0xff at column 17)" in err.err
    assert "Traceback" not in err.err
    assert "2 calls read, 2 stored, 0 already there, 9 skipped" in err.out
    assert sorted(stored(db)) == sorted([f"litellm:{good['request_id']}", "litellm:fine-too"])


def test_csv_with_a_bad_row(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with open(DATA / "spend_logs.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    rows[1]["completion_tokens"] = "Infinity"
    iso_start = rows[2]["startTime"]
    rows[2]["startTime"] = iso_start.replace("+00:00", "+00")  # as psql's \copy writes it
    out = tmp_path / "spend.csv"
    with open(out, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    starts = [i + 1 for i, line in enumerate(out.read_text().splitlines(keepends=False))
              if line.startswith(rows[1]["request_id"])]
    db = tmp_path / "s.db"
    assert fleetui(db, "import", str(out)) == 1
    captured = capsys.readouterr()
    assert f"{out}:{starts[0]}: completion_tokens 'Infinity' is not a whole number" in captured.err
    assert "3 calls read, 3 stored" in captured.out
    kept = stored(db)[f"litellm:{rows[2]['request_id']}"]
    assert kept["ts"] == pytest.approx(parse_time(iso_start))


def litellm_python() -> str | None:
    given = os.environ.get("FLEETUI_LITELLM_PYTHON")
    if given:
        return given
    return sys.executable if importlib.util.find_spec("litellm") else None


@pytest.mark.litellm
@pytest.mark.skipif(litellm_python() is None, reason="litellm is not installed here; set FLEETUI_LITELLM_PYTHON "
                    "to a Python that has `litellm[proxy]` (README: Testing)")
def test_fixtures_regenerate_with_litellm(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """LiteLLM's code, run now, still writes what the committed fixtures hold, and it imports the same."""
    python = litellm_python()
    assert python is not None
    done = subprocess.run([python, str(DATA / "make_fixtures.py"), str(tmp_path / "fresh")],
                          capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    fresh = tmp_path / "fresh"
    for name in FILES:
        db = tmp_path / f"{name}.db"
        assert fleetui(db, "import", str(fresh / name)) == 0
        assert "4 calls read, 4 stored" in capsys.readouterr().out
    db = tmp_path / "spend_logs.json.db"
    check_against_spend_logs(stored(db), spend_rows(fresh))
    kept, made = spend_rows(DATA), spend_rows(fresh)
    assert [sorted(r) for r in kept] == [sorted(r) for r in made], "the spend-log columns changed"
    same = ("model", "model_group", "spend", "prompt_tokens", "completion_tokens", "end_user", "status")
    assert [{k: r[k] for k in same} for r in kept] == [{k: r[k] for k in same} for r in made]
