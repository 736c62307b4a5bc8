"""LiteLLM's logs: spend-log rows (LiteLLM_SpendLogs) and StandardLoggingPayload JSONL.

Spend-log rows are what `get_logging_payload()` makes and the proxy stores: exported as a JSON
list (the /spend/logs endpoint), JSONL, or CSV (a database export). LiteLLM keeps `messages` as
"{}" there; with `store_prompts_in_spend_logs` on, the request is in `proxy_server_request`.
StandardLoggingPayload lines are what LiteLLM's bucket and file loggers (S3, GCS, …) write.

What maps: the request's model (the proxy's model group) and the model that answered; tokens;
latency (endTime − startTime) and, for streams, time to first token (completionStartTime −
startTime); the end user (`end_user`, the request's `user`, not the key's owner); the session;
tags; the prompt (system prompt and last user message) and the reply with its tool calls; the
outcome. LiteLLM's own cost (`spend`, `response_cost`) is kept as reported by the proxy
(cost_source "provider"), except where LiteLLM says it could not price the call: then the call
is unpriced here too and fleetui prices it like any other.

The `api_key` column holds LiteLLM's hash of a virtual key; it is never imported.
"""

from __future__ import annotations

import csv as csvlib
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from fleetui.importers import Found, Problem, Row
from fleetui.importers.common import (
    FINISH,
    as_dict,
    chat_prompt,
    compose_prompt,
    content_text,
    count,
    json_lines,
    number,
    parse_time,
    tool_calls_json,
)
from fleetui.store.records import CallRecord

_ROW_ERRORS = (ValueError, KeyError, TypeError, OverflowError)


# -- spend logs --------------------------------------------------------------------------------

def read_spend_logs(path: Path, *, csv: bool) -> Iterator[Row]:
    if csv:
        yield from _csv_rows(path)
        return
    with open(path, "rb") as handle:
        first = handle.read(256).lstrip()[:1]
    if first == b"[":
        yield from _json_list(path)
        return
    for item in json_lines(path):
        if isinstance(item, Problem):
            yield item
        else:
            yield _row(item[0], item[1], spend_log_call, "line")


def _csv_rows(path: Path) -> Iterator[Row]:
    csvlib.field_size_limit(1 << 30)  # prompts and replies can be long
    with open(path, newline="", encoding="utf-8", errors="surrogateescape") as handle:
        reader = csvlib.DictReader(handle)
        ended = 1  # the header's line; a row may span lines (a reply with newlines)
        try:
            for row in reader:
                yield _row(ended + 1, row, spend_log_call, "line")
                ended = reader.line_num
        except csvlib.Error as exc:
            yield Problem(reader.line_num, f"not CSV ({exc}); the rest of the file is not read")


def _json_list(path: Path) -> Iterator[Row]:
    try:
        rows = json.loads(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError as exc:
        yield Problem(1, f"not UTF-8 (byte at offset {exc.start}); nothing imported")
        return
    except json.JSONDecodeError as exc:
        yield Problem(exc.lineno, f"not JSON ({exc.msg} at column {exc.colno}); nothing imported")
        return
    if not isinstance(rows, list):
        yield Problem(1, "expected a JSON list of spend-log rows")
        return
    for index, row in enumerate(rows, 1):
        yield _row(index, row, spend_log_call, "entry")


def _row(line: int, row: Any, make: Any, unit: str) -> Row:
    try:
        if not isinstance(row, dict):
            raise ValueError("not a JSON object")
        return Found(line, make(row), unit)
    except _ROW_ERRORS as exc:
        return Problem(line, str(exc) if isinstance(exc, ValueError) else f"{type(exc).__name__}: {exc}", unit)


def spend_log_call(row: dict[str, Any]) -> CallRecord:
    request_id = _s(row.get("request_id"))
    if not request_id:
        raise ValueError("missing request_id")
    if not row.get("startTime"):
        raise ValueError("missing startTime")
    start = parse_time(row["startTime"])
    end = parse_time(row["endTime"]) if row.get("endTime") else None
    first = parse_time(row["completionStartTime"]) if row.get("completionStartTime") else None
    request = _json(row.get("proxy_server_request"))
    request = as_dict(request)
    failed = (_s(row.get("status")) or "success") == "failure"
    metadata = _metadata(row.get("metadata"), failed)
    messages = _json(row.get("messages"))
    reply = _json(row.get("response"))
    additional = metadata.get("additional_usage_values")
    return _record(
        call_id=f"litellm:{request_id}", start=start, end=end, first=first, streamed=request.get("stream") is True,
        failed=failed, cost=number(row.get("spend"), "spend"), provider=_s(row.get("custom_llm_provider")),
        request_model=_s(request.get("model")) or _s(row.get("model_group")) or _s(row.get("model")),
        model=_s(row.get("model")), server=_s(row.get("api_base")),
        prompt=_prompt(messages) or _request_prompt(request), reply=reply,
        input_tokens=count(row.get("prompt_tokens"), "prompt_tokens"),
        output_tokens=count(row.get("completion_tokens"), "completion_tokens"),
        cached=_cached(as_dict(additional)),
        user=_s(row.get("end_user")), session=_s(row.get("session_id")), tags=row.get("request_tags"),
        error=metadata.get("error_information"), parameters=request,
    )


# -- StandardLoggingPayload JSONL ----------------------------------------------------------------

def read_standard_payloads(path: Path) -> Iterator[Row]:
    for item in json_lines(path):
        if isinstance(item, Problem):
            yield item
        else:
            yield _row(item[0], item[1], payload_call, "line")


def payload_call(payload: dict[str, Any]) -> CallRecord:
    call_id = _s(payload.get("id")) or _s(payload.get("litellm_call_id"))
    if not call_id:
        raise ValueError("missing id")
    if payload.get("startTime") is None:
        raise ValueError("missing startTime")
    start = parse_time(payload["startTime"])
    end = parse_time(payload["endTime"]) if payload.get("endTime") is not None else None
    first = parse_time(payload["completionStartTime"]) if payload.get("completionStartTime") is not None else None
    failed = payload.get("status") == "failure"
    # LiteLLM logs 0.0 when it could not price a call, and says why in the debug info.
    cost = None if payload.get("response_cost_failure_debug_info") else number(payload.get("response_cost"), "response_cost")
    metadata = as_dict(payload.get("metadata"))
    hidden = as_dict(payload.get("hidden_params"))
    parameters = as_dict(payload.get("model_parameters"))
    usage = as_dict(metadata.get("usage_object"))
    return _record(
        call_id=f"litellm:{call_id}",  # the spend log's request_id: the two logs of one call meet
        start=start, end=end, first=first, streamed=payload.get("stream") is True, failed=failed, cost=cost,
        provider=_s(payload.get("custom_llm_provider")),
        request_model=_s(payload.get("model_group")) or _s(payload.get("model")), model=_s(payload.get("model")),
        server=_s(payload.get("api_base")) or _s(hidden.get("api_base")),
        prompt=_prompt(payload.get("messages")), reply=payload.get("response"),
        input_tokens=count(payload.get("prompt_tokens"), "prompt_tokens"),
        output_tokens=count(payload.get("completion_tokens"), "completion_tokens"), cached=_cached(usage),
        user=_s(payload.get("end_user")) or _s(metadata.get("user_api_key_end_user_id")),
        session=_s(payload.get("session_id")) or _s(payload.get("trace_id")), tags=payload.get("request_tags"),
        error=payload.get("error_information"), parameters=parameters,
    )


def _record(*, call_id: str, start: float, end: float | None, first: float | None, streamed: bool, failed: bool,
            cost: float | None, provider: str | None, request_model: str | None, model: str | None,
            server: str | None, prompt: str | None, reply: Any, input_tokens: int | None,
            output_tokens: int | None, cached: int | None, user: str | None, session: str | None, tags: Any,
            error: Any, parameters: dict[str, Any]) -> CallRecord:
    """One call from what either log says; a failed call's zero tokens are unknown, not zero."""
    error = error if isinstance(error, dict) and failed else {}
    return CallRecord(
        call_id=call_id,
        ts=start,
        source="litellm",
        provider_name=provider,
        request_model=request_model,
        response_model=model,
        server_address=server,
        prompt=prompt,
        response=_reply_text(reply),
        tool_calls=_reply_tools(reply),
        finish_reason=_finish(reply),
        input_tokens=None if failed and not input_tokens else input_tokens,
        output_tokens=None if failed and not output_tokens else output_tokens,
        cached_input_tokens=cached,
        latency_ms=(end - start) * 1000 if end is not None else None,
        ttft_ms=_ttft(start, first, end, streamed),
        streamed=streamed,
        cost_usd=cost,
        cost_source="provider" if cost is not None else None,
        user_id=user,
        session_id=session,
        tags=_tags(tags),
        success=not failed,
        error_type=_s(error.get("error_class")),
        status_code=_status(error.get("error_code")),
        request_temperature=number(parameters.get("temperature"), "temperature"),
        request_max_tokens=count(parameters.get("max_tokens") or parameters.get("max_completion_tokens"), "max_tokens"),
    )


# -- fields ------------------------------------------------------------------------------------

def _s(value: Any) -> str | None:
    """A string field; LiteLLM writes "" (and CSV exports write "") for absent."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValueError(f"expected a string, not {value!r}")
    return value


def _json(value: Any) -> Any:
    """LiteLLM keeps nested values as JSON text in spend logs (and as values in payloads)."""
    if isinstance(value, str):
        if not value.strip():
            return None
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def _metadata(raw: Any, failed: bool) -> dict[str, Any]:
    """The spend log's metadata, parsed only when it can hold what maps (it is ~10 kB a row)."""
    if isinstance(raw, str) and not failed and '"cache_read_input_tokens"' not in raw and '"cached_tokens"' not in raw:
        return {}  # nothing but what fleetui does not keep (LiteLLM's price map, key details)
    parsed = _json(raw)
    return as_dict(parsed)


def _prompt(messages: Any) -> str | None:
    messages = _json(messages)
    if isinstance(messages, list):
        return chat_prompt(messages)
    if isinstance(messages, str):
        return messages or None
    return None  # LiteLLM's "{}": not kept


def _request_prompt(request: dict[str, Any]) -> str | None:
    """The prompt from the request the proxy received: chat messages, a Responses `input`, or a `prompt`."""
    body = as_dict(request.get("body"), request)
    if isinstance(body.get("messages"), list):
        return chat_prompt(body["messages"])
    given = body.get("input")
    if isinstance(given, list):
        return chat_prompt([{"role": m.get("role", "user"), "content": m.get("content")}
                            for m in given if isinstance(m, dict) and "content" in m])
    if isinstance(given, str):
        return compose_prompt(given, body.get("instructions") if isinstance(body.get("instructions"), str) else None)
    prompt = body.get("prompt")
    return prompt if isinstance(prompt, str) and prompt else None


def _message(reply: Any) -> dict[str, Any]:
    reply = _json(reply)
    if isinstance(reply, dict):
        choices = reply.get("choices")
        if isinstance(choices, list) and choices and isinstance(choices[0], dict):
            message = choices[0].get("message")
            return {"finish_reason": choices[0].get("finish_reason"), **(as_dict(message))}
    return {}


def _reply_text(reply: Any) -> str | None:
    parsed = _json(reply)
    if isinstance(parsed, dict) and isinstance(parsed.get("output"), list):  # a Responses API reply
        texts = [c.get("text", "") for item in parsed["output"] if isinstance(item, dict)
                 for c in item.get("content") or [] if isinstance(c, dict) and c.get("type") == "output_text"]
        return "".join(texts) or None
    if isinstance(parsed, str):
        return parsed or None
    return content_text(_message(parsed).get("content"))


def _reply_tools(reply: Any) -> str | None:
    calls = _message(reply).get("tool_calls")
    if not isinstance(calls, list):
        return None
    found: Iterable[tuple[str, Any]] = (
        (str(c["function"].get("name") or ""), c["function"].get("arguments"))
        for c in calls if isinstance(c, dict) and isinstance(c.get("function"), dict)
    )
    return tool_calls_json(found)


def _finish(reply: Any) -> str | None:
    message = _message(reply)
    if isinstance(message.get("tool_calls"), list) and message["tool_calls"]:
        return "tool_calls"  # LiteLLM's mock and some providers say "stop" beside tool calls
    raw = message.get("finish_reason")
    return FINISH.get(raw, raw) if isinstance(raw, str) else None


def _ttft(start: float, first: float | None, end: float | None, streamed: bool) -> float | None:
    """Time to first token: LiteLLM sets completionStartTime to endTime for a reply that was not streamed."""
    if first is None or first < start or (not streamed and (end is None or first >= end)):
        return None
    return (first - start) * 1000


def _cached(usage: dict[str, Any]) -> int | None:
    details = usage.get("prompt_tokens_details")
    value = details.get("cached_tokens") if isinstance(details, dict) else None
    return count(value if value is not None else usage.get("cache_read_input_tokens"), "cached tokens")


def _tags(value: Any) -> list[str]:
    value = _json(value)
    if value is None:
        return []
    if isinstance(value, str):
        return [t for t in value.split(",") if t]
    if isinstance(value, list) and all(isinstance(t, str) for t in value):
        return list(value)
    raise ValueError(f"request_tags {value!r} is not a list of strings")


def _status(code: Any) -> int | None:
    text = str(code) if code is not None else ""
    return int(text) if text.isdigit() and 100 <= int(text) <= 599 else None
