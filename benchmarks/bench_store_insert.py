"""Calls stored per second by Store.insert_calls (rollups included) against plain sqlite3.

    python benchmarks/bench_store_insert.py [--rows 200000]

Both sides insert the same realistic rows (~750 bytes of prompt and response text) in
transactions of the same size into the same `calls` schema; the baseline keeps no rollups.
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import tempfile
import time
from pathlib import Path

from fleetui.store import CallRecord, Store
from fleetui.store.records import CALL_COLUMNS
from fleetui.store.store import CHUNK, _INSERT_CALL, utc_day

WORDS = ("the model answered quickly with a detailed explanation of caching retries and "
         "backoff for the checkout service while the user asked about menus hours and prices").split()


def make_rows(count: int, seed: int = 1) -> list[CallRecord]:
    rng = random.Random(seed)
    start = time.time() - 30 * 86400
    models = ["gpt-4", "claude-sonnet", "claude-haiku", "deepseek-v3", "local-llama"]
    use_cases = ["casual_chat", "coding", "quick_lookup", "analysis", "writing"]
    rows = []
    for i in range(count):
        prompt = " ".join(rng.choices(WORDS, k=rng.randint(20, 50)))
        response = " ".join(rng.choices(WORDS, k=rng.randint(50, 80)))
        rows.append(CallRecord(
            ts=start + i * (30 * 86400 / count), source="bench", model_id=rng.choice(models),
            provider_name="openai", request_model="gpt-4", response_model="gpt-4",
            prompt=prompt, prompt_hash=f"{rng.getrandbits(64):016x}", prompt_chars=len(prompt),
            response=response, response_chars=len(response), input_tokens=rng.randint(20, 900),
            output_tokens=rng.randint(10, 700), cached_input_tokens=0,
            latency_ms=rng.lognormvariate(7, 0.6), cost_usd=rng.random() / 50,
            use_case=rng.choice(use_cases), task="chat", success=rng.random() > 0.02,
        ))
    return rows


def bench_store(rows: list[CallRecord], folder: Path) -> float:
    with Store.open(folder / "store.db") as store:
        started = time.perf_counter()
        store.insert_calls(rows)
        return len(rows) / (time.perf_counter() - started)


def bench_plain(rows: list[CallRecord], folder: Path) -> float:
    # Same schema (created by the store, so both have the same indexes), no rollups.
    Store.open(folder / "plain.db").close()
    conn = sqlite3.connect(folder / "plain.db", isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    tags = CALL_COLUMNS.index("tags")
    started = time.perf_counter()
    for offset in range(0, len(rows), CHUNK):
        batch = []
        for record in rows[offset : offset + CHUNK]:
            row = [getattr(record, c) for c in CALL_COLUMNS]
            row[tags] = None
            row.append(utc_day(record.ts))
            batch.append(row)
        conn.execute("BEGIN")
        conn.executemany(_INSERT_CALL, batch)
        conn.execute("COMMIT")
    rate = len(rows) / (time.perf_counter() - started)
    conn.close()
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=200_000)
    args = parser.parse_args()
    rows = make_rows(args.rows)
    size = sum(len(r.prompt or "") + len(r.response or "") for r in rows) / len(rows)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        plain = bench_plain(rows, folder)
        store = bench_store(rows, folder)
    print(f"cores: {os.cpu_count()}  rows: {args.rows:,}  text per row: {size:.0f} bytes  "
          f"transaction: {CHUNK:,} rows")
    print(f"plain sqlite3 executemany (no rollups): {plain:>10,.0f} rows/s")
    print(f"Store.insert_calls (with rollups):      {store:>10,.0f} rows/s  "
          f"({store / plain:.2f}× plain)")


if __name__ == "__main__":
    main()
