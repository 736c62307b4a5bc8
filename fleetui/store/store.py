"""The SQLite store: one file, WAL, migrations, fast batch inserts with rollups, typed queries.

sqlite-utils owns the schema and migrations. The hot path (shim writer, demo data, imports)
uses one prepared ``executemany`` on the raw connection in one transaction — about 3.5× faster
than ``insert_all`` on these machines — and updates the rollups in that same transaction, so a
dashboard reading rollups never sees a call that is not counted or counted twice. sqlite-utils
(which imports numpy: 0.3–0.6 s) loads only when a query or a migration needs it, so a shim
writing to an up-to-date file never pays for it.

Every write goes through `Store.write`: BEGIN IMMEDIATE, retried with backoff while another
process holds the lock, and a WAL checkpoint after any other failure so that a full disk gets
its space back. Calls are value-checked (`checks`) before they are stored; a record SQLite
still refuses is set aside in `<db>.rejected.jsonl` with its reason, never in front of the rest.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from itertools import islice
from operator import attrgetter
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, Self, TypeVar

from fleetui.clock import utc_day
from fleetui.store import histogram, rollups, spool
from fleetui.store.checks import check_call
from fleetui.store.filters import calls_in, days_in
from fleetui.store.migrations import SCHEMA_VERSION, STEPS
from fleetui.store.provider_names import provider_name_of
from fleetui.store.records import CALL_COLUMNS, CallRecord, ProbeRecord, TrialRecord
from fleetui.store.rollups import Totals

if TYPE_CHECKING:
    import sqlite_utils

log = logging.getLogger("fleetui.store")

CHUNK = 5_000
REJECTED = "calls.rejected"  # calls SQLite refused even after the value checks, set aside
PRUNED = "calls.pruned"  # calls deleted by retention (their rollups stay)
WAL_LIMIT = 64 * 1024 * 1024  # bytes of WAL kept after a checkpoint
_LOCK_RETRIES = 5
_TAGS = CALL_COLUMNS.index("tags")
_INSERT_CALL = (
    f"INSERT INTO calls ({', '.join(CALL_COLUMNS)}, day) "
    f"VALUES ({', '.join('?' * (len(CALL_COLUMNS) + 1))})"
)
_UPSERT_COUNTER = (
    "INSERT INTO counters (name, value) VALUES (?, ?) "
    "ON CONFLICT(name) DO UPDATE SET value = value + excluded.value"
)
_SET_COUNTER = "INSERT OR REPLACE INTO counters (name, value) VALUES (?, ?)"


def _moved_sum(column: str) -> str:
    """How a rollup column is summed from temp.use_case_delta, by the column's name."""
    if column == "calls":
        return "SUM(n)"
    if column in histogram.COLUMNS:
        return f"TOTAL(CASE WHEN bucket = {histogram.COLUMNS.index(column)} THEN n END)"
    return f"SUM({column})"


# What set_use_cases and label_unlabelled move, summed per rollup key and latency bucket, as
# _rows_and_rollups sums it (a missing model, use case or task is ''). Pre-summing turns the
# two rollup upserts below into reads of a few thousand rows instead of one per moved call.
_DELTA = (
    "CREATE TEMP TABLE use_case_delta AS SELECT c.day AS day, COALESCE(c.model_id, '') AS model_id, "
    "COALESCE(c.use_case, '') AS old_use_case, m.use_case AS new_use_case, COALESCE(c.task, '') AS task, "
    "CASE WHEN c.latency_ms IS NOT NULL THEN fleetui_latency_bucket(c.latency_ms) END AS bucket, "
    "COUNT(*) AS n, SUM(NOT COALESCE(c.success, 0)) AS errors, COALESCE(SUM(c.input_tokens), 0) AS input_tokens, "
    "COALESCE(SUM(c.output_tokens), 0) AS output_tokens, "
    "COALESCE(SUM(c.cached_input_tokens), 0) AS cached_input_tokens, COUNT(c.cost_usd) AS priced_calls, "
    "SUM(c.cost_usd IS NULL) AS unpriced_calls, COUNT(c.latency_ms) AS latency_count, "
    "TOTAL(c.cost_usd) AS cost_usd, TOTAL(c.latency_ms) AS latency_ms_sum, "
    "TOTAL(c.feedback_score) AS feedback_sum, COUNT(c.feedback_score) AS feedback_count "
    "FROM calls c JOIN {source} WHERE {where} GROUP BY 1, 2, 3, 4, 5, 6"
)
# Signed: -1 takes the calls out of their old use case's rows, +1 puts them in the new one's.
# ("WHERE true" lets SQLite parse an upsert from a SELECT.)
_MOVE_ROLLUPS = (
    f"INSERT INTO rollup_daily (day, model_id, use_case, task, {', '.join(rollups.COLUMNS)}) "
    "SELECT day, model_id, {side}, task, "
    + ", ".join(f"{{sign}} * {_moved_sum(c)}" for c in rollups.COLUMNS)
    + " FROM temp.use_case_delta WHERE true GROUP BY day, model_id, {side}, task "
    "ON CONFLICT(day, model_id, use_case, task) DO UPDATE SET "
    + ", ".join(f"{c} = {c} + excluded.{c}" for c in rollups.COLUMNS)
)

_Work = Callable[[sqlite3.Connection], object]
_T = TypeVar("_T")
Grouping = Literal["model", "use_case", "task", "day"]
_GROUP_COLUMN: dict[str, str] = {"model": "model_id", "use_case": "use_case", "task": "task", "day": "day"}


class StoreError(Exception):
    """The store cannot be used; the message names the file and what to do."""




class Store:
    def __init__(self, conn: sqlite3.Connection, path: Path | None, lock_retries: int = _LOCK_RETRIES) -> None:
        self.path = path
        self._lock_retries = lock_retries
        self._conn = conn
        self._db: sqlite_utils.Database | None = None
        self._days: dict[int, str] = {}

    @property
    def db(self) -> sqlite_utils.Database:
        """The connection as a sqlite-utils Database, for migrations and ad-hoc queries."""
        if self._db is None:
            import sqlite_utils

            self._db = sqlite_utils.Database(self._conn)
        return self._db

    @property
    def conn(self) -> sqlite3.Connection:
        return self._conn

    # -- opening -----------------------------------------------------------------------------

    @classmethod
    def open(
        cls, path: Path | str, *, create: bool = True, busy_timeout_s: float = 5.0,
        lock_retries: int = _LOCK_RETRIES,
    ) -> Store:
        """Open (and migrate) a store. A write waits `busy_timeout_s` for another writer's lock,
        `lock_retries` times, before it fails."""
        file = Path(path).expanduser()
        if not create and not file.exists():
            raise StoreError(f"{file}: no such database; check --db / FLEETUI_DB")
        try:
            file.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(file, timeout=busy_timeout_s, isolation_level=None, check_same_thread=False)
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(
                f"{file}: cannot open the database ({exc}); check the folder exists and is "
                "writable, or choose another file with --db / FLEETUI_DB"
            ) from None
        store = cls(conn, file, lock_retries)
        try:
            store._prepare(busy_timeout_s)
        except StoreError:
            conn.close()
            raise
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise _open_error(file, exc) from None
        return store

    @classmethod
    def memory(cls) -> Store:
        conn = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
        store = cls(conn, None)
        store._prepare()
        return store

    def _prepare(self, busy_timeout_s: float = 5.0) -> None:
        conn = self._conn
        conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_s * 1000)}")
        if self.path is not None:
            # Switching a new file to WAL needs it to itself and can report "locked" at once,
            # without waiting, while another process is opening the same file.
            self._retrying(lambda: conn.execute("PRAGMA journal_mode = WAL"))
        conn.execute("PRAGMA synchronous = NORMAL")  # safe with WAL: a crash loses no committed row
        # Without a limit the WAL keeps its largest size after a checkpoint: on a small disk it
        # would hold the space a failed write needs.
        conn.execute(f"PRAGMA journal_size_limit = {WAL_LIMIT}")
        version = self.schema_version
        self._refuse_newer(version)
        if version < SCHEMA_VERSION:  # an up-to-date file is opened without taking the write lock
            self.write(self._migrate)

    def _migrate(self, conn: sqlite3.Connection) -> None:
        # Read again under the write lock: the shim and the TUI often open a new file at the
        # same moment, and the one that waited must not run the steps a second time.
        version = self.schema_version
        self._refuse_newer(version)
        if version == 0 and conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()[0]:
            raise StoreError(
                f"{self.path}: a SQLite database of another program (it has tables but no fleetui "
                "schema version), left unchanged; point --db / FLEETUI_DB at another file"
            )
        for number in range(version, SCHEMA_VERSION):
            STEPS[number](self.db)
            conn.execute(f"PRAGMA user_version = {number + 1}")

    def _refuse_newer(self, version: int) -> None:
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"{self.path}: written by a newer fleetui (schema {version}, this fleetui knows "
                f"{SCHEMA_VERSION}); upgrade fleetui to use it"
            )

    @property
    def schema_version(self) -> int:
        return int(self._conn.execute("PRAGMA user_version").fetchone()[0])

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- transactions ------------------------------------------------------------------------

    class _Tx:
        def __init__(self, conn: sqlite3.Connection) -> None:
            self.conn = conn

        def __enter__(self) -> sqlite3.Connection:
            self.conn.execute("BEGIN IMMEDIATE")
            return self.conn

        def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
            if kind is None:
                try:
                    self.conn.execute("COMMIT")
                    return
                except BaseException:
                    self._rollback()
                    raise
            self._rollback()

        def _rollback(self) -> None:
            # SQLite has already rolled back after some errors (a full disk, for one); a second
            # ROLLBACK would raise and hide the error that matters.
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")

    def _transaction(self) -> Store._Tx:
        return Store._Tx(self._conn)

    def write(self, work: _Work) -> None:
        """Run `work` in one BEGIN IMMEDIATE transaction, retried with backoff while another
        process holds the lock. Every write to the store goes through here.

        After any other failure the WAL is checkpointed and truncated: on a full disk the WAL is
        what holds the space, and the next write needs it back."""

        def attempt() -> None:
            with self._transaction() as conn:
                work(conn)

        try:
            self._retrying(attempt)
        except sqlite3.OperationalError as exc:
            if not _is_busy(exc) and self.path is not None:
                self.checkpoint()
            raise

    def checkpoint(self) -> None:
        """Move the WAL into the database and truncate it; quiet when it cannot (busy, full)."""
        try:
            self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlite3.Error:
            pass

    def _retrying(self, attempt: Callable[[], _T]) -> _T:
        for number in range(self._lock_retries):
            try:
                return attempt()
            except sqlite3.OperationalError as exc:
                if not _is_busy(exc) or number == self._lock_retries - 1:
                    raise
                time.sleep(0.05 * 2**number)
        raise AssertionError("unreachable: the last attempt returns or raises")

    # -- calls -------------------------------------------------------------------------------

    def insert_calls(
        self, records: Iterable[CallRecord], *, counters: Mapping[str, int] | None = None,
        positions: Mapping[str, int] | None = None, checked: bool = False, then: _Work | None = None,
    ) -> int:
        """Store calls and their rollups; returns how many were stored.

        Values are checked first (`checks.check_call`) unless the caller did (`checked`); the
        counts of what was coerced or nulled, and `counters` (deltas) and `positions` (values to
        set, such as how far a spool was read), are written in the same transaction, and so is
        `then` (marker updates that need the calls), in the last chunk's."""
        return self._insert(records, counters, positions, checked, then, skip_known=False)[0]

    @contextmanager
    def bulk_load(self) -> Iterator[None]:
        """Insert many calls into a store nobody else writes to, with indexes built once at the end.

        Building an index over a million sorted rows is far cheaper than updating it a million
        times; demo generation and large imports into a new file use this.
        """
        indexes = [
            (row[0], row[1])
            for row in self._conn.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'calls' "
                "AND sql IS NOT NULL AND name != 'idx_calls_call_id'"
            )
        ]
        for name, _ in indexes:
            self._conn.execute(f"DROP INDEX {name}")
        try:
            yield
        finally:
            for _, sql in indexes:
                self._conn.execute(sql)

    def insert_new_calls(
        self, records: Iterable[CallRecord], *, counters: Mapping[str, int] | None = None,
        positions: Mapping[str, int] | None = None, checked: bool = False, then: _Work | None = None,
    ) -> tuple[int, int]:
        """Store only calls whose call_id is not stored yet; returns (stored, already there).

        Imports and the shim's spool use this so that doing them twice adds nothing; the
        look-up runs inside the insert's transaction, so two processes cannot both add a call."""
        return self._insert(records, counters, positions, checked, then, skip_known=True)

    def _insert(
        self, records: Iterable[CallRecord], counters: Mapping[str, int] | None,
        positions: Mapping[str, int] | None, checked: bool, then: _Work | None, skip_known: bool,
    ) -> tuple[int, int]:
        stored = skipped = 0
        tally: Counter[str] = Counter(counters or {})
        marks = dict(positions or {})
        iterator = iter(records)
        chunk = list(islice(iterator, CHUNK))
        while True:
            following = list(islice(iterator, CHUNK))
            if not checked:
                for record in chunk:
                    check_call(record, tally)
            done, known, rejects = self._insert_chunk(chunk, tally, marks, skip_known,
                                                      None if following else then)
            stored += done
            skipped += known
            tally.clear()
            marks.clear()
            if rejects and self.path is not None:
                spool.set_aside(self.path, [(spool.call_entry(r), reason) for r, reason in rejects])
            if not following:
                return stored, skipped
            chunk = following

    def _insert_chunk(
        self, chunk: list[CallRecord], tally: Counter[str], marks: dict[str, int], skip_known: bool,
        then: _Work | None,
    ) -> tuple[int, int, list[tuple[CallRecord, str]]]:
        """One transaction: the calls, their rollups, the counters. A batch SQLite refuses is
        stored record by record, each in a savepoint, and the records it refuses set aside."""
        result: tuple[int, int, list[tuple[CallRecord, str]]] = (0, 0, [])

        def work(conn: sqlite3.Connection) -> None:
            nonlocal result
            fresh = self._unknown(conn, chunk) if skip_known else chunk
            skipped = len(chunk) - len(fresh)
            rejects: list[tuple[CallRecord, str]] = []
            stored = 0
            if fresh:
                conn.execute("SAVEPOINT calls")
                try:
                    rows, sums = self._rows_and_rollups(fresh)
                    conn.executemany(_INSERT_CALL, rows)
                    conn.executemany(rollups.UPSERT, rollups.delta_rows(sums))
                    stored = len(rows)
                except sqlite3.OperationalError:
                    raise  # the database's trouble (busy, full, read-only), not a record's
                except Exception:
                    conn.execute("ROLLBACK TO calls")
                    stored, duplicates, rejects = self._one_by_one(conn, fresh)
                    skipped += duplicates
                conn.execute("RELEASE calls")
            counts = Counter(tally)
            if rejects:
                counts[REJECTED] += len(rejects)
            if counts:
                conn.executemany(_UPSERT_COUNTER, [(k, v) for k, v in counts.items() if v])
            if marks:
                conn.executemany(_SET_COUNTER, list(marks.items()))
            if then is not None:
                then(conn)
            result = (stored, skipped, rejects)

        if chunk or tally or marks or then:
            self.write(work)
        return result

    def _one_by_one(
        self, conn: sqlite3.Connection, records: list[CallRecord]
    ) -> tuple[int, int, list[tuple[CallRecord, str]]]:
        stored = duplicates = 0
        rejects: list[tuple[CallRecord, str]] = []
        for record in records:
            try:
                rows, sums = self._rows_and_rollups([record])
            except Exception as exc:  # noqa: BLE001 - any value the checks let through
                rejects.append((record, f"{type(exc).__name__}: {exc}"))
                continue
            conn.execute("SAVEPOINT one")
            try:
                conn.execute(_INSERT_CALL, rows[0])
                conn.executemany(rollups.UPSERT, rollups.delta_rows(sums))
                stored += 1
            except sqlite3.OperationalError:
                raise
            except sqlite3.IntegrityError as exc:
                conn.execute("ROLLBACK TO one")
                if "calls.call_id" in str(exc):
                    duplicates += 1  # delivered twice (a spool replayed after a crash): stored once
                else:
                    rejects.append((record, f"{type(exc).__name__}: {exc}"))
            except Exception as exc:  # noqa: BLE001
                conn.execute("ROLLBACK TO one")
                rejects.append((record, f"{type(exc).__name__}: {exc}"))
            conn.execute("RELEASE one")
        return stored, duplicates, rejects

    def _unknown(self, conn: sqlite3.Connection, chunk: list[CallRecord]) -> list[CallRecord]:
        ids = [r.call_id for r in chunk]
        known: set[str] = set()
        for start in range(0, len(ids), 900):  # stay under SQLite's bound-parameter limit
            part = ids[start : start + 900]
            known.update(
                row[0] for row in conn.execute(
                    f"SELECT call_id FROM calls WHERE call_id IN ({', '.join('?' * len(part))})", part
                )
            )
        fresh = []
        for record in chunk:
            if record.call_id in known:
                continue
            known.add(record.call_id)
            fresh.append(record)
        return fresh

    def _day(self, ts: float) -> str:
        index = int(ts // 86400)
        day = self._days.get(index)
        if day is None:
            day = self._days[index] = utc_day(ts)
        return day

    def _rows_and_rollups(
        self, chunk: list[CallRecord]
    ) -> tuple[list[list[object]], dict[rollups.RollupKey, rollups.Sums]]:
        """The `calls` rows of `chunk`, and what they add to each rollup row."""
        values = attrgetter(*CALL_COLUMNS)
        rows: list[list[object]] = []
        sums: dict[rollups.RollupKey, rollups.Sums] = {}
        days = self._days
        for record in chunk:
            record.provider_name = provider_name_of(record.provider_name, record.server_address)
            row = list(values(record))
            tags = row[_TAGS]
            row[_TAGS] = json.dumps(tags) if tags else None
            day = days.get(int(record.ts // 86400)) or self._day(record.ts)  # one lookup a row
            row.append(day)
            rows.append(row)
            key = rollups.key_of(day, record)
            acc = sums.get(key)
            if acc is None:
                acc = sums[key] = rollups.Sums()
            acc.add(record)
        return rows, sums

    def call(self, call_id: str) -> dict[str, object] | None:
        rows = list(self.db.query("SELECT * FROM calls WHERE call_id = ?", [call_id]))
        return rows[0] if rows else None

    def iter_calls(self, *, since_ts: float | None = None, until_ts: float | None = None) -> Iterator[CallRecord]:
        """Stored calls in time order, as records (for exports and re-analysis)."""
        where = calls_in(since_ts=since_ts, until_ts=until_ts)
        sql = f"SELECT {', '.join(CALL_COLUMNS)} FROM calls{where.sql} ORDER BY ts, id"
        bools = {"success", "streamed", "incomplete", "demo"}
        optional_bools = {"override", "follow_up", "abandoned"}
        for row in self._conn.execute(sql, where.params):
            values = dict(zip(CALL_COLUMNS, row))
            values["tags"] = json.loads(values["tags"]) if values["tags"] else []
            for name in bools:
                values[name] = bool(values[name])
            for name in optional_bools:
                if values[name] is not None:
                    values[name] = bool(values[name])
            yield CallRecord(**values)

    def set_use_cases(self, assignments: dict[str, str]) -> int:
        """Give calls (by call_id) a use case, moving their share of the rollups with them in
        the same transaction so that rollups keep equalling the call log."""
        return self._move_use_cases("use_case_by_call", "call_id", list(assignments.items()),
                                    "c.call_id = m.call_id AND c.use_case IS NOT m.use_case", [])

    def label_unlabelled(self, labels: dict[str, str], since_ts: float | None = None) -> int:
        """Give every call without a use case whose prompt is in `labels` (prompt -> use case)
        that use case, rollups moving with them; a log repeats its prompts, so this is keyed
        by prompt, not by call."""
        return self._move_use_cases("use_case_by_prompt", "prompt", list(labels.items()),
                                    "c.prompt = m.prompt AND c.use_case IS NULL" + (" AND c.ts >= ?" if since_ts else ""),
                                    [since_ts] if since_ts else [])

    def _move_use_cases(self, table: str, key: str, rows: list[tuple[str, str]], where: str,
                        params: list[object]) -> int:
        """Set-based: the new use cases go into a temporary table `table` (key -> use_case),
        and SQLite moves the calls matching `where` (calls as c, the table as m) and their
        rollups in four statements. A record per call and one UPDATE per call took ~2.5 s of
        discovery's 5 s budget on 100,000 calls."""
        changed = 0
        self._conn.create_function("fleetui_latency_bucket", 1, histogram.bucket_of, deterministic=True)

        def work(conn: sqlite3.Connection) -> None:
            nonlocal changed
            conn.execute(f"CREATE TEMP TABLE IF NOT EXISTS {table} "
                         f"({key} TEXT PRIMARY KEY, use_case TEXT NOT NULL) WITHOUT ROWID")
            conn.execute(f"DELETE FROM temp.{table}")
            conn.executemany(f"INSERT OR REPLACE INTO temp.{table} VALUES (?, ?)", rows)
            conn.execute("DROP TABLE IF EXISTS temp.use_case_delta")
            conn.execute(_DELTA.format(source=f"temp.{table} m", where=where), params)
            changed = conn.execute("SELECT COALESCE(SUM(n), 0) FROM temp.use_case_delta").fetchone()[0]
            if changed:
                conn.execute(_MOVE_ROLLUPS.format(side="old_use_case", sign=-1))
                conn.execute(_MOVE_ROLLUPS.format(side="new_use_case", sign=1))
                conn.execute(f"UPDATE calls AS c SET use_case = m.use_case FROM temp.{table} m WHERE {where}", params)
                conn.execute("DELETE FROM rollup_daily WHERE calls = 0")  # emptied by the move
            conn.execute(f"DELETE FROM temp.{table}")
            conn.execute("DROP TABLE temp.use_case_delta")

        self.write(work)
        return int(changed)

    def unlabelled_prompts(self, since_ts: float | None = None) -> list[str]:
        """The distinct prompts of calls without a use case."""
        return [r[0] for r in self._conn.execute(
            "SELECT DISTINCT prompt FROM calls WHERE use_case IS NULL AND prompt IS NOT NULL"
            + (" AND ts >= ?" if since_ts else ""), [since_ts] if since_ts else [],
        )]

    def prompts_for_discovery(
        self, since_ts: float | None, limit: int = 200_000
    ) -> list[tuple[str, str, int, dict[str, int]]]:
        """(prompt_hash, prompt, calls, calls per model) per distinct prompt, most asked first."""
        where = "prompt IS NOT NULL AND prompt_hash IS NOT NULL" + (" AND ts >= ?" if since_ts else "")
        params: list[object] = [since_ts] if since_ts else []
        prompts: dict[str, tuple[str, int, dict[str, int]]] = {}
        for digest, prompt, model_id, n in self._conn.execute(
            f"SELECT prompt_hash, MAX(prompt), model_id, COUNT(*) FROM calls WHERE {where} "
            "GROUP BY prompt_hash, model_id", params,
        ):
            text, total, models = prompts.get(digest, (prompt, 0, {}))
            if model_id:
                models[model_id] = n
            prompts[digest] = (text, total + n, models)
        ranked = sorted(prompts.items(), key=lambda kv: -kv[1][1])[:limit]
        return [(digest, text, total, models) for digest, (text, total, models) in ranked]

    def calls_for_dry_run(self, since_ts: float) -> Iterator[tuple[Any, ...]]:
        """(model_id, use_case, task, complexity, prompt_chars, tags, user_id, ts, success,
        cost_usd, latency_ms, input_tokens, output_tokens, cached_input_tokens) per call."""
        return self._conn.execute(
            "SELECT model_id, use_case, task, complexity, prompt_chars, tags, user_id, ts, success, cost_usd, "
            "latency_ms, input_tokens, output_tokens, cached_input_tokens FROM calls WHERE ts >= ?", [since_ts],
        )

    def recent_errors(self, model_id: str, limit: int = 5) -> list[dict[str, object]]:
        return list(self.db.query(
            "SELECT ts, error_type, status_code, source FROM calls WHERE model_id = ? AND success = 0 "
            "ORDER BY ts DESC LIMIT ?", [model_id, limit],
        ))

    def count_calls(self) -> int:
        return int(self._conn.execute("SELECT COUNT(*) FROM calls").fetchone()[0])

    def latest_call_ts(self) -> float | None:
        row = self._conn.execute("SELECT MAX(ts) FROM calls").fetchone()
        return row[0] if row else None

    def changed(self, sql: str, params: Sequence[object] = ()) -> int:
        """Run one UPDATE or DELETE in its own write; how many rows it changed."""
        count = 0

        def work(conn: sqlite3.Connection) -> None:
            nonlocal count
            count = conn.execute(sql, params).rowcount

        self.write(work)
        return count

    def _update_call(self, call_id: str, assignments: str, params: list[object]) -> bool:
        return self.changed(f"UPDATE calls SET {assignments} WHERE call_id = ?", [*params, call_id]) > 0

    def update_feedback(self, call_id: str, score: float, comment: str | None = None) -> bool:
        """Record a user's score for a call; the rollups' satisfaction sums follow."""
        found = False

        def work(conn: sqlite3.Connection) -> None:
            nonlocal found
            found = feedback_in(conn, call_id, score, comment)

        self.write(work)
        return found

    def mark_follow_up(self, call_id: str) -> bool:
        return self._update_call(call_id, "follow_up = 1", [])

    def mark_abandoned(self, call_id: str) -> bool:
        return self._update_call(call_id, "abandoned = 1", [])

    # -- counters ----------------------------------------------------------------------------

    def bump_counter(self, name: str, amount: int = 1) -> None:
        self.bump_counters({name: amount})

    def bump_counters(self, amounts: Mapping[str, int]) -> None:
        rows = [(name, amount) for name, amount in amounts.items() if amount]
        if rows:
            self.write(lambda conn: conn.executemany(_UPSERT_COUNTER, rows))

    def counter(self, name: str) -> int:
        row = self._conn.execute("SELECT value FROM counters WHERE name = ?", [name]).fetchone()
        return int(row[0]) if row else 0

    def counters(self, prefix: str = "") -> dict[str, int]:
        """Counters whose name starts with `prefix` (all of them by default)."""
        rows = self._conn.execute(
            "SELECT name, value FROM counters WHERE substr(name, 1, ?) = ? ORDER BY name", [len(prefix), prefix]
        )
        return {name: int(value) for name, value in rows}

    def forget_counter(self, name: str) -> None:
        self.write(lambda conn: conn.execute("DELETE FROM counters WHERE name = ?", [name]))

    # -- retention ---------------------------------------------------------------------------

    def prune_calls(self, before_ts: float, *, chunk: int = 20_000, max_chunks: int | None = None) -> int:
        """Delete calls made before `before_ts`, a chunk per transaction so other writers get the
        lock in between; the rollups stay, so past days keep their totals. Returns how many."""
        total = 0
        while True:
            deleted = 0

            def work(conn: sqlite3.Connection) -> None:
                nonlocal deleted
                deleted = conn.execute(
                    "DELETE FROM calls WHERE id IN (SELECT id FROM calls WHERE ts < ? ORDER BY ts LIMIT ?)",
                    [before_ts, chunk],
                ).rowcount
                if deleted:
                    conn.execute(_UPSERT_COUNTER, [PRUNED, deleted])

            self.write(work)
            total += deleted
            if max_chunks is not None:
                max_chunks -= 1
            if deleted < chunk or max_chunks == 0:
                return total

    def count_calls_before(self, before_ts: float) -> int:
        return int(self._conn.execute("SELECT COUNT(*) FROM calls WHERE ts < ?", [before_ts]).fetchone()[0])

    def vacuum(self) -> None:
        """Give the space of deleted rows back to the file system (rewrites the whole file)."""
        self._retrying(lambda: self._conn.execute("VACUUM"))
        self.checkpoint()

    # -- probes ------------------------------------------------------------------------------

    def record_probes(self, probes: Iterable[ProbeRecord]) -> None:
        rows = [
            (p.ts, p.model_id, p.status, p.latency_ms, p.error_type, p.message, int(p.deep))
            for p in probes
        ]
        self.write(lambda conn: conn.executemany(
            "INSERT INTO probes (ts, model_id, status, latency_ms, error_type, message, deep) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            rows,
        ))

    def record_trials(self, trials: Iterable[TrialRecord]) -> None:
        rows = [(t.ts, t.source, t.model_id, int(t.ok), int(t.sent), t.prompt_hash, t.response_model, t.input_tokens,
                 t.output_tokens, t.cached_input_tokens, t.latency_ms, t.ttft_ms, t.cost_usd, t.error_type)
                for t in trials]
        self.write(lambda conn: conn.executemany(
            "INSERT INTO trials (ts, source, model_id, ok, sent, prompt_hash, response_model, input_tokens, "
            "output_tokens, cached_input_tokens, latency_ms, ttft_ms, cost_usd, error_type) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows,
        ))

    def recent_trials(self, model_id: str, limit: int = 10) -> list[dict[str, object]]:
        return list(self.db.query("SELECT * FROM trials WHERE model_id = ? ORDER BY ts DESC LIMIT ?",
                                  [model_id, limit]))

    def record_probe(self, probe: ProbeRecord) -> None:
        self.record_probes([probe])

    def recent_probes(self, model_id: str, limit: int = 10) -> list[ProbeRecord]:
        cursor = self._conn.execute(
            "SELECT model_id, status, ts, latency_ms, error_type, message, deep FROM probes "
            "WHERE model_id = ? ORDER BY ts DESC, id DESC LIMIT ?",
            [model_id, limit],
        )
        return [_probe(row) for row in cursor]

    def last_probe_by_model(self) -> dict[str, ProbeRecord]:
        cursor = self._conn.execute(
            "SELECT model_id, status, ts, latency_ms, error_type, message, deep FROM probes p "
            "WHERE id = (SELECT id FROM probes q WHERE q.model_id = p.model_id "
            "ORDER BY ts DESC, id DESC LIMIT 1)"
        )
        return {row[0]: _probe(row) for row in cursor}

    # -- rollup queries ----------------------------------------------------------------------

    def totals(
        self, by: Grouping, *, since: str | None = None, until: str | None = None,
        model_id: str | None = None,
    ) -> list[Totals]:
        """Calls grouped by `by`, for UTC days `since`..`until` inclusive ('YYYY-MM-DD')."""
        column = _GROUP_COLUMN[by]
        where = days_in(since=since, until=until, model_id=model_id)
        sql = f"SELECT {column}, {rollups.select_sums()} FROM rollup_daily{where.sql} GROUP BY {column} ORDER BY {column}"
        return [rollups.totals_of(row[0], row[1:]) for row in self._conn.execute(sql, where.params)]

    def overall(self, *, since: str | None = None, until: str | None = None) -> Totals:
        where = days_in(since=since, until=until)
        sql = f"SELECT {rollups.select_sums()} FROM rollup_daily{where.sql}"
        return rollups.totals_of(None, self._conn.execute(sql, where.params).fetchone())

    def rollup_rows(self) -> Iterator[dict[str, object]]:
        """Raw rollup rows, for checks and exports."""
        return self.db.query("SELECT * FROM rollup_daily ORDER BY day, model_id, use_case, task")


def upsert_sql(table: str, columns: Iterable[str], pk: Iterable[str]) -> str:
    """INSERT … ON CONFLICT(pk) DO UPDATE for `columns` (names come from code, never from users)."""
    cols, keys = list(columns), list(pk)
    updates = [c for c in cols if c not in keys]
    action = ("DO UPDATE SET " + ", ".join(f"{c} = excluded.{c}" for c in updates)) if updates else "DO NOTHING"
    return (f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))}) "
            f"ON CONFLICT({', '.join(keys)}) {action}")


def upsert_rows(store: Store, table: str, rows: Sequence[Mapping[str, object]], pk: tuple[str, ...]) -> None:
    """Insert or update `rows` (all with the keys of the first) in one write."""
    if not rows:
        return
    columns = list(rows[0])
    sql = upsert_sql(table, columns, pk)
    store.write(lambda conn: conn.executemany(sql, [[row.get(c) for c in columns] for row in rows]))


def feedback_in(conn: sqlite3.Connection, call_id: str, score: float, comment: str | None) -> bool:
    """Set a call's feedback inside the caller's transaction; False when the call is unknown."""
    row = conn.execute(
        "SELECT day, COALESCE(model_id, ''), COALESCE(use_case, ''), COALESCE(task, ''), feedback_score "
        "FROM calls WHERE call_id = ?", [call_id],
    ).fetchone()
    if row is None:
        return False
    old = row[4]
    conn.execute("UPDATE calls SET feedback_score = ?, feedback_comment = ? WHERE call_id = ?",
                 [score, comment, call_id])
    conn.execute(
        "UPDATE rollup_daily SET feedback_sum = feedback_sum + ?, feedback_count = feedback_count + ? "
        "WHERE day = ? AND model_id = ? AND use_case = ? AND task = ?",
        [score - (old or 0.0), 0 if old is not None else 1, *row[:4]],
    )
    return True


def _is_busy(exc: sqlite3.Error) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)  # primary code
    return "locked" in str(exc) or "busy" in str(exc)


def _open_error(file: Path, exc: sqlite3.DatabaseError) -> StoreError:
    """Name what went wrong, so that nobody moves a good database away because it was busy."""
    code = (getattr(exc, "sqlite_errorcode", None) or 0) & 0xFF
    if code == sqlite3.SQLITE_NOTADB:
        return StoreError(
            f"{file}: not a fleetui database ({exc}); point --db / FLEETUI_DB at another "
            "file, or move this one away"
        )
    if _is_busy(exc):
        return StoreError(
            f"{file}: another program kept the database locked ({exc}); try again, or close "
            "the program that is writing to it"
        )
    if code in (sqlite3.SQLITE_READONLY, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_PERM):
        return StoreError(
            f"{file}: cannot write to the database ({exc}); check the permissions of the file "
            "and its folder, or choose another file with --db / FLEETUI_DB"
        )
    return StoreError(f"{file}: cannot prepare the database ({exc}); check the file and the disk")


_ProbeRow = tuple[str, str, float, float | None, str | None, str | None, int]  # as _PROBE_COLUMNS


def _probe(row: _ProbeRow) -> ProbeRecord:
    model_id, status, ts, latency_ms, error_type, message, deep = row
    return ProbeRecord(model_id=model_id, status=status, ts=ts, latency_ms=latency_ms, error_type=error_type,
                       message=message, deep=bool(deep))
