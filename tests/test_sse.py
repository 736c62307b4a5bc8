"""Server-sent events: the whole format, as streaming APIs and the servers in front of them use it."""

from __future__ import annotations

import json

import httpx
import pytest

from fleetui.providers import ChatRequest, ErrorKind, ProviderError, StreamDone
from fleetui.providers.anthropic import AnthropicAdapter
from fleetui.providers.openai import OpenAIAdapter
from fleetui.providers.sse import ServerSentEvent, SSEDecoder
from tests.test_providers import collect


def decode(text: str) -> list[ServerSentEvent]:
    decoder = SSEDecoder()
    found = [e for line in text.split("\n") if (e := decoder.feed(line)) is not None]
    last = decoder.end()
    return found + ([last] if last else [])


def test_data_lines_of_one_event_join_with_newlines() -> None:
    assert decode("data: first\ndata: second\n\n") == [ServerSentEvent("first\nsecond")]


def test_comments_fields_and_the_optional_space() -> None:
    events = decode(": keep-alive\nevent: delta\nid: 7\nretry: 1500\ndata:no space\n\n"
                    "data:  two spaces\n\nretry: soon\nid: bad\0id\nwhatever: ignored\ndata\n\n")
    assert events == [
        ServerSentEvent("no space", "delta", "7", 1500),
        ServerSentEvent(" two spaces", "message", "7", 1500),  # only one space is the separator
        ServerSentEvent("", "message", "7", 1500),  # `data` alone is a field with an empty value
    ]


def test_blank_lines_without_data_dispatch_nothing_and_reset_the_event_name() -> None:
    assert decode("event: lonely\n\n\ndata: x\n\n") == [ServerSentEvent("x")]


def test_a_byte_order_mark_opens_the_stream() -> None:
    assert decode("\ufeffdata: x\n\n") == [ServerSentEvent("x")]


def test_an_event_the_stream_ends_in_is_kept() -> None:
    assert decode("data: a\n\ndata: last") == [ServerSentEvent("a"), ServerSentEvent("last")]


def _streaming(body: str) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body.encode())

    return httpx.MockTransport(handler)


async def _collect(adapter: OpenAIAdapter | AnthropicAdapter) -> tuple[list[str], StreamDone]:
    async with adapter:
        return await collect(adapter, ChatRequest.of("hi"))


async def test_openai_compatible_stream_with_a_payload_split_over_lines_and_keep_alives() -> None:
    first = {"model": "m", "choices": [{"index": 0, "delta": {"content": "Hel"}}]}
    split = json.dumps({"model": "m", "choices": [{"index": 0, "delta": {"content": "lo"}, "finish_reason": "stop"}]},
                       indent=1).replace("\n", "\ndata: ")  # valid SSE: one event, several data lines
    usage = {"model": "m", "choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 2}}
    body = (f": proxy keep-alive\r\ndata: {json.dumps(first)}\r\n\r\nid: 2\r\ndata: {split}\r\n\r\n"
            f"data: {json.dumps(usage)}\r\n\r\ndata: [DONE]\r\n\r\n")
    adapter = OpenAIAdapter(base_url="http://upstream.test/v1", model="m", transport=_streaming(body))
    deltas, done = await _collect(adapter)
    assert deltas == ["Hel", "lo"]
    assert done.result.text == "Hello" and done.result.finish_reason == "stop"
    assert (done.result.input_tokens, done.result.output_tokens) == (3, 2)


async def test_anthropic_stream_with_named_events_and_pings() -> None:
    def event(name: str, data: dict[str, object]) -> str:
        return f"event: {name}\ndata: {json.dumps(data)}\n\n"

    body = (event("message_start", {"type": "message_start", "message": {"model": "claude-x", "usage": {"input_tokens": 5}}})
            + ": ping\n\n" + event("ping", {"type": "ping"})
            + event("content_block_delta", {"type": "content_block_delta", "delta": {"type": "text_delta", "text": "Hi"}})
            + event("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn"},
                                      "usage": {"output_tokens": 1}})
            + event("message_stop", {"type": "message_stop"}))
    adapter = AnthropicAdapter(base_url="http://upstream.test", model="claude-x", transport=_streaming(body))
    deltas, done = await _collect(adapter)
    assert deltas == ["Hi"] and done.result.finish_reason == "stop"
    assert (done.result.input_tokens, done.result.output_tokens) == (5, 1)


async def test_a_payload_that_is_not_json_is_a_bad_response_with_the_text_so_far() -> None:
    first = {"model": "m", "choices": [{"index": 0, "delta": {"content": "partial"}}]}
    body = f"data: {json.dumps(first)}\n\ndata: {{not json\n\n"
    adapter = OpenAIAdapter(base_url="http://upstream.test/v1", model="m", transport=_streaming(body))
    with pytest.raises(ProviderError) as caught:
        await _collect(adapter)
    assert caught.value.kind is ErrorKind.BAD_RESPONSE and caught.value.partial_text == "partial"
