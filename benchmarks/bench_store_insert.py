"""Calls stored per second by Store.insert_calls (rollups included) against plain sqlite3.

    python benchmarks/bench_store_insert.py [--rows 200000]

Both sides insert the same realistic rows (~750 bytes of prompt and response text) in
transactions of the same size into the same `calls` schema and indexes; the baseline keeps no
rollups and gets its rows as ready-made tuples, so the ratio is everything the store adds
(turning records into rows, rollup sums, the upserts). A third figure, plain inserts into a
`calls` table without secondary indexes, shows what the indexes themselves cost.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sqlite3
import tempfile
import time
from operator import attrgetter
from pathlib import Path

from fleetui.store import CallRecord, Store
from fleetui.store.records import CALL_COLUMNS
from fleetui.store.store import _INSERT_CALL, CHUNK, utc_day

WORDS = [
    "the", "model", "answered", "quickly", "with", "a", "detailed", "explanation", "of", "caching",
    "retries", "and", "backoff", "for", "the", "checkout", "service", "while", "the", "user",
    "asked", "about", "menus", "hours", "and", "prices",
]


def make_rows(count: int, seed: int = 1) -> list[CallRecord]:
    rng = random.Random(seed)
    start = time.time() - 30 * 86400
    models = ["gpt-4", "claude-sonnet", "claude-haiku", "deepseek-v3", "local-llama"]
    use_cases = ["casual_chat", "coding", "quick_lookup", "analysis", "writing"]
    rows = []
    for i in range(count):
        prompt = " ".join(rng.choices(WORDS, k=rng.randint(25, 55)))
        response = " ".join(rng.choices(WORDS, k=rng.randint(65, 100)))
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


def plain_rows(rows: list[CallRecord]) -> list[tuple[object, ...]]:
    # What the store writes for each record: tags as JSON (NULL when empty), then the UTC day.
    values = attrgetter(*CALL_COLUMNS)
    tags = CALL_COLUMNS.index("tags")
    out = []
    for record in rows:
        row = list(values(record))
        row[tags] = json.dumps(row[tags]) if row[tags] else None
        out.append((*row, utc_day(record.ts)))
    return out


def bench_plain(rows: list[tuple[object, ...]], file: Path, *, indexes: bool) -> float:
    # The schema the store creates, so both sides write the same columns; no rollups.
    Store.open(file).close()
    conn = sqlite3.connect(file, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    if not indexes:
        names = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'calls' AND sql IS NOT NULL"
        )]
        for name in names:
            conn.execute(f"DROP INDEX {name}")
    started = time.perf_counter()
    for offset in range(0, len(rows), CHUNK):
        conn.execute("BEGIN")
        conn.executemany(_INSERT_CALL, rows[offset : offset + CHUNK])
        conn.execute("COMMIT")
    rate = len(rows) / (time.perf_counter() - started)
    conn.close()
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=200_000)
    args = parser.parse_args()
    rows = make_rows(args.rows)
    tuples = plain_rows(rows)
    size = sum(len(r.prompt or "") + len(r.response or "") for r in rows) / len(rows)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        plain = bench_plain(tuples, folder / "plain.db", indexes=True)
        store = bench_store(rows, folder)
        bare = bench_plain(tuples, folder / "bare.db", indexes=False)
    print(f"cores: {os.cpu_count()}  rows: {args.rows:,}  text per row: {size:.0f} bytes  "
          f"transaction: {CHUNK:,} rows")
    print(f"plain sqlite3 executemany (no rollups):  {plain:>10,.0f} rows/s")
    print(f"Store.insert_calls (with rollups):       {store:>10,.0f} rows/s  "
          f"({store / plain:.2f}× plain)")
    print(f"plain, calls without secondary indexes:  {bare:>10,.0f} rows/s  (for context)")

if __name__ == "__main__":
    main()
