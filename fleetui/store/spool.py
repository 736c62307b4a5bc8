"""The spool: calls kept in a JSONL file beside the database while it cannot be written.

Any process appends; one process at a time drains. The protocol, so that nothing is lost,
inserted twice, or deleted by another process:

- An append takes an exclusive `flock` on the spool file, checks that the path still names the
  file it opened (a drainer may have just renamed it), ends a line left torn by a killed writer
  with a newline so that only the torn record is lost, and writes its lines in one `write`.
- A drainer takes `<spool>.lock` (non-blocking: if another process drains, it writes its own
  batches and leaves the spool alone), renames the spool to `<spool>.draining-<token>` under the
  append lock, and reads it a chunk at a time. How far it got is stored in the database in the
  same transaction as the chunk's calls (`spool.offset.<token>`), so a crash mid-drain resumes
  where the last commit left it, and no batch ever re-reads the whole file.
- A line that does not parse (torn by kill -9) and a record the database refuses are set aside
  in `<db>.rejected.jsonl` with the reason, and counted; they never block the lines after them.

Plain stdlib only: this is on the shim's write path and its exit path.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fleetui.store.records import CALL_COLUMNS, CallRecord

if sys.platform == "win32":  # no flock: one process per spool is then the rule
    fcntl = None
else:
    import fcntl

log = logging.getLogger("fleetui.store")

OFFSET = "spool.offset."  # + draining file name: bytes of it already stored
TORN = "spool.torn_lines"  # lines cut short by a crash, set aside
_DRAINING = ".draining-"
_KNOWN = set(CALL_COLUMNS)


def spool_path(db_path: Path) -> Path:
    return db_path.with_name(db_path.name + ".spool.jsonl")


def fallback_spool_path(db_path: Path) -> Path:
    """Where calls go when the database's folder cannot be written either."""
    import hashlib
    import tempfile

    tag = hashlib.sha256(str(db_path.resolve()).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"fleetui-spool-{tag}.jsonl"


def rejected_path(db_path: Path) -> Path:
    return db_path.with_name(db_path.name + ".rejected.jsonl")


def spool_files(db_path: Path) -> list[Path]:
    """Every file holding spooled lines for this database, oldest first within a location."""
    found: list[Path] = []
    for spool in (spool_path(db_path), fallback_spool_path(db_path)):
        found += _draining_files(spool)
        if _size(spool):
            found.append(spool)
    return found


def has_lines(spool: Path) -> bool:
    """Whether this spool location (the live file or one being drained) holds anything."""
    return bool(_size(spool) or _draining_files(spool))


def pending(db_path: Path) -> bool:
    """Whether anything waits in a spool (a few stats and two small directory listings)."""
    return bool(spool_files(db_path))


# -- entries ----------------------------------------------------------------------------------


def call_entry(record: CallRecord, raw: dict[str, Any] | None = None) -> dict[str, Any]:
    """A spool line for a call. `raw`: not priced or privacy-filtered yet, with what the writer
    that stores it needs to do so as the recording app would have ({"fleet", "privacy"})."""
    entry: dict[str, Any] = {"call": {name: getattr(record, name) for name in CALL_COLUMNS}}
    if raw is not None:
        entry["raw"] = raw
    return entry


def encode(entries: list[dict[str, Any]]) -> bytes:
    """JSON lines, ASCII only (a lone surrogate is escaped, not an encoding error)."""
    return "".join(json.dumps(e, default=_jsonable) + "\n" for e in entries).encode("ascii")


def _jsonable(value: Any) -> Any:
    # Decimal, numpy numbers and the like: kept as the number they are (the value checks run
    # again when the line is stored), anything else as its text.
    for convert in (int, float):
        try:
            if convert is int and not hasattr(value, "__index__"):
                continue
            return convert(value)
        except (TypeError, ValueError, OverflowError, ArithmeticError):
            continue
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    return str(value)


def decode_call(data: dict[str, Any]) -> CallRecord:
    """A spooled call; fields a newer fleetui added are left out rather than refused."""
    return CallRecord(**{k: v for k, v in data.items() if k in _KNOWN})


# -- appending --------------------------------------------------------------------------------


def append(path: Path, data: bytes) -> None:
    """Append whole lines to a spool file under its lock; OSError when it cannot be written."""
    if not data:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX)
            opened = os.fstat(fd)
            try:
                current = os.stat(path)
            except FileNotFoundError:
                current = None
            if current is None or (current.st_ino, current.st_dev) != (opened.st_ino, opened.st_dev):
                continue  # renamed by a drainer while we waited for the lock: open the new one
            out = data
            if opened.st_size and os.pread(fd, 1, opened.st_size - 1) != b"\n":
                out = b"\n" + data  # a line torn by a killed writer ends here, alone
            written = 0
            while written < len(out):
                written += os.write(fd, out[written:])
            return
        finally:
            os.close(fd)


def set_aside(db_path: Path, items: list[tuple[dict[str, Any], str]]) -> None:
    """Keep records the store cannot take, with why, in `<db>.rejected.jsonl` (never raises)."""
    if not items:
        return
    now = time.time()
    lines = [{"ts": now, "reason": reason, **entry} for entry, reason in items]
    for path in (rejected_path(db_path), fallback_spool_path(db_path).with_suffix(".rejected.jsonl")):
        try:
            append(path, encode(lines))
            return
        except (OSError, UnicodeError, ValueError) as exc:
            log.warning("fleetui: cannot set %d rejected records aside in %s (%s)", len(items), path, exc)


# -- draining ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Chunk:
    """Lines of one draining file, from `start` to `end` (bytes)."""

    path: Path
    start: int
    end: int
    entries: list[dict[str, Any]]
    torn: list[str]  # lines that did not parse, as text
    last: bool  # the file ends at `end`

    @property
    def offset_name(self) -> str:
        return OFFSET + self.path.name


@contextmanager
def draining(spool: Path) -> Iterator[bool]:
    """Hold the right to drain `spool`; yields False when another process holds it."""
    if fcntl is None:
        yield True
        return
    try:
        spool.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(spool.with_name(spool.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
    except OSError:
        yield False
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            yield False
            return
        yield True
    finally:
        os.close(fd)  # releases the lock


def claim(spool: Path) -> list[Path]:
    """The draining files to read, oldest first; the live spool becomes one when it has lines.
    Call only while holding `draining(spool)`."""
    if _size(spool):
        token = f"{time.time_ns()}-{os.getpid()}"
        target = spool.with_name(spool.name + _DRAINING + token)
        try:
            fd = os.open(spool, os.O_WRONLY | os.O_APPEND)
            try:
                if fcntl is not None:
                    fcntl.flock(fd, fcntl.LOCK_EX)  # no append is half-way through the rename
                os.rename(spool, target)
            finally:
                os.close(fd)
        except OSError as exc:
            log.warning("fleetui: cannot take the spool %s to drain it (%s)", spool, exc)
    return _draining_files(spool)


def read_chunk(path: Path, start: int, max_lines: int) -> Chunk:
    """Up to `max_lines` lines of a draining file from byte `start`."""
    entries: list[dict[str, Any]] = []
    torn: list[str] = []
    end = start
    with open(path, "rb") as handle:
        handle.seek(start)
        for _ in range(max_lines):
            line = handle.readline()
            if not line:
                break
            end += len(line)
            text = line.decode("utf-8", "replace").strip()
            if not text:
                continue
            try:
                entry = json.loads(text)
                if not isinstance(entry, dict):
                    raise ValueError("not an object")
                entries.append(entry)
            except ValueError:
                torn.append(text)  # cut short by a crash mid-append (or edited by hand)
        last = not handle.readline()
    return Chunk(path, start, end, entries, torn, last)


def finish(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass


def _draining_files(spool: Path) -> list[Path]:
    try:
        names = [n for n in os.listdir(spool.parent) if n.startswith(spool.name + _DRAINING) and not n.endswith(".lock")]
    except OSError:
        return []
    return sorted((spool.parent / n for n in names), key=lambda p: p.name)


def _size(path: Path) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return 0


def oldest_age_s(db_path: Path, now: float | None = None) -> float | None:
    """How long the oldest spooled call has waited, in seconds (None when the spool is empty):
    from its own time when the first line says it, else from when its file was written."""
    files = spool_files(db_path)
    if not files:
        return None
    now = time.time() if now is None else now
    try:
        with open(files[0], "rb") as handle:
            first = json.loads(handle.readline() or b"{}")
        ts = float(first["call"]["ts"])
        return max(0.0, now - ts)
    except (OSError, ValueError, KeyError, TypeError):
        pass
    try:
        return max(0.0, now - min(os.stat(p).st_mtime for p in files))
    except OSError:
        return None


def count_lines(paths: list[Path]) -> int:
    total = 0
    for path in paths:
        try:
            with open(path, "rb") as handle:
                while block := handle.read(1 << 20):
                    total += block.count(b"\n")
        except OSError:
            continue
    return total
