"""The rows fleetui stores, as plain dataclasses: the contract between writers and the store.

Field names follow the OpenTelemetry GenAI semantic conventions with the ``gen_ai.`` prefix
dropped and dots turned into underscores (``gen_ai.usage.input_tokens`` → ``input_tokens``,
``gen_ai.request.model`` → ``request_model``, ``error.type`` → ``error_type``).
"""

from __future__ import annotations

import os
import random
import time
from dataclasses import dataclass, field

# Seeded from the OS, and again in every forked child so that two processes never share ids.
_ids = random.Random(os.urandom(16))
os.register_at_fork(after_in_child=lambda: _ids.seed(os.urandom(16)))


def new_call_id() -> str:
    """32 hex digits: milliseconds since the epoch, then 80 random bits (UUIDv7's layout).

    Time-ordered ids land at the end of the unique index instead of at random places in it,
    which keeps inserts fast once the table outgrows the page cache.
    """
    return f"{(time.time_ns() // 1_000_000) << 80 | _ids.getrandbits(80):032x}"


@dataclass(slots=True)
class CallRecord:
    """One LLM call. ``cost_usd`` None means unpriced, never free."""

    call_id: str = field(default_factory=new_call_id)
    ts: float = field(default_factory=time.time)  # unix epoch seconds when the call started
    source: str = "app"  # the app that made the call: "demo", "fleetui-test", "import", …
    model_id: str | None = None  # fleet model id, when the call maps to one
    # Who served the call, in OTel's gen_ai.provider.name words ("openai", "anthropic",
    # "gcp.gemini", …): the store normalises any writer's name (fleetui.store.provider_names).
    provider_name: str | None = None
    operation_name: str = "chat"
    request_model: str | None = None
    response_model: str | None = None
    server_address: str | None = None
    prompt: str | None = None
    prompt_hash: str | None = None
    prompt_chars: int | None = None
    response: str | None = None
    response_chars: int | None = None
    input_tokens: int | None = None  # includes cached input tokens
    output_tokens: int | None = None
    cached_input_tokens: int | None = None
    latency_ms: float | None = None
    ttft_ms: float | None = None
    cost_usd: float | None = None
    # Where cost_usd came from: "provider" (the provider or a proxy reported it), "fleet" (the
    # fleet file's price override), "catalog" or "catalog@VERSION" (the genai-prices catalog).
    # None with cost_usd None: unpriced.
    cost_source: str | None = None
    success: bool = True
    error_type: str | None = None
    status_code: int | None = None
    finish_reason: str | None = None
    streamed: bool = False
    incomplete: bool = False
    use_case: str | None = None
    task: str | None = None
    complexity: str | None = None
    route: str | None = None
    rule: str | None = None
    decision_id: str | None = None
    confidence: float | None = None
    override: bool | None = None
    user_id: str | None = None
    session_id: str | None = None
    feedback_score: float | None = None  # 0.0 (bad) … 1.0 (good)
    feedback_comment: str | None = None
    follow_up: bool | None = None
    abandoned: bool | None = None
    tags: list[str] = field(default_factory=list)
    request_temperature: float | None = None
    request_max_tokens: int | None = None
    # Tool and function calls the model made, as JSON: [{"name": …, "arguments": …}, …].
    tool_calls: str | None = None
    # The attempts of one app call (an SDK retrying a 429, say) share app_call_id; attempt counts
    # from 1. None for a call made once.
    app_call_id: str | None = None
    attempt: int | None = None
    # What `fleetui serve` itself added to the call's latency (to the first byte when streamed);
    # None for calls that did not go through the gateway.
    gateway_overhead_ms: float | None = None
    demo: bool = False


# Column order of `calls` inserts; derived once so writer and schema cannot drift apart.
CALL_COLUMNS: tuple[str, ...] = tuple(CallRecord.__dataclass_fields__)


@dataclass(slots=True)
class ProbeRecord:
    model_id: str
    status: str  # online, degraded, offline, auth_failed, rate_limited, misconfigured
    ts: float = field(default_factory=time.time)
    latency_ms: float | None = None
    error_type: str | None = None
    message: str | None = None
    deep: bool = False


@dataclass(slots=True)
class TrialRecord:
    """One try of a model by hand (`fleetui test`, `compare`, the app's test panel).

    Kept apart from calls: a trial is the user checking a model, not traffic of their apps, so
    no usage, cost, ranking or recommendation counts it (a failed key check would otherwise
    lower a model's success rate and latency, and make a priced model look unpriced). ``sent``
    says whether the request left the machine at all (no key, a bad URL: it did not)."""

    model_id: str
    ok: bool
    sent: bool
    ts: float = field(default_factory=time.time)
    source: str = "fleetui-test"
    prompt_hash: str | None = None
    response_model: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    cached_input_tokens: int | None = None
    latency_ms: float | None = None
    ttft_ms: float | None = None
    cost_usd: float | None = None  # None: unpriced or nothing was sent
    error_type: str | None = None
