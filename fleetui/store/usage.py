"""Usage queries the costs, usage and metrics reports need beyond `Store.totals`: priced
tokens, the most asked prompts, per-model histograms and refusals."""

from __future__ import annotations

from typing import Any

from fleetui.store import histogram
from fleetui.store.store import Store


def priced_tokens_by_model(store: Store, since_day: str | None, until_day: str | None = None) -> list[dict[str, Any]]:
    clause = (" AND day >= :since" if since_day else "") + (" AND day <= :until" if until_day else "")
    return list(store.db.query(
        "SELECT model_id, SUM(input_tokens) input_tokens, SUM(output_tokens) output_tokens, "
        "SUM(cached_input_tokens) cached_input_tokens, SUM(cost_usd) cost_usd, SUM(priced_calls) calls "
        f"FROM rollup_daily WHERE priced_calls > 0{clause} GROUP BY model_id", {"since": since_day, "until": until_day},
    ))


def top_prompts(store: Store, since_ts: float | None, limit: int = 10) -> list[dict[str, Any]]:
    return list(store.db.query(
        "SELECT prompt_hash, MAX(prompt) example, COUNT(*) calls, SUM(cost_usd) cost_usd, "
        "GROUP_CONCAT(DISTINCT model_id) models FROM calls WHERE prompt_hash IS NOT NULL"
        + (" AND ts >= :since" if since_ts else "")
        + " GROUP BY prompt_hash ORDER BY calls DESC LIMIT :limit",
        {"since": since_ts, "limit": limit},
    ))


def totals_with_histograms_by_model(store: Store) -> list[dict[str, Any]]:
    sums = ", ".join(f"SUM({c}) {c}" for c in histogram.COLUMNS)
    return list(store.db.query(
        f"SELECT model_id, SUM(calls) calls, SUM(errors) errors, SUM(cost_usd) cost, "
        f"SUM(latency_ms_sum) lat_sum, SUM(latency_count) lat_n, {sums} FROM rollup_daily GROUP BY model_id"
    ))


def refusals_by_model(store: Store) -> dict[str, int]:
    return {r["model_id"] or "": r["n"] for r in store.db.query(
        "SELECT model_id, COUNT(*) n FROM calls WHERE finish_reason IN ('refusal', 'content_filter') GROUP BY model_id"
    )}


def cost_between(store: Store, start_ts: float, end_ts: float) -> tuple[float, int, int]:
    """(priced cost, calls, unpriced calls) of the calls made in [start_ts, end_ts): the part of
    a day that rollups, being whole days, cannot give ("yesterday up to this time")."""
    cost, calls, unpriced = store.db.execute(
        "SELECT COALESCE(SUM(cost_usd), 0), COUNT(*), COALESCE(SUM(cost_usd IS NULL), 0) FROM calls "
        "WHERE ts >= ? AND ts < ?", [start_ts, end_ts],
    ).fetchone()
    return float(cost), int(calls), int(unpriced)
