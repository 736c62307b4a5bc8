"""`fleetui metrics` on a big store: the first collection (catching the label-set totals up with
the whole log), a scrape with nothing new, a scrape after 10,000 new calls, beside the old rollup
read (calls, errors, cost and latency by model only, plus its refusal count over the log) and a
plain one-pass GROUP BY of the label set over the log.

    python benchmarks/bench_metrics.py [--db FILE] [--calls 1000000]

Without --db (or when the file does not exist) a demo database is generated first. Repeated
figures are medians of 3 runs; the call totals are compared.
"""

from __future__ import annotations

import time

from bench_analytics import big_store, timed  # the same store and median-of-runs timer (ms)

from fleetui.analysis.metrics import collect, prometheus_text
from fleetui.store import CallRecord, Store, analytics
from fleetui.store.metrics_totals import CATCH_UP_ROWS


def main() -> None:
    fleet, db, _tmp = big_store(__doc__)
    with Store.open(db) as store:
        calls = store.count_calls()
        store.db.execute("DELETE FROM metrics_totals")  # start from no totals, as a first scrape does
        store.db.execute("DELETE FROM counters WHERE name = 'metrics.last_call_id'")
        started = time.perf_counter()
        text = prometheus_text(collect(store, fleet))
        first_s = time.perf_counter() - started
        idle_ms, _ = timed(lambda: prometheus_text(collect(store, fleet)), runs=3)
        store.insert_calls(CallRecord(model_id="gpt-4o-mini", provider_name="openai", request_model="gpt-4o-mini",
                                      input_tokens=100, output_tokens=20, latency_ms=900.0, cost_usd=0.0001)
                           for _ in range(10_000))
        started = time.perf_counter()
        prometheus_text(collect(store, fleet))
        new_ms = (time.perf_counter() - started) * 1000
        old_ms, rows = timed(lambda: (analytics.totals_with_histograms_by_model(store),
                                      analytics.refusals_by_model(store)), runs=3)
        scan_ms, _ = timed(lambda: store.db.execute(
            "SELECT model_id, request_model, provider_name, operation_name, COUNT(*), SUM(latency_ms) "
            "FROM calls GROUP BY 1, 2, 3, 4").fetchall(), runs=1)
    new_total = sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith("fleetui_calls_total{"))
    old_total = sum(r["calls"] for r in rows[0]) - 10_000
    print(f"{calls:,} calls; {len(text.splitlines()):,} lines of metrics")
    print(f"first collection (catch-up of the whole log, {CATCH_UP_ROWS:,}-call transactions): {first_s:.2f} s")
    print(f"scrape, nothing new: median {idle_ms:.1f} ms; scrape after 10,000 new calls: {new_ms:.1f} ms")
    print(f"old metrics (rollups by model + refusals over calls): median {old_ms:.0f} ms")
    print(f"plain GROUP BY of the label set over the log: {scan_ms:.0f} ms")
    print(f"calls counted: new {new_total:,.0f}, old {old_total:,} ({'same' if new_total == old_total else 'DIFFERENT'})")


if __name__ == "__main__":
    main()
