"""Does a saved router keep its promise on prompts it was not trained on?

At train time each target ("95% of X") got a price weight, and the quality and cost it gave on
held-out prompts with 95% bootstrap intervals: the promise. Here the saved router routes new
labelled prompts (a graded file, or calls judged or rated since it was trained) with those same
price weights, and what it reaches is set beside the promise and beside random routing, the
best single model and the oracle on the same prompts. Only prompts every model of the router
answered say what another choice would have given; the others are counted, not used.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from fleetui.routing.learned import evaluation
from fleetui.routing.learned.calibrate import affordable, choose, realised
from fleetui.routing.learned.fileformat import SavedRouter
from fleetui.routing.learned.samples import DataError, Sample, Table

MIN_PROMPTS = 20


@dataclass(frozen=True)
class Kept:
    share: float  # the target: a share of the reference's quality
    price_weight: float | None  # None: the promise was "every call to the reference"
    promised_quality: float  # share of the reference's quality, on the held-out prompts at train time
    promised_quality_ci: tuple[float, float]
    promised_cost: float  # share of the reference's cost
    promised_cost_ci: tuple[float, float]
    quality: float  # reached on the new prompts, as a share of the reference's quality there
    cost: float
    to_reference: float  # share of the new prompts sent to the reference

    @property
    def holds(self) -> bool:
        """Quality at or above the low end of the promised interval (cost may differ: it follows the prompts)."""
        return self.quality >= self.promised_quality_ci[0] - 1e-9

    def as_json(self) -> dict[str, Any]:
        return {"share": self.share, "price_weight": self.price_weight, "holds": self.holds,
                "promised": {"quality_share": round(self.promised_quality, 4),
                             "quality_share_ci": [round(v, 4) for v in self.promised_quality_ci],
                             "cost_share": round(self.promised_cost, 4),
                             "cost_share_ci": [round(v, 4) for v in self.promised_cost_ci]},
                "reached": {"quality_share": round(self.quality, 4), "cost_share": round(self.cost, 4),
                            "to_reference": round(self.to_reference, 4)}}


@dataclass(frozen=True)
class PromiseCheck:
    reference: str
    prompts: int  # new prompts every model answered: what the figures rest on
    incomplete: int  # new prompts some model did not answer: left out
    unknown_models: tuple[str, ...]  # models of the new calls the router does not know: left out
    kept: tuple[Kept, ...]
    baselines: dict[str, list[dict[str, Any]]]
    reference_quality: float

    @property
    def holds(self) -> bool:
        return all(k.holds for k in self.kept)

    def as_json(self) -> dict[str, Any]:
        return {"reference": self.reference, "prompts": self.prompts, "incomplete_prompts": self.incomplete,
                "unknown_models": list(self.unknown_models), "holds": self.holds,
                "reference_quality": round(self.reference_quality, 4),
                "targets": [k.as_json() for k in self.kept], **self.baselines}


def check(saved: SavedRouter, samples: Sequence[Sample]) -> PromiseCheck:
    model = saved.model
    known = set(model.models)
    unknown = tuple(sorted({s.model for s in samples} - known))
    table = Table.of([s for s in samples if s.model in known], list(model.models))
    complete = table.complete()
    if len(complete) < MIN_PROMPTS:
        others = f"; the calls are of {', '.join(unknown)}, which it does not know" if unknown else ""
        raise DataError(f"too little data: {len(complete)} new prompt(s) answered by every model of router "
                        f"{saved.name!r} ({', '.join(model.models)}); at least {MIN_PROMPTS} are needed to measure "
                        f"it{others}")
    new = table.rows(complete)
    predicted = model.predict(new.texts, new.categories)
    reference = model.models.index(saved.default_reference)
    allowed = affordable(model.typical_cost, reference)
    ref_q, ref_c = float(np.mean(new.quality[:, reference])), float(np.sum(new.cost[:, reference]))
    kept = []
    for c in saved.meta["calibration"]:
        weight = c["price_weight"]
        picks = np.full(len(complete), reference) if weight is None else choose(predicted, model.typical_cost,
                                                                                 float(weight), allowed)
        q, cost = realised(new, picks)
        promised_q = c["quality"] / c["reference_quality"] if c["reference_quality"] else 1.0
        kept.append(Kept(share=float(c["share"]), price_weight=weight, promised_quality=promised_q,
                         promised_quality_ci=(float(c["quality_share_ci"][0]), float(c["quality_share_ci"][1])),
                         promised_cost=float(c["cost_share"]),
                         promised_cost_ci=(float(c["cost_share_ci"][0]), float(c["cost_share_ci"][1])),
                         quality=q / ref_q if ref_q else 1.0, cost=cost / ref_c if ref_c else 0.0,
                         to_reference=float(np.mean(picks == reference))))
    cheapest = int(np.argmin(model.typical_cost))
    return PromiseCheck(reference=saved.default_reference, prompts=len(complete),
                        incomplete=len(table.prompts) - len(complete), unknown_models=unknown, kept=tuple(kept),
                        baselines=evaluation.baselines(new, reference, cheapest), reference_quality=ref_q)
