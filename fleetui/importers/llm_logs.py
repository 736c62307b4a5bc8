"""simonw/llm's `logs.db`: the `responses` table, one row per prompt and response."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

from fleetui.importers import Problem, Row
from fleetui.importers.jsonl import parse_time
from fleetui.store.records import CallRecord


def read_llm_logs(path: Path) -> Iterator[Row]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    try:
        columns = {r[1] for r in conn.execute("PRAGMA table_info(responses)")}
        if not columns:
            yield Problem(0, "no `responses` table: is this an llm logs.db?")
            return
        optional = [c for c in ("input_tokens", "output_tokens", "conversation_id", "system") if c in columns]
        query = ("SELECT rowid, id, model, prompt, response, duration_ms, datetime_utc"
                 + "".join(f", {c}" for c in optional) + " FROM responses ORDER BY rowid")
        for row in conn.execute(query):
            try:
                yield CallRecord(
                    call_id=f"llm:{row['id']}",
                    ts=parse_time(row["datetime_utc"]),
                    source="llm",
                    request_model=row["model"],
                    response_model=row["model"],
                    prompt=row["prompt"],
                    response=row["response"],
                    latency_ms=float(row["duration_ms"]) if row["duration_ms"] is not None else None,
                    input_tokens=row["input_tokens"] if "input_tokens" in optional else None,
                    output_tokens=row["output_tokens"] if "output_tokens" in optional else None,
                    session_id=row["conversation_id"] if "conversation_id" in optional else None,
                    success=row["response"] is not None,
                )
            except (ValueError, TypeError) as exc:
                yield Problem(row["rowid"], f"responses row {row['rowid']}: {exc}")
    finally:
        conn.close()
