"""OpenTelemetry GenAI spans: exported by the real SDK to a loopback OTLP/HTTP receiver (protobuf
decoded with opentelemetry-proto), from the shim's recorder and from `fleetui serve`; and the
Collector's file-exporter output imported back into calls."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import openai
import pytest

pytest.importorskip("opentelemetry.sdk", reason="the otel extra: pip install 'fleetui[otel]'")
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
)

from fleetui.cli import main
from fleetui.shim.recorder import Recorder
from fleetui.store import Store
from fleetui.store.records import CallRecord
from tests.conftest import SAMPLE_FLEET
from tests.fakeproviders import FakeProviders
from tests.serve_support import running_gateway

FIXTURE = Path(__file__).parent / "data" / "otel" / "collector-file.jsonl"


class Receiver:
    """An OTLP/HTTP trace receiver on loopback: POST /v1/traces, protobuf, as a Collector takes it."""

    def __init__(self) -> None:
        self.spans: list[dict[str, Any]] = []
        self.content_types: list[str] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                request = ExportTraceServiceRequest.FromString(body)
                with receiver._lock:
                    receiver.content_types.append(self.headers["content-type"])
                    for resource in request.resource_spans:
                        service = {a.key: a.value.string_value for a in resource.resource.attributes}["service.name"]
                        for scope in resource.scope_spans:
                            for span in scope.spans:
                                receiver.spans.append({"service": service, "name": span.name, "kind": span.kind,
                                                       "status": span.status.code, "path": self.path,
                                                       "start": span.start_time_unix_nano,
                                                       "end": span.end_time_unix_nano,
                                                       "attributes": {a.key: _value(a.value) for a in span.attributes}})
                self.send_response(200)
                self.send_header("content-type", "application/x-protobuf")
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def wait_for(self, n: int, timeout: float = 20.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.spans) >= n:
                    return list(self.spans)
            time.sleep(0.02)
        raise AssertionError(f"{len(self.spans)} spans received, expected {n}")


def _value(value: Any) -> Any:
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return [_value(v) for v in value.array_value.values]
    return getattr(value, kind)


@pytest.fixture
def receiver(monkeypatch: pytest.MonkeyPatch) -> Iterator[Receiver]:
    monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "50")  # the batch processor's wait, in ms
    found = Receiver()
    yield found
    found.server.shutdown()


def fleet_with_otel(folder: Path, endpoint: str, content: bool = False) -> Path:
    path = folder / "fleet.toml"
    path.write_text(SAMPLE_FLEET.read_text(encoding="utf-8") + f'\n[otel]\nendpoint = "{endpoint}"\n'
                    f'service_name = "billing"\ncontent = {"true" if content else "false"}\n', encoding="utf-8")
    return path


def test_the_shims_recorder_sends_genai_spans_to_the_collector(tmp_path: Path, receiver: Receiver) -> None:
    recorder = Recorder(tmp_path / "calls.db", fleet_path=fleet_with_otel(tmp_path, receiver.url), source="billing-bot")
    recorder.record(CallRecord(provider_name="openai", request_model="gpt-4o-mini", response_model="gpt-4o-mini-2024-07-18",
                               input_tokens=1000, output_tokens=200, cached_input_tokens=100, latency_ms=812.0,
                               finish_reason="stop", task="summarize", tags=["eu"], session_id="s-1",
                               prompt="secret prompt", response="secret reply"))
    recorder.record(CallRecord(provider_name="anthropic", request_model="claude-x", success=False,
                               error_type="rate_limited", status_code=429, latency_ms=20.0))
    assert recorder.flush(10)
    spans = {s["attributes"]["gen_ai.request.model"]: s for s in receiver.wait_for(2)}
    ok, failed = spans["gpt-4o-mini"], spans["claude-x"]
    assert receiver.content_types[0] == "application/x-protobuf" and ok["path"] == "/v1/traces"
    assert ok["service"] == "billing" and ok["name"] == "chat gpt-4o-mini" and ok["kind"] == 3  # SPAN_KIND_CLIENT
    attributes = ok["attributes"]
    assert attributes["gen_ai.operation.name"] == "chat" and attributes["gen_ai.provider.name"] == "openai"
    assert attributes["gen_ai.response.model"] == "gpt-4o-mini-2024-07-18"
    assert (attributes["gen_ai.usage.input_tokens"], attributes["gen_ai.usage.output_tokens"],
            attributes["gen_ai.usage.cache_read.input_tokens"]) == (1000, 200, 100)
    assert attributes["gen_ai.response.finish_reasons"] == ["stop"] and attributes["gen_ai.conversation.id"] == "s-1"
    assert attributes["fleetui.app"] == "billing-bot" and attributes["fleetui.tags"] == ["eu"]
    with Store.open(tmp_path / "calls.db") as store:
        row = next(iter(store.db.query("SELECT * FROM calls WHERE request_model = 'gpt-4o-mini'")))
    # The span carries the call as stored: its id, and the cost fleetui priced it at.
    assert attributes["fleetui.call_id"] == row["call_id"] and row["cost_usd"] is not None
    assert attributes["gen_ai.usage.cost.amount"] == pytest.approx(row["cost_usd"])
    assert (attributes["gen_ai.usage.cost.currency"], attributes["gen_ai.usage.cost.source"]) == ("USD", "local")
    assert ok["end"] - ok["start"] == 812_000_000
    assert "gen_ai.input.messages" not in attributes, "content stays home unless [otel] content = true"
    assert failed["attributes"]["error.type"] == "rate_limited" and failed["status"] == 2  # STATUS_CODE_ERROR
    assert failed["attributes"]["http.response.status_code"] == 429
    recorder.close()


def test_the_gateway_sends_a_span_per_call(tmp_path: Path, fake_providers: FakeProviders, receiver: Receiver,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_OPENAI_KEY", "sk-fake-openai")
    monkeypatch.setenv("FAKE_ANTHROPIC_KEY", "sk-ant-fake")
    with running_gateway(tmp_path, fake_providers, extra=f'\n[otel]\nendpoint = "{receiver.url}"\ncontent = true\n') as gw:
        client = openai.OpenAI(base_url=gw.url + "/v1", api_key="x", max_retries=0)
        raw = client.chat.completions.with_raw_response.create(
            model="small", messages=[{"role": "user", "content": "hi span"}], extra_headers={"x-fleetui-app": "ts-app"})
        call_id = raw.headers["x-fleetui-call-id"]
        row = gw.call(call_id)
        span = receiver.wait_for(1)[0]
    attributes = span["attributes"]
    assert attributes["fleetui.call_id"] == call_id and attributes["fleetui.app"] == "ts-app"
    assert (attributes["gen_ai.request.model"], attributes["fleetui.model_id"]) == ("fake-small", "small")
    assert (attributes["gen_ai.usage.input_tokens"], attributes["gen_ai.usage.output_tokens"]) == (2, 5)
    assert attributes["gen_ai.usage.cost.amount"] == pytest.approx((2 * 1.0 + 5 * 2.0) / 1e6) == row["cost_usd"]
    # A float, as stored (the store once coerced it to a string, counted as a fix on every call).
    assert attributes["fleetui.gateway_overhead_ms"] == row["gateway_overhead_ms"] and row["gateway_overhead_ms"] > 0
    assert json.loads(attributes["gen_ai.input.messages"])[0]["parts"][0]["content"] == "hi span"


def _app_that_exits(tmp_path: Path, fleet: Path, body: str) -> subprocess.CompletedProcess[str]:
    """A script that records calls and ends at once, with no flush or close: the exit hook's work."""
    code = textwrap.dedent(f"""
        import atexit
        from fleetui.shim.recorder import Recorder
        from fleetui.store.records import CallRecord
        recorder = Recorder({str(tmp_path / "calls.db")!r}, fleet_path={str(fleet)!r}, interval_s=60.0)
        atexit.register(recorder._at_exit)
        def call(model):
            recorder.record(CallRecord(provider_name="openai", request_model=model, input_tokens=5, output_tokens=3,
                                       latency_ms=10.0))
    """) + textwrap.dedent(body)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=os.environ)


def test_the_last_calls_before_exit_get_their_spans(tmp_path: Path, receiver: Receiver) -> None:
    """The SDK's own exit hook once shut the exporter down before the recorder's stored the last
    batch: a script's final call was stored without a span."""
    done = _app_that_exits(tmp_path, fleet_with_otel(tmp_path, receiver.url),
                           'call("first")\nassert recorder.flush(30)\ncall("last")\n')
    assert done.returncode == 0, done.stderr
    models = sorted(s["attributes"]["gen_ai.request.model"] for s in receiver.wait_for(2))
    assert models == ["first", "last"]
    with Store.open(tmp_path / "calls.db") as store:
        assert store.count_calls() == 2


def test_a_call_right_before_exit_is_stored_when_spans_cannot_start(tmp_path: Path, receiver: Receiver) -> None:
    """The writer's first batch comes during exit, when OpenTelemetry can no longer be imported:
    the call is stored all the same (it was once left in the spool), with one line saying so."""
    done = _app_that_exits(tmp_path, fleet_with_otel(tmp_path, receiver.url), 'call("only")\n')
    assert done.returncode == 0, done.stderr
    assert "unexpected error" not in done.stderr
    with Store.open(tmp_path / "calls.db") as store:
        assert [r["request_model"] for r in store.db.query("SELECT request_model FROM calls")] == ["only"]
    assert not (tmp_path / "calls.db.spool.jsonl").exists()


def test_without_the_extra_the_fleet_file_gets_one_clear_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                             caplog: pytest.LogCaptureFixture) -> None:
    import fleetui.otel

    monkeypatch.setattr(fleetui.otel, "installed", lambda: False)
    recorder = Recorder(tmp_path / "calls.db", fleet_path=fleet_with_otel(tmp_path, "http://127.0.0.1:9"))
    recorder.record(CallRecord(request_model="m", input_tokens=1, output_tokens=1))
    assert recorder.flush(10)
    lines = [r.getMessage() for r in caplog.records if "otel" in r.getMessage()]
    assert lines == [("fleetui: the fleet file's [otel] names an endpoint but OpenTelemetry is not installed; "
                      "calls are stored without spans — pip install 'fleetui[otel]'")]
    with Store.open(tmp_path / "calls.db") as store:
        assert store.db.execute("SELECT COUNT(*) FROM calls").fetchone()[0] == 1  # stored all the same
    recorder.close()


def fleetui(db: Path, *argv: str) -> int:
    return main(["--config", str(SAMPLE_FLEET), "--db", str(db), *argv])


def test_import_of_the_collectors_file_exporter_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "c.db"
    assert fleetui(db, "import", str(FIXTURE), "--json") == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["formats"] == {"otlp": 1} and summary["stored"] == 3  # the HTTP span is not a call
    with Store.open(db) as store:
        calls = {r["call_id"]: r for r in store.db.query("SELECT * FROM calls")}
    ok = calls["0f" * 16]
    assert (ok["source"], ok["model_id"], ok["request_model"], ok["response_model"]) == \
        ("billing-bot", "small", "fake-small", "fake-small-2026")
    assert (ok["input_tokens"], ok["output_tokens"], ok["cached_input_tokens"]) == (12, 5, 2)
    assert (ok["latency_ms"], ok["ttft_ms"], ok["streamed"], ok["finish_reason"]) == (840.5, 120.25, 1, "stop")
    assert (ok["cost_usd"], ok["cost_source"]) == (pytest.approx(0.000022), "fleet")
    assert (ok["task"], ok["user_id"], ok["session_id"], json.loads(ok["tags"])) == ("summarize", "u7", "s1", ["beta", "eu"])
    assert (ok["prompt"], ok["response"], ok["gateway_overhead_ms"]) == ("hello there", "Hello!", 0.41)
    failed = calls["1e" * 16]
    assert (failed["success"], failed["error_type"], failed["status_code"]) == (0, "rate_limited", 429)
    other = next(c for c in calls.values() if c["call_id"].startswith("otel:"))
    assert (other["provider_name"], other["request_model"], other["finish_reason"]) == ("openai", "gpt-4o", "length")
    assert other["latency_ms"] == pytest.approx(1500.0)
    assert other["cost_source"] != "provider", "a cost in EUR is not kept as USD; fleetui prices the call itself"
    assert fleetui(db, "import", str(FIXTURE), "--json") == 0
    again = json.loads(capsys.readouterr().out)
    assert (again["stored"], again["already_there"]) == (0, 3)


def test_bad_lines_of_a_collector_file_are_named_by_file_and_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = FIXTURE.read_text(encoding="utf-8").splitlines()[1]
    bad_time = good.replace('"startTimeUnixNano": "', '"startTimeUnixNano": "x', 1)
    bad_tokens = good.replace('{"key": "gen_ai.usage.input_tokens", "value": {"intValue": "100"}}',
                              '{"key": "gen_ai.usage.input_tokens", "value": {"doubleValue": 1.5}}')
    assert bad_tokens != good
    log = tmp_path / "traces.jsonl"
    lines = [good, "{not json", '{"resourceSpans": 5}', bad_time, bad_tokens]
    log.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    fleetui(tmp_path / "c.db", "import", str(log), "--format", "otlp")
    err = capsys.readouterr().err
    assert f"{log}:2: not JSON" in err
    assert f"{log}:3: not an OTLP ExportTraceServiceRequest" in err
    assert f"{log}:4: resourceSpans[0].scopeSpans[0].spans[0]: startTimeUnixNano 'x" in err
    assert f"{log}:5: resourceSpans[0].scopeSpans[0].spans[0]: gen_ai.usage.input_tokens 1.5 is not a whole number" in err
    assert "Traceback" not in err
    with Store.open(tmp_path / "c.db") as store:
        assert store.db.execute("SELECT COUNT(*) FROM calls").fetchone()[0] == 1  # the good line


def test_extreme_values_in_a_collector_file_are_one_line_each(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A time past float range and message attributes that are not a list, or nested past the
    parser's depth, once ended the import with a traceback."""
    good = FIXTURE.read_text(encoding="utf-8").splitlines()[1]
    span = json.loads(good)["resourceSpans"][0]["scopeSpans"][0]["spans"][0]

    def line(start: str | None = None, messages: str | None = None) -> str:
        changed = json.loads(json.dumps(span))
        if start is not None:
            changed["startTimeUnixNano"] = start
        if messages is not None:
            changed["attributes"] = [a for a in changed["attributes"] if a["key"] != "gen_ai.input.messages"]
            changed["attributes"].append({"key": "gen_ai.input.messages", "value": {"stringValue": messages}})
        changed["attributes"] = [a for a in changed["attributes"] if a["key"] != "fleetui.call_id"]
        changed["spanId"] = f"{len(str(start)) + len(str(messages)):016x}"
        return json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [changed]}]}]})

    log = tmp_path / "traces.jsonl"
    lines = [good, line(start="1" + "0" * 400), line(messages="5"), line(messages="[" * 100_000 + "]" * 100_000)]
    log.write_text("".join(f"{text}\n" for text in lines), encoding="utf-8")
    fleetui(tmp_path / "c.db", "import", str(log), "--format", "otlp")
    err = capsys.readouterr().err
    where = "resourceSpans[0].scopeSpans[0].spans[0]"
    assert f"{log}:2: {where}: startTimeUnixNano '1000" in err and "is not a time in nanoseconds" in err
    assert f"{log}:3: {where}: gen_ai.input.messages is not a list of messages" in err
    assert f"{log}:4: {where}: a message attribute is nested too deeply" in err
    assert "Traceback" not in err
    with Store.open(tmp_path / "c.db") as store:
        assert store.db.execute("SELECT COUNT(*) FROM calls").fetchone()[0] == 1  # the good line
