"""Ollama's native /api/chat (NDJSON streaming) and /api/tags."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any

from fleetui.providers.base import Adapter
from fleetui.providers.types import Capabilities, ChatRequest, ChatResult, ErrorKind, FinishReason
from fleetui.providers.types import StreamDone, StreamEvent, TextDelta

_FINISH: dict[str, FinishReason] = {"stop": "stop", "length": "length"}


class OllamaAdapter(Adapter):
    kind = "ollama"
    capabilities = Capabilities(streaming=True, tools=False, usage_in_stream=True, model_listing=True)
    models_path = "/api/tags"

    def auth_headers(self, api_key: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {api_key}"}  # for Ollama behind an authenticating proxy

    def chat_request(self, request: ChatRequest, *, stream: bool) -> tuple[str, dict[str, Any]]:
        messages = [{"role": "system", "content": request.system}] if request.system else []
        messages += [{"role": m.role, "content": m.content} for m in request.messages]
        options: dict[str, Any] = {"num_predict": request.max_tokens}
        if request.temperature is not None:
            options["temperature"] = request.temperature
        return "/api/chat", {"model": self.model, "messages": messages, "stream": stream, "options": options}

    def _result(self, body: dict[str, Any], text: str, latency_ms: float, ttft: float | None, streamed: bool) -> ChatResult:
        raw = body.get("done_reason")
        return ChatResult(
            text=text,
            finish_reason=_FINISH.get(raw, "other") if raw else None,
            raw_finish_reason=raw,
            input_tokens=body.get("prompt_eval_count"),
            output_tokens=body.get("eval_count"),
            cached_input_tokens=None,
            latency_ms=latency_ms,
            ttft_ms=ttft,
            response_model=body.get("model"),
            streamed=streamed,
        )

    def parse_chat(self, body: Any, latency_ms: float) -> ChatResult:
        return self._result(body, body["message"]["content"], latency_ms, None, False)

    async def stream_events(self, lines: AsyncIterator[str], started: float) -> AsyncIterator[StreamEvent]:
        parts: list[str] = []
        ttft: float | None = None
        async for line in lines:
            if not line.strip():
                continue
            try:
                chunk = json.loads(line)
            except json.JSONDecodeError:
                raise self._error(ErrorKind.BAD_RESPONSE, f"malformed stream line: {line[:80]!r}",
                                  partial_text="".join(parts)) from None
            if "error" in chunk:
                raise self._error(ErrorKind.SERVER_ERROR, f"error in stream: {chunk['error']}", partial_text="".join(parts))
            text = (chunk.get("message") or {}).get("content") or ""
            if text:
                if ttft is None:
                    ttft = (time.perf_counter() - started) * 1000
                parts.append(text)
                yield TextDelta(text)
            if chunk.get("done"):
                yield StreamDone(self._result(chunk, "".join(parts), (time.perf_counter() - started) * 1000, ttft, True))
                return
        raise self._error(ErrorKind.BAD_RESPONSE, "stream ended before done:true (truncated)", partial_text="".join(parts))

    def parse_models(self, body: Any) -> list[str]:
        return [str(m["name"]) for m in body["models"]]

    def model_listed(self, models: list[str]) -> bool:
        # Ollama lists "llama3.2:latest" for a model asked for as "llama3.2".
        return self.model in models or f"{self.model}:latest" in models
