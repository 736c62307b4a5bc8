"""`fleetui metrics` on a big store: the new one-pass read of the call log (labels model, provider,
operation, in_fleet; tokens; latency and TTFT histograms) beside the old rollup read (calls,
errors, cost and latency by model only, plus its refusal count over the log).

    python benchmarks/bench_metrics.py [--db FILE] [--calls 1000000]

Without --db (or when the file does not exist) a demo database is generated first. Each side
runs 3 times; medians are printed, and the call totals of both are compared.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from bench_analytics import SAMPLE, timed  # the same median-of-runs timer, in ms

from fleetui.analysis.metrics import collect, prometheus_text
from fleetui.config.fleetfile import load_fleet
from fleetui.demo import generate_demo
from fleetui.store import Store, analytics


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", type=Path, help="a store to read (generated when it does not exist)")
    parser.add_argument("--calls", type=int, default=1_000_000, help="calls to generate")
    args = parser.parse_args()
    fleet = load_fleet(SAMPLE)
    tmp = tempfile.TemporaryDirectory()
    db = args.db or Path(tmp.name) / "big.db"
    if not db.exists():
        print(f"generating {args.calls:,} demo calls into {db} …", flush=True)
        generate_demo(fleet, db, calls=args.calls)
    with Store.open(db) as store:
        calls = store.count_calls()
        new_ms, text = timed(lambda: prometheus_text(collect(store, fleet)), runs=3)
        old_ms, rows = timed(lambda: (analytics.totals_with_histograms_by_model(store),
                                      analytics.refusals_by_model(store)), runs=3)
    new_total = sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith("fleetui_calls_total{"))
    old_total = sum(r["calls"] for r in rows[0])
    print(f"{calls:,} calls")
    print(f"fleetui metrics (one pass over calls, {len(text.splitlines()):,} lines): median {new_ms / 1000:.2f} s")
    print(f"old metrics (rollups by model + refusals over calls): median {old_ms / 1000:.2f} s")
    print(f"calls counted: new {new_total:,.0f}, old {old_total:,} ({'same' if new_total == old_total else 'DIFFERENT'})")


if __name__ == "__main__":
    main()
