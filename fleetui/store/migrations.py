"""Schema versions: `PRAGMA user_version` says which steps a file has had; each step runs once.

Add a step by appending a function; never edit a step that has shipped.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from fleetui.store import histogram

if TYPE_CHECKING:  # a shim writing to an up-to-date file never runs a step: no sqlite-utils then
    import sqlite_utils


def _step_1_initial(db: sqlite_utils.Database) -> None:
    db.table("calls").create(
        {
            "id": int, "call_id": str, "ts": float, "day": str, "source": str, "model_id": str,
            "provider_name": str, "operation_name": str, "request_model": str,
            "response_model": str, "server_address": str, "prompt": str, "prompt_hash": str,
            "prompt_chars": int, "response": str, "response_chars": int, "input_tokens": int,
            "output_tokens": int, "cached_input_tokens": int, "latency_ms": float,
            "ttft_ms": float, "cost_usd": float, "success": int, "error_type": str,
            "status_code": int, "finish_reason": str, "streamed": int, "incomplete": int,
            "use_case": str, "task": str, "complexity": str, "route": str, "rule": str,
            "decision_id": str, "confidence": float, "override": int, "user_id": str,
            "session_id": str, "feedback_score": float, "feedback_comment": str,
            "follow_up": int, "abandoned": int, "tags": str, "request_temperature": float,
            "request_max_tokens": int, "demo": int,
        },
        pk="id",
        not_null={"call_id", "ts", "day", "success"},
    )
    db.table("calls").create_index(["call_id"], unique=True)
    db.table("calls").create_index(["ts"])
    db.table("calls").create_index(["model_id", "ts"])
    db.table("calls").create_index(["use_case"])
    # No index on prompt_hash: hashes are random, so it would cost every insert a random page
    # write; "most common prompts" is a periodic aggregate, not a lookup.

    # One row per UTC day × model × use case × task; '' stands for "none" in key columns so the
    # primary key can hold them (SQLite treats NULLs in a key as all distinct).
    rollup: dict[str, type] = {"day": str, "model_id": str, "use_case": str, "task": str}
    for name in ("calls", "errors", "input_tokens", "output_tokens", "cached_input_tokens",
                 "priced_calls", "unpriced_calls", "latency_count"):
        rollup[name] = int
    rollup["cost_usd"] = float
    rollup["latency_ms_sum"] = float
    for column in histogram.COLUMNS:
        rollup[column] = int
    db.table("rollup_daily").create(
        rollup,
        pk=("day", "model_id", "use_case", "task"),
        not_null=set(rollup),
        defaults={name: 0 for name, kind in rollup.items() if kind is not str},
    )

    db.table("probes").create(
        {"id": int, "ts": float, "model_id": str, "status": str, "latency_ms": float,
         "error_type": str, "message": str, "deep": int},
        pk="id",
    )
    db.table("probes").create_index(["model_id", "ts"])
    db.table("use_cases").create(
        {"id": str, "name": str, "description": str, "source": str, "keywords": str,
         "examples": str, "typical_chars": int, "models": str, "calls": int, "pinned": int,
         "merged_into": str, "centroid": str, "created_ts": float, "updated_ts": float},
        pk="id",
    )
    db.table("rankings").create(
        {"use_case": str, "model_id": str, "computed_ts": float, "n": int,
         "success_rate": float, "success_lcb": float, "p50_ms": float, "p95_ms": float,
         "cost_per_call": float, "quality": float, "score": float, "rank": int},
        pk=("use_case", "model_id"),
    )
    db.table("recommendations").create(
        {"id": str, "created_ts": float, "updated_ts": float, "kind": str, "severity": str,
         "title": str, "sentence": str, "use_case": str, "role": str, "current_model": str,
         "recommended_model": str, "numbers": str, "status": str, "verified_by": str},
        pk="id",
        defaults={"status": "new"},
    )
    db.table("replays").create(
        {"id": int, "run_id": str, "recommendation_id": str, "ts": float, "prompt_hash": str,
         "model_id": str, "params_hash": str, "model_version": str, "answer": str,
         "input_tokens": int, "output_tokens": int, "cost_usd": float, "latency_ms": float,
         "refusal": int, "format_failure": int, "error_type": str},
        pk="id",
    )
    db.table("replays").create_index(
        ["prompt_hash", "model_id", "params_hash", "model_version"], unique=True
    )
    db.table("judgments").create(
        {"id": int, "ts": float, "prompt_hash": str, "answers_hash": str, "judge_model": str,
         "rubric_version": str, "order_ab": str, "scores": str, "overall": float, "raw": str},
        pk="id",
    )
    db.table("judgments").create_index(
        ["prompt_hash", "answers_hash", "judge_model", "rubric_version", "order_ab"], unique=True
    )
    db.table("counters").create({"name": str, "value": int}, pk="name", not_null={"value"})


def _step_2_feedback_in_rollups(db: sqlite_utils.Database) -> None:
    """Rankings read satisfaction from rollups instead of scanning the call log."""
    db.execute("ALTER TABLE rollup_daily ADD COLUMN feedback_sum REAL NOT NULL DEFAULT 0")
    db.execute("ALTER TABLE rollup_daily ADD COLUMN feedback_count INTEGER NOT NULL DEFAULT 0")
    # One pass over the log into a keyed table, then one keyed update: a correlated subquery
    # per rollup row would rescan the log thousands of times on a big store.
    db.execute(
        """CREATE TEMP TABLE feedback_totals AS
           SELECT day, COALESCE(model_id, '') model_id, COALESCE(use_case, '') use_case, COALESCE(task, '') task,
                  SUM(feedback_score) total, COUNT(feedback_score) n
           FROM calls WHERE feedback_score IS NOT NULL GROUP BY 1, 2, 3, 4"""
    )
    db.execute(
        """UPDATE rollup_daily SET feedback_sum = f.total, feedback_count = f.n FROM feedback_totals f
           WHERE rollup_daily.day = f.day AND rollup_daily.model_id = f.model_id
             AND rollup_daily.use_case = f.use_case AND rollup_daily.task = f.task"""
    )
    db.execute("DROP TABLE feedback_totals")


def _step_3_verifications(db: sqlite_utils.Database) -> None:
    """One row per replay run (`fleetui replay`): its settings, progress and final report, so a
    stopped run can be continued and a recommendation can point at the run that verified it."""
    db.table("verifications").create(
        {"run_id": str, "created_ts": float, "updated_ts": float, "recommendation_id": str,
         "current_model": str, "use_case": str, "judge_model": str, "status": str,
         "verdict": str, "chosen_model": str, "sentence": str, "cost_usd": float, "report": str},
        pk="run_id",
    )
    db.table("verifications").create_index(["recommendation_id"])
    db.table("replays").create_index(["run_id"])
    # Format checks need how an answer ended (cut off at the token limit, refused).
    db.execute("ALTER TABLE replays ADD COLUMN finish_reason TEXT")


def _step_4_routed_calls_index(db: sqlite_utils.Database) -> None:
    """Routing statistics read only the calls a router decided; without this they scanned the
    whole log (0.2 s on a million calls, none of them routed). Partial: unrouted calls, most of
    a log, pay nothing for it on insert."""
    db.execute("CREATE INDEX IF NOT EXISTS idx_calls_routed ON calls (route, ts) WHERE route IS NOT NULL")


def _step_5_decisions(db: sqlite_utils.Database) -> None:
    """Routing decisions as the router made them (`fleetui.log_decision`): what a call row does
    not keep — the reason, what in the prompt drove the estimate, escalation, the decision's
    own time — for every decision, including those whose call was never recorded."""
    db.table("decisions").create(
        {"decision_id": str, "ts": float, "model_id": str, "provider_model": str, "rule": str,
         "strategy": str, "reason": str, "confidence": float, "complexity": str, "escalated": int,
         "matched": str, "override": int, "decision_us": float, "ab_test": str, "use_case": str,
         "fallbacks": str, "source": str, "provider": str, "prompt_length": int},
        pk="decision_id",
    )
    db.table("decisions").create_index(["ts"])


def _step_6_provenance_tools_attempts(db: sqlite_utils.Database) -> None:
    """Where each cost came from, the tool calls a model made, and the attempts of one app call."""
    for column in ("cost_source TEXT", "tool_calls TEXT", "app_call_id TEXT", "attempt INTEGER"):
        db.execute(f"ALTER TABLE calls ADD COLUMN {column}")
    db.execute("CREATE INDEX IF NOT EXISTS idx_calls_app_call ON calls (app_call_id) WHERE app_call_id IS NOT NULL")


def _step_7_metrics_totals(db: sqlite_utils.Database) -> None:
    """Totals by Prometheus label set for `fleetui metrics` (fleetui.store.metrics_totals), caught
    up from the log by rowid: 12 latency and 10 time-to-first-token bucket counts."""
    columns: dict[str, type] = {"model": str, "provider": str, "operation": str, "in_fleet": int}
    for name in ("calls", "errors", "refusals", "cost_usd", "unpriced_calls", "input_tokens", "output_tokens",
                 "cached_input_tokens", "latency_count", "latency_ms_sum", *(f"latency_le_{i:02d}" for i in range(12)),
                 "ttft_count", "ttft_ms_sum", *(f"ttft_le_{i:02d}" for i in range(10))):
        columns[name] = float if name in ("cost_usd", "latency_ms_sum", "ttft_ms_sum") else int
    db.table("metrics_totals").create(columns, pk=("model", "provider", "operation", "in_fleet"), not_null=set(columns),
                                defaults={name: 0 for name in columns if name not in ("model", "provider", "operation")})


def _step_8_shared(db: sqlite_utils.Database) -> None:
    """What teammates shared through git or a bucket (rankings, model metadata), each row marked
    with where it came from, and a log of syncs so the app can say "synced 2 h ago to origin/main".
    Kept apart from `rankings`, which is this store's own, recomputed from its calls."""
    origin: dict[str, type] = {"source": str, "version": str, "published_by": str, "published_ts": float,
                               "imported_ts": float}
    if "shared_rankings" not in db.table_names():
        db.table("shared_rankings").create(
            {**origin, "use_case": str, "model_id": str, "rank": int, "score": float, "n": int,
             "success_rate": float, "p50_ms": float, "p95_ms": float, "cost_per_call": float, "quality": float},
            pk=("source", "use_case", "model_id"),
        )
    if "shared_models" not in db.table_names():
        db.table("shared_models").create(
            {**origin, "model_id": str, "name": str, "provider": str, "model": str, "metadata": str},
            pk=("source", "model_id"),
        )
    if "syncs" not in db.table_names():
        db.table("syncs").create(
            {"id": int, "ts": float, "kind": str, "target": str, "action": str, "version": str, "summary": str},
            pk="id", not_null={"ts", "kind", "target", "action"},
        )
        db.table("syncs").create_index(["kind", "target", "ts"])


def _step_9_gateway_overhead(db: sqlite_utils.Database) -> None:
    """The time `fleetui serve` itself added to a call it relayed (NULL for calls it did not)."""
    db.execute("ALTER TABLE calls ADD COLUMN gateway_overhead_ms REAL")


def _step_10_provider_names(db: sqlite_utils.Database) -> None:
    """`calls.provider_name` in one vocabulary, OTel's gen_ai.provider.name
    (fleetui.store.provider_names): calls stored before held a guess from the SDK ("openai"), a
    fleet provider kind ("openai-compatible") or LiteLLM's name ("vertex_ai"). The totals behind
    `fleetui metrics` are merged under the new names (from the name alone: they keep no server)."""
    from fleetui.store.provider_names import provider_name_of

    db.conn.create_function("fleetui_provider_name", 2, provider_name_of, deterministic=True)
    db.execute(  # one pass over the log; only rows whose name changes are written
        "UPDATE calls SET provider_name = fleetui_provider_name(provider_name, server_address) "
        "WHERE provider_name IS NOT fleetui_provider_name(provider_name, server_address)"
    )
    key = ("model", "provider", "operation", "in_fleet")
    sums = [c.name for c in db.table("metrics_totals").columns if c.name not in key]
    db.execute(
        "CREATE TEMP TABLE renamed_totals AS SELECT model, "
        "COALESCE(fleetui_provider_name(NULLIF(provider, ''), NULL), '') provider, operation, in_fleet, "
        + ", ".join(f"SUM({c}) {c}" for c in sums) + " FROM metrics_totals GROUP BY 1, 2, 3, 4"
    )
    db.execute("DELETE FROM metrics_totals")
    columns = ", ".join((*key, *sums))
    db.execute(f"INSERT INTO metrics_totals ({columns}) SELECT {columns} FROM renamed_totals")
    db.execute("DROP TABLE renamed_totals")


def _step_11_trials(db: sqlite_utils.Database) -> None:
    """Trials (a model tried by hand) apart from calls: no query over calls may count them.
    Idempotent: a file that took it at another position (a branch's build) takes it again safely."""
    if "trials" in db.table_names():
        return
    db.table("trials").create(
        {"id": int, "ts": float, "source": str, "model_id": str, "ok": int, "sent": int, "prompt_hash": str,
         "response_model": str, "input_tokens": int, "output_tokens": int, "cached_input_tokens": int,
         "latency_ms": float, "ttft_ms": float, "cost_usd": float, "error_type": str},
        pk="id", not_null={"ts", "model_id", "ok", "sent"},
    )
    db.execute("CREATE INDEX IF NOT EXISTS idx_trials_model_id_ts ON trials (model_id, ts)")


def _step_12_replay_names(db: sqlite_utils.Database) -> None:
    """One name for what `fleetui replay` keeps: a verification run is a replay run
    (`replay_runs`), a paid-for answer a replay answer (`replay_answers`). Idempotent, like steps
    10, 11 and 13: a file that took it already keeps its tables."""
    tables = set(db.table_names())
    if "verifications" in tables and "replay_runs" not in tables:
        db.execute("ALTER TABLE verifications RENAME TO replay_runs")
    if "replays" in tables and "replay_answers" not in tables:
        db.execute("ALTER TABLE replays RENAME TO replay_answers")


def _step_13_trials_out_of_calls(db: sqlite_utils.Database) -> None:
    """Trials stored as calls before step 11 (source "fleetui-test": `fleetui test`, compare,
    the app's test panel) move to `trials`, and their share of the daily rollups goes with them,
    so a model's success, latency and cost stop counting them. A trial that failed on a missing
    key or URL never left the machine (`sent` 0). The Prometheus totals are counters and keep
    what they counted (a counter never goes down)."""
    from fleetui.store import rollups
    from fleetui.store.records import CallRecord

    rows = db.execute(
        "SELECT day, ts, source, model_id, use_case, task, success, error_type, prompt_hash, response_model, "
        "input_tokens, output_tokens, cached_input_tokens, latency_ms, ttft_ms, cost_usd, feedback_score "
        "FROM calls WHERE source = 'fleetui-test'"
    ).fetchall()
    if not rows:
        return
    sums: dict[rollups.RollupKey, rollups.Sums] = {}
    for (day, ts, _, model_id, use_case, task, success, _, _, _, tokens_in, tokens_out, cached, latency, _,
         cost, feedback) in rows:
        record = CallRecord(ts=ts, model_id=model_id, use_case=use_case, task=task, success=bool(success),
                            input_tokens=tokens_in, output_tokens=tokens_out, cached_input_tokens=cached,
                            latency_ms=latency, cost_usd=cost, feedback_score=feedback)
        sums.setdefault(rollups.key_of(day, record), rollups.Sums()).add(record)  # the day the row was summed under
    db.conn.executemany(
        "INSERT INTO trials (ts, source, model_id, ok, sent, prompt_hash, response_model, input_tokens, "
        "output_tokens, cached_input_tokens, latency_ms, ttft_ms, cost_usd, error_type) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [(ts, source, model_id or "", int(bool(success)), int(error_type != "misconfigured"), prompt_hash,
          response_model, tokens_in, tokens_out, cached, latency, ttft, cost, error_type)
         for (_, ts, source, model_id, _, _, success, error_type, prompt_hash, response_model, tokens_in,
              tokens_out, cached, latency, ttft, cost, _) in rows],
    )
    db.conn.executemany(rollups.UPSERT, rollups.delta_rows(sums, sign=-1))
    db.execute("DELETE FROM rollup_daily WHERE calls <= 0")
    db.execute("DELETE FROM calls WHERE source = 'fleetui-test'")


STEPS: tuple[Callable[[sqlite_utils.Database], None], ...] = (
    _step_1_initial, _step_2_feedback_in_rollups, _step_3_verifications, _step_4_routed_calls_index,
    _step_5_decisions, _step_6_provenance_tools_attempts, _step_7_metrics_totals, _step_8_shared,
    _step_9_gateway_overhead, _step_10_provider_names, _step_11_trials, _step_12_replay_names,
    _step_13_trials_out_of_calls,
)
SCHEMA_VERSION = len(STEPS)
