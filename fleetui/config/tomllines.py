"""Map value paths in a TOML document to the line they are written on.

`tomllib` gives values without positions, and pydantic reports errors by path
(``("models", 3, "capabilities", "coding")``). To tell a user *which line* is wrong we scan the
text once and remember where every table, key and array element starts. The scanner only needs
to be right for documents `tomllib` already accepted, so it can stay small.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

Path = tuple[str | int, ...]

_BARE = re.compile(r"[A-Za-z0-9_-]+")
_WS = " \t"


class LineIndex:
    """Line numbers (1-based) of the paths in one TOML document."""

    def __init__(self, text: str) -> None:
        self._lines: dict[Path, int] = {}
        self._array_counts: dict[Path, int] = {}
        _Scanner(text, self).run()

    def note(self, path: Path, line: int) -> None:
        self._lines.setdefault(path, line)

    def next_index(self, array_path: Path) -> int:
        index = self._array_counts.get(array_path, -1) + 1
        self._array_counts[array_path] = index
        return index

    def current_index(self, array_path: Path) -> int | None:
        return self._array_counts.get(array_path)

    def line_of(self, path: Sequence[str | int]) -> int | None:
        """The line of `path`, or of its nearest written ancestor."""
        probe = tuple(path)
        while probe:
            if probe in self._lines:
                return self._lines[probe]
            probe = probe[:-1]
        return None


class _Scanner:
    def __init__(self, text: str, index: LineIndex) -> None:
        self.text = text
        self.index = index
        self.pos = 0
        self.line = 1
        self.table: Path = ()

    # -- low-level movement ------------------------------------------------------------------

    def peek(self, offset: int = 0) -> str:
        at = self.pos + offset
        return self.text[at] if at < len(self.text) else ""

    def advance(self, count: int = 1) -> None:
        for _ in range(count):
            if self.pos < len(self.text):
                if self.text[self.pos] == "\n":
                    self.line += 1
                self.pos += 1

    def skip_ws(self, newlines: bool = False) -> None:
        while True:
            ch = self.peek()
            if ch and (ch in _WS or (newlines and ch in "\r\n")):
                self.advance()
            elif ch == "#" and newlines:
                self.skip_comment()
            else:
                return

    def skip_comment(self) -> None:
        while self.peek() and self.peek() != "\n":
            self.advance()

    def skip_line(self) -> None:
        self.skip_comment()
        self.advance()

    # -- grammar -----------------------------------------------------------------------------

    def run(self) -> None:
        while self.pos < len(self.text):
            self.skip_ws()
            ch = self.peek()
            if ch in ("\n", "\r"):
                self.advance()
            elif ch == "#":
                self.skip_line()
            elif ch == "[":
                self.header()
            elif ch:
                self.key_value(self.table)
                self.skip_line()

    def read_key(self) -> list[str]:
        parts: list[str] = []
        while True:
            self.skip_ws()
            ch = self.peek()
            if ch in ('"', "'"):
                parts.append(self.read_string())
            else:
                match = _BARE.match(self.text, self.pos)
                if not match:
                    return parts
                parts.append(match.group())
                self.advance(match.end() - self.pos)
            self.skip_ws()
            if self.peek() == ".":
                self.advance()
                continue
            return parts

    def read_string(self) -> str:
        quote = self.peek()
        triple = self.text.startswith(quote * 3, self.pos)
        if triple:
            self.advance(3)
            start = self.pos
            while self.pos < len(self.text) and not self.text.startswith(quote * 3, self.pos):
                self.advance(2 if quote == '"' and self.peek() == "\\" else 1)
            value = self.text[start : self.pos]
            self.advance(3)
            # A closing run may hold up to two extra quotes that belong to the string.
            while self.peek() == quote:
                self.advance()
            return value
        self.advance()
        start = self.pos
        while self.peek() and self.peek() != quote and self.peek() != "\n":
            self.advance(2 if quote == '"' and self.peek() == "\\" else 1)
        value = self.text[start : self.pos]
        self.advance()
        return value

    def resolve(self, keys: list[str]) -> Path:
        """Turn dotted header keys into a path, stepping into the current element of arrays."""
        path: Path = ()
        for key in keys:
            path = (*path, key)
            current = self.index.current_index(path)
            if current is not None:
                path = (*path, current)
        return path

    def header(self) -> None:
        line = self.line
        array = self.text.startswith("[[", self.pos)
        self.advance(2 if array else 1)
        keys = self.read_key()
        if array:
            parent = self.resolve(keys[:-1])
            array_path = (*parent, keys[-1])
            self.index.note(array_path, line)
            element = self.index.next_index(array_path)
            self.table = (*array_path, element)
        else:
            self.table = self.resolve(keys)
        self.index.note(self.table, line)
        self.skip_line()

    def key_value(self, base: Path) -> None:
        line = self.line
        keys = self.read_key()
        if not keys:
            return
        path = base
        for key in keys:
            path = (*path, key)
            self.index.note(path, line)
        self.skip_ws()
        if self.peek() == "=":
            self.advance()
            self.skip_ws()
            self.value(path)

    def value(self, path: Path) -> None:
        ch = self.peek()
        if ch in ('"', "'"):
            self.read_string()
        elif ch == "[":
            self.array(path)
        elif ch == "{":
            self.inline_table(path)
        else:
            while self.peek() and self.peek() not in ",]}\n#":
                self.advance()

    def array(self, path: Path) -> None:
        self.advance()
        element = 0
        while self.pos < len(self.text):
            self.skip_ws(newlines=True)
            if self.peek() == "]":
                self.advance()
                return
            if self.peek() == ",":
                self.advance()
                continue
            if not self.peek():
                return
            self.index.note((*path, element), self.line)
            self.value((*path, element))
            element += 1

    def inline_table(self, path: Path) -> None:
        self.advance()
        while self.pos < len(self.text):
            self.skip_ws(newlines=True)
            if self.peek() == "}":
                self.advance()
                return
            if self.peek() == ",":
                self.advance()
                continue
            if not self.peek():
                return
            before = self.pos
            self.key_value(path)
            if self.pos == before:  # not a key: give up on this table rather than loop
                self.advance()
