"""`fleetui serve` with the official openai and anthropic SDKs pointed at it, in front of loopback
providers: what the app gets back, and what fleetui stores."""

from __future__ import annotations

import re

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import anthropic
import openai
import pytest

from tests.fakeproviders import FakeProviders
from tests.serve_support import Running, running_gateway

USER = [{"role": "user", "content": "hello there gateway"}]


@pytest.fixture
def gateway(tmp_path: Path, fake_providers: FakeProviders, monkeypatch: pytest.MonkeyPatch) -> Iterator[Running]:
    monkeypatch.setenv("FAKE_OPENAI_KEY", "sk-fake-openai")
    monkeypatch.setenv("FAKE_ANTHROPIC_KEY", "sk-ant-fake")
    with running_gateway(tmp_path, fake_providers) as running:
        yield running


def oai(gateway: Running, **headers: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=gateway.url + "/v1", api_key="not-a-provider-key", max_retries=0,
                         default_headers=headers)


def ant(gateway: Running) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=gateway.url, api_key="not-a-provider-key", max_retries=0)


def test_chat_completion_is_relayed_and_recorded_with_the_clients_attributes(gateway: Running) -> None:
    client = oai(gateway, **{"x-fleetui-app": "billing-bot", "x-fleetui-task": "summarize", "x-fleetui-user": "u7",
                             "x-fleetui-session": "s1", "x-fleetui-tags": "beta, eu"})
    raw = client.chat.completions.with_raw_response.create(model="small", messages=USER)
    reply = raw.parse()
    assert reply.choices[0].message.content == "Hello from the fake provider!"
    assert raw.headers["x-fleetui-model"] == "small" and raw.headers["x-fleetui-route"] == "model"
    row = gateway.call(raw.headers["x-fleetui-call-id"])
    assert (row["source"], row["task"], row["user_id"], row["session_id"]) == ("billing-bot", "summarize", "u7", "s1")
    assert json.loads(row["tags"]) == ["beta", "eu"]
    # The fleet's provider "oa" is OpenAI-compatible: stored in the one vocabulary (provider_names).
    assert (row["model_id"], row["provider_name"], row["request_model"]) == ("small", "openai", "fake-small")
    assert (row["input_tokens"], row["output_tokens"]) == (3, 5)
    assert row["cost_usd"] == pytest.approx((3 * 1.0 + 5 * 2.0) / 1e6)  # the fleet's price override
    assert row["prompt"] == "hello there gateway" and row["response"] == "Hello from the fake provider!"
    assert row["gateway_overhead_ms"] > 0 and row["latency_ms"] > 0  # its own time, and the provider's
    # The provider got the fleet's key, never what the client sent.
    sent = gateway.fake.requests[-1]
    assert sent.headers["authorization"] == "Bearer sk-fake-openai" and sent.body["model"] == "fake-small"


def test_streamed_chat_arrives_in_chunks_with_usage_recorded(gateway: Running) -> None:
    stream = oai(gateway).chat.completions.create(model="small", messages=USER, stream=True)
    texts = [c.choices[0].delta.content for c in stream if c.choices and c.choices[0].delta.content]
    assert texts == ["Hello", " from", " the", " fake", " provider!"]
    row = gateway.calls()[-1]
    assert row["streamed"] == 1 and row["incomplete"] == 0 and row["ttft_ms"] is not None
    assert row["output_tokens"] == 5 and row["cost_usd"] is not None
    assert row["response"] == "Hello from the fake provider!"


async def test_async_client_streams_and_calls_concurrently(gateway: Running) -> None:
    import asyncio

    client = openai.AsyncOpenAI(base_url=gateway.url + "/v1", api_key="x", max_retries=0)
    replies = await asyncio.gather(*(client.chat.completions.create(model="large", messages=USER) for _ in range(8)))
    assert {r.choices[0].message.content for r in replies} == {"Hello from the fake provider!"}
    stream = await client.chat.completions.create(model="large", messages=USER, stream=True)
    parts = [c.choices[0].delta.content async for c in stream if c.choices and c.choices[0].delta.content]
    assert "".join(parts) == "Hello from the fake provider!"
    await client.close()
    assert sum(r["model_id"] == "large" for r in gateway.calls(9)) == 9


def test_tool_calls_come_back_and_are_recorded(gateway: Running) -> None:
    tools = [{"type": "function", "function": {"name": "weather", "parameters": {"type": "object", "properties": {}}}}]
    reply = oai(gateway).chat.completions.create(model="small", messages=USER, tools=tools)
    call = reply.choices[0].message.tool_calls[0]
    assert (call.function.name, json.loads(call.function.arguments)) == ("weather", {"city": "Paris"})
    assert gateway.calls()[-1]["finish_reason"] == "tool_calls"
    message = ant(gateway).messages.create(model="claude", max_tokens=50, messages=USER,
                                           tools=[{"name": "weather", "input_schema": {"type": "object"}}])
    assert message.stop_reason == "tool_use" and message.content[0].name == "weather"


def test_responses_api_json_and_stream(gateway: Running) -> None:
    client = oai(gateway)
    assert client.responses.create(model="small", input="tell me a joke").output_text == "Hello from the fake provider!"
    with client.responses.stream(model="small", input="tell me a joke") as stream:
        deltas = [e.delta for e in stream if e.type == "response.output_text.delta"]
        final = stream.get_final_response()
    assert "".join(deltas) == final.output_text == "Hello from the fake provider!"
    rows = gateway.calls(2)[-2:]
    assert [r["streamed"] for r in rows] == [0, 1]
    for row in rows:
        assert row["prompt"] == "tell me a joke" and row["response"] == "Hello from the fake provider!"
        assert (row["input_tokens"], row["output_tokens"], row["incomplete"]) == (4, 5, 0)


def test_embeddings_are_priced_on_input_only(gateway: Running) -> None:
    reply = oai(gateway).embeddings.create(model="small", input=["one two", "three"])
    assert len(reply.data) == 2
    row = gateway.calls()[-1]
    assert (row["operation_name"], row["input_tokens"], row["output_tokens"]) == ("embeddings", 3, 0)
    assert row["cost_usd"] == pytest.approx(3 / 1e6)


def test_models_lists_what_each_wire_format_can_reach(gateway: Running) -> None:
    names = [m.id for m in oai(gateway).models.list()]
    assert names[0] == "fleetui/auto" and "small" in names and "coder" in names and "claude" not in names
    anthropic_names = [m.id for m in ant(gateway).models.list()]
    assert "claude" in anthropic_names and "small" not in anthropic_names and "writer" in anthropic_names


def test_anthropic_messages_sync_stream_and_count_tokens(gateway: Running) -> None:
    client = ant(gateway)
    message = client.messages.create(model="claude", max_tokens=20, messages=USER)
    assert message.content[0].text == "Hello from the fake provider!"
    with client.messages.stream(model="fake-small", max_tokens=20, messages=USER) as stream:
        text = "".join(stream.text_stream)
    assert text == "Hello from the fake provider!"
    assert client.messages.count_tokens(model="claude", messages=USER).input_tokens == 3
    rows = gateway.calls(2)
    assert [r["model_id"] for r in rows] == ["claude", "claude"]  # count_tokens is not a model call
    assert rows[1]["streamed"] == 1 and rows[1]["input_tokens"] == 3 + 3  # cache reads counted in
    sent = [r for r in gateway.fake.requests if r.provider == "anthropic"][-1]
    assert sent.headers["x-api-key"] == "sk-ant-fake" and "authorization" not in sent.headers


async def test_async_anthropic(gateway: Running) -> None:
    client = anthropic.AsyncAnthropic(base_url=gateway.url, api_key="x", max_retries=0)
    message = await client.messages.create(model="claude", max_tokens=20, messages=USER)
    assert message.usage.output_tokens == 5
    await client.close()


def test_auto_routes_by_the_fleets_rules_and_falls_back_on_429(gateway: Running) -> None:
    raw = oai(gateway, **{"x-fleetui-task": "coding"}).chat.completions.with_raw_response.create(
        model="fleetui/auto", messages=USER)
    # Rule "coding" targets the coder role: `limited` (priority 1) answers 429, `large` takes it.
    assert raw.headers["x-fleetui-model"] == "large"
    assert raw.headers["x-fleetui-route"] == "auto:rule:coding; fallback after limited 429"
    rows = gateway.calls(2)
    first, second = rows[-2], rows[-1]
    assert (first["model_id"], first["status_code"], first["success"]) == ("limited", 429, 0)
    assert (second["model_id"], second["success"], second["call_id"]) == ("large", 1, raw.headers["x-fleetui-call-id"])
    assert first["app_call_id"] == second["app_call_id"] and (first["attempt"], second["attempt"]) == (1, 2)
    assert second["rule"] == "coding" and second["decision_id"] is not None


def test_a_role_falls_back_on_529_and_the_anthropic_client_never_knows(gateway: Running) -> None:
    raw = ant(gateway).messages.with_raw_response.create(model="writer", max_tokens=10, messages=USER)
    assert raw.parse().content[0].text == "Hello from the fake provider!"
    assert raw.headers["x-fleetui-model"] == "claude"
    assert raw.headers["x-fleetui-route"] == "role:writer; fallback after claude-busy 529"


def test_curl_gets_the_reply_and_the_route(gateway: Running) -> None:
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed")
    out = subprocess.run(
        ["curl", "-s", "-i", gateway.url + "/v1/chat/completions", "-H", "content-type: application/json",
         "-d", json.dumps({"model": "fake-large", "messages": USER})], capture_output=True, text=True, timeout=30)
    head, _, body = out.stdout.partition("\n\n")  # text mode reads CRLF as LF
    assert "x-fleetui-model: large" in head and "x-fleetui-route: provider-model" in head
    assert json.loads(body)["choices"][0]["message"]["content"] == "Hello from the fake provider!"


def test_feedback_route_health_and_metrics(gateway: Running) -> None:
    import httpx

    raw = oai(gateway).chat.completions.with_raw_response.create(model="small", messages=USER)
    call_id = raw.headers["x-fleetui-call-id"]
    gateway.calls()
    with httpx.Client(base_url=gateway.url) as http:
        given = http.post(f"/v1/fleetui/calls/{call_id}/feedback", json={"score": 0.25, "comment": "meh"})
        assert given.status_code == 200 and given.json()["recorded"] is True
        bad = http.post(f"/v1/fleetui/calls/{call_id}/feedback", json={"score": 3})
        assert bad.status_code == 400 and "from 0 (bad) to 1 (good)" in bad.json()["error"]["message"]
        decision = http.post("/route", json={"prompt": "fix this bug", "task": "coding"}).json()
        assert decision["model_id"] == "limited" and decision["rule"] == "coding" and decision["fallbacks"] == ["large"]
        assert http.get("/route", params={"prompt": "hi"}).json()["model_id"] == "small"
        health = http.get("/health").json()
        assert health["status"] == "ok" and health["models"]["small"] == "unknown"  # never probed
        assert health["requests_total"] >= 1
        metrics = http.get("/metrics")
    row = gateway.call(call_id)
    assert (row["feedback_score"], row["feedback_comment"]) == (0.25, "meh")
    assert metrics.headers["content-type"].startswith("text/plain")
    assert re.search(r'^fleetui_calls_total\{model="small",[^}]*\} 1(\.0)?$', metrics.text, re.M), metrics.text[:400]
    assert "fleetui_gateway_requests_total" in metrics.text


def test_load_on_loopback_loses_no_call(gateway: Running) -> None:
    """A bounded burst: 400 requests, 32 at a time, every one answered and every one stored.

    The fake provider is Python's socketserver with its listen backlog of 5: the burst's new
    connections overflow it and the kernel resets some (~3% of calls were a 502 before the
    gateway retried a connection that broke before any reply byte)."""
    import asyncio

    import httpx

    async def burst() -> list[int]:
        limit = asyncio.Semaphore(32)
        async with httpx.AsyncClient(base_url=gateway.url, timeout=60,
                                     limits=httpx.Limits(max_connections=32)) as http:
            async def one(i: int) -> int:
                async with limit:
                    body = {"model": "small", "messages": [{"role": "user", "content": f"n{i}"}], "stream": i % 2 == 0}
                    response = await http.post("/v1/chat/completions", json=body)
                    return response.status_code
            return await asyncio.gather(*(one(i) for i in range(400)))

    statuses = asyncio.run(burst())
    assert statuses.count(200) == 400, sorted(set(statuses))
    rows = gateway.calls(400, timeout=30)
    assert len(rows) == 400 and all(r["success"] == 1 and r["output_tokens"] == 5 for r in rows)
    assert sorted(int(r["prompt"][1:]) for r in rows) == list(range(400))
