"""Trying a model: health probes of the fleet, and trials (a prompt on one or several models).

Probes: all enabled models at once, bounded, each within its timeout, then a status. A model's
status comes from its recent probes, not only the last one: a model that answers now but failed
two of its last five probes is *degraded*, as is one that answers slowly.

Trials (`fleetui test`, `compare`, the app's test panel) stream the reply and measure latency,
time to first token, tokens and cost. A trial is recorded apart from calls (the store's
`trials`), so that checking a model never changes its usage, success rate, latency or cost.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import httpx

from fleetui.config.schema import Fleet
from fleetui.pricing import Pricer
from fleetui.privacy import keep
from fleetui.providers import (
    ChatRequest,
    ChatResult,
    ErrorKind,
    ProviderError,
    RetryPolicy,
    StreamDone,
    TextDelta,
    Timeouts,
    adapter_for,
)
from fleetui.store.records import ProbeRecord, TrialRecord

ONLINE, DEGRADED, OFFLINE = "online", "degraded", "offline"
AUTH_FAILED, RATE_LIMITED, MISCONFIGURED = "auth_failed", "rate_limited", "misconfigured"
STATUSES = (ONLINE, DEGRADED, OFFLINE, AUTH_FAILED, RATE_LIMITED, MISCONFIGURED)

SLOW_FRACTION = 0.5  # a probe slower than half its timeout marks the model degraded
_WINDOW = 5

_KIND_STATUS = {
    ErrorKind.AUTH: AUTH_FAILED,
    ErrorKind.RATE_LIMITED: RATE_LIMITED,
    ErrorKind.MISCONFIGURED: MISCONFIGURED,
    ErrorKind.UNKNOWN_MODEL: MISCONFIGURED,
    ErrorKind.BAD_REQUEST: MISCONFIGURED,
}


@dataclass(frozen=True)
class ProbeOutcome:
    model_id: str
    record: ProbeRecord  # this probe, as stored
    status: str  # the model's status from this probe and its recent history
    detail: str


def probe_status(error: ProviderError | None, latency_ms: float | None, timeout_s: float) -> str:
    """The status one probe shows on its own."""
    if error is not None:
        return _KIND_STATUS.get(error.kind, OFFLINE)
    if latency_ms is not None and latency_ms > timeout_s * 1000 * SLOW_FRACTION:
        return DEGRADED
    return ONLINE


def model_status(recent: Sequence[ProbeRecord]) -> str:
    """A model's status from its probes, newest first."""
    if not recent:
        return "unknown"
    latest = recent[0].status
    if latest != ONLINE:
        return latest
    failures = sum(1 for p in recent[:_WINDOW] if p.status not in (ONLINE, DEGRADED))
    return DEGRADED if failures >= 2 else ONLINE


def fleet_health(fleet: Fleet, recent: Callable[[str, int], Sequence[ProbeRecord]]) -> dict[str, str]:
    """Each model's status from its recent probes; `recent` is e.g. `store.recent_probes`."""
    return {m.id: model_status(recent(m.id, _WINDOW)) for m in fleet.models}


async def probe_fleet(
    fleet: Fleet,
    model_ids: Sequence[str] | None = None,
    *,
    deep: bool = False,
    history: Callable[[str], list[ProbeRecord]] | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    on_result: Callable[[ProbeOutcome], None] | None = None,
) -> list[ProbeOutcome]:
    """Probe models concurrently (at most fleet.probes.concurrency at once)."""
    ids = list(model_ids) if model_ids else [m.id for m in fleet.models if m.enabled]
    timeout_s = fleet.probes.timeout_s
    gate = asyncio.Semaphore(fleet.probes.concurrency)

    async def one(model_id: str) -> ProbeOutcome:
        async with gate:
            started = time.perf_counter()
            error: ProviderError | None = None
            latency: float | None = None
            method = "deep" if deep else "list"
            try:
                adapter = adapter_for(
                    fleet, model_id,
                    timeouts=Timeouts(connect_s=timeout_s, read_s=timeout_s, first_byte_s=timeout_s,
                                      stall_s=timeout_s, total_s=timeout_s),
                    # A probe reports what it sees; retrying would hide intermittent failures.
                    retry=RetryPolicy(max_retries=0),
                    transport=transport,
                )
                async with adapter:
                    async with asyncio.timeout(timeout_s):
                        result = await adapter.probe(deep=deep)
                error, latency, method = result.error, result.latency_ms, result.method
            except ProviderError as exc:
                error = exc
            except TimeoutError:
                error = ProviderError(ErrorKind.TIMEOUT, f"{model_id}: no answer within {timeout_s:g}s")
            if latency is None and error is not None and error.kind is ErrorKind.TIMEOUT:
                latency = (time.perf_counter() - started) * 1000
            status = probe_status(error, latency, timeout_s)
            record = ProbeRecord(
                model_id=model_id, status=status, latency_ms=None if error else latency,
                error_type=error.kind.value if error else None,
                message=str(error) if error else f"ok ({method})", deep=deep,
            )
            past = history(model_id) if history else []
            outcome = ProbeOutcome(model_id, record, model_status([record, *past]),
                                   str(error) if error else f"{latency:.0f} ms ({method})")
            if on_result:
                on_result(outcome)
            return outcome

    return list(await asyncio.gather(*(one(i) for i in ids)))


# -- trials --------------------------------------------------------------------------------------
SOURCE = "fleetui-test"


@dataclass
class Trial:
    model_id: str
    result: ChatResult | None
    error: ProviderError | None
    cost_usd: float | None
    partial_text: str
    latency_ms: float

    @property
    def text(self) -> str:
        return self.result.text if self.result else self.partial_text

    def as_json(self) -> dict[str, object]:
        r = self.result
        return {
            "model": self.model_id,
            "ok": self.error is None,
            "text": self.text,
            "error": None if self.error is None else {"kind": self.error.kind.value, "message": str(self.error)},
            "latency_ms": round(self.latency_ms, 1),
            "ttft_ms": None if r is None or r.ttft_ms is None else round(r.ttft_ms, 1),
            "input_tokens": r.input_tokens if r else None,
            "output_tokens": r.output_tokens if r else None,
            "cached_input_tokens": r.cached_input_tokens if r else None,
            "finish_reason": r.finish_reason if r else None,
            "response_model": r.response_model if r else None,
            "cost_usd": self.cost_usd,
        }


async def run_trial(
    fleet: Fleet,
    model_id: str,
    request: ChatRequest,
    *,
    on_text: Callable[[str], None] | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> Trial:
    started = time.perf_counter()
    parts: list[str] = []
    try:
        async with adapter_for(fleet, model_id, transport=transport) as adapter:
            async for event in adapter.stream(request):
                if isinstance(event, TextDelta):
                    parts.append(event.text)
                    if on_text:
                        on_text(event.text)
                elif isinstance(event, StreamDone):
                    result = event.result
                    cost = Pricer(fleet).cost(model_id, result.input_tokens, result.output_tokens,
                                              result.cached_input_tokens or 0)
                    return Trial(model_id, result, None, cost, "", result.latency_ms)
    except ProviderError as error:
        return Trial(model_id, None, error, None, "".join(parts) or error.partial_text,
                     (time.perf_counter() - started) * 1000)
    raise AssertionError("a stream always ends in StreamDone or an error")


async def run_trials(fleet: Fleet, model_ids: list[str], request: ChatRequest,
                     transport: httpx.AsyncBaseTransport | None = None) -> list[Trial]:
    return list(await asyncio.gather(*(run_trial(fleet, m, request, transport=transport) for m in model_ids)))


# Failures that happen before a request leaves the machine: no key, no such model, a bad URL.
_NOT_SENT = {ErrorKind.MISCONFIGURED}


def trial_record(fleet: Fleet, trial: Trial, request: ChatRequest) -> TrialRecord:
    """The trial as stored, apart from calls; the prompt only as a hash (privacy.keep's)."""
    prompt = "\n".join(m.content for m in request.messages)
    r = trial.result
    return TrialRecord(
        model_id=trial.model_id,
        ok=trial.error is None,
        sent=trial.error is None or trial.error.kind not in _NOT_SENT,
        ts=time.time() - trial.latency_ms / 1000,
        source=SOURCE,
        prompt_hash=keep(prompt, fleet.privacy.prompts).hash,
        response_model=r.response_model if r else None,
        input_tokens=r.input_tokens if r else None,
        output_tokens=r.output_tokens if r else None,
        cached_input_tokens=r.cached_input_tokens if r else None,
        latency_ms=trial.latency_ms,
        ttft_ms=r.ttft_ms if r else None,
        cost_usd=trial.cost_usd,
        error_type=trial.error.kind.value if trial.error else None,
    )
