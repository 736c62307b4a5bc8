"""OpenTelemetry GenAI spans of recorded calls, for teams that feed an OpenTelemetry Collector.

When the fleet file names an OTLP endpoint (`[otel] endpoint = "http://collector:4318"`), the
recorder's writer thread (the shim's and `fleetui serve`'s) turns each call it stores into one
span with the GenAI semantic conventions' attribute names (`attributes.py`) and hands it to the
OpenTelemetry SDK's batch exporter (`export.py`). The app's own threads never see any of it:
this package is imported by the writer thread, and only when an endpoint is set.

`fleetui import` reads spans back from the Collector's file exporter (fleetui/importers/otlp.py),
with the same attribute names.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fleetui.config.schema import Fleet
    from fleetui.otel.export import SpanExporter

MISSING = ("fleetui: the fleet file's [otel] names an endpoint but OpenTelemetry is not installed; "
           "calls are stored without spans — pip install 'fleetui[otel]'")


def installed() -> bool:
    """Both packages of the `otel` extra are there (looked up, not imported)."""
    from importlib.util import find_spec

    try:
        return all(find_spec(name) is not None for name in
                   ("opentelemetry.sdk.trace", "opentelemetry.exporter.otlp.proto.http.trace_exporter"))
    except ModuleNotFoundError:  # a parent package is missing
        return False


def exporter_for(fleet: Fleet | None, warn: Callable[[str], None]) -> SpanExporter | None:
    """The span exporter the fleet asks for; None when it names no endpoint, or (with the one
    line from MISSING said through `warn`) when the `otel` extra is not installed."""
    if fleet is None or not fleet.otel.endpoint:
        return None
    if not installed():
        warn(MISSING)
        return None
    from fleetui.otel.export import SpanExporter

    return SpanExporter(fleet.otel.endpoint, service_name=fleet.otel.service_name, content=fleet.otel.content)
