"""How a learned router is measured on prompts it never saw, beside what it must beat.

At 90/95/99% of a reference model's quality: the cost of the router (λ chosen on a calibration
half of the held-out prompts, measured on the other half), of random routing between the
reference and the cheapest model, of the cheapest single model that reaches the target, of the
router's ranking with its threshold picked on the test half (RouteLLM's CPT), of a
per-category lookup table (the same calibration over per-category mean qualities) and of the
oracle (which knows every answer's quality). Costs are shares of sending every prompt to the
reference. APGR follows RouteLLM (arXiv 2406.18665) for the reference/cheapest pair.
"""

from __future__ import annotations

import warnings
from collections import defaultdict
from typing import Any

import numpy as np

from fleetui.routing.learned.calibrate import affordable, cheapest_reaching, choose, realised, refined_sweep, sweep
from fleetui.routing.learned.samples import Table

EVAL_SHARES = (0.90, 0.95, 0.99)


def _nanmean(values: np.ndarray) -> np.ndarray:
    # A model with no answer in a category is NaN here (filled in by the caller); numpy warns
    # about that through `warnings`, which np.errstate does not reach, and a user would see it.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(values, axis=0)


def category_table(train: Table, held_out: Table) -> np.ndarray:
    """Per-category mean quality per model on the training prompts, as predictions."""
    overall = np.nan_to_num(_nanmean(train.quality), nan=0.5)
    rows: dict[str, list[int]] = defaultdict(list)
    for i, c in enumerate(train.categories):
        rows[c].append(i)
    means = {}
    for c, index in rows.items():
        m = _nanmean(train.quality[index])
        means[c] = np.where(np.isnan(m), overall, m)
    return np.array([means.get(c, overall) for c in held_out.categories]).reshape(len(held_out.prompts), -1)


def at_shares(predicted_calib: np.ndarray, calib: Table, predicted_test: np.ndarray, test: Table,
              typical_cost: np.ndarray, reference: int) -> list[dict[str, Any]]:
    """Per target share: λ on the calibration half, then quality and cost share on the test half."""
    allowed = affordable(typical_cost, reference)
    ref_q_calib = float(np.mean(calib.quality[:, reference]))
    calib_curve = refined_sweep(predicted_calib, calib, typical_cost, allowed, [s * ref_q_calib for s in EVAL_SHARES])
    ref_q, ref_cost = float(np.mean(test.quality[:, reference])), float(np.sum(test.cost[:, reference]))
    out = []
    for share in EVAL_SHARES:
        row = cheapest_reaching(calib_curve, share * ref_q_calib)
        weight = float(calib_curve[row, 0]) if row is not None else None
        if weight is None:  # no routing reached the target: every call goes to the reference, as routing does
            q, c = ref_q, ref_cost
        else:
            q, c = realised(test, choose(predicted_test, typical_cost, weight, allowed))
        out.append({"share": share, "price_weight": weight, "quality_share": round(q / ref_q, 4) if ref_q else None,
                    "cost_share": round(c / ref_cost, 4) if ref_cost else None})
    return out


def quality_share_se(test: Table, reference: int) -> float | None:
    """One standard error of a mean quality on the test half, as a share of the reference's: how
    far a figure measured there may sit from the truth by chance alone (a target calibrated
    exactly is missed on the test half about half the time, by about this much)."""
    q = test.quality[:, reference]
    mean = float(np.mean(q))
    return round(float(np.std(q, ddof=1) / np.sqrt(len(q)) / mean), 4) if mean > 0 and len(q) > 1 else None


def ranking_only(predicted_test: np.ndarray, test: Table, typical_cost: np.ndarray, reference: int) -> list[dict[str, Any]]:
    """Per target share, the cost share of the router's ranking with the threshold picked on the
    test half itself, as RouteLLM's CPT is measured: what the ranking is worth, comparable with
    published figures, but not a promise (the calibrated figure is what routing will do)."""
    allowed = affordable(typical_cost, reference)
    ref_q, ref_cost = float(np.mean(test.quality[:, reference])), float(np.sum(test.cost[:, reference]))
    curve = refined_sweep(predicted_test, test, typical_cost, allowed, [s * ref_q for s in EVAL_SHARES])
    out = []
    for share in EVAL_SHARES:
        row = cheapest_reaching(curve, share * ref_q)
        out.append({"share": share, "cost_share": _share(curve[row, 2], ref_cost) if row is not None else 1.0})
    return out


def baselines(test: Table, reference: int, cheapest: int) -> dict[str, list[dict[str, Any]]]:
    ref_q, ref_cost = float(np.mean(test.quality[:, reference])), float(np.sum(test.cost[:, reference]))
    mean_q, total_c = np.mean(test.quality, axis=0), np.sum(test.cost, axis=0)
    known = np.where(np.isnan(test.quality), -np.inf, test.quality)
    mean_cost = np.nanmean(test.cost, axis=0)
    oracle_curve = refined_sweep(known, test, mean_cost, None, [s * ref_q for s in EVAL_SHARES])
    out: dict[str, list[dict[str, Any]]] = {"random": [], "best_single": [], "oracle": []}
    for share in EVAL_SHARES:
        goal = share * ref_q
        gap = mean_q[reference] - mean_q[cheapest]
        p = 1.0 if gap <= 0 else float(np.clip((goal - mean_q[cheapest]) / gap, 0, 1))
        out["random"].append({"share": share, "cost_share": _share(p * total_c[reference] + (1 - p) * total_c[cheapest], ref_cost),
                              "to_reference": round(p, 4)})
        reaching = [j for j in range(len(test.models)) if mean_q[j] >= goal - 1e-12]
        best = min(reaching, key=lambda j: total_c[j]) if reaching else reference
        out["best_single"].append({"share": share, "model": test.models[best],
                                   "cost_share": _share(total_c[best], ref_cost)})
        row = cheapest_reaching(oracle_curve, goal)
        out["oracle"].append({"share": share, "cost_share": _share(oracle_curve[row, 2], ref_cost) if row is not None else None})
    return out


def _share(cost: float, ref_cost: float) -> float | None:
    return round(float(cost) / ref_cost, 4) if ref_cost else None


def apgr(test: Table, predicted: np.ndarray, strong: int, weak: int) -> dict[str, float]:
    """Area under PGR against the share of calls sent to the strong model; router, oracle, random."""
    qs, qw = test.quality[:, strong], test.quality[:, weak]
    gap = float(np.mean(qs) - np.mean(qw))

    def area(scores: np.ndarray) -> float:
        if not gap:
            return 0.0
        order = np.argsort(-scores, kind="stable")
        gains = np.concatenate([[0.0], np.cumsum((qs - qw)[order])]) / len(qs) / gap
        return float(np.sum((gains[1:] + gains[:-1]) / 2) / len(qs))

    rng = np.random.default_rng(0)
    return {"router": round(area(predicted[:, strong] - predicted[:, weak]), 4),
            "oracle": round(area(qs - qw), 4), "random": round(area(rng.random(len(qs))), 4)}


def at_cost_of(predicted_calib: np.ndarray, calib: Table, predicted_test: np.ndarray, test: Table,
               typical_cost: np.ndarray, single: int) -> dict[str, Any]:
    """The router's quality at no more than one model's cost: λ with the best quality within
    that cost on the calibration half, measured on the test half, as shares of that model's."""
    curve = sweep(predicted_calib, calib, typical_cost)
    within = np.where(curve[:, 2] <= float(np.sum(calib.cost[:, single])) * (1 + 1e-9))[0]
    row = int(within[np.argmax(curve[within, 1])]) if len(within) else None
    single_q, single_c = float(np.mean(test.quality[:, single])), float(np.sum(test.cost[:, single]))
    # Routing only where it beat the model itself on the calibration half; else the model alone.
    if row is None or curve[row, 1] <= float(np.mean(calib.quality[:, single])):
        return {"model": test.models[single], "price_weight": None, "quality_share": 1.0, "cost_share": 1.0}
    q, c = realised(test, choose(predicted_test, typical_cost, float(curve[row, 0])))
    return {"model": test.models[single], "price_weight": float(curve[row, 0]),
            "quality_share": round(q / single_q, 4) if single_q else None,
            "cost_share": round(c / single_c, 4) if single_c else None}
