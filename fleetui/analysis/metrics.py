"""The store's totals as Prometheus metrics (text exposition format 0.0.4) or as JSON.

Every series carries `model`, `provider`, `operation` and `in_fleet`, as OpenTelemetry's GenAI
conventions describe a call (`gen_ai.request.model`, `gen_ai.provider.name`,
`gen_ai.operation.name`):

- `model` is the fleet model id; a call that maps to no fleet model keeps the model it asked for
  (then the one that answered), with `in_fleet="false"`, so it never collapses into `model=""`;
- `provider` is the fleet's provider id for a fleet model (so DeepSeek behind the OpenAI SDK is
  "deepseek"), else the provider recorded with the call;
- `operation` is the recorded operation ("chat", …).

Tokens follow `gen_ai.client.token.usage` by `gen_ai.token.type`: `type="input"` counts every input
token, cached ones included; `type="cached_input"` is the part of them served from the provider's
cache; `type="output"`. Latency and time to first token are histograms in seconds with
Prometheus-style bounds, counted exactly from the call log (`le` is "less than or equal").
Spend counts priced calls only; calls without a known cost are counted apart, never as $0.

The counters are read from the call log in one grouped pass (`benchmarks/bench_metrics.py`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from fleetui.config.schema import Fleet
from fleetui.store import Store

LABELS = ("model", "provider", "operation", "in_fleet")
LATENCY_BOUNDS_S = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0)
TTFT_BOUNDS_S = (0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 10.0, 20.0)
UNKNOWN = "unknown"


class MetricType(StrEnum):
    COUNTER = "counter"
    HISTOGRAM = "histogram"


@dataclass(frozen=True, slots=True)
class Sample:
    name: str  # the sample's own name: fleetui_latency_seconds_bucket, …
    labels: tuple[tuple[str, str], ...]
    value: float


@dataclass(slots=True)
class Family:
    name: str
    type: MetricType
    help: str
    samples: list[Sample] = field(default_factory=list)


@dataclass(slots=True)
class _Totals:
    calls: int = 0
    errors: int = 0
    refusals: int = 0
    cost: float = 0.0
    unpriced: int = 0
    tokens: dict[str, int] = field(default_factory=lambda: {"input": 0, "output": 0, "cached_input": 0})
    latency: list[float] = field(default_factory=lambda: [0, 0.0] + [0] * len(LATENCY_BOUNDS_S))  # n, sum ms, ≤ bounds
    ttft: list[float] = field(default_factory=lambda: [0, 0.0] + [0] * len(TTFT_BOUNDS_S))


def _histogram_sql(column: str, bounds: tuple[float, ...]) -> str:
    return ", ".join([f"COUNT({column})", f"SUM({column})",
                      *(f"SUM({column} <= {bound * 1000!r})" for bound in bounds)])


_QUERY = f"""
SELECT COALESCE(model_id, ''),
       CASE WHEN COALESCE(model_id, '') = '' THEN COALESCE(NULLIF(request_model, ''), response_model, '') END,
       COALESCE(provider_name, ''), COALESCE(operation_name, ''),
       COUNT(*), SUM(success = 0), SUM(finish_reason IN ('refusal', 'content_filter')),
       SUM(cost_usd), SUM(cost_usd IS NULL),
       SUM(input_tokens), SUM(output_tokens), SUM(cached_input_tokens),
       {_histogram_sql("latency_ms", LATENCY_BOUNDS_S)},
       {_histogram_sql("ttft_ms", TTFT_BOUNDS_S)}
FROM calls GROUP BY 1, 2, 3, 4
"""


def _totals(store: Store, fleet: Fleet | None) -> dict[tuple[str, str, str, str], _Totals]:
    providers = {m.id: m.provider for m in fleet.models} if fleet is not None else {}
    out: dict[tuple[str, str, str, str], _Totals] = {}
    n_latency = 2 + len(LATENCY_BOUNDS_S)
    for row in store.db.execute(_QUERY):
        model_id, asked, recorded_provider, operation = row[:4]
        if model_id:
            key = (model_id, providers.get(model_id) or recorded_provider or UNKNOWN, operation or UNKNOWN, "true")
        else:
            key = (asked or UNKNOWN, recorded_provider or UNKNOWN, operation or UNKNOWN, "false")
        totals = out.setdefault(key, _Totals())
        calls, errors, refusals, cost, unpriced, tokens_in, tokens_out, tokens_cached = row[4:12]
        totals.calls += calls
        totals.errors += errors or 0
        totals.refusals += refusals or 0
        totals.cost += cost or 0.0
        totals.unpriced += unpriced or 0
        totals.tokens["input"] += tokens_in or 0
        totals.tokens["output"] += tokens_out or 0
        totals.tokens["cached_input"] += tokens_cached or 0
        for target, values in ((totals.latency, row[12:12 + n_latency]), (totals.ttft, row[12 + n_latency:])):
            for index, value in enumerate(values):
                target[index] += value or 0
    return dict(sorted(out.items()))


def collect(store: Store, fleet: Fleet | None = None) -> list[Family]:
    """Every metric family, from one pass over the call log."""
    totals = _totals(store, fleet)

    def labels(key: tuple[str, ...], *extra: tuple[str, str]) -> tuple[tuple[str, str], ...]:
        return (*zip(LABELS, key), *extra)

    families = [
        Family("fleetui_calls_total", MetricType.COUNTER, "LLM calls recorded."),
        Family("fleetui_errors_total", MetricType.COUNTER, "LLM calls that failed."),
        Family("fleetui_refusals_total", MetricType.COUNTER, "Replies the model refused or filtered."),
        Family("fleetui_cost_usd_total", MetricType.COUNTER,
               "Spend on priced calls, USD; calls without a known cost are in fleetui_unpriced_calls_total."),
        Family("fleetui_unpriced_calls_total", MetricType.COUNTER,
               "Calls with no known cost (unpriced model or no token counts), not counted as $0."),
        Family("fleetui_tokens_total", MetricType.COUNTER,
               "Tokens by type: input (all input, cached included), cached_input (the cached part), output."),
        Family("fleetui_latency_seconds", MetricType.HISTOGRAM, "Call latency, seconds."),
        Family("fleetui_time_to_first_token_seconds", MetricType.HISTOGRAM,
               "Time to the first token of streamed calls, seconds."),
    ]
    calls, errors, refusals, cost, unpriced, tokens, latency, ttft = families
    for key, t in totals.items():
        base = labels(key)
        calls.samples.append(Sample(calls.name, base, t.calls))
        errors.samples.append(Sample(errors.name, base, t.errors))
        refusals.samples.append(Sample(refusals.name, base, t.refusals))
        if t.unpriced < t.calls:  # a series of unpriced calls only has no spend to show, not $0
            cost.samples.append(Sample(cost.name, base, round(t.cost, 9)))
        unpriced.samples.append(Sample(unpriced.name, base, t.unpriced))
        for kind in ("input", "cached_input", "output"):
            tokens.samples.append(Sample(tokens.name, labels(key, ("type", kind)), t.tokens[kind]))
        _histogram(latency, base, t.latency, LATENCY_BOUNDS_S)
        if t.ttft[0]:
            _histogram(ttft, base, t.ttft, TTFT_BOUNDS_S)
    dropped = Family("fleetui_shim_dropped_total", MetricType.COUNTER,
                     "Records the logging shim dropped (queue full).")
    dropped.samples.append(Sample(dropped.name, (), store.counter("shim.dropped")))
    return [*families, dropped]


def _histogram(family: Family, base: tuple[tuple[str, str], ...], values: list[float],
               bounds: tuple[float, ...]) -> None:
    count, total_ms, *at_most = values
    for bound, n in zip(bounds, at_most, strict=True):
        # le as prometheus_client and Prometheus 3 write it: "1.0", "2.5".
        family.samples.append(Sample(f"{family.name}_bucket", (*base, ("le", repr(float(bound)))), n))
    family.samples.append(Sample(f"{family.name}_bucket", (*base, ("le", "+Inf")), count))
    family.samples.append(Sample(f"{family.name}_sum", base, round(total_ms / 1000, 6)))
    family.samples.append(Sample(f"{family.name}_count", base, count))


def _number(value: float) -> str:
    if math.isinf(value):
        return "+Inf"
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def prometheus_text(families: list[Family]) -> str:
    lines: list[str] = []
    for family in families:
        lines.append(f"# HELP {family.name} {family.help}")
        lines.append(f"# TYPE {family.name} {family.type.value}")
        for sample in family.samples:
            labels = ",".join(f'{k}="{_label(v)}"' for k, v in sample.labels)
            lines.append(f"{sample.name}{{{labels}}} {_number(sample.value)}" if labels
                         else f"{sample.name} {_number(sample.value)}")
    return "\n".join(lines) + "\n"


def metrics_json(families: list[Family]) -> dict[str, Any]:
    """The same families and samples as the text format, for `fleetui metrics --json`."""
    return {"metrics": [
        {"name": f.name, "type": f.type.value, "help": f.help,
         "samples": [{"name": s.name, "labels": dict(s.labels), "value": s.value} for s in f.samples]}
        for f in families
    ]}
