"""Never lose a call: the shim and the store under odd values, faults and exits.

Every test ends by counting: each call the app recorded is in the store, or in a count that
`fleetui doctor` shows. The multi-process cases run real processes that exit (or are killed)
as apps do.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy
import pytest

from fleetui.cli import main
from fleetui.shim import Recorder, feedback
from fleetui.shim import configure as configure_shim
from fleetui.store import CallRecord, Store, spool
from tests.conftest import REPO, SAMPLE_FLEET


def stored(db: Path) -> tuple[int, dict[str, int]]:
    conn = sqlite3.connect(db)
    try:
        calls = conn.execute("SELECT COUNT(*) FROM calls").fetchone()[0]
        counters = dict(conn.execute("SELECT name, value FROM counters WHERE name NOT LIKE 'spool.offset.%'"))
    finally:
        conn.close()
    return calls, counters


def assert_rollups_match(db: Path) -> None:
    conn = sqlite3.connect(db)
    try:
        log = conn.execute(
            "SELECT COUNT(*), COALESCE(SUM(input_tokens), 0), COALESCE(SUM(output_tokens), 0), "
            "COALESCE(SUM(cost_usd), 0), SUM(cost_usd IS NULL) FROM calls"
        ).fetchone()
        rollup = conn.execute(
            "SELECT SUM(calls), SUM(input_tokens), SUM(output_tokens), SUM(cost_usd), SUM(unpriced_calls) FROM rollup_daily"
        ).fetchone()
        blobs = conn.execute("SELECT COUNT(*) FROM calls WHERE typeof(input_tokens) = 'blob' "
                             "OR typeof(cost_usd) = 'blob' OR typeof(output_tokens) = 'blob'").fetchone()[0]
    finally:
        conn.close()
    assert log[:3] == rollup[:3] and math.isclose(log[3], rollup[3] or 0, abs_tol=1e-9) and log[4] == rollup[4]
    assert blobs == 0


def remove_fallback(db: Path) -> None:
    """The spool in the temp folder (used when the database's own folder cannot be written)."""
    fallback = spool.fallback_spool_path(db)
    for path in (fallback, fallback.with_name(fallback.name + ".lock")):
        path.unlink(missing_ok=True)


def recorder(db: Path, **options: Any) -> Recorder:
    return Recorder(db, fleet_path=SAMPLE_FLEET, interval_s=0.05, **options)


# -- odd values -------------------------------------------------------------------------------

ODD_VALUES: list[tuple[dict[str, Any], str]] = [
    ({"cost_usd": float("nan")}, "values.nulled.cost_usd"),
    ({"cost_usd": float("inf")}, "values.nulled.cost_usd"),
    ({"cost_usd": -0.34}, "values.nulled.cost_usd"),
    ({"cost_usd": Decimal("0.25")}, "values.coerced.cost_usd"),
    ({"prompt": "lone \ud800 surrogate"}, "values.coerced.prompt"),
    ({"input_tokens": 2**70}, "values.nulled.input_tokens"),
    ({"input_tokens": "12"}, "values.coerced.input_tokens"),
    ({"input_tokens": -5}, "values.nulled.input_tokens"),
    ({"input_tokens": numpy.int64(7)}, "values.coerced.input_tokens"),
    ({"latency_ms": numpy.float32(12.5)}, "values.coerced.latency_ms"),
    ({"success": numpy.bool_(False)}, "values.coerced.success"),
    ({"ts": float("nan")}, "values.nulled.ts"),
    ({"call_id": None}, "values.nulled.call_id"),
    ({"tags": ("a", 3)}, "values.coerced.tags"),
    ({"model_id": object()}, "values.nulled.model_id"),
]


@pytest.mark.parametrize(("bad", "counter"), ODD_VALUES, ids=[next(iter(b)) + ":" + c.split(".")[1] for b, c in ODD_VALUES])
def test_one_odd_value_costs_nothing_and_is_counted_by_field(tmp_path: Path, bad: dict[str, Any], counter: str) -> None:
    db = tmp_path / "odd.db"
    rec = recorder(db)
    rec.record(CallRecord(**{"model_id": "gpt-4o-mini", "input_tokens": 10, "output_tokens": 5, "cost_usd": 0.01, **bad}))
    for _ in range(50):
        rec.record(CallRecord(model_id="gpt-4o-mini", input_tokens=10, output_tokens=5))
    assert rec.flush(10)
    rec.close()
    calls, counters = stored(db)
    assert calls == 51 and counters == {counter: 1}
    assert not spool.pending(db)
    assert_rollups_match(db)


def test_coerced_values_are_stored_as_the_numbers_they_spell(tmp_path: Path) -> None:
    db = tmp_path / "coerce.db"
    rec = recorder(db)
    call = CallRecord(model_id="gpt-4o-mini", input_tokens="12", output_tokens=numpy.int64(7),
                      cost_usd=Decimal("0.25"), prompt="a\ud800b")
    rec.record(call)
    assert rec.flush(10)
    rec.close()
    with Store.open(db) as store:
        row = store.call(call.call_id)
    assert row is not None
    assert (row["input_tokens"], row["output_tokens"], row["cost_usd"], row["prompt"]) == (12, 7, 0.25, "a\ufffdb")


def test_a_batch_of_every_odd_value_keeps_every_record_and_the_reports_work(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "all.db"
    rec = recorder(db)
    for bad, _ in ODD_VALUES:
        rec.record(CallRecord(**{"model_id": "gpt-4o-mini", **bad}))
    good = CallRecord(model_id="gpt-4o-mini", input_tokens=3)
    rec.record(good)
    rec.record(("feedback", good.call_id, (float("nan"), None)))  # as feedback(id, nan) queues it
    rec.record(("feedback", good.call_id, ("0.5", "fine")))
    assert rec.flush(10)
    rec.close()
    calls, counters = stored(db)
    assert calls == len(ODD_VALUES) + 1
    assert counters["values.nulled.feedback_score"] == 1 and counters["values.coerced.feedback_score"] == 1
    assert_rollups_match(db)
    with Store.open(db) as store:
        assert store.call(good.call_id)["feedback_score"] == 0.5  # type: ignore[index]
    # `fleetui costs` crashed on an infinite cost; now it shows what is stored, unpriced counted.
    capsys.readouterr()
    assert main(["--db", str(db), "--config", str(SAMPLE_FLEET), "costs", "--json"]) == 0
    costs = json.loads(capsys.readouterr().out)
    conn = sqlite3.connect(db)
    total, unpriced = conn.execute("SELECT SUM(cost_usd), SUM(cost_usd IS NULL) FROM calls").fetchone()
    conn.close()
    assert math.isfinite(costs["today"]) and math.isclose(costs["today"], total)
    assert costs["unpriced_calls_this_month"] == unpriced >= 3  # NaN, inf and negative at least
    for command in (["usage", "--json"], ["status", "--json"]):
        assert main(["--db", str(db), "--config", str(SAMPLE_FLEET), *command]) == 0
    capsys.readouterr()
    assert main(["--db", str(db), "doctor", "--json"]) == 0  # repaired and counted: nothing was lost
    report = json.loads(capsys.readouterr().out)
    assert report["losses"]["nulled"]["cost_usd"] == 3 and report["losses"]["coerced"]["input_tokens"] == 2


def test_feedback_nan_through_the_public_api_never_stops_recording(tmp_path: Path) -> None:
    db = tmp_path / "fb.db"
    rec = configure_shim(db_path=db, fleet_path=SAMPLE_FLEET, interval_s=0.05)
    try:
        first = CallRecord(model_id="m")
        rec.record(first)
        feedback(first.call_id, float("nan"))
        for _ in range(50):
            rec.record(CallRecord(model_id="m"))
        assert rec.flush(10)
    finally:
        rec.close()
    assert stored(db) == (51, {"values.nulled.feedback_score": 1})


def test_an_unreadable_exchange_is_counted_as_rejected(tmp_path: Path) -> None:
    class Broken:
        def to_record(self) -> CallRecord:
            raise RuntimeError("parser bug")

    db = tmp_path / "x.db"
    rec = recorder(db)
    rec.record(Broken())
    rec.record(CallRecord(model_id="m"))
    assert rec.flush(10)
    rec.close()
    assert stored(db) == (1, {"calls.rejected": 1})
    [line] = spool.rejected_path(db).read_text().splitlines()
    assert "parser bug" in json.loads(line)["reason"]


# -- exits --------------------------------------------------------------------------------------

APP = """
import sys
sys.path.insert(0, {repo!r})
from fleetui.shim import configure
from fleetui.store import CallRecord
rec = configure(db_path=sys.argv[1], fleet_path=sys.argv[2], max_queue=100_000, interval_s=0.05,
                exit_timeout_s=float(sys.argv[5]))
for i in range(int(sys.argv[3])):
    rec.record(CallRecord(model_id="m", task=sys.argv[4], input_tokens=1))
# no flush: the app just exits
"""


def run_apps(db: Path, count: int, calls: int, exit_timeout_s: float = 5.0) -> list[int]:
    script = APP.format(repo=str(REPO))
    procs = [subprocess.Popen([sys.executable, "-c", script, str(db), str(SAMPLE_FLEET), str(calls), f"p{i}",
                               str(exit_timeout_s)], stderr=subprocess.DEVNULL) for i in range(count)]
    return [p.wait(timeout=300) for p in procs]


def drain(db: Path) -> None:
    rec = recorder(db)
    assert rec.flush(120), "the spool was not drained"
    rec.close()


def per_task(db: Path) -> dict[str, int]:
    conn = sqlite3.connect(db)
    try:
        return dict(conn.execute("SELECT task, COUNT(*) FROM calls GROUP BY task"))
    finally:
        conn.close()


@pytest.mark.slow
def test_processes_that_just_exit_lose_nothing(tmp_path: Path) -> None:
    db = tmp_path / "exit.db"
    Store.open(db).close()
    # A short exit flush: what it does not store goes to the spool at exit.
    assert run_apps(db, 4, 3_000, exit_timeout_s=0.5) == [0] * 4
    drain(db)
    assert per_task(db) == {f"p{i}": 3_000 for i in range(4)}
    calls, counters = stored(db)
    assert calls == 12_000 and counters.get("shim.dropped", 0) == 0
    assert_rollups_match(db)


def test_the_shims_write_path_never_imports_sqlite_utils_or_numpy(tmp_path: Path) -> None:
    db = tmp_path / "light.db"
    Store.open(db).close()
    script = f"""
import sys
sys.path.insert(0, {str(REPO)!r})
from fleetui.shim import configure
from fleetui.store import CallRecord
rec = configure(db_path=sys.argv[1], fleet_path=None, interval_s=0.05, privacy="full")
rec.record(CallRecord(model_id="m"))
assert rec.flush(30)
print(sorted(m for m in ("sqlite_utils", "numpy") if m in sys.modules))
"""
    out = subprocess.run([sys.executable, "-c", script, str(db)], capture_output=True, text=True, check=True,
                         cwd=tmp_path).stdout
    assert out.strip() == "[]"
    assert stored(db)[0] == 1


# -- the database deleted, replaced, its folder removed ------------------------------------------


@pytest.mark.parametrize("how", ["deleted", "replaced", "folder removed"])
def test_a_database_gone_mid_run_is_noticed_and_reopened(tmp_path: Path, how: str) -> None:
    folder = tmp_path / "data"
    db = folder / "run.db"
    rec = recorder(db)
    for _ in range(100):
        rec.record(CallRecord(model_id="m", task="before"))
    assert rec.flush(10)
    if how == "deleted":
        for file in folder.glob("run.db*"):
            file.unlink()
    elif how == "replaced":
        other = tmp_path / "other.db"
        Store.open(other).close()
        os.replace(other, db)
        for file in folder.glob("run.db-*"):
            file.unlink()
    else:
        shutil.rmtree(folder)
    for _ in range(46):
        for _ in range(100):
            rec.record(CallRecord(model_id="m", task="after"))
        rec.flush(10)
    assert rec.flush(10)
    rec.close()
    assert per_task(db) == {"after": 4_600}
    assert_rollups_match(db)


# -- the spool -------------------------------------------------------------------------------------


def locked(db: Path) -> sqlite3.Connection:
    holder = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN EXCLUSIVE")
    return holder


def test_a_torn_spool_line_costs_only_itself(tmp_path: Path) -> None:
    db = tmp_path / "torn.db"
    Store.open(db).close()
    holder = locked(db)
    rec = recorder(db)
    for _ in range(10):
        rec.record(CallRecord(model_id="m", task="first"))
    assert not rec.flush(0.5)
    with open(spool.spool_path(db), "a", encoding="ascii") as handle:
        handle.write('{"call": {"call_id": "torn", "ts": 1')  # what kill -9 mid-append leaves
    for _ in range(10):
        rec.record(CallRecord(model_id="m", task="second"))
    assert not rec.flush(0.5)
    holder.execute("COMMIT")
    holder.close()
    assert rec.flush(10)
    rec.close()
    assert per_task(db) == {"first": 10, "second": 10}
    assert stored(db)[1] == {"spool.torn_lines": 1}
    [line] = spool.rejected_path(db).read_text().splitlines()
    assert json.loads(line)["reason"] == "torn spool line"


SPOOLER = """
import sys
sys.path.insert(0, {repo!r})
from fleetui.store import CallRecord, spool
path = spool.spool_path(__import__("pathlib").Path(sys.argv[1]))
i = 0
while True:
    batch = [CallRecord(model_id="m", task="killed", prompt="x" * 4000) for _ in range(50)]
    spool.append(path, spool.encode([spool.call_entry(c) for c in batch]))
    i += 1
    if i == 3:
        print("ready", flush=True)
"""


def test_kill_9_while_spooling_loses_at_most_the_torn_line(tmp_path: Path) -> None:
    db = tmp_path / "kill.db"
    Store.open(db).close()
    proc = subprocess.Popen([sys.executable, "-c", SPOOLER.format(repo=str(REPO)), str(db)],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    data = spool.spool_path(db).read_bytes()
    complete = data.count(b"\n")
    torn = 0 if data.endswith(b"\n") else 1
    rec = recorder(db)
    for _ in range(20):
        rec.record(CallRecord(model_id="m", task="after"))
    holder = locked(db)  # so that the next batch is appended behind the (maybe) torn line
    assert not rec.flush(0.5)
    holder.execute("COMMIT")
    holder.close()
    assert rec.flush(30)
    rec.close()
    assert per_task(db) == {"killed": complete, "after": 20}
    assert stored(db)[1] == ({"spool.torn_lines": 1} if torn else {})


def test_a_big_spool_is_drained_a_chunk_at_a_time_and_resumes_after_a_crash(tmp_path: Path) -> None:
    db = tmp_path / "big.db"
    Store.open(db).close()
    records = [CallRecord(model_id="m", task="spooled") for _ in range(12_000)]
    spool.append(spool.spool_path(db), spool.encode([spool.call_entry(r) for r in records]))
    rec = recorder(db, batch_size=1_000)
    store = rec._usable_store()
    rec._drain_spool(store, budget_s=0.0)  # one chunk, then "crash": the offset is in the database
    rec._close_store()
    with Store.open(db) as reopened:
        assert reopened.count_calls() == 5_000
        [(name, offset)] = reopened.counters("spool.offset.").items()
    assert 0 < offset < sum(len(line) for line in spool.encode([spool.call_entry(r) for r in records]).splitlines(True))
    drain(db)
    assert per_task(db) == {"spooled": 12_000}
    assert not spool.pending(db)
    with Store.open(db) as reopened:
        assert reopened.counters("spool.offset.") == {}


LOCK_APP = """
import sys, time
sys.path.insert(0, {repo!r})
from fleetui.shim import configure
from fleetui.store import CallRecord
rec = configure(db_path=sys.argv[1], fleet_path=sys.argv[2], interval_s=0.05, exit_timeout_s=1.0)
for i in range(int(sys.argv[3])):
    rec.record(CallRecord(model_id="m", task=sys.argv[4]))
    if i % 100 == 99:
        time.sleep(0.05)
"""


@pytest.mark.slow
def test_a_lock_held_while_four_processes_write_loses_nothing(tmp_path: Path) -> None:
    db = tmp_path / "lock.db"
    Store.open(db).close()
    holder = subprocess.Popen([sys.executable, "-c",
                               "import sqlite3, sys, time\n"
                               "c = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
                               "c.execute('BEGIN EXCLUSIVE'); print('locked', flush=True); time.sleep(3)\n"
                               "c.execute('COMMIT')", str(db)], stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
    script = LOCK_APP.format(repo=str(REPO))
    apps = [subprocess.Popen([sys.executable, "-c", script, str(db), str(SAMPLE_FLEET), "1500", f"p{i}"])
            for i in range(4)]
    assert [p.wait(timeout=120) for p in apps] == [0] * 4
    holder.wait(timeout=30)
    drain(db)
    assert per_task(db) == {f"p{i}": 1_500 for i in range(4)}
    calls, counters = stored(db)
    assert calls == 6_000 and counters.get("shim.dropped", 0) == 0
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT COUNT(DISTINCT call_id) FROM calls").fetchone()[0] == 6_000
    conn.close()
    assert_rollups_match(db)


# -- read-only and full ----------------------------------------------------------------------------

READ_ONLY_APP = """
import sys
sys.path.insert(0, {repo!r})
from fleetui.shim import configure
from fleetui.store import CallRecord
rec = configure(db_path=sys.argv[1], fleet_path=sys.argv[2], interval_s=0.05, exit_timeout_s=1.0)
for i in range(200):
    rec.record(CallRecord(model_id="m", task="ro"))
print(rec.flush(1))
"""


def test_a_read_only_database_keeps_calls_for_the_next_writer(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    db = folder / "ro.db"
    with tmpfs(folder, "8m") as mounted:
        _read_only_case(folder, db, mounted)


def _read_only_case(folder: Path, db: Path, mounted: bool) -> None:
    if os.geteuid() == 0 and not mounted:
        pytest.skip("as root, file modes do not stop writes: needs a tmpfs to remount read-only")
    Store.open(db).close()
    if mounted:  # a read-only file system: neither the database nor a spool beside it
        subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True)
    else:
        os.chmod(db, 0o444)
        os.chmod(folder, 0o555)
    try:
        out = subprocess.run([sys.executable, "-c", READ_ONLY_APP.format(repo=str(REPO)), str(db), str(SAMPLE_FLEET)],
                             capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
        assert out.stdout.strip() == "False"  # flush says it could not store them
        assert spool.count_lines(spool.spool_files(db)) == 200
    finally:
        if mounted:
            subprocess.run(["mount", "-o", "remount,rw", str(folder)], check=True)
        else:
            os.chmod(folder, 0o755)
            os.chmod(db, 0o644)
    assert stored(db)[0] == 0
    try:
        drain(db)
        assert per_task(db) == {"ro": 200}
    finally:
        remove_fallback(db)


@contextmanager
def tmpfs(target: Path, size: str) -> Iterator[bool]:
    """A small tmpfs at `target` while the block runs (True), when root may mount one."""
    mounted = os.geteuid() == 0 and shutil.which("mount") is not None and subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(target)], capture_output=True, check=False,
    ).returncode == 0
    try:
        yield mounted
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(target)], check=False)


def test_a_full_disk_recovers_once_space_is_freed(tmp_path: Path) -> None:
    disk = tmp_path / "disk"
    disk.mkdir()
    with tmpfs(disk, "2m") as mounted:
        if not mounted:
            pytest.skip("needs root and permission to mount a small tmpfs (mount -t tmpfs -o size=2m)")
        _full_disk_case(disk)


def _full_disk_case(disk: Path) -> None:
    try:
        db = disk / "full.db"
        Store.open(db).close()
        filler = disk / "filler"
        try:  # fill the disk to the last block
            with open(filler, "wb") as handle:
                while True:
                    handle.write(b"\0" * 4096)
                    handle.flush()
        except OSError:
            pass
        rec = recorder(db)
        for _ in range(300):
            rec.record(CallRecord(model_id="m", task="full", prompt="p" * 200))
        assert not rec.flush(2)  # nowhere beside the database: the fallback spool keeps them
        filler.unlink()
        assert rec.flush(30)
        rec.close()
        assert per_task(db) == {"full": 300}
        assert not spool.pending(db)
    finally:
        remove_fallback(disk / "full.db")


# -- doctor, status, prune --------------------------------------------------------------------------


def test_doctor_reports_a_healthy_store_and_exits_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "ok.db"
    rec = recorder(db)
    rec.record(CallRecord(model_id="m"))
    assert rec.flush(10)
    rec.close()
    assert main(["--db", str(db), "doctor", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["health"] == "ok" and report["calls"] == 1 and report["integrity"] == "ok"
    assert report["schema_version"] == report["schema_expected"] and report["db_path"] == str(db)
    assert report["spool"]["lines"] == 0 and report["problems"] == []
    assert main(["--db", str(db), "doctor"]) == 0
    assert "health: ok" in capsys.readouterr().out


def test_doctor_shows_drops_and_waiting_spool_and_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "busy.db"
    Store.open(db).close()
    rec = Recorder(db, fleet_path=SAMPLE_FLEET, max_queue=10, interval_s=3600)
    for _ in range(15):
        rec.record(CallRecord(model_id="m"))
    assert rec.flush(10)  # 10 stored, 5 dropped and counted
    holder = locked(db)
    for _ in range(5):
        rec.record(CallRecord(model_id="m"))
    assert not rec.flush(0.3)
    try:  # read while the lock is still held, so the writer cannot drain the spool meanwhile
        assert main(["--db", str(db), "doctor", "--json"]) == 1
        report = json.loads(capsys.readouterr().out)
        assert report["losses"]["dropped"] == 5 and report["spool"]["lines"] == 5
        assert any("dropped" in p for p in report["problems"])
        assert main(["--db", str(db), "--config", str(SAMPLE_FLEET), "status"]) == 0
        assert "5 calls waiting in the spool" in capsys.readouterr().out
    finally:
        holder.execute("COMMIT")
        holder.close()
    assert rec.flush(10)
    rec.close()
    assert stored(db)[0] == 10 + 5


def test_doctor_on_a_file_that_is_not_a_database_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "junk.db"
    db.write_bytes(b"this is not sqlite" * 100)
    assert main(["--db", str(db), "doctor"]) == 2
    out = capsys.readouterr().out
    assert "health: broken" in out and str(db) in out


def _old_and_new_calls(db: Path) -> None:
    now = time.time()
    with Store.open(db) as store:
        store.insert_calls([CallRecord(ts=now - 200 * 86400, model_id="m", cost_usd=0.5, input_tokens=10)
                            for _ in range(30)])
        store.insert_calls([CallRecord(ts=now - 3600, model_id="m", cost_usd=0.25) for _ in range(5)])


def test_prune_deletes_old_calls_and_keeps_their_daily_totals(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "prune.db"
    _old_and_new_calls(db)
    with Store.open(db) as store:
        before = store.overall()
    assert main(["--db", str(db), "prune", "--older-than", "90d", "--dry-run"]) == 0
    assert "would delete 30 calls" in capsys.readouterr().out
    assert main(["--db", str(db), "prune", "--older-than", "90d", "--vacuum", "--yes", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["deleted"] == 30 and result["vacuumed"]
    with Store.open(db) as store:
        assert store.count_calls() == 5
        after = store.overall()
        assert store.counter("calls.pruned") == 30
    assert (after.calls, after.cost_usd, after.input_tokens) == (before.calls, before.cost_usd, before.input_tokens)
    assert main(["--db", str(db), "doctor", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["losses"]["pruned"] == 30


def test_prune_by_keep_days_and_without_a_period(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "keep.db"
    _old_and_new_calls(db)
    fleet = tmp_path / "fleet.toml"
    fleet.write_text(SAMPLE_FLEET.read_text(encoding="utf-8"), encoding="utf-8")
    assert main(["--db", str(db), "--config", str(fleet), "prune", "--yes"]) == 1
    assert "keep_days" in capsys.readouterr().err
    fleet.write_text(fleet.read_text(encoding="utf-8") + "\n[store]\nkeep_days = 90\n", encoding="utf-8")
    assert main(["--db", str(db), "--config", str(fleet), "prune", "--yes"]) == 0
    assert "deleted 30 calls" in capsys.readouterr().out
    assert main(["--db", str(db), "--config", str(fleet), "prune", "--older-than", "soon"]) == 2
    assert "--older-than" in capsys.readouterr().err


def test_the_shim_prunes_by_keep_days(tmp_path: Path) -> None:
    db = tmp_path / "auto.db"
    _old_and_new_calls(db)
    fleet = tmp_path / "fleet.toml"
    fleet.write_text(SAMPLE_FLEET.read_text(encoding="utf-8") + "\n[store]\nkeep_days = 90\n", encoding="utf-8")
    rec = Recorder(db, fleet_path=fleet, interval_s=0.05)
    rec.record(CallRecord(model_id="m"))
    assert rec.flush(10)
    rec.close()
    with Store.open(db) as store:
        assert store.count_calls() == 6 and store.overall().calls == 36


# -- one transaction discipline ---------------------------------------------------------------------


def test_replace_rankings_keeps_the_old_rankings_when_the_new_ones_fail(tmp_path: Path) -> None:
    from fleetui.store import analytics

    with Store.open(tmp_path / "rank.db") as store:
        analytics.replace_rankings(store, [{"use_case": "chat", "model_id": "m", "rank": 1}])
        with pytest.raises(sqlite3.Error):
            analytics.replace_rankings(store, [{"use_case": "chat", "model_id": "m", "no_such_column": 1}])
        assert [tuple(r) for r in store.conn.execute("SELECT use_case, model_id, rank FROM rankings")] == [("chat", "m", 1)]
