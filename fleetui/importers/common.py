"""Pieces every importer shares: times, counts, the prompt's layout, tool calls as fleetui keeps them."""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from fleetui.importers import Found, Problem
from fleetui.store.records import CallRecord

# Finish reasons as the shim records them (OpenAI's words; Anthropic's mapped onto them).
FINISH = {"stop": "stop", "length": "length", "tool_calls": "tool_calls", "content_filter": "content_filter",
          "end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length", "tool_use": "tool_calls",
          "refusal": "refusal", "function_call": "tool_calls"}


def as_dict(value: Any, default: dict[str, Any] | None = None) -> dict[str, Any]:
    """`value` when a log's field is the JSON object it should be, else `default` (or {})."""
    if isinstance(value, dict):
        return value
    return {} if default is None else default


def parse_time(value: Any) -> float:
    """Unix seconds from a number or an ISO 8601 time (naive times are UTC, as the tools write them)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        text = value.strip().replace("Z", "+00:00")
        if text.endswith(("+00", "-00")):  # PostgreSQL's short offset, in database exports
            text += ":00"
        try:
            when = dt.datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(f"{value!r} is not a time (ISO 8601, or seconds since 1970)") from None
        return (when if when.tzinfo else when.replace(tzinfo=dt.UTC)).timestamp()
    raise ValueError(f"not a time: {value!r}")


def count(value: Any, name: str) -> int | None:
    """A token count from JSON or CSV: None when absent, ValueError when it is not a whole number."""
    if value is None or value == "":
        return None
    given = value
    if isinstance(value, str):
        try:
            value = float(value) if any(c in value for c in ".eEnN") else int(value)
        except ValueError:
            raise ValueError(f"{name} {given!r} is not a whole number") from None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{name} {given!r} is not a whole number")
    if isinstance(value, float):
        if not math.isfinite(value) or not value.is_integer():
            raise ValueError(f"{name} {given!r} is not a whole number")
        value = int(value)
    return value


def number(value: Any, name: str) -> float | None:
    """A float from JSON or CSV: None when absent; NaN and infinities pass (the checks name them)."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError(f"{name} {value!r} is not a number")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} {value!r} is not a number") from None


def compose_prompt(user: str | None, system: str | None = None, notes: Sequence[str] = ()) -> str | None:
    """The prompt text of an imported call (README: "Importing other tools' logs").

    Just the user's prompt when that is all there was. A system prompt comes first, each part
    under its own marker line, and notes (attachments, tool results) follow as `[…]` lines, so
    nothing the model was given is lost and the layout is the same for every importer.
    """
    user = user or None
    system = system or None
    if system is None and not notes:
        return user
    parts = []
    if system is not None:
        parts.append(f"[system]\n{system}")
        if user is not None:
            parts.append(f"[user]\n{user}")
    elif user is not None:
        parts.append(user)
    parts.extend(f"[{note}]" for note in notes)
    return "\n\n".join(parts)


def tool_calls_json(calls: Iterable[tuple[str, Any]]) -> str | None:
    """Tool calls as the `tool_calls` column keeps them: [{"name": …, "arguments": …}].

    Arguments are the JSON value the model produced (an object, usually); a string that is not
    JSON is kept as the string.
    """
    listed = []
    for name, arguments in calls:
        if isinstance(arguments, str):
            try:
                arguments = json.loads(arguments) if arguments.strip() else {}
            except json.JSONDecodeError:
                pass
        listed.append({"name": name, "arguments": arguments})
    return json.dumps(listed, ensure_ascii=False) if listed else None


def content_text(content: Any) -> str | None:
    """The text of a chat message's content: a string, or the text parts of a list of blocks."""
    if isinstance(content, str):
        return content or None
    if isinstance(content, list):
        texts = [str(b["text"]) for b in content if isinstance(b, dict) and isinstance(b.get("text"), str)
                 and b.get("type") in (None, "text", "input_text", "output_text")]
        return "\n".join(texts) or None
    return None


def chat_prompt(messages: Any) -> str | None:
    """The prompt of an OpenAI- or Anthropic-style message list: the last user message, after the system prompt."""
    if not isinstance(messages, list):
        return None
    system = "\n\n".join(t for m in messages if isinstance(m, dict) and m.get("role") in ("system", "developer")
                         and (t := content_text(m.get("content"))))
    user = next((content_text(m.get("content")) for m in reversed(messages)
                 if isinstance(m, dict) and m.get("role") == "user"), None)
    return compose_prompt(user, system)


def json_lines(path: Path) -> Iterator[tuple[int, Any, str] | Problem]:
    """Each non-blank line of a JSONL file: its number, its JSON value and its text.

    A line that is not UTF-8 or not JSON is a Problem; the rest of the file is still read.
    """
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, 1):
            if not raw.strip():
                continue
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                yield Problem(number, f"not UTF-8 (byte 0x{raw[exc.start]:02x} at column {exc.start + 1})")
                continue
            try:
                yield number, json.loads(line), line
            except json.JSONDecodeError as exc:
                yield Problem(number, f"not JSON ({exc.msg} at column {exc.colno})")
            except RecursionError:
                yield Problem(number, "not JSON (nested too deeply)")


def one_call_a_line(path: Path, convert: Callable[[Any, str], CallRecord]) -> Iterator[Found | Problem]:
    """For formats that hold one call per JSON line: `convert(value, line text)` makes the call
    or raises ValueError/TypeError/OverflowError, which becomes that line's Problem."""
    for item in json_lines(path):
        if isinstance(item, Problem):
            yield item
            continue
        number, obj, line = item
        try:
            yield Found(number, convert(obj, line))
        except (ValueError, TypeError, OverflowError) as exc:
            yield Problem(number, str(exc))
