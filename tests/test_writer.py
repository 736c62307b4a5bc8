"""The one writer of files the user owns: atomic, mode kept, `.bak` only on a change, no stale
temp files, and never over a file that changed since it was read."""

from __future__ import annotations

import ast
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fleetui.config import writer
from fleetui.config.writer import FileChanged, remove_stale_temp_files, write_chunks, write_text

PACKAGE = Path(__file__).resolve().parent.parent / "fleetui"


def temp_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def test_a_write_keeps_the_files_mode_and_the_previous_version(tmp_path: Path) -> None:
    target = tmp_path / "fleet.toml"
    target.write_text("old\n")
    target.chmod(0o644)
    written = write_text(target, "new\n", backup=True)
    assert written.changed and target.read_text() == "new\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o644, "mkstemp's 0600 must not leak onto the file"
    assert (tmp_path / "fleet.toml.bak").read_text() == "old\n"
    assert stat.S_IMODE((tmp_path / "fleet.toml.bak").stat().st_mode) == 0o644
    target.chmod(0o600)
    write_text(target, "newer\n", backup=True)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert (tmp_path / "fleet.toml.bak").read_text() == "new\n"
    assert temp_files(tmp_path) == []


def test_a_linked_file_stays_a_link(tmp_path: Path) -> None:
    real = tmp_path / "dotfiles" / "fleet.toml"
    real.parent.mkdir()
    real.write_text("old\n")
    link = tmp_path / "fleet.toml"
    link.symlink_to(real)
    write_text(link, "new\n", backup=True)
    assert link.is_symlink() and real.read_text() == "new\n"
    assert (real.parent / "fleet.toml.bak").read_text() == "old\n"


def test_a_new_file_gets_the_umask_mode(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        write_text(tmp_path / "out.json", "{}\n")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "out.json").stat().st_mode) == 0o644
    assert not (tmp_path / "out.json.bak").exists()


def test_the_same_content_writes_nothing_and_keeps_the_real_backup(tmp_path: Path) -> None:
    target = tmp_path / "fleet.toml"
    write_text(target, "v1\n")
    write_text(target, "v2\n", backup=True)
    inode, mtime = target.stat().st_ino, target.stat().st_mtime_ns
    again = write_text(target, "v2\n", backup=True)
    assert not again.changed and again.backup is None
    assert (target.stat().st_ino, target.stat().st_mtime_ns) == (inode, mtime)
    assert (tmp_path / "fleet.toml.bak").read_text() == "v1\n", "the previous version is still the real one"
    assert temp_files(tmp_path) == []


def test_a_file_changed_since_it_was_read_is_not_overwritten(tmp_path: Path) -> None:
    target = tmp_path / "fleet.toml"
    target.write_text("what the user has now\n")
    with pytest.raises(FileChanged, match="changed on disk since it was read.*nothing written"):
        write_text(target, "new\n", expect="what was read earlier\n", backup=True)
    assert target.read_text() == "what the user has now\n"
    assert not (tmp_path / "fleet.toml.bak").exists() and temp_files(tmp_path) == []
    target.unlink()
    with pytest.raises(FileChanged, match="removed since it was read"):
        write_text(target, "new\n", expect="what was read earlier\n")
    assert not target.exists()


def test_file_and_folder_are_fsynced_before_and_after_the_rename(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    synced: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        synced.append("folder" if stat.S_ISDIR(os.fstat(fd).st_mode) else "file")
        real_fsync(fd)

    def replace(src: str, dst: str) -> None:
        synced.append(f"rename {Path(dst).name}")
        real_replace(src, dst)

    monkeypatch.setattr(writer.os, "fsync", fsync)
    monkeypatch.setattr(writer.os, "replace", replace)
    (tmp_path / "fleet.toml").write_text("old\n")
    write_text(tmp_path / "fleet.toml", "new\n", backup=True)
    assert synced == ["file", "file", "rename fleet.toml.bak", "rename fleet.toml", "folder"]


def test_a_failed_write_leaves_the_old_file_and_no_temp_file(tmp_path: Path) -> None:
    target = tmp_path / "calls.jsonl"
    target.write_text("old\n")

    def lines() -> object:
        yield "half\n"
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space left"):
        write_chunks(target, lines())  # type: ignore[arg-type]
    assert target.read_text() == "old\n" and temp_files(tmp_path) == []


def test_a_missing_folder_is_said_plainly(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="there is no folder .*nope; create it or write elsewhere"):
        write_text(tmp_path / "nope" / "out.toml", "x")


def test_temp_files_of_dead_writers_are_removed_and_live_ones_kept(tmp_path: Path) -> None:
    target = tmp_path / "fleet.toml"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(dead.stdout)
    leftovers = [f".fleet.toml.{dead_pid}.abc123.tmp", f".fleet.toml.bak.{dead_pid}.x1y2.tmp"]
    live = f".fleet.toml.{os.getppid()}.zzz999.tmp"  # a running process: its write may be in flight
    legacy_old, legacy_new = ".fleet.toml.k3j4h5g6.tmp", ".fleet.toml.q1w2e3r4.tmp"  # before temp files had a pid
    other = f".other.toml.{dead_pid}.abc.tmp"
    for name in [*leftovers, live, legacy_old, legacy_new, other]:
        (tmp_path / name).write_text("partial")
    hour_ago = time.time() - 2 * 3600
    os.utime(tmp_path / legacy_old, (hour_ago, hour_ago))
    write_text(target, "fleet\n")
    assert temp_files(tmp_path) == sorted([live, legacy_new, other])
    assert remove_stale_temp_files(target) == []


KILLED_WRITER = """
import sys
from fleetui.config.writer import write_text
target, version = sys.argv[1], 0
while True:
    version += 1
    write_text(target, (f"version {version}\\n" * 20000) + "end\\n", backup=True)
"""


@pytest.mark.slow
def test_kill_9_during_saves_never_leaves_a_broken_file_and_the_next_save_cleans_up(tmp_path: Path) -> None:
    target = tmp_path / "fleet.toml"
    write_text(target, "version 0\n" * 20000 + "end\n")
    for round_ in range(12):
        process = subprocess.Popen([sys.executable, "-c", KILLED_WRITER, str(target)],
                                   cwd=PACKAGE.parent, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        # Wait until it has written at least once more (no fixed sleep: the machine may be slow).
        start = target.stat().st_mtime_ns
        while target.stat().st_mtime_ns == start and process.poll() is None:
            time.sleep(0.005)
        time.sleep(0.003 * (round_ % 4))
        process.send_signal(signal.SIGKILL)
        assert process.wait() == -signal.SIGKILL, process.stderr.read() if process.stderr else ""
        for path in (target, tmp_path / "fleet.toml.bak"):
            lines = path.read_text().splitlines()
            assert lines[-1] == "end" and len(set(lines[:-1])) == 1, f"{path.name} is one whole version"
        write_text(target, "version 0\n" * 20000 + "end\n")  # the next save removes what the kill left
        assert temp_files(tmp_path) == []


def test_fleetui_has_one_writer_of_user_files() -> None:
    """No other module makes temp files or renames over a file: they all call config/writer.py."""
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        if path == PACKAGE / "config" / "writer.py":
            continue
        if path == PACKAGE / "store" / "spool.py":
            continue  # renames its own spool aside to claim it for draining: no user file, nothing replaced
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr in ("replace", "rename", "mkstemp", "NamedTemporaryFile",
                                                                 "copyfile", "copy2", "fsync"):
                base = node.value.id if isinstance(node.value, ast.Name) else ""
                if base in ("os", "tempfile", "shutil"):
                    offenders.append(f"{path.relative_to(PACKAGE)}:{node.lineno} {base}.{node.attr}")
    assert offenders == []
