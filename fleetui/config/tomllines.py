"""Where things sit in a TOML document: the line and column of every key and value, and the
shapes that must be refused before a parser sees them.

`tomllib` gives values without positions, and pydantic reports errors by path
(``("models", 3, "capabilities", "coding")``). To tell a user *where* something is wrong, the
text is scanned once and the offset of every table, key, array element and value is kept.
:class:`LineIndex` only needs to be right for documents `tomllib` accepted; it is iterative, so
no nesting can exhaust the stack.

:func:`shape_problems` runs *before* parsing, on any text at all: `tomllib` recurses once per
nested array or inline table (1,000 levels raise RecursionError) and converts a 5,000-digit
integer with `int()` (which refuses it with a ValueError), so both are stopped here with their
position instead.
"""

from __future__ import annotations

import bisect
import re
import tomllib
from collections.abc import Sequence

Path = tuple[str | int, ...]
Position = tuple[int, int]  # (line, column), both 1-based; the column counts characters

# Deeper than any fleet file needs (models[].capabilities is 2), shallow enough for any parser.
MAX_DEPTH = 32
# An int64 has 19 digits; a longer run of digits is never a value fleetui can use.
MAX_DIGITS = 40

_BARE = re.compile(r"[A-Za-z0-9_-]+")
_WS = re.compile(r"[ \t]*")
_WS_NL = re.compile(r"(?:[ \t\r\n]+|#[^\n]*)*")
_STRING = re.compile(
    r'"""(?:[^"\\]|\\[\s\S]|"(?!""))*"""(?:""?)?'
    r"|'''(?:[^']|'(?!''))*'''(?:''?)?"
    r'|"(?:[^"\\\n]|\\.)*"'
    r"|'[^'\n]*'"
)
_SCALAR = re.compile(r"[^,\]}\n#\r]+")
_DIGITS = re.compile(r"\d[\d_]*")


class Lines:
    """Offsets ↔ (line, column) for one text."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._starts = [0] + [m.end() for m in re.finditer("\n", text)]

    def at(self, offset: int) -> Position:
        offset = max(0, min(offset, len(self.text)))
        index = bisect.bisect_right(self._starts, offset) - 1
        return index + 1, offset - self._starts[index] + 1

    def end(self) -> Position:
        return self.at(len(self.text))


class LineIndex:
    """Positions of the paths in one TOML document that `tomllib` accepted."""

    def __init__(self, text: str) -> None:
        self.lines = Lines(text)
        self._keys: dict[Path, int] = {}
        self._values: dict[Path, int] = {}
        self._array_counts: dict[Path, int] = {}
        _Scanner(text, self).run()

    # -- what the scanner records -------------------------------------------------------------

    def note(self, path: Path, offset: int) -> None:
        self._keys.setdefault(path, offset)

    def note_value(self, path: Path, offset: int) -> None:
        self._values.setdefault(path, offset)

    def next_index(self, array_path: Path) -> int:
        index = self._array_counts.get(array_path, -1) + 1
        self._array_counts[array_path] = index
        return index

    def current_index(self, array_path: Path) -> int | None:
        return self._array_counts.get(array_path)

    # -- what a problem report asks ------------------------------------------------------------

    def position_of(self, path: Sequence[str | int]) -> Position | None:
        """Where `path` is written (its key, or its header), else its nearest written ancestor."""
        probe = tuple(path)
        while probe:
            if probe in self._keys:
                return self.lines.at(self._keys[probe])
            probe = probe[:-1]
        return None

    def value_offset(self, path: Sequence[str | int]) -> int | None:
        """The offset where the value of exactly `path` starts, if it is written as `key = value`."""
        return self._values.get(tuple(path))

    def value_position(self, path: Sequence[str | int]) -> Position | None:
        offset = self.value_offset(path)
        return self.lines.at(offset) if offset is not None else None

    def line_of(self, path: Sequence[str | int]) -> int | None:
        found = self.position_of(path)
        return found[0] if found else None


def _key_text(raw: str) -> str:
    """A quoted key as the parser reads it (escapes decoded)."""
    try:
        return str(tomllib.loads(f"k = {raw}")["k"])
    except (tomllib.TOMLDecodeError, ValueError):
        return raw[1:-1]


class _Scanner:
    def __init__(self, text: str, index: LineIndex) -> None:
        self.text = text
        self.index = index
        self.pos = 0
        self.table: Path = ()

    def skip(self, pattern: re.Pattern[str]) -> None:
        match = pattern.match(self.text, self.pos)
        if match is not None:  # always: the patterns skipped match the empty string too
            self.pos = match.end()

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def skip_line(self) -> None:
        end = self.text.find("\n", self.pos)
        self.pos = len(self.text) if end < 0 else end + 1

    def run(self) -> None:
        while self.pos < len(self.text):
            self.skip(_WS_NL)
            ch = self.peek()
            if not ch:
                return
            before = self.pos
            if ch == "[":
                self.header()
            else:
                path = self.key(self.table)
                if path is not None:
                    self.value(path)
                self.skip_line()
            if self.pos == before:
                self.pos += 1

    def read_key(self) -> list[tuple[str, int]]:
        parts: list[tuple[str, int]] = []
        while True:
            self.skip(_WS)
            start = self.pos
            ch = self.peek()
            if ch in ('"', "'"):
                match = _STRING.match(self.text, self.pos)
                if not match:
                    return parts
                parts.append((_key_text(match.group()), start))
                self.pos = match.end()
            else:
                match = _BARE.match(self.text, self.pos)
                if not match:
                    return parts
                parts.append((match.group(), start))
                self.pos = match.end()
            self.skip(_WS)
            if self.peek() != ".":
                return parts
            self.pos += 1

    def resolve(self, keys: Sequence[tuple[str, int]], *, own_table: bool = True) -> Path:
        """Dotted header keys as a path, stepping into the current element of arrays of tables;
        each step is noted where its key is written (`[a.b]` also places `a`)."""
        path: Path = ()
        for position, (key, offset) in enumerate(keys):
            path = (*path, key)
            if not own_table or position < len(keys) - 1:  # a header's own table is placed at its `[`
                self.index.note(path, offset)
            current = self.index.current_index(path)
            if current is not None:
                path = (*path, current)
        return path

    def header(self) -> None:
        start = self.pos
        array = self.text.startswith("[[", self.pos)
        self.pos += 2 if array else 1
        keys = self.read_key()
        if not keys:
            self.skip_line()
            return
        if array:
            array_path = (*self.resolve(keys[:-1], own_table=False), keys[-1][0])
            self.index.note(array_path, start)
            self.table = (*array_path, self.index.next_index(array_path))
        else:
            self.table = self.resolve(keys)
        self.index.note(self.table, start)
        self.skip_line()

    def key(self, base: Path) -> Path | None:
        """Read `a.b.c =`; note each part; the full path, or None when this is not a key."""
        parts = self.read_key()
        if not parts:
            return None
        path = base
        for name, offset in parts:
            path = (*path, name)
            self.index.note(path, offset)
        self.skip(_WS)
        if self.peek() != "=":
            return None
        self.pos += 1
        self.skip(_WS)
        return path

    def value(self, path: Path) -> None:
        """One value (arrays and inline tables walked with a stack, not recursion)."""
        stack: list[list[object]] = []  # [kind "a" | "t", path, next element index]
        pending: Path | None = path
        while self.pos <= len(self.text):
            before = self.pos
            if pending is not None:
                self.index.note_value(pending, self.pos)
                ch = self.peek()
                if ch == "[":
                    stack.append(["a", pending, 0])
                    self.pos += 1
                elif ch == "{":
                    stack.append(["t", pending, 0])
                    self.pos += 1
                else:
                    match = (_STRING if ch in "\"'" else _SCALAR).match(self.text, self.pos)
                    self.pos = match.end() if match else self.pos
                pending = None
                if not stack:
                    return
                continue
            self.skip(_WS_NL)
            ch = self.peek()
            if not ch:
                return
            kind, owner, element = stack[-1]
            assert isinstance(owner, tuple) and isinstance(element, int)
            if ch in "]}":
                stack.pop()
                self.pos += 1
                if not stack:
                    return
            elif ch == ",":
                self.pos += 1
            elif kind == "a":
                self.index.note((*owner, element), self.pos)
                stack[-1][2] = element + 1
                pending = (*owner, element)
            else:
                pending = self.key(owner)
                if pending is None and self.pos == before:
                    self.pos += 1  # not a key: step over it rather than loop
            if self.pos == before and pending is None:
                self.pos += 1


def shape_problems(text: str) -> list[tuple[int, str]]:
    """(offset, what is wrong; what to do) for nesting deeper than MAX_DEPTH and numbers longer
    than MAX_DIGITS, found without parsing: any text is safe to pass."""
    problems: list[tuple[int, str]] = []
    depth = 0
    pos = 0
    length = len(text)
    token = re.compile(r'"""|\'\'\'|"|\'|#|[\[\]{}]|\d')
    while pos < length:
        match = token.search(text, pos)
        if not match:
            break
        start = match.start()
        found = match.group()
        if found in ('"""', "'''", '"', "'"):
            string = _STRING.match(text, start)
            if string is None:
                # Unclosed: the parser reports it; stop scanning that line as a string.
                end = text.find("\n", start)
                pos = length if end < 0 else end + 1
            else:
                pos = string.end()
        elif found == "#":
            end = text.find("\n", start)
            pos = length if end < 0 else end + 1
        elif found in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                problems.append((start, f"nested more than {MAX_DEPTH} levels deep; a fleet file needs "
                                        "at most a few levels: flatten this value"))
                return problems
            pos = start + 1
        elif found in "]}":
            depth = max(0, depth - 1)
            pos = start + 1
        else:
            digits = _DIGITS.match(text, start)
            assert digits is not None
            if sum(c.isdigit() for c in digits.group()) > MAX_DIGITS:
                problems.append((start, f"a number of {len(digits.group()):,} digits; numbers in a fleet file "
                                        "fit in 64 bits (at most 19 digits): use a smaller value"))
                if len(problems) >= 20:
                    return problems
            pos = digits.end()
    return problems
