"""A router learned from logged calls with a quality value, and how it is measured.

The router looks at the k most similar training prompts (TF-IDF, cosine) and predicts each
model's quality on a new prompt as their mean quality there (falling back to the model's overall
mean where it has no neighbour). A price weight λ trades quality against cost: it picks
argmax(quality − λ·cost / typical cost). Sweeping λ draws the router's quality/cost curve.

Metrics follow RouteLLM (arXiv 2406.18665): for a strong model S and a weak model W, PGR =
(q_router − q_W) / (q_S − q_W); APGR is the mean PGR over the share of calls sent to S (a routing
threshold swept from all-W to all-S); CPT(x%) is the share of calls to S needed to reach PGR x%.
Everything is measured on prompts the router never saw (a seeded split).
"""

from __future__ import annotations

import json
import random
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


class KnnRouter:
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

    def choose(self, predicted: np.ndarray, price_weight: float, allowed: list[int] | None = None) -> np.ndarray:
        scale = float(np.nanmean(self.typical_cost)) or 1.0
        utility = predicted - price_weight * self.typical_cost[None, :] / scale
        if allowed is not None:
            mask = np.full(len(self.models), -np.inf)
            mask[allowed] = 0.0
            utility = utility + mask[None, :]
        return np.argmax(utility, axis=1)


def _realised(test: Table, picks: np.ndarray) -> tuple[float, float]:
    rows = np.arange(len(picks))
    return float(np.nanmean(test.quality[rows, picks])), float(np.nansum(test.cost[rows, picks]))


def evaluate(samples: list[Sample], *, test_fraction: float = 0.3, seed: int = 0,
             strong: str | None = None, weak: str | None = None, k: int = 20) -> dict[str, Any]:
    table = Table.of(samples)
    complete = np.where(~np.isnan(table.quality).any(axis=1))[0]  # prompts every model answered
    order = list(complete)
    random.Random(seed).shuffle(order)
    cut = int(len(order) * (1 - test_fraction))
    train, test = table.rows(np.array(order[:cut])), table.rows(np.array(order[cut:]))
    router = KnnRouter(train, k=k)
    predicted = router.predict(test.texts)
    models = table.models
    single = {m: _realised(test, np.full(len(test.prompts), j)) for j, m in enumerate(models)}
    best_on_train = models[int(np.argmax(np.nanmean(train.quality, axis=0)))]
    best_q, best_cost = single[best_on_train]
    curve = []
    for weight in [0.0, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0]:
        q, cost = _realised(test, router.choose(predicted, weight))
        curve.append({"price_weight": weight, "quality": round(q, 4), "cost_usd": round(cost, 6)})
    within_budget = [p for p in curve if p["cost_usd"] <= best_cost]
    at_budget = max(within_budget, key=lambda p: p["quality"]) if within_budget else None
    rng = np.random.default_rng(seed)
    random_q, random_cost = _realised(test, rng.integers(0, len(models), len(test.prompts)))
    oracle = np.nanmax(test.quality, axis=1)
    result: dict[str, Any] = {
        "train_prompts": len(train.prompts), "test_prompts": len(test.prompts), "models": len(models),
        "best_single_model_on_train": best_on_train,
        "best_single": {"quality": round(best_q, 4), "cost_usd": round(best_cost, 6)},
        "router_curve": curve,
        "router_at_best_single_cost": at_budget,
        "share_of_best_quality": round(at_budget["quality"] / best_q, 4) if at_budget else None,
        "random": {"quality": round(random_q, 4), "cost_usd": round(random_cost, 6)},
        "oracle": {"quality": round(float(np.mean(oracle)), 4)},
        "single_models": {m: {"quality": round(q, 4), "cost_usd": round(c, 6)} for m, (q, c) in single.items()},
    }
    if strong and weak:
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

    router = summary(curve(predicted[:, s] - predicted[:, w]))
    oracle = summary(curve(qs - qw))
    rng = np.random.default_rng(0)
    random_apgr = summary(curve(rng.random(len(qs))))["apgr"]
    return {"router": router, "oracle": oracle, "random_apgr": random_apgr,
            "quality_strong": round(float(np.mean(qs)), 4), "quality_weak": round(float(np.mean(qw)), 4)}
