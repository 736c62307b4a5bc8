"""Filling a DataTable again without losing the user's place, and fitting its columns to the width.

Every tab refreshes on a timer. Clearing a table puts its cursor on row 0, so a key pressed just
after a refresh (`x` dismiss, `p` apply) would act on another row than the one highlighted: the
cursor follows its row *key* across a refill, and only when that row is gone does it keep its
index (clamped). Columns are sized to their widest cell — a number is never cut — and when the
table is wider than the screen the lowest-priority columns go first; a text column marked
`flex` is the only one shortened, with an ellipsis, to what is left.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from rich.cells import cell_len
from rich.text import Text
from textual.widgets import DataTable
from textual.widgets.data_table import CellDoesNotExist

Cell = str | Text
CELL_PADDING = 2  # DataTable pads each cell by one column on each side
SCROLLBAR = 2  # room for the vertical scrollbar, which shows once the rows outgrow the height
FLEX_MIN = 12  # a flex column narrower than this is dropped rather than shown as "Swi…"


@dataclass(frozen=True)
class Column:
    label: str
    priority: int = 0  # 0 is always shown; the highest number is dropped first when space runs out
    flex: bool = False  # text that may be shortened (with …) instead of dropping a column


@dataclass(frozen=True)
class Row:
    key: str
    cells: Sequence[Cell]


def cursor_key(table: DataTable[Any]) -> str | None:
    """The key of the highlighted row (None when the table is empty)."""
    if table.row_count == 0:
        return None
    try:
        return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
    except CellDoesNotExist:  # the cursor points past the rows while they are being replaced
        return None


def _width(cell: Cell) -> int:
    return cell.cell_len if isinstance(cell, Text) else cell_len(Text.from_markup(cell).plain)


def _clip(cell: Cell, width: int) -> Cell:
    text = cell if isinstance(cell, Text) else Text.from_markup(cell)
    if text.cell_len <= width:
        return cell
    clipped = text.copy()
    clipped.truncate(max(1, width - 1))
    clipped.append("…")
    return clipped


def natural_widths(columns: Sequence[Column], rows: Sequence[Row]) -> list[int]:
    """Each column's widest cell (or its label)."""
    return [max([cell_len(c.label), *(_width(r.cells[i]) for r in rows)]) for i, c in enumerate(columns)]


def fit(columns: Sequence[Column], rows: Sequence[Row], width: int) -> tuple[list[int], int | None]:
    """Which columns (by index) fit in `width`, and the width left for the flex column (None: no
    shortening needed). Columns are dropped from the highest priority number down."""
    natural = natural_widths(columns, rows)
    shown = list(range(len(columns)))
    by_drop_order = sorted((i for i, c in enumerate(columns) if c.priority > 0), key=lambda i: -columns[i].priority)

    def needed(keep: list[int], flex_floor: bool) -> int:
        return sum((FLEX_MIN if flex_floor and columns[i].flex else natural[i]) + CELL_PADDING for i in keep)

    available = max(10, width - SCROLLBAR)
    while needed(shown, flex_floor=True) > available and by_drop_order:
        shown.remove(by_drop_order.pop(0))
    flex = next((i for i in shown if columns[i].flex), None)
    if flex is None or needed(shown, flex_floor=False) <= available:
        return shown, None
    rest = needed([i for i in shown if i != flex], flex_floor=False)
    return shown, max(FLEX_MIN, available - rest - CELL_PADDING)


def refill(table: DataTable[Any], columns: Sequence[Column], rows: Sequence[Row], width: int) -> None:
    """Replace the table's columns and rows, keeping the cursor on the same row key."""
    key, index = cursor_key(table), table.cursor_row
    shown, flex_width = fit(columns, rows, width)
    natural = natural_widths(columns, rows)
    with table.app.batch_update():
        table.clear(columns=True)
        for i in shown:
            # Widths given, not measured later on an idle event: no frame shows cut columns.
            given = flex_width if flex_width is not None and columns[i].flex else natural[i]
            table.add_column(columns[i].label, key=str(i), width=given)
        for row in rows:
            cells = [_clip(row.cells[i], flex_width) if flex_width is not None and columns[i].flex else row.cells[i]
                     for i in shown]
            table.add_row(*cells, key=row.key)
        if table.row_count:
            keys = [r.key for r in rows]
            target = keys.index(key) if key in keys else min(index, table.row_count - 1)
            table.move_cursor(row=target, animate=False)


def table_width(widget: Any) -> int:
    """The width a table in this widget gets: its own once laid out, else the screen's."""
    width = widget.size.width
    return width if width > 0 else widget.app.size.width


def seconds(ms: float | None, digits: int = 1) -> str:
    """A latency in seconds; "—" when none was measured (never 0s)."""
    return "—" if ms is None else f"{ms / 1000:.{digits}f}s"
