"""A stored call as the attributes of one GenAI span, and back: the one table both directions use.

Names are the OpenTelemetry GenAI semantic conventions' (checked against the conventions'
spans page, v1.37+ and the semantic-conventions-genai repository, 2026-12): the operation, the
provider, the request and response models, token usage (the cache-read part included), finish
reasons, the conversation, `error.type`. Cost is the shape proposed in the conventions' open
PR #443: `gen_ai.usage.cost.amount`, `.currency` (ISO 4217) and `.source` (`provider` when the
value came back with the call, `local` when fleetui priced it). What the conventions have no
name for (the fleet's model id, the app, task, route, tags, …) goes under `fleetui.*`, so that
importing a span gives back the call that was recorded.

No OpenTelemetry import here: the importer reads files with it on machines without the extra.
"""

from __future__ import annotations

import json
from typing import Any

from fleetui.pricing import PROVIDER_REPORTED
from fleetui.store.provider_names import provider_name_of
from fleetui.store.records import CallRecord

OPERATION = "gen_ai.operation.name"
COST_AMOUNT = "gen_ai.usage.cost.amount"
COST_CURRENCY = "gen_ai.usage.cost.currency"
COST_SOURCE = "gen_ai.usage.cost.source"
FINISH_REASONS = "gen_ai.response.finish_reasons"
ERROR_TYPE = "error.type"
CALL_ID = "fleetui.call_id"
TAGS = "fleetui.tags"
INPUT_MESSAGES = "gen_ai.input.messages"
OUTPUT_MESSAGES = "gen_ai.output.messages"

# Span attribute ↔ CallRecord field, for every scalar field a span carries as it is.
SCALARS: tuple[tuple[str, str], ...] = (
    ("gen_ai.provider.name", "provider_name"),
    ("gen_ai.request.model", "request_model"),
    ("gen_ai.response.model", "response_model"),
    ("gen_ai.usage.input_tokens", "input_tokens"),
    ("gen_ai.usage.output_tokens", "output_tokens"),
    ("gen_ai.usage.cache_read.input_tokens", "cached_input_tokens"),
    ("gen_ai.request.temperature", "request_temperature"),
    ("gen_ai.request.max_tokens", "request_max_tokens"),
    ("gen_ai.conversation.id", "session_id"),
    ("server.address", "server_address"),
    ("http.response.status_code", "status_code"),
    ("fleetui.model_id", "model_id"),
    ("fleetui.app", "source"),
    ("fleetui.user_id", "user_id"),
    ("fleetui.task", "task"),
    ("fleetui.use_case", "use_case"),
    ("fleetui.complexity", "complexity"),
    ("fleetui.route", "route"),
    ("fleetui.rule", "rule"),
    ("fleetui.decision_id", "decision_id"),
    ("fleetui.confidence", "confidence"),
    ("fleetui.ttft_ms", "ttft_ms"),
    ("fleetui.streamed", "streamed"),
    ("fleetui.incomplete", "incomplete"),
    ("fleetui.abandoned", "abandoned"),
    ("fleetui.app_call_id", "app_call_id"),
    ("fleetui.attempt", "attempt"),
    ("fleetui.gateway_overhead_ms", "gateway_overhead_ms"),
    ("fleetui.prompt_hash", "prompt_hash"),
    ("fleetui.prompt_chars", "prompt_chars"),
    ("fleetui.response_chars", "response_chars"),
    ("fleetui.tool_calls", "tool_calls"),
)


def span_name(call: CallRecord) -> str:
    """The conventions' `{gen_ai.operation.name} {gen_ai.request.model}`."""
    return f"{call.operation_name} {call.request_model}" if call.request_model else call.operation_name


def span_times_ns(call: CallRecord) -> tuple[int, int]:
    start = int(call.ts * 1e9)
    return start, start + int((call.latency_ms or 0.0) * 1e6)


def attributes_of(call: CallRecord, *, content: bool) -> dict[str, Any]:
    """The span's attributes (OpenTelemetry's value types: str, bool, int, float, lists of one)."""
    found: dict[str, Any] = {OPERATION: call.operation_name, CALL_ID: call.call_id}
    for name, field in SCALARS:
        value = getattr(call, field)
        if value is not None:
            found[name] = value
    if call.provider_name:  # the store's one vocabulary, which is the conventions' own
        found["gen_ai.provider.name"] = provider_name_of(call.provider_name, call.server_address)
    if call.finish_reason:
        found[FINISH_REASONS] = [call.finish_reason]
    if call.tags:
        found[TAGS] = list(call.tags)
    if not call.success:
        found[ERROR_TYPE] = call.error_type or "_OTHER"  # the conventions' word for an unnamed error
    if call.cost_usd is not None:
        found[COST_AMOUNT] = call.cost_usd
        found[COST_CURRENCY] = "USD"
        found[COST_SOURCE] = "provider" if call.cost_source == PROVIDER_REPORTED else "local"
        found["fleetui.cost_source"] = call.cost_source  # which local price: the fleet's or the catalog's
    if content:
        if call.prompt is not None:
            found[INPUT_MESSAGES] = json.dumps([{"role": "user", "parts": [{"type": "text", "content": call.prompt}]}])
        if call.response is not None:
            found[OUTPUT_MESSAGES] = json.dumps([{"role": "assistant", "parts": [{"type": "text", "content": call.response}],
                                                  **({"finish_reason": call.finish_reason} if call.finish_reason else {})}])
    return found
