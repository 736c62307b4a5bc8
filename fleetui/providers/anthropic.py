"""Anthropic Messages API, JSON and SSE."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

from fleetui.providers.base import Adapter
from fleetui.providers.types import Capabilities, ChatRequest, ChatResult, ErrorKind, FinishReason
from fleetui.providers.types import StreamDone, StreamEvent, TextDelta

API_VERSION = "2023-06-01"
_FINISH: dict[str, FinishReason] = {
    "end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length", "tool_use": "tool_calls",
    "refusal": "refusal", "pause_turn": "other",
}


def _usage(usage: dict[str, Any]) -> tuple[int | None, int | None]:
    """(input including cached, cached). Anthropic counts cache reads and writes apart from
    input_tokens; fleetui's convention folds them in, like OpenAI's prompt_tokens."""
    base = usage.get("input_tokens")
    if base is None:
        return None, None
    read = usage.get("cache_read_input_tokens") or 0
    written = usage.get("cache_creation_input_tokens") or 0
    return base + read + written, read


class AnthropicAdapter(Adapter):
    kind = "anthropic"
    capabilities = Capabilities(streaming=True, tools=False, usage_in_stream=True, model_listing=True)
    models_path = "/v1/models"

    def auth_headers(self, api_key: str) -> dict[str, str]:
        return {"x-api-key": api_key, "anthropic-version": API_VERSION}

    def chat_request(self, request: ChatRequest, *, stream: bool) -> tuple[str, dict[str, Any]]:
        body: dict[str, Any] = {
            "model": self.model,
            "max_tokens": request.max_tokens,
            "messages": [{"role": m.role, "content": m.content} for m in request.messages],
        }
        if request.system:
            body["system"] = request.system
        if request.temperature is not None:
            body["temperature"] = request.temperature
        if stream:
            body["stream"] = True
        return "/v1/messages", body

    def parse_chat(self, body: Any, latency_ms: float) -> ChatResult:
        if body.get("type") == "error":
            raise self._error(ErrorKind.SERVER_ERROR, f"error reply: {body.get('error')}")
        text = "".join(block.get("text", "") for block in body["content"] if block.get("type") == "text")
        raw = body.get("stop_reason")
        input_tokens, cached = _usage(body["usage"])
        return ChatResult(
            text=text,
            finish_reason=_FINISH.get(raw, "other") if raw else None,
            raw_finish_reason=raw,
            input_tokens=input_tokens,
            output_tokens=body["usage"].get("output_tokens"),
            cached_input_tokens=cached,
            latency_ms=latency_ms,
            ttft_ms=None,
            response_model=body.get("model"),
        )

    async def stream_events(self, lines: AsyncIterator[str], started: float) -> AsyncIterator[StreamEvent]:
        parts: list[str] = []
        ttft: float | None = None
        raw: str | None = None
        usage: dict[str, Any] = {}
        model: str | None = None
        stopped = False
        async for event in self._sse_json(lines, parts):
            if event is None:
                continue
            kind = event.get("type")
            if kind == "message_start":
                message = event.get("message") or {}
                model = message.get("model")
                usage.update(message.get("usage") or {})
            elif kind == "content_block_delta":
                delta = event.get("delta") or {}
                if delta.get("type") == "text_delta" and delta.get("text"):
                    if ttft is None:
                        ttft = (time.perf_counter() - started) * 1000
                    parts.append(delta["text"])
                    yield TextDelta(delta["text"])
            elif kind == "message_delta":
                raw = (event.get("delta") or {}).get("stop_reason") or raw
                usage.update({k: v for k, v in (event.get("usage") or {}).items() if v is not None})
            elif kind == "message_stop":
                stopped = True
                break
            elif kind == "error":
                error = event.get("error") or {}
                kind_of = ErrorKind.OVERLOADED if error.get("type") == "overloaded_error" else ErrorKind.SERVER_ERROR
                raise self._error(kind_of, f"error in stream: {error.get('message')}", partial_text="".join(parts))
        if not stopped:
            raise self._error(ErrorKind.BAD_RESPONSE, "stream ended before message_stop (truncated)",
                              partial_text="".join(parts))
        input_tokens, cached = _usage(usage)
        yield StreamDone(ChatResult(
            text="".join(parts),
            finish_reason=_FINISH.get(raw, "other") if raw else None,
            raw_finish_reason=raw,
            input_tokens=input_tokens,
            output_tokens=usage.get("output_tokens"),
            cached_input_tokens=cached,
            latency_ms=(time.perf_counter() - started) * 1000,
            ttft_ms=ttft,
            response_model=model,
            streamed=True,
        ))
