"""The store: migrations, rollups that always agree with the call log, probes, counters."""

from __future__ import annotations

import dataclasses
import itertools
import json
import random
import sqlite3
import threading
import time
from pathlib import Path
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fleetui.clock import utc_day
from fleetui.store import CallRecord, ProbeRecord, Store, StoreError, histogram
from fleetui.store import store as store_module
from fleetui.store.migrations import SCHEMA_VERSION

TABLES = {"calls", "rollup_daily", "probes", "use_cases", "rankings", "recommendations",
          "replay_answers", "replay_runs", "judgments", "counters"}


def test_migrates_an_empty_file_once(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "folder" / "fleetui.db"
    with Store.open(path) as store:
        assert store.schema_version == SCHEMA_VERSION
        assert TABLES <= set(store.db.table_names())
        assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        store.insert_calls([CallRecord(model_id="m")])

    def must_not_run(db: object) -> None:
        raise AssertionError("a migration step ran on an up-to-date file")

    with mock.patch.object(store_module, "STEPS", (must_not_run,) * SCHEMA_VERSION), Store.open(path) as store:
        assert store.schema_version == SCHEMA_VERSION
        assert store.count_calls() == 1


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


def test_another_programs_sqlite_file_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE notes (body TEXT)")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="another program") as caught:
        Store.open(path)
    assert str(path) in str(caught.value)
    conn = sqlite3.connect(path)
    assert [r[0] for r in conn.execute("SELECT name FROM sqlite_master")] == ["notes"]
    conn.close()


def test_missing_file_without_create_is_a_store_error(tmp_path: Path) -> None:
    path = tmp_path / "absent.db"
    with pytest.raises(StoreError, match="no such database"):
        Store.open(path, create=False)
    assert not path.exists()


def test_processes_opening_a_new_file_together_all_succeed(tmp_path: Path) -> None:
    # The shim in an app and the TUI often create the same file at the same moment; the one
    # that waits for the lock must find the schema done, not run step 1 a second time.
    for round_ in range(3):
        path = tmp_path / f"new{round_}.db"
        start = threading.Barrier(4)
        failures: list[BaseException] = []

        def open_it(
            path: Path = path, start: threading.Barrier = start, failures: list[BaseException] = failures
        ) -> None:
            start.wait()
            try:
                Store.open(path).close()
            except (StoreError, sqlite3.Error) as exc:  # collected so the main thread can report it
                failures.append(exc)

        threads = [threading.Thread(target=open_it) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert failures == []
        with Store.open(path) as store:
            assert store.schema_version == SCHEMA_VERSION


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


def assert_rollups_equal_log(store: Store) -> None:
    """Every rollup row equals a GROUP BY over the call log, and there is no other row."""
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
    latencies = store.db.execute(
        "SELECT day, COALESCE(model_id, ''), COALESCE(use_case, ''), COALESCE(task, ''), latency_ms "
        "FROM calls WHERE latency_ms IS NOT NULL"
    ).fetchall()
    expected_buckets: dict[tuple[object, ...], list[int]] = {}
    for *key, latency in latencies:
        counts = expected_buckets.setdefault(tuple(key), [0] * histogram.BUCKETS)
        counts[histogram.bucket_of(latency)] += 1
    for key, counts in expected_buckets.items():
        assert [rollups[key][c] for c in histogram.COLUMNS] == counts, key


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    batch=st.lists(records, max_size=80),
    cuts=st.lists(st.integers(0, 80), max_size=4),
    chunk=st.integers(1, 30),
)
def test_rollups_equal_group_by_over_calls(batch: list[CallRecord], cuts: list[int], chunk: int) -> None:
    store = Store.memory()
    bounds = [0, *sorted(cuts), len(batch)]
    # A small CHUNK makes insert_calls split batches into several transactions too.
    with mock.patch.object(store_module, "CHUNK", chunk):
        for low, high in itertools.pairwise(bounds):
            assert store.insert_calls(batch[low:high]) == len(batch[low:high])
    assert_rollups_equal_log(store)
    assert store.count_calls() == len(batch)


def test_a_duplicate_in_a_batch_costs_only_itself() -> None:
    store = Store.memory()
    first = CallRecord(ts=DAYS[0], model_id="m", cost_usd=0.1, latency_ms=50.0)
    store.insert_calls([first])
    duplicate = CallRecord(call_id=first.call_id, ts=DAYS[0], model_id="m")
    assert store.insert_calls([CallRecord(ts=DAYS[0], model_id="m"), duplicate]) == 1
    assert store.count_calls() == 2
    assert_rollups_equal_log(store)


def test_a_record_sqlite_refuses_is_set_aside_with_its_reason(tmp_path: Path) -> None:
    # checked=True skips the value checks, as a writer that checked already would: the one
    # value SQLite cannot take fails that record alone.
    with Store.open(tmp_path / "r.db") as store:
        good = [CallRecord(ts=DAYS[0], model_id="m", input_tokens=i) for i in range(3)]
        bad = CallRecord(ts=DAYS[0], model_id="m", input_tokens=2**70)
        assert store.insert_calls([good[0], bad, *good[1:]], checked=True) == 3
        assert store.count_calls() == 3 and store.counter("calls.rejected") == 1
        assert_rollups_equal_log(store)
    [line] = (tmp_path / "r.db.rejected.jsonl").read_text().splitlines()
    entry = json.loads(line)
    assert entry["call"]["call_id"] == bad.call_id and "too large" in entry["reason"]


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
        bucket = histogram.bucket_of(true)
        low = histogram.UPPER[bucket - 1] if bucket else 0.0
        assert low <= got <= histogram.UPPER[bucket], q


def test_quantile_of_hand_made_histogram_interpolates_inside_the_bucket() -> None:
    counts = [0] * histogram.BUCKETS
    counts[5] = 10  # ten calls between UPPER[4] and UPPER[5]
    low, high = histogram.UPPER[4], histogram.UPPER[5]
    assert histogram.quantile(counts, 0.5) == pytest.approx(low + (high - low) * 0.5)
    assert histogram.quantile(counts, 1.0) == pytest.approx(high)
    assert histogram.quantile([0] * histogram.BUCKETS, 0.5) is None


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
    threading.Timer(0.3, lambda: other.execute("COMMIT")).start()
    assert store.insert_calls([CallRecord(model_id="m")]) == 1  # waited, did not fail
    other.close()


def test_writes_retry_with_backoff_after_the_busy_timeout(tmp_path: Path) -> None:
    path = tmp_path / "f.db"
    # 50 ms busy timeout: the 0.4 s lock outlasts several attempts, so success needs the retries.
    store = Store.open(path, busy_timeout_s=0.05, lock_retries=6)
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    threading.Timer(0.4, lambda: other.execute("COMMIT")).start()
    assert store.insert_calls([CallRecord(model_id="m")]) == 1
    other.close()
    store.close()


def test_a_lock_held_past_every_retry_fails_and_stores_nothing(tmp_path: Path) -> None:
    path = tmp_path / "f.db"
    store = Store.open(path, busy_timeout_s=0.02, lock_retries=2)
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        store.insert_calls([CallRecord(model_id="m")])
    other.execute("COMMIT")
    other.close()
    assert store.count_calls() == 0
    assert store.insert_calls([CallRecord(model_id="m")]) == 1  # no transaction left open
    store.close()


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


def test_moving_use_cases_gives_the_rollups_a_fresh_insert_would() -> None:
    """set_use_cases sums in SQL what _rows_and_rollups sums in Python: every column of every
    rollup row must match a store that received the calls with their use cases to begin with."""
    batch = [CallRecord(ts=DAYS[0] + i * 40_000, model_id=None if i % 7 == 0 else f"m{i % 3}", task="chat" if i % 2 else None,
                        cost_usd=None if i % 4 == 0 else 0.01 * i, latency_ms=None if i % 6 == 0 else 3.0 * i ** 2,
                        input_tokens=None if i % 5 == 0 else i, output_tokens=2 * i, cached_input_tokens=i % 3,
                        feedback_score=1.0 if i % 9 == 0 else None, success=i % 5 != 0,
                        use_case="coding" if i % 8 == 0 else None) for i in range(1, 120)]
    target = {c.call_id: ("coding", "casual_chat", "writing")[i % 3] for i, c in enumerate(batch)}
    moved, fresh = Store.memory(), Store.memory()
    moved.insert_calls(batch)
    changed = moved.set_use_cases(target)
    assert changed == sum(1 for c in batch if c.use_case != target[c.call_id])
    fresh.insert_calls([dataclasses.replace(c, use_case=target[c.call_id]) for c in batch])

    def rows(store: Store) -> dict[tuple[object, ...], dict[str, object]]:
        return {(r["day"], r["model_id"], r["use_case"], r["task"]): r for r in store.rollup_rows()}

    got, want = rows(moved), rows(fresh)
    assert got.keys() == want.keys()
    for key, row in want.items():
        for column, value in row.items():
            assert got[key][column] == pytest.approx(value), (key, column)
    assert moved.set_use_cases(target) == 0 and rows(moved).keys() == want.keys()


def test_labelling_by_prompt_moves_only_unlabelled_calls_in_the_period() -> None:
    store = Store.memory()
    store.insert_calls([CallRecord(ts=DAYS[0] + i, model_id="m", prompt=f"p{i % 3}", latency_ms=50.0 * i,
                                   use_case="kept" if i == 0 else None) for i in range(30)]
                       + [CallRecord(ts=DAYS[0] - 86400, model_id="m", prompt="p1")])  # before the period
    assert store.label_unlabelled({"p0": "zero", "p1": "one"}, since_ts=DAYS[0]) == 19
    by_case = {t.key: t.calls for t in store.totals("use_case")}
    assert by_case == {"kept": 1, "zero": 9, "one": 10, None: 11}  # p2 unknown, the old p1 outside
    assert store.unlabelled_prompts(DAYS[0]) == ["p2"]


def test_trials_stored_as_calls_before_move_out_of_calls_and_rollups(tmp_path: Path) -> None:
    """Step 13: what `fleetui test` stored as calls (source fleetui-test) becomes trials, and the
    model's rollups equal its real calls again."""
    db = tmp_path / "old.db"
    now = time.time()
    with Store.open(db) as store:
        store.insert_calls([
            CallRecord(ts=now - 60, model_id="m", task="chat", success=True, latency_ms=800.0, cost_usd=0.01,
                       input_tokens=10, output_tokens=5),
            CallRecord(ts=now - 50, model_id="m", source="fleetui-test", success=False, error_type="misconfigured",
                       latency_ms=1.0),
            CallRecord(ts=now - 40, model_id="m", source="fleetui-test", success=True, latency_ms=300.0,
                       cost_usd=0.002, input_tokens=3, output_tokens=2),
        ])
        store.db.execute("PRAGMA user_version = 12")  # as a store before the step
    with Store.open(db) as store:
        assert store.schema_version >= 13
        assert store.count_calls() == 1
        assert_rollups_equal_log(store)
        model = store.totals("model")[0]
        assert (model.calls, model.errors, model.cost_usd) == (1, 0, 0.01)
        trials = list(store.db.query("SELECT ok, sent, error_type, cost_usd FROM trials ORDER BY ts"))
    assert [(t["ok"], t["sent"], t["error_type"]) for t in trials] == [(0, 0, "misconfigured"), (1, 1, None)]
    assert trials[1]["cost_usd"] == 0.002


def test_steps_10_to_13_taken_twice_change_nothing(tmp_path: Path) -> None:
    """A file that took the steps from 10 on already (a build that numbered them otherwise) takes
    them again safely: the same calls, trials, provider names and rollups."""
    db = tmp_path / "twice.db"
    now = time.time()

    def rollups(store: Store) -> list[dict[str, object]]:
        return sorted(store.rollup_rows(), key=lambda r: (r["day"], r["model_id"], r["use_case"], r["task"]))
    with Store.open(db) as store:
        store.insert_calls([CallRecord(ts=now - 60 * i, model_id=f"m{i % 2}", provider_name="vertex_ai",
                                       cost_usd=0.01 * i, latency_ms=10.0 * i) for i in range(5)])
        before = (list(store.db.query("SELECT * FROM calls ORDER BY call_id")), rollups(store))
        store.db.execute("PRAGMA user_version = 9")
    with Store.open(db) as store:
        assert store.schema_version == SCHEMA_VERSION
        assert (list(store.db.query("SELECT * FROM calls ORDER BY call_id")), rollups(store)) == before
        assert {r["provider_name"] for r in before[0]} == {"gcp.vertex_ai"}
        assert {"replay_runs", "replay_answers", "trials"} <= set(store.db.table_names())
        assert_rollups_equal_log(store)
