"""From predicted qualities to a choice, and the price weight that reaches a quality target.

The router picks argmax over models of (predicted quality − λ · typical cost / mean typical
cost). λ = 0 is "best predicted quality"; a large λ is "cheapest". For a target such as "95% of
the reference model's quality" λ is chosen at train time on held-out prompts (the cheapest λ
whose realised quality reaches the target), and a bootstrap over those prompts gives its
confidence interval. The same curve of (target → λ) is what budgets step down along.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from fleetui.routing.learned.samples import Table

# λ from "quality only" to "cost above all"; dense where choices change.
PRICE_WEIGHTS: tuple[float, ...] = (0.0, *(float(x) for x in np.round(np.geomspace(1e-4, 1e3, 141), 6)))
TARGETS = (0.80, 0.85, 0.90, 0.95, 0.97, 0.99, 1.0)  # shares of the reference model's quality


def choose(predicted: np.ndarray, typical_cost: np.ndarray, price_weight: float,
           allowed: np.ndarray | None = None) -> np.ndarray:
    """Index of the chosen model per prompt (predicted: prompts × models)."""
    scale = float(np.mean(typical_cost)) or 1.0
    utility = predicted - price_weight * typical_cost[None, :] / scale
    if allowed is not None:
        utility = np.where(allowed[None, :], utility, -np.inf)
    return np.argmax(utility, axis=1)


def realised(table: Table, picks: np.ndarray) -> tuple[float, float]:
    rows = np.arange(len(picks))
    return float(np.mean(table.quality[rows, picks])), float(np.sum(table.cost[rows, picks]))


def affordable(typical_cost: np.ndarray, reference: int) -> np.ndarray:
    """Models no dearer than the reference: a target "95% of X" is met with X or cheaper, never
    by routing to a dearer model that would cost more than X itself."""
    return typical_cost <= typical_cost[reference] * (1 + 1e-9)


def sweep(predicted: np.ndarray, table: Table, typical_cost: np.ndarray, allowed: np.ndarray | None = None,
          weights: Sequence[float] = PRICE_WEIGHTS) -> np.ndarray:
    """(λ, realised quality, realised cost) per price weight: rows of a 3-column array."""
    return np.array([(w, *realised(table, choose(predicted, typical_cost, w, allowed))) for w in weights])


REFINE_STEPS = 12


def refined_sweep(predicted: np.ndarray, table: Table, typical_cost: np.ndarray, allowed: np.ndarray | None,
                  goals: Sequence[float]) -> np.ndarray:
    """`sweep` over PRICE_WEIGHTS plus, for each goal quality, the λ between the grid's last point
    reaching it and the next one, found by bisection (rows sorted by λ). A grid step can move a
    whole block of look-alike prompts (one category, say) at once; without this a target of 95%
    would often be met at 97% and the cost between the two thrown away."""
    curve = sweep(predicted, table, typical_cost, allowed)
    extra = []
    for goal in goals:
        row = cheapest_reaching(curve, goal)
        if row is None or row + 1 >= len(curve):
            continue
        low, high = float(curve[row, 0]), float(curve[row + 1, 0])
        for _ in range(REFINE_STEPS):
            mid = (low + high) / 2 if low == 0 else float(np.sqrt(low * high))
            point = (mid, *realised(table, choose(predicted, typical_cost, mid, allowed)))
            extra.append(point)
            if point[1] >= goal - 1e-12:
                low = mid
            else:
                high = mid
    if not extra:
        return curve
    merged = np.vstack([curve, np.array(extra)])
    _, first = np.unique(merged[:, 0], return_index=True)  # sorted by λ, each λ once
    return merged[first]


def cheapest_reaching(curve: np.ndarray, target_quality: float) -> int | None:
    """Row of the cheapest point at or above the target quality (None: no point reaches it)."""
    ok = np.where(curve[:, 1] >= target_quality - 1e-12)[0]
    if len(ok) == 0:
        return None
    return int(ok[np.argmin(curve[ok, 2])])


@dataclass(frozen=True)
class Calibration:
    reference: str
    share: float  # of the reference's quality aimed at
    price_weight: float | None  # None: no λ reaches the target on held-out prompts
    quality: float  # realised on the held-out prompts at that λ
    reference_quality: float
    cost_share: float  # of sending every held-out prompt to the reference
    quality_share_ci: tuple[float, float]  # 95% bootstrap interval of quality / reference quality
    cost_share_ci: tuple[float, float]
    price_weight_ci: tuple[float, float] | None

    def as_json(self) -> dict[str, object]:
        return {"reference": self.reference, "share": self.share, "price_weight": self.price_weight,
                "quality": round(self.quality, 4), "reference_quality": round(self.reference_quality, 4),
                "cost_share": round(self.cost_share, 4),
                "quality_share_ci": [round(v, 4) for v in self.quality_share_ci],
                "cost_share_ci": [round(v, 4) for v in self.cost_share_ci],
                "price_weight_ci": None if self.price_weight_ci is None else list(self.price_weight_ci)}


def calibrate(predicted: np.ndarray, held_out: Table, typical_cost: np.ndarray, reference: int, share: float,
              *, boots: int = 200, seed: int = 0) -> Calibration:
    """The cheapest λ reaching `share` of the reference's quality on `held_out`, with bootstrap
    intervals: of λ itself (re-chosen on each resample) and of the quality and cost shares the
    chosen λ gives on resamples. Resamples are multinomial counts, so every statistic of every
    resample is one matrix product (no per-resample pass over the prompts)."""
    n = len(held_out.prompts)
    allowed = affordable(typical_cost, reference)
    grid = tuple(refined_sweep(predicted, held_out, typical_cost, allowed,
                               [share * float(np.mean(held_out.quality[:, reference]))])[:, 0].tolist())
    picks = np.array([choose(predicted, typical_cost, w, allowed) for w in grid])  # weights × prompts
    rows = np.arange(n)
    q_by = held_out.quality[rows[None, :], picks]  # weights × prompts
    c_by = held_out.cost[rows[None, :], picks]
    ref_q, ref_c = held_out.quality[:, reference], held_out.cost[:, reference]
    weights = np.asarray(grid)

    def cheapest(q: np.ndarray, c: np.ndarray, goal: np.ndarray) -> np.ndarray:
        """Per column (resample), the row of the cheapest weight reaching the goal; -1: none."""
        masked = np.where(q >= goal[None, :] - 1e-12, c, np.inf)
        best = np.argmin(masked, axis=0)
        return np.where(np.isfinite(masked[best, np.arange(masked.shape[1])]), best, -1)

    chosen = int(cheapest(q_by.mean(axis=1)[:, None], c_by.sum(axis=1)[:, None], np.array([share * ref_q.mean()]))[0])
    counts = np.random.default_rng(seed).multinomial(n, np.full(n, 1 / n), size=boots).astype(float)  # boots × prompts
    q_boot, c_boot = q_by @ counts.T / n, c_by @ counts.T  # weights × boots
    ref_mean, ref_cost = counts @ ref_q / n, counts @ ref_c
    again = cheapest(q_boot, c_boot, share * ref_mean)
    if chosen < 0:  # no routing reaches the target: the router sends every call to the reference
        q_by, c_by = np.vstack([q_by, ref_q]), np.vstack([c_by, ref_c])
        q_boot, c_boot = np.vstack([q_boot, ref_mean]), np.vstack([c_boot, ref_cost])
    row = chosen if chosen >= 0 else len(q_by) - 1
    with np.errstate(all="ignore"):
        q_shares = np.where(ref_mean > 0, q_boot[row] / ref_mean, 1.0)
        c_shares = np.where(ref_cost > 0, c_boot[row] / ref_cost, 0.0)
    finite = weights[again[again >= 0]]
    return Calibration(
        reference=held_out.models[reference], share=share,
        price_weight=grid[chosen] if chosen >= 0 else None,
        quality=float(q_by[row].mean()), reference_quality=float(ref_q.mean()),
        cost_share=float(c_by[row].sum() / ref_c.sum()) if ref_c.sum() else 0.0,
        quality_share_ci=_interval(q_shares), cost_share_ci=_interval(c_shares),
        price_weight_ci=(float(np.percentile(finite, 2.5)), float(np.percentile(finite, 97.5))) if len(finite) else None,
    )


def _interval(values: np.ndarray) -> tuple[float, float]:
    return float(np.percentile(values, 2.5)), float(np.percentile(values, 97.5))


def curve_for(predicted: np.ndarray, held_out: Table, typical_cost: np.ndarray, reference: int) -> dict[str, float | None]:
    """λ per target share of the reference's quality ("0.95" → λ), no bootstrap: the curve saved
    for every reference model, which rules and budget step-downs read."""
    allowed = affordable(typical_cost, reference)
    ref_q = float(np.mean(held_out.quality[:, reference]))
    curve = refined_sweep(predicted, held_out, typical_cost, allowed, [share * ref_q for share in TARGETS])
    out: dict[str, float | None] = {}
    for share in TARGETS:
        row = cheapest_reaching(curve, share * ref_q)
        out[f"{share:.2f}"] = None if row is None else float(curve[row, 0])
    return out
