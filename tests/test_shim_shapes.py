"""Every call shape of the official openai and anthropic SDKs, through instrument(), against a
loopback server sending the providers' real wire formats (tests/fakeproviders/wire.py).

Each scenario checks what is stored (model, tokens, text, tool calls, TTFT, latency, outcome,
cost and its source) and that the app sees exactly what an uninstrumented client shows it.
Times are only compared with bounds the server's own pauses make certain (a delta sent after a
0.3 s pause cannot arrive before it), never with how fast this machine is.
"""

from __future__ import annotations

import asyncio
import gc
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import anthropic
import openai
import pytest

from fleetui.shim import Recorder, attributes, configure, instrument, track
from fleetui.store import Store
from tests.fakeproviders.wire import (
    CLAUDE, MODEL, Reply, WireServer, anthropic_events, anthropic_json, chat_events, chat_json, chat_usage,
    json_reply, responses_events, responses_json, sse_reply,
)

PAUSE = 0.3
WEATHER = ("get_weather", '{"city": "Paris", "unit": "c"}')
FLEET = """
name = "shapes"

[[providers]]
id = "loop"
kind = "openai-compatible"
base_url = "{url}/v1"

[[providers]]
id = "loop-claude"
kind = "anthropic"
base_url = "{url}"

[[models]]
id = "mini-retired"
name = "Mini (retired)"
provider = "loop"
model = "gpt-4o-mini"
enabled = false
price = {{ input = 1.0, output = 2.0 }}

[[models]]
id = "mini-chat"
name = "Mini for chat"
provider = "loop"
model = "gpt-4o-mini"
price = {{ input = 3.0, output = 4.0 }}

[[models]]
id = "mini-batch"
name = "Mini for batch jobs"
provider = "loop"
model = "gpt-4o-mini"
price = {{ input = 5.0, output = 6.0 }}

[[models]]
id = "haiku"
name = "Claude Haiku"
provider = "loop-claude"
model = "claude-3-5-haiku-latest"
"""


@pytest.fixture
def wire() -> Iterator[WireServer]:
    server = WireServer()
    yield server
    server.stop()


@pytest.fixture
def fleet_file(tmp_path: Path, wire: WireServer) -> Path:
    path = tmp_path / "fleet.toml"
    path.write_text(FLEET.format(url=wire.url), encoding="utf-8")
    return path


@pytest.fixture
def recorder(tmp_path: Path, fleet_file: Path) -> Iterator[Recorder]:
    rec = configure(db_path=tmp_path / "shapes.db", fleet_path=fleet_file, source="shapes", interval_s=0.05)
    yield rec
    rec.close()


def rows(rec: Recorder, expected: int | None = None) -> list[dict[str, Any]]:
    """The stored calls; with `expected`, waits (generously) for records still on their way."""
    deadline = time.monotonic() + 30
    while True:
        assert rec.flush(10)
        with Store.open(rec.db_path) as store:
            got = list(store.db.query("SELECT * FROM calls ORDER BY ts, id"))
        if expected is None or len(got) >= expected or time.monotonic() > deadline:
            return got
        time.sleep(0.05)


def oai(wire: WireServer, *, instrumented: bool = True, asynchronous: bool = False, retries: int = 0, **kw: Any) -> Any:
    cls = openai.AsyncOpenAI if asynchronous else openai.OpenAI
    client = cls(base_url=wire.url + "/v1", api_key="sk-test", max_retries=retries)
    return instrument(client, **kw) if instrumented else client


def claude(wire: WireServer, *, instrumented: bool = True, asynchronous: bool = False, **kw: Any) -> Any:
    cls = anthropic.AsyncAnthropic if asynchronous else anthropic.Anthropic
    client = cls(base_url=wire.url, api_key="sk-ant-test", max_retries=0)
    return instrument(client, **kw) if instrumented else client


ASK = [{"role": "user", "content": "what is the weather in Paris?"}]


def tools_of(row: dict[str, Any]) -> list[dict[str, Any]] | None:
    return json.loads(row["tool_calls"]) if row["tool_calls"] else None


def dump(value: Any) -> Any:
    """What the app got, as plain data (SDK objects by their fields)."""
    if hasattr(value, "model_dump"):
        return value.model_dump(warnings=False)
    if isinstance(value, list):
        return [dump(v) for v in value]
    return value


# -- OpenAI Chat Completions ----------------------------------------------------------------------


def test_chat_tool_calls_are_stored_with_name_and_arguments(recorder: Recorder, wire: WireServer) -> None:
    wire.script(chat_json(text=None, tools=[WEATHER]))
    reply = oai(wire).chat.completions.create(model="gpt-4o-mini", messages=ASK, tools=[])
    [row] = rows(recorder)
    call = reply.choices[0].message.tool_calls[0]
    assert tools_of(row) == [{"name": call.function.name, "arguments": json.loads(call.function.arguments)}]
    assert row["response"] is None and row["finish_reason"] == "tool_calls" and row["success"] == 1


def test_chat_stream_ttft_is_the_first_content_delta_and_tools_are_assembled(recorder: Recorder, wire: WireServer) -> None:
    wire.script(sse_reply(chat_events(pieces=["It is", " sunny"], tools=[WEATHER], pause=PAUSE)))
    started = time.perf_counter()
    chunks = list(oai(wire).chat.completions.create(model="gpt-4o-mini", messages=ASK, stream=True,
                                                    stream_options={"include_usage": True}))
    elapsed_ms = (time.perf_counter() - started) * 1000
    [row] = rows(recorder)
    assert row["ttft_ms"] >= PAUSE * 1000, "the role chunk came before the pause; the first content after it"
    assert row["ttft_ms"] <= row["latency_ms"] <= elapsed_ms
    assert row["response"] == "It is sunny" and tools_of(row) == [{"name": "get_weather", "arguments": {"city": "Paris", "unit": "c"}}]
    assert (row["input_tokens"], row["output_tokens"]) == (chunks[-1].usage.prompt_tokens, chunks[-1].usage.completion_tokens)
    assert row["success"] == 1 and row["incomplete"] == 0 and row["finish_reason"] == "tool_calls"


def test_chat_stream_ending_in_an_error_event_is_a_failure(recorder: Recorder, wire: WireServer) -> None:
    wire.script(sse_reply(chat_events(error={"message": "The server had an error", "type": "server_error"})))
    with pytest.raises(openai.APIError):
        for _ in oai(wire).chat.completions.create(model="gpt-4o-mini", messages=ASK, stream=True):
            pass
    [row] = rows(recorder)
    assert (row["success"], row["error_type"]) == (0, "server_error")


def test_a_stream_cut_off_by_the_server_is_not_a_success(recorder: Recorder, wire: WireServer) -> None:
    wire.script(sse_reply(chat_events(end=False), hang_up=True))
    with pytest.raises(Exception):  # noqa: B017 - the SDK's own error for a broken body, whatever it is
        for _ in oai(wire).chat.completions.create(model="gpt-4o-mini", messages=ASK, stream=True):
            pass
    [row] = rows(recorder)
    assert row["success"] == 0 and row["incomplete"] == 1 and row["error_type"]


def test_a_stream_that_just_stops_without_its_end_is_truncated(recorder: Recorder, wire: WireServer) -> None:
    wire.script(sse_reply(chat_events(end=False)))  # a clean end of body, no finish_reason, no [DONE]
    text = "".join(c.choices[0].delta.content or "" for c in
                   oai(wire).chat.completions.create(model="gpt-4o-mini", messages=ASK, stream=True) if c.choices)
    [row] = rows(recorder)
    assert text == "Hello there" == row["response"]
    assert (row["success"], row["error_type"], row["incomplete"]) == (0, "stream_truncated", 1)


# -- OpenAI Responses ----------------------------------------------------------------------------


def test_responses_create_with_text_and_function_calls(recorder: Recorder, wire: WireServer) -> None:
    wire.script(responses_json(text="Calling the tool", tools=[WEATHER]))
    reply = oai(wire).responses.create(model="gpt-4o-mini", input="weather in Paris?", max_output_tokens=100)
    [row] = rows(recorder)
    assert row["response"] == reply.output_text == "Calling the tool"
    assert tools_of(row) == [{"name": "get_weather", "arguments": {"city": "Paris", "unit": "c"}}]
    assert (row["input_tokens"], row["output_tokens"]) == (reply.usage.input_tokens, reply.usage.output_tokens)
    assert row["prompt"] == "weather in Paris?" and row["request_max_tokens"] == 100
    assert row["finish_reason"] == "tool_calls" and row["response_model"] == MODEL


def test_responses_stream_true_records_text_tokens_and_true_ttft(recorder: Recorder, wire: WireServer) -> None:
    wire.script(sse_reply(responses_events(pieces=["Sun", "ny"], pause=PAUSE)))
    events = list(oai(wire).responses.create(model="gpt-4o-mini", input="weather?", stream=True))
    [row] = rows(recorder)
    final = events[-1].response
    assert row["response"] == final.output_text == "Sunny"
    assert (row["input_tokens"], row["output_tokens"]) == (final.usage.input_tokens, final.usage.output_tokens)
    assert row["ttft_ms"] >= PAUSE * 1000, "response.created is not the first token"
    assert row["success"] == 1 and row["incomplete"] == 0 and row["cost_usd"] is not None


def test_responses_stream_helper_sync_and_async(recorder: Recorder, wire: WireServer) -> None:
    wire.script(sse_reply(responses_events(pieces=["A", "B"], tools=[WEATHER])), sse_reply(responses_events(pieces=["C"])))
    with oai(wire).responses.stream(model="gpt-4o-mini", input="x") as stream:
        deltas = [e.delta for e in stream if e.type == "response.output_text.delta"]
        sync_final = stream.get_final_response()

    async def run() -> str:
        client = oai(wire, asynchronous=True)
        async with client.responses.stream(model="gpt-4o-mini", input="y") as astream:
            async for _ in astream:
                pass
            final = await astream.get_final_response()
        await client.close()
        return final.output_text

    assert asyncio.run(run()) == "C"
    first, second = rows(recorder)
    assert deltas == ["A", "B"] and first["response"] == sync_final.output_text == "AB"
    assert tools_of(first) == [{"name": "get_weather", "arguments": {"city": "Paris", "unit": "c"}}]
    assert second["response"] == "C" and second["streamed"] == 1 and second["success"] == 1


@pytest.mark.parametrize("kind", ["failed", "error"])
def test_responses_stream_failure_events(recorder: Recorder, wire: WireServer, kind: str) -> None:
    events = responses_events(fail="server_error") if kind == "failed" else responses_events(error="rate_limit_exceeded")
    wire.script(sse_reply(events))
    seen = [e.type for e in oai(wire).responses.create(model="gpt-4o-mini", input="x", stream=True)]
    [row] = rows(recorder)
    assert seen[-1] == ("response.failed" if kind == "failed" else "error")
    assert (row["success"], row["error_type"]) == (0, "server_error" if kind == "failed" else "rate_limit_exceeded")


# -- Anthropic Messages -------------------------------------------------------------------------


def test_anthropic_stream_ttft_is_the_first_text_delta_not_message_start(recorder: Recorder, wire: WireServer) -> None:
    wire.script(sse_reply(anthropic_events(pieces=["Bon", "jour"], tools=[WEATHER], pause=PAUSE)))
    with claude(wire).messages.stream(model="claude-3-5-haiku-latest", max_tokens=64, messages=ASK) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    [row] = rows(recorder)
    assert row["ttft_ms"] >= PAUSE * 1000 and row["ttft_ms"] <= row["latency_ms"]
    assert row["response"] == text == "Bonjour"
    assert tools_of(row) == [{"name": b.name, "arguments": b.input} for b in final.content if b.type == "tool_use"]
    assert row["model_id"] == "haiku" and row["response_model"] == CLAUDE
    assert row["cost_source"].startswith("catalog@") and row["cost_usd"] > 0


def test_anthropic_tool_use_reply_and_error_event(recorder: Recorder, wire: WireServer) -> None:
    wire.script(anthropic_json(text="", tools=[("lookup", {"q": "menu"})]),
                sse_reply(anthropic_events(error="overloaded_error")))
    client = claude(wire)
    message = client.messages.create(model="claude-3-5-haiku-latest", max_tokens=64, messages=ASK)
    with pytest.raises(anthropic.APIStatusError):
        with client.messages.stream(model="claude-3-5-haiku-latest", max_tokens=64, messages=ASK) as stream:
            for _ in stream:
                pass
    tool, failed = rows(recorder)
    assert tools_of(tool) == [{"name": "lookup", "arguments": message.content[0].input}] and tool["response"] is None
    assert tool["finish_reason"] == "tool_calls"
    assert (failed["success"], failed["error_type"]) == (0, "overloaded_error")


# -- raw and streaming responses -------------------------------------------------------------


def test_with_raw_response_and_with_streaming_response(recorder: Recorder, wire: WireServer) -> None:
    wire.script(chat_json(text="raw"), chat_json(text="streamed body"),
                sse_reply(anthropic_events(pieces=["ok"])), anthropic_json(text="raw claude"))
    client, aclient = oai(wire), claude(wire)
    raw = client.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=ASK)
    assert raw.parse().choices[0].message.content == "raw"
    with client.chat.completions.with_streaming_response.create(model="gpt-4o-mini", messages=ASK) as response:
        assert response.parse().choices[0].message.content == "streamed body"
    with aclient.messages.with_streaming_response.create(model="claude-3-5-haiku-latest", max_tokens=9, messages=ASK,
                                                        stream=True) as response:
        lines = list(response.iter_lines())
    assert any("message_stop" in line for line in lines)
    assert aclient.messages.with_raw_response.create(model="claude-3-5-haiku-latest", max_tokens=9,
                                                     messages=ASK).parse().content[0].text == "raw claude"
    got = rows(recorder)
    assert [r["response"] for r in got] == ["raw", "streamed body", "ok", "raw claude"]
    assert all(r["success"] == 1 and r["incomplete"] == 0 for r in got)


# -- abandoned streams ------------------------------------------------------------------------


def _long_stream() -> Reply:
    return sse_reply(chat_events(pieces=["one", " two", " three", " four"]))


def test_closed_stream_ends_at_the_last_read(recorder: Recorder, wire: WireServer) -> None:
    wire.script(sse_reply(chat_events(pieces=["one", " two"]) + [PAUSE] + chat_events(pieces=[" three"])))
    started = time.perf_counter()
    stream = oai(wire).chat.completions.create(model="gpt-4o-mini", messages=ASK, stream=True)
    next(iter(stream))
    read_ms = (time.perf_counter() - started) * 1000
    time.sleep(PAUSE)  # held, unread, before closing
    stream.close()
    [row] = rows(recorder)
    assert row["latency_ms"] <= read_ms, "latency ends at the app's last read, not at close"
    assert (row["incomplete"], row["abandoned"], row["success"]) == (1, 1, 1)


def test_dropped_stream_is_recorded_when_collected(recorder: Recorder, wire: WireServer) -> None:
    wire.script(_long_stream())
    stream = oai(wire).chat.completions.create(model="gpt-4o-mini", messages=ASK, stream=True)
    next(iter(stream))
    del stream
    gc.collect()
    [row] = rows(recorder, expected=1)
    assert (row["incomplete"], row["abandoned"]) == (1, 1)


def test_held_but_unread_stream_is_recorded_after_idle_s(recorder: Recorder, wire: WireServer) -> None:
    wire.script(sse_reply(chat_events(pieces=["one"]) + [5.0]))
    started = time.perf_counter()
    stream = oai(wire, idle_s=0.2).chat.completions.create(model="gpt-4o-mini", messages=ASK, stream=True)
    iterator = iter(stream)
    next(iterator)
    read_ms = (time.perf_counter() - started) * 1000
    [row] = rows(recorder, expected=1)  # recorded while the app still holds the stream
    assert stream is not None and row["latency_ms"] <= read_ms
    assert (row["incomplete"], row["abandoned"]) == (1, 1)
    stream.close()


def test_a_slow_server_is_not_an_idle_app(recorder: Recorder, wire: WireServer) -> None:
    # The SDK waits on the network three times idle_s: the app is still reading. (idle_s is far
    # above the microseconds the app holds each chunk, however loaded the machine.)
    wire.script(sse_reply(chat_events(pieces=["a", "b"], pause=3.0)))
    stream = oai(wire, idle_s=1.0).chat.completions.create(model="gpt-4o-mini", messages=ASK, stream=True)
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    [row] = rows(recorder)
    assert text == row["response"] == "ab" and row["success"] == 1 and row["incomplete"] == 0 and not row["abandoned"]


# -- SDK retries ------------------------------------------------------------------------------


@pytest.mark.parametrize("asynchronous", [False, True])
def test_sdk_retries_are_attempts_of_one_app_call(recorder: Recorder, wire: WireServer, asynchronous: bool) -> None:
    limited = json_reply({"error": {"message": "Rate limit", "type": "requests", "code": "rate_limit_exceeded"}},
                         status=429, headers={"retry-after-ms": "10"})
    wire.script(limited, limited, chat_json(text="third time"), chat_json(text="once"))
    client = oai(wire, retries=3, asynchronous=asynchronous)

    async def calls() -> list[str]:
        out = []
        for _ in range(2):
            reply = await client.chat.completions.create(model="gpt-4o-mini", messages=ASK)
            out.append(reply.choices[0].message.content)
        return out

    if asynchronous:
        texts = asyncio.run(calls())
    else:
        texts = [client.chat.completions.create(model="gpt-4o-mini", messages=ASK).choices[0].message.content
                 for _ in range(2)]
    assert texts == ["third time", "once"]
    got = rows(recorder)
    assert [(r["attempt"], r["success"], r["status_code"]) for r in got] == [(1, 0, 429), (2, 0, 429), (3, 1, 200), (None, 1, 200)]
    first = got[0]
    assert first["app_call_id"] == first["call_id"] and {r["app_call_id"] for r in got[:3]} == {first["call_id"]}
    assert got[3]["app_call_id"] is None  # a call made once


# -- cost provenance ----------------------------------------------------------------------------


def test_costs_carry_their_source(recorder: Recorder, wire: WireServer) -> None:
    wire.script(
        chat_json(usage=chat_usage(100, 10, cost=0.00042)),  # OpenRouter's usage.cost
        json_reply(json.loads(chat_json().parts[0]), headers={"x-litellm-response-cost": "0.0031"}),  # a LiteLLM proxy
        sse_reply(chat_events(usage=chat_usage(100, 10, cost=0.0005))),
        chat_json(usage=chat_usage(1_000_000, 1_000_000)),  # the fleet's price for the pair
        chat_json(model="my-own-model"),
    )
    client = oai(wire)
    for _ in range(2):
        client.chat.completions.create(model="gpt-4o-mini", messages=ASK)
    list(client.chat.completions.create(model="gpt-4o-mini", messages=ASK, stream=True, stream_options={"include_usage": True}))
    client.chat.completions.create(model="gpt-4o-mini", messages=ASK)
    client.chat.completions.create(model="my-own-model", messages=ASK)
    got = [(r["cost_usd"], r["cost_source"]) for r in rows(recorder)]
    assert got == [(0.00042, "provider"), (0.0031, "provider"), (0.0005, "provider"),
                   (pytest.approx(3.0 + 4.0), "fleet"), (None, None)]


# -- which fleet model ------------------------------------------------------------------------


def test_track_maps_fleet_ids_and_provider_names_by_the_documented_rule(recorder: Recorder, wire: WireServer) -> None:
    with track(model="mini-batch") as call:  # a fleet id
        call.record(input_tokens=1_000_000, output_tokens=0)
    with track(model="gpt-4o-mini", provider="loop"):  # a provider name shared by three models
        pass
    wire.script(chat_json(), chat_json())
    client = oai(wire)
    client.chat.completions.create(model="gpt-4o-mini", messages=ASK)
    with attributes(model="mini-batch"):
        client.chat.completions.create(model="gpt-4o-mini", messages=ASK)
    got = rows(recorder)
    assert [(r["model_id"], r["request_model"]) for r in got] == [
        ("mini-batch", "gpt-4o-mini"), ("mini-chat", "gpt-4o-mini"), ("mini-chat", "gpt-4o-mini"),
        ("mini-batch", "gpt-4o-mini")]
    assert got[0]["cost_usd"] == pytest.approx(5.0) and got[3]["cost_source"] == "fleet"


def test_validate_flags_the_ambiguous_pair(fleet_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from fleetui.cli import main

    assert main(["validate", str(fleet_file)]) == 0
    out = capsys.readouterr().out
    assert "mini-retired, mini-chat, mini-batch all call 'gpt-4o-mini'" in out and "'mini-chat'" in out
    assert main(["validate", str(fleet_file), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    [warning] = report["warnings"]
    assert warning["models"] == ["mini-retired", "mini-chat", "mini-batch"] and warning["chosen"] == "mini-chat"


# -- what the app sees ----------------------------------------------------------------------------


def _chat_stream(c: Any) -> Any:
    return [dump(x) for x in c.chat.completions.create(model="gpt-4o-mini", messages=ASK, stream=True)]


def _responses_helper(c: Any) -> Any:
    with c.responses.stream(model="gpt-4o-mini", input="x") as s:
        return [dump(e) for e in s] + [dump(s.get_final_response())]


def _claude_helper(c: Any) -> Any:
    with c.messages.stream(model="claude-3-5-haiku-latest", max_tokens=9, messages=ASK) as s:
        return [dump(e) for e in s] + [dump(s.get_final_message())]


SCENARIOS: list[tuple[str, Callable[[], list[Reply]], str, Callable[[Any], Any]]] = [
    ("chat", lambda: [chat_json(tools=[WEATHER])], "openai",
     lambda c: dump(c.chat.completions.create(model="gpt-4o-mini", messages=ASK))),
    ("chat-stream", lambda: [sse_reply(chat_events(tools=[WEATHER]))], "openai", _chat_stream),
    ("chat-error-event", lambda: [sse_reply(chat_events(error={"message": "boom", "type": "server_error"}))], "openai",
     _chat_stream),
    ("chat-cut-off", lambda: [sse_reply(chat_events(end=False), hang_up=True)], "openai", _chat_stream),
    ("responses", lambda: [responses_json(tools=[WEATHER])], "openai",
     lambda c: dump(c.responses.create(model="gpt-4o-mini", input="x"))),
    ("responses-stream", lambda: [sse_reply(responses_events(tools=[WEATHER]))], "openai", _responses_helper),
    ("responses-failed", lambda: [sse_reply(responses_events(fail="server_error"))], "openai",
     lambda c: [dump(e) for e in c.responses.create(model="gpt-4o-mini", input="x", stream=True)]),
    ("messages", lambda: [anthropic_json(tools=[("lookup", {"q": 1})])], "anthropic",
     lambda c: dump(c.messages.create(model="claude-3-5-haiku-latest", max_tokens=9, messages=ASK))),
    ("messages-stream", lambda: [sse_reply(anthropic_events(tools=[WEATHER]))], "anthropic", _claude_helper),
    ("messages-error-event", lambda: [sse_reply(anthropic_events(error="overloaded_error"))], "anthropic", _claude_helper),
    ("raw", lambda: [chat_json()], "openai",
     lambda c: (lambda r: (dict(r.headers) | {"date": ""}, r.text))(c.chat.completions.with_raw_response.create(
         model="gpt-4o-mini", messages=ASK))),
    ("http-429", lambda: [json_reply({"error": {"message": "slow down", "type": "requests"}}, status=429)], "openai",
     lambda c: dump(c.chat.completions.create(model="gpt-4o-mini", messages=ASK))),
]


def _outcome(fn: Callable[[Any], Any], client: Any) -> Any:
    try:
        return ("returned", fn(client))
    except Exception as exc:  # the app's view of a failure: its type and message
        return ("raised", type(exc).__name__, str(exc))


@pytest.mark.parametrize("name, replies, sdk, fn", SCENARIOS, ids=[s[0] for s in SCENARIOS])
def test_the_app_sees_what_an_uninstrumented_client_shows(
    recorder: Recorder, wire: WireServer, name: str, replies: Callable[[], list[Reply]], sdk: str, fn: Callable[[Any], Any],
) -> None:
    make = oai if sdk == "openai" else claude
    wire.script(*replies())
    plain = _outcome(fn, make(wire, instrumented=False))
    wire.script(*replies())
    seen = _outcome(fn, make(wire))
    assert seen == plain
    assert len(rows(recorder, expected=1)) == 1


async def test_async_anthropic_stream_and_async_chat_stream(recorder: Recorder, wire: WireServer) -> None:
    wire.script(sse_reply(anthropic_events(pieces=["a", "b"], pause=PAUSE)), sse_reply(chat_events(pieces=["c"], pause=PAUSE)))
    client, oclient = claude(wire, asynchronous=True), oai(wire, asynchronous=True)
    async with client.messages.stream(model="claude-3-5-haiku-latest", max_tokens=9, messages=ASK) as stream:
        text = "".join([t async for t in stream.text_stream])
    chunks = [c async for c in await oclient.chat.completions.create(model="gpt-4o-mini", messages=ASK, stream=True)]
    await client.close()
    await oclient.close()
    first, second = rows(recorder)
    assert text == first["response"] == "ab" and second["response"] == "c" and len(chunks) > 1
    assert first["ttft_ms"] >= PAUSE * 1000 and second["ttft_ms"] >= PAUSE * 1000
    assert first["success"] == second["success"] == 1


HOLDS_A_STREAM_AT_EXIT = """
import sys, openai
from fleetui.shim import configure, instrument
configure(db_path=sys.argv[1], fleet_path=sys.argv[2], interval_s=5)
client = instrument(openai.OpenAI(base_url=sys.argv[3] + "/v1", api_key="sk-test", max_retries=0))
held = client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], stream=True)
next(iter(held))
"""


def test_a_stream_still_open_at_exit_is_recorded(tmp_path: Path, wire: WireServer, fleet_file: Path) -> None:
    import subprocess
    import sys

    wire.script(sse_reply(chat_events(pieces=["one"]) + [3.0] + chat_events(pieces=["two"])))
    db = tmp_path / "exit.db"
    subprocess.run([sys.executable, "-c", HOLDS_A_STREAM_AT_EXIT, str(db), str(fleet_file), wire.url], check=True, timeout=120)
    with Store.open(db) as store:
        [row] = list(store.db.query("SELECT * FROM calls"))
    assert (row["streamed"], row["incomplete"], row["abandoned"], row["success"]) == (1, 1, 1, 1)


def test_track_records_tool_calls_given_as_a_list(recorder: Recorder) -> None:
    with track(model="mini-chat") as call:
        call.record(tool_calls=[{"name": "search", "arguments": {"q": "oat milk"}}], output_tokens=3)
    [row] = rows(recorder)
    assert tools_of(row) == [{"name": "search", "arguments": {"q": "oat milk"}}] and row["model_id"] == "mini-chat"


def test_success_per_app_call_and_per_attempt(recorder: Recorder, wire: WireServer) -> None:
    from fleetui.store.outcomes import call_outcomes

    limited = json_reply({"error": {"message": "Rate limit", "type": "requests"}}, status=429,
                         headers={"retry-after-ms": "10"})
    wire.script(limited, chat_json(), limited, limited, chat_json())
    client = oai(wire, retries=1)
    client.chat.completions.create(model="gpt-4o-mini", messages=ASK)  # 429, then 200
    with pytest.raises(openai.RateLimitError):
        client.chat.completions.create(model="gpt-4o-mini", messages=ASK)  # 429, 429: the SDK gives up
    client.chat.completions.create(model="gpt-4o-mini", messages=ASK)  # 200 at once
    rows(recorder)
    with Store.open(recorder.db_path) as store:
        got = call_outcomes(store)
    assert (got.attempts, got.failed_attempts, got.app_calls, got.failed_app_calls, got.retried_app_calls) == (5, 3, 3, 1, 2)
    assert got.attempt_success_rate == pytest.approx(2 / 5) and got.call_success_rate == pytest.approx(2 / 3)


async def _async_outcome(make: Callable[..., Any], wire: WireServer, instrumented: bool) -> Any:
    client = make(wire, instrumented=instrumented, asynchronous=True)
    try:
        if make is oai:
            stream = await client.chat.completions.create(model="gpt-4o-mini", messages=ASK, stream=True)
            return ("returned", [dump(c) async for c in stream])
        async with client.messages.stream(model="claude-3-5-haiku-latest", max_tokens=9, messages=ASK) as s:
            return ("returned", [dump(e) async for e in s] + [dump(await s.get_final_message())])
    except Exception as exc:
        return ("raised", type(exc).__name__, str(exc))
    finally:
        await client.close()


@pytest.mark.parametrize("sdk, replies", [
    ("openai", lambda: [sse_reply(chat_events(tools=[WEATHER]))]),
    ("openai", lambda: [sse_reply(chat_events(error={"message": "boom", "type": "server_error"}))]),
    ("anthropic", lambda: [sse_reply(anthropic_events(tools=[WEATHER]))]),
    ("anthropic", lambda: [sse_reply(anthropic_events(error="overloaded_error"))]),
], ids=["chat", "chat-error", "messages", "messages-error"])
async def test_async_clients_see_what_uninstrumented_ones_show(
    recorder: Recorder, wire: WireServer, sdk: str, replies: Callable[[], list[Reply]],
) -> None:
    make = oai if sdk == "openai" else claude
    wire.script(*replies())
    plain = await _async_outcome(make, wire, False)
    wire.script(*replies())
    assert await _async_outcome(make, wire, True) == plain
    assert len(rows(recorder, expected=1)) == 1


def test_a_model_id_the_fleet_does_not_know_is_kept_as_given(recorder: Recorder) -> None:
    from fleetui.store import CallRecord

    recorder.record(CallRecord(model_id="someone-elses-model", input_tokens=1, output_tokens=1))
    recorder.record(CallRecord(model_id="gpt-4o-mini", server_address="http://" + "127.0.0.1:9"))  # a provider name
    got = [r["model_id"] for r in rows(recorder)]
    assert got == ["someone-elses-model", "gpt-4o-mini"]
