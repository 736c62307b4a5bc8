"""Writes collector-file.jsonl: what the OpenTelemetry Collector's file exporter (format json)
writes, one OTLP/JSON ExportTraceServiceRequest per line, made with the OpenTelemetry SDK's own
JSON encoding (opentelemetry-exporter-otlp-json-common's encode_spans; ids in hex, 64-bit ints as
strings, as the Collector writes them).

    pip install opentelemetry-sdk opentelemetry-exporter-otlp-json-common
    python tests/data/otel/make_collector_file.py

Line 1: two calls as fleetui.otel emits them (a priced chat with tags and content, a failed
one) and an HTTP span that is not a GenAI call. Line 2: a chat span from another
instrumentation (GenAI names only, a cost in EUR, no fleetui.call_id).
"""

from __future__ import annotations

from pathlib import Path

from opentelemetry.exporter.otlp.json.common.trace_encoder import encode_spans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, Status, StatusCode

from fleetui.otel.attributes import attributes_of, span_name, span_times_ns
from fleetui.store.records import CallRecord

HERE = Path(__file__).resolve().parent
T0 = 1_796_000_000.0  # 2026-11-30


def spans(service: str, make: list) -> str:
    memory = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("fleetui")
    for name, start, end, attributes, error in make:
        span = tracer.start_span(name, kind=SpanKind.CLIENT, start_time=start, attributes=attributes)
        if error:
            span.set_status(Status(StatusCode.ERROR, error))
        span.end(end_time=end)
    return encode_spans(memory.get_finished_spans()).to_json()


def main() -> None:
    ok = CallRecord(call_id="0f" * 16, ts=T0, source="billing-bot", model_id="small", provider_name="oa",
                    request_model="fake-small", response_model="fake-small-2026", input_tokens=12, output_tokens=5,
                    cached_input_tokens=2, latency_ms=840.5, ttft_ms=120.25, cost_usd=0.000022, cost_source="fleet",
                    finish_reason="stop", streamed=True, task="summarize", user_id="u7", session_id="s1",
                    tags=["beta", "eu"], prompt="hello there", response="Hello!", route="role default",
                    gateway_overhead_ms=0.41, status_code=200)
    failed = CallRecord(call_id="1e" * 16, ts=T0 + 5, source="billing-bot", model_id="large", provider_name="oa",
                        request_model="fake-large", latency_ms=30.0, success=False, error_type="rate_limited",
                        status_code=429)
    first = [(span_name(c), *span_times_ns(c), attributes_of(c, content=c is ok), c.error_type) for c in (ok, failed)]
    first.append(("POST /checkout", int(T0 * 1e9), int(T0 * 1e9) + 5_000_000, {"http.request.method": "POST"}, None))
    start = int((T0 + 60) * 1e9)
    other = [("chat gpt-4o", start, start + 1_500_000_000, {
        "gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o",
        "gen_ai.response.model": "gpt-4o-2024-08-06", "gen_ai.usage.input_tokens": 100,
        "gen_ai.usage.output_tokens": 20, "gen_ai.response.finish_reasons": ["length"],
        "gen_ai.usage.cost.amount": 0.0004, "gen_ai.usage.cost.currency": "EUR",
        "gen_ai.usage.cost.source": "provider"}, None)]
    lines = [spans("fleetui", first), spans("checkout-service", other)]
    (HERE / "collector-file.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
