"""A rule's learned router, compiled for the hot path: one decision in a few tens of µs.

At compile time the saved router is cut down to the fleet's models, and the rule's target
(`quality_target`, `profile` or `price_weight`) is turned into a price weight per budget step:
step 0 is the target itself, steps 1 and 2 the next lower targets on the router's held-out
curve (or 3× and 10× a given price weight). At route time: featurise, predict, order the
available models by predicted quality − λ · cost, and say why.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from operator import mul
from pathlib import Path
from typing import NamedTuple

import numpy as np

from fleetui.config.schema import RoutingRule, parse_quality_target
from fleetui.routing.learned import features
from fleetui.routing.learned.calibrate import TARGETS
from fleetui.routing.learned.fit import LINK_RANGE
from fleetui.routing.learned.fileformat import (
    RouterFileError,
    SavedRouter,
    load,
    path_for,
)
from fleetui.routing.learned.train import PROFILES


_PYTHON_UP_TO = 4  # models
REFERENCE_FIRST = -1.0  # a price weight meaning "the reference model, then the others by quality"


class LearnedChoice(NamedTuple):
    """What a learned decision shows: the threshold it used and each model's predicted quality.
    A NamedTuple so that a decision stays plain data for the recorder's spool (JSON)."""

    router: str
    target: str  # "95% of claude-sonnet", "price weight 0.3"
    price_weight: float
    step: int  # budget steps taken down the curve
    predicted: tuple[tuple[str, float], ...]  # (model, predicted quality), best utility first

    @property
    def threshold(self) -> str:
        if self.price_weight == REFERENCE_FIRST:
            return "the reference first: no price weight reached this target on held-out logs"
        return f"price weight {self.price_weight:g}"


class LearnedTarget:
    def __init__(self, rule: RoutingRule, saved: SavedRouter, fleet_models: Collection[str]) -> None:
        model = saved.model
        self.target, self.weights, reference = _weights(rule, saved)
        self.reference = reference
        # A quality target is met with the reference or cheaper models, as it was calibrated.
        ceiling = float("inf") if reference is None else model.typical_cost[model.models.index(reference)] * (1 + 1e-9)
        columns = [j for j, m in enumerate(model.models) if m in fleet_models and model.typical_cost[j] <= ceiling]
        if not columns:
            raise RouterFileError(f"rule {rule.name}: learned router {saved.name!r} knows none of the fleet's models "
                                  f"({', '.join(model.models)}); train it with --models of this fleet")
        self.name = saved.name
        self.saved_models = tuple(model.models)
        self.models = tuple(model.models[j] for j in columns)
        self.bits = model.bits
        # Plain Python numbers: for a handful of models a decision is a few dozen additions, and
        # numpy's per-call overhead would cost more than the arithmetic (≤ 50 µs a decision).
        words = model.words[:, columns]
        used = np.where(np.any(words != 0, axis=1))[0]
        self.rows: dict[int, tuple[float, ...]] = {int(b): tuple(words[b].tolist()) for b in used}
        self.shape_columns = [tuple(model.shape[:, j].tolist()) for j in columns]
        self.intercepts = model.intercept[columns].tolist()
        self.links = None if model.link is None else [tuple(model.link[j].tolist()) for j in columns]
        # Past a few models numpy's one call per step beats Python's loop per model.
        # Words and shape in one matrix: a decision is then one gather and one product.
        self.dense = (np.vstack([words, model.shape[:, columns]]), model.intercept[columns]) \
            if len(columns) > _PYTHON_UP_TO else None
        self.link_columns = None if model.link is None else (model.link[columns, 0], model.link[columns, 1])
        self.shape_rows = list(range(1 << model.bits, (1 << model.bits) + features.N_SHAPE))
        cost = model.typical_cost[columns]
        self.relative_cost = (cost / (float(np.mean(model.typical_cost)) or 1.0)).tolist()

    def predict(self, prompt: str, category: str = "") -> list[float]:
        buckets, weight, shape, cat = features.one(prompt, category, self.bits)
        if self.dense is not None:
            matrix, intercept = self.dense
            rows, values = buckets + self.shape_rows, [weight] * len(buckets) + shape
            if cat >= 0:
                rows, values = [*rows, cat], [*values, features.CATEGORY_WEIGHT]
            raw = np.dot(values, matrix[rows]) + intercept
            if self.link_columns is None:
                return np.clip(raw, 0.0, 1.0).tolist()  # type: ignore[no-any-return]
            slope, offset = self.link_columns
            return (1.0 / (1.0 + np.exp(-np.clip(slope * raw + offset, -LINK_RANGE, LINK_RANGE)))).tolist()  # type: ignore[no-any-return]
        get = self.rows.get
        found = [row for b in buckets if (row := get(b)) is not None]
        sums = [sum(column) for column in zip(*found, strict=True)] if found else [0.0] * len(self.models)
        intercepts = self.intercepts
        if cat >= 0 and (by_category := get(cat)) is not None:
            intercepts = [b + features.CATEGORY_WEIGHT * c for b, c in zip(intercepts, by_category, strict=True)]
        raw = [b + weight * s + sum(map(mul, shape, sc)) for b, s, sc in zip(intercepts, sums, self.shape_columns, strict=True)]
        if self.links is None:
            return [min(1.0, max(0.0, r)) for r in raw]
        return [_sigmoid(a * r + o) for r, (a, o) in zip(raw, self.links, strict=True)]

    def choose(self, prompt: str, category: str, available: Collection[str], steps: int) -> tuple[list[str], LearnedChoice]:
        """Available models best first (`steps` down the budget curve), and the evidence."""
        quality = self.predict(prompt, category)
        step = min(steps, len(self.weights) - 1)
        weight = self.weights[step]
        if weight == REFERENCE_FIRST:
            utility = [q + (2.0 if m == self.reference else 0.0) for q, m in zip(quality, self.models, strict=True)]
        else:
            utility = [q - weight * c for q, c in zip(quality, self.relative_cost, strict=True)]
        # Tuples sort in C; ties (equal utility) fall to the model id, so the order is stable.
        ranked = sorted(((u, m, q) for u, m, q in zip(utility, self.models, quality, strict=True) if m in available),
                        reverse=True)
        evidence = LearnedChoice(self.name, self.target, weight, step, tuple((m, q) for _, m, q in ranked))
        return [m for _, m, _ in ranked], evidence


def _sigmoid(z: float) -> float:
    z = min(LINK_RANGE, max(-LINK_RANGE, z))  # as QualityModel.linked: exp never overflows
    return 1.0 / (1.0 + math.exp(-z))


def _weights(rule: RoutingRule, saved: SavedRouter) -> tuple[str, tuple[float, ...], str | None]:
    """The rule's target as text, its price weight per budget step, and its reference model."""
    if rule.price_weight is not None:
        w = rule.price_weight
        return f"price weight {w:g}", (w, w * 3 or 0.1, w * 10 or 0.3), None
    if rule.quality_target is not None:
        share, reference = parse_quality_target(rule.quality_target)
        if reference not in saved.model.models:
            raise RouterFileError(f"rule {rule.name}: quality_target names {reference}, which learned router "
                                  f"{saved.name!r} was not trained on ({', '.join(saved.model.models)})")
    else:
        share, reference = PROFILES[rule.profile or "balanced"], saved.default_reference
    steps = [share, *sorted((t for t in TARGETS if t < share - 1e-9), reverse=True)[:2]]
    # No price weight reached a target on held-out logs: the reference itself does, so that step
    # sends every call to it (REFERENCE_FIRST), exactly as calibration measured it.
    weights = [found if (found := saved.price_weight_for(reference, s)) is not None else REFERENCE_FIRST
               for s in steps]
    return f"{share:.0%} of {reference}", tuple(weights), reference


def load_targets(rules: list[RoutingRule], routers_dir: Path | None, fleet_models: Collection[str]) -> dict[str, LearnedTarget]:
    """Rule name → its compiled learned target, loading each router file once."""
    loaded: dict[str, SavedRouter] = {}
    out = {}
    for rule in rules:
        if rule.learned is None:
            continue
        if routers_dir is None:
            raise RouterFileError(f"rule {rule.name} routes with learned router {rule.learned!r}: give Router "
                                  "routers_dir= (the folder of NAME.router.json; Router.from_toml uses the fleet file's)")
        if rule.learned not in loaded:
            loaded[rule.learned] = load(path_for(routers_dir / "fleet.toml", rule.learned))
        out[rule.name] = LearnedTarget(rule, loaded[rule.learned], fleet_models)
    return out
