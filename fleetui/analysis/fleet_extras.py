"""The Fleet screen's extra figures: standby, quality per model, what the mix saves, the top change.

Each reads rollups or stored rows (never the raw call log), so the Fleet tab can load them on
every refresh. Unknowns stay None: no feedback is no quality figure, an unpriced model saves
nothing that can be counted.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from fleetui.config.schema import Fleet, Model
from fleetui.pricing import Pricer, blended_per_mtok
from fleetui.store import Store, Totals, analytics

STANDBY_TAG = "standby"
OPEN_STATUSES = ("new", "accepted")  # a recommendation nobody has dismissed or applied yet


def is_standby(model: Model) -> bool:
    """Kept for the hardest cases, not in daily rotation (`tags = ["standby"]`)."""
    return STANDBY_TAG in model.tags


@dataclass(frozen=True)
class Quality:
    """A model's quality (0–1): the mean of every label it has — users' feedback on its calls
    and the replay judge's scores of its answers — with how many of each it rests on."""

    score: float | None  # None: neither feedback nor judged answers in the window
    rated: int  # calls with user feedback
    judged: int  # replayed answers the judge scored

    @property
    def n(self) -> int:
        return self.rated + self.judged


def quality_by_model(store: Store, since_day: str) -> dict[str, Quality]:
    """Quality per model since `since_day`: feedback from the daily rollups, judged answers from
    the replay store, one mean over both (each label counts once)."""
    from fleetui.store.replays import judged_answers

    sums: dict[str, list[float]] = {}  # model → [feedback sum, feedback n, judged sum, judged n]
    for row in store.totals("model", since=since_day):
        if row.key and row.feedback_count:
            sums.setdefault(row.key, [0.0, 0, 0.0, 0])[:2] = [row.feedback_sum, row.feedback_count]
    since_ts = dt.datetime.fromisoformat(since_day).replace(tzinfo=dt.UTC).timestamp()
    for answer in judged_answers(store, since_ts):
        acc = sums.setdefault(answer.model_id, [0.0, 0, 0.0, 0])
        acc[2] += answer.score
        acc[3] += 1
    return {model: Quality((f_sum + j_sum) / (f_n + j_n), int(f_n), int(j_n))
            for model, (f_sum, f_n, j_sum, j_n) in sums.items() if f_n + j_n}


@dataclass(frozen=True)
class VsPriciest:
    """Today's calls against sending them all to the dearest model of the fleet."""

    priciest_id: str | None  # None: no enabled model has a price
    priciest_name: str | None
    saving_usd: float  # summed over the models below
    by_model: dict[str, float]  # model id → what its priced calls cost less than on the dearest


def saving_vs_priciest(fleet: Fleet, today: list[Totals]) -> VsPriciest:
    """What today's mix saved against the dearest enabled model (by the one blended price).

    A model with unpriced calls today is left out: its saving cannot be counted.
    """
    pricer = Pricer(fleet)
    priced = [(blended_per_mtok(p), m) for m in fleet.models if m.enabled and (p := pricer.price_of(m.id))]
    if not priced:
        return VsPriciest(None, None, 0.0, {})
    _, dearest = max(priced, key=lambda pair: pair[0])
    dearest_price = pricer.price_of(dearest.id)
    assert dearest_price is not None
    by_model = {}
    for row in today:
        if not row.key or row.key == dearest.id or row.unpriced_calls or not row.calls:
            continue
        there = dearest_price.cost(row.input_tokens, row.output_tokens, row.cached_input_tokens)
        by_model[row.key] = there - row.cost_usd
    return VsPriciest(dearest.id, dearest.name, sum(by_model.values()), by_model)


@dataclass(frozen=True)
class HighImpact:
    id: str
    title: str
    saving_monthly_usd: float


def high_impact(store: Store, fleet: Fleet | None = None) -> HighImpact | None:
    """The open recommendation that saves the most a month (as last stored by a recommend run).

    Given the fleet, a store where no recommendation was ever stored gets one run first (a fresh
    demo or a first launch), so the line does not wait for a visit to the Recommendations tab.
    """
    rows = analytics.recommendations(store)
    if not rows and fleet is not None:
        from fleetui.analysis.recommend import recommend, store_recommendations

        store_recommendations(store, recommend(fleet, store))
        rows = analytics.recommendations(store)
    best: HighImpact | None = None
    for row in rows:
        saving = row["numbers"].get("saving_monthly_usd")
        if (row["status"] in OPEN_STATUSES and isinstance(saving, int | float) and saving > 0
                and (best is None or saving > best.saving_monthly_usd)):
            best = HighImpact(row["id"], row["title"], float(saving))
    return best
