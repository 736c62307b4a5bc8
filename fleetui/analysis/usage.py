"""Usage analytics (calls, tokens, errors, latency by model, use case, task or day), top prompts and
routing statistics, read from rollups so that every answer is fast at any log size; costs are in
`analysis/costs.py`.

Days are UTC days. Money is USD; a cost is the sum over priced calls and `unpriced_calls`
says how many calls are not in it, so a total is never quietly short.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from fleetui.store import Grouping, Store, Totals, analytics


def known_cost(t: Totals | None) -> float | None:
    """The priced calls' cost; None when there were calls and none of them had a price, so an
    unpriced model never shows $0. With some calls priced, the sum of those (and `unpriced_calls`
    beside it says how many are not in it)."""
    if t is None or not t.calls:
        return 0.0
    return None if t.unpriced_calls >= t.calls else t.cost_usd


def totals_json(t: Totals) -> dict[str, Any]:
    cost = known_cost(t)
    return {
        "key": t.key, "calls": t.calls, "errors": t.errors,
        "success_rate": None if t.success_rate is None else round(t.success_rate, 4),
        "input_tokens": t.input_tokens, "output_tokens": t.output_tokens,
        "cached_input_tokens": t.cached_input_tokens, "cost_usd": None if cost is None else round(cost, 6),
        "unpriced_calls": t.unpriced_calls,
        "p50_ms": None if t.p50_ms is None else round(t.p50_ms, 1),
        "p95_ms": None if t.p95_ms is None else round(t.p95_ms, 1),
    }


def usage(store: Store, by: Grouping, since_day: str | None, until_day: str | None = None) -> list[Totals]:
    rows = store.totals(by, since=since_day, until=until_day)
    if by != "day":
        rows.sort(key=lambda t: (-t.calls, t.key or ""))
    return rows


# -- prompts and routing -------------------------------------------------------------------------


def top_prompts(store: Store, since_ts: float | None, limit: int = 10) -> list[dict[str, Any]]:
    return analytics.top_prompts(store, since_ts, limit)


CONFIDENCE_BANDS = ((0.0, 0.5), (0.5, 0.7), (0.7, 0.9), (0.9, 1.0001))


@dataclass(frozen=True)
class RouteOutcome:
    """How the calls one route decided went."""

    route: str
    calls: int
    success_rate: float | None
    confidence: float | None  # mean decision confidence
    mean_latency_ms: float | None
    cost_usd: float | None  # None: none of its calls was priced


@dataclass(frozen=True)
class ConfidenceBand:
    band: str  # "0.5–0.7"
    calls: int


@dataclass(frozen=True)
class RoutingStats:
    routed_calls: int
    override_rate: float | None  # None: no routed calls
    confidence: tuple[ConfidenceBand, ...]
    routes: tuple[RouteOutcome, ...]  # most calls first

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def routing_stats(store: Store, since_ts: float | None) -> RoutingStats:
    """Confidence distribution, override rate and per-route outcomes of routed calls."""
    found = analytics.routed_calls(store, since_ts, CONFIDENCE_BANDS)
    routed = found["total"]
    return RoutingStats(
        routed_calls=routed,
        override_rate=found["overridden"] / routed if routed else None,
        confidence=tuple(ConfidenceBand(f"{low:.1f}–{min(high, 1.0):.1f}", n)
                         for (low, high), n in zip(CONFIDENCE_BANDS, found["band_counts"], strict=True)),
        routes=tuple(RouteOutcome(**route) for route in found["routes"]),
    )
