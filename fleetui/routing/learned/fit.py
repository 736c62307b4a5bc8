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
LINK_RANGE = 40.0  # σ(±40) is 0 or 1 to 17 digits; beyond it exp() would only risk overflowing


@dataclass
class QualityModel:
    """Predicted quality of each model on a prompt: a score intercept + words·W + shape·S, then
    each model's link σ(slope · score + offset), or the score clipped to 0..1 without one.

    Why a link: a linear score says how hard a prompt looks, but what a router needs is the gain
    of the strong model over the weak one, and that vanishes at both ends — the easiest prompts
    every model gets right, the hardest none does. A per-model logistic link fitted on
    predictions for prompts the scores were not fitted on (`fit_links`) gives the gain that
    shape; on synthetic graded sets it cut the cost at 95% of the strong model by 1–4 points
    (benchmarks/README.md)."""

    bits: int
    models: list[str]
    intercept: np.ndarray  # models
    words: np.ndarray  # 2^bits × models (dense in memory: 0.5 MB a model; sparse in the file)
    shape: np.ndarray  # N_SHAPE × models
    typical_cost: np.ndarray  # mean USD per call, models
    alphas: list[float]
    link: np.ndarray | None = None  # models × (slope, offset); None: clip the score

    def scores(self, texts: Sequence[str], categories: Sequence[str]) -> np.ndarray:
        """prompts × models, before the link."""
        words, shapes = features.matrix(texts, categories, self.bits)
        return np.asarray(words @ self.words) + shapes @ self.shape + self.intercept  # type: ignore[no-any-return, operator]

    def linked(self, raw: np.ndarray) -> np.ndarray:
        if self.link is None:
            return np.clip(raw, 0.0, 1.0)
        z = np.clip(self.link[:, 0] * raw + self.link[:, 1], -LINK_RANGE, LINK_RANGE)  # exp never overflows
        return 1.0 / (1.0 + np.exp(-z))  # type: ignore[no-any-return]

    def predict(self, texts: Sequence[str], categories: Sequence[str]) -> np.ndarray:
        """prompts × models."""
        return self.linked(self.scores(texts, categories))

    def predict_one(self, text: str, category: str = "") -> np.ndarray:
        buckets, weight, shape, cat = features.one(text, category, self.bits)
        raw = self.intercept + np.asarray(shape) @ self.shape
        if buckets:
            raw = raw + self.words[buckets].sum(axis=0) * weight
        if cat >= 0:
            raw = raw + self.words[cat] * features.CATEGORY_WEIGHT
        return self.linked(raw)


MAX_SLOPE = 100.0
MAX_OFFSET = 30.0


def fit_links(raw: np.ndarray, quality: np.ndarray) -> np.ndarray:
    """Per model, the logistic link σ(slope · score + offset) that best predicts its quality
    (cross-entropy, which takes soft labels such as 0.7 as well as 0/1) from scores of prompts
    the scores were not fitted on (raw, quality: prompts × models, NaN where a model did not
    answer). The slope is kept ≥ 0: a link never turns a better score into a worse quality."""
    from scipy.optimize import minimize  # type: ignore[import-untyped]

    out = np.zeros((raw.shape[1], 2))
    for j in range(raw.shape[1]):
        ok = ~np.isnan(quality[:, j])
        s, y = raw[ok, j], np.clip(quality[ok, j], 0.0, 1.0)
        if len(y) == 0:
            continue

        def loss(p: np.ndarray, s: np.ndarray = s, y: np.ndarray = y) -> tuple[float, np.ndarray]:
            z = p[0] * s + p[1]
            # log σ(z) and log(1 − σ(z)) without overflow: −softplus(−z) and −softplus(z).
            value = float(np.mean(y * np.logaddexp(0.0, -z) + (1 - y) * np.logaddexp(0.0, z)))
            residual = 1.0 / (1.0 + np.exp(-z)) - y
            return value, np.array([np.mean(residual * s), np.mean(residual)])

        mean = float(np.mean(y))
        start = np.array([4.0, float(np.log((mean + 1e-3) / (1 - mean + 1e-3))) - 4.0 * float(np.mean(s))])
        found = minimize(loss, start, jac=True, method="L-BFGS-B",
                         bounds=[(0.0, MAX_SLOPE), (-MAX_OFFSET, MAX_OFFSET)])
        out[j] = found.x
    return out


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
