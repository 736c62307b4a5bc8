"""One HTTP exchange between an app's SDK and a provider, turned into a call record.

The app's thread only keeps references (request bytes, response chunks, timings); parsing,
decompressing and classifying happen here, on the recorder's thread.
"""

from __future__ import annotations

import json
import time
import zlib
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

from fleetui.store.records import CallRecord

_ERROR_TYPES = {401: "auth", 403: "auth", 404: "unknown_model", 429: "rate_limited", 529: "overloaded"}
_OPENAI_FINISH = {"stop": "stop", "length": "length", "tool_calls": "tool_calls", "content_filter": "content_filter"}
_ANTHROPIC_FINISH = {"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length",
                     "tool_use": "tool_calls", "refusal": "refusal"}


@dataclass
class Exchange:
    url: str
    request_body: bytes
    started: float  # time.time() at the request
    started_perf: float
    attributes: dict[str, Any] = field(default_factory=dict)
    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    chunks: list[bytes] = field(default_factory=list)
    first_chunk_perf: float | None = None
    ended_perf: float | None = None
    complete: bool = False  # the body was read to its end
    error: str | None = None  # a transport exception, by type name

    def to_record(self) -> CallRecord:
        request = _json(self.request_body) or {}
        path = urlparse(self.url).path
        provider = "anthropic" if path.endswith("/messages") else "openai"
        call = CallRecord(
            ts=self.started,
            provider_name=provider,
            operation_name="chat",
            request_model=request.get("model"),
            server_address=f"{urlparse(self.url).scheme}://{urlparse(self.url).netloc}",
            prompt=_prompt(request),
            streamed=bool(request.get("stream")),
            request_temperature=request.get("temperature"),
            request_max_tokens=request.get("max_tokens") or request.get("max_completion_tokens")
            or request.get("max_output_tokens"),
            status_code=self.status,
        )
        for name, value in self.attributes.items():
            setattr(call, name, value)
        end = self.ended_perf or time.perf_counter()
        call.latency_ms = (end - self.started_perf) * 1000
        if self.error:
            call.success, call.error_type = False, self.error
            return call
        body = _decode(b"".join(self.chunks), self.headers.get("content-encoding", ""))
        if self.status is not None and self.status >= 400:
            call.success = False
            call.error_type = _ERROR_TYPES.get(self.status, "server_error" if self.status >= 500 else "bad_request")
            return call
        if call.streamed and "text/event-stream" in self.headers.get("content-type", ""):
            call.ttft_ms = None if self.first_chunk_perf is None else (self.first_chunk_perf - self.started_perf) * 1000
            # The end event proves the stream complete; SDKs may close right after it without
            # reading the last empty chunk.
            call.incomplete = not _read_stream(call, provider, body)
        else:
            reply = _json(body)
            if reply is None:
                call.success, call.error_type = False, "bad_response"
                call.incomplete = not self.complete
                return call
            _read_reply(call, provider, reply, path)
        return call


def _json(data: bytes) -> Any:
    try:
        return json.loads(data) if data else None
    except (ValueError, UnicodeDecodeError):
        return None


def _decode(body: bytes, encoding: str) -> bytes:
    """Undo gzip/deflate for parsing; the app received the bytes exactly as sent."""
    try:
        if encoding in ("gzip", "x-gzip"):
            return zlib.decompress(body, 16 + zlib.MAX_WBITS)
        if encoding == "deflate":
            try:
                return zlib.decompress(body)
            except zlib.error:
                return zlib.decompress(body, -zlib.MAX_WBITS)
        if encoding == "br":
            import brotli  # type: ignore[import-not-found]

            return bytes(brotli.decompress(body))
    except Exception:
        return b""
    return body


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("text"))
    return ""


def _prompt(request: dict[str, Any]) -> str | None:
    """What the user asked: the last user message (Chat Completions, Messages) or the input."""
    for message in reversed(request.get("messages") or []):
        if isinstance(message, dict) and message.get("role") == "user":
            return _text(message.get("content")) or None
    given = request.get("input")  # the Responses API
    if isinstance(given, str):
        return given
    if isinstance(given, list):
        for item in reversed(given):
            if isinstance(item, dict) and item.get("role") == "user":
                return _text(item.get("content")) or None
    return None


def _openai_usage(call: CallRecord, usage: dict[str, Any]) -> None:
    call.input_tokens = usage.get("prompt_tokens", usage.get("input_tokens"))
    call.output_tokens = usage.get("completion_tokens", usage.get("output_tokens"))
    details = usage.get("prompt_tokens_details") or usage.get("input_tokens_details") or {}
    call.cached_input_tokens = details.get("cached_tokens")


def _anthropic_usage(call: CallRecord, usage: dict[str, Any]) -> None:
    base = usage.get("input_tokens")
    read = usage.get("cache_read_input_tokens") or 0
    if base is not None:
        # Anthropic counts cached input apart; fleetui's input_tokens include it.
        call.input_tokens = base + read + (usage.get("cache_creation_input_tokens") or 0)
        call.cached_input_tokens = read
    if usage.get("output_tokens") is not None:
        call.output_tokens = usage["output_tokens"]


def _read_reply(call: CallRecord, provider: str, reply: dict[str, Any], path: str) -> None:
    call.response_model = reply.get("model")
    if provider == "anthropic":
        call.response = "".join(b.get("text", "") for b in reply.get("content") or [] if b.get("type") == "text")
        call.finish_reason = _ANTHROPIC_FINISH.get(reply.get("stop_reason") or "", reply.get("stop_reason"))
        _anthropic_usage(call, reply.get("usage") or {})
    elif path.endswith("/responses"):
        texts = [c.get("text", "") for item in reply.get("output") or [] for c in item.get("content") or []
                 if c.get("type") == "output_text"]
        call.response = "".join(texts)
        call.finish_reason = "stop" if reply.get("status") == "completed" else reply.get("status")
        _openai_usage(call, reply.get("usage") or {})
    else:
        choices = reply.get("choices") or [{}]
        message = choices[0].get("message") or {}
        call.response = message.get("content") or message.get("refusal")
        raw = choices[0].get("finish_reason")
        call.finish_reason = "refusal" if message.get("refusal") else _OPENAI_FINISH.get(raw or "", raw)
        _openai_usage(call, reply.get("usage") or {})


def _read_stream(call: CallRecord, provider: str, body: bytes) -> bool:
    """Fill the call from an SSE body; True when the stream reached its end event."""
    parts: list[str] = []
    finished = False
    for line in body.decode("utf-8", "replace").splitlines():
        if not line.startswith("data:"):
            continue
        data = line[5:].strip()
        if data == "[DONE]":
            finished = True
            continue
        event = _json(data.encode())
        if not isinstance(event, dict):
            continue
        if provider == "anthropic":
            kind = event.get("type")
            if kind == "message_start":
                message = event.get("message") or {}
                call.response_model = message.get("model")
                _anthropic_usage(call, message.get("usage") or {})
            elif kind == "content_block_delta":
                parts.append((event.get("delta") or {}).get("text", ""))
            elif kind == "message_delta":
                raw = (event.get("delta") or {}).get("stop_reason")
                call.finish_reason = _ANTHROPIC_FINISH.get(raw or "", raw)
                _anthropic_usage(call, event.get("usage") or {})
            elif kind == "message_stop":
                finished = True
            elif kind == "error":
                call.success, call.error_type = False, (event.get("error") or {}).get("type", "stream_error")
        else:
            call.response_model = event.get("model") or call.response_model
            if event.get("usage"):
                _openai_usage(call, event["usage"])
            for choice in event.get("choices") or []:
                parts.append((choice.get("delta") or {}).get("content") or "")
                raw = choice.get("finish_reason")
                if raw:
                    call.finish_reason = _OPENAI_FINISH.get(raw, raw)
    call.response = "".join(parts)
    return finished
