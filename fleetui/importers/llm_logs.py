"""simonw/llm's `logs.db`: one call per model call, from both of the schemas llm has written.

- llm ≥ 0.34 logs each model call as a `turns` row over a content-addressed message store
  (`messages` and their `parts`), grouped into `threads`. A turn's own input is the run of
  messages before its `parent_message_hash` back to the previous reply; its output runs from
  there to its `tip_message_hash`.
- llm ≤ 0.33 logs a `responses` row per call, with `prompt_fragments`, `system_fragments`,
  `prompt_attachments`, `tool_calls` and `tool_results` beside it.

A database that llm upgraded holds both; both are read. The conversation (thread) becomes the
session. The prompt keeps what the model was given: fragments expanded in place as llm sends
them, the system prompt ahead of it, attachments and tool results noted after it (see
`common.compose_prompt`). Tool calls the model made are kept by name and arguments.

Text is read as bytes and decoded here, so a row holding invalid UTF-8 or a BLOB is reported by
its rowid instead of stopping the import.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fleetui.importers import Found, ImportFileError, Problem, Row
from fleetui.importers.common import (
    as_dict,
    compose_prompt,
    count,
    number,
    parse_time,
    tool_calls_json,
)
from fleetui.store.records import CallRecord


class BadRow(ValueError):
    pass


def read_llm_logs(path: Path) -> Iterator[Row]:
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        conn.text_factory = bytes
        tables = {name for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
                  if (name := _str(r[0])) is not None}
    except sqlite3.DatabaseError as exc:
        raise ImportFileError(f"not an SQLite database llm wrote ({exc})") from None
    conn.row_factory = sqlite3.Row
    try:
        if "responses" not in tables and "turns" not in tables:
            raise ImportFileError("no `turns` or `responses` table: is this an llm logs.db?")
        store = _Store(conn, tables)
        if "responses" in tables:
            yield from _responses(store)
        if "turns" in tables:
            yield from _turns(store)
    except sqlite3.DatabaseError as exc:  # a damaged file fails where the damage is, not at open
        raise ImportFileError(f"the database cannot be read past this point ({exc}); the calls before it are kept") from None
    finally:
        conn.close()


@dataclass
class _Store:
    conn: sqlite3.Connection
    tables: set[str]
    fragments: dict[int, str] = field(default_factory=dict)

    def has(self, table: str, *columns: str) -> bool:
        if table not in self.tables:
            return False
        known = {_str(r[1]) for r in self.conn.execute(f"PRAGMA table_info({table})")}
        return all(c in known for c in columns)

    def fragment(self, fragment_id: int) -> str:
        if fragment_id not in self.fragments:
            row = self.conn.execute("SELECT content, typeof(content) FROM fragments WHERE id = ?", (fragment_id,)).fetchone()
            if row is None:
                raise BadRow(f"fragment {fragment_id} is missing from `fragments`")
            self.fragments[fragment_id] = _text(row[0], row[1], f"fragment {fragment_id}") or ""
        return self.fragments[fragment_id]

    def attachment_note(self, attachment_id: str) -> str:
        row = self.conn.execute("SELECT type, path, url FROM attachments WHERE id = ?", (attachment_id,)).fetchone() \
            if "attachments" in self.tables else None
        if row is None:
            return "attachment"
        kind, where = _str(row[0]), _str(row[1]) or _str(row[2])
        # A local path is shown by its file name only: where it sat on someone's disk is not the prompt.
        name = Path(where).name if where and row[1] is not None else where
        return " ".join(p for p in ("attachment", kind, name) if p)


# -- llm ≤ 0.33: the responses table ------------------------------------------------------------

def _responses(store: _Store) -> Iterator[Row]:
    optional = [c for c in ("system", "input_tokens", "output_tokens", "token_details", "conversation_id",
                            "resolved_model") if store.has("responses", c)]
    query = ("SELECT rowid, id, model, prompt, typeof(prompt) AS prompt_type, response, typeof(response) AS "
             "response_type, duration_ms, datetime_utc" + "".join(f", {c}" for c in optional)
             + " FROM responses ORDER BY rowid")
    for row in store.conn.execute(query):
        rowid = row["rowid"]
        try:
            yield Found(rowid, _response_call(store, row, optional), "responses row")
        except (BadRow, ValueError, TypeError, OverflowError) as exc:
            yield Problem(rowid, str(exc), "responses row")


def _response_call(store: _Store, row: sqlite3.Row, optional: list[str]) -> CallRecord:
    response_id = _str(row["id"])
    if not response_id:
        raise BadRow("no id")
    prompt = _text(row["prompt"], row["prompt_type"], "prompt")
    system = _text(row["system"], None, "system") if "system" in optional else None
    fragments = _linked_fragments(store, "prompt_fragments", response_id)
    system_fragments = _linked_fragments(store, "system_fragments", response_id)
    notes = [store.attachment_note(_str(a[0]) or "") for a in _linked(
        store, "SELECT attachment_id FROM prompt_attachments WHERE response_id = ? ORDER BY \"order\"",
        "prompt_attachments", response_id)]
    notes += [f"tool result {_str(r[0])}: {_text(r[1], None, 'tool result') or ''}" for r in _linked(
        store, "SELECT name, output FROM tool_results WHERE response_id = ? ORDER BY id", "tool_results", response_id)]
    tools = [(_str(r[0]) or "", _text(r[1], None, "tool arguments")) for r in _linked(
        store, "SELECT name, arguments FROM tool_calls WHERE response_id = ? ORDER BY id", "tool_calls", response_id)]
    model = _str(row["model"])
    user = _join([*fragments, prompt]) if fragments else prompt
    tokens = _tokens(row["input_tokens"] if "input_tokens" in optional else None,
                     row["token_details"] if "token_details" in optional else None)
    return CallRecord(
        call_id=f"llm:{response_id}",
        ts=_when(row["datetime_utc"]),
        source="llm",
        request_model=model,
        response_model=(_str(row["resolved_model"]) if "resolved_model" in optional else None) or model,
        prompt=compose_prompt(user, _join([*system_fragments, system]) if system_fragments else system, notes),
        response=_text(row["response"], row["response_type"], "response"),
        latency_ms=number(row["duration_ms"], "duration_ms"),
        input_tokens=tokens[0],
        output_tokens=count(row["output_tokens"], "output_tokens") if "output_tokens" in optional else None,
        cached_input_tokens=tokens[1],
        session_id=_str(row["conversation_id"]) if "conversation_id" in optional else None,
        tool_calls=tool_calls_json(tools),
        finish_reason="tool_calls" if tools else None,
    )


def _linked(store: _Store, query: str, table: str, response_id: str) -> list[sqlite3.Row]:
    return list(store.conn.execute(query, (response_id,))) if table in store.tables else []


def _linked_fragments(store: _Store, table: str, response_id: str) -> list[str]:
    rows = _linked(store, f"SELECT fragment_id FROM {table} WHERE response_id = ? ORDER BY \"order\"", table, response_id)
    return [store.fragment(int(r[0])) for r in rows]


# -- llm ≥ 0.34: threads, turns, messages, parts ------------------------------------------------

def _turns(store: _Store) -> Iterator[Row]:
    query = ("SELECT rowid, id, thread_id, parent_message_hash, tip_message_hash, model, resolved_model, "
             "input_tokens, output_tokens, token_details, duration_ms, datetime_utc FROM turns ORDER BY rowid")
    for row in store.conn.execute(query):
        rowid = row["rowid"]
        try:
            yield Found(rowid, _turn_call(store, row), "turns row")
        except (BadRow, ValueError, TypeError, OverflowError) as exc:
            yield Problem(rowid, str(exc), "turns row")


@dataclass
class _Message:
    hash: str
    parent: str | None
    role: str
    texts: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    tools: list[tuple[str, Any]] = field(default_factory=list)


def _turn_call(store: _Store, row: sqlite3.Row) -> CallRecord:
    turn_id = _str(row["id"])
    if not turn_id:
        raise BadRow("no id")
    parent, tip = _str(row["parent_message_hash"]), _str(row["tip_message_hash"])
    given: list[_Message] = []  # this turn's own input: back from the parent to the previous reply
    at = parent
    while at is not None and (message := _message(store, at, given)).role != "assistant":
        given.append(message)
        at = message.parent
    given.reverse()
    replies: list[_Message] = []  # this turn's output: back from the tip to the parent
    at = tip
    while at is not None and at != parent:
        message = _message(store, at, replies)
        replies.append(message)
        at = message.parent
    replies.reverse()
    tools = [t for m in replies for t in m.tools]
    model = _str(row["model"])
    tokens = _tokens(row["input_tokens"], row["token_details"])
    return CallRecord(
        call_id=f"llm:{turn_id}",
        ts=_when(row["datetime_utc"]),
        source="llm",
        request_model=model,
        response_model=_str(row["resolved_model"]) or model,
        prompt=compose_prompt(
            _join([t for m in given if m.role == "user" for t in m.texts]),
            _join([t for m in given if m.role == "system" for t in m.texts]),
            [n for m in given for n in m.notes],
        ),
        response=_join([t for m in replies for t in m.texts], "") if replies else None,
        latency_ms=number(row["duration_ms"], "duration_ms"),
        input_tokens=tokens[0],
        output_tokens=count(row["output_tokens"], "output_tokens"),
        cached_input_tokens=tokens[1],
        session_id=_str(row["thread_id"]),
        tool_calls=tool_calls_json(tools),
        finish_reason="tool_calls" if tools else None,
    )


def _message(store: _Store, message_hash: str, walked: list[_Message]) -> _Message:
    if any(m.hash == message_hash for m in walked):
        raise BadRow(f"message {message_hash} is its own ancestor")
    row = store.conn.execute("SELECT parent_hash, role FROM messages WHERE hash = ?", (message_hash,)).fetchone()
    if row is None:
        raise BadRow(f"message {message_hash} is missing from `messages`")
    message = _Message(message_hash, _str(row[0]), _str(row[1]) or "")
    parts = store.conn.execute("SELECT id, type, tool_name, text, typeof(text), payload FROM parts "
                               "WHERE message_hash = ? ORDER BY position", (message_hash,))
    for part_id, kind, tool_name, raw_text, text_type, raw_payload in parts:
        kind = _str(kind)
        where = f"part {part_id}"
        text = _text(raw_text, _str(text_type), f"{where} text")
        payload = _payload(raw_payload, where)
        if kind == "text":
            message.texts.append(text if text is not None else _text_ref(store, payload.get("text_ref"), where))
        elif kind == "tool_call":
            message.tools.append((_str(tool_name) or str(payload.get("name") or ""), payload.get("arguments", {})))
        elif kind == "tool_result":
            output = payload.get("output")
            output = output if isinstance(output, str) else json.dumps(output, ensure_ascii=False)
            message.notes.append(f"tool result {_str(tool_name) or payload.get('name') or ''}: {output}")
        elif kind == "attachment":
            attachment = payload.get("attachment")
            attachment_id = attachment.get("id") if isinstance(attachment, dict) else None
            message.notes.append(store.attachment_note(attachment_id) if isinstance(attachment_id, str) else "attachment")
        # "reasoning" parts are the model's thinking, not its reply: not kept.
    return message


def _text_ref(store: _Store, refs: Any, where: str) -> str:
    """A text part that borrows fragments: its pieces in order, fragments expanded."""
    if not isinstance(refs, list):
        return ""
    pieces = []
    for ref in refs:
        if isinstance(ref, dict) and isinstance(ref.get("literal"), str):
            pieces.append(ref["literal"])
        elif isinstance(ref, dict) and isinstance(ref.get("fragment"), int):
            pieces.append(store.fragment(ref["fragment"]))
        else:
            raise BadRow(f"{where}: unreadable text reference {ref!r}")
    return "".join(pieces)


# -- values ------------------------------------------------------------------------------------

def _str(value: Any) -> str | None:
    """A column that llm fills with identifiers or names; invalid UTF-8 there is replaced, not fatal."""
    if value is None:
        return None
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def _text(value: Any, sql_type: str | bytes | None, what: str) -> str | None:
    """A column holding prompt or response text: must be TEXT and valid UTF-8."""
    if value is None:
        return None
    if isinstance(sql_type, bytes):
        sql_type = sql_type.decode()
    if sql_type == "blob":
        raise BadRow(f"{what} is a BLOB ({len(value)} bytes), not text")
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BadRow(f"{what} is not valid UTF-8 (byte 0x{value[exc.start]:02x} at offset {exc.start})") from None
    return str(value)


def _payload(raw: Any, where: str) -> dict[str, Any]:
    text = _text(raw, None, f"{where} payload")
    if not text:
        return {}
    try:
        payload = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadRow(f"{where} payload is not JSON ({exc.msg})") from None
    return as_dict(payload)


def _when(value: Any) -> float:
    text = _str(value)
    if not text:
        raise BadRow("no datetime_utc")
    return parse_time(text)


def _tokens(input_tokens: Any, raw_details: Any) -> tuple[int | None, int | None]:
    """Input tokens (cached included, as fleetui counts them) and cached input tokens, from llm's
    input_tokens and token_details as its plugins write them: OpenAI's `prompt_tokens_details`
    or `input_tokens_details` count cached tokens inside the input; Anthropic's
    `cache_read_input_tokens` and `cache_creation_input_tokens` are beside it."""
    given = count(input_tokens, "input_tokens")
    text = _str(raw_details)
    try:
        details = json.loads(text) if text else {}
    except json.JSONDecodeError:
        details = {}
    if not isinstance(details, dict):
        return given, None
    inside = details.get("prompt_tokens_details") or details.get("input_tokens_details") or {}
    if isinstance(inside, dict) and inside.get("cached_tokens") is not None:
        return given, count(inside["cached_tokens"], "cached_tokens")
    read = count(details.get("cache_read_input_tokens"), "cache_read_input_tokens")
    written = count(details.get("cache_creation_input_tokens"), "cache_creation_input_tokens")
    if given is None or (read is None and written is None):
        return given, None
    return given + (read or 0) + (written or 0), read


def _join(texts: list[str | None], separator: str = "\n") -> str | None:
    kept = [t for t in texts if t is not None]
    return separator.join(kept) if kept else None
