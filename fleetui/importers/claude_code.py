"""Claude Code's session logs: ~/.claude/projects/<project>/<session>.jsonl (one file per session).

Each line is an event; `assistant` lines carry the API's message with its `usage`. Claude Code
writes one line per content block (thinking, text, tool_use) of a reply, each repeating the
message id and usage, and writes a reply again when a session is resumed: one call is one
message id (its call id, so a repeat in another file is not stored twice), with the blocks of
all its lines and the usage of its last, most complete, line.

The prompt is the last prompt the user typed; calls that continue after tools ran note which
tools' results they were given. Input tokens include cache reads and writes, as fleetui counts
them; cached input tokens are the cache reads. Claude Code records no request duration, so
imported calls have no latency. Lines that are not calls (summaries, hooks, Claude Code's own
`<synthetic>` error messages) are passed over.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fleetui.importers import Found, Problem, Row
from fleetui.importers.common import (
    FINISH,
    compose_prompt,
    content_text,
    count,
    json_lines,
    parse_time,
    tool_calls_json,
)
from fleetui.store.records import CallRecord


@dataclass
class _Reply:
    line: int
    message_id: str
    ts: float
    model: str | None
    session_id: str | None
    sidechain: bool
    prompt: str | None
    tool_results: list[str]
    texts: list[str] = field(default_factory=list)
    tools: list[tuple[str, Any]] = field(default_factory=list)
    usage: dict[str, Any] = field(default_factory=dict)
    stop_reason: str | None = None


def read_claude_code(path: Path) -> Iterator[Row]:
    replies: dict[str, _Reply] = {}
    tool_names: dict[str, str] = {}  # tool_use id -> tool name, to name the results
    # (sidechain, agent id) -> the last typed prompt and the tool results since: a subagent's
    # lines interleave with the main thread's in older logs.
    context: dict[tuple[bool, str | None], tuple[str | None, list[str]]] = {}
    for item in json_lines(path):
        if isinstance(item, Problem):
            yield item
            continue
        number, event, _ = item
        try:
            if not isinstance(event, dict):
                raise ValueError("not a JSON object")
            message = event.get("message")
            thread = (event.get("isSidechain") is True, event.get("agentId") if isinstance(event.get("agentId"), str) else None)
            prompt, results = context.get(thread, (None, []))
            if event.get("type") == "user" and isinstance(message, dict) and not event.get("isMeta"):
                content = message.get("content")
                blocks = content if isinstance(content, list) else []
                used = [tool_names.get(str(b.get("tool_use_id")), "tool") for b in blocks
                        if isinstance(b, dict) and b.get("type") == "tool_result"]
                context[thread] = (prompt, used) if used else (content_text(content), [])
            elif event.get("type") == "assistant" and isinstance(message, dict):
                _add_line(replies, number, event, message, prompt, results, tool_names)
        except (ValueError, TypeError, OverflowError) as exc:
            yield Problem(number, str(exc))
    for reply in replies.values():
        try:
            yield Found(reply.line, _call(reply))
        except (ValueError, TypeError, OverflowError) as exc:
            yield Problem(reply.line, str(exc))


def _add_line(replies: dict[str, _Reply], number: int, event: dict[str, Any], message: dict[str, Any],
              prompt: str | None, results: list[str], tool_names: dict[str, str]) -> None:
    model = message.get("model")
    if model == "<synthetic>" or event.get("isApiErrorMessage"):
        return  # Claude Code's own stand-in for a failed request, not a reply
    message_id = message.get("id") or event.get("uuid")
    if not isinstance(message_id, str) or not message_id:
        raise ValueError("an assistant line without message.id or uuid")
    reply = replies.get(message_id)
    if reply is None:
        if "timestamp" not in event:
            raise ValueError("missing timestamp")
        reply = replies[message_id] = _Reply(
            number, message_id, parse_time(event["timestamp"]), model if isinstance(model, str) else None,
            event.get("sessionId") if isinstance(event.get("sessionId"), str) else None,
            event.get("isSidechain") is True, prompt, list(results),
        )
    content = message.get("content")
    for block in content if isinstance(content, list) else [{"type": "text", "text": content}]:
        if not isinstance(block, dict):
            continue
        if block.get("type") == "text" and isinstance(block.get("text"), str):
            reply.texts.append(block["text"])
        elif block.get("type") == "tool_use":
            name = str(block.get("name") or "")
            reply.tools.append((name, block.get("input", {})))
            tool_names[str(block.get("id"))] = name
    usage = message.get("usage")
    if isinstance(usage, dict) and (not reply.usage or _out(usage) >= _out(reply.usage)):
        reply.usage = usage
    if isinstance(message.get("stop_reason"), str):
        reply.stop_reason = message["stop_reason"]


def _out(usage: dict[str, Any]) -> int:
    value = usage.get("output_tokens")
    return value if isinstance(value, int) else -1


def _call(reply: _Reply) -> CallRecord:
    usage = reply.usage
    base = count(usage.get("input_tokens"), "input_tokens")
    read = count(usage.get("cache_read_input_tokens"), "cache_read_input_tokens")
    written = count(usage.get("cache_creation_input_tokens"), "cache_creation_input_tokens")
    notes = [f"tool results: {', '.join(dict.fromkeys(reply.tool_results))}"] if reply.tool_results else []
    return CallRecord(
        call_id=f"claude-code:{reply.message_id}",
        ts=reply.ts,
        source="claude-code",
        provider_name="anthropic" if (reply.model or "").startswith("claude") else None,
        request_model=reply.model,
        response_model=reply.model,
        prompt=compose_prompt(reply.prompt, None, notes),
        response="".join(reply.texts) or None,
        tool_calls=tool_calls_json(reply.tools),
        finish_reason=FINISH.get(reply.stop_reason or "", reply.stop_reason),
        input_tokens=None if base is None else base + (read or 0) + (written or 0),
        output_tokens=count(usage.get("output_tokens"), "output_tokens"),
        cached_input_tokens=read,
        session_id=reply.session_id,
        tags=["subagent"] if reply.sidechain else [],
    )
