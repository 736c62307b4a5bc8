"""The analysis layer's queries. Rollups wherever they can answer; the call log only for what
rollups do not keep (prompt hashes, routing decisions, feedback, refusals)."""

from __future__ import annotations

import json
from typing import Any

from fleetui.store import histogram
from fleetui.store.store import Store, upsert_sql


def _period(since_day: str | None, until_day: str | None) -> tuple[str, dict[str, Any]]:
    clause = (" AND day >= :since" if since_day else "") + (" AND day <= :until" if until_day else "")
    return clause, {"since": since_day, "until": until_day}


def priced_tokens_by_model(store: Store, since_day: str | None, until_day: str | None = None) -> list[dict[str, Any]]:
    clause, params = _period(since_day, until_day)
    return list(store.db.query(
        "SELECT model_id, SUM(input_tokens) input_tokens, SUM(output_tokens) output_tokens, "
        "SUM(cached_input_tokens) cached_input_tokens, SUM(cost_usd) cost_usd, SUM(priced_calls) calls "
        f"FROM rollup_daily WHERE priced_calls > 0{clause} GROUP BY model_id", params,
    ))


def top_prompts(store: Store, since_ts: float | None, limit: int = 10) -> list[dict[str, Any]]:
    return list(store.db.query(
        "SELECT prompt_hash, MAX(prompt) example, COUNT(*) calls, SUM(cost_usd) cost_usd, "
        "GROUP_CONCAT(DISTINCT model_id) models FROM calls WHERE prompt_hash IS NOT NULL"
        + (" AND ts >= :since" if since_ts else "")
        + " GROUP BY prompt_hash ORDER BY calls DESC LIMIT :limit",
        {"since": since_ts, "limit": limit},
    ))


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


def replace_rankings(store: Store, rows: list[dict[str, Any]]) -> None:
    """The new rankings in place of the old, in one transaction: a failure keeps the old ones."""
    def work(conn: Any) -> None:
        conn.execute("DELETE FROM rankings")
        if rows:
            columns = list(rows[0])
            conn.executemany(upsert_sql("rankings", columns, ("use_case", "model_id")),
                             [[row.get(c) for c in columns] for row in rows])

    store.write(work)


def _upsert(store: Store, table: str, rows: list[dict[str, Any]], pk: tuple[str, ...]) -> None:
    if not rows:
        return
    columns = list(rows[0])
    sql = upsert_sql(table, columns, pk)
    store.write(lambda conn: conn.executemany(sql, [[row.get(c) for c in columns] for row in rows]))


def _changed(store: Store, sql: str, params: list[Any]) -> bool:
    count = 0

    def work(conn: Any) -> None:
        nonlocal count
        count = conn.execute(sql, params).rowcount

    store.write(work)
    return count > 0


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


def recommendation_statuses(store: Store) -> dict[str, str]:
    return {r["id"]: r["status"] for r in store.db.query("SELECT id, status FROM recommendations")}


def recommendation_verifications(store: Store) -> dict[str, tuple[str, str, bool]]:
    """Recommendation id → (run id, sentence, verified) of the replay run linked to it."""
    rows = store.db.execute(
        """SELECT r.id, v.run_id, v.sentence, v.verdict FROM recommendations r
           JOIN verifications v ON v.run_id = r.verified_by"""
    ).fetchall()
    return {rec_id: (run_id, sentence or "", verdict == "verified") for rec_id, run_id, sentence, verdict in rows}


def upsert_recommendations(store: Store, rows: list[dict[str, Any]]) -> None:
    for row in rows:
        row["numbers"] = json.dumps(row["numbers"])
    _upsert(store, "recommendations", rows, ("id",))


def recommendations(store: Store, rec_id: str | None = None) -> list[dict[str, Any]]:
    """Stored recommendations, newest first (or the one with `rec_id`), numbers decoded."""
    rows = list(store.db.query(
        "SELECT * FROM recommendations" + (" WHERE id = :id" if rec_id else "") + " ORDER BY updated_ts DESC",
        {"id": rec_id},
    ))
    for row in rows:
        row["numbers"] = json.loads(row["numbers"] or "{}")
    return rows


def recommendation(store: Store, rec_id: str) -> dict[str, Any] | None:
    found = recommendations(store, rec_id)
    return found[0] if found else None


def set_recommendation_status(store: Store, rec_id: str, status: str) -> bool:
    return _changed(store, "UPDATE recommendations SET status = ? WHERE id = ?", [status, rec_id])


def use_cases(store: Store) -> list[dict[str, Any]]:
    return list(store.db.query("SELECT * FROM use_cases ORDER BY calls DESC"))


def save_discovered_use_cases(store: Store, clusters: list[dict[str, Any]], now: float) -> None:
    """Upsert discovered clusters; a name the user gave and a pin are never overwritten."""
    existing = {r["id"]: r for r in use_cases(store)}
    rows = []
    for c in clusters:
        before = existing.get(c["id"], {})
        keep_name = before.get("source") == "user" or before.get("pinned")
        rows.append({
            "id": c["id"], "name": before["name"] if keep_name else c["name"],
            "source": before.get("source") or c["source"], "keywords": json.dumps(c["keywords"]),
            "examples": json.dumps(c["examples"]), "typical_chars": c["typical_chars"],
            "models": json.dumps(c["models"]), "calls": c["calls"], "pinned": int(bool(before.get("pinned"))),
            "merged_into": before.get("merged_into"), "created_ts": before.get("created_ts") or now,
            "updated_ts": now,
        })
    _upsert(store, "use_cases", rows, ("id",))
    # A cluster this run did not find again is gone, unless the user made it theirs (a name,
    # a pin, a merge from or into it): `usecase list` showed every cluster of every past run.
    found = [c["id"] for c in clusters]
    kept = {r["merged_into"] for r in existing.values() if r.get("merged_into")}
    stale = [i for i, r in existing.items() if i not in found and i not in kept and r.get("source") != "user"
             and not r.get("pinned") and not r.get("merged_into")]
    if stale:
        store.write(lambda conn: conn.executemany("DELETE FROM use_cases WHERE id = ?", [(i,) for i in stale]))


def rename_use_case(store: Store, use_case_id: str, name: str) -> bool:
    return _changed(store, "UPDATE use_cases SET name = ?, source = 'user' WHERE id = ?", [name, use_case_id])


def pin_use_case(store: Store, use_case_id: str, pinned: bool = True) -> bool:
    return _changed(store, "UPDATE use_cases SET pinned = ? WHERE id = ?", [int(pinned), use_case_id])


def merge_use_case(store: Store, source_id: str, into_id: str) -> bool:
    return _changed(store, "UPDATE use_cases SET merged_into = ? WHERE id = ? AND id != ?",
                    [into_id, source_id, into_id])


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
