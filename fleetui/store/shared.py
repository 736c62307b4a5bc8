"""What teammates shared (rankings and model metadata pulled from git or a bucket) and the log of
syncs. Rows of one source are replaced together, in one transaction: a pull never leaves half of
an old set beside half of a new one."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from fleetui.store.store import Store

_RANKING_COLUMNS = ("use_case", "model_id", "rank", "score", "n", "success_rate", "p50_ms", "p95_ms",
                    "cost_per_call", "quality")
_ORIGIN_COLUMNS = ("source", "version", "published_by", "published_ts", "imported_ts")


@dataclass(frozen=True, slots=True)
class Origin:
    """Where shared rows came from: `source` is the remote or bucket, `version` the commit or set."""

    source: str
    version: str
    published_by: str | None
    published_ts: float | None
    imported_ts: float

    def values(self) -> tuple[Any, ...]:
        return (self.source, self.version, self.published_by, self.published_ts, self.imported_ts)


@dataclass(frozen=True, slots=True)
class SyncRecord:
    ts: float
    kind: str  # "git" | "s3"
    target: str  # "origin/main (git@…)" or "s3://bucket/prefix"
    action: str  # "commit", "push", "pull", "publish"
    version: str | None  # the commit or set this sync ended at
    summary: str


def replace_shared(
    store: Store, origin: Origin, rankings: Sequence[Mapping[str, Any]], models: Sequence[Mapping[str, Any]],
) -> None:
    """Replace everything stored from `origin.source` by this set of rankings and models."""
    ranking_rows = [origin.values() + tuple(r.get(c) for c in _RANKING_COLUMNS) for r in rankings]
    model_rows = [
        origin.values() + (m["id"], m.get("name"), m.get("provider"), m.get("model"), json.dumps(m, sort_keys=True))
        for m in models
    ]
    columns = _ORIGIN_COLUMNS + _RANKING_COLUMNS

    def work(conn: Any) -> None:
        conn.execute("DELETE FROM shared_rankings WHERE source = ?", [origin.source])
        conn.execute("DELETE FROM shared_models WHERE source = ?", [origin.source])
        conn.executemany(
            f"INSERT INTO shared_rankings ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})",
            ranking_rows,
        )
        conn.executemany(
            f"INSERT INTO shared_models ({', '.join(_ORIGIN_COLUMNS)}, model_id, name, provider, model, metadata) "
            f"VALUES ({', '.join('?' for _ in range(len(_ORIGIN_COLUMNS) + 5))})",
            model_rows,
        )

    store.write(work)


def shared_rankings(store: Store, use_case: str | None = None) -> list[dict[str, Any]]:
    """Rankings teammates shared, best first per source and use case."""
    where, params = ("WHERE use_case = ?", [use_case]) if use_case else ("", [])
    return list(store.db.query(
        f"SELECT * FROM shared_rankings {where} ORDER BY source, use_case, rank IS NULL, rank", params,
    ))


def shared_models(store: Store) -> list[dict[str, Any]]:
    rows = list(store.db.query("SELECT * FROM shared_models ORDER BY source, model_id"))
    for row in rows:
        row["metadata"] = json.loads(row["metadata"] or "{}")
    return rows


def record_sync(store: Store, sync: SyncRecord) -> None:
    store.write(lambda conn: conn.execute(
        "INSERT INTO syncs (ts, kind, target, action, version, summary) VALUES (?, ?, ?, ?, ?, ?)",
        [sync.ts, sync.kind, sync.target, sync.action, sync.version, sync.summary],
    ))


def last_sync(store: Store, kind: str | None = None, target: str | None = None) -> SyncRecord | None:
    """The latest sync, of one kind and to one target when those are given."""
    row = store.db.execute(
        "SELECT ts, kind, target, action, version, summary FROM syncs "
        "WHERE (:kind IS NULL OR kind = :kind) AND (:target IS NULL OR target = :target) "
        "ORDER BY ts DESC, id DESC LIMIT 1", {"kind": kind, "target": target},
    ).fetchone()
    return SyncRecord(*row) if row else None


def last_syncs(store: Store) -> list[SyncRecord]:
    """The latest sync to each place, newest first."""
    rows = store.db.execute(
        "SELECT ts, kind, target, action, version, summary FROM syncs s WHERE id = "
        "(SELECT id FROM syncs t WHERE t.kind = s.kind AND t.target = s.target ORDER BY ts DESC, id DESC LIMIT 1) "
        "ORDER BY ts DESC"
    ).fetchall()
    return [SyncRecord(*row) for row in rows]
