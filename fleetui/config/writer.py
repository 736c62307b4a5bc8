"""The one way fleetui writes a file the user owns: the fleet file, its backup, every export.

A write goes to a temporary file in the same folder, is fsynced, renamed over the target and the
folder fsynced, so a crash at any moment leaves either the old file or the new one, never a
mix. The target's permission bits are kept (a 0644 file stays 0644; mkstemp would make it 0600).
When the new content is the same as the file's, nothing is written at all: no rename, no new
`.bak`, so the backup keeps the real previous version. When it differs and a backup is asked
for, the previous content goes to `<name>.bak` the same atomic way first.

`expect` is what the caller read and based its change on: when the file on disk is no longer
that, :class:`FileChanged` is raised and nothing is written, so a save never overwrites text
that it did not read.

Temporary files carry the writer's process id (``.<name>.<pid>.<random>.tmp``); one left by a
process that no longer runs (killed during a save) is removed by the next write to that folder.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import stat
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

# Written by fleetui before temp files carried a pid: removed once they are clearly abandoned.
_LEGACY_AGE_S = 3600


class FileChanged(Exception):
    """The file on disk is not the text the change was based on; nothing was written."""

    def __init__(self, path: Path, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"{path}: {reason}")


@dataclass(frozen=True)
class Written:
    path: Path
    changed: bool  # False: the file already held this content, and nothing was written
    backup: Path | None  # where the previous content went, when it was kept


def read_text(path: Path | str) -> str:
    """The file's text exactly as it is on disk (no newline translation): what `expect` compares."""
    return Path(path).read_bytes().decode("utf-8")


def write_text(path: Path | str, text: str, *, expect: str | None = None, backup: bool = False) -> Written:
    """Write `text` to `path` atomically (see the module doc); `expect` guards against lost edits."""
    return write_chunks(path, [text], expect=expect, backup=backup)


def write_chunks(
    path: Path | str, chunks: Iterable[str], *, expect: str | None = None, backup: bool = False
) -> Written:
    """Write the text of `chunks` (streamed: an export need not fit in memory) atomically."""
    target = Path(path)
    if target.is_symlink():
        # A fleet file linked from a dotfiles repository stays a link: the file it names is replaced.
        target = Path(os.path.realpath(target))
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise FileNotFoundError(2, f"there is no folder {folder}; create it or write elsewhere", str(target))
    remove_stale_temp_files(target)
    previous = _read(target)
    if expect is not None:
        _check_expected(target, previous, expect)
    mode = _mode_of(target)
    digest = hashlib.sha256()
    tmp = _temp_file(target, "tmp")
    try:
        with open(tmp, "w", encoding="utf-8", newline="") as handle:
            for chunk in chunks:
                handle.write(chunk)
                digest.update(chunk.encode("utf-8"))
            handle.flush()
            os.fsync(handle.fileno())
        if previous is not None and hashlib.sha256(previous).digest() == digest.digest():
            tmp.unlink()
            return Written(target, changed=False, backup=None)
        os.chmod(tmp, mode)
        kept = None
        if backup and previous is not None:
            kept = target.with_name(target.name + ".bak")
            _replace_with_bytes(kept, previous, mode)
        if expect is not None:
            _check_expected(target, _read(target), expect)  # as late as possible before the rename
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_folder(folder)
    return Written(target, changed=True, backup=kept)


def _check_expected(target: Path, current: bytes | None, expect: str) -> None:
    if current is None:
        raise FileChanged(target, "the file was removed since it was read; nothing written")
    if current != expect.encode("utf-8"):
        raise FileChanged(
            target, "the file changed on disk since it was read (another editor or command wrote it); "
            "nothing written: reload it and make the change again")


def _read(target: Path) -> bytes | None:
    try:
        return target.read_bytes()
    except FileNotFoundError:
        return None


def _mode_of(target: Path) -> int:
    try:
        return stat.S_IMODE(target.stat().st_mode)
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def _temp_file(target: Path, kind: str) -> Path:
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.{os.getpid()}.", suffix=f".{kind}", dir=target.parent)
    os.close(fd)
    return Path(name)


def _replace_with_bytes(target: Path, content: bytes, mode: int) -> None:
    tmp = _temp_file(target, "tmp")
    try:
        with open(tmp, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _fsync_folder(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return  # not possible on this platform (Windows); the rename is still atomic
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems refuse fsync on a folder; the rename itself is done
    finally:
        os.close(fd)


def remove_stale_temp_files(target: Path) -> list[Path]:
    """Remove the temporary files that earlier writes of `target` (or its backup) left behind."""
    removed: list[Path] = []
    names = (re.escape(target.name), re.escape(target.name + ".bak"))
    pattern = re.compile(rf"^\.(?:{'|'.join(names)})\.(?:(\d+)\.)?[^.]+\.tmp$")
    try:
        entries = list(os.scandir(target.parent if str(target.parent) else "."))
    except OSError:
        return removed
    for entry in entries:
        match = pattern.match(entry.name)
        if not match or not entry.is_file(follow_symlinks=False):
            continue
        pid = match.group(1)
        if pid is not None:
            stale = int(pid) != os.getpid() and not _running(int(pid))
        else:
            try:
                stale = time.time() - entry.stat().st_mtime > _LEGACY_AGE_S
            except OSError:
                stale = False
        if stale:
            with contextlib.suppress(OSError):
                os.unlink(entry.path)
                removed.append(Path(entry.path))
    return removed


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError, OverflowError):
        return True  # someone else's process, or not knowable: leave its file alone
    return True
