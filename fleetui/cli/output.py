"""How the CLI prints tables: Rich tables that fit the terminal (80 columns or more).

A table that is too wide first shortens its text columns (with "…") down to their header, then
drops whole columns, least important first. A number is never cut: a numeric column is shown
whole or not at all. Rich comes with Textual; this module never imports Textual.
"""

from __future__ import annotations

import io
import shutil
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass

GAP = 2  # spaces between columns
TEXT_MIN = 8  # a text column is not shortened below this (or its header, if longer)
SOFT_MIN = 14  # ...nor a droppable one below this while another can still be dropped
WRAP_MIN = 24  # a wrapping column keeps at least this much room


@dataclass(frozen=True)
class Column:
    header: str
    numeric: bool = False  # right-aligned; shown whole or dropped, never cut
    drop: int = 0  # 0: always kept; higher is dropped sooner when the table does not fit
    max_width: int | None = None  # a text column's widest, even when there is room
    wrap: bool = False  # wrap at spaces onto more lines instead of shortening with "…"


def plural(n: int, word: str, many: str | None = None) -> str:
    """ "1 call", "2 calls", "1,234 calls"."""
    return f"{n:,} {word if n == 1 else (many or word + 's')}"


def terminal_width() -> int:
    """The terminal's width ($COLUMNS first, as shutil reads it); 80 when not a terminal."""
    return max(40, shutil.get_terminal_size((80, 24)).columns)


def _layout(columns: Sequence[Column], rows: Sequence[Sequence[str]], width: int) -> list[tuple[int, int]]:
    """(column index, width) of the columns shown, in their order.

    While a column can still be dropped, kept columns (drop=0) keep their whole text and the
    others shorten to SOFT_MIN at most; once only kept columns are left, text shortens down to
    TEXT_MIN (or its header)."""
    natural = [max([len(c.header), *(len(r[i]) for r in rows)]) for i, c in enumerate(columns)]
    natural = [min(w, c.max_width) if c.max_width and not c.numeric else w for w, c in zip(natural, columns)]
    shown = list(range(len(columns)))
    while True:
        droppable = [i for i in shown if columns[i].drop > 0]

        def floor(i: int, can_drop: bool = bool(droppable)) -> int:
            if columns[i].wrap:  # wraps onto more lines rather than pushing other columns out
                return min(natural[i], max(WRAP_MIN, len(columns[i].header)))
            hard = max(TEXT_MIN, len(columns[i].header))
            soft = natural[i] if columns[i].drop == 0 else max(SOFT_MIN, len(columns[i].header))
            return min(natural[i], soft if can_drop else hard)

        widths = {i: natural[i] for i in shown}
        over = sum(widths.values()) + GAP * (len(shown) - 1) - width
        floors = {i: floor(i) for i in shown if not columns[i].numeric}
        # Shorten text one character at a time from the widest, so long names and long role
        # lists give up room evenly.
        while over > 0:
            shrinkable = [i for i in floors if widths[i] > floors[i]]
            if not shrinkable:
                break
            widths[max(shrinkable, key=lambda i: (widths[i], -i))] -= 1
            over -= 1
        if over <= 0 or not droppable:
            return [(i, widths[i]) for i in shown]
        shown.remove(max(droppable, key=lambda i: (columns[i].drop, i)))


def render_table(columns: Sequence[Column], rows: Sequence[Sequence[str]], *, width: int | None = None,
                 indent: int = 0) -> str:
    # Rich loads here, not at import: `plural` and `say` are used by commands that print no table,
    # and `fleetui --help` imports every command module.
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    width = (terminal_width() if width is None else width) - indent
    layout = _layout(columns, rows, width)
    table = Table(box=None, padding=(0, GAP // 2), pad_edge=False, show_edge=False, header_style="bold",
                  expand=False)
    for i, w in layout:
        c = columns[i]
        # "fold" never happens to a number: it gets its full width.
        table.add_column(c.header, justify="right" if c.numeric else "left", width=w, no_wrap=not c.wrap,
                         overflow="fold" if c.numeric or c.wrap else "ellipsis")
    for row in rows:
        table.add_row(*(Text(row[i], justify="right" if columns[i].numeric else "left") for i, _ in layout))
    buffer = io.StringIO()
    total = sum(w for _, w in layout) + GAP * (len(layout) - 1)
    Console(file=buffer, width=max(total, 1), color_system=None, legacy_windows=False, soft_wrap=False,
            emoji=False, highlight=False).print(table)
    pad = " " * indent
    return "\n".join(pad + line.rstrip() for line in buffer.getvalue().splitlines())


def print_table(columns: Sequence[Column], rows: Sequence[Sequence[str]], *, indent: int = 0) -> None:
    print(render_table(columns, rows, indent=indent))


def say(text: str, *, indent: int = 0, hang: int = 0) -> None:
    """A sentence wrapped to the terminal at word boundaries (a number is never split)."""
    width = terminal_width()
    print(textwrap.fill(text, width, initial_indent=" " * indent, subsequent_indent=" " * (indent + hang),
                        break_long_words=False, break_on_hyphens=False))


def shorten(text: str, width: int) -> str:
    """Text cut to `width` characters with "…" (for quotes such as example prompts)."""
    return text if len(text) <= width else text[: max(0, width - 1)] + "…"
