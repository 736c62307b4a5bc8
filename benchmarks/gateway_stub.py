"""The upstream every gateway benchmark talks to: an OpenAI chat-completions stub, as cheap as
an ASGI app can be, on uvicorn (httptools, uvloop), so that what is measured is the gateway.

    python benchmarks/gateway_stub.py PORT

JSON replies are one fixed body; streams are six SSE events and [DONE], each its own chunk, the
first sent at once (time to first token is what a streaming client waits for).
"""

from __future__ import annotations

import json
import sys
from typing import Any

_USAGE = {"prompt_tokens": 9, "completion_tokens": 5, "total_tokens": 14}
_REPLY = json.dumps({
    "id": "chatcmpl-bench", "object": "chat.completion", "created": 0, "model": "bench-model",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello from the stub!"}, "finish_reason": "stop"}],
    "usage": _USAGE,
}).encode()
_BASE = {"id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 0, "model": "bench-model"}
_EVENTS = [
    *({**_BASE, "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]}
      for piece in ("Hello", " from", " the", " stub!")),
    {**_BASE, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
    {**_BASE, "choices": [], "usage": _USAGE},
]
_CHUNKS = [f"data: {json.dumps(e)}\n\n".encode() for e in _EVENTS] + [b"data: [DONE]\n\n"]
_JSON = [(b"content-type", b"application/json"), (b"content-length", str(len(_REPLY)).encode())]
_SSE = [(b"content-type", b"text/event-stream")]


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    if b'"stream": true' in body or b'"stream":true' in body:
        await send({"type": "http.response.start", "status": 200, "headers": _SSE})
        for chunk in _CHUNKS:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})
        return
    await send({"type": "http.response.start", "status": 200, "headers": _JSON})
    await send({"type": "http.response.body", "body": _REPLY, "more_body": False})


if __name__ == "__main__":
    import uvicorn

    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), loop="uvloop", http="httptools",
                access_log=False, log_level="warning", lifespan="off")
