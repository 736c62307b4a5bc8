"""Use cases: saved by discovery, renamed, pinned and merged by the user, whose choices
discovery never overwrites."""

from __future__ import annotations

import json
from typing import Any

from fleetui.store.store import Store, upsert_rows


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
    upsert_rows(store, "use_cases", rows, ("id",))
    # A cluster this run did not find again is gone, unless the user made it theirs (a name,
    # a pin, a merge from or into it): `usecase list` showed every cluster of every past run.
    found = [c["id"] for c in clusters]
    kept = {r["merged_into"] for r in existing.values() if r.get("merged_into")}
    stale = [i for i, r in existing.items() if i not in found and i not in kept and r.get("source") != "user"
             and not r.get("pinned") and not r.get("merged_into")]
    if stale:
        store.write(lambda conn: conn.executemany("DELETE FROM use_cases WHERE id = ?", [(i,) for i in stale]))


def rename_use_case(store: Store, use_case_id: str, name: str) -> bool:
    return store.changed("UPDATE use_cases SET name = ?, source = 'user' WHERE id = ?", [name, use_case_id]) > 0


def pin_use_case(store: Store, use_case_id: str, pinned: bool = True) -> bool:
    return store.changed("UPDATE use_cases SET pinned = ? WHERE id = ?", [int(pinned), use_case_id]) > 0


def merge_use_case(store: Store, source_id: str, into_id: str) -> bool:
    return store.changed("UPDATE use_cases SET merged_into = ? WHERE id = ? AND id != ?",
                         [into_id, source_id, into_id]) > 0
