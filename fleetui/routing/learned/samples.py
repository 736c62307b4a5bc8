"""Labelled calls a router learns from, and the checks every source of them goes through.

A sample is one past call: a prompt, the model that answered it, a quality in 0..1 and what the
call cost. Files (`read_calls`) and the store (`fleetui.routing.learned.store_data`) both build
samples through `SampleChecker`, so a bad value is reported the same way wherever it comes from:
counted by what was wrong, with the first few places, never a traceback.
"""

from __future__ import annotations

import json
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np


@dataclass(frozen=True, slots=True)
class Sample:
    prompt_id: str
    prompt: str
    model: str
    quality: float
    cost: float
    category: str = ""  # the call's use case or task, when known: a feature like any other


class DataError(ValueError):
    """Labelled data a router cannot be trained or measured on; the message is one line."""


@dataclass
class SampleChecker:
    """Turns raw rows into samples, counting what it had to leave out and why."""

    where: str  # a file or "the store", for messages
    rejected: Counter[str] = field(default_factory=Counter)
    first_place: dict[str, str] = field(default_factory=dict)
    id_kinds: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    free_ok: bool = False  # local models really cost 0: only the store knows which ones

    def reject(self, reason: str, place: str) -> None:
        self.rejected[reason] += 1
        self.first_place.setdefault(reason, place)

    def check(self, row: Mapping[str, Any], place: str, *, cost_key: str = "cost_usd") -> Sample | None:
        missing = [k for k in ("prompt_id", "prompt", "model", "quality", cost_key) if row.get(k) is None]
        if missing:
            self.reject(f"no {missing[0]}", place)
            return None
        raw_id = row["prompt_id"]
        if isinstance(raw_id, bool) or not isinstance(raw_id, str | int):
            self.reject("prompt_id is not a string or an integer", place)
            return None
        # 7 and "7" are different ids in a JSON file; merging them silently mixes two prompts,
        # so they are kept apart and the mixture is reported (see `id_problem`).
        self.id_kinds[str(raw_id)].add(type(raw_id).__name__)
        prompt_id = f"{type(raw_id).__name__}:{raw_id}"
        if not isinstance(row["prompt"], str) or not isinstance(row["model"], str) or not row["model"]:
            self.reject("prompt or model is not text", place)
            return None
        quality = _number(row["quality"])
        if quality is None:
            self.reject("quality is not a number (booleans, NaN and text are refused)", place)
            return None
        if not 0.0 <= quality <= 1.0:
            self.reject("quality outside 0..1", place)
            return None
        cost = _number(row[cost_key])
        if cost is None:
            self.reject(f"{cost_key} is not a number", place)
            return None
        if cost < 0 or (cost == 0 and not self.free_ok):
            self.reject(f"{cost_key} is zero or negative", place)
            return None
        category = row.get("category") or row.get("use_case") or row.get("task") or ""
        return Sample(prompt_id, row["prompt"], row["model"], quality, cost,
                      category if isinstance(category, str) else "")

    def id_problem(self) -> str | None:
        mixed = [k for k, kinds in self.id_kinds.items() if len(kinds) > 1]
        if not mixed:
            return None
        return (f"{len(mixed)} prompt id(s) appear both as a number and as text (e.g. {mixed[0]} and "
                f"\"{mixed[0]}\"): they were kept as different prompts; write every id the same way")

    def summary(self) -> str:
        """One line: what was left out, by reason, with the first place of each."""
        if not self.rejected:
            return ""
        parts = [f"{n} with {reason} (first at {self.first_place[reason]})" for reason, n in self.rejected.most_common()]
        return f"{sum(self.rejected.values())} line(s) left out of {self.where}: " + "; ".join(parts)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def read_calls(path: Path, checker: SampleChecker | None = None) -> list[Sample]:
    """JSONL: {"prompt_id", "prompt", "model", "quality" (0..1), "cost_usd"} per line, optionally
    "category" (or "use_case"/"task"). Bad lines are counted in `checker`, not raised."""
    checker = checker or SampleChecker(str(path))
    out = []
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise DataError(f"{path}: {exc.strerror or exc}") from None
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        place = f"line {number}"
        try:
            row = json.loads(line)
        except ValueError:
            checker.reject("a line that is not JSON", place)
            continue
        if not isinstance(row, dict):
            checker.reject("a line that is not a JSON object", place)
            continue
        sample = checker.check(row, place)
        if sample is not None:
            out.append(sample)
    return out


@dataclass
class Table:
    """Quality and cost per (prompt, model) as dense matrices, NaN where a model has no call."""

    prompts: list[str]
    texts: list[str]
    categories: list[str]
    models: list[str]
    quality: np.ndarray  # prompts × models
    cost: np.ndarray

    @classmethod
    def of(cls, samples: Iterable[Sample], models: list[str] | None = None) -> Table:
        by_prompt: dict[str, dict[str, list[Sample]]] = defaultdict(lambda: defaultdict(list))
        for s in samples:
            by_prompt[s.prompt_id][s.model].append(s)
        names = models or sorted({m for row in by_prompt.values() for m in row})
        column = {m: j for j, m in enumerate(names)}
        prompts = list(by_prompt)
        q = np.full((len(prompts), len(names)), np.nan)
        c = np.full((len(prompts), len(names)), np.nan)
        texts, categories = [], []
        for i, pid in enumerate(prompts):
            row = by_prompt[pid]
            first = next(iter(row.values()))[0]
            texts.append(first.prompt)
            categories.append(first.category)
            for m, calls in row.items():
                j = column.get(m)
                if j is not None:  # several calls of one model on one prompt: their mean
                    q[i, j] = sum(s.quality for s in calls) / len(calls)
                    c[i, j] = sum(s.cost for s in calls) / len(calls)
        return cls(prompts, texts, categories, list(names), q, c)

    def rows(self, index: np.ndarray) -> Table:
        return Table([self.prompts[i] for i in index], [self.texts[i] for i in index],
                     [self.categories[i] for i in index], self.models, self.quality[index], self.cost[index])

    def complete(self) -> np.ndarray:
        """Rows every model answered: only those can say what another choice would have given."""
        return np.where(~np.isnan(self.quality).any(axis=1))[0]

    def missing_by_model(self) -> dict[str, int]:
        return {m: int(np.isnan(self.quality[:, j]).sum()) for j, m in enumerate(self.models)}
