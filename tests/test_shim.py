"""The logging shim: track(), the SDK hooks, and a recorder that never hurts the app."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import anthropic
import openai
import pytest

import fleetui
from fleetui.store import spool
from fleetui.shim import Recorder, attributes, configure, feedback, instrument, track
from fleetui.store import Store
from tests.conftest import SAMPLE_FLEET
from tests.fakeproviders import CHUNKS, REPLY, FakeProviders


@pytest.fixture
def recorder(tmp_path: Path) -> Iterator[Recorder]:
    rec = configure(db_path=tmp_path / "shim.db", fleet_path=SAMPLE_FLEET, source="test-app", interval_s=0.05)
    yield rec
    rec.close()


def rows(rec: Recorder) -> list[dict[str, object]]:
    assert rec.flush(10)
    with Store.open(rec.db_path) as store:
        return list(store.db.query("SELECT * FROM calls ORDER BY id"))


# -- track() -------------------------------------------------------------------------------------


def test_track_records_a_call_with_attributes(recorder: Recorder) -> None:
    with attributes(user="u-1", session="s-9", tags=["beta"]):
        with fleetui.track(model="gpt-4o-mini", task="summarize", provider="openai") as call:
            call.record(prompt="summarize this please", response="short", input_tokens=1000, output_tokens=100)
    [row] = rows(recorder)
    assert row["call_id"] == call.call_id and row["source"] == "test-app"
    assert (row["request_model"], row["task"], row["user_id"], row["session_id"]) == ("gpt-4o-mini", "summarize", "u-1", "s-9")
    assert row["tags"] == '["beta"]' and row["success"] == 1 and row["latency_ms"] >= 0
    assert row["cost_usd"] == pytest.approx(1000 * 0.15e-6 + 100 * 0.6e-6)  # priced from the catalog
    assert row["model_id"] == "gpt-4o-mini" and row["cost_source"].startswith("catalog@")  # a fleet id


def test_track_records_exceptions_and_reraises_them_unchanged(recorder: Recorder) -> None:
    class AppError(Exception):
        pass

    error = AppError("boom")
    with pytest.raises(AppError) as caught:
        with track(model="m"):
            raise error
    assert caught.value is error
    [row] = rows(recorder)
    assert row["success"] == 0 and row["error_type"] == "AppError"


async def test_track_as_decorator_sync_and_async(recorder: Recorder) -> None:
    @track(task="sync-job")
    def work(x: int) -> int:
        fleetui.shim.current().record(output_tokens=x)
        return x * 2

    @track(task="async-job")
    async def awork() -> str:
        await asyncio.sleep(0.01)
        return "done"

    assert work(21) == 42 and await awork() == "done"
    got = {r["task"]: r for r in rows(recorder)}
    assert got["sync-job"]["output_tokens"] == 21
    assert got["async-job"]["latency_ms"] >= 10


def test_feedback_and_markers_reach_the_call(recorder: Recorder) -> None:
    with track(model="m") as call:
        pass
    feedback(call.call_id, 0.9, "spot on")
    fleetui.shim.follow_up(call.call_id)
    [row] = rows(recorder)
    assert (row["feedback_score"], row["feedback_comment"], row["follow_up"]) == (0.9, "spot on", 1)


def test_privacy_hash_keeps_no_prompt_text(tmp_path: Path) -> None:
    rec = configure(db_path=tmp_path / "p.db", fleet_path=SAMPLE_FLEET, privacy="hash", interval_s=0.05)
    try:
        with track(model="m", prompt="my secret medical question") as call:
            call.record(response="an answer")
        [row] = rows(rec)
        assert row["prompt"] is None and row["response"] is None
        assert row["prompt_hash"] and row["prompt_chars"] == len("my secret medical question")
    finally:
        rec.close()


# -- SDK hooks -------------------------------------------------------------------------------------


def openai_client(fake: FakeProviders, asynchronous: bool = False) -> openai.OpenAI | openai.AsyncOpenAI:
    cls = openai.AsyncOpenAI if asynchronous else openai.OpenAI
    return instrument(cls(base_url=fake.url("openai"), api_key=fake.keys["openai"], max_retries=0))


def anthropic_client(fake: FakeProviders, asynchronous: bool = False) -> anthropic.Anthropic | anthropic.AsyncAnthropic:
    cls = anthropic.AsyncAnthropic if asynchronous else anthropic.Anthropic
    return instrument(cls(base_url=fake.url("anthropic"), api_key=fake.keys["anthropic"], max_retries=0))


def test_openai_sync_call_is_recorded_as_returned(recorder: Recorder, fake_providers: FakeProviders) -> None:
    client = openai_client(fake_providers)
    with attributes(task="support"):
        reply = client.chat.completions.create(
            model="fake-small", messages=[{"role": "user", "content": "what is on the menu at Chipotle?"}], max_tokens=50
        )
    [row] = rows(recorder)
    assert row["response"] == reply.choices[0].message.content == REPLY
    assert row["input_tokens"] == reply.usage.prompt_tokens and row["output_tokens"] == reply.usage.completion_tokens
    assert row["request_model"] == "fake-small" and row["response_model"] == reply.model
    assert row["provider_name"] == "openai" and row["status_code"] == 200 and row["finish_reason"] == "stop"
    assert row["prompt"] == "what is on the menu at Chipotle?"
    assert row["task"] == "support" and row["request_max_tokens"] == 50
    assert row["server_address"] == f"http://127.0.0.1:{fake_providers.port}"


def test_openai_stream_reaches_the_app_unchanged_and_as_sent(recorder: Recorder, fake_providers: FakeProviders) -> None:
    client = openai_client(fake_providers)
    stream = client.chat.completions.create(
        model="stall", messages=[{"role": "user", "content": "hi"}], stream=True, stream_options={"include_usage": True}
    )
    started = time.perf_counter()
    first = next(iter(stream))
    assert time.perf_counter() - started < 0.8, "the first chunk arrived before the server's 1 s stall ended"
    pieces = [first] + list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in pieces if c.choices)
    assert text == REPLY
    [row] = rows(recorder)
    assert row["streamed"] == 1 and row["response"] == REPLY and row["incomplete"] == 0
    assert row["output_tokens"] == len(CHUNKS) and row["ttft_ms"] is not None and row["ttft_ms"] < row["latency_ms"]


def test_abandoned_stream_is_recorded_incomplete(recorder: Recorder, fake_providers: FakeProviders) -> None:
    client = openai_client(fake_providers)
    stream = client.chat.completions.create(model="fake-small", messages=[{"role": "user", "content": "hi"}], stream=True)
    next(iter(stream))
    stream.close()
    [row] = rows(recorder)
    assert row["incomplete"] == 1 and row["streamed"] == 1


async def test_openai_async_call_and_stream(recorder: Recorder, fake_providers: FakeProviders) -> None:
    client = openai_client(fake_providers, asynchronous=True)
    reply = await client.chat.completions.create(model="fake-large", messages=[{"role": "user", "content": "hi"}])
    stream = await client.chat.completions.create(model="fake-small", messages=[{"role": "user", "content": "hi"}], stream=True)
    text = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
    await client.close()
    assert reply.choices[0].message.content == REPLY == text
    got = rows(recorder)
    assert [r["request_model"] for r in got] == ["fake-large", "fake-small"]
    assert got[1]["response"] == REPLY and got[1]["incomplete"] == 0


def test_anthropic_sync_and_stream(recorder: Recorder, fake_providers: FakeProviders) -> None:
    client = anthropic_client(fake_providers)
    message = client.messages.create(model="fake-large", max_tokens=64, messages=[{"role": "user", "content": "hello there"}])
    with client.messages.stream(model="fake-small", max_tokens=64, messages=[{"role": "user", "content": "hi"}]) as stream:
        streamed = "".join(stream.text_stream)
    assert message.content[0].text == REPLY == streamed
    first, second = rows(recorder)
    assert first["provider_name"] == "anthropic" and first["response"] == REPLY
    assert first["input_tokens"] == message.usage.input_tokens + 3 and first["cached_input_tokens"] == 3
    assert second["streamed"] == 1 and second["response"] == REPLY and second["output_tokens"] == len(CHUNKS)


async def test_anthropic_async(recorder: Recorder, fake_providers: FakeProviders) -> None:
    client = anthropic_client(fake_providers, asynchronous=True)
    message = await client.messages.create(model="fake-small", max_tokens=10, messages=[{"role": "user", "content": "hi"}])
    await client.close()
    [row] = rows(recorder)
    assert row["response"] == message.content[0].text and row["finish_reason"] == "stop"


def test_sdk_errors_are_recorded_and_raised_as_the_sdk_does(recorder: Recorder, fake_providers: FakeProviders) -> None:
    client = openai_client(fake_providers)
    with pytest.raises(openai.RateLimitError):
        client.chat.completions.create(model="fault-429", messages=[{"role": "user", "content": "hi"}])
    bad = openai.OpenAI(base_url=fake_providers.url("openai"), api_key="wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        instrument(bad).chat.completions.create(model="fake-small", messages=[{"role": "user", "content": "hi"}])
    down = instrument(openai.OpenAI(base_url="http://127.0.0.1:9/v1", api_key="x", max_retries=0))
    with pytest.raises(openai.APIConnectionError):
        down.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])
    got = rows(recorder)
    assert [(r["success"], r["error_type"], r["status_code"]) for r in got] == [
        (0, "rate_limited", 429), (0, "auth", 401), (0, "ConnectError", None)]


def test_instrumented_key_is_never_recorded(recorder: Recorder, fake_providers: FakeProviders) -> None:
    client = openai_client(fake_providers)
    client.chat.completions.create(model="fake-small", messages=[{"role": "user", "content": "hi"}])
    rows(recorder)
    blob = Path(recorder.db_path).read_bytes() + Path(str(recorder.db_path) + "-wal").read_bytes()
    assert fake_providers.keys["openai"].encode() not in blob


def test_instrument_rejects_what_it_cannot_hook() -> None:
    with pytest.raises(TypeError, match="openai or anthropic client"):
        instrument(object())


# -- the recorder under faults -------------------------------------------------------------------


def test_full_queue_drops_and_counts_without_blocking(tmp_path: Path) -> None:
    rec = Recorder(tmp_path / "q.db", fleet_path=SAMPLE_FLEET, max_queue=100, interval_s=5)
    started = time.perf_counter()
    for _ in range(1_000):
        rec.record(fleetui.store.CallRecord(model_id="m"))
    assert time.perf_counter() - started < 0.5
    assert rec.dropped == 900
    assert rec.flush(10)
    with Store.open(rec.db_path) as store:
        assert store.count_calls() == 100 and store.counter("shim.dropped") == 900
    rec.close()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_records_its_own_calls_and_not_its_parents(tmp_path: Path) -> None:
    rec = Recorder(tmp_path / "fork.db", fleet_path=SAMPLE_FLEET, interval_s=5)
    rec.record(fleetui.store.CallRecord(model_id="m", task="parent"))  # queued, not yet stored
    pid = os.fork()
    if pid == 0:  # the child: its first call must not be lost with the parent's queue
        rec.record(fleetui.store.CallRecord(model_id="m", task="child"))
        os._exit(0 if rec.flush(10) else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert rec.flush(10)
    with Store.open(rec.db_path) as store:
        tasks = [r["task"] for r in store.db.query("SELECT task FROM calls ORDER BY task")]
    assert tasks == ["child", "parent"]  # each stored once, by the process that made it
    rec.close()


def test_locked_database_keeps_records_and_writes_them_later(tmp_path: Path) -> None:
    db = tmp_path / "locked.db"
    Store.open(db).close()
    holder = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN EXCLUSIVE")
    rec = Recorder(db, fleet_path=SAMPLE_FLEET, interval_s=0.05)
    started = time.perf_counter()
    for i in range(50):
        rec.record(fleetui.store.CallRecord(model_id="m", task=f"t{i}"))
    assert time.perf_counter() - started < 0.1, "the app never waits for the lock"
    assert not rec.flush(1)  # the writer gives up on the lock at once and spools
    assert spool.pending(db) and spool.count_lines(spool.spool_files(db)) == 50
    holder.execute("COMMIT")
    holder.close()
    rec.record(fleetui.store.CallRecord(model_id="m", task="after"))
    assert rec.flush(30)
    with Store.open(db) as store:
        assert store.count_calls() == 51 and store.overall().calls == 51
    assert not spool.pending(db)
    rec.close()


def test_read_only_database_spools_beside_it(tmp_path: Path) -> None:
    db = tmp_path / "ro.db"
    Store.open(db).close()
    os.chmod(db, 0o444)
    rec = Recorder(db, fleet_path=SAMPLE_FLEET, interval_s=0.05)
    rec.record(fleetui.store.CallRecord(model_id="m"))
    rec.flush(10)
    if os.geteuid() != 0:  # root writes read-only files anyway
        assert spool.count_lines(spool.spool_files(db)) == 1
    os.chmod(db, 0o644)
    rec.record(fleetui.store.CallRecord(model_id="m"))
    assert rec.flush(10)
    with Store.open(db) as store:
        assert store.count_calls() == 2
    rec.close()


def test_missing_folder_is_created(tmp_path: Path) -> None:
    rec = Recorder(tmp_path / "not" / "yet" / "there.db", fleet_path=SAMPLE_FLEET, interval_s=0.05)
    rec.record(fleetui.store.CallRecord(model_id="m"))
    assert rec.flush(10)
    assert (tmp_path / "not" / "yet" / "there.db").exists()
    rec.close()


def test_writer_error_never_reaches_the_app(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    class Broken:
        def to_record(self) -> None:
            raise RuntimeError("parser bug")

    rec = Recorder(tmp_path / "w.db", fleet_path=SAMPLE_FLEET, interval_s=0.05)
    rec.record(Broken())
    rec.record(fleetui.store.CallRecord(model_id="m"))
    assert rec.flush(10)
    with Store.open(rec.db_path) as store:
        assert store.count_calls() == 1
    assert any("could not read an exchange" in r.getMessage() for r in caplog.records)
    rec.close()


WORKER = """
import sys
from fleetui.shim import configure
from fleetui.store import CallRecord
rec = configure(db_path=sys.argv[1], fleet_path=sys.argv[2], max_queue=100_000, interval_s=0.05)
for i in range(int(sys.argv[3])):
    rec.record(CallRecord(model_id="m", task=sys.argv[4]))
assert rec.flush(120), "flush timed out"
"""


@pytest.mark.slow
def test_eight_processes_lose_nothing(tmp_path: Path) -> None:
    db = tmp_path / "many.db"
    Store.open(db).close()
    procs = [
        subprocess.Popen([sys.executable, "-c", WORKER, str(db), str(SAMPLE_FLEET), "5000", f"p{i}"])
        for i in range(8)
    ]
    assert [p.wait(timeout=300) for p in procs] == [0] * 8
    with Store.open(db) as store:
        assert store.count_calls() == 40_000 and store.overall().calls == 40_000
        per = {r["task"]: r["n"] for r in store.db.query("SELECT task, COUNT(*) n FROM calls GROUP BY task")}
    assert per == {f"p{i}": 5000 for i in range(8)}


def test_gzip_bodies_are_decoded_for_recording_and_left_alone_for_the_app(recorder: Recorder) -> None:
    import gzip

    import httpx

    body = json.dumps({"id": "x", "model": "gpt-4o-mini", "choices": [{"index": 0, "message": {
        "role": "assistant", "content": "compressed hello"}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 7, "completion_tokens": 2}}).encode()
    packed = gzip.compress(body)

    class Chunks(httpx.SyncByteStream):  # a body that arrives in pieces, as from a socket
        def __iter__(self):  # type: ignore[no-untyped-def]
            yield packed[:10]
            yield packed[10:]

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, stream=Chunks(), headers={"content-encoding": "gzip", "content-type": "application/json"})

    # A plain httpx client (the transport httpx-based SDKs use), instrumented directly.
    client = instrument(httpx.Client(transport=httpx.MockTransport(handler), base_url="https://api.openai.com/v1"))
    response = client.post("/chat/completions", json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]})
    assert response.json()["choices"][0]["message"]["content"] == "compressed hello"  # the app sees it decoded as usual
    [row] = rows(recorder)
    assert row["response"] == "compressed hello" and row["input_tokens"] == 7 and row["output_tokens"] == 2
    assert row["cost_usd"] == pytest.approx(7 * 0.15e-6 + 2 * 0.6e-6)


def test_responses_built_from_bytes_are_recorded_too(recorder: Recorder) -> None:
    import httpx

    reply = {"model": "m", "choices": [{"message": {"content": "ok"}, "finish_reason": "stop"}]}
    client = instrument(httpx.Client(transport=httpx.MockTransport(lambda r: httpx.Response(200, json=reply))))
    client.post("https://api.openai.com/v1/chat/completions", json={"model": "m", "messages": []})
    [row] = rows(recorder)
    assert row["response"] == "ok"


def test_non_llm_requests_pass_through_unrecorded(recorder: Recorder) -> None:
    import httpx

    client = instrument(httpx.Client(transport=httpx.MockTransport(lambda r: httpx.Response(200, json={"data": []}))))
    assert client.get("https://api.openai.com/v1/models").json() == {"data": []}
    assert rows(recorder) == []


def test_routing_decisions_travel_with_the_recorded_call(recorder: Recorder) -> None:
    from fleetui.analysis.usage import routing_stats
    from fleetui.config.fleetfile import load_fleet
    from fleetui.routing import Router

    router = Router(load_fleet(SAMPLE_FLEET))
    for i in range(4):
        decision = router.route("ping", task="heartbeat")
        with attributes(**decision.call_attributes(override=i == 0)):
            with track(model=decision.provider_model) as call:
                call.record(output_tokens=1)
    got = rows(recorder)
    assert {r["rule"] for r in got} == {"heartbeats"} and all(r["decision_id"] for r in got)
    assert sum(r["override"] for r in got) == 1 and got[0]["confidence"] == decision.confidence
    with Store.open(recorder.db_path) as store:
        stats = routing_stats(store, None)
    assert stats.routed_calls == 4 and stats.override_rate == 0.25
    assert stats.routes[0].route == "heartbeats"
