"""Fitting per-model quality predictors on hashed prompt features, at scale.

One ridge regression per model over its own calls only (a call log rarely has every model on
every prompt). The solver is conjugate gradients on the sparse matrix (scikit-learn's
`sparse_cg`): memory grows with the number of non-zeros, never with n², so 100,000 prompts fit
in well under 1 GB (`benchmarks/bench_learned_train.py`). The penalty is chosen per model on a
seeded validation slice of the training prompts, never on the prompts the router is measured on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from fleetui.routing.learned import features
from fleetui.routing.learned.samples import Table

ALPHAS = (0.3, 1.0, 3.0, 10.0)
_INTERCEPT_COLUMN = 10.0
SHAPE_WEIGHT = 0.3  # the form of a prompt counts, but less than its words


@dataclass
class QualityModel:
    """Predicted quality of each model on a prompt: intercept + words·W + shape·S, clipped to 0..1."""

    bits: int
    models: list[str]
    intercept: np.ndarray  # models
    words: np.ndarray  # 2^bits × models (dense in memory: 0.5 MB a model; sparse in the file)
    shape: np.ndarray  # N_SHAPE × models
    typical_cost: np.ndarray  # mean USD per call, models
    alphas: list[float]

    def predict(self, texts: Sequence[str], categories: Sequence[str]) -> np.ndarray:
        """prompts × models."""
        words, shapes = features.matrix(texts, categories, self.bits)
        raw = np.asarray(words @ self.words) + shapes @ self.shape + self.intercept  # type: ignore[operator]
        return np.clip(raw, 0.0, 1.0)

    def predict_one(self, text: str, category: str = "") -> np.ndarray:
        buckets, weight, shape, cat = features.one(text, category, self.bits)
        raw = self.intercept + np.asarray(shape) @ self.shape
        if buckets:
            raw = raw + self.words[buckets].sum(axis=0) * weight
        if cat >= 0:
            raw = raw + self.words[cat] * features.CATEGORY_WEIGHT
        return np.clip(raw, 0.0, 1.0)


def fit(train: Table, *, bits: int = features.DEFAULT_BITS, seed: int = 0,
        alphas: Sequence[float] | None = None) -> QualityModel:
    """`alphas`: one penalty per model, chosen already (cross-fitting reuses the full fit's), so
    the search over ALPHAS is skipped."""
    from scipy.sparse import csr_matrix, hstack  # type: ignore[import-untyped]

    words, shapes = features.matrix(train.texts, train.categories, bits)
    mean, scale = shapes.mean(axis=0), shapes.std(axis=0)
    scale[scale == 0] = 1.0
    standard = (shapes - mean) / scale * SHAPE_WEIGHT
    x = hstack([words, csr_matrix(standard)]).tocsr()
    k = len(train.models)
    intercept = np.zeros(k)
    word_w = np.zeros((1 << bits, k))
    shape_w = np.zeros((features.N_SHAPE, k))
    chosen: list[float] = []
    rng = np.random.default_rng(seed)
    for j in range(k):
        rows = np.where(~np.isnan(train.quality[:, j]))[0]
        y = train.quality[rows, j]
        if alphas is not None:
            alpha = alphas[j]
        else:
            alpha = _choose_alpha(x[rows], y, rng) if len(rows) >= 20 else ALPHAS[1]
        b, coef = _ridge(x[rows], y, alpha)
        intercept[j] = b
        word_w[:, j] = coef[: 1 << bits]
        # Fold the standardisation into the weights so routing uses raw shape features.
        shape_coef = coef[1 << bits:] * SHAPE_WEIGHT / scale
        shape_w[:, j] = shape_coef
        intercept[j] -= float(shape_coef @ mean)
        chosen.append(alpha)
    with np.errstate(all="ignore"):
        typical = np.nanmean(train.cost, axis=0)
    return QualityModel(bits, list(train.models), intercept, word_w, shape_w, np.nan_to_num(typical), chosen)


def _ridge(x: Any, y: np.ndarray, alpha: float) -> tuple[float, np.ndarray]:
    """Ridge by LSQR on [X, c·1] with damping √α: each iteration is one product with X and one
    with Xᵀ, so time and memory follow the non-zeros. The constant column c·1 is the intercept;
    with c = 10 its penalty is 1/100 of a word's, close enough to unpenalised."""
    from scipy.sparse import csr_matrix, hstack
    from scipy.sparse.linalg import lsqr  # type: ignore[import-untyped]

    if len(y) == 0:
        return 0.5, np.zeros(x.shape[1])
    mean = float(np.mean(y))
    ones = csr_matrix(np.full((x.shape[0], 1), _INTERCEPT_COLUMN))
    solution = lsqr(hstack([x, ones]).tocsr(), y - mean, damp=float(np.sqrt(alpha)), atol=1e-5, btol=1e-5,
                    iter_lim=300)[0]
    return mean + float(solution[-1]) * _INTERCEPT_COLUMN, np.asarray(solution[:-1], dtype=float)


def _choose_alpha(x: Any, y: np.ndarray, rng: np.random.Generator) -> float:
    order = rng.permutation(len(y))
    cut = max(1, int(len(y) * 0.8))
    fit_rows, check_rows = order[:cut], order[cut:]
    best, best_error = ALPHAS[1], float("inf")
    for alpha in ALPHAS:
        b, coef = _ridge(x[fit_rows], y[fit_rows], alpha)
        predicted = np.clip(x[check_rows] @ coef + b, 0, 1)
        error = float(np.mean((predicted - y[check_rows]) ** 2))
        if error < best_error:
            best, best_error = alpha, error
    return best
