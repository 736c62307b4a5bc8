"""Google Gemini generateContent and streamGenerateContent (SSE)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

from fleetui.providers.base import Adapter
from fleetui.providers.types import Capabilities, ChatRequest, ChatResult, ErrorKind, FinishReason
from fleetui.providers.types import StreamDone, StreamEvent, TextDelta

_FINISH: dict[str, FinishReason] = {
    "STOP": "stop", "MAX_TOKENS": "length", "SAFETY": "content_filter", "RECITATION": "content_filter",
    "PROHIBITED_CONTENT": "content_filter", "BLOCKLIST": "content_filter", "SPII": "content_filter",
}


class GeminiAdapter(Adapter):
    kind = "gemini"
    capabilities = Capabilities(streaming=True, tools=False, usage_in_stream=True, model_listing=True)
    models_path = "/v1beta/models"

    def auth_headers(self, api_key: str) -> dict[str, str]:
        # The header, not ?key=: a key in the URL ends up in proxies' and servers' logs.
        return {"x-goog-api-key": api_key}

    def chat_request(self, request: ChatRequest, *, stream: bool) -> tuple[str, dict[str, Any]]:
        body: dict[str, Any] = {
            "contents": [
                {"role": "model" if m.role == "assistant" else "user", "parts": [{"text": m.content}]}
                for m in request.messages
            ],
            "generationConfig": {"maxOutputTokens": request.max_tokens},
        }
        if request.temperature is not None:
            body["generationConfig"]["temperature"] = request.temperature
        if request.system:
            body["systemInstruction"] = {"parts": [{"text": request.system}]}
        name = self.model if self.model.startswith("models/") else f"models/{self.model}"
        method = "streamGenerateContent?alt=sse" if stream else "generateContent"
        return f"/v1beta/{name}:{method}", body

    def _result(self, chunks: list[dict[str, Any]], latency_ms: float, ttft: float | None, streamed: bool) -> ChatResult:
        text = ""
        raw: str | None = None
        usage: dict[str, Any] = {}
        model: str | None = None
        for chunk in chunks:
            for candidate in chunk.get("candidates") or []:
                for part in (candidate.get("content") or {}).get("parts") or []:
                    text += part.get("text", "")
                raw = candidate.get("finishReason") or raw
            usage = chunk.get("usageMetadata") or usage
            model = chunk.get("modelVersion") or model
        if raw is None and any((c.get("promptFeedback") or {}).get("blockReason") for c in chunks):
            raw = "SAFETY"
        return ChatResult(
            text=text,
            finish_reason=_FINISH.get(raw, "other") if raw else None,
            raw_finish_reason=raw,
            input_tokens=usage.get("promptTokenCount"),
            output_tokens=usage.get("candidatesTokenCount", 0 if usage else None),
            cached_input_tokens=usage.get("cachedContentTokenCount"),
            latency_ms=latency_ms,
            ttft_ms=ttft,
            response_model=model,
            streamed=streamed,
        )

    def parse_chat(self, body: Any, latency_ms: float) -> ChatResult:
        if "candidates" not in body and "promptFeedback" not in body:
            raise KeyError("candidates")
        return self._result([body], latency_ms, None, False)

    async def stream_events(self, lines: AsyncIterator[str], started: float) -> AsyncIterator[StreamEvent]:
        chunks: list[dict[str, Any]] = []
        ttft: float | None = None
        async for chunk in self._sse_json(lines, []):
            if chunk is None:
                continue
            chunks.append(chunk)
            for candidate in chunk.get("candidates") or []:
                for part in (candidate.get("content") or {}).get("parts") or []:
                    if part.get("text"):
                        if ttft is None:
                            ttft = (time.perf_counter() - started) * 1000
                        yield TextDelta(part["text"])
        # Gemini's SSE has no terminator event; the last chunk carries finishReason.
        finished = any(c.get("finishReason") for chunk in chunks for c in chunk.get("candidates") or [])
        if not finished:
            partial = self._result(chunks, 0, None, True).text
            raise self._error(ErrorKind.BAD_RESPONSE, "stream ended without a finishReason (truncated)",
                              partial_text=partial)
        yield StreamDone(self._result(chunks, (time.perf_counter() - started) * 1000, ttft, True))

    def parse_models(self, body: Any) -> list[str]:
        return [str(m["name"]).removeprefix("models/") for m in body["models"]]

    def model_listed(self, models: list[str]) -> bool:
        return self.model.removeprefix("models/") in models
