"""Calls a router decided: routing statistics by route, and the arms of A/B tests."""

from __future__ import annotations

from typing import Any

from fleetui.store.store import Store


def routed_calls(store: Store, since_ts: float | None, bands: tuple[tuple[float, float], ...]) -> dict[str, Any]:
    """Routed calls by route, with the confidence bands counted in the same single scan of the
    log (one query per band rescanned a million rows each time)."""
    where = "route IS NOT NULL" + (" AND ts >= ?" if since_ts else "")
    band_sums = ", ".join("SUM(confidence >= ? AND confidence < ?)" for _ in bands)
    params: list[Any] = [x for band in bands for x in band] + ([since_ts] if since_ts else [])
    rows = store.db.execute(
        f"SELECT route, COUNT(*), SUM(override), AVG(success), AVG(confidence), AVG(latency_ms), "
        f"SUM(cost_usd){', ' + band_sums if bands else ''} FROM calls WHERE {where} GROUP BY route",
        params,
    ).fetchall()
    routes = sorted(
        ({"route": r[0], "calls": r[1], "success_rate": r[3], "confidence": r[4], "mean_latency_ms": r[5],
          "cost_usd": r[6]} for r in rows),
        key=lambda route: -route["calls"],
    )
    return {
        "total": sum(r[1] for r in rows),
        "overridden": sum(r[2] or 0 for r in rows),
        "band_counts": [sum(r[7 + i] or 0 for r in rows) for i in range(len(bands))],
        "routes": routes,
    }


def ab_test_routes(store: Store, since_ts: float | None) -> list[str]:
    """Names of the A/B tests that routed calls in the period (route 'ab:<name>')."""
    # A range on the route index (';' follows ':'): LIKE 'ab:%' would not use it.
    rows = store.db.execute(
        "SELECT DISTINCT route FROM calls WHERE route >= 'ab:' AND route < 'ab;'"
        + (" AND ts >= ?" if since_ts else ""), [since_ts] if since_ts else [],
    ).fetchall()
    return sorted(r[0][3:] for r in rows)


def ab_arm_outcomes(store: Store, test_name: str, since_ts: float | None) -> list[dict[str, Any]]:
    """Per model, the calls an A/B test routed: successes, feedback, latency, cost, users.

    Calls the app pinned to another model (override) are not the arm's traffic and are left out."""
    return list(store.db.query(
        "SELECT model_id, COUNT(*) calls, SUM(success) successes, AVG(feedback_score) feedback, "
        "COUNT(feedback_score) rated, AVG(latency_ms) mean_latency_ms, SUM(cost_usd) cost_usd, "
        "COUNT(DISTINCT user_id) users FROM calls WHERE route = :route AND COALESCE(override, 0) = 0"
        + (" AND ts >= :since" if since_ts else "") + " GROUP BY model_id",
        {"route": f"ab:{test_name}", "since": since_ts},
    ))
