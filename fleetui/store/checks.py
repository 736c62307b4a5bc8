"""Value checks on a call before it is stored: coerce what is unambiguous, NULL the rest, count both.

Apps hand the shim whatever they have: token counts as strings or numpy integers, costs as
`Decimal`, NaN, negative numbers, text with lone surrogates. SQLite refuses some of these (a
whole batch then fails) and silently mangles others (a numpy integer becomes an 8-byte BLOB,
NaN becomes NULL in a NOT NULL rollup). Every record is checked on its own, off the app's
thread, before pricing and rollups see it, so one bad value never costs another record.

Rules, field by field: `"12"`, `12.0`, `Decimal("12")` and numpy numbers become the number
they spell ("coerced"); NaN, ±inf, negative, absurdly large or unreadable values become NULL
("nulled"); text is repaired (lone surrogates become U+FFFD, "coerced"). Required columns get
a safe stand-in instead of NULL (a fresh call id, the time the writer saw the call).

The checker is generated once from the table below as straight-line code: on a clean record
it costs about one type test per field, which keeps the writer within 10% of a plain insert.
"""

from __future__ import annotations

import json
import math
import operator
import time
from collections import Counter
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from fleetui.store.records import CALL_COLUMNS, CallRecord, new_call_id

COERCED = "values.coerced."  # + field: a value turned into the number or text it spelled
NULLED = "values.nulled."  # + field: a value that could not be read, stored as NULL

_TOKENS = 10**9  # more tokens than this in one call is a bug upstream, not a call
_CHARS = 2**53
_MS = 7 * 86_400_000.0  # a week, in milliseconds
_TS_MAX = 2**33  # the year 2242

# field -> (kind, low, high); kinds: int, float, str, bool, optbool, tags, and the required
# variants ts, id, text (a str that must not be NULL).
RULES: dict[str, tuple[str, float, float]] = {
    "call_id": ("id", 0, 0), "ts": ("ts", 0, _TS_MAX), "source": ("text", 0, 0),
    "operation_name": ("text", 0, 0),
    "prompt_chars": ("int", 0, _CHARS), "response_chars": ("int", 0, _CHARS),
    "input_tokens": ("int", 0, _TOKENS), "output_tokens": ("int", 0, _TOKENS),
    "cached_input_tokens": ("int", 0, _TOKENS), "request_max_tokens": ("int", 0, _TOKENS),
    "status_code": ("int", 100, 599), "attempt": ("int", 1, 10_000),
    "latency_ms": ("float", 0, _MS), "ttft_ms": ("float", 0, _MS), "cost_usd": ("float", 0, 1e6),
    "confidence": ("float", 0, 1), "feedback_score": ("float", 0, 1),
    "request_temperature": ("float", 0, 100),
    "gateway_overhead_ms": ("float", 0, _MS),  # was left to the str default: every gateway call coerced
    "success": ("success", 0, 0), "streamed": ("bool", 0, 0), "incomplete": ("bool", 0, 0),
    "demo": ("bool", 0, 0), "override": ("optbool", 0, 0), "follow_up": ("optbool", 0, 0),
    "abandoned": ("optbool", 0, 0), "tags": ("tags", 0, 0),
}
for _name in CALL_COLUMNS:
    RULES.setdefault(_name, ("str", 0, 0))
_DEFAULTS = {"source": "app", "operation_name": "chat"}


def check_call(record: CallRecord, tally: Counter[str]) -> None:
    """Repair `record` in place; each problem is counted in `tally` by field."""
    _checker(record, tally)


def check_feedback(score: Any, comment: Any, tally: Counter[str]) -> tuple[float | None, str | None]:
    """A feedback marker's score (0…1) and comment, checked like the call's own fields."""
    if not (score.__class__ is float and 0 <= score <= 1):
        fixed = _fix_float(score, 0, 1)
        if fixed is None or fixed != score or score.__class__ is not int:
            tally[(COERCED if fixed is not None else NULLED) + "feedback_score"] += 1
        score = fixed
    if comment is not None and (comment.__class__ is not str or _bad_text(comment)):
        fixed_comment = _fix_str(comment)
        tally[(COERCED if fixed_comment is not None else NULLED) + "feedback_comment"] += 1
        comment = fixed_comment
    return score, comment


# -- the slow path: one value known to be off ------------------------------------------------


def _fix(record: CallRecord, name: str, tally: Counter[str]) -> None:
    kind, low, high = RULES[name]
    value = getattr(record, name)
    fixed: Any
    if kind == "int":
        fixed = _fix_int(value, low, high)
    elif kind in ("float", "ts"):
        fixed = _fix_float(value, low, high)
        if kind == "ts" and fixed is None:
            fixed = time.time()
            tally[NULLED + name] += 1  # replaced by the writer's clock: counted as unreadable
            setattr(record, name, fixed)
            return
    elif kind in ("str", "text", "id"):
        fixed = _fix_str(value)
        if isinstance(value, str) and fixed == value:  # a str subclass (a StrEnum): nothing wrong
            setattr(record, name, fixed)
            return
        if fixed is None and kind != "str":
            tally[NULLED + name] += 1
            setattr(record, name, new_call_id() if kind == "id" else _DEFAULTS[name])
            return
    elif kind == "success":
        fixed = _fix_bool(value)
        if fixed is None:  # unreadable: a call that reported an error did not succeed
            fixed = record.error_type is None
            tally[NULLED + name] += 1
            setattr(record, name, fixed)
            return
    elif kind in ("bool", "optbool"):
        fixed = _fix_bool(value)
        if fixed is None and kind == "bool":
            tally[NULLED + name] += 1
            setattr(record, name, False)
            return
    else:  # tags
        fixed = _fix_tags(value)
    tally[(COERCED if fixed is not None else NULLED) + name] += 1
    setattr(record, name, fixed)


def _fix_int(value: Any, low: float, high: float) -> int | None:
    number: Any = None
    if isinstance(value, bool):
        return None  # True tokens is a bug, not a count
    if isinstance(value, int):
        number = int(value)
    elif isinstance(value, str):
        text = value.strip()
        number = int(text) if text.isdecimal() and len(text) < 20 else None
    elif isinstance(value, float | Decimal) or hasattr(value, "__float__") or hasattr(value, "__index__"):
        try:
            number = operator.index(value)  # numpy integers
        except TypeError:
            try:
                as_float = float(value)
            except (TypeError, ValueError, OverflowError, InvalidOperation):
                return None
            number = int(as_float) if math.isfinite(as_float) and as_float.is_integer() else None
    return number if number is not None and low <= number <= high else None


def _fix_float(value: Any, low: float, high: float) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value) if isinstance(value, int | float | Decimal | str) or hasattr(value, "__float__") else None
    except (TypeError, ValueError, OverflowError, InvalidOperation):
        return None
    if number is None or not math.isfinite(number) or not low <= number <= high:
        return None
    return number


def _fix_str(value: Any) -> str | None:
    if isinstance(value, str):
        text = str.__str__(value)  # a str subclass (StrEnum, numpy.str_) as a plain str
        try:
            text.encode("utf-8")
            return text
        except UnicodeEncodeError:
            # Pairs of surrogates become the character they encode; lone ones become U+FFFD.
            return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return str(value) if not isinstance(value, float) or math.isfinite(value) else None
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, list | dict):  # tool calls handed over as data rather than JSON
        try:
            return _fix_str(json.dumps(value, default=str))
        except (TypeError, ValueError):
            return None
    return None


def _fix_bool(value: Any) -> bool | None:
    if isinstance(value, bool) or getattr(getattr(value, "dtype", None), "kind", None) == "b":  # numpy.bool_
        return bool(value)
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    return None


def _fix_tags(value: Any) -> list[str] | None:
    if not isinstance(value, list | tuple | set | frozenset):
        return None
    tags = [t for t in (_fix_str(v) for v in value) if t is not None]
    return tags


# -- the fast path, generated ----------------------------------------------------------------

_FAST: dict[str, str] = {
    "int": "({v} is None or ({v}.__class__ is int and {low} <= {v} <= {high}))",
    "float": "({v} is None or ({v}.__class__ is float and {low} <= {v} <= {high}))",  # NaN fails both
    "ts": "({v}.__class__ is float and {low} < {v} < {high})",
    "str": "({v} is None or ({v}.__class__ is str and {v}.isascii()))",
    "text": "({v}.__class__ is str and {v}.isascii())",
    "id": "({v}.__class__ is str and {v}.isascii())",
    "success": "({v}.__class__ is bool)",
    "bool": "({v}.__class__ is bool)",
    "optbool": "({v} is None or {v}.__class__ is bool)",
    "tags": "({v}.__class__ is list and (not {v} or all(t.__class__ is str and t.isascii() for t in {v})))",
}


def _generate() -> Callable[[CallRecord, Counter[str]], None]:
    """One boolean expression over every field for a clean record (the usual case), then a
    field-by-field look only when it is false."""
    fast = " and ".join(
        _FAST[RULES[name][0]].format(v=f"r.{name}", low=RULES[name][1], high=RULES[name][2]) for name in CALL_COLUMNS
    )
    lines = ["def check(r, tally):", f"    if {fast}:", "        return"]
    for name in CALL_COLUMNS:
        kind, low, high = RULES[name]
        lines.append(f"    v = r.{name}")
        lines.append(f"    if not {_FAST[kind].format(v='v', low=low, high=high)}:")
        if kind == "int":
            lines.append(f"        _fix(r, {name!r}, tally)")
        elif kind in ("str", "text", "id"):  # non-ASCII text is usually fine: check it properly
            lines.append(f"        if v.__class__ is not str or _bad_text(v): _fix(r, {name!r}, tally)")
        elif kind in ("float", "ts"):  # an int in range is a fine float
            lines.append(f"        if v.__class__ is not int or not ({low} <= v <= {high}): _fix(r, {name!r}, tally)")
        elif kind == "tags":
            lines.append(f"        if v.__class__ is not list or any(_fix_str(t) != t or t.__class__ is not str for t in v): _fix(r, {name!r}, tally)")
        else:
            lines.append(f"        _fix(r, {name!r}, tally)")
    namespace: dict[str, Any] = {"_fix": _fix, "_bad_text": _bad_text, "_fix_str": _fix_str}
    exec(compile("\n".join(lines), "<fleetui.store.checks>", "exec"), namespace)  # noqa: S102
    check: Callable[[CallRecord, Counter[str]], None] = namespace["check"]
    return check


def _bad_text(text: str) -> bool:
    try:
        text.encode("utf-8")
        return False
    except UnicodeEncodeError:
        return True


_checker = _generate()
