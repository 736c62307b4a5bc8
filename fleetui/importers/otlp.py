"""OpenTelemetry GenAI spans from the OpenTelemetry Collector's file exporter.

The file exporter (`exporters: file: {path: …}`, format json) writes one OTLP/JSON
ExportTraceServiceRequest per line: `resourceSpans[].scopeSpans[].spans[]`, ids in hex, 64-bit
integers as strings, attribute values as `{"stringValue": …}`, `{"intValue": "12"}`, … Every span
with `gen_ai.operation.name` is a call; other spans (HTTP, database, the app's own) are skipped.
Attribute names are those fleetui.otel writes (fleetui/otel/attributes.py), so a call that went
through a collector comes back as it was recorded, with its own call id: importing the file
twice, or importing spans of calls this store already holds, adds nothing. Spans of other
instrumentations get a call id from their trace and span ids.

A cost is kept only in USD (fleetui's one currency) and as its source says; a cost in another
currency is left out, and fleetui prices the call from its tokens as usual.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from fleetui.importers import Found, Problem, Row
from fleetui.importers.common import count, json_lines, number
from fleetui.otel.attributes import (
    CALL_ID,
    COST_AMOUNT,
    COST_CURRENCY,
    COST_SOURCE,
    ERROR_TYPE,
    FINISH_REASONS,
    INPUT_MESSAGES,
    OPERATION,
    OUTPUT_MESSAGES,
    SCALARS,
    TAGS,
)
from fleetui.pricing import PROVIDER_REPORTED
from fleetui.store.records import CallRecord

_STATUS_ERROR = 2  # OTLP's STATUS_CODE_ERROR
_COUNTS = frozenset({"input_tokens", "output_tokens", "cached_input_tokens", "request_max_tokens", "status_code",
                     "attempt", "prompt_chars", "response_chars"})
_NUMBERS = frozenset({"request_temperature", "confidence", "ttft_ms", "gateway_overhead_ms"})
_FLAGS = frozenset({"streamed", "incomplete", "abandoned"})


def read_otlp(path: Path) -> Iterator[Row]:
    for item in json_lines(path):
        if isinstance(item, Problem):
            yield item
            continue
        line, request, _ = item
        if not isinstance(request, dict) or not isinstance(request.get("resourceSpans"), list):
            yield Problem(line, "not an OTLP ExportTraceServiceRequest (no resourceSpans list); is this the "
                                "Collector's file exporter output in JSON?")
            continue
        for where, span in _spans(request):
            try:
                call = span_call(span)
            except (ValueError, TypeError, KeyError, OverflowError) as exc:
                yield Problem(line, f"{where}: {exc}")
            except RecursionError:  # gen_ai.*.messages is JSON inside the line's JSON
                yield Problem(line, f"{where}: a message attribute is nested too deeply")
            else:
                if call is not None:
                    yield Found(line, call)


def _spans(request: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    for r, resource in enumerate(request["resourceSpans"]):
        for s, scope in enumerate(_list(resource, "scopeSpans")):
            for n, span in enumerate(_list(scope, "spans")):
                yield f"resourceSpans[{r}].scopeSpans[{s}].spans[{n}]", span


def _list(parent: Any, key: str) -> list[Any]:
    value = parent.get(key) if isinstance(parent, dict) else None
    return value if isinstance(value, list) else []


def span_call(span: Any) -> CallRecord | None:
    """The call a GenAI span describes; None for a span that is not a GenAI call."""
    if not isinstance(span, dict):
        raise TypeError("a span must be a JSON object")
    attributes = {a["key"]: _value(a.get("value")) for a in span.get("attributes") or []
                  if isinstance(a, dict) and isinstance(a.get("key"), str)}
    operation = attributes.get(OPERATION)
    if not operation:
        return None
    start = _nanos(span.get("startTimeUnixNano"), "startTimeUnixNano")
    end = _nanos(span.get("endTimeUnixNano"), "endTimeUnixNano") if span.get("endTimeUnixNano") else start
    call_id = attributes.get(CALL_ID)
    if not isinstance(call_id, str) or not call_id:
        trace_id, span_id = span.get("traceId"), span.get("spanId")
        if not trace_id or not span_id:
            raise ValueError("a GenAI span needs fleetui.call_id or its traceId and spanId")
        call_id = f"otel:{trace_id}{span_id}"
    call = CallRecord(call_id=call_id, ts=start / 1e9, source="import", operation_name=str(operation),
                      latency_ms=(end - start) / 1e6)
    for name, field in SCALARS:
        if name in attributes:
            setattr(call, field, _typed(field, attributes[name], name))
    finish = attributes.get(FINISH_REASONS)
    if isinstance(finish, list) and finish:
        call.finish_reason = str(finish[0])
    tags = attributes.get(TAGS)
    if isinstance(tags, list):
        call.tags = [str(t) for t in tags]
    status: dict[str, Any] = span["status"] if isinstance(span.get("status"), dict) else {}
    failed = ERROR_TYPE in attributes or status.get("code") in (_STATUS_ERROR, "STATUS_CODE_ERROR")
    if failed:
        call.success = False
        call.error_type = str(attributes.get(ERROR_TYPE) or status.get("message") or "error")
    amount = number(attributes.get(COST_AMOUNT), COST_AMOUNT)
    if amount is not None and attributes.get(COST_CURRENCY, "USD") == "USD":
        call.cost_usd = amount
        local = attributes.get(COST_SOURCE) == "local"
        call.cost_source = (attributes.get("fleetui.cost_source") or "local") if local else PROVIDER_REPORTED
    call.prompt = _message_text(attributes.get(INPUT_MESSAGES), INPUT_MESSAGES)
    call.response = _message_text(attributes.get(OUTPUT_MESSAGES), OUTPUT_MESSAGES)
    return call


def _value(value: Any) -> Any:
    """An OTLP/JSON AnyValue as Python."""
    if not isinstance(value, dict) or not value:
        return None
    kind, inner = next(iter(value.items()))
    if kind == "intValue":
        return int(inner)  # a string in OTLP/JSON (64-bit)
    if kind == "arrayValue":
        return [_value(v) for v in (inner or {}).get("values") or []]
    if kind == "kvlistValue":
        return {kv.get("key"): _value(kv.get("value")) for kv in (inner or {}).get("values") or []}
    return inner  # stringValue, boolValue, doubleValue, bytesValue


def _typed(field: str, value: Any, name: str) -> Any:
    if field in _COUNTS:
        return count(value, name)
    if field in _NUMBERS:
        return number(value, name)
    if field in _FLAGS:
        if not isinstance(value, bool):
            raise ValueError(f"{name} {value!r} is not true or false")
        return value
    if value is not None and not isinstance(value, str):
        raise ValueError(f"{name} {value!r} is not a string")
    return value


def _nanos(value: Any, name: str) -> int:
    try:
        nanos = int(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} {value!r} is not a time in nanoseconds since 1970") from None
    if not 0 < nanos < 2**64:  # OTLP's fixed64
        raise ValueError(f"{name} {value!r} is not a time in nanoseconds since 1970")
    return nanos


def _message_text(raw: Any, name: str) -> str | None:
    """The text parts of gen_ai.input.messages / output.messages (a JSON string), joined."""
    if raw is None:
        return None
    try:
        messages = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        raise ValueError(f"{name} is not JSON") from None
    if not isinstance(messages, list):
        raise ValueError(f"{name} is not a list of messages")
    parts: list[str] = [p["content"] for m in messages if isinstance(m, dict) for p in m.get("parts") or []
             if isinstance(p, dict) and p.get("type") == "text" and isinstance(p.get("content"), str)]
    return "\n".join(parts) if parts else None
