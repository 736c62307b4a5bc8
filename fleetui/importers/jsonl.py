"""fleetui's own JSONL: one call per line, the `calls` columns as keys (README: "Call log format").

`ts` (unix seconds or an ISO 8601 time) is required, and `model_id` or `request_model`; every
other key is optional. A line without `call_id` gets one derived from its content, so importing
the same file twice stores each call once. Unknown keys are errors, like in the fleet file.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterator
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

from fleetui.importers import Row
from fleetui.importers.common import one_call_a_line, parse_time
from fleetui.store.records import CallRecord

_FIELDS = {f.name: f for f in fields(CallRecord)}
_INT = {"prompt_chars", "response_chars", "input_tokens", "output_tokens", "cached_input_tokens",
        "status_code", "request_max_tokens", "attempt"}
_FLOAT = {"latency_ms", "ttft_ms", "cost_usd", "confidence", "feedback_score", "request_temperature"}
_BOOL = {"success", "streamed", "incomplete", "override", "follow_up", "abandoned", "demo"}


def to_json(call: CallRecord) -> str:
    return json.dumps({k: v for k, v in asdict(call).items() if v not in (None, [])}, ensure_ascii=False)


def call_from(obj: Any, origin: str) -> CallRecord:
    if not isinstance(obj, dict):
        raise ValueError("a line must be a JSON object")
    unknown = sorted(set(obj) - set(_FIELDS))
    if unknown:
        raise ValueError(f"unknown key(s) {', '.join(unknown)}")
    if "ts" not in obj:
        raise ValueError("missing 'ts' (unix seconds or ISO 8601 time)")
    if not obj.get("model_id") and not obj.get("request_model"):
        raise ValueError("needs 'model_id' or 'request_model'")
    values: dict[str, Any] = {}
    for key, value in obj.items():
        if value is None:
            continue
        if key == "ts":
            value = parse_time(value)
        elif key in _INT:
            whole = isinstance(value, int) or (isinstance(value, float) and math.isfinite(value) and value.is_integer())
            if isinstance(value, bool) or not whole or value < 0:
                raise ValueError(f"{key} must be a whole number ≥ 0, not {value!r}")
            value = int(value)
        elif key in _FLOAT:
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"{key} must be a number, not {value!r}")
            value = float(value)
        elif key in _BOOL:
            if not isinstance(value, bool | int):
                raise ValueError(f"{key} must be true or false, not {value!r}")
            value = bool(value)
        elif key == "tags":
            if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
                raise ValueError("tags must be a list of strings")
        elif key == "tool_calls" and isinstance(value, list):
            value = json.dumps(value, ensure_ascii=False)  # the column keeps them as JSON text
        elif not isinstance(value, str):
            raise ValueError(f"{key} must be a string, not {value!r}")
        values[key] = value
    source = values.get("cost_source")
    if source is not None and source not in ("provider", "fleet", "catalog") and not source.startswith("catalog@"):
        raise ValueError(f"cost_source {source!r} is not provider, fleet, catalog or catalog@VERSION")
    if "call_id" not in values:
        values["call_id"] = "import:" + hashlib.sha256(origin.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    values.setdefault("source", "import")
    return CallRecord(**values)


def read_jsonl(path: Path) -> Iterator[Row]:
    return one_call_a_line(path, lambda obj, line: call_from(obj, line.strip()))
