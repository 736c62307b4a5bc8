"""Which model serves each use case best, on success, speed, cost and satisfaction.

Small samples are not trusted blindly: success counts by its Wilson lower bound (so 3/3 does not
beat 980/1000), satisfaction is shrunk toward the use case's mean, and a model with fewer than
the fleet's `ranking.min_samples` calls in a use case is listed but not ranked.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from fleetui.config.schema import Fleet
from fleetui.store import Store, analytics, histogram

Z95 = 1.96
SHRINK = 10  # pseudo-calls of the use case's mean satisfaction mixed into each model's


def wilson_interval(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    if n == 0:
        return 0.0, 1.0
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass
class ModelInUseCase:
    use_case: str
    model_id: str
    n: int
    successes: int
    p50_ms: float | None
    p95_ms: float | None
    cost_usd: float
    priced_calls: int
    input_tokens: int
    output_tokens: int
    cached_input_tokens: int
    feedback_n: int = 0
    feedback_mean: float | None = None
    quality: float | None = None  # 0..1 after shrinkage
    quality_source: str | None = None  # "feedback" (judge scores when replays exist)
    scores: dict[str, float] = field(default_factory=dict)
    score: float | None = None
    rank: int | None = None
    ranked: bool = False

    @property
    def success_rate(self) -> float:
        return self.successes / self.n if self.n else 0.0

    @property
    def success_interval(self) -> tuple[float, float]:
        return wilson_interval(self.successes, self.n)

    @property
    def cost_per_call(self) -> float | None:
        return self.cost_usd / self.priced_calls if self.priced_calls else None

    def why(self) -> str:
        low, high = self.success_interval
        parts = [f"success {100 * self.success_rate:.1f}% (95% CI {100 * low:.1f}–{100 * high:.1f}%)"]
        if self.p50_ms is not None:
            parts.append(f"p50 {self.p50_ms / 1000:.2f}s")
        parts.append(f"${self.cost_per_call:.4f}/call" if self.cost_per_call is not None else "unpriced")
        if self.quality is not None:
            parts.append(f"satisfaction {100 * self.quality:.0f}% (n={self.feedback_n})")
        return ", ".join(parts) + f", n={self.n:,}"

    def as_json(self) -> dict[str, Any]:
        low, high = self.success_interval
        return {
            "use_case": self.use_case, "model": self.model_id, "n": self.n, "rank": self.rank, "ranked": self.ranked,
            "score": None if self.score is None else round(self.score, 1),
            "scores": {k: round(v, 1) for k, v in self.scores.items()},
            "success_rate": round(self.success_rate, 4), "success_ci95": [round(low, 4), round(high, 4)],
            "p50_ms": self.p50_ms, "p95_ms": self.p95_ms, "cost_per_call": self.cost_per_call,
            "quality": self.quality, "feedback_n": self.feedback_n, "why": self.why(),
        }


def _normalised_inverse(values: dict[str, float]) -> dict[str, float]:
    """Lower is better: the best gets 100, the worst 0 (all 100 when they are equal)."""
    if not values:
        return {}
    low, high = min(values.values()), max(values.values())
    if high - low < 1e-12:
        return {k: 100.0 for k in values}
    # The ratio first: it is exactly 1 for the best and 0 for the worst ((100·d)/d need not be 100).
    return {k: 100 * ((high - v) / (high - low)) for k, v in values.items()}


def rank_use_cases(fleet: Fleet, store: Store, since_day: str | None = None) -> dict[str, list[ModelInUseCase]]:
    """Per use case, its models best first (ranked ones, then those under the minimum sample)."""
    cells: dict[tuple[str, str], ModelInUseCase] = {}
    for row in analytics.use_case_model_cells(store, since_day):
        counts = [int(v or 0) for v in row[11:]]
        cells[(row[0], row[1])] = ModelInUseCase(
            use_case=row[0], model_id=row[1], n=int(row[2]), successes=int(row[2]) - int(row[3]),
            p50_ms=histogram.quantile(counts, 0.5), p95_ms=histogram.quantile(counts, 0.95),
            cost_usd=float(row[4] or 0), priced_calls=int(row[5] or 0), input_tokens=int(row[6] or 0),
            output_tokens=int(row[7] or 0), cached_input_tokens=int(row[8] or 0),
            feedback_n=int(row[10] or 0),
            feedback_mean=float(row[9]) / int(row[10]) if row[10] else None,
        )
    weights = fleet.ranking.weights
    minimum = fleet.ranking.min_samples
    by_use_case: dict[str, list[ModelInUseCase]] = {}
    for cell in cells.values():
        by_use_case.setdefault(cell.use_case, []).append(cell)
    for use_case, models in by_use_case.items():
        eligible = [m for m in models if m.n >= minimum]
        rated = [m for m in eligible if m.feedback_n and m.feedback_mean is not None]
        prior = (sum((m.feedback_mean or 0.0) * m.feedback_n for m in rated) / sum(m.feedback_n for m in rated)
                 if rated else None)
        speed = _normalised_inverse({m.model_id: m.p50_ms for m in eligible if m.p50_ms is not None})
        cost = _normalised_inverse({m.model_id: c for m in eligible if (c := m.cost_per_call) is not None})
        for m in eligible:
            if m.feedback_n and prior is not None:
                m.quality = (m.feedback_mean * m.feedback_n + prior * SHRINK) / (m.feedback_n + SHRINK)  # type: ignore[operator]
                m.quality_source = "feedback"
            parts = {"success": 100 * m.success_interval[0]}
            if m.model_id in speed:
                parts["speed"] = speed[m.model_id]
            if m.model_id in cost:
                parts["cost"] = cost[m.model_id]
            if m.quality is not None:
                parts["satisfaction"] = 100 * m.quality
            m.scores = parts
            # A missing part (unpriced, no feedback) is left out and the weights renormalised,
            # rather than guessed.
            total = sum(getattr(weights, k) for k in parts)
            m.score = sum(getattr(weights, k) * v for k, v in parts.items()) / total if total else None
            m.ranked = True
        eligible.sort(key=lambda m: -(m.score or 0))
        for index, m in enumerate(eligible, 1):
            m.rank = index
        rest = sorted((m for m in models if m.n < minimum), key=lambda m: -m.n)
        by_use_case[use_case] = eligible + rest
    return dict(sorted(by_use_case.items(), key=lambda kv: -sum(m.n for m in kv[1])))


def save_rankings(store: Store, ranking: dict[str, list[ModelInUseCase]], computed_ts: float) -> None:
    rows = [
        {"use_case": m.use_case, "model_id": m.model_id, "computed_ts": computed_ts, "n": m.n,
         "success_rate": m.success_rate, "success_lcb": m.success_interval[0], "p50_ms": m.p50_ms,
         "p95_ms": m.p95_ms, "cost_per_call": m.cost_per_call, "quality": m.quality, "score": m.score,
         "rank": m.rank}
        for models in ranking.values() for m in models
    ]
    analytics.replace_rankings(store, rows)
