"""How a model is picked when no rule decides: cost-first, quality-first and adaptive.

All three choose among *capable* models. A request tagged "vision", "tools" or "json" needs a
model with that capability; a long prompt needs a context window that holds it; and each
complexity tier asks for a minimum capability score in the request's dimension (coding for coding
tasks, reasoning by default), so that cost-first sends simple requests to the cheapest model and
complex ones to the cheapest model that can do them — the mini / standard / reasoning tiers of
smart routing. When no model meets the bar the bar is dropped rather than the request.

Prices come from `fleetui.pricing`: a model without a price is unknown, never free, so cost-first
places unpriced models after every priced one.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from fleetui.config.schema import Fleet, Model
from fleetui.pricing import CHARS_PER_TOKEN

Strategy = Literal["task-based", "cost-first", "quality-first", "adaptive"]
STRATEGIES: tuple[Strategy, ...] = ("task-based", "cost-first", "quality-first", "adaptive")

# The capability score a tier asks for, 0–100 (a model without a score does not meet a bar).
TIER_BAR = {"simple": 0, "medium": 70, "complex": 85}
# The capability score that matters for a task or use case; reasoning for anything else.
DIMENSION = {
    "coding": "coding", "debugging": "coding", "code_review": "coding", "technical_code": "coding",
    "analysis": "reasoning", "research": "reasoning", "math": "reasoning",
    "writing": "creativity", "creative_writing": "creativity", "heartbeat": "speed",
}
# Request tags that a model must support, and the capability flag that says it does.
REQUIRED_FLAG = {"vision": "vision", "tools": "tools", "json": "json_mode"}


def dimension_of(task: str | None, use_case: str | None) -> str:
    return DIMENSION.get(task or "") or DIMENSION.get(use_case or "") or "reasoning"


def blended_prices(fleet: Fleet) -> dict[str, float]:
    """USD per 1M tokens of a typical request, for the models that have a price."""
    from fleetui.pricing import Pricer, blended_per_mtok

    pricer = Pricer(fleet)
    prices: dict[str, float] = {}
    for model in fleet.models:
        price = pricer.price_of(model.id)
        if price is not None:
            prices[model.id] = blended_per_mtok(price)
    return prices


def _score(model: Model, dimension: str) -> int:
    value = getattr(model.capabilities, dimension, None)
    return -1 if value is None else int(value)


def capable(models: Sequence[Model], request: Mapping[str, Any]) -> tuple[list[Model], str]:
    """The models fit for this request, and a note when a requirement had to be dropped."""
    flags = [REQUIRED_FLAG[t] for t in request.get("tags") or () if t in REQUIRED_FLAG]
    tokens = (request.get("prompt_length") or 0) / CHARS_PER_TOKEN  # against context windows
    fit = [m for m in models
           if all(getattr(m.capabilities, f) for f in flags)
           and (m.context_window is None or m.context_window >= tokens)]
    note = ""
    if not fit:
        fit, note = list(models), "; no model has what the request needs, so any is considered"
    dimension = dimension_of(request.get("task"), request.get("use_case"))
    bar = TIER_BAR.get(request.get("complexity") or "simple", 0)
    able = [m for m in fit if _score(m, dimension) >= bar]
    if not able:
        able, note = fit, note or f"; no model scores {bar}+ in {dimension}, so the bar is dropped"
    return able, note


def cost_first(models: Sequence[Model], request: Mapping[str, Any], prices: Mapping[str, float]) -> tuple[list[str], str]:
    able, note = capable(models, request)
    dimension = dimension_of(request.get("task"), request.get("use_case"))
    priced = sorted((m for m in able if m.id in prices), key=lambda m: (prices[m.id], -_score(m, dimension)))
    unpriced = sorted((m for m in able if m.id not in prices), key=lambda m: -_score(m, dimension))
    ordered = [m.id for m in priced + unpriced]
    tier = request.get("complexity") or "simple"
    return ordered, f"cheapest model capable of {tier} {dimension}{note}"


def quality_first(models: Sequence[Model], request: Mapping[str, Any], prices: Mapping[str, float]) -> tuple[list[str], str]:
    fit, note = capable(models, {**request, "complexity": "simple"})  # every score counts here
    dimension = dimension_of(request.get("task"), request.get("use_case"))
    unknown = float("inf")  # ties go to the cheaper model; an unpriced one last
    ordered = sorted(fit, key=lambda m: (-_score(m, dimension), prices.get(m.id, unknown)))
    return [m.id for m in ordered], f"highest {dimension} score{note}"


@dataclass
class _Belief:
    successes: float = 1.0  # Beta(1, 1): no opinion before the first outcome
    failures: float = 1.0


class ThompsonSampler:
    """Adaptive routing: per (use case, model) a Beta belief about success, sampled per request.

    A model that keeps succeeding for a use case is drawn first more and more often, while one
    with few outcomes still gets explored. A quality in 0..1 counts as that fraction of a success.
    """

    def __init__(self, seed: int | None = None) -> None:
        self._rng = random.Random(seed)
        self._beliefs: dict[tuple[str, str], _Belief] = {}
        self._lock = threading.Lock()  # Random's state and the beliefs are shared by threads

    @staticmethod
    def use_case_of(request: Mapping[str, Any]) -> str:
        return request.get("use_case") or request.get("task") or "general"

    def order(self, models: Sequence[Model], request: Mapping[str, Any]) -> tuple[list[str], str]:
        able, note = capable(models, request)
        use_case = self.use_case_of(request)
        with self._lock:
            draws = {}
            for m in able:
                belief = self._beliefs.get((use_case, m.id)) or _Belief()
                draws[m.id] = self._rng.betavariate(belief.successes, belief.failures)
        ordered = sorted(able, key=lambda m: -draws[m.id])
        return [m.id for m in ordered], f"Thompson sample over {use_case} outcomes{note}"

    def record(self, use_case: str, model_id: str, success: bool, quality: float | None = None) -> None:
        if quality is not None and not 0.0 <= quality <= 1.0:
            raise ValueError(f"quality is a fraction from 0 to 1, not {quality}")
        reward = (1.0 if quality is None else quality) if success else 0.0
        with self._lock:
            belief = self._beliefs.setdefault((use_case, model_id), _Belief())
            belief.successes += reward
            belief.failures += 1.0 - reward

    def add_history(self, use_case: str, model_id: str, successes: float, failures: float) -> None:
        """Outcomes seen before this process started (e.g. from the store), as pseudo-counts."""
        with self._lock:
            belief = self._beliefs.setdefault((use_case, model_id), _Belief())
            belief.successes += successes
            belief.failures += failures

    def belief(self, use_case: str, model_id: str) -> tuple[float, float]:
        """(successes, failures) including the Beta(1, 1) prior."""
        belief = self._beliefs.get((use_case, model_id)) or _Belief()
        return belief.successes, belief.failures
