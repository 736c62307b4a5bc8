"""Graded prompts: the labelled-routing format `fleetui bench routing` and `router train --calls`
read, one answer per line:

    {"prompt_id": 7, "prompt": "…", "model": "gpt-4", "quality": 0.9, "cost_usd": 0.0021,
     "category": "coding", "ts": 1733000000}

`quality` (0..1) becomes the call's `feedback_score`, `category` (or `use_case` / `task`) its use
case, so `fleetui router train --quality field` learns from the imported rows like from any
imported log with a quality column. `ts` is optional (a graded set often has none: the import
time then). The call id is derived from the prompt id and the model, so importing the same set
twice stores each answer once, and prompt ids `7` and `"7"` stay two prompts.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from fleetui.importers import Row
from fleetui.importers.common import one_call_a_line, parse_time
from fleetui.store.records import CallRecord

KEYS = frozenset({"prompt_id", "prompt", "model", "quality", "cost_usd", "category", "use_case", "task", "ts"})


def _number(row: dict[str, Any], key: str) -> float | None:
    value = row.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{key} must be a finite number, not {value!r}")
    return float(value)


def call_from(row: Any, now: float) -> CallRecord:
    if not isinstance(row, dict):
        raise ValueError("a line must be a JSON object")
    unknown = sorted(set(row) - KEYS)
    if unknown:
        raise ValueError(f"unknown key(s) {', '.join(unknown)} (known: {', '.join(sorted(KEYS))})")
    prompt_id, model, prompt = row.get("prompt_id"), row.get("model"), row.get("prompt")
    if isinstance(prompt_id, bool) or not isinstance(prompt_id, int | str) or prompt_id == "":
        raise ValueError(f"prompt_id must be a string or a whole number, not {prompt_id!r}")
    if not isinstance(model, str) or not model:
        raise ValueError(f"model must be a model name, not {model!r}")
    if prompt is not None and not isinstance(prompt, str):
        raise ValueError(f"prompt must be text, not {prompt!r}")
    quality = _number(row, "quality")
    if quality is None or not 0 <= quality <= 1:
        raise ValueError(f"quality must be between 0 and 1, not {row.get('quality')!r}")
    cost = _number(row, "cost_usd")
    if cost is not None and cost < 0:
        raise ValueError(f"cost_usd must be ≥ 0, not {cost!r}")
    category = next((row[k] for k in ("category", "use_case", "task") if isinstance(row.get(k), str) and row[k]),
                    None)
    # The prompt id's JSON text keeps 7 and "7" apart; the same id is the same prompt.
    key = json.dumps(prompt_id)
    prompt_hash = hashlib.sha256(f"labels:{key}".encode()).hexdigest()[:16]
    call_id = "labels:" + hashlib.sha256(f"{key}\x00{model}".encode("utf-8", "surrogatepass")).hexdigest()[:32]
    return CallRecord(
        call_id=call_id, ts=parse_time(row["ts"]) if row.get("ts") is not None else now, source="import",
        request_model=model, prompt=prompt, prompt_hash=prompt_hash,
        prompt_chars=len(prompt) if prompt is not None else None, feedback_score=quality, cost_usd=cost,
        cost_source="provider" if cost is not None else None, use_case=category, success=True,
    )


def read_labels(path: Path) -> Iterator[Row]:
    now = time.time()  # one import time for the rows that carry none
    return one_call_a_line(path, lambda obj, _line: call_from(obj, now))
