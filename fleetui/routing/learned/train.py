"""Train, calibrate and measure a learned router: the one pipeline `router train`, `router eval`
and `bench routing` share.

Prompts are split by a seeded shuffle: 70% train (any prompt, even one only some models
answered), 30% held out among the prompts every chosen model answered (only those say what
another choice would have given). The held-out prompts are halved: λ is calibrated on one half,
the figures reported are measured on the other, which nothing else ever sees.

A small log gives a small calibration half (120 prompts of AlpacaEval's 805), too few to hold a
target on the test half (2 of 5 seeds missed 95%). Below CROSS_FIT_BELOW calibration prompts the
router is therefore cross-fitted: every prompt but the test half is predicted by a model fitted
without its fold, λ is calibrated on all those out-of-fold predictions (5.7× the prompts on
AlpacaEval), and the saved model is fitted on all of them.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from fleetui.routing.learned import calibrate, evaluation
from fleetui.routing.learned.fileformat import SavedRouter
from fleetui.routing.learned.fit import fit, fit_links
from fleetui.routing.learned.samples import DataError, Sample, Table

MIN_CALLS_PER_MODEL = 10
MIN_HELD_OUT = 20  # prompts every model answered, to calibrate on and to measure on
PROFILES = {"economy": 0.90, "balanced": 0.95, "quality": 0.99}
CROSS_FIT_BELOW = 5000  # calibration prompts; above it one fit on the training share is enough
FOLDS = 5


def split_summary(data: dict[str, Any]) -> str:
    """How a router's prompts were used, in words (train, calibration, test)."""
    if data.get("cross_fitted_folds"):
        return (f"trained on {data['train_prompts']} prompts; calibrated on {data['calibration_prompts']} of them, "
                f"each predicted by a fit without it ({data['cross_fitted_folds']} folds); measured on "
                f"{data['test_prompts']} held out")
    return (f"trained on {data['train_prompts']} prompts; held out {data['calibration_prompts']} to calibrate + "
            f"{data['test_prompts']} to measure")


def prepare(samples: Sequence[Sample], models: Sequence[str] | None) -> Table:
    if not samples:
        raise DataError("no labelled calls to learn from")
    known = sorted({s.model for s in samples})
    if models:
        unknown = [m for m in models if m not in known]
        if unknown:
            raise DataError(f"--models: {', '.join(unknown)} has no labelled calls; models with some: {', '.join(known)}")
        samples = [s for s in samples if s.model in set(models)]
    table = Table.of(samples, sorted(set(models)) if models else None)
    if len(table.models) < 2:
        raise DataError(f"labelled calls of {len(table.models)} model(s) ({', '.join(table.models)}): "
                        "a router chooses among two or more")
    counts = {m: int((~np.isnan(table.quality[:, j])).sum()) for j, m in enumerate(table.models)}
    few = {m: n for m, n in counts.items() if n < MIN_CALLS_PER_MODEL}
    if few:
        listed = ", ".join(f"{m} ({n})" for m, n in few.items())
        raise DataError(f"too little data: {listed} labelled call(s); each model needs at least "
                        f"{MIN_CALLS_PER_MODEL} (widen --since or leave it out with --models)")
    return table


def split(table: Table, seed: int, test_fraction: float = 0.3) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(train rows, calibration rows, test rows)."""
    rng = np.random.default_rng(seed)
    complete = table.complete()
    held = rng.permutation(complete)[: round(len(complete) * test_fraction)]
    if len(held) < MIN_HELD_OUT:
        raise DataError(f"too little data: {len(complete)} prompt(s) answered by every model "
                        f"({', '.join(table.models)}); at least {int(np.ceil(MIN_HELD_OUT / test_fraction))} are "
                        "needed so that a share can be held out to calibrate and measure on")
    train = np.setdiff1d(np.arange(len(table.prompts)), held)
    half = len(held) // 2
    return train, held[:half], held[half:]


def train_router(samples: Sequence[Sample], *, name: str, models: Sequence[str] | None = None,
                 reference: str | None = None, weak: str | None = None, seed: int = 0, test_fraction: float = 0.3,
                 data: dict[str, Any] | None = None, boots: int = 200) -> SavedRouter:
    started = time.perf_counter()
    table = prepare(samples, models)
    train_rows, calib_rows, test_rows = split(table, seed, test_fraction)
    cross_fit = len(calib_rows) < CROSS_FIT_BELOW
    if cross_fit:
        train_rows = np.sort(np.concatenate([train_rows, calib_rows]))
    train = table.rows(train_rows)
    model = fit(train, seed=seed)
    if cross_fit:
        # Out-of-fold scores for every prompt but the test half: the links are fitted on all of
        # them, λ is calibrated on the complete ones.
        raw_fit, lookup_fit = _out_of_fold(table, train_rows, seed, model.alphas)
        model.link = fit_links(raw_fit, train.quality)
        complete = np.isin(train_rows, table.complete())
        calib_rows, raw_calib, lookup_c = train_rows[complete], raw_fit[complete], lookup_fit[complete]
    calib, test = table.rows(calib_rows), table.rows(test_rows)
    if not cross_fit:
        # The calibration half is the one share the scores never saw: the links are fitted there.
        raw_calib, lookup_c = model.scores(calib.texts, calib.categories), evaluation.category_table(train, calib)
        model.link = fit_links(raw_calib, calib.quality)
    p_calib = model.linked(raw_calib)
    with np.errstate(all="ignore"):
        mean_q = np.nanmean(train.quality, axis=0)
    if reference is not None and reference not in table.models:
        raise DataError(f"--reference {reference!r} is not among the models: {', '.join(table.models)}")
    ref = table.models.index(reference) if reference else int(np.argmax(mean_q))
    for option, value in (("--weak", weak),):
        if value is not None and value not in table.models:
            raise DataError(f"{option} {value!r} is not among the models: {', '.join(table.models)}")
    # APGR is for the reference against the cheapest model unless told another weak model.
    cheapest = table.models.index(weak) if weak else int(np.argmin(model.typical_cost))
    p_test = model.predict(test.texts, test.categories)
    calibrations = [calibrate.calibrate(p_calib, calib, model.typical_cost, ref, share, boots=boots, seed=seed).as_json()
                    for share in sorted(set(PROFILES.values()))]
    lookup_t = evaluation.category_table(train, test)
    metrics: dict[str, Any] = {
        "reference": table.models[ref], "weak": table.models[cheapest],
        "router": evaluation.at_shares(p_calib, calib, p_test, test, model.typical_cost, ref),
        "router_ranking_only": evaluation.ranking_only(p_test, test, model.typical_cost, ref),
        "test_quality_se": evaluation.quality_share_se(test, ref),
        "category_table": evaluation.at_shares(lookup_c, calib, lookup_t, test, model.typical_cost, ref),
        **evaluation.baselines(test, ref, cheapest),
        "at_best_single_cost": evaluation.at_cost_of(p_calib, calib, p_test, test, model.typical_cost,
                                                     int(np.argmax(mean_q))),
        "apgr": evaluation.apgr(test, p_test, ref, cheapest) if ref != cheapest else None,
        "mean_abs_error": {m: round(float(np.mean(np.abs(p_test[:, j] - test.quality[:, j]))), 4)
                           for j, m in enumerate(table.models)},
        "single_models": {m: {"quality": round(float(np.mean(test.quality[:, j])), 4),
                              "cost_usd": round(float(np.sum(test.cost[:, j])), 6)} for j, m in enumerate(table.models)},
    }
    # The saved curves use every held-out prompt: more evidence than either half alone.
    held = table.rows(np.concatenate([calib_rows, test_rows]))
    p_held = np.vstack([p_calib, p_test])
    curves = {m: calibrate.curve_for(p_held, held, model.typical_cost, j) for j, m in enumerate(table.models)}
    meta: dict[str, Any] = {
        "trained_at": round(time.time(), 3),
        "data": {**(data or {}), "prompts": len(table.prompts), "train_prompts": len(train_rows),
                 "calibration_prompts": len(calib_rows), "test_prompts": len(test_rows), "seed": seed,
                 "cross_fitted_folds": FOLDS if cross_fit else None,
                 "missing_calls_by_model": table.missing_by_model()},
        "default_reference": table.models[ref], "profiles": PROFILES,
        "calibration": calibrations, "curves": curves, "metrics": metrics,
        "train_seconds": round(time.perf_counter() - started, 2),
    }
    return SavedRouter(name, model, meta)


def _out_of_fold(table: Table, rows: np.ndarray, seed: int, alphas: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """Scores of the router (before its link) and predictions of the per-category table for
    `rows`, each from a fit on the other folds (rows × models each). The folds reuse the full fit's penalties: one solve
    per model and fold, so cross-fitting costs about one more fit, not five."""
    fold_of = np.random.default_rng(seed + 1).permutation(len(rows)) % FOLDS
    router = np.empty((len(rows), len(table.models)))
    lookup = np.empty_like(router)
    for k in range(FOLDS):
        inside, outside = rows[fold_of != k], fold_of == k
        if not outside.any():
            continue
        fold_train, held = table.rows(inside), table.rows(rows[outside])
        router[outside] = fit(fold_train, seed=seed, alphas=alphas).scores(held.texts, held.categories)
        lookup[outside] = evaluation.category_table(fold_train, held)
    return router, lookup
