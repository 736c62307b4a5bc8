"""A change to the fleet file as text: what it was, what it will be, the diff to show, the write.

Commands that change the fleet (apply, ab --end, model) build a :class:`Change`, show its diff,
ask, then :func:`write_change`. The write goes through the one writer and stops when the file
is no longer the text the diff was made from.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path

from fleetui.config.writer import Written, write_text


@dataclass(frozen=True)
class Change:
    path: Path
    old_text: str
    new_text: str
    subject: str  # what the change is about: the rule added or routed, the model changed

    @property
    def diff(self) -> str:
        return text_diff(self.old_text, self.new_text, f"{self.path} (now)", f"{self.path} (after the change)")


def text_diff(old: str, new: str, old_name: str, new_name: str) -> str:
    return "".join(difflib.unified_diff(
        old.splitlines(keepends=True), new.splitlines(keepends=True), fromfile=old_name, tofile=new_name))


def write_change(change: Change) -> Written:
    """Write the change atomically, the previous version kept as `.bak`; raises
    :class:`fleetui.config.writer.FileChanged` (nothing written) when the file moved on."""
    return write_text(change.path, change.new_text, expect=change.old_text, backup=True)
