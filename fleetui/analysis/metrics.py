"""The store's totals in the Prometheus text exposition format (version 0.0.4)."""

from __future__ import annotations

from fleetui.store import Store, analytics, histogram


def _label(value: str | None) -> str:
    text = value or ""
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def prometheus_text(store: Store) -> str:
    lines: list[str] = []
    rows = analytics.totals_with_histograms_by_model(store)
    refusals = analytics.refusals_by_model(store)

    def family(name: str, kind: str, help_text: str) -> None:
        lines.append(f"# HELP {name} {help_text}")
        lines.append(f"# TYPE {name} {kind}")

    family("fleetui_calls_total", "counter", "LLM calls recorded.")
    lines += [f'fleetui_calls_total{{model="{_label(r["model_id"])}"}} {r["calls"]}' for r in rows]
    family("fleetui_errors_total", "counter", "LLM calls that failed.")
    lines += [f'fleetui_errors_total{{model="{_label(r["model_id"])}"}} {r["errors"]}' for r in rows]
    family("fleetui_refusals_total", "counter", "Replies the model refused or filtered.")
    lines += [f'fleetui_refusals_total{{model="{_label(r["model_id"])}"}} {refusals.get(r["model_id"] or "", 0)}'
              for r in rows]
    family("fleetui_cost_usd_total", "counter", "Spend on priced calls, USD.")
    lines += [f'fleetui_cost_usd_total{{model="{_label(r["model_id"])}"}} {r["cost"] or 0:.6f}' for r in rows]
    family("fleetui_latency_seconds", "histogram", "Call latency.")
    for r in rows:
        label = _label(r["model_id"])
        running = 0
        for index, upper in enumerate(histogram.UPPER):
            running += r[histogram.COLUMNS[index]] or 0
            lines.append(f'fleetui_latency_seconds_bucket{{model="{label}",le="{upper / 1000:.4g}"}} {running}')
        lines.append(f'fleetui_latency_seconds_bucket{{model="{label}",le="+Inf"}} {r["lat_n"]}')
        lines.append(f'fleetui_latency_seconds_sum{{model="{label}"}} {(r["lat_sum"] or 0) / 1000:.3f}')
        lines.append(f'fleetui_latency_seconds_count{{model="{label}"}} {r["lat_n"]}')
    lines.append("# HELP fleetui_shim_dropped_total Records the logging shim dropped (queue full).")
    lines.append("# TYPE fleetui_shim_dropped_total counter")
    lines.append(f"fleetui_shim_dropped_total {store.counter('shim.dropped')}")
    return "\n".join(lines) + "\n"
