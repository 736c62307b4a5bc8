"""A real HTTP server on 127.0.0.1 that speaks four providers' documented wire formats.

Mounted under one port: ``/openai/v1`` (chat completions), ``/anthropic`` (Messages),
``/gemini`` (generateContent), ``/ollama`` (native /api). The model name chooses the behaviour,
so a test asks for a fault the way a user would meet it:

| model            | behaviour                                                          |
|------------------|--------------------------------------------------------------------|
| anything else    | a normal reply, JSON or streamed, with usage                        |
| ``no-such-model``| 404 in the provider's error shape                                   |
| ``fault-429``    | 429 with ``Retry-After: 1``                                         |
| ``flaky-500``    | 500 on the first request, then normal                               |
| ``fault-500``    | 500 always                                                          |
| ``fault-529``    | Anthropic's 529 overloaded_error (503 elsewhere)                    |
| ``slow``         | waits ``slow_s`` before answering                                   |
| ``stall``        | streams two chunks, then goes silent for ``slow_s``                 |
| ``drop``         | streams two chunks, then drops the connection                       |
| ``malformed``    | a body (or stream event) that is not JSON                          |
| ``truncated``    | a stream without its terminator                                     |
| ``refuse``       | a refusal (content_filter / refusal / SAFETY)                       |
| ``no-finish``    | (OpenAI) a stream that ends with [DONE] but no finish_reason        |
| ``flaky-429``    | 429 with ``Retry-After: 1`` on its first request, then normal       |

A request that offers tools (OpenAI ``tools``, Anthropic ``tools``) gets a call of the first
tool, not streamed. The OpenAI mount also serves ``/v1/responses`` (JSON and its event stream)
and ``/v1/embeddings``; the Anthropic mount serves ``/v1/messages/count_tokens``.

``scripts`` maps a model name to a function of the request's message texts (system excluded)
that returns the reply text (OpenAI and Anthropic mounts): how tests give models different
answers and a judge that replies with scores.

A wrong or missing key gets 401. Every request is recorded (path, headers, JSON body).
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

REPLY = "Hello from the fake provider!"
CHUNKS = ["Hello", " from", " the", " fake", " provider!"]
MODELS = ["fake-small", "fake-large", "fault-429", "flaky-500", "slow", "stall", "drop", "refuse"]


@dataclass
class Recorded:
    provider: str
    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class FakeProviders:
    keys: dict[str, str] = field(default_factory=lambda: {
        "openai": "sk-fake-openai", "anthropic": "sk-ant-fake", "gemini": "gm-fake", "ollama": "",
    })
    slow_s: float = 2.0
    list_delay_s: float = 0.0  # how long the model list takes (probe benchmarks)
    requests: list[Recorded] = field(default_factory=list)
    scripts: dict[str, Callable[[list[str]], str]] = field(default_factory=dict)
    _seen: dict[str, int] = field(default_factory=dict)
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> FakeProviders:
        handler = type("Handler", (_Handler,), {"fake": self})
        self._server = _QuietServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()

    @property
    def port(self) -> int:
        assert self._server is not None
        return self._server.server_address[1]

    def url(self, provider: str) -> str:
        return f"http://127.0.0.1:{self.port}/{provider}" + ("/v1" if provider == "openai" else "")

    def count(self, model: str) -> int:
        with self._lock:
            self._seen[model] = self._seen.get(model, 0) + 1
            return self._seen[model]


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True  # a handler asleep in a fault must not hold up the test's teardown
    block_on_close = False
    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients hanging up mid-reply is what the fault tests do on purpose


class _Handler(BaseHTTPRequestHandler):
    fake: FakeProviders
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out as separate writes

    def log_message(self, *_: Any) -> None:  # keep test output clean
        pass

    # -- plumbing --------------------------------------------------------------------------

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def _dispatch(self, method: str) -> None:
        provider, _, rest = self.path.lstrip("/").partition("/")
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except json.JSONDecodeError:
            body = raw.decode(errors="replace")
        self.fake.requests.append(
            Recorded(provider, method, "/" + rest, {k.lower(): v for k, v in self.headers.items()}, body)
        )
        if not self._authorised(provider):
            return self._error(provider, 401, "authentication_error", "invalid x-api-key" if provider == "anthropic" else "Incorrect API key provided")
        route = getattr(self, f"_{provider}", None)
        if route is None:
            return self._json(404, {"error": "no such provider mount"})
        route(method, "/" + rest, body if isinstance(body, dict) else {})

    def _authorised(self, provider: str) -> bool:
        expected = self.fake.keys.get(provider, "")
        if not expected:
            return True
        sent = {
            "openai": self.headers.get("authorization", "").removeprefix("Bearer "),
            # x-api-key is the documented header; anthropic SDK 2.x sends the key as a Bearer token.
            "anthropic": self.headers.get("x-api-key") or self.headers.get("authorization", "").removeprefix("Bearer "),
            "gemini": self.headers.get("x-goog-api-key", ""),
            "ollama": self.headers.get("authorization", "").removeprefix("Bearer "),
        }[provider]
        return sent == expected

    def _send(self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(payload).encode(), "application/json", headers)

    def _error(self, provider: str, status: int, kind: str, message: str, headers: dict[str, str] | None = None) -> None:
        if provider == "anthropic":
            payload: Any = {"type": "error", "error": {"type": kind, "message": message}}
        elif provider == "gemini":
            payload = {"error": {"code": status, "message": message, "status": kind.upper()}}
        elif provider == "ollama":
            payload = {"error": message}
        else:
            payload = {"error": {"message": message, "type": kind, "param": None, "code": kind}}
        self._json(status, payload, headers)

    def _stream(self, content_type: str, events: list[bytes], model: str, cut: int = 2) -> None:
        """Send events one by one (chunked), applying the stream faults after `cut` events."""
        self.send_response(200)
        self.send_header("content-type", content_type)
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()
        for index, event in enumerate(events):
            if model == "truncated" and index == len(events) - 1:
                break
            if index == cut and model in ("stall", "drop"):
                if model == "stall":
                    time.sleep(self.fake.slow_s)
                else:
                    self.wfile.flush()
                    self.connection.shutdown(socket.SHUT_RDWR)
                    self.close_connection = True
                    return
            if model == "malformed" and index == 1:
                event = b"data: {not json\n\n" if content_type == "text/event-stream" else b"{not json\n"
            try:
                self.wfile.write(f"{len(event):x}\r\n".encode() + event + b"\r\n")
                self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):
                return  # the client gave up (a timeout under test): nothing to report
        try:
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            return

    def _fault(self, provider: str, model: str) -> bool:
        """Answer a fault model's request; True when it was answered."""
        if model == "no-such-model":
            kind = "not_found_error" if provider == "anthropic" else "model_not_found"
            self._error(provider, 404, kind, f"The model `{model}` does not exist")
        elif model == "fault-429" or model == "flaky-429" and self.fake.count(model) == 1:
            self._error(provider, 429, "rate_limit_error", "Rate limit reached", {"retry-after": "1"})
        elif model == "fault-500" or model == "flaky-500" and self.fake.count(model) == 1:
            self._error(provider, 500, "api_error", "Internal server error")
        elif model == "fault-529":
            status = 529 if provider == "anthropic" else 503
            self._error(provider, status, "overloaded_error", "Overloaded")
        elif model == "malformed" and not self._streaming:
            self._send(200, b'{"choices": [ {"message": ', "application/json")
        else:
            if model == "slow":
                time.sleep(self.fake.slow_s)
            return False
        return True

    _streaming = False

    def _pieces(self, model: str, messages: list[str]) -> list[str]:
        """The reply in stream-sized pieces: the script's text when the model has one."""
        if model == "refuse":
            return []
        script = self.fake.scripts.get(model)
        if script is None:
            return list(CHUNKS)
        text = script(messages)
        words = text.split(" ")
        return [w if i == 0 else " " + w for i, w in enumerate(words)] if text else []

    # -- OpenAI ----------------------------------------------------------------------------

    def _openai(self, method: str, path: str, body: dict[str, Any]) -> None:
        if method == "GET" and path == "/v1/models":
            time.sleep(self.fake.list_delay_s)
            return self._json(200, {"object": "list", "data": [{"id": m, "object": "model"} for m in MODELS]})
        if path not in ("/v1/chat/completions", "/v1/responses", "/v1/embeddings"):
            return self._error("openai", 404, "not_found", f"no route {path}")
        model = body.get("model", "")
        self._streaming = bool(body.get("stream"))
        if self._fault("openai", model):
            return
        if path == "/v1/responses":
            return self._openai_responses(model, body)
        if path == "/v1/embeddings":
            return self._openai_embeddings(model, body)
        if body.get("tools"):
            name = body["tools"][0]["function"]["name"]
            return self._json(200, {
                "id": "chatcmpl-1", "object": "chat.completion", "created": int(time.time()), "model": model,
                "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
                    "role": "assistant", "content": None, "tool_calls": [
                        {"id": "call_1", "type": "function", "function": {"name": name, "arguments": '{"city": "Paris"}'}}]}}],
                "usage": {"prompt_tokens": 12, "completion_tokens": 7, "total_tokens": 19},
            })
        prompt_tokens = sum(len(str(m.get("content", "")).split()) for m in body.get("messages", []))
        pieces = self._pieces(model, [str(m.get("content", "")) for m in body.get("messages", [])
                                      if m.get("role") != "system"])
        usage = {"prompt_tokens": prompt_tokens, "completion_tokens": len(pieces), "total_tokens": prompt_tokens + len(pieces),
                 "prompt_tokens_details": {"cached_tokens": 0}}
        finish = "content_filter" if model == "refuse" else "stop"
        text = "".join(pieces)
        if not self._streaming:
            return self._json(200, {
                "id": "chatcmpl-1", "object": "chat.completion", "created": int(time.time()), "model": model,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": finish}],
                "usage": usage,
            })
        events = []
        base = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": int(time.time()), "model": model}
        events.append({**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}]})
        for piece in pieces:
            events.append({**base, "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]})
        if model != "no-finish":  # no-finish: the way llama.cpp ends an interrupted request
            events.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": finish}]})
        if (body.get("stream_options") or {}).get("include_usage"):
            events.append({**base, "choices": [], "usage": usage})
        encoded = [f"data: {json.dumps(e)}\n\n".encode() for e in events] + [b"data: [DONE]\n\n"]
        self._stream("text/event-stream", encoded, model)

    def _openai_responses(self, model: str, body: dict[str, Any]) -> None:
        given = body.get("input")
        words = len(given.split()) if isinstance(given, str) else len(json.dumps(given).split())
        pieces = self._pieces(model, [given] if isinstance(given, str) else [])
        usage = {"input_tokens": words, "output_tokens": len(pieces), "total_tokens": words + len(pieces),
                 "input_tokens_details": {"cached_tokens": 0}, "output_tokens_details": {"reasoning_tokens": 0}}
        message = {"type": "message", "id": "msg_1", "status": "completed", "role": "assistant",
                   "content": [{"type": "output_text", "text": "".join(pieces), "annotations": []}]}
        response = {"id": "resp_1", "object": "response", "created_at": int(time.time()), "status": "completed",
                    "model": model, "output": [message], "usage": usage}
        if not self._streaming:
            return self._json(200, response)
        started = {**response, "status": "in_progress", "output": [], "usage": None}
        where = {"item_id": "msg_1", "output_index": 0, "content_index": 0}
        part = {"type": "output_text", "text": "", "annotations": []}
        events: list[dict[str, Any]] = [
            {"type": "response.created", "response": started},
            {"type": "response.output_item.added", "output_index": 0,
             "item": {**message, "status": "in_progress", "content": []}},
            {"type": "response.content_part.added", **where, "part": part},
        ]
        events += [{"type": "response.output_text.delta", **where, "delta": p} for p in pieces]
        events += [
            {"type": "response.output_text.done", **where, "text": "".join(pieces)},
            {"type": "response.content_part.done", **where, "part": message["content"][0]},
            {"type": "response.output_item.done", "output_index": 0, "item": message},
            {"type": "response.completed", "response": response},
        ]
        events = [{**e, "sequence_number": i} for i, e in enumerate(events)]
        encoded = [f"event: {e['type']}\ndata: {json.dumps(e)}\n\n".encode() for e in events]
        self._stream("text/event-stream", encoded, model)

    def _openai_embeddings(self, model: str, body: dict[str, Any]) -> None:
        given = body.get("input")
        texts = [given] if isinstance(given, str) else list(given or [])
        tokens = sum(len(str(t).split()) for t in texts)
        self._json(200, {"object": "list", "model": model, "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
                         "data": [{"object": "embedding", "index": i, "embedding": [0.1, 0.2, 0.3]}
                                  for i in range(len(texts))]})

    # -- Anthropic -------------------------------------------------------------------------

    def _anthropic(self, method: str, path: str, body: dict[str, Any]) -> None:
        if method == "GET" and path.startswith("/v1/models"):
            return self._json(200, {"data": [{"id": m, "type": "model", "display_name": m} for m in MODELS],
                                    "has_more": False})
        if path not in ("/v1/messages", "/v1/messages/count_tokens"):
            return self._error("anthropic", 404, "not_found_error", f"no route {path}")
        if "anthropic-version" not in {k.lower() for k in self.headers.keys()}:
            return self._error("anthropic", 400, "invalid_request_error", "anthropic-version header is required")
        model = body.get("model", "")
        self._streaming = bool(body.get("stream"))
        if self._fault("anthropic", model):
            return
        if path == "/v1/messages/count_tokens":
            return self._json(200, {"input_tokens": sum(len(_anthropic_text(m.get("content")).split())
                                                        for m in body.get("messages", []))})
        if body.get("tools"):
            return self._json(200, {
                "id": "msg_1", "type": "message", "role": "assistant", "model": model, "stop_reason": "tool_use",
                "stop_sequence": None, "usage": {"input_tokens": 12, "output_tokens": 7},
                "content": [{"type": "tool_use", "id": "toolu_1", "name": body["tools"][0]["name"],
                             "input": {"city": "Paris"}}],
            })
        input_tokens = sum(len(str(m.get("content", "")).split()) for m in body.get("messages", []))
        stop = "refusal" if model == "refuse" else "end_turn"
        pieces = self._pieces(model, [_anthropic_text(m.get("content")) for m in body.get("messages", [])])
        usage = {"input_tokens": input_tokens, "output_tokens": len(pieces), "cache_read_input_tokens": 3,
                 "cache_creation_input_tokens": 0}
        if not self._streaming:
            return self._json(200, {
                "id": "msg_1", "type": "message", "role": "assistant", "model": model,
                "content": [{"type": "text", "text": "".join(pieces)}], "stop_reason": stop,
                "stop_sequence": None, "usage": usage,
            })
        events: list[tuple[str, dict[str, Any]]] = [
            ("message_start", {"type": "message_start", "message": {
                "id": "msg_1", "type": "message", "role": "assistant", "model": model, "content": [],
                "stop_reason": None, "usage": {**usage, "output_tokens": 1}}}),
            ("content_block_start", {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}),
            ("ping", {"type": "ping"}),
        ]
        events += [("content_block_delta", {"type": "content_block_delta", "index": 0,
                                            "delta": {"type": "text_delta", "text": p}}) for p in pieces]
        events += [
            ("content_block_stop", {"type": "content_block_stop", "index": 0}),
            ("message_delta", {"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": None},
                               "usage": {"output_tokens": len(pieces)}}),
            ("message_stop", {"type": "message_stop"}),
        ]
        encoded = [f"event: {name}\ndata: {json.dumps(data)}\n\n".encode() for name, data in events]
        self._stream("text/event-stream", encoded, model, cut=5)  # after two text deltas

    # -- Gemini ----------------------------------------------------------------------------

    def _gemini(self, method: str, path: str, body: dict[str, Any]) -> None:
        if method == "GET" and path.startswith("/v1beta/models") and ":" not in path:
            return self._json(200, {"models": [{"name": f"models/{m}", "displayName": m} for m in MODELS]})
        if not path.startswith("/v1beta/models/") or ":" not in path:
            return self._error("gemini", 404, "not_found", f"no route {path}")
        name, _, action = path.removeprefix("/v1beta/models/").partition(":")
        self._streaming = action.startswith("streamGenerateContent")
        if self._fault("gemini", name):
            return
        prompt_tokens = sum(len(p.get("text", "").split()) for c in body.get("contents", []) for p in c.get("parts", []))
        refuse = name == "refuse"
        usage = {"promptTokenCount": prompt_tokens, "candidatesTokenCount": 0 if refuse else len(CHUNKS),
                 "totalTokenCount": prompt_tokens + (0 if refuse else len(CHUNKS))}
        if not self._streaming:
            return self._json(200, {
                "candidates": [{"content": {"role": "model", "parts": [{"text": "" if refuse else REPLY}]},
                                "finishReason": "SAFETY" if refuse else "STOP", "index": 0}],
                "usageMetadata": usage, "modelVersion": name,
            })
        chunks = []
        pieces = [] if refuse else CHUNKS
        for index, piece in enumerate(pieces):
            chunk: dict[str, Any] = {"candidates": [{"content": {"role": "model", "parts": [{"text": piece}]}, "index": 0}],
                                     "modelVersion": name}
            if index == len(pieces) - 1:
                chunk["candidates"][0]["finishReason"] = "STOP"
                chunk["usageMetadata"] = usage
            chunks.append(chunk)
        if refuse:
            chunks.append({"candidates": [{"content": {"role": "model", "parts": []}, "finishReason": "SAFETY"}],
                           "usageMetadata": usage, "modelVersion": name})
        encoded = [f"data: {json.dumps(c)}\r\n\r\n".encode() for c in chunks]
        self._stream("text/event-stream", encoded, name)

    # -- Ollama ----------------------------------------------------------------------------

    def _ollama(self, method: str, path: str, body: dict[str, Any]) -> None:
        if method == "GET" and path == "/api/tags":
            return self._json(200, {"models": [{"name": f"{m}:latest", "model": f"{m}:latest"} for m in MODELS]})
        if path != "/api/chat":
            return self._error("ollama", 404, "not_found", "404 page not found")
        model = body.get("model", "")
        self._streaming = body.get("stream", True) is not False  # Ollama streams unless told not to
        if self._fault("ollama", model):
            return
        prompt_tokens = sum(len(str(m.get("content", "")).split()) for m in body.get("messages", []))
        final = {"model": model, "created_at": "2026-11-22T00:00:00Z", "message": {"role": "assistant", "content": ""},
                 "done": True, "done_reason": "stop", "prompt_eval_count": prompt_tokens, "eval_count": len(CHUNKS),
                 "total_duration": 1000, "eval_duration": 500}
        if not self._streaming:
            return self._json(200, {**final, "message": {"role": "assistant", "content": REPLY}})
        lines = [json.dumps({"model": model, "created_at": "2026-11-22T00:00:00Z",
                             "message": {"role": "assistant", "content": p}, "done": False}) for p in CHUNKS]
        lines.append(json.dumps(final))
        self._stream("application/x-ndjson", [(line + "\n").encode() for line in lines], model)


def _anthropic_text(content: Any) -> str:
    if isinstance(content, list):
        return "".join(block.get("text", "") for block in content if isinstance(block, dict))
    return str(content or "")
