"""What the gateway hands the recorder: the shim's own Exchange, so a call through the gateway is
parsed, priced and privacy-filtered by exactly the rules of a call through the SDK hook.

The gateway keeps references to the bytes it relayed and the timings it took; parsing happens on
the recorder's thread. Two shapes the shim's SDK hook does not parse yet are read here: a
streamed Responses API reply (its events carry text and usage their own way) and an
embeddings reply (no output tokens: zero, not unknown).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from fleetui.shim.exchange import Exchange
from fleetui.store.records import CallRecord


@dataclass
class GatewayExchange(Exchange):
    operation: str = "chat"

    def to_record(self) -> CallRecord:
        call = super().to_record()
        call.operation_name = self.operation
        if not call.success or self.error:
            return call
        if self.operation == "embeddings":
            if call.input_tokens is not None:
                call.output_tokens = 0
        elif call.streamed and self.url.endswith("/responses"):
            _read_responses_stream(call, b"".join(self.chunks))
        return call


def _read_responses_stream(call: CallRecord, body: bytes) -> None:
    parts: list[str] = []
    completed = False
    for line in body.decode("utf-8", "replace").splitlines():
        if not line.startswith("data:"):
            continue
        try:
            event: Any = json.loads(line[5:])
        except ValueError:
            continue
        if not isinstance(event, dict):
            continue
        kind = event.get("type")
        if kind == "response.output_text.delta":
            parts.append(str(event.get("delta") or ""))
        elif kind in ("response.completed", "response.incomplete", "response.failed"):
            response = event.get("response") or {}
            completed = kind == "response.completed"
            call.response_model = response.get("model") or call.response_model
            call.finish_reason = "stop" if completed else response.get("status") or kind.rsplit(".", 1)[1]
            usage = response.get("usage") or {}
            call.input_tokens = usage.get("input_tokens")
            call.output_tokens = usage.get("output_tokens")
            call.cached_input_tokens = (usage.get("input_tokens_details") or {}).get("cached_tokens")
            if kind == "response.failed":
                call.success, call.error_type = False, ((response.get("error") or {}).get("code") or "failed")
        elif kind == "error":
            call.success, call.error_type = False, str(event.get("code") or "stream_error")
    call.response = "".join(parts)
    call.incomplete = not completed
