"""The exchange reader on its own: bytes as a socket delivers them, cut anywhere."""

from __future__ import annotations

import gzip
import json

import pytest

from fleetui.shim.exchange import CLOSED, READ_TO_END, Exchange
from tests.fakeproviders.wire import chat_events, responses_events

URL = "https://api.openai.com/v1/chat/completions"


def exchange(parts: list[bytes], *, url: str = URL, headers: dict[str, str] | None = None, end: str = READ_TO_END) -> Exchange:
    ex = Exchange(url, json.dumps({"model": "gpt-4o-mini", "stream": True}).encode(), 1000.0, 0.0)
    ex.status = 200
    ex.headers = {"content-type": "text/event-stream", **(headers or {})}
    ex.chunks = parts
    ex.chunk_perf = [float(i + 1) for i in range(len(parts))]  # chunk i arrives at i + 1 seconds
    ex.last_read_perf = float(len(parts))
    ex.end = end
    return ex


def test_events_split_at_every_byte_read_the_same() -> None:
    body = b"".join(p for p in chat_events(pieces=["caf\u00e9", " ok"]) if isinstance(p, bytes)).replace(b"\n", b"\r\n")
    whole = exchange([body]).to_record()
    pieces = exchange([body[i:i + 1] for i in range(len(body))]).to_record()  # "\r" and "\n", UTF-8 split
    assert whole.response == pieces.response == "caf\u00e9 ok"
    assert (whole.input_tokens, whole.success, whole.incomplete) == (pieces.input_tokens, True, False) == (12, True, False)


def test_ttft_is_the_chunk_that_completes_the_first_content_event() -> None:
    events = [p for p in chat_events(pieces=["hi"]) if isinstance(p, bytes)]
    role, content = events[0], events[1]
    parts = [role, content[:10], content[10:], *events[2:]]
    call = exchange(parts).to_record()
    assert call.ttft_ms == 3000.0, "the role chunk (1 s) carries no content; the delta completes in chunk 3"
    assert call.latency_ms == len(parts) * 1000.0


def test_gzip_streams_are_inflated_chunk_by_chunk() -> None:
    body = gzip.compress(b"".join(p for p in responses_events(pieces=["zip", "ped"]) if isinstance(p, bytes)))
    cut = len(body) // 3
    call = exchange([body[:cut], body[cut:2 * cut], body[2 * cut:]], url="https://api.openai.com/v1/responses",
                    headers={"content-encoding": "gzip"}).to_record()
    assert call.response == "zipped" and call.success and call.output_tokens == 6


def test_malformed_events_and_bad_reported_costs_are_ignored_not_fatal() -> None:
    events = [p for p in chat_events(pieces=["fine"]) if isinstance(p, bytes)]
    events.insert(1, b"data: {not json\n\n")
    call = exchange(events, headers={"x-litellm-response-cost": "nan"}).to_record()
    assert call.response == "fine" and call.success and call.cost_usd is None and call.cost_source is None
    negative = exchange(events, headers={"x-litellm-response-cost": "-1"}).to_record()
    assert negative.cost_usd is None


@pytest.mark.parametrize("end, success, abandoned", [(READ_TO_END, False, None), (CLOSED, True, True)])
def test_who_stopped_a_stream_decides_its_outcome(end: str, success: bool, abandoned: bool | None) -> None:
    events = [p for p in chat_events(pieces=["par"], end=False) if isinstance(p, bytes)]
    call = exchange(events, end=end).to_record()
    assert (call.success, call.incomplete, call.abandoned) == (success, True, abandoned)
    assert call.error_type == (None if success else "stream_truncated")
