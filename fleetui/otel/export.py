"""Spans out through the OpenTelemetry SDK: one tracer provider, its batch processor and the
OTLP/HTTP (protobuf) exporter. Made and used on the recorder's writer thread only; the batch
processor's own thread does the sending, so a slow or absent collector costs the writer a
queue append per call (and, past the SDK's queue of 2,048, dropped spans, never a stall)."""

from __future__ import annotations

from collections.abc import Iterable

from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import SpanKind, Status, StatusCode

from fleetui.otel.attributes import attributes_of, span_name, span_times_ns
from fleetui.store.records import CallRecord


class SpanExporter:
    def __init__(self, endpoint: str, *, service_name: str = "fleetui", content: bool = False) -> None:
        # The provider is this exporter's own, not the process's global one: an app that set up
        # OpenTelemetry for itself keeps its own pipeline, and fleetui's spans go where the fleet says.
        # No atexit hook of the SDK's own: it would shut the provider down before the recorder's
        # exit hook stores (and spans) the last calls, and registering one fails when the writer
        # makes the exporter during exit. The recorder flushes it after its last batch instead.
        self._provider = TracerProvider(resource=Resource.create({"service.name": service_name}),
                                        shutdown_on_exit=False)
        self._provider.add_span_processor(BatchSpanProcessor(
            OTLPSpanExporter(endpoint=endpoint.rstrip("/") + "/v1/traces")))
        self._tracer = self._provider.get_tracer("fleetui")
        self._content = content

    def emit(self, calls: Iterable[CallRecord]) -> None:
        for call in calls:
            start, end = span_times_ns(call)
            span = self._tracer.start_span(span_name(call), kind=SpanKind.CLIENT, start_time=start,
                                           attributes=attributes_of(call, content=self._content))
            if not call.success:
                span.set_status(Status(StatusCode.ERROR, call.error_type))
            span.end(end_time=end)

    def flush(self, timeout_s: float = 5.0) -> bool:
        return self._provider.force_flush(int(timeout_s * 1000))

    def close(self) -> None:
        self._provider.shutdown()
