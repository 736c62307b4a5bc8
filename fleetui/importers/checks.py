"""What every imported call must satisfy before it reaches the store, whatever tool wrote it.

A foreign log can hold anything: NaN or 1e20 as a time, 2^70 tokens, a negative cost, a lone
UTF-16 surrogate. SQLite would refuse some of these mid-batch (losing the good calls of that
batch) and silently keep the others, so each is caught here and reported against its line.
"""

from __future__ import annotations

import math
from dataclasses import fields

from fleetui.store.records import CallRecord

LATEST_TS = 4_102_444_800.0  # 2100-01-01: a later "time" is milliseconds or garbage
MAX_COUNT = 10**12  # tokens or characters of one call; more is a corrupt field, not a call

_COUNTS = ("prompt_chars", "response_chars", "input_tokens", "output_tokens", "cached_input_tokens",
           "request_max_tokens", "attempt")
_DURATIONS = ("latency_ms", "ttft_ms")
_FRACTIONS = ("feedback_score", "confidence")
_TEXTS = tuple(f.name for f in fields(CallRecord) if f.type in ("str | None", "str"))


def problem_with(call: CallRecord) -> str | None:
    """Why the call cannot be stored as it is, or None when it can."""
    if not isinstance(call.ts, float | int) or not math.isfinite(call.ts) or not 0 <= call.ts < LATEST_TS:
        return f"ts {call.ts!r} is not a time (seconds since 1970, before 2100)"
    for name in _COUNTS:
        value = getattr(call, name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_COUNT):
            return f"{name} {value!r} is not a count (a whole number from 0 to 10^12)"
    for name in _DURATIONS:
        value = getattr(call, name)
        if value is not None and not (_finite(value) and value >= 0):
            return f"{name} {value!r} is not a duration (finite milliseconds ≥ 0)"
    if call.cost_usd is not None and not (_finite(call.cost_usd) and call.cost_usd >= 0):
        return f"cost_usd {call.cost_usd!r} is not a cost (finite dollars ≥ 0)"
    for name in _FRACTIONS:
        value = getattr(call, name)
        if value is not None and not (_finite(value) and 0 <= value <= 1):
            return f"{name} {value!r} is outside 0 … 1"
    if call.request_temperature is not None and not _finite(call.request_temperature):
        return f"request_temperature {call.request_temperature!r} is not a number"
    for name in _TEXTS:
        if (bad := _unencodable(getattr(call, name))) is not None:
            return f"{name} {bad}"
    for tag in call.tags:
        if (bad := _unencodable(tag)) is not None:
            return f"tag {bad}"
    return None


def _finite(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _unencodable(text: object) -> str | None:
    if not isinstance(text, str) or text.isascii():
        return None
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        return f"has a lone surrogate {text[exc.start]!r} at character {exc.start + 1} (not valid Unicode)"
    return None
