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

The totals are kept by label set in the store (:mod:`fleetui.store.metrics_totals`); each
collection first adds the calls stored since the last one, so a scrape reads the new calls only
and pruning old calls never lowers a counter (`benchmarks/bench_metrics.py`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from fleetui.config.schema import Fleet
from fleetui.store import Store
from fleetui.store import metrics_totals as totals

LABELS = ("model", "provider", "operation", "in_fleet")
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


def _totals(store: Store, fleet: Fleet | None) -> dict[tuple[str, str, str, str], dict[str, float]]:
    """The stored totals by label set, with a fleet model's provider named as the fleet names it
    (rows recorded under several provider names then add up)."""
    providers = {m.id: m.provider for m in fleet.models} if fleet is not None else {}
    out: dict[tuple[str, str, str, str], dict[str, float]] = {}
    for row in totals.read_totals(store):
        in_fleet = bool(row["in_fleet"])
        provider = (providers.get(row["model"]) if in_fleet else None) or row["provider"] or UNKNOWN
        key = (row["model"] or UNKNOWN, provider, row["operation"] or UNKNOWN, "true" if in_fleet else "false")
        sums = out.setdefault(key, dict.fromkeys(totals.SUMS, 0))
        for name in totals.SUMS:
            sums[name] += row[name]
    return dict(sorted(out.items()))


def collect(store: Store, fleet: Fleet | None = None) -> list[Family]:
    """Every metric family, after adding the calls stored since the last collection."""
    totals.catch_up(store)
    by_labels = _totals(store, fleet)

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
    for key, t in by_labels.items():
        base = labels(key)
        calls.samples.append(Sample(calls.name, base, t["calls"]))
        errors.samples.append(Sample(errors.name, base, t["errors"]))
        refusals.samples.append(Sample(refusals.name, base, t["refusals"]))
        if t["unpriced_calls"] < t["calls"]:  # a series of unpriced calls only has no spend to show, not $0
            cost.samples.append(Sample(cost.name, base, round(t["cost_usd"], 9)))
        unpriced.samples.append(Sample(unpriced.name, base, t["unpriced_calls"]))
        for kind, column in (("input", "input_tokens"), ("cached_input", "cached_input_tokens"),
                             ("output", "output_tokens")):
            tokens.samples.append(Sample(tokens.name, labels(key, ("type", kind)), t[column]))
        _histogram(latency, base, t, "latency", totals.LATENCY_BOUNDS_MS, totals.LATENCY_COLUMNS)
        if t["ttft_count"]:
            _histogram(ttft, base, t, "ttft", totals.TTFT_BOUNDS_MS, totals.TTFT_COLUMNS)
    dropped = Family("fleetui_shim_dropped_total", MetricType.COUNTER,
                     "Records the logging shim dropped (queue full).")
    dropped.samples.append(Sample(dropped.name, (), store.counter("shim.dropped")))
    return [*families, dropped]


def _histogram(family: Family, base: tuple[tuple[str, str], ...], t: dict[str, float], prefix: str,
               bounds_ms: tuple[int, ...], columns: tuple[str, ...]) -> None:
    for bound, column in zip(bounds_ms, columns, strict=True):
        # le as prometheus_client and Prometheus 3 write it: "1.0", "2.5".
        family.samples.append(Sample(f"{family.name}_bucket", (*base, ("le", repr(bound / 1000))), t[column]))
    family.samples.append(Sample(f"{family.name}_bucket", (*base, ("le", "+Inf")), t[f"{prefix}_count"]))
    family.samples.append(Sample(f"{family.name}_sum", base, round(t[f"{prefix}_ms_sum"] / 1000, 6)))
    family.samples.append(Sample(f"{family.name}_count", base, t[f"{prefix}_count"]))


def _number(value: float) -> str:
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
