"""Dashboard queries on 1,000,000 calls: from rollups, and the same answer by GROUP BY on `calls`.

    python benchmarks/bench_analytics.py [--db FILE] [--calls 1000000]

Without --db (or when the file does not exist) a demo database is generated first (≈45 s).
Each query runs 5 times; the median is printed with the GROUP BY baseline's, and the answers
are compared.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fleetui.analysis.ranking import rank_use_cases
from fleetui.analysis.costs import cost_report, what_it_would_have_cost
from fleetui.demo import generate_demo
from fleetui.config.fleetfile import load_fleet
from fleetui.config.schema import Fleet
from fleetui.store import Store

SAMPLE = Path(__file__).resolve().parent.parent / "sample_fleet.toml"


def timed(fn: Callable[[], Any], runs: int = 5) -> tuple[float, Any]:
    samples, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = fn()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples), result


def big_store(doc: str | None) -> tuple[Fleet, Path, tempfile.TemporaryDirectory[str]]:
    """The sample fleet and the store named by --db, generated with --calls demo calls when it
    does not exist (in a temporary folder, kept while the returned handle lives, without --db)."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", type=Path, help="a store to read (generated when it does not exist)")
    parser.add_argument("--calls", type=int, default=1_000_000, help="demo calls to generate")
    args = parser.parse_args()
    fleet = load_fleet(SAMPLE)
    tmp = tempfile.TemporaryDirectory()
    db = args.db or Path(tmp.name) / "big.db"
    if not db.exists():
        print(f"generating {args.calls:,} demo calls into {db} …", flush=True)
        generate_demo(fleet, db, calls=args.calls)
    return fleet, db, tmp


def main() -> None:
    fleet, db, tmp = big_store(__doc__)
    store = Store.open(db)
    calls = store.count_calls()
    since = time.strftime("%Y-%m-%d", time.gmtime(time.time() - 6 * 86400))
    checks: list[tuple[str, Callable[[], Any], Callable[[], Any], Callable[[Any, Any], bool]]] = [
        ("calls/cost by model, 7 days",
         lambda: {t.key: t.calls for t in store.totals("model", since=since)},
         lambda: {r[0]: r[1] for r in store.db.execute(
             "SELECT model_id, COUNT(*) FROM calls WHERE day >= ? GROUP BY model_id", [since])},
         lambda a, b: a == b),
        ("calls by use case, all",
         lambda: {t.key: t.calls for t in store.totals("use_case")},
         lambda: {r[0]: r[1] for r in store.db.execute("SELECT use_case, COUNT(*) FROM calls GROUP BY use_case")},
         lambda a, b: a == b),
        ("cost by day, 30 days",
         lambda: {t.key: round(t.cost_usd, 6) for t in store.totals("day")},
         lambda: {r[0]: round(r[1] or 0, 6) for r in store.db.execute("SELECT day, SUM(cost_usd) FROM calls GROUP BY day")},
         lambda a, b: all(abs(a[k] - b[k]) < 1e-3 for k in b)),
        ("p95 latency by model (histogram vs exact)",
         lambda: {t.key: t.p95_ms for t in store.totals("model")},
         lambda: {r[0]: r[1] for r in store.db.execute(
             "SELECT model_id, latency_ms FROM (SELECT model_id, latency_ms, PERCENT_RANK() OVER "
             "(PARTITION BY model_id ORDER BY latency_ms) pr FROM calls WHERE latency_ms IS NOT NULL) "
             "WHERE pr >= 0.95 GROUP BY model_id HAVING pr = MIN(pr)")},
         lambda a, b: all(abs(a[k] - b[k]) / b[k] < 0.42 for k in b)),
        ("cost report (today/week/month/projection/30 days)",
         lambda: cost_report(fleet, store).this_month, None, None),
        ("what it would have cost, month",
         lambda: len(what_it_would_have_cost(fleet, store, since[:8] + "01")), None, None),
        ("ranking of every use case",
         lambda: len(rank_use_cases(fleet, store)), None, None),
    ]
    print(f"cores: {os.cpu_count()}  calls in the store: {calls:,}")
    for name, fast, slow, same in checks:
        ms, answer = timed(fast)
        line = f"  {name:<52} {ms:8.1f} ms"
        if slow is not None:
            slow_ms, truth = timed(slow, runs=1 if "p95" in name else 3)
            line += f"   GROUP BY on calls {slow_ms:9.1f} ms   same answer: {same(answer, truth)}"
        print(line, flush=True)
    store.close()
    tmp.cleanup()


if __name__ == "__main__":
    main()
