"""One HTTP exchange between an app's SDK and a provider, turned into a call record.

The app's thread only keeps references (request bytes, response chunks and when each arrived);
parsing, decompressing and classifying happen here, on the recorder's thread.

Three wire formats are read: OpenAI Chat Completions, the OpenAI Responses API, and Anthropic
Messages, each as one JSON body or as server-sent events. Definitions that hold for all three:

- TTFT is when the chunk completing the first *content* event arrived: a text, refusal,
  reasoning or tool-argument delta — not the first byte, `message_start` or `response.created`.
- Latency ends at the app's last read: the last chunk it pulled (or the headers, when it read
  none), however long it then held the stream before closing or dropping it.
- Outcome: an error event (or `response.failed`) is a failure with the provider's error type; a
  stream whose body ended before its end event, or broke off with a network error, is a failure
  (`stream_truncated`, or the exception's type); a stream the app stopped reading is
  `incomplete` and `abandoned` but not the provider's failure.
- Cost: a figure the provider or a proxy reports with the call (OpenRouter's `usage.cost`,
  LiteLLM's `x-litellm-response-cost` header) is kept with cost_source "provider"; otherwise the
  enricher prices the call.
"""

from __future__ import annotations

import codecs
import json
import math
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

from fleetui.store.records import CallRecord

_ERROR_TYPES = {401: "auth", 403: "auth", 404: "unknown_model", 429: "rate_limited", 529: "overloaded"}
_OPENAI_FINISH = {"stop": "stop", "length": "length", "tool_calls": "tool_calls", "function_call": "tool_calls",
                  "content_filter": "content_filter"}
_ANTHROPIC_FINISH = {"end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length",
                     "tool_use": "tool_calls", "refusal": "refusal", "pause_turn": "pause_turn"}
_RESPONSES_INCOMPLETE = {"max_output_tokens": "length", "content_filter": "content_filter"}
# Headers a proxy uses to report what it charged for the call.
_COST_HEADERS = ("x-litellm-response-cost",)

# How a response body stopped being read (Exchange.end).
OPEN, READ_TO_END, CLOSED, DROPPED, IDLE, FAILED = "open", "end", "closed", "dropped", "idle", "error"
_APP_STOPPED = (CLOSED, DROPPED, IDLE)


@dataclass(eq=False, slots=True)
class Exchange:
    url: Any  # the request's URL object (or text): made a string on the recorder's thread
    request_body: bytes
    started: float  # time.time() at the request
    started_perf: float
    attributes: dict[str, Any] = field(default_factory=dict)
    status: int | None = None
    headers: Any = None  # the response's headers object, read on the recorder's thread
    decoded: bool = False  # the chunks are the body already decoded (content-encoding undone)
    chunks: list[bytes] = field(default_factory=list)
    chunk_perf: list[float] = field(default_factory=list)  # when each chunk reached the SDK
    last_read_perf: float | None = None  # headers, then each chunk: where latency ends
    ended_perf: float | None = None  # when the exchange was handed to the recorder
    end: str = OPEN
    error: str | None = None  # a transport exception, by type name
    call_id: str | None = None  # set on the app's thread only when a retry must point at it
    app_call_id: str | None = None
    attempt: int | None = None
    waiting: bool = False  # the SDK is blocked on the network for the next chunk
    idle_s: float = 30.0

    @property
    def complete(self) -> bool:
        return self.end == READ_TO_END

    def to_record(self) -> CallRecord:
        request = _json(self.request_body)
        request = request if isinstance(request, dict) else {}
        headers = {k.lower(): v for k, v in self.headers.items()} if self.headers is not None else {}
        if self.decoded:
            headers.pop("content-encoding", None)
        parts = urlparse(str(self.url))
        api = "anthropic" if parts.path.endswith("/messages") else "responses" if parts.path.endswith("/responses") else "chat"
        call = CallRecord(
            ts=self.started,
            provider_name="anthropic" if api == "anthropic" else "openai",
            operation_name="chat",
            request_model=_str(request.get("model")),
            server_address=f"{parts.scheme}://{parts.netloc}",
            prompt=_prompt(request),
            streamed=bool(request.get("stream")),
            request_temperature=_number(request.get("temperature")),
            request_max_tokens=_int(request.get("max_tokens") or request.get("max_completion_tokens")
                                    or request.get("max_output_tokens")),
            status_code=self.status,
            app_call_id=self.app_call_id,
            attempt=self.attempt,
        )
        if self.call_id is not None:
            call.call_id = self.call_id
        for name, value in self.attributes.items():
            setattr(call, name, value)
        end = self.last_read_perf or self.ended_perf or time.perf_counter()
        call.latency_ms = (end - self.started_perf) * 1000
        if self.status is None:  # no response at all: the connection failed
            call.success, call.error_type = False, self.error or "connection_error"
            return call
        if self.status >= 400:
            call.success = False
            call.error_type = _ERROR_TYPES.get(self.status, "server_error" if self.status >= 500 else "bad_request")
            return call
        encoding = headers.get("content-encoding", "")
        if call.streamed and "text/event-stream" in headers.get("content-type", ""):
            reader = _STREAM_READERS[api](call)
            for index, kind, data in _sse_events(self.chunks, encoding):
                if reader.feed(kind, data) and call.ttft_ms is None:
                    call.ttft_ms = (self.chunk_perf[index] - self.started_perf) * 1000
            reader.finish()
            if call.success and not reader.finished:
                self._cut_short(call)
        else:
            reply = _json(_decode(b"".join(self.chunks), encoding))
            if not isinstance(reply, dict):
                if self.end in _APP_STOPPED:
                    call.incomplete = call.abandoned = True
                else:
                    call.success, call.error_type = False, self.error or "bad_response"
                    call.incomplete = not self.complete
                return call
            _REPLY_READERS[api](call, reply)
        _provider_cost(call, headers)
        return call

    def _cut_short(self, call: CallRecord) -> None:
        """A stream that ended without its end event: whose doing it was decides the outcome."""
        call.incomplete = True
        if self.end in _APP_STOPPED:
            call.abandoned = True  # the app stopped reading; the provider did not fail
        else:
            call.success = False
            call.error_type = self.error or "stream_truncated"


# -- bytes to events ------------------------------------------------------------------------------


def _json(data: bytes | str) -> Any:
    try:
        return json.loads(data) if data else None
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None


def _decompressor(encoding: str) -> Any:
    if encoding in ("gzip", "x-gzip"):
        return zlib.decompressobj(16 + zlib.MAX_WBITS)
    if encoding == "deflate":
        return _Deflate()
    return None


class _Deflate:
    """HTTP "deflate" is zlib-wrapped by the standard and raw deflate from some servers."""

    def __init__(self) -> None:
        self._inner: Any = None

    def decompress(self, data: bytes) -> bytes:
        if self._inner is None:
            wrapped = len(data) >= 2 and (data[0] & 0x0F) == 8 and ((data[0] << 8) | data[1]) % 31 == 0
            self._inner = zlib.decompressobj() if wrapped else zlib.decompressobj(-zlib.MAX_WBITS)
        return bytes(self._inner.decompress(data))


def _decode(body: bytes, encoding: str) -> bytes:
    """Undo the content encoding for parsing; the app received the bytes exactly as sent."""
    try:
        if encoding == "br":
            import brotli  # type: ignore[import-not-found]

            return bytes(brotli.decompress(body))
        inflate = _decompressor(encoding)
        return body if inflate is None else bytes(inflate.decompress(body))
    except Exception:
        return b""


def _sse_events(chunks: list[bytes], encoding: str) -> Iterator[tuple[int, str, str]]:
    """(index of the chunk that completed the event, event name, data) for each event."""
    if encoding == "br":  # no incremental decoder at hand: every event dates from the last chunk
        chunks = [b""] * (len(chunks) - 1) + [_decode(b"".join(chunks), encoding)] if chunks else []
        encoding = ""
    inflate = _decompressor(encoding)
    text = codecs.getincrementaldecoder("utf-8")("replace")
    buffer = ""
    kind, data = "", list[str]()
    for index, chunk in enumerate(chunks):
        try:
            raw = chunk if inflate is None else inflate.decompress(chunk)
        except zlib.error:
            return
        buffer += text.decode(raw)
        # A "\r" at a chunk's end may be half of a "\r\n": keep it for the next chunk.
        complete, held = (buffer[:-1], "\r") if buffer.endswith("\r") else (buffer, "")
        lines = complete.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        buffer = lines.pop() + held
        for line in lines:
            if not line:
                if data:
                    yield index, kind, "\n".join(data)
                kind, data = "", list[str]()
            elif line.startswith("data:"):
                data.append(line[5:].removeprefix(" "))
            elif line.startswith("event:"):
                kind = line[6:].strip()


# -- what the user asked --------------------------------------------------------------------------


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _number(value: Any) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(p["text"] for p in content if isinstance(p, dict) and isinstance(p.get("text"), str) and p["text"])
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


# -- what came back -------------------------------------------------------------------------------


def _openai_usage(call: CallRecord, usage: Any) -> None:
    if not isinstance(usage, dict):
        return
    call.input_tokens = _int(usage.get("prompt_tokens", usage.get("input_tokens")))
    call.output_tokens = _int(usage.get("completion_tokens", usage.get("output_tokens")))
    details = usage.get("prompt_tokens_details") or usage.get("input_tokens_details") or {}
    call.cached_input_tokens = _int(details.get("cached_tokens")) if isinstance(details, dict) else None
    cost = _number(usage.get("cost"))  # OpenRouter reports what it charged
    if cost is not None and cost >= 0:
        call.cost_usd, call.cost_source = cost, "provider"


def _anthropic_usage(call: CallRecord, usage: Any) -> None:
    if not isinstance(usage, dict):
        return
    base = _int(usage.get("input_tokens"))
    read = _int(usage.get("cache_read_input_tokens")) or 0
    if base is not None:
        # Anthropic counts cached input apart; fleetui's input_tokens include it.
        call.input_tokens = base + read + (_int(usage.get("cache_creation_input_tokens")) or 0)
        call.cached_input_tokens = read
    if _int(usage.get("output_tokens")) is not None:
        call.output_tokens = usage["output_tokens"]


def _provider_cost(call: CallRecord, headers: dict[str, str]) -> None:
    for name in _COST_HEADERS:
        try:
            cost = float(headers[name])
        except (KeyError, ValueError):
            continue
        if math.isfinite(cost) and cost >= 0:
            call.cost_usd, call.cost_source = cost, "provider"
            return


def _arguments(raw: Any) -> Any:
    """A tool call's arguments: the JSON value when the text parses, else the text as given."""
    if isinstance(raw, str):
        parsed = _json(raw)
        return raw if parsed is None else parsed
    return raw


def _store_tools(call: CallRecord, tools: list[dict[str, Any]]) -> None:
    if tools:
        call.tool_calls = json.dumps(tools, ensure_ascii=False)


def _set_text(call: CallRecord, text: str, tools: list[dict[str, Any]]) -> None:
    # A reply that is only tool calls has no text: None, not "" (tool_calls holds what it said).
    call.response = text if text or not tools else None


def _read_chat(call: CallRecord, reply: dict[str, Any]) -> None:
    call.response_model = _str(reply.get("model"))
    choices = reply.get("choices") or [{}]
    choice = choices[0] if isinstance(choices[0], dict) else {}
    message = choice.get("message") or {}
    tools = [{"name": (t.get("function") or {}).get("name"), "arguments": _arguments((t.get("function") or {}).get("arguments"))}
             for t in message.get("tool_calls") or [] if isinstance(t, dict)]
    legacy = message.get("function_call")
    if isinstance(legacy, dict):
        tools.append({"name": legacy.get("name"), "arguments": _arguments(legacy.get("arguments"))})
    _set_text(call, _str(message.get("content")) or _str(message.get("refusal")) or "", tools)
    _store_tools(call, tools)
    raw = choice.get("finish_reason")
    call.finish_reason = "refusal" if message.get("refusal") else _OPENAI_FINISH.get(raw or "", raw)
    _openai_usage(call, reply.get("usage"))


def _read_responses(call: CallRecord, reply: dict[str, Any]) -> None:
    call.response_model = _str(reply.get("model"))
    texts: list[str] = []
    tools: list[dict[str, Any]] = []
    for item in reply.get("output") or []:
        if not isinstance(item, dict):
            continue
        kind = item.get("type")
        if kind == "message":
            for part in item.get("content") or []:
                if isinstance(part, dict) and part.get("type") in ("output_text", "refusal"):
                    texts.append(_str(part.get("text")) or _str(part.get("refusal")) or "")
        elif kind == "function_call":
            tools.append({"name": item.get("name"), "arguments": _arguments(item.get("arguments"))})
        elif kind == "custom_tool_call":
            tools.append({"name": item.get("name"), "arguments": item.get("input")})
    _set_text(call, "".join(texts), tools)
    _store_tools(call, tools)
    status = reply.get("status")
    if status == "completed":
        call.finish_reason = "tool_calls" if tools else "stop"
    elif status == "incomplete":
        reason = (reply.get("incomplete_details") or {}).get("reason")
        call.finish_reason = _RESPONSES_INCOMPLETE.get(reason, reason) if isinstance(reason, str) else None
    elif status == "failed":
        call.success = False
        call.error_type = _str((reply.get("error") or {}).get("code")) or "response_failed"
    else:
        call.finish_reason = _str(status)
    _openai_usage(call, reply.get("usage"))


def _read_anthropic(call: CallRecord, reply: dict[str, Any]) -> None:
    call.response_model = _str(reply.get("model"))
    if reply.get("type") == "error":
        call.success = False
        call.error_type = _str((reply.get("error") or {}).get("type")) or "api_error"
        return
    blocks = [b for b in reply.get("content") or [] if isinstance(b, dict)]
    tools = [{"name": b.get("name"), "arguments": b.get("input")} for b in blocks
             if b.get("type") in ("tool_use", "server_tool_use")]
    _set_text(call, "".join(_str(b.get("text")) or "" for b in blocks if b.get("type") == "text"), tools)
    _store_tools(call, tools)
    raw = reply.get("stop_reason")
    call.finish_reason = _ANTHROPIC_FINISH.get(raw or "", raw)
    _anthropic_usage(call, reply.get("usage"))


_REPLY_READERS = {"chat": _read_chat, "responses": _read_responses, "anthropic": _read_anthropic}


class _StreamReader:
    """Reads one stream's events into the call; `feed` is True for a content event."""

    def __init__(self, call: CallRecord) -> None:
        self.call = call
        self.finished = False  # the stream's end event arrived
        self.texts: list[str] = []
        self.tools: dict[Any, dict[str, Any]] = {}  # by the stream's index of the tool call

    def feed(self, kind: str, data: str) -> bool:
        event = _json(data)
        if not isinstance(event, dict):
            return False  # a malformed event: the SDK skips or raises; the rest still counts
        return self.on_event(_str(event.get("type")) or kind, event)

    def on_event(self, kind: str, event: dict[str, Any]) -> bool:
        raise NotImplementedError

    def failed(self, error_type: Any, fallback: str) -> None:
        self.call.success = False
        self.call.error_type = _str(error_type) or fallback

    def finish(self) -> None:
        tools = [self._tool(t) for t in self.tools.values()]
        if self.call.response is None:
            _set_text(self.call, "".join(self.texts), tools)
        if self.call.tool_calls is None:
            _store_tools(self.call, tools)

    @staticmethod
    def _tool(partial: dict[str, Any]) -> dict[str, Any]:
        if "input" in partial:  # given whole (Anthropic's content_block_start with arguments)
            return {"name": partial.get("name"), "arguments": partial["input"]}
        return {"name": partial.get("name"), "arguments": _arguments("".join(partial.get("parts", [])))}


class _ChatStream(_StreamReader):
    def feed(self, kind: str, data: str) -> bool:
        if data.strip() == "[DONE]":
            self.finished = True
            return False
        return super().feed(kind, data)

    def on_event(self, kind: str, event: dict[str, Any]) -> bool:
        call = self.call
        if isinstance(event.get("error"), dict):  # an error sent mid-stream, then the stream ends
            error = event["error"]
            self.failed(error.get("type") or error.get("code"), "stream_error")
            return False
        call.response_model = _str(event.get("model")) or call.response_model
        if event.get("usage"):
            _openai_usage(call, event["usage"])
        content = False
        for choice in event.get("choices") or []:
            if not isinstance(choice, dict):
                continue
            delta = choice.get("delta") or {}
            for name in ("content", "refusal", "reasoning_content", "reasoning"):
                piece = delta.get(name)
                if isinstance(piece, str) and piece:
                    content = True
                    if name in ("content", "refusal"):
                        self.texts.append(piece)
            for tool in delta.get("tool_calls") or []:
                if isinstance(tool, dict):
                    self._tool_delta(tool.get("index", 0), tool.get("function"))
                    content = True
            if isinstance(delta.get("function_call"), dict):  # the legacy `functions` API
                self._tool_delta("function_call", delta["function_call"])
                content = True
            raw = choice.get("finish_reason")
            if raw:
                call.finish_reason = _OPENAI_FINISH.get(raw, raw)
            if delta.get("refusal"):
                call.finish_reason = "refusal"
        return content


    def _tool_delta(self, key: Any, function: Any) -> None:
        """A piece of a tool call: its name (once) and a fragment of its arguments."""
        partial = self.tools.setdefault(key, {"parts": []})
        if not isinstance(function, dict):
            return
        if function.get("name"):
            partial["name"] = function["name"]
        if isinstance(function.get("arguments"), str):
            partial["parts"].append(function["arguments"])


class _ResponsesStream(_StreamReader):
    _CONTENT = ("response.output_text.delta", "response.refusal.delta", "response.function_call_arguments.delta",
                "response.custom_tool_call_input.delta", "response.reasoning_text.delta",
                "response.reasoning_summary_text.delta")

    def on_event(self, kind: str, event: dict[str, Any]) -> bool:
        call = self.call
        if kind in ("response.created", "response.in_progress", "response.queued"):
            call.response_model = _str((event.get("response") or {}).get("model")) or call.response_model
        elif kind in ("response.completed", "response.incomplete", "response.failed"):
            self.finished = True
            response = event.get("response")
            if isinstance(response, dict):
                _read_responses(call, response)  # the whole response, usage included
        elif kind == "error":
            self.failed(event.get("code") or (event.get("error") or {}).get("code"), "stream_error")
        elif kind == "response.output_item.added":
            item = event.get("item") or {}
            if item.get("type") in ("function_call", "custom_tool_call"):
                self.tools[event.get("output_index")] = {"name": item.get("name"), "parts": []}
        elif kind in self._CONTENT:
            delta = event.get("delta")
            if kind in ("response.output_text.delta", "response.refusal.delta") and isinstance(delta, str):
                self.texts.append(delta)
            elif kind.endswith((".function_call_arguments.delta", ".custom_tool_call_input.delta")) and isinstance(delta, str):
                self.tools.setdefault(event.get("output_index"), {"parts": []})["parts"].append(delta)
            return bool(delta)
        return False


class _AnthropicStream(_StreamReader):
    def on_event(self, kind: str, event: dict[str, Any]) -> bool:
        call = self.call
        if kind == "message_start":
            message = event.get("message") or {}
            call.response_model = _str(message.get("model"))
            _anthropic_usage(call, message.get("usage"))
        elif kind == "content_block_start":
            block = event.get("content_block") or {}
            if block.get("type") in ("tool_use", "server_tool_use"):
                self.tools[event.get("index")] = {"name": block.get("name"), "parts": []}
        elif kind == "content_block_delta":
            delta = event.get("delta") or {}
            if delta.get("type") == "text_delta" and isinstance(delta.get("text"), str):
                self.texts.append(delta["text"])
                return bool(delta["text"])
            if delta.get("type") == "input_json_delta" and isinstance(delta.get("partial_json"), str):
                self.tools.setdefault(event.get("index"), {"parts": []})["parts"].append(delta["partial_json"])
                return bool(delta["partial_json"])
            return bool(delta.get("thinking"))
        elif kind == "message_delta":
            raw = (event.get("delta") or {}).get("stop_reason")
            call.finish_reason = _ANTHROPIC_FINISH.get(raw or "", raw)
            _anthropic_usage(call, event.get("usage"))
        elif kind == "message_stop":
            self.finished = True
        elif kind == "error":
            self.failed((event.get("error") or {}).get("type"), "stream_error")
        return False

    @staticmethod
    def _tool(partial: dict[str, Any]) -> dict[str, Any]:
        raw = "".join(partial.get("parts", []))
        # A tool called with no arguments streams no input_json_delta: its input is {}.
        return {"name": partial.get("name"), "arguments": _arguments(raw) if raw else {}}


_STREAM_READERS: dict[str, type[_StreamReader]] = {
    "chat": _ChatStream, "responses": _ResponsesStream, "anthropic": _AnthropicStream,
}
