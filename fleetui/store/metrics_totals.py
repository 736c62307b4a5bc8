"""Running totals behind `fleetui metrics`: one row per label set (model, recorded provider,
operation, in the fleet or not), caught up from the call log by rowid.

The label set is not a rollup key, and reading it from the log means reading every row (about
12 s for 1M calls on these machines). So the totals are kept here and each `fleetui metrics`
adds only the calls stored since the last one (`metrics.last_call_id` in `counters`), a range
scan on the primary key. This also keeps the counters monotonic when old calls are pruned, as
Prometheus counters must be. The metric columns of a call never change after it is stored
(later updates touch use case, feedback, follow-up and abandonment only), so a call is counted
once, when first seen.

The table comes from schema step 7; the bucket bounds are part of the stored data, so changing
them needs a migration step that rebuilds the table and resets the watermark.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from fleetui.store.store import Store

LATENCY_BOUNDS_MS = (100, 250, 500, 1000, 2500, 5000, 10_000, 20_000, 30_000, 60_000, 120_000, 300_000)
TTFT_BOUNDS_MS = (50, 100, 250, 500, 750, 1000, 2500, 5000, 10_000, 20_000)
KEY = ("model", "provider", "operation", "in_fleet")
LATENCY_COLUMNS = tuple(f"latency_le_{i:02d}" for i in range(len(LATENCY_BOUNDS_MS)))
TTFT_COLUMNS = tuple(f"ttft_le_{i:02d}" for i in range(len(TTFT_BOUNDS_MS)))
SUMS = ("calls", "errors", "refusals", "cost_usd", "unpriced_calls", "input_tokens", "output_tokens",
        "cached_input_tokens", "latency_count", "latency_ms_sum", *LATENCY_COLUMNS, "ttft_count", "ttft_ms_sum",
        *TTFT_COLUMNS)
WATERMARK = "metrics.last_call_id"
CATCH_UP_ROWS = 50_000  # per transaction, so a first catch-up never holds the write lock long


def _aggregates() -> list[str]:
    def le(column: str, bounds: tuple[int, ...]) -> list[str]:
        return [f"COALESCE(SUM({column} <= {bound}), 0)" for bound in bounds]

    return ["COUNT(*)", "COALESCE(SUM(success = 0), 0)",
            "COALESCE(SUM(finish_reason IN ('refusal', 'content_filter')), 0)", "TOTAL(cost_usd)",
            "COALESCE(SUM(cost_usd IS NULL), 0)", "COALESCE(SUM(input_tokens), 0)",
            "COALESCE(SUM(output_tokens), 0)", "COALESCE(SUM(cached_input_tokens), 0)",
            "COUNT(latency_ms)", "TOTAL(latency_ms)", *le("latency_ms", LATENCY_BOUNDS_MS),
            "COUNT(ttft_ms)", "TOTAL(ttft_ms)", *le("ttft_ms", TTFT_BOUNDS_MS)]


# A call outside the fleet keeps the model it asked for, then the one that answered.
_UPSERT = f"""
INSERT INTO metrics_totals ({', '.join((*KEY, *SUMS))})
SELECT CASE WHEN COALESCE(model_id, '') != '' THEN model_id
            ELSE COALESCE(NULLIF(request_model, ''), NULLIF(response_model, ''), '') END,
       COALESCE(provider_name, ''), COALESCE(operation_name, ''), COALESCE(model_id, '') != '',
       {', '.join(_aggregates())}
FROM calls WHERE id > ? AND id <= ? GROUP BY 1, 2, 3, 4
ON CONFLICT ({', '.join(KEY)}) DO UPDATE SET {', '.join(f'{c} = {c} + excluded.{c}' for c in SUMS)}
"""
_SET_WATERMARK = ("INSERT INTO counters (name, value) VALUES (?, ?) "
                  "ON CONFLICT(name) DO UPDATE SET value = excluded.value")


def catch_up(store: Store) -> int:
    """Add the calls stored since the last catch-up to the totals; returns how many."""
    added = 0
    while True:
        chunk: list[int] = []  # the calls this transaction added, when it advanced the watermark

        def work(conn: sqlite3.Connection) -> None:
            # Read under the write lock: two `fleetui metrics` at once must not both add a call.
            row = conn.execute("SELECT value FROM counters WHERE name = ?", [WATERMARK]).fetchone()
            start = int(row[0]) if row else 0
            end = min(conn.execute("SELECT MAX(id) FROM calls").fetchone()[0] or 0, start + CATCH_UP_ROWS)
            if end <= start:
                return
            chunk.append(conn.execute("SELECT COUNT(*) FROM calls WHERE id > ? AND id <= ?", [start, end]).fetchone()[0])
            conn.execute(_UPSERT, [start, end])
            conn.execute(_SET_WATERMARK, [WATERMARK, end])

        store.write(work)  # the store's one transaction helper (BEGIN IMMEDIATE, lock retries)
        if not chunk:
            return added
        added += chunk[0]


def read_totals(store: Store) -> list[dict[str, Any]]:
    return list(store.db.query(f"SELECT {', '.join((*KEY, *SUMS))} FROM metrics_totals ORDER BY {', '.join(KEY)}"))
