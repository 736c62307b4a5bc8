"""What the ranker reads (per use case × model cells from the rollups, outcomes by use case or
task) and writes (the `rankings` table, replaced whole)."""

from __future__ import annotations

import sqlite3
from typing import Any

from fleetui.store import histogram
from fleetui.store.store import Store, upsert_sql


def use_case_model_cells(store: Store, since_day: str | None) -> list[tuple[Any, ...]]:
    """(use_case, model_id, calls, errors, cost, priced calls, in, out, cached, feedback sum,
    feedback count, h00…) per pair."""
    hist = ", ".join(f"SUM({c})" for c in histogram.COLUMNS)
    return list(store.db.execute(
        f"SELECT use_case, model_id, SUM(calls), SUM(errors), SUM(cost_usd), SUM(priced_calls), "
        f"SUM(input_tokens), SUM(output_tokens), SUM(cached_input_tokens), SUM(feedback_sum), "
        f"SUM(feedback_count), {hist} FROM rollup_daily "
        "WHERE use_case != '' AND model_id != ''" + (" AND day >= ?" if since_day else "")
        + " GROUP BY use_case, model_id",
        [since_day] if since_day else [],
    ))


def outcomes_by(store: Store, key: str, since_day: str | None) -> list[tuple[str, str, int, int]]:
    """(use case or task, model_id, calls, errors) per pair from the rollups; `key` is
    "use_case" or "task"."""
    if key not in ("use_case", "task"):
        raise ValueError(f"outcomes are kept by use_case or task, not {key!r}")
    return [(r[0], r[1], int(r[2] or 0), int(r[3] or 0)) for r in store.db.execute(
        f"SELECT {key}, model_id, SUM(calls), SUM(errors) FROM rollup_daily WHERE {key} != '' AND model_id != ''"
        + (" AND day >= ?" if since_day else "") + f" GROUP BY {key}, model_id",
        [since_day] if since_day else [],
    )]


def replace_rankings(store: Store, rows: list[dict[str, Any]]) -> None:
    """The new rankings in place of the old, in one transaction: a failure keeps the old ones."""
    def work(conn: sqlite3.Connection) -> None:
        conn.execute("DELETE FROM rankings")
        if rows:
            columns = list(rows[0])
            conn.executemany(upsert_sql("rankings", columns, ("use_case", "model_id")),
                             [[row.get(c) for c in columns] for row in rows])

    store.write(work)


def measured_in_use_cases(store: Store, use_cases: list[str]) -> dict[str, dict[str, float]]:
    """Model id → stored ranking figures (success_lcb, p50_ms, quality), averaged over `use_cases`."""
    if not use_cases:
        return {}
    rows = store.db.execute(
        f"SELECT model_id, AVG(success_lcb), AVG(p50_ms), AVG(quality) FROM rankings "
        f"WHERE use_case IN ({', '.join('?' for _ in use_cases)}) GROUP BY model_id",
        use_cases,
    ).fetchall()
    return {r[0]: {"success_lcb": r[1] or 0.0, "p50_ms": r[2] or 0.0, "quality": r[3] or 0.0} for r in rows}
