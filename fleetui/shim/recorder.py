"""The recorder: callers hand over a record and return; a background thread stores batches.

On the caller's thread `record()` appends to a bounded deque — nothing else, no lock, no I/O —
and drops (counting) when the deque is full rather than ever blocking an app. A daemon thread
wakes every `interval_s`, checks each record's values, prices and privacy-filters the batch,
and writes it with its rollups and counters in one transaction.

When the database cannot be written (locked, read-only, folder or file gone, disk full) the
batch goes at once to the spool beside it (`fleetui.store.spool`) and the database is tried
again with backoff; while anything waits in the spool, new batches queue behind it there so
that feedback never arrives before its call. At interpreter exit whatever the exit flush did not
store is appended to the spool synchronously, unpriced, for the next writer to finish. The
write path imports only the stdlib and raw sqlite3; the fleet file and price catalog load on the
writer thread, never on the exit path. Nothing here ever raises into the app; internal errors go
to `logging`, once a minute at most per kind.
"""

from __future__ import annotations

import atexit
import collections
import logging
import os
import threading
import time
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fleetui.store import spool
from fleetui.store.checks import check_call, check_feedback
from fleetui.store.records import CallRecord

if TYPE_CHECKING:
    from fleetui.shim.enrich import Enricher
    from fleetui.store.store import Store

log = logging.getLogger("fleetui.shim")

DROPPED_COUNTER = "shim.dropped"  # calls the shim could not keep anywhere (queue full, no disk)
REJECTED_COUNTER = "calls.rejected"
UNENRICHED_COUNTER = "calls.unenriched"  # pricing or privacy failed on a call: stored unpriced
_BACKOFF_FIRST_S = 0.1
_BACKOFF_MAX_S = 5.0
_PRUNE_EVERY_S = 3600.0


class Recorder:
    def __init__(
        self,
        db_path: Path | str | None = None,
        *,
        fleet_path: Path | str | None = None,
        source: str | None = None,
        max_queue: int = 10_000,
        batch_size: int = 1_000,
        interval_s: float = 0.2,
        privacy: str | None = None,
        busy_timeout_s: float = 0.05,
        exit_timeout_s: float = 5.0,
    ) -> None:
        self._db_path = Path(db_path) if db_path else None
        self._fleet_path = Path(fleet_path) if fleet_path else None
        self.source = source or _app_name()
        self.max_queue = max_queue
        self.batch_size = batch_size
        self.interval_s = interval_s
        # Short: a writer waiting out another process's lock lets the app's queue fill; the
        # spool takes the batch at once and the database is tried again with backoff.
        self.busy_timeout_s = busy_timeout_s
        self.exit_timeout_s = exit_timeout_s
        self._privacy_override = privacy
        self._reset()

    def _reset(self) -> None:
        """The state of a recorder that has stored nothing yet: at creation, and in a forked
        child, whose copy of the parent's queue, thread and connection are the parent's."""
        self._queue: collections.deque[Any] = collections.deque()
        self._dropped = 0  # counted on caller threads; += on an int is atomic enough under the GIL
        self._dropped_saved = 0
        self._written = 0
        self._tally: Counter[str] = Counter()  # counter deltas not yet in the database
        self._inflight: list[Any] = []  # the batch the writer has taken off the queue
        self._busy = threading.Lock()  # held while a batch is being stored or spooled
        self._thread: threading.Thread | None = None
        self._wake = threading.Event()
        self._idle = threading.Event()
        self._idle.set()
        self._stopping = False
        self._store: Store | None = None
        self._store_id: tuple[int, int] | None = None
        self._retry_at = 0.0
        self._backoff = 0.0
        self._stuck = False  # the last try failed for a reason waiting will not fix (read-only…)
        self._enricher: Any = None
        self._spans: Any = None  # fleetui.otel's exporter, False when the fleet asks for none
        self._other_enrichers: dict[tuple[str | None, str | None], Any] = {}
        self._warned: dict[str, float] = {}
        self._pid = os.getpid()
        self._maintained = 0.0
        self._pruning = False

    # -- caller side (hot path) ---------------------------------------------------------------

    def record(self, item: Any) -> None:
        """Queue a call, a raw SDK exchange or a marker (feedback…). Never blocks or raises."""
        try:
            if self._pid != os.getpid():  # forked: the parent stores what it had queued
                self._reset()
            if len(self._queue) >= self.max_queue:
                self._dropped += 1
                return
            self._queue.append(item)
            if self._thread is None:
                self._start()
        except Exception:  # the app's call must go on whatever happens here
            pass

    @property
    def dropped(self) -> int:
        return self._dropped

    @property
    def written(self) -> int:
        return self._written

    def flush(self, timeout: float = 5.0) -> bool:
        """Store everything queued so far; True when it is all in the database (nothing left
        queued or spooled), False when `timeout` passed or the database cannot be written."""
        return self._flush(timeout, stored=True)

    def _flush(self, timeout: float, *, stored: bool) -> bool:
        """Wait until the queue is in the database (`stored`) or at least out of memory: in the
        database or in the spool, which is all that exit needs."""
        deadline = time.monotonic() + timeout
        if self._pid != os.getpid():
            self._reset()
        while True:
            self._retry_at = 0.0  # a flush tries the database now, whatever the backoff says
            if self._thread is None or not self._thread.is_alive():
                with self._busy:
                    self._cycle()
            else:
                self._idle.clear()
                self._wake.set()
                if not self._idle.wait(max(0.0, deadline - time.monotonic())):
                    return False
            if self._settled() if stored else not (self._queue or self._inflight):
                return True
            if self._stuck or time.monotonic() >= deadline:
                return False
            time.sleep(min(0.05, max(0.0, deadline - time.monotonic())))

    def close(self, timeout: float = 5.0) -> None:
        self.flush(timeout)
        self._stop_and_spool()
        self._close_store()
        self._flush_spans(timeout, close=True)

    def _settled(self) -> bool:
        return not self._queue and not self._inflight and not self._tally and not spool.pending(self.db_path)

    # -- exit -----------------------------------------------------------------------------------

    def _at_exit(self) -> None:
        try:
            if self._queue or self._inflight:
                self._flush(self.exit_timeout_s, stored=False)
        except Exception:
            pass
        self._stop_and_spool()
        self._flush_spans(self.exit_timeout_s)

    def _flush_spans(self, timeout: float, *, close: bool = False) -> None:
        """Send the spans of the last batches (the exporter's thread batches them), waiting at
        most `timeout`: a collector that is down costs the exit that long, never the calls."""
        spans, self._spans = self._spans, (None if close else self._spans)
        if spans:
            try:
                spans.flush(timeout)
                if close:
                    spans.close()
            except Exception as exc:
                self._warn("otel", f"fleetui recorder: could not send the last spans ({exc!r})")

    def _stop_and_spool(self) -> None:
        """Stop the writer and append what is still queued to the spool, synchronously: a fast
        file append, no database, no fleet file, so that the process exits with nothing lost."""
        try:
            self._stopping = True
            self._wake.set()
            mine = self._busy.acquire(timeout=1.0)
            try:
                # A writer stuck in its batch: spool that batch too; the spool's call ids make
                # storing it twice impossible.
                leftovers = [] if mine else list(self._inflight)
                while self._queue:
                    leftovers.append(self._queue.popleft())
                # Priced here only if the fleet is loaded already: loading it is what can take
                # seconds, and the next writer prices these calls as this app would have.
                enrich = bool(self._enricher)
                calls, markers = self._prepare(leftovers, enrich=enrich)
                counts = self._pending_counts() if mine else Counter()
                if calls or markers or counts:
                    if self._spool(calls, markers, enriched=enrich, counts=counts) and mine:
                        self._counts_saved()
            finally:
                if mine:
                    self._busy.release()
            # Let the writer thread end before the interpreter does: a daemon thread still inside
            # sqlite3 when Python finalizes can abort the process ("exception not rethrown").
            thread = self._thread
            if thread is not None and thread is not threading.current_thread() and thread.is_alive():
                self._wake.set()
                thread.join(timeout=2.0)
        except Exception as exc:
            self._warn("exit", f"fleetui recorder: could not spool the calls left at exit ({exc!r})")

    # -- writer side --------------------------------------------------------------------------

    def _start(self) -> None:
        thread = threading.Thread(target=self._run, name="fleetui-recorder", daemon=True)
        self._thread = thread
        thread.start()

    def _run(self) -> None:
        while not self._stopping:
            self._wake.wait(self.interval_s)
            self._wake.clear()
            with self._busy:
                if not self._stopping:
                    self._cycle()
            self._idle.set()

    def _cycle(self) -> None:
        try:
            store = self._usable_store()
            if store is not None and spool.pending(self.db_path):
                store = self._drain_spool(store)
            while self._queue and not self._stopping:
                batch = self._inflight = []
                while self._queue and len(batch) < self.batch_size:
                    batch.append(self._queue.popleft())
                calls, markers = self._prepare(batch)
                store = self._store_batch(store, calls, markers)
                self._inflight = []
            if store is not None:
                self._save_counts(store)
                self._maintain(store)
        except Exception as exc:  # never let the writer thread die
            self._warn("writer", f"fleetui recorder: unexpected error ({exc!r})")
            if self._inflight:
                self._spool(*self._prepare(self._inflight, enrich=False), enriched=False)
                self._inflight = []
            self._close_store()

    def _prepare(self, batch: list[Any], enrich: bool = True) -> tuple[list[CallRecord], list[Any]]:
        """Records out of what the app queued, each checked on its own (and priced)."""
        calls: list[CallRecord] = []
        markers: list[Any] = []
        tally = self._tally
        for item in batch:
            if isinstance(item, CallRecord):
                calls.append(item)
            elif isinstance(item, tuple):
                marker = self._marker(item)
                if marker is not None:
                    markers.append(marker)
            else:  # a raw SDK exchange or tracked call: parsed here, off the app's thread
                try:
                    calls.append(item.to_record())
                except Exception as exc:
                    tally[REJECTED_COUNTER] += 1
                    spool.set_aside(self.db_path, [({"unreadable": type(item).__name__}, f"{type(exc).__name__}: {exc}")])
                    self._warn("parse", f"fleetui recorder: could not read an exchange ({exc!r}); counted as rejected")
        for call in calls:
            check_call(call, tally)
            if call.source == "app":  # as the enricher would: the app's name, not the drainer's
                call.source = self.source
        enricher = self._enrichment() if enrich and calls else None
        if enricher is not None:
            for call in calls:
                try:
                    enricher(call)
                except Exception as exc:  # one call's pricing never costs the others
                    tally[UNENRICHED_COUNTER] += 1
                    self._warn("enrich", f"fleetui recorder: could not price a call ({exc!r}); stored unpriced")
            self._emit_spans(enricher, calls)
        return calls, markers

    def _emit_spans(self, enricher: Enricher, calls: list[CallRecord]) -> None:
        """OpenTelemetry spans of these calls when the fleet's [otel] names an endpoint (fleetui.otel,
        imported here on the writer thread, never on the app's)."""
        if self._spans is None:
            from fleetui.otel import exporter_for

            try:
                self._spans = exporter_for(enricher.fleet, lambda line: self._warn("otel", line)) or False
            except Exception as exc:  # e.g. first needed while the interpreter exits: no imports then
                self._spans = False
                self._warn("otel", f"fleetui recorder: could not start OpenTelemetry ({exc!r}); "
                                   "calls are stored without spans")
        if self._spans:
            try:
                self._spans.emit(calls)
            except Exception as exc:  # spans are a copy: the calls are stored all the same
                self._warn("otel", f"fleetui recorder: could not make spans ({exc!r})")

    def _marker(self, item: tuple[Any, ...]) -> tuple[str, str, tuple[Any, ...]] | None:
        try:
            kind, key, args = item
            if kind == "decision" and len(args) == 2:
                # The app's thread only queued the RouteDecision and the time, so that logging
                # costs it next to nothing; as plain data here for the store and the spool.
                ts, decision = args
                return kind, key, ({**decision._asdict(), "ts": ts},)
            if kind == "feedback":
                score, comment = check_feedback(args[0], args[1] if len(args) > 1 else None, self._tally)
                return (kind, key, (score, comment)) if score is not None else None
            return kind, str(key), tuple(args)
        except Exception as exc:
            self._tally[REJECTED_COUNTER] += 1
            self._warn("marker", f"fleetui recorder: unreadable marker ({exc!r}); counted as rejected")
            return None

    def _store_batch(self, store: Store | None, calls: list[CallRecord], markers: list[Any]) -> Store | None:
        if store is None or spool.pending(self.db_path):
            if not self._spool(calls, markers, enriched=True):
                return store
            return self._drain_spool(store) if store is not None else None
        from fleetui.store.markers import marker_work

        rejects: list[Any] = []
        counts = self._pending_counts()
        try:
            self._written += store.insert_calls(
                calls, counters=counts, checked=True,
                then=marker_work(markers, self.source, rejects) if markers else None,
            )
        except Exception as exc:
            self._failed(exc)
            self._spool(calls, markers, enriched=True)
            return None
        self._counts_saved(counts)
        self._succeeded()
        self._set_aside_markers(store, rejects)
        return store

    def _drain_spool(self, store: Store, budget_s: float = 1.0) -> Store | None:
        """Store spooled lines a chunk at a time, each chunk with its progress in one transaction."""
        from fleetui.store.markers import marker_work

        started = time.monotonic()
        for location in (self.spool_path, spool.fallback_spool_path(self.db_path)):
            if not spool.has_lines(location):
                continue
            with spool.draining(location) as mine:
                if not mine:
                    continue  # another process is draining it
                for path in spool.claim(location):
                    offset = store.counter(spool.OFFSET + path.name)
                    while True:
                        chunk = spool.read_chunk(path, offset, spool_chunk_lines(self.batch_size))
                        calls, markers, counts = self._from_spool(chunk)
                        rejects: list[Any] = []
                        try:
                            stored, _ = store.insert_new_calls(
                                calls, counters=counts, positions={chunk.offset_name: chunk.end}, checked=True,
                                then=marker_work(markers, self.source, rejects) if markers else None,
                            )
                        except Exception as exc:
                            self._failed(exc)
                            return None
                        self._written += stored
                        self._succeeded()
                        self._set_aside_markers(store, rejects)
                        if chunk.torn:
                            spool.set_aside(self.db_path, [({"line": t}, "torn spool line") for t in chunk.torn])
                        offset = chunk.end
                        if chunk.last:
                            spool.finish(path)
                            store.forget_counter(chunk.offset_name)
                            break
                        if self._stopping or time.monotonic() - started > budget_s:
                            return store  # the queue gets its turn; the rest next cycle
        return store

    def _from_spool(self, chunk: spool.Chunk) -> tuple[list[CallRecord], list[Any], Counter[str]]:
        calls: list[CallRecord] = []
        markers: list[Any] = []
        counts: Counter[str] = Counter()
        raw: list[tuple[CallRecord, dict[str, Any]]] = []
        rejects: list[tuple[dict[str, Any], str]] = []
        for entry in chunk.entries:
            try:
                if "call" in entry:
                    record = spool.decode_call(entry["call"])
                    check_call(record, counts)
                    if isinstance(entry.get("raw"), dict):
                        raw.append((record, entry["raw"]))
                    else:
                        calls.append(record)
                elif "marker" in entry:
                    kind, call_id, args = entry["marker"]
                    markers.append((kind, call_id, tuple(args)))
                elif "counters" in entry:
                    counts.update({str(k): int(v) for k, v in entry["counters"].items()})
            except Exception as exc:
                rejects.append((entry, f"{type(exc).__name__}: {exc}"))
        for record, how in raw:
            try:
                enricher = self._enricher_for(how.get("fleet"), how.get("privacy"))
                if enricher is not None:
                    enricher(record)
            except Exception:
                counts[UNENRICHED_COUNTER] += 1
            calls.append(record)
        if rejects:
            spool.set_aside(self.db_path, rejects)
            counts[REJECTED_COUNTER] += len(rejects)
        if chunk.torn:
            counts[spool.TORN] += len(chunk.torn)
        return calls, markers, counts

    def _set_aside_markers(self, store: Store, rejects: list[Any]) -> None:
        if rejects:
            spool.set_aside(self.db_path, [({"marker": list(m)}, reason) for m, reason in rejects])
            try:
                store.bump_counter(REJECTED_COUNTER, len(rejects))
            except Exception:
                self._tally[REJECTED_COUNTER] += len(rejects)

    def _pending_counts(self) -> Counter[str]:
        counts = Counter(self._tally)
        dropped = self._dropped - self._dropped_saved
        if dropped:
            counts[DROPPED_COUNTER] += dropped
        return counts

    def _counts_saved(self, counts: Counter[str] | None = None) -> None:
        counts = self._pending_counts() if counts is None else counts
        self._dropped_saved += counts.get(DROPPED_COUNTER, 0)
        self._tally.subtract({k: v for k, v in counts.items() if k != DROPPED_COUNTER})
        self._tally = Counter({k: v for k, v in self._tally.items() if v})

    def _save_counts(self, store: Store) -> None:
        counts = self._pending_counts()
        if not counts:
            return
        try:
            store.bump_counters(counts)
            self._counts_saved(counts)
        except Exception as exc:
            self._failed(exc)

    def _maintain(self, store: Store) -> None:
        """Hourly: routing decisions older than a month go; calls older than `[store] keep_days`
        go a chunk per cycle (their rollups stay), so the writer is never held up for long."""
        now = time.time()
        if not self._pruning and now - self._maintained < _PRUNE_EVERY_S:
            return
        enricher = self._enricher or None
        keep_days = getattr(getattr(getattr(enricher, "fleet", None), "store", None), "keep_days", None)
        try:
            if not self._pruning:
                from fleetui.store import decisions as stored

                stored.prune_decisions(store, now - stored.KEEP_DAYS * 86400)
            if keep_days:
                chunk = 5_000
                self._pruning = store.prune_calls(now - keep_days * 86400, chunk=chunk, max_chunks=1) == chunk
            self._maintained = now
        except Exception as exc:  # tried again next cycle
            self._pruning = False
            if "locked" not in str(exc):
                self._warn("prune", f"fleetui recorder: could not prune old rows ({exc})")

    # -- where things go ----------------------------------------------------------------------

    @property
    def db_path(self) -> Path:
        if self._db_path is None:
            from fleetui import locations

            self._db_path = locations.default_db()
        return self._db_path

    @property
    def spool_path(self) -> Path:
        return spool.spool_path(self.db_path)

    def _usable_store(self) -> Store | None:
        """The open store, reopened when its file was deleted or replaced (one stat per batch);
        None while backing off after a failure."""
        if time.monotonic() < self._retry_at:
            return None
        path = self.db_path
        if self._store is not None:
            try:
                st = os.stat(path)
                same = (st.st_dev, st.st_ino) == self._store_id
            except OSError:
                same = False
            if not same:
                self._warn("replaced", f"fleetui recorder: {path} was deleted or replaced; opening it again")
                self._close_store()
        if self._store is None:
            try:
                from fleetui.store.store import Store

                store = Store.open(path, busy_timeout_s=self.busy_timeout_s, lock_retries=1)
                st = os.stat(path)
            except Exception as exc:
                self._failed(exc)
                return None
            self._store, self._store_id = store, (st.st_dev, st.st_ino)
        return self._store

    def _succeeded(self) -> None:
        self._stuck = False
        self._backoff = 0.0

    def _failed(self, exc: BaseException) -> None:
        """Spool now, try again later: soon after a lock, later and later while it lasts."""
        import sqlite3

        busy = "locked" in str(exc) or "busy" in str(exc)
        if not busy or not isinstance(exc, sqlite3.Error):
            self._close_store()
        self._stuck = not busy
        self._backoff = min(max(_BACKOFF_FIRST_S, self._backoff * 2), _BACKOFF_MAX_S)
        self._retry_at = time.monotonic() + self._backoff
        self._warn("write", f"fleetui recorder: cannot write to {self.db_path} ({exc}); keeping calls in "
                            f"{self.spool_path} and trying again")

    def _close_store(self) -> None:
        try:
            if self._store is not None:
                self._store.close()
        except Exception:
            pass
        self._store = None
        self._store_id = None

    def _spool(self, calls: list[CallRecord], markers: list[Any], *, enriched: bool,
               counts: Counter[str] | None = None) -> bool:
        raw = None if enriched else {"fleet": str(self._fleet_path) if self._fleet_path else None,
                                     "privacy": self._privacy_override}
        entries = [spool.call_entry(c, raw) for c in calls]
        entries += [{"marker": list(m)} for m in markers]
        if counts:
            entries.append({"counters": dict(counts)})
        if not entries:
            return True
        data = spool.encode(entries)
        for path in (self.spool_path, spool.fallback_spool_path(self.db_path)):
            try:
                spool.append(path, data)
                return True
            except OSError as exc:
                self._warn(f"spool:{path}", f"fleetui recorder: cannot spool to {path} ({exc})")
        self._dropped += len(calls)  # nowhere to keep them: counted, as the app was promised
        return False

    # -- pricing, model ids, privacy ----------------------------------------------------------

    def _enrichment(self) -> Enricher | None:
        if self._enricher is None:
            try:
                from fleetui.shim.enrich import Enricher

                self._enricher = Enricher.load(self._fleet_path, self._privacy_override, self.source)
            except Exception as exc:
                self._warn("fleet", f"fleetui recorder: fleet not loaded, calls stored unpriced ({exc})")
                self._enricher = False
        return self._enricher or None

    def _enricher_for(self, fleet: str | None, privacy: str | None) -> Enricher | None:
        """The enricher another app would have used for calls it spooled unpriced at exit."""
        if fleet == (str(self._fleet_path) if self._fleet_path else None) and privacy == self._privacy_override:
            return self._enrichment()
        key = (fleet, privacy)
        cache = self._other_enrichers
        if key not in cache:
            from fleetui.shim.enrich import Enricher

            try:
                cache[key] = Enricher.load(Path(fleet) if fleet else None, privacy, None)
            except Exception as exc:
                self._warn("fleet", f"fleetui recorder: fleet {fleet} not loaded, spooled calls stored unpriced ({exc})")
                cache[key] = None
        return cache[key]

    def _warn(self, kind: str, message: str) -> None:
        now = time.monotonic()
        if now - self._warned.get(kind, -1e9) >= 60:
            self._warned[kind] = now
            log.warning(message)


def spool_chunk_lines(batch_size: int) -> int:
    return max(1_000, min(5_000, batch_size * 5))


def _app_name() -> str:
    import sys

    argv0 = sys.argv[0] if sys.argv and sys.argv[0] else "python"
    return os.environ.get("FLEETUI_APP") or Path(argv0).stem or "python"


_default: Recorder | None = None
_default_lock = threading.Lock()


def default_recorder() -> Recorder:
    global _default
    if _default is None:
        with _default_lock:
            if _default is None:
                _default = Recorder()
                atexit.register(_default._at_exit)
    return _default


def configure(**options: Any) -> Recorder:
    """Replace the process's recorder (db_path, fleet_path, source, privacy, max_queue, …)."""
    global _default
    with _default_lock:
        if _default is not None:
            _default.close()
        _default = Recorder(**options)
        atexit.register(_default._at_exit)
    return _default
