"""Run logged traffic through a candidate routing config and predict what would have happened,
against the config in use today.

The comparison that matters is candidate against current config, on the same traffic: comparing
a candidate with history would credit it with whatever the current rules already change (apps
that called models directly, rules added since), so an unchanged fleet would seem to "save".
History is shown beside both, as what really happened.

Under a config, a call whose model stays the one it was logged on keeps what really happened. A
call that moves to another model is re-priced from its tokens on that model, and takes that
model's observed success rate and mean latency for the call's use case (else the model's overall
figures; a model never observed leaves those unknown and is counted apart). Costs are compared
over the calls priced on all three sides, so one unpriced model never makes a side look cheap.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from fleetui.config.schema import Fleet
from fleetui.pricing import Pricer
from fleetui.routing.conditions import COMPLEXITY_TIERS
from fleetui.routing.router import NoRoute, Router
from fleetui.store import Store

Observed = tuple[dict[tuple[str, str], tuple[float, float | None]], dict[str, tuple[float, float | None]]]


@dataclass(frozen=True)
class Outcome:
    """One call under one config: which model, and what it cost and did (None: not known)."""

    model_id: str | None  # None: no model could take it
    cost: float | None
    success: float | None
    latency_ms: float | None


@dataclass
class Side:
    """Totals of one side: history, the current config or the candidate."""

    cost_usd: float = 0.0  # over the calls priced on every side (DryRun.compared_calls)
    success: float | None = None  # mean over the calls with a known or predicted outcome
    latency_ms: float | None = None
    unroutable: int = 0  # calls no model could take
    unobserved: int = 0  # calls moved to a model never observed: success and latency not predicted
    unpriced: int = 0  # calls this side sends to a model without a price


@dataclass
class DryRun:
    calls: int = 0
    compared_calls: int = 0  # priced on all three sides: the calls the cost figures cover
    moved: int = 0  # calls the candidate routes to another model than the current config does
    history: Side = field(default_factory=Side)
    current: Side = field(default_factory=Side)
    candidate: Side = field(default_factory=Side)
    shift: dict[str, int] = field(default_factory=dict)  # "current model → candidate model": calls

    @property
    def change_pct(self) -> float | None:
        """The candidate's cost against the current config's, in percent (negative: it saves)."""
        if not self.current.cost_usd:
            return None
        return 100 * (self.candidate.cost_usd - self.current.cost_usd) / self.current.cost_usd

    def as_json(self) -> dict[str, Any]:
        return asdict(self) | {"change_pct": None if self.change_pct is None else round(self.change_pct, 2)}


def _observed(store: Store) -> Observed:
    per_case: dict[tuple[str, str], tuple[float, float | None]] = {}
    # Per (use case, model) from rollups: one small query per model.
    models = {t.key for t in store.totals("model") if t.key}
    for model in models:
        for t in store.totals("use_case", model_id=model):
            if t.key:
                per_case[(t.key, model)] = (t.success_rate or 0.0, t.mean_latency_ms)
    overall = {t.key: (t.success_rate or 0.0, t.mean_latency_ms) for t in store.totals("model") if t.key}
    return per_case, overall


class _Config:
    """One fleet's routing applied to logged calls."""

    def __init__(self, fleet: Fleet, observed: Observed, routers_dir: Path | None = None) -> None:
        self.router = Router(fleet, routers_dir=routers_dir)  # a learned rule's router file is beside its fleet
        self.pricer = Pricer(fleet)
        self.per_case, self.overall = observed

    def outcome(self, row: tuple[Any, ...], logged: Outcome) -> Outcome:
        (model_id, use_case, task, complexity, chars, tags, user, ts, _success, _cost, _latency,
         tokens_in, tokens_out, cached) = row
        try:
            decision = self.router.route(
                "", task=task, use_case=use_case,
                complexity=complexity if complexity in COMPLEXITY_TIERS else "medium",
                tags=json.loads(tags) if tags else (), user=user, hour=time.localtime(ts).tm_hour,
                prompt_length=chars or 0,
            )
        except NoRoute:
            return Outcome(None, None, None, None)
        target = decision.model_id
        if target == model_id:
            return logged
        cost = self.pricer.cost(target, tokens_in, tokens_out, cached or 0)
        observed = self.per_case.get((use_case or "", target)) or self.overall.get(target)
        if observed is None:
            return Outcome(target, cost, None, None)
        return Outcome(target, cost, observed[0], observed[1])


class _Tally:
    def __init__(self) -> None:
        self.side = Side()
        self.success: list[float] = []
        self.latency: list[float] = []

    def add(self, outcome: Outcome, moved: bool) -> None:
        if outcome.model_id is None:
            self.side.unroutable += 1
            return
        if outcome.cost is None:
            self.side.unpriced += 1
        if outcome.success is None:
            self.side.unobserved += int(moved)
        else:
            self.success.append(outcome.success)
        if outcome.latency_ms is not None:
            self.latency.append(outcome.latency_ms)

    def done(self) -> Side:
        if self.success:
            self.side.success = sum(self.success) / len(self.success)
        if self.latency:
            self.side.latency_ms = sum(self.latency) / len(self.latency)
        return self.side


def dry_run(current: Fleet, candidate: Fleet, store: Store, since_ts: float,
            routers_dirs: tuple[Path | None, Path | None] = (None, None)) -> DryRun:
    """The logged calls since `since_ts` under history, the current config and the candidate."""
    observed = _observed(store)
    configs = (_Config(current, observed, routers_dirs[0]), _Config(candidate, observed, routers_dirs[1]))
    tallies = (_Tally(), _Tally(), _Tally())
    result = DryRun()
    shift: Counter[str] = Counter()
    for row in store.calls_for_dry_run(since_ts):
        model_id, success, cost, latency = row[0], row[8], row[9], row[10]
        logged = Outcome(model_id, cost, float(success), latency)
        now, then = (config.outcome(row, logged) for config in configs)
        result.calls += 1
        if then.model_id != now.model_id:
            result.moved += 1
            shift[f"{now.model_id or '(none)'} → {then.model_id or '(none)'}"] += 1
        for tally, outcome in zip(tallies, (logged, now, then), strict=True):
            tally.add(outcome, moved=outcome is not logged)
        if logged.cost is not None and now.cost is not None and then.cost is not None:
            result.compared_calls += 1
            for tally, outcome in zip(tallies, (logged, now, then), strict=True):
                tally.side.cost_usd += outcome.cost or 0.0
    result.history, result.current, result.candidate = (tally.done() for tally in tallies)
    result.shift = dict(shift.most_common(10))
    return result
