"""A router learned from logged calls with a quality value, and how it is measured.

The default router (`RidgeRouter`) predicts each model's quality on a new prompt with a ridge
regression over the prompt's words (TF-IDF) and a few features of its shape (length, mean word
length, lines, code characters, whether it asks for something brief, a table, a story, ...); the
regularisation is chosen per model by leave-one-out cross-validation on the training prompts only.
`KnnRouter`, the first version, averages the qualities of the k most similar training prompts
instead (TF-IDF, cosine). Either way a price weight λ trades quality against cost: the router
picks argmax(quality − λ·cost / typical cost). Sweeping λ draws its quality/cost curve.

Metrics follow RouteLLM (arXiv 2406.18665): for a strong model S and a weak model W, PGR =
(q_router − q_W) / (q_S − q_W); APGR is the mean PGR over the share of calls sent to S (a routing
threshold swept from all-W to all-S); CPT(x%) is the share of calls to S needed to reach PGR x%.
Everything is measured on prompts the router never saw (a seeded split).
"""

from __future__ import annotations

import json
import random
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Sample:
    prompt_id: str
    prompt: str
    model: str
    quality: float
    cost: float


def read_calls(path: Path) -> list[Sample]:
    """JSONL: {"prompt_id", "prompt", "model", "quality" (0..1), "cost_usd"} per line."""
    out = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                out.append(Sample(str(row["prompt_id"]), str(row["prompt"]), str(row["model"]),
                                  float(row["quality"]), float(row["cost_usd"])))
            except (ValueError, KeyError, TypeError) as exc:
                raise ValueError(f"{path}:{number}: {exc!r}; each line needs prompt_id, prompt, model, "
                                 "quality and cost_usd") from None
    return out


@dataclass
class Table:
    """Quality and cost per (prompt, model) as dense matrices."""

    prompts: list[str]
    texts: list[str]
    models: list[str]
    quality: np.ndarray  # prompts × models, NaN where missing
    cost: np.ndarray

    @classmethod
    def of(cls, samples: Iterable[Sample]) -> Table:
        by_prompt: dict[str, dict[str, Sample]] = defaultdict(dict)
        for s in samples:
            by_prompt[s.prompt_id][s.model] = s
        models = sorted({m for row in by_prompt.values() for m in row})
        prompts = sorted(by_prompt)
        q = np.full((len(prompts), len(models)), np.nan)
        c = np.full((len(prompts), len(models)), np.nan)
        texts = []
        for i, pid in enumerate(prompts):
            row = by_prompt[pid]
            texts.append(next(iter(row.values())).prompt)
            for j, m in enumerate(models):
                if m in row:
                    q[i, j], c[i, j] = row[m].quality, row[m].cost
        return cls(prompts, texts, models, q, c)

    def rows(self, index: np.ndarray) -> Table:
        return Table([self.prompts[i] for i in index], [self.texts[i] for i in index], self.models,
                     self.quality[index], self.cost[index])


_SHAPE_PATTERNS = tuple(re.compile(p) for p in (
    r"^\s*(what|who|where|when|which|how|why|is|are|can|do|does)\b",
    r"\b(write|essay|story|poem|blog|article|explain|describe|list|ideas|tips|suggest)\b",
    r"\b(code|python|function|program|javascript|sql|regex)\b",
    r"\b(given|following|below)\b",
    r"\b(brief|briefly|short|concise|one word|one sentence|in a sentence|few words)\b",
    r"\b(summar\w*|tl;?dr)\b",
    r"\b(table|column|rows?)\b",
    r"\b(translate|translation|convert)\b",
    r"[0-9]+\s*[-+*/^=]\s*[0-9x]",
    r"\b(classify|categor\w*|identify|extract|which of)\b",
    r"\b(story|poem|essay|song|lyrics|blog|script|letter)\b",
    r"\b(how (do|can|to)|steps?|guide|tips|advice|recommend\w*)\b",
    r"\b(you are|act as|pretend|imagine|role)\b",
    r"\b(riddle|puzzle|trick|how many|what is the name)\b",
))


def prompt_shape(texts: list[str]) -> np.ndarray:
    """Features of a prompt's form rather than its topic: length, lines, characters, kind of request."""
    rows = []
    for text in texts:
        size, words, lower = max(1, len(text)), max(1, len(text.split())), text.lower()
        rows.append([
            np.log1p(len(text)), np.log1p(words), np.log1p(text.count("\n")), np.log(size / words),
            float("\n\n" in text), float("?" in text),
            sum(c.isdigit() for c in text) / size, sum(c in "{}()[];=<>" for c in text) / size,
            sum(c.isupper() for c in text) / size,
            *(float(bool(p.search(lower))) for p in _SHAPE_PATTERNS),
        ])
    return np.array(rows, dtype=float).reshape(len(texts), 9 + len(_SHAPE_PATTERNS))


class _Router:
    models: list[str]
    typical_cost: np.ndarray

    def predict(self, texts: list[str]) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def choose(self, predicted: np.ndarray, price_weight: float, allowed: list[int] | None = None) -> np.ndarray:
        scale = float(np.nanmean(self.typical_cost)) or 1.0
        utility = predicted - price_weight * self.typical_cost[None, :] / scale
        if allowed is not None:
            mask = np.full(len(self.models), -np.inf)
            mask[allowed] = 0.0
            utility = utility + mask[None, :]
        return np.argmax(utility, axis=1)


class RidgeRouter(_Router):
    """Per-model quality regressors over prompt words (TF-IDF) and prompt shape.

    One ridge regression per model, its penalty chosen among `alphas` by efficient leave-one-out
    cross-validation on the training prompts (never on the prompts it is measured on).
    """

    def __init__(self, train: Table, alphas: tuple[float, ...] = (1.0, 3.0, 10.0, 30.0, 100.0),
                 shape_weight: float = 0.3) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import RidgeCV
        from sklearn.preprocessing import StandardScaler

        self.models = train.models
        self.typical_cost = np.nanmean(train.cost, axis=0)
        self.shape_weight = shape_weight
        self.vectoriser = None
        for min_df in ((2, 1) if len(train.texts) >= 20 else (1,)):
            try:
                self.vectoriser = TfidfVectorizer(sublinear_tf=True, min_df=min_df).fit(train.texts)
                break
            except ValueError:  # empty vocabulary: no word occurs often enough
                continue
        self.scaler = StandardScaler().fit(prompt_shape(train.texts))
        overall = np.nanmean(train.quality, axis=0)
        target = np.where(np.isnan(train.quality), overall[None, :], train.quality)
        x = self._features(train.texts)
        if len(train.texts) >= 3:
            self.regressor = RidgeCV(alphas=alphas, alpha_per_target=True).fit(x, target)
        else:
            from sklearn.linear_model import Ridge

            self.regressor = Ridge(alpha=alphas[len(alphas) // 2]).fit(x, target)

    def _features(self, texts: list[str]) -> Any:
        from scipy.sparse import csr_matrix, hstack

        shape = csr_matrix(self.scaler.transform(prompt_shape(texts)) * self.shape_weight)
        if self.vectoriser is None:
            return shape
        return hstack([self.vectoriser.transform(texts), shape]).tocsr()

    def predict(self, texts: list[str]) -> np.ndarray:
        """Predicted quality, prompts × models."""
        return np.asarray(self.regressor.predict(self._features(texts)), dtype=float).reshape(len(texts), -1)


class KnnRouter(_Router):
    def __init__(self, train: Table, k: int = 20) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer

        self.models = train.models
        self.k = min(k, len(train.prompts))
        self.vectoriser = TfidfVectorizer(stop_words="english", sublinear_tf=True, min_df=1)
        self.train_matrix = self.vectoriser.fit_transform(train.texts)
        self.train_quality = train.quality
        self.overall = np.nanmean(train.quality, axis=0)
        self.typical_cost = np.nanmean(train.cost, axis=0)

    def predict(self, texts: list[str]) -> np.ndarray:
        """Predicted quality, prompts × models."""
        similarity = (self.vectoriser.transform(texts) @ self.train_matrix.T).toarray()
        nearest = np.argsort(-similarity, axis=1)[:, : self.k]
        predicted = np.empty((len(texts), len(self.models)))
        for i, neighbours in enumerate(nearest):
            values = self.train_quality[neighbours]
            with np.errstate(all="ignore"):
                means = np.nanmean(values, axis=0)
            predicted[i] = np.where(np.isnan(means), self.overall, means)
        return predicted


ROUTERS = ("ridge", "knn")
# λ from "quality only" to "cost above all" (utility = quality − λ·cost / mean cost of a call)
PRICE_WEIGHTS = (0.0, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0)


def _realised(test: Table, picks: np.ndarray) -> tuple[float, float]:
    rows = np.arange(len(picks))
    return float(np.nanmean(test.quality[rows, picks])), float(np.nansum(test.cost[rows, picks]))


def evaluate(samples: list[Sample], *, test_fraction: float = 0.3, seed: int = 0,
             strong: str | None = None, weak: str | None = None, k: int = 20,
             router: str = "ridge") -> dict[str, Any]:
    """Fit a router on a seeded share of the prompts and measure it on the rest.

    `router` is "ridge" (RidgeRouter, the default) or "knn" (KnnRouter with `k` neighbours)."""
    if router not in ROUTERS:
        raise ValueError(f"router must be one of {', '.join(ROUTERS)}")
    table = Table.of(samples)
    complete = np.where(~np.isnan(table.quality).any(axis=1))[0]  # prompts every model answered
    order = list(complete)
    if len(order) < 2:
        raise ValueError(f"{len(order)} prompt(s) answered by every model in the log: a router needs at least "
                         "2, one to learn from and one to measure on")
    random.Random(seed).shuffle(order)
    cut = min(max(int(len(order) * (1 - test_fraction)), 1), len(order) - 1)  # neither side empty
    train, test = table.rows(np.array(order[:cut])), table.rows(np.array(order[cut:]))
    fitted: _Router = KnnRouter(train, k=k) if router == "knn" else RidgeRouter(train)
    predicted = fitted.predict(test.texts)
    models = table.models
    single = {m: _realised(test, np.full(len(test.prompts), j)) for j, m in enumerate(models)}
    best_on_train = models[int(np.argmax(np.nanmean(train.quality, axis=0)))]
    best_q, best_cost = single[best_on_train]
    curve, within_budget = [], []
    known = np.where(np.isnan(test.quality), -np.inf, test.quality)  # the oracle knows each answer's quality
    for weight in PRICE_WEIGHTS:
        q, cost = _realised(test, fitted.choose(predicted, weight))
        oracle_q, oracle_cost = _realised(test, fitted.choose(known, weight))
        curve.append({"price_weight": weight, "quality": round(q, 4), "cost_usd": round(cost, 6),
                      "oracle_quality": round(oracle_q, 4), "oracle_cost_usd": round(oracle_cost, 6)})
        if cost <= best_cost * (1 + 1e-9):  # compare unrounded costs: rounding must not decide
            within_budget.append((q, curve[-1]))
    at_budget = max(within_budget, key=lambda p: p[0])[1] if within_budget else None
    rng = np.random.default_rng(seed)
    random_q, random_cost = _realised(test, rng.integers(0, len(models), len(test.prompts)))
    oracle = np.nanmax(test.quality, axis=1)
    result: dict[str, Any] = {
        "router": router, "seed": seed, "train_prompts": len(train.prompts), "test_prompts": len(test.prompts),
        "models": len(models),
        "best_single_model_on_train": best_on_train,
        "best_single": {"quality": round(best_q, 4), "cost_usd": round(best_cost, 6)},
        "router_curve": curve,
        "router_at_best_single_cost": at_budget,
        "share_of_best_quality": round(at_budget["quality"] / best_q, 4) if at_budget else None,
        "random": {"quality": round(random_q, 4), "cost_usd": round(random_cost, 6)},
        "oracle": {"quality": round(float(np.mean(oracle)), 4)},
        "single_models": {m: {"quality": round(q, 4), "cost_usd": round(c, 6)} for m, (q, c) in single.items()},
    }
    # Unless told, the pair is the strongest and the cheapest model on the training prompts.
    strong = strong or best_on_train
    weak = weak or models[int(np.argmin(np.nanmean(train.cost, axis=0)))]
    result["strong_model"], result["weak_model"] = strong, weak
    if strong != weak:
        result["strong_weak"] = strong_weak(test, predicted, models.index(strong), models.index(weak))
    return result


def strong_weak(test: Table, predicted: np.ndarray, s: int, w: int) -> dict[str, Any]:
    """APGR and CPT for routing between one strong and one weak model, router and oracle."""
    qs, qw = test.quality[:, s], test.quality[:, w]
    gap = float(np.mean(qs) - np.mean(qw))

    def curve(scores: np.ndarray) -> list[tuple[float, float]]:
        order = np.argsort(-scores)  # most in need of the strong model first
        points = []
        n = len(order)
        for count in range(n + 1):
            to_strong = np.zeros(n, dtype=bool)
            to_strong[order[:count]] = True
            quality = float(np.mean(np.where(to_strong, qs, qw)))
            points.append((count / n, (quality - float(np.mean(qw))) / gap if gap else 0.0))
        return points

    def summary(points: list[tuple[float, float]]) -> dict[str, Any]:
        shares = np.array([p[0] for p in points])
        pgr = np.array([p[1] for p in points])
        apgr = float(np.sum((pgr[1:] + pgr[:-1]) / 2 * np.diff(shares)))
        cpt = {f"{int(x * 100)}%": round(float(shares[np.argmax(pgr >= x)]), 3) if (pgr >= x).any() else None
               for x in (0.5, 0.8, 0.95)}
        return {"apgr": round(apgr, 4), "cpt_share_of_strong_calls": cpt}

    router_points, oracle_points = curve(predicted[:, s] - predicted[:, w]), curve(qs - qw)
    router, oracle = summary(router_points), summary(oracle_points)
    rng = np.random.default_rng(0)
    random_apgr = summary(curve(rng.random(len(qs))))["apgr"]
    n = len(qs)
    # PGR at every tenth of the calls sent to the strong model, the router's beside the oracle's.
    pgr_curve = [{"share_to_strong": k / 10, "router_pgr": round(router_points[round(k * n / 10)][1], 4),
                  "oracle_pgr": round(oracle_points[round(k * n / 10)][1], 4)} for k in range(11)]
    headroom = oracle["apgr"] - random_apgr
    return {"router": router, "oracle": oracle, "random_apgr": random_apgr, "pgr_curve": pgr_curve,
            # how much of what a perfect router gains over random routing this router gains
            "share_of_oracle_gain": round((router["apgr"] - random_apgr) / headroom, 4) if headroom > 0 else None,
            "quality_strong": round(float(np.mean(qs)), 4), "quality_weak": round(float(np.mean(qw)), 4)}
