"""Three-way merge of the fleet file's text, so that comments and layout survive a pull.

`git merge-file` does the merge (the same line merge git does for a `git pull`), on text in
temporary files; fleetui never writes conflict markers into the user's file. A conflict is
reported with the line of the user's file it starts at and the table it is in, and the merged
text is checked as a whole fleet before anyone writes it.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from fleetui.config.schema import Fleet
from fleetui.sync import SyncError


class Prefer(StrEnum):
    """How to settle lines both sides changed: stop (the default), or keep one side's lines."""

    NONE = "none"
    OURS = "ours"
    THEIRS = "theirs"


@dataclass(frozen=True, slots=True)
class Conflict:
    line: int  # first line of the conflicting region in the user's file (1-based)
    table: str  # the TOML table it is in, e.g. "[[rules]] casual-to-local", or "top of the file"


@dataclass(frozen=True, slots=True)
class MergeResult:
    text: str | None  # the merged text; None when there are conflicts
    conflicts: tuple[Conflict, ...]


_HEADER = re.compile(r"^\s*(\[\[?[^\]]+\]\]?)")
_NAME = re.compile(r"""^\s*(?:id|name)\s*=\s*["']([^"']+)["']""")


def merge_text(ours: str, base: str, theirs: str, *, prefer: Prefer = Prefer.NONE) -> MergeResult:
    """Merge `theirs` into `ours`, both descended from `base`."""
    if ours == theirs or theirs == base:
        return MergeResult(ours, ())
    if ours == base:
        return MergeResult(theirs, ())
    with tempfile.TemporaryDirectory(prefix="fleetui-merge-") as folder:
        paths = []
        for name, text in (("ours", ours), ("base", base), ("theirs", theirs)):
            path = Path(folder) / name
            path.write_text(text, encoding="utf-8")
            paths.append(str(path))
        flags = [] if prefer is Prefer.NONE else [f"--{prefer.value}"]
        try:
            done = subprocess.run(
                ["git", "merge-file", "-p", *flags, "-L", "yours", "-L", "base", "-L", "theirs", *paths],
                capture_output=True, check=False,
            )
        except FileNotFoundError:
            raise SyncError("git is not installed or not on PATH; install git to merge fleet files") from None
    if done.returncode < 0 or done.returncode > 127:
        raise SyncError(f"git merge-file failed: {done.stderr.decode(errors='replace').strip()}")
    merged = done.stdout.decode("utf-8")
    if done.returncode == 0:
        return MergeResult(merged, ())
    return MergeResult(None, tuple(_conflicts(merged, ours)))


def _conflicts(merged: str, ours: str) -> list[Conflict]:
    """Where each conflict starts in the user's own file. The merged text holds the user's lines
    in order, with the other side's clean changes between them: walk both, moving on in the
    user's file only where the merged line is the user's next one."""
    lines = ours.splitlines()
    starts: list[int] = []
    position, side = 0, "common"
    for text in merged.splitlines():
        if text.startswith("<<<<<<< "):
            side = "ours"
            starts.append(position + 1)
        elif text.startswith("======="):
            side = "theirs"
        elif text.startswith(">>>>>>> "):
            side = "common"
        elif side != "theirs" and position < len(lines) and lines[position] == text:
            position += 1
    return [Conflict(line, _table_at(lines, line)) for line in starts]


def _table_at(lines: list[str], line: int) -> str:
    for index in range(min(line, len(lines)) - 1, -1, -1):
        header = _HEADER.match(lines[index])
        if header:
            for following in lines[index + 1:]:
                if _HEADER.match(following):
                    break
                name = _NAME.match(following)
                if name:
                    return f"{header.group(1)} {name.group(1)}"
            return header.group(1)
    return "top of the file"


def read_fleet_file(fleet_file: Path) -> tuple[str, Fleet]:
    """The fleet file's text and its fleet; a SyncError when it cannot be read or is invalid."""
    from fleetui.config.fleetfile import FleetFileError, parse_fleet

    try:
        text = fleet_file.read_text(encoding="utf-8")
        return text, parse_fleet(text, fleet_file)
    except OSError as exc:
        raise SyncError(f"{fleet_file}: cannot read the fleet file ({exc.strerror or exc})") from None
    except FleetFileError as exc:
        raise SyncError(f"fix the fleet file before syncing it: {_first_problem(exc)}") from None


def merge_fleet(
    fleet_file: Path, ours: str, base: str | None, theirs: str | None, *, prefer: Prefer, where: str,
) -> tuple[str, Fleet]:
    """`theirs` (from `where`, e.g. "origin/main") merged into the user's text, checked as a whole
    fleet; a SyncError that says where on a conflict or when the result would not be valid.

    `base` is the last version both sides shared; None when there is none yet (a first pull),
    and then the sample fleet stands in, since `fleetui init` starts every fleet from it: a
    fleet file nobody changed since takes the teammate's whole, and edits on both sides to
    different parts of the sample still merge. `theirs` None: they have no fleet file to give.
    """
    from fleetui import locations
    from fleetui.config.fleetfile import FleetFileError, parse_fleet

    if theirs is None:
        return ours, parse_fleet(ours, fleet_file)
    if base is None:
        base = locations.sample_fleet_file().read_text(encoding="utf-8")
    merged = merge_text(ours, base, theirs, prefer=prefer)
    if merged.text is None:
        raise SyncError(conflict_message(fleet_file, merged.conflicts, where))
    try:
        return merged.text, parse_fleet(merged.text, fleet_file)
    except FleetFileError as exc:
        raise SyncError(f"merging {where} would make the fleet file invalid ({_first_problem(exc)}); "
                        "nothing was written") from None


def _first_problem(exc: Exception) -> str:
    lines = str(exc).splitlines()
    return lines[1].strip() if len(lines) > 1 else lines[0]


def write_merged(fleet_file: Path, read: str, merged: str) -> bool:
    """Replace the fleet file by the merged text, atomically and keeping `.bak` (the one writer,
    fleetui.config.writer), only if it still holds what the merge read. True when the file changed."""
    from fleetui.config.change import Change, write_change
    from fleetui.config.writer import FileChanged

    if merged == read:
        return False
    try:
        write_change(Change(fleet_file, read, merged, "sync"))
    except FileChanged:
        raise SyncError(f"{fleet_file} changed while syncing; nothing was written, run the sync again") from None
    except OSError as exc:
        raise SyncError(f"{fleet_file}: cannot write the merged fleet file ({exc.strerror or exc}); it is unchanged") from None
    return True


def conflict_message(file: Path, conflicts: tuple[Conflict, ...], theirs: str) -> str:
    """One line per conflict, then what to do."""
    where = "; ".join(f"{file}:{c.line} in {c.table}" for c in conflicts)
    count = len(conflicts)
    return (f"{count} conflict{'s' if count != 1 else ''} with {theirs}: you and they changed the same lines "
            f"({where}); nothing was written. Make those lines agree, or run again with --prefer ours "
            f"or --prefer theirs")
