"""OpenAI-compatible chat completions: OpenAI, DeepSeek, Groq, Together, OpenRouter, Moonshot,
vLLM, LM Studio, llama.cpp server, Ollama's /v1."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

from fleetui.providers.base import Adapter
from fleetui.providers.types import Capabilities, ChatRequest, ChatResult, ErrorKind, FinishReason
from fleetui.providers.types import StreamDone, StreamEvent, TextDelta

_FINISH: dict[str, FinishReason] = {
    "stop": "stop", "length": "length", "tool_calls": "tool_calls", "function_call": "tool_calls",
    "content_filter": "content_filter",
}


class OpenAIAdapter(Adapter):
    kind = "openai-compatible"
    # Usage in a stream is asked for (stream_options); some compatible servers still leave it out.
    capabilities = Capabilities(streaming=True, tools=False, usage_in_stream=True, model_listing=True)

    def auth_headers(self, api_key: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {api_key}"}

    def chat_request(self, request: ChatRequest, *, stream: bool) -> tuple[str, dict[str, Any]]:
        messages = [{"role": "system", "content": request.system}] if request.system else []
        messages += [{"role": m.role, "content": m.content} for m in request.messages]
        body: dict[str, Any] = {"model": self.model, "messages": messages, "max_tokens": request.max_tokens}
        if request.temperature is not None:
            body["temperature"] = request.temperature
        if stream:
            body["stream"] = True
            body["stream_options"] = {"include_usage": True}  # usage arrives in a final chunk
        return "/chat/completions", body

    def parse_chat(self, body: Any, latency_ms: float) -> ChatResult:
        choice = body["choices"][0]
        message = choice["message"]
        usage = body.get("usage") or {}
        text = message.get("content") or ""
        raw = choice.get("finish_reason")
        finish = _FINISH.get(raw, "other") if raw else None
        if message.get("refusal"):
            text, finish = message["refusal"], "refusal"
        return ChatResult(
            text=text,
            finish_reason=finish,
            raw_finish_reason=raw,
            input_tokens=usage.get("prompt_tokens"),
            output_tokens=usage.get("completion_tokens"),
            cached_input_tokens=(usage.get("prompt_tokens_details") or {}).get("cached_tokens"),
            latency_ms=latency_ms,
            ttft_ms=None,
            response_model=body.get("model"),
        )

    async def stream_events(self, lines: AsyncIterator[str], started: float) -> AsyncIterator[StreamEvent]:
        parts: list[str] = []
        ttft: float | None = None
        finish_raw: str | None = None
        usage: dict[str, Any] = {}
        model: str | None = None
        done = False
        async for chunk in self._sse_json(lines, parts):
            if chunk is None:  # [DONE]
                done = True
                break
            if "error" in chunk:
                raise self._error(ErrorKind.SERVER_ERROR, f"error in stream: {chunk['error']}",
                                  partial_text="".join(parts))
            model = chunk.get("model") or model
            usage = chunk.get("usage") or usage
            for choice in chunk.get("choices") or []:
                delta = (choice.get("delta") or {}).get("content")
                if delta:
                    if ttft is None:
                        ttft = (time.perf_counter() - started) * 1000
                    parts.append(delta)
                    yield TextDelta(delta)
                finish_raw = choice.get("finish_reason") or finish_raw
        if not done:
            raise self._error(ErrorKind.BAD_RESPONSE, "stream ended before [DONE] (truncated)",
                              partial_text="".join(parts))
        if finish_raw is None:
            # Every choice ends with a finish_reason; a stream without one was cut short by the
            # server (llama.cpp, for one, ends an interrupted request this way).
            raise self._error(ErrorKind.BAD_RESPONSE, "stream ended without a finish_reason (interrupted?)",
                              partial_text="".join(parts))
        yield StreamDone(ChatResult(
            text="".join(parts),
            finish_reason=_FINISH.get(finish_raw, "other") if finish_raw else None,
            raw_finish_reason=finish_raw,
            input_tokens=usage.get("prompt_tokens"),
            output_tokens=usage.get("completion_tokens"),
            cached_input_tokens=(usage.get("prompt_tokens_details") or {}).get("cached_tokens"),
            latency_ms=(time.perf_counter() - started) * 1000,
            ttft_ms=ttft,
            response_model=model,
            streamed=True,
        ))
