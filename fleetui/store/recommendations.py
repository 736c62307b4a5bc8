"""Stored recommendations: written by `fleetui recommend`, read and accepted or dismissed by the
CLI and the app, linked to the replay run that verified them."""

from __future__ import annotations

import json
from typing import Any

from fleetui.store.store import Store, upsert_rows


def upsert_recommendations(store: Store, rows: list[dict[str, Any]]) -> None:
    for row in rows:
        row["numbers"] = json.dumps(row["numbers"])
    upsert_rows(store, "recommendations", rows, ("id",))


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


def recommendation_statuses(store: Store) -> dict[str, str]:
    return {r["id"]: r["status"] for r in store.db.query("SELECT id, status FROM recommendations")}


def set_recommendation_status(store: Store, rec_id: str, status: str) -> bool:
    return store.changed("UPDATE recommendations SET status = ? WHERE id = ?", [status, rec_id]) > 0


def recommendation_verifications(store: Store) -> dict[str, tuple[str, str, bool]]:
    """Recommendation id → (run id, sentence, verified) of the replay run linked to it."""
    rows = store.db.execute(
        """SELECT r.id, v.run_id, v.sentence, v.verdict FROM recommendations r
           JOIN replay_runs v ON v.run_id = r.verified_by"""
    ).fetchall()
    return {rec_id: (run_id, sentence or "", verdict == "verified") for rec_id, run_id, sentence, verdict in rows}
