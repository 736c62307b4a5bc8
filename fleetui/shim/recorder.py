"""The recorder: callers hand over a record and return; a background thread stores batches.

On the caller's thread `record()` appends to a bounded deque — nothing else, no lock, no I/O —
and drops (counting) when the deque is full rather than ever blocking an app. A daemon thread
wakes every `interval_s`, prices and privacy-filters the batch, and writes it with its rollups
in one transaction. When the database cannot be written (locked for long, read-only, folder
missing, disk full) the batch goes to an append-only JSONL spool beside the database and is
written in at the next good flush. Nothing here ever raises into the app; internal errors go
to `logging`, once a minute at most per kind.
"""

from __future__ import annotations

import atexit
import collections
import dataclasses
import json
import logging
import os
import threading
import time
from pathlib import Path
from typing import Any

from fleetui.store.records import CallRecord

log = logging.getLogger("fleetui.shim")

DROPPED_COUNTER = "shim.dropped"


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
    ) -> None:
        self._db_path = Path(db_path) if db_path else None
        self._fleet_path = Path(fleet_path) if fleet_path else None
        self.source = source or _app_name()
        self.max_queue = max_queue
        self.batch_size = batch_size
        self.interval_s = interval_s
        self._privacy_override = privacy
        self._queue: collections.deque[Any] = collections.deque()
        self._dropped = 0  # counted on caller threads; += on an int is atomic enough under the GIL
        self._dropped_saved = 0
        self._written = 0
        self._thread: threading.Thread | None = None
        self._wake = threading.Event()
        self._idle = threading.Event()
        self._idle.set()
        self._stopping = False
        self._store: Any = None
        self._enricher: Any = None
        self._warned: dict[str, float] = {}
        self._pid = os.getpid()
        self._decisions_pruned = 0.0

    # -- caller side (hot path) ---------------------------------------------------------------

    def record(self, item: Any) -> None:
        """Queue a call, a raw SDK exchange or a marker (feedback…). Never blocks or raises."""
        try:
            if len(self._queue) >= self.max_queue:
                self._dropped += 1
                return
            self._queue.append(item)
            if self._thread is None or self._pid != os.getpid():
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
        """Write everything queued so far; True when it was all written (or spooled) in time."""
        if self._thread is None or not self._thread.is_alive():
            self._drain()
            return not self._queue
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._idle.clear()
            self._wake.set()
            if self._idle.wait(max(0.0, deadline - time.monotonic())) and not self._queue:
                return True
        return not self._queue

    def close(self, timeout: float = 5.0) -> None:
        self.flush(timeout)
        self._stopping = True
        self._wake.set()
        if self._store is not None:
            try:
                self._store.close()
            except Exception:
                pass
            self._store = None

    # -- writer side --------------------------------------------------------------------------

    def _start(self) -> None:
        if self._pid != os.getpid():  # forked: the parent's thread and connection are not ours
            self.__init__(self._db_path, fleet_path=self._fleet_path, source=self.source,  # type: ignore[misc]
                          max_queue=self.max_queue, batch_size=self.batch_size,
                          interval_s=self.interval_s, privacy=self._privacy_override)
        thread = threading.Thread(target=self._run, name="fleetui-recorder", daemon=True)
        self._thread = thread
        thread.start()

    def _run(self) -> None:
        while not self._stopping:
            self._wake.wait(self.interval_s)
            self._wake.clear()
            self._drain()
            self._idle.set()

    def _drain(self) -> None:
        try:
            while self._queue:
                batch = []
                while self._queue and len(batch) < self.batch_size:
                    batch.append(self._queue.popleft())
                self._write(batch)
            if self._dropped != self._dropped_saved:
                self._save_dropped()
        except Exception as exc:  # never let the writer thread die
            self._warn("writer", f"fleetui recorder: unexpected error, records kept in the spool: {exc!r}")

    def _write(self, batch: list[Any]) -> None:
        calls: list[CallRecord] = []
        markers: list[Any] = []
        for item in batch:
            if isinstance(item, CallRecord):
                calls.append(item)
            elif isinstance(item, tuple):
                markers.append(item)
            else:  # a raw SDK exchange: parsed here, off the app's thread
                try:
                    calls.append(item.to_record())
                except Exception as exc:
                    self._warn("parse", f"fleetui recorder: could not read an exchange ({exc!r})")
        markers = [_plain(m) for m in markers]
        enrich = self._enrichment()
        if enrich is not None:
            for call in calls:
                enrich(call)
        store = self._open()
        if store is None:
            self._spool(calls, markers)
            return
        try:
            self._replay_spool(store)
            store.insert_calls(calls)
            self._apply_markers(store, markers)
            self._written += len(calls)
        except Exception as exc:
            self._warn("write", f"fleetui recorder: cannot write to {self.db_path} ({exc}); "
                                f"keeping records in {self.spool_path}")
            self._close_store()
            self._spool(calls, markers)

    def _apply_markers(self, store: Any, markers: list[Any]) -> None:
        decisions = [args[0] for kind, _, args in markers if kind == "decision"]
        if decisions:
            from fleetui.store import decisions as stored

            stored.save_decisions(store, decisions, self.source)
            now = time.time()
            if now - self._decisions_pruned >= 3600:  # the table would grow by a row per request
                self._decisions_pruned = now
                stored.prune_decisions(store, now - stored.KEEP_DAYS * 86400)
        for kind, call_id, args in markers:
            if kind == "feedback":
                store.update_feedback(call_id, *args)
            elif kind == "follow_up":
                store.mark_follow_up(call_id)
            elif kind == "abandoned":
                store.mark_abandoned(call_id)

    def _save_dropped(self) -> None:
        store = self._open()
        if store is None:
            return
        current = self._dropped
        try:
            store.bump_counter(DROPPED_COUNTER, current - self._dropped_saved)
            self._dropped_saved = current
        except Exception as exc:
            self._warn("counter", f"fleetui recorder: cannot save the dropped-record count ({exc})")

    # -- where things go ----------------------------------------------------------------------

    @property
    def db_path(self) -> Path:
        if self._db_path is None:
            from fleetui import locations

            self._db_path = locations.default_db()
        return self._db_path

    @property
    def spool_path(self) -> Path:
        return self.db_path.with_name(self.db_path.name + ".spool.jsonl")

    def _open(self) -> Any:
        if self._store is not None:
            return self._store
        try:
            from fleetui.store import Store

            # Wait for other writers a little, then spool: records are never lost, and a
            # writer stuck behind a lock would let the queue fill and drop.
            self._store = Store.open(self.db_path, busy_timeout_s=2.0, lock_retries=2)
        except Exception as exc:
            self._warn("open", f"fleetui recorder: cannot open {self.db_path} ({exc}); "
                               f"keeping records in {self.spool_path}")
            self._store = None
        return self._store

    def _close_store(self) -> None:
        try:
            if self._store is not None:
                self._store.close()
        except Exception:
            pass
        self._store = None

    def _spool(self, calls: list[CallRecord], markers: list[Any]) -> None:
        lines = [json.dumps({"call": dataclasses.asdict(c)}) for c in calls]
        lines += [json.dumps({"marker": list(m)}) for m in markers]
        if not lines:
            return
        for path in (self.spool_path, _fallback_spool(self.db_path)):
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                with open(path, "a", encoding="utf-8") as handle:
                    handle.write("\n".join(lines) + "\n")
                return
            except OSError as exc:
                self._warn(f"spool:{path}", f"fleetui recorder: cannot spool to {path} ({exc})")
        self._dropped += len(calls)  # nowhere to keep them: counted, as the app was promised

    def _replay_spool(self, store: Any) -> None:
        for path in (self.spool_path, _fallback_spool(self.db_path)):
            if not path.exists():
                continue
            calls: list[CallRecord] = []
            markers: list[Any] = []
            with open(path, encoding="utf-8") as handle:
                for line in handle:
                    try:
                        entry = json.loads(line)
                    except json.JSONDecodeError:
                        continue  # a line cut short by a crash mid-append
                    if "call" in entry:
                        calls.append(CallRecord(**entry["call"]))
                    elif "marker" in entry:
                        kind, call_id, args = entry["marker"]
                        markers.append((kind, call_id, tuple(args)))
            # A crash between insert and unlink would replay rows already stored: skipped.
            stored, _ = store.insert_new_calls(calls)
            self._apply_markers(store, markers)
            self._written += stored
            path.unlink()

    # -- pricing, model ids, privacy ----------------------------------------------------------

    def _enrichment(self) -> Any:
        if self._enricher is None:
            try:
                from fleetui.shim.enrich import Enricher

                self._enricher = Enricher.load(self._fleet_path, self._privacy_override, self.source)
            except Exception as exc:
                self._warn("fleet", f"fleetui recorder: fleet not loaded, calls stored unpriced ({exc})")
                self._enricher = False
        return self._enricher or None

    def _warn(self, kind: str, message: str) -> None:
        now = time.monotonic()
        if now - self._warned.get(kind, -1e9) >= 60:
            self._warned[kind] = now
            log.warning(message)


def _plain(marker: tuple[str, str, tuple[Any, ...]]) -> tuple[str, str, tuple[Any, ...]]:
    """A decision marker as plain data (for the store and the JSON spool): the app's thread only
    queued the RouteDecision and the time, so that logging costs it next to nothing."""
    kind, key, args = marker
    if kind == "decision" and len(args) == 2:
        ts, decision = args
        return kind, key, ({**decision._asdict(), "ts": ts},)
    return marker


def _fallback_spool(db_path: Path) -> Path:
    import hashlib
    import tempfile

    tag = hashlib.sha256(str(db_path.resolve()).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"fleetui-spool-{tag}.jsonl"


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
                atexit.register(_default.flush, 5.0)
    return _default


def configure(**options: Any) -> Recorder:
    """Replace the process's recorder (db_path, fleet_path, source, privacy, max_queue, …)."""
    global _default
    with _default_lock:
        if _default is not None:
            _default.close()
        _default = Recorder(**options)
        atexit.register(_default.flush, 5.0)
    return _default
