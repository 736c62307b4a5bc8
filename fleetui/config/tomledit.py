"""Update a TOML document in place, keeping the comments and layout of what did not change.

:func:`update_toml` takes a file's text and the data it should now hold and returns the old
text edited into the new data: changed values are replaced (a value's own trailing comment
stays), removed keys, tables and array-of-tables entries are deleted, new ones are appended.
Entries of an array of tables (``[[models]]``, ``[[rules]]``) are matched by their ``id`` or
``name`` key, not by position, so removing one keeps the comments of the others.

Comments above a table header belong to that header: tomlkit files them at the end of the
previous table, so they are first moved into the header's own leading text. Deleting a table
then takes its comments with it and nothing else, and appending after a table does not land
below comments meant for whatever followed it.

The module knows nothing about fleets; the caller says what is worth writing for a new key
(``sparse``: the data with default values left out) and what the values are (``data``).
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping, Sequence
from typing import Any

import tomlkit
from tomlkit.container import Container
from tomlkit.items import (
    AoT,
    Array,
    InlineTable,
    Integer,
    Item,
    Key,
    Null,
    String,
    Table,
    Whitespace,
)

_IDENTITY_KEYS = ("id", "name")
# The text between two entries of an array of tables that fleetui writes: one blank line.
_ENTRY_SEPARATOR = "\n"


class TomlEditError(Exception):
    """The document cannot be edited in place (a layout this module does not handle)."""


Notes = Mapping[str, Mapping[str, str]]  # array key → entry id/name → comment above a new entry


def update_toml(
    text: str, data: Mapping[str, Any], sparse: Mapping[str, Any] | None = None, notes: Notes | None = None
) -> str:
    """`text` edited so that it parses to `data`, touching only what differs.

    `data` is every value the document must hold (a key missing from it is deleted).
    `sparse` is what to write for keys the document does not have yet: the same data with
    default values left out, so that saving does not spell out every default. Keys absent from
    both the document and `sparse` are left out. Raises :class:`TomlEditError` (or tomlkit's
    parse error) when the text cannot be edited. `notes` gives new entries of a top-level array
    of tables a comment above their header (``{"rules": {"cheap-casual": "# Added by apply"}}``):
    a new entry lands after the array's last entry, under the comments of its own section.
    """
    sparse = data if sparse is None else sparse
    document = tomlkit.parse(text)
    _hoist(document)
    _merge_table(document, data, sparse, root=True, notes=notes)
    result = document.as_string()
    # A last check that the edit did what it claims, independent of the merge logic above.
    if not _equivalent(tomllib.loads(result), data, sparse):
        raise TomlEditError("the edited document does not hold the new data")
    return result


# -- comparing -------------------------------------------------------------------------------------


def _equivalent(old: Any, new: Any, sparse: Any) -> bool:
    """Whether `old` (from the file) already says `new`; keys the file omits must be defaults.

    `sparse` is `new` without its defaults, or None when all of `new` is default.
    """
    if isinstance(new, Mapping):
        if not isinstance(old, Mapping):
            return False
        wanted = sparse if isinstance(sparse, Mapping) else {}
        if any(key not in new for key in old):
            return False
        return all(
            _equivalent(old[key], value, wanted.get(key)) if key in old else key not in wanted
            for key, value in new.items()
        )
    if isinstance(new, list):
        if not isinstance(old, list) or len(old) != len(new):
            return False
        items = sparse if isinstance(sparse, list) and len(sparse) == len(new) else [None] * len(new)
        return all(_equivalent(o, n, s) for o, n, s in zip(old, new, items, strict=True))
    return _same_scalar(old, new)


def _same_scalar(old: Any, new: Any) -> bool:
    # True == 1 in Python, but not in a TOML file.
    if isinstance(old, bool) or isinstance(new, bool):
        return type(old) is type(new) and old == new
    if isinstance(old, Mapping | list) or isinstance(new, Mapping | list):
        return False
    return bool(old == new)


# -- moving comments to the header they sit above ---------------------------------------------------


def _hoist(container: Container) -> None:
    """Move the comments and blank lines above every table header into that header's indent."""
    body = container.body
    pending: list[int] = []  # trivia since the last key/value or table
    previous: Item | None = None  # the table just before, whose tail runs up to this header
    for index, (key, item) in enumerate(body):
        if key is None:
            if not isinstance(item, Null):
                pending.append(index)
            continue
        target = _header_table(key, item)
        if target is None:
            previous = None
        else:
            lead = (_steal_tail(previous) if previous is not None else "") + _take(body, pending)
            target.trivia.indent = lead + target.trivia.indent
            _hoist_within(item)
            previous = item
        pending = []


def _hoist_within(item: Item) -> None:
    if isinstance(item, AoT):
        for position, table in enumerate(item.body):
            if position > 0:
                table.trivia.indent = _steal_tail(item.body[position - 1]) + table.trivia.indent
            _hoist(table.value)
    elif isinstance(item, Table):
        _hoist(item.value)


def _header_table(key: Key, item: Item) -> Table | None:
    """The table whose header line is the first thing `item` renders, if it renders one."""
    if isinstance(item, AoT):
        return item.body[0] if item.body else None
    if not isinstance(item, Table) or isinstance(item, InlineTable) or key.is_dotted():
        return None
    if not item.is_super_table():
        return item
    # A super table ([a.b] with no [a]) has no header of its own: its first child's is first.
    for child_key, child in item.value.body:
        if child_key is not None:
            return _header_table(child_key, child)
    return None


def _take(body: list[tuple[Key | None, Item]], indices: Sequence[int]) -> str:
    """Remove the trivia at `indices` and return its text."""
    text = "".join(body[i][1].as_string() for i in indices)
    for i in indices:
        # Null keeps the positions tomlkit indexes keys by; it renders as nothing.
        body[i] = (None, Null())
    return text


def _steal_tail(item: Item) -> str:
    """Remove and return the comments and blank lines that end `item` (its last table's)."""
    if isinstance(item, AoT):
        return _steal_tail(item.body[-1]) if item.body else ""
    if not isinstance(item, Table) or isinstance(item, InlineTable):
        return ""
    body = item.value.body
    trailing: list[int] = []
    nested = ""
    for index in range(len(body) - 1, -1, -1):
        key, child = body[index]
        if key is None:
            if not isinstance(child, Null):
                trailing.append(index)
            continue
        if _header_table(key, child) is not None:
            nested = _steal_tail(child)  # the run starts inside the last sub-table
        break
    return nested + _take(body, sorted(trailing))


def _append_tail(item: Item, text: str) -> None:
    """Put `text` back at the end of `item`, inside its last table so it renders last."""
    table = item.body[-1] if isinstance(item, AoT) else item
    if not isinstance(table, Table):
        return
    body = table.value.body
    for key, child in reversed(body):
        if key is None:
            continue
        if _header_table(key, child) is not None:
            _append_tail(child, text)
            return
        break
    body.append((None, Whitespace(text)))


# -- merging -------------------------------------------------------------------------------------


def _merge_table(
    table: Container | Table,
    data: Mapping[str, Any],
    sparse: Mapping[str, Any] | None,
    *,
    root: bool = False,
    notes: Notes | None = None,
) -> None:
    wanted = sparse or {}
    for key in list(table.keys()):
        if key not in data:
            del table[key]
        else:
            _merge_value(table, key, data[key], wanted.get(key), (notes or {}).get(key))
    for key in data:
        if key not in table and key in wanted:
            item = _new_item(wanted[key], root=root)
            if isinstance(item, AoT) and notes and key in notes:
                for entry in item.body:
                    entry.trivia.indent = _note_text(entry.unwrap(), notes[key]) + entry.trivia.indent
            _add(table, key, item)


def _note_text(entry: Mapping[str, Any], notes: Mapping[str, str]) -> str:
    for key in _IDENTITY_KEYS:
        identity = entry.get(key)
        note = notes.get(identity) if isinstance(identity, str) else None
        if note:
            return "".join(f"# {line.removeprefix('#').strip()}\n" for line in note.splitlines() if line.strip())
    return ""


def _add(table: Container | Table, key: str, item: Item) -> None:
    if isinstance(table, Container):
        table.append(key, item)
    else:
        # Table.append indents the new key like the header, and a header's indent now holds
        # the comments above it; raw_append does not.
        table.raw_append(key, item)


def _merge_value(
    table: Container | Table, key: str, new: Any, sparse: Any, notes: Mapping[str, str] | None = None
) -> None:
    old = _container_of(table).item(key)
    if _equivalent(old.unwrap(), new, sparse):
        return
    if not isinstance(old, Item):
        # A table split over several places ([a], then [[b]], then [a.c]): tomlkit gives a
        # proxy that this module does not edit.
        raise TomlEditError(f"{key!r} is split over several places in the file")
    if isinstance(old, Table) and not isinstance(old, InlineTable) and isinstance(new, Mapping):
        _merge_table(old, new, sparse)
    elif isinstance(old, AoT) and _is_table_list(new) and new:
        _merge_entries(old, new, sparse if isinstance(sparse, list) else None, notes)
    elif isinstance(old, AoT) and new == []:
        del table[key]  # an array of tables cannot be empty; no entries is no key
    else:
        table[key] = _replacement(old, _spelled(old.unwrap(), new, sparse))


def _spelled(old: Any, new: Any, sparse: Any) -> Any:
    """`new` as it should be written over `old`: defaults the old value spelled out stay spelled."""
    if isinstance(new, Mapping):
        wanted = sparse if isinstance(sparse, Mapping) else {}
        before = old if isinstance(old, Mapping) else {}
        return {
            key: _spelled(before.get(key), value, wanted.get(key))
            for key, value in new.items()
            if key in wanted or key in before
        }
    if isinstance(new, list):
        befores = old if isinstance(old, list) else []
        sparses = sparse if isinstance(sparse, list) and len(sparse) == len(new) else [None] * len(new)
        return [
            _spelled(befores[i] if i < len(befores) else None, value, sparses[i])
            for i, value in enumerate(new)
        ]
    return new


def _container_of(table: Container | Table) -> Container:
    return table if isinstance(table, Container) else table.value


def _is_table_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(entry, Mapping) for entry in value)


def _merge_entries(
    aot: AoT,
    data: list[Mapping[str, Any]],
    sparse: list[Mapping[str, Any]] | None,
    notes: Mapping[str, str] | None = None,
) -> None:
    """Update an array of tables entry by entry, matched by id/name, in the new order."""
    old_tables = list(aot.body)
    owners = _match([table.unwrap() for table in old_tables], data)
    after = _steal_tail(old_tables[-1])  # the file's end, if this array is last
    # The text above the first entry introduces the whole array; it stays first.
    preamble = old_tables[0].trivia.indent
    tables: list[Table] = []
    for position, (entry, owner) in enumerate(zip(data, owners, strict=True)):
        entry_sparse = sparse[position] if sparse is not None and len(sparse) == len(data) else entry
        if owner is None:
            table = _new_table(entry_sparse)
            lead = _ENTRY_SEPARATOR + (_note_text(entry, notes) if notes else "")
        else:
            table = old_tables[owner]
            _merge_table(table, entry, entry_sparse)
            lead = table.trivia.indent if owner > 0 else _ENTRY_SEPARATOR
        if position == 0:
            # Keep the entry's own comments, below the array's introduction.
            own = lead.lstrip("\n") if owner is not None and owner > 0 else ""
            lead = preamble + own
        table.trivia.indent = lead
        tables.append(table)
    leads = [table.trivia.indent for table in tables]
    del aot[:]
    for table, lead in zip(tables, leads, strict=True):
        aot.append(table)
        table.trivia.indent = lead  # AoT.append may add a newline of its own
    if after:
        _append_tail(aot, after)


def _match(old: list[dict[str, Any]], new: Sequence[Mapping[str, Any]]) -> list[int | None]:
    """For each new entry, the index of the old entry it updates (None: a new entry)."""
    key = _identity_key(old, new)
    owners: list[int | None] = [None] * len(new)
    if key is not None:
        where = {entry[key]: index for index, entry in enumerate(old)}
        owners = [where.get(entry[key]) for entry in new]
    # An unmatched entry in the same place as an unmatched old one is that entry renamed.
    taken = {owner for owner in owners if owner is not None}
    for position, owner in enumerate(owners):
        if owner is None and position < len(old) and position not in taken:
            owners[position] = position
            taken.add(position)
    return owners


def _identity_key(old: Sequence[Mapping[str, Any]], new: Sequence[Mapping[str, Any]]) -> str | None:
    for key in _IDENTITY_KEYS:
        for entries in (old, new):
            values = [entry.get(key) for entry in entries]
            if not all(isinstance(v, str) for v in values) or len(set(values)) != len(values):
                break
        else:
            return key
    return None


# -- new items -----------------------------------------------------------------------------------


def _new_item(value: Any, *, root: bool) -> Item:
    """A value for a new key of a table: sections as tables, lists of tables inline below the top."""
    if isinstance(value, Mapping):
        return _new_table(value)
    if root and _is_table_list(value) and value:
        entries = tomlkit.aot()
        for entry in value:
            entries.append(_new_table(entry))
        return entries
    return _value_item(value, None)


def _new_table(data: Mapping[str, Any]) -> Table:
    table = tomlkit.table()
    # Plain values first: a key after a sub-table's header would belong to the sub-table.
    for key, value in data.items():
        if not isinstance(value, Mapping):
            table.append(key, _value_item(value, None))
    for key, value in data.items():
        if isinstance(value, Mapping):
            table.append(key, _new_table(value))
    return table


def _replacement(old: Item, value: Any) -> Item:
    """A new value for an existing key, written in the old value's style where it can be."""
    if isinstance(value, Mapping) and isinstance(old, Table) and not isinstance(old, InlineTable):
        return _new_table(value)
    if isinstance(old, AoT):
        return _new_item(value, root=True)
    return _value_item(value, old)


def _value_item(value: Any, old: Item | None) -> Item:
    """An inline value (scalar, array or inline table), in the old value's style where it can be.

    The value is written as text and parsed back, so the style is ours, not a tomlkit
    version's: inline tables as ``{ a = 1, b = 2 }``, a multi-line array keeping its indent.
    """
    parsed = tomlkit.parse(f"value = {_inline_text(value, old)}\n").item("value")
    if not isinstance(parsed, Item):  # a one-key document has no split tables
        raise TomlEditError(f"cannot write {value!r}")
    return parsed


def _inline_text(value: Any, old: Item | None) -> str:
    if isinstance(value, Mapping):
        if not value:
            return "{}"
        pairs = ", ".join(f"{_key_text(key)} = {_inline_text(child, None)}" for key, child in value.items())
        return "{ " + pairs + " }"
    if isinstance(value, list):
        entries = [_inline_text(child, None) for child in value]
        indent = _array_indent(old)
        if indent is None or not entries:
            return "[" + ", ".join(entries) + "]"
        return "[\n" + "".join(f"{indent}{entry},\n" for entry in entries) + "]"
    if isinstance(value, str):
        return _string_text(value, old)
    if isinstance(value, float) and value.is_integer() and isinstance(old, Integer) and abs(value) < 2**63:
        value = int(value)  # the file wrote 500; keep writing 750, not 750.0
    return tomlkit.item(value).as_string()


def _key_text(key: str) -> str:
    return tomlkit.key(key).as_string()


def _array_indent(old: Item | None) -> str | None:
    """The indent of a multi-line array's entries (None: the array is on one line)."""
    if not isinstance(old, Array):
        return None
    lines = old.as_string().splitlines()
    if len(lines) < 2:
        return None
    entry = lines[1]
    return entry[: len(entry) - len(entry.lstrip())] or "  "


def _string_text(value: str, old: Item | None) -> str:
    was_literal = isinstance(old, String) and old.as_string().startswith("'")
    # Conditions quote their strings with '"'; a literal string keeps them readable.
    if _literal_safe(value) and (was_literal or (old is None and '"' in value)):
        return f"'{value}'"
    return tomlkit.string(value).as_string()


def _literal_safe(value: str) -> bool:
    return "'" not in value and not any(ord(c) < 0x20 and c != "\t" or ord(c) == 0x7F for c in value)
