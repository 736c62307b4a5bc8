"""LiteLLM spend logs (LiteLLM_SpendLogs), exported as JSON (a list or JSONL) or CSV.

The `api_key` column holds LiteLLM's hash of a virtual key; it is never imported.
"""

from __future__ import annotations

import csv as csvlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from fleetui.importers import Problem, Row
from fleetui.importers.jsonl import parse_time
from fleetui.store.records import CallRecord


def _number(value: Any) -> float | None:
    if value in (None, ""):
        return None
    return float(value)


def _messages_prompt(messages: Any) -> str | None:
    if isinstance(messages, str):
        try:
            messages = json.loads(messages)
        except json.JSONDecodeError:
            return messages or None
    if isinstance(messages, list):
        for message in reversed(messages):
            if isinstance(message, dict) and message.get("role") == "user":
                content = message.get("content")
                return content if isinstance(content, str) else json.dumps(content)
    return None


def _response_text(response: Any) -> str | None:
    if isinstance(response, str):
        try:
            response = json.loads(response)
        except json.JSONDecodeError:
            return response or None
    if isinstance(response, dict):
        choices = response.get("choices") or []
        if choices and isinstance(choices[0], dict):
            return (choices[0].get("message") or {}).get("content")
    return None


def call_from(row: dict[str, Any]) -> CallRecord:
    request_id = row.get("request_id")
    if not request_id:
        raise ValueError("missing request_id")
    start = parse_time(row["startTime"])
    end = parse_time(row["endTime"]) if row.get("endTime") else None
    tags = row.get("request_tags")
    if isinstance(tags, str):
        tags = json.loads(tags) if tags.strip().startswith("[") else [t for t in tags.split(",") if t]
    prompt_tokens = _number(row.get("prompt_tokens"))
    completion_tokens = _number(row.get("completion_tokens"))
    return CallRecord(
        call_id=f"litellm:{request_id}",
        ts=start,
        source="litellm",
        provider_name=row.get("custom_llm_provider") or None,
        request_model=row.get("model_group") or row.get("model") or None,
        response_model=row.get("model") or None,
        server_address=row.get("api_base") or None,
        prompt=_messages_prompt(row.get("messages")),
        response=_response_text(row.get("response")),
        input_tokens=int(prompt_tokens) if prompt_tokens is not None else None,
        output_tokens=int(completion_tokens) if completion_tokens is not None else None,
        latency_ms=(end - start) * 1000 if end is not None else None,
        cost_usd=_number(row.get("spend")),
        user_id=row.get("user") or None,
        tags=list(tags or []),
        success=(row.get("status") or "success") == "success",
    )


def read_litellm(path: Path, *, csv: bool) -> Iterator[Row]:
    if csv:
        with open(path, newline="", encoding="utf-8", errors="replace") as handle:
            for number, row in enumerate(csvlib.DictReader(handle), 2):
                try:
                    yield call_from(row)
                except (ValueError, KeyError, TypeError, json.JSONDecodeError) as exc:
                    yield Problem(number, f"{type(exc).__name__}: {exc}")
        return
    text = path.read_text(encoding="utf-8", errors="replace")
    if text.lstrip().startswith("["):
        try:
            rows = json.loads(text)
        except json.JSONDecodeError as exc:
            yield Problem(exc.lineno, f"not JSON ({exc.msg})")
            return
        for index, row in enumerate(rows, 1):
            try:
                yield call_from(row)
            except (ValueError, KeyError, TypeError, json.JSONDecodeError) as exc:
                yield Problem(index, f"entry {index}: {type(exc).__name__}: {exc}")
        return
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            yield call_from(json.loads(line))
        except (ValueError, KeyError, TypeError, json.JSONDecodeError) as exc:
            yield Problem(number, f"{type(exc).__name__}: {exc}")
