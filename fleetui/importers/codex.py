"""Codex CLI's session logs: ~/.codex/sessions/YYYY/MM/DD/rollout-*.jsonl (one file per session).

Each line is `{"timestamp", "type", "payload"}`: `session_meta` (the session id and model
provider), `turn_context` (the model of the turns that follow), `response_item` (messages and
tool calls) and `event_msg` (the typed prompt, and a `token_count` after each model response).
One call is one `token_count` event that carries usage: its `last_token_usage` is that response's
usage (input tokens include cached ones, output tokens include reasoning, as OpenAI counts
them); where a version logs only `total_token_usage`, the call is what the totals grew by. Codex
repeats a token_count when nothing new was used; a repeat of the session's running totals is not
a call. The call id is the session id and that running total, so re-importing, or
importing a resumed session's file, stores each call once.

The prompt is the last prompt the user typed; calls that continue after tools ran note which.
Codex records no request duration, so imported calls have no latency.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fleetui.importers import Found, Problem, Row
from fleetui.importers.common import (
    as_dict,
    compose_prompt,
    content_text,
    count,
    json_lines,
    parse_time,
    tool_calls_json,
)
from fleetui.store.records import CallRecord


@dataclass
class _Session:
    session_id: str
    provider: str | None = None
    model: str | None = None
    prompt: str | None = None
    texts: list[str] = field(default_factory=list)
    tools: list[tuple[str, Any]] = field(default_factory=list)
    tool_results: list[str] = field(default_factory=list)
    tool_names: dict[str, str] = field(default_factory=dict)
    last_total: dict[str, Any] | None = None  # the running totals at the last call
    calls: int = 0


def read_codex(path: Path) -> Iterator[Row]:
    session = _Session(session_id=path.stem)
    for item in json_lines(path):
        if isinstance(item, Problem):
            yield item
            continue
        number, line, _ = item
        try:
            if not isinstance(line, dict) or not isinstance(line.get("payload"), dict):
                raise ValueError("not a Codex rollout line (no payload object)")
            call = _take(session, line["type"], line["payload"], line.get("timestamp"))
        except (ValueError, TypeError, KeyError, OverflowError) as exc:
            yield Problem(number, str(exc) if isinstance(exc, ValueError) else f"{type(exc).__name__}: {exc}")
            continue
        if call is not None:
            yield Found(number, call)


def _take(session: _Session, kind: str, payload: dict[str, Any], timestamp: Any) -> CallRecord | None:
    if kind == "session_meta":
        if isinstance(payload.get("id"), str) and payload["id"]:
            session.session_id = payload["id"]
        session.provider = payload.get("model_provider") if isinstance(payload.get("model_provider"), str) else None
    elif kind == "turn_context":
        if isinstance(payload.get("model"), str):
            session.model = payload["model"]
    elif kind == "response_item":
        _response_item(session, payload)
    elif kind == "event_msg":
        if payload.get("type") == "user_message" and isinstance(payload.get("message"), str):
            session.prompt, session.tool_results = payload["message"] or None, []
        elif payload.get("type") == "token_count" and isinstance(payload.get("info"), dict):
            return _token_count(session, payload["info"], timestamp)
    return None


def _response_item(session: _Session, item: dict[str, Any]) -> None:
    kind = item.get("type")
    if kind == "message" and item.get("role") == "assistant":
        if (text := content_text(item.get("content"))) is not None:
            session.texts.append(text)
    elif kind in ("function_call", "custom_tool_call"):
        name = str(item.get("name") or "")
        session.tools.append((name, item.get("arguments", item.get("input"))))
        session.tool_names[str(item.get("call_id"))] = name
    elif kind == "local_shell_call":
        session.tools.append(("shell", item.get("action")))
        session.tool_names[str(item.get("call_id"))] = "shell"
    elif kind in ("function_call_output", "custom_tool_call_output", "local_shell_call_output"):
        session.tool_results.append(session.tool_names.get(str(item.get("call_id")), "tool"))


_FIELDS = ("input_tokens", "cached_input_tokens", "output_tokens")


def _token_count(session: _Session, info: dict[str, Any], timestamp: Any) -> CallRecord | None:
    total = as_dict(info.get("total_token_usage"))
    last = as_dict(info.get("last_token_usage"))
    if total and total == session.last_total:
        return None  # the same totals again: no new response
    if not any(last.get(f) is not None for f in _FIELDS):
        # Some Codex versions log only the running totals: this call is what they grew by.
        if not total:
            raise ValueError("a token_count with neither last_token_usage nor total_token_usage")
        before = session.last_total or {}
        last = {f: (count(total.get(f), f) or 0) - (count(before.get(f), f) or 0) for f in _FIELDS}
    if timestamp is None:
        raise ValueError("missing timestamp")
    session.calls += 1
    running = count(total.get("total_tokens"), "total_token_usage.total_tokens")
    if running is None and total:
        running = (count(total.get("input_tokens"), "input_tokens") or 0) + (count(total.get("output_tokens"), "output_tokens") or 0)
    notes = [f"tool results: {', '.join(dict.fromkeys(session.tool_results))}"] if session.tool_results else []
    call = CallRecord(
        # The running total identifies a response within its session however often it is logged.
        call_id=f"codex:{session.session_id}:{running if running is not None else f'n{session.calls}'}",
        ts=parse_time(timestamp),
        source="codex",
        provider_name=session.provider,
        request_model=session.model,
        response_model=session.model,
        prompt=compose_prompt(session.prompt, None, notes),
        response="\n".join(session.texts) or None,
        tool_calls=tool_calls_json(session.tools),
        finish_reason="tool_calls" if session.tools else None,
        input_tokens=count(last.get("input_tokens"), "input_tokens"),
        output_tokens=count(last.get("output_tokens"), "output_tokens"),
        cached_input_tokens=count(last.get("cached_input_tokens"), "cached_input_tokens"),
        session_id=session.session_id,
    )
    session.last_total = total or session.last_total
    session.texts, session.tools, session.tool_results = [], [], []
    return call
