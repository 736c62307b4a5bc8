"""A scripted server on 127.0.0.1 and the exact bytes providers send, for the shim's call shapes.

`WireServer` answers each POST with the next scripted `Reply` (status, headers, body chunks with
pauses between them, optionally hanging up mid-body). The builders below produce the documented
wire formats: OpenAI Chat Completions and Responses (JSON and server-sent events, tool calls,
error events), Anthropic Messages (JSON and events, tool_use). The official SDKs parse these
bytes in the tests, so a builder that strayed from the real format would fail there.
"""

from __future__ import annotations

import collections
import json
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Part = bytes | float  # bytes are written as one chunk; a float pauses that many seconds


@dataclass
class Reply:
    parts: list[Part]
    status: int = 200
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    hang_up: bool = False  # drop the connection after the parts, without the chunked terminator


@dataclass
class Seen:
    path: str
    headers: dict[str, str]
    body: Any


class WireServer:
    def __init__(self) -> None:
        self.replies: collections.deque[Reply] = collections.deque()
        self.requests: list[Seen] = []
        handler = type("Handler", (_Handler,), {"wire": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._server.block_on_close = False
        self._server.handle_error = lambda *a: None  # type: ignore[method-assign]
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def script(self, *replies: Reply) -> None:
        self.replies.extend(replies)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class _Handler(BaseHTTPRequestHandler):
    wire: WireServer
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, *_: Any) -> None:
        pass

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("content-length") or 0))
        self.wire.requests.append(Seen(self.path, {k.lower(): v for k, v in self.headers.items()}, json.loads(raw or b"null")))
        reply = self.wire.replies.popleft()
        self.send_response(reply.status)
        self.send_header("content-type", reply.content_type)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        chunked = len(reply.parts) != 1 or reply.hang_up
        if chunked:
            self.send_header("transfer-encoding", "chunked")
        else:
            self.send_header("content-length", str(len(reply.parts[0])))  # type: ignore[arg-type]
        self.end_headers()
        try:
            for part in reply.parts:
                if isinstance(part, float):
                    self.wfile.flush()
                    time.sleep(part)
                elif chunked:
                    self.wfile.write(f"{len(part):x}\r\n".encode() + part + b"\r\n")
                else:
                    self.wfile.write(part)
                self.wfile.flush()
            if reply.hang_up:
                self.connection.shutdown(socket.SHUT_RDWR)
                self.close_connection = True
            elif chunked:
                self.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client stopped reading: what the abandonment tests do


def _sse(data: dict[str, Any], event: str | None = None) -> bytes:
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {json.dumps(data)}\n\n".encode()


def json_reply(payload: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None) -> Reply:
    return Reply([json.dumps(payload).encode()], status=status, headers=headers or {})


def sse_reply(events: list[Part], headers: dict[str, str] | None = None, hang_up: bool = False) -> Reply:
    return Reply(events, content_type="text/event-stream", headers=headers or {}, hang_up=hang_up)


# -- OpenAI Chat Completions -----------------------------------------------------------------------

MODEL = "gpt-4o-mini-2024-07-18"


def chat_usage(prompt: int = 12, completion: int = 5, **extra: Any) -> dict[str, Any]:
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion,
            "prompt_tokens_details": {"cached_tokens": 0}, **extra}


def chat_json(text: str | None = "Hello there", tools: list[tuple[str, str]] = (), usage: dict[str, Any] | None = None,
              model: str = MODEL) -> Reply:
    message: dict[str, Any] = {"role": "assistant", "content": text, "refusal": None}
    if tools:
        message["tool_calls"] = [{"id": f"call_{i}", "type": "function", "function": {"name": n, "arguments": a}}
                                 for i, (n, a) in enumerate(tools)]
    return json_reply({
        "id": "chatcmpl-1", "object": "chat.completion", "created": 1764600000, "model": model,
        "choices": [{"index": 0, "message": message, "logprobs": None,
                     "finish_reason": "tool_calls" if tools else "stop"}],
        "usage": usage or chat_usage(), "system_fingerprint": "fp_1",
    })


def chat_events(pieces: list[str] = ("Hello", " there"), tools: list[tuple[str, str]] = (), pause: float = 0.0,
                usage: dict[str, Any] | None = None, error: dict[str, Any] | None = None,
                end: bool = True, model: str = MODEL) -> list[Part]:
    """A chat.completion.chunk stream; `pause` seconds pass after the role chunk, before content."""
    base = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1764600000, "model": model,
            "system_fingerprint": "fp_1"}
    out: list[Part] = [_sse({**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""},
                                                  "logprobs": None, "finish_reason": None}]})]
    if pause:
        out.append(pause)
    for piece in pieces:
        out.append(_sse({**base, "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]}))
    for i, (name, arguments) in enumerate(tools):
        out.append(_sse({**base, "choices": [{"index": 0, "delta": {"tool_calls": [
            {"index": i, "id": f"call_{i}", "type": "function", "function": {"name": name, "arguments": ""}}]},
            "finish_reason": None}]}))
        half = len(arguments) // 2
        for fragment in (arguments[:half], arguments[half:]):
            out.append(_sse({**base, "choices": [{"index": 0, "delta": {"tool_calls": [
                {"index": i, "function": {"arguments": fragment}}]}, "finish_reason": None}]}))
    if error is not None:
        out.append(_sse({"error": error}))
        return out
    if not end:
        return out
    out.append(_sse({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls" if tools else "stop"}]}))
    out.append(_sse({**base, "choices": [], "usage": usage or chat_usage()}))
    out.append(b"data: [DONE]\n\n")
    return out


# -- OpenAI Responses ------------------------------------------------------------------------------


def responses_usage(input_tokens: int = 20, output_tokens: int = 6, cached: int = 0) -> dict[str, Any]:
    return {"input_tokens": input_tokens, "input_tokens_details": {"cached_tokens": cached},
            "output_tokens": output_tokens, "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": input_tokens + output_tokens}


def _response(status: str, output: list[dict[str, Any]], usage: dict[str, Any] | None, model: str = MODEL,
              **extra: Any) -> dict[str, Any]:
    return {"id": "resp_1", "object": "response", "created_at": 1764600000, "status": status, "model": model,
            "output": output, "parallel_tool_calls": True, "tool_choice": "auto", "tools": [], "usage": usage,
            "error": None, "incomplete_details": None, "instructions": None, "metadata": {},
            "temperature": 1.0, "top_p": 1.0, "text": {"format": {"type": "text"}}, "truncation": "disabled",
            **extra}


def _message_item(text: str, status: str = "completed") -> dict[str, Any]:
    return {"id": "msg_1", "type": "message", "status": status, "role": "assistant",
            "content": [{"type": "output_text", "text": text, "annotations": []}] if status == "completed" else []}


def _function_item(name: str, arguments: str, index: int, status: str = "completed") -> dict[str, Any]:
    return {"id": f"fc_{index}", "type": "function_call", "status": status, "name": name,
            "call_id": f"call_{index}", "arguments": arguments}


def responses_json(text: str = "Hello there", tools: list[tuple[str, str]] = (), usage: dict[str, Any] | None = None) -> Reply:
    output = ([_message_item(text)] if text else []) + [_function_item(n, a, i) for i, (n, a) in enumerate(tools, 1)]
    return json_reply(_response("completed", output, usage or responses_usage()))


def responses_events(pieces: list[str] = ("Hello", " there"), tools: list[tuple[str, str]] = (), pause: float = 0.0,
                     usage: dict[str, Any] | None = None, fail: str | None = None, error: str | None = None,
                     end: bool = True) -> list[Part]:
    """The Responses API's events, as documented; `pause` seconds pass after response.in_progress."""
    seq = iter(range(10_000))

    def ev(kind: str, **data: Any) -> bytes:
        return _sse({"type": kind, "sequence_number": next(seq), **data}, kind)

    out: list[Part] = [ev("response.created", response=_response("in_progress", [], None)),
                       ev("response.in_progress", response=_response("in_progress", [], None))]
    if pause:
        out.append(pause)
    output: list[dict[str, Any]] = []
    if pieces:
        text = "".join(pieces)
        out.append(ev("response.output_item.added", output_index=0, item=_message_item("", "in_progress")))
        out.append(ev("response.content_part.added", item_id="msg_1", output_index=0, content_index=0,
                      part={"type": "output_text", "text": "", "annotations": []}))
        for piece in pieces:
            out.append(ev("response.output_text.delta", item_id="msg_1", output_index=0, content_index=0,
                          delta=piece, logprobs=[]))
        if error is not None:
            out.append(ev("error", code=error, message="The server had an error", param=None))
            return out
        if not end:
            return out
        out.append(ev("response.output_text.done", item_id="msg_1", output_index=0, content_index=0, text=text, logprobs=[]))
        out.append(ev("response.content_part.done", item_id="msg_1", output_index=0, content_index=0,
                      part={"type": "output_text", "text": text, "annotations": []}))
        output.append(_message_item(text))
        out.append(ev("response.output_item.done", output_index=0, item=output[-1]))
    for i, (name, arguments) in enumerate(tools, len(output)):
        out.append(ev("response.output_item.added", output_index=i, item=_function_item(name, "", i, "in_progress")))
        out.append(ev("response.function_call_arguments.delta", item_id=f"fc_{i}", output_index=i, delta=arguments))
        out.append(ev("response.function_call_arguments.done", item_id=f"fc_{i}", output_index=i, arguments=arguments))
        output.append(_function_item(name, arguments, i))
        out.append(ev("response.output_item.done", output_index=i, item=output[-1]))
    if fail is not None:
        out.append(ev("response.failed", response=_response("failed", output, None,
                                                            error={"code": fail, "message": "failed"})))
    else:
        out.append(ev("response.completed", response=_response("completed", output, usage or responses_usage())))
    return out


# -- Anthropic Messages ----------------------------------------------------------------------------

CLAUDE = "claude-3-5-haiku-20241022"


def anthropic_usage(input_tokens: int = 15, output_tokens: int = 4) -> dict[str, Any]:
    return {"input_tokens": input_tokens, "output_tokens": output_tokens,
            "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}


def anthropic_json(text: str = "Hello there", tools: list[tuple[str, dict[str, Any]]] = ()) -> Reply:
    content: list[dict[str, Any]] = [{"type": "text", "text": text}] if text else []
    content += [{"type": "tool_use", "id": f"toolu_{i}", "name": n, "input": a} for i, (n, a) in enumerate(tools)]
    return json_reply({"id": "msg_1", "type": "message", "role": "assistant", "model": CLAUDE, "content": content,
                       "stop_reason": "tool_use" if tools else "end_turn", "stop_sequence": None,
                       "usage": anthropic_usage()})


def anthropic_events(pieces: list[str] = ("Hello", " there"), tools: list[tuple[str, str]] = (), pause: float = 0.0,
                     error: str | None = None, end: bool = True) -> list[Part]:
    """Messages streaming events; `pause` seconds pass after message_start and the first block start."""
    out: list[Part] = [
        _sse({"type": "message_start", "message": {"id": "msg_1", "type": "message", "role": "assistant",
              "model": CLAUDE, "content": [], "stop_reason": None, "stop_sequence": None,
              "usage": {**anthropic_usage(), "output_tokens": 1}}}, "message_start"),
    ]
    index = 0
    if pieces:
        out.append(_sse({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
                        "content_block_start"))
        out.append(_sse({"type": "ping"}, "ping"))
    if pause:
        out.append(pause)
    if pieces:
        for piece in pieces:
            out.append(_sse({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": piece}},
                            "content_block_delta"))
        if error is not None:
            out.append(_sse({"type": "error", "error": {"type": error, "message": "Overloaded"}}, "error"))
            return out
        if not end:
            return out
        out.append(_sse({"type": "content_block_stop", "index": 0}, "content_block_stop"))
        index = 1
    for i, (name, arguments) in enumerate(tools, index):
        out.append(_sse({"type": "content_block_start", "index": i, "content_block": {
            "type": "tool_use", "id": f"toolu_{i}", "name": name, "input": {}}}, "content_block_start"))
        half = len(arguments) // 2
        for fragment in (arguments[:half], arguments[half:]):
            out.append(_sse({"type": "content_block_delta", "index": i,
                             "delta": {"type": "input_json_delta", "partial_json": fragment}}, "content_block_delta"))
        out.append(_sse({"type": "content_block_stop", "index": i}, "content_block_stop"))
    out.append(_sse({"type": "message_delta", "delta": {"stop_reason": "tool_use" if tools else "end_turn",
                     "stop_sequence": None}, "usage": {"output_tokens": 4}}, "message_delta"))
    out.append(_sse({"type": "message_stop"}, "message_stop"))
    return out
