"""The store: migrations, rollups that always agree with the call log, probes, counters."""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fleetui.store import CallRecord, ProbeRecord, Store, StoreError, utc_day
from fleetui.store import histogram
from fleetui.store.migrations import SCHEMA_VERSION

TABLES = {"calls", "rollup_daily", "probes", "use_cases", "rankings", "recommendations",
          "replays", "judgments", "counters"}


def test_migrates_an_empty_file_once(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "folder" / "fleetui.db"
    with Store.open(path) as store:
        assert store.schema_version == SCHEMA_VERSION
        assert TABLES <= set(store.db.table_names())
        assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    with Store.open(path) as store:  # reopening runs nothing again and keeps data
        assert store.schema_version == SCHEMA_VERSION


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "f.db"
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(StoreError, match="newer fleetui"):
        Store.open(path)


def test_non_database_file_names_the_path(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_text("these are my notes, not a database " * 50)
    with pytest.raises(StoreError) as caught:
        Store.open(path)
    assert str(path) in str(caught.value) and "not a fleetui database" in str(caught.value)


def test_unwritable_folder_is_a_store_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(StoreError, match="cannot open"):
        Store.open(blocker / "sub" / "x.db")


DAYS = [1_763_800_000.0 + d * 86400 for d in range(3)]

records = st.builds(
    CallRecord,
    ts=st.sampled_from(DAYS).flatmap(lambda d: st.floats(d, d + 86399)),
    model_id=st.sampled_from([None, "gpt-4", "haiku"]),
    use_case=st.sampled_from([None, "casual_chat", "coding"]),
    task=st.sampled_from([None, "chat", "coding"]),
    input_tokens=st.one_of(st.none(), st.integers(0, 5000)),
    output_tokens=st.one_of(st.none(), st.integers(0, 2000)),
    cached_input_tokens=st.one_of(st.none(), st.integers(0, 500)),
    cost_usd=st.one_of(st.none(), st.floats(0, 2, allow_nan=False)),
    latency_ms=st.one_of(st.none(), st.floats(0, 600_000, allow_nan=False)),
    success=st.booleans(),
    tags=st.lists(st.sampled_from(["a", "b"]), max_size=2),
    feedback_score=st.one_of(st.none(), st.floats(0, 1)),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batch=st.lists(records, max_size=60), cut=st.integers(0, 60))
def test_rollups_equal_group_by_over_calls(batch: list[CallRecord], cut: int) -> None:
    store = Store.memory()
    store.insert_calls(batch[:cut])
    store.insert_calls(batch[cut:])
    truth = {
        (r["day"], r["model_id"], r["use_case"], r["task"]): r
        for r in store.db.query(
            """SELECT day, COALESCE(model_id, '') model_id, COALESCE(use_case, '') use_case,
                      COALESCE(task, '') task, COUNT(*) calls, SUM(success = 0) errors,
                      COALESCE(SUM(input_tokens), 0) input_tokens,
                      COALESCE(SUM(output_tokens), 0) output_tokens,
                      COALESCE(SUM(cached_input_tokens), 0) cached_input_tokens,
                      COALESCE(SUM(cost_usd), 0) cost_usd, COUNT(cost_usd) priced_calls,
                      SUM(cost_usd IS NULL) unpriced_calls, COUNT(latency_ms) latency_count,
                      COALESCE(SUM(latency_ms), 0) latency_ms_sum, COUNT(feedback_score) feedback_count,
                      COALESCE(SUM(feedback_score), 0) feedback_sum
               FROM calls GROUP BY 1, 2, 3, 4"""
        )
    }
    rollups = {(r["day"], r["model_id"], r["use_case"], r["task"]): r for r in store.rollup_rows()}
    assert rollups.keys() == truth.keys()
    for key, want in truth.items():
        got = rollups[key]
        for column in ("calls", "errors", "input_tokens", "output_tokens", "cached_input_tokens",
                       "priced_calls", "unpriced_calls", "latency_count", "feedback_count"):
            assert got[column] == want[column], (key, column)
        assert got["cost_usd"] == pytest.approx(want["cost_usd"], rel=1e-9, abs=1e-9)
        assert got["latency_ms_sum"] == pytest.approx(want["latency_ms_sum"], rel=1e-9, abs=1e-6)
        assert got["feedback_sum"] == pytest.approx(want["feedback_sum"], abs=1e-9)
        assert sum(got[c] for c in histogram.COLUMNS) == want["latency_count"]
    assert store.count_calls() == len(batch)


def test_totals_by_model_and_day_read_rollups() -> None:
    store = Store.memory()
    store.insert_calls([
        CallRecord(ts=DAYS[0], model_id="a", cost_usd=0.5, input_tokens=100, output_tokens=10),
        CallRecord(ts=DAYS[0] + 10, model_id="a", cost_usd=None, success=False),
        CallRecord(ts=DAYS[1], model_id="b", cost_usd=0.25),
    ])
    by_model = {t.key: t for t in store.totals("model")}
    assert by_model["a"].calls == 2 and by_model["a"].errors == 1
    assert by_model["a"].cost_usd == 0.5 and by_model["a"].unpriced_calls == 1
    assert by_model["a"].success_rate == 0.5
    first_day = store.totals("model", since=utc_day(DAYS[0]), until=utc_day(DAYS[0]))
    assert [t.key for t in first_day] == ["a"]
    assert [t.key for t in store.totals("day")] == [utc_day(DAYS[0]), utc_day(DAYS[1])]
    assert store.overall().calls == 3


def test_quantiles_from_histogram_are_within_a_bucket() -> None:
    rng = random.Random(3)
    latencies = [rng.lognormvariate(6.5, 0.8) for _ in range(20_000)]
    store = Store.memory()
    store.insert_calls(CallRecord(ts=DAYS[0], model_id="m", latency_ms=x) for x in latencies)
    [totals] = store.totals("model")
    ordered = sorted(latencies)
    for got, q in ((totals.p50_ms, 0.5), (totals.p95_ms, 0.95)):
        true = ordered[int(q * len(ordered))]
        assert got is not None and abs(got - true) / true < 0.42  # one bucket is √2 wide


def test_feedback_markers_and_counters() -> None:
    store = Store.memory()
    call = CallRecord(model_id="m")
    store.insert_calls([call])
    assert store.update_feedback(call.call_id, 0.8, "good")
    assert store.mark_follow_up(call.call_id) and store.mark_abandoned(call.call_id)
    row = store.call(call.call_id)
    assert row is not None
    assert (row["feedback_score"], row["feedback_comment"], row["follow_up"], row["abandoned"]) == (0.8, "good", 1, 1)
    assert not store.update_feedback("no-such-call", 1.0)
    store.bump_counter("shim.dropped", 3)
    store.bump_counter("shim.dropped", 2)
    assert store.counter("shim.dropped") == 5 and store.counter("unknown") == 0


def test_probes_round_trip_and_latest_per_model() -> None:
    store = Store.memory()
    store.record_probes([
        ProbeRecord("a", "online", ts=1.0, latency_ms=120.0),
        ProbeRecord("a", "offline", ts=2.0, error_type="connection", message="refused"),
        ProbeRecord("b", "auth_failed", ts=1.5, deep=True),
    ])
    assert [p.status for p in store.recent_probes("a")] == ["offline", "online"]
    latest = store.last_probe_by_model()
    assert latest["a"].status == "offline" and latest["b"].deep is True


def test_writes_wait_for_another_writer(tmp_path: Path) -> None:
    path = tmp_path / "f.db"
    store = Store.open(path)
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    import threading

    threading.Timer(0.3, lambda: other.execute("COMMIT")).start()
    assert store.insert_calls([CallRecord(model_id="m")]) == 1  # waited, did not fail
    other.close()


def test_moving_calls_to_a_use_case_keeps_rollups_equal_to_the_log() -> None:
    store = Store.memory()
    batch = [CallRecord(ts=DAYS[0] + i, model_id="m", cost_usd=0.01 * i, latency_ms=100.0 * i, input_tokens=i,
                        success=i % 5 != 0) for i in range(1, 40)]
    store.insert_calls(batch)
    moved = store.set_use_cases({c.call_id: ("coding" if i % 2 else "casual_chat") for i, c in enumerate(batch)})
    assert moved == len(batch)
    by_case = {t.key: t for t in store.totals("use_case")}
    assert None not in by_case
    truth = {r["use_case"]: r for r in store.db.query(
        "SELECT use_case, COUNT(*) n, SUM(cost_usd) cost, SUM(input_tokens) i FROM calls GROUP BY use_case")}
    for case, row in truth.items():
        assert by_case[case].calls == row["n"] and by_case[case].input_tokens == row["i"]
        assert by_case[case].cost_usd == pytest.approx(row["cost"])
    assert store.set_use_cases({batch[0].call_id: "casual_chat"}) == 0  # already there


def test_migration_from_schema_1_backfills_feedback_rollups(tmp_path: Path) -> None:
    import sqlite_utils

    from fleetui.store.migrations import STEPS

    path = tmp_path / "v1.db"
    db = sqlite_utils.Database(path)
    STEPS[0](db)
    db.execute("PRAGMA user_version = 1")
    day = utc_day(DAYS[0])
    db["calls"].insert_all([
        {"call_id": f"c{i}", "ts": DAYS[0], "day": day, "model_id": "m", "success": 1, "feedback_score": 0.5 * i}
        for i in range(3)
    ])
    db["rollup_daily"].insert({"day": day, "model_id": "m", "use_case": "", "task": "", "calls": 3})
    db.conn.commit()
    db.close()
    with Store.open(path) as store:
        assert store.schema_version == SCHEMA_VERSION >= 2
        [row] = list(store.rollup_rows())
        assert (row["feedback_sum"], row["feedback_count"]) == (1.5, 3)


def test_feedback_updates_keep_rollups_current() -> None:
    store = Store.memory()
    call = CallRecord(ts=DAYS[0], model_id="m")
    store.insert_calls([call])
    store.update_feedback(call.call_id, 0.2)
    store.update_feedback(call.call_id, 0.9)  # a changed mind replaces, not adds
    [totals] = store.totals("model")
    assert (totals.feedback_sum, totals.feedback_count) == (pytest.approx(0.9), 1)
