"""Trying a prompt on a model by hand (`fleetui test`, `compare`, the TUI's test panel).

Each trial streams the reply, measures latency, time to first token, tokens and cost, and
becomes a call in the store (source "fleetui-test") so that it shows in usage like any other.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from fleetui.config.schema import Fleet
from fleetui.pricing import Pricer
from fleetui.privacy import keep
from fleetui.providers import ChatRequest, ChatResult, ProviderError, StreamDone, TextDelta, adapter_for
from fleetui.store.records import CallRecord

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


def call_record(fleet: Fleet, trial: Trial, request: ChatRequest) -> CallRecord:
    """The trial as a stored call, with the prompt kept as the fleet's privacy setting says."""
    model = fleet.model(trial.model_id)
    prompt = "\n".join(m.content for m in request.messages)
    kept = keep(prompt, fleet.privacy.prompts)
    response = keep(trial.text, fleet.privacy.prompts) if trial.text else None
    r = trial.result
    return CallRecord(
        ts=time.time() - trial.latency_ms / 1000,
        source=SOURCE,
        model_id=trial.model_id,
        provider_name=str(fleet.provider_of(model).kind),
        request_model=model.model,
        response_model=r.response_model if r else None,
        server_address=fleet.base_url_of(model),
        prompt=kept.text,
        prompt_hash=kept.hash,
        prompt_chars=kept.chars,
        response=response.text if response else None,
        response_chars=len(trial.text) if trial.text else None,
        input_tokens=r.input_tokens if r else None,
        output_tokens=r.output_tokens if r else None,
        cached_input_tokens=r.cached_input_tokens if r else None,
        latency_ms=trial.latency_ms,
        ttft_ms=r.ttft_ms if r else None,
        cost_usd=trial.cost_usd,
        success=trial.error is None,
        error_type=trial.error.kind.value if trial.error else None,
        status_code=trial.error.status if trial.error else 200,
        finish_reason=r.finish_reason if r else None,
        streamed=True,
        incomplete=trial.error is not None and bool(trial.partial_text),
        request_temperature=request.temperature,
        request_max_tokens=request.max_tokens,
    )
