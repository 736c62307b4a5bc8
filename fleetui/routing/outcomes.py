"""What the router learns from outcomes: the adaptive strategy's beliefs and A/B test counts."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from fleetui.routing.strategies import ThompsonSampler

if TYPE_CHECKING:
    from fleetui.routing.ab import ABTest
    from fleetui.routing.router import RouteDecision


class OutcomeLearning:
    _sampler: ThompsonSampler
    # Recent decisions by id (use case, model, A/B test), in two generations (see Router).
    _recent: dict[str, tuple[str, str, str | None]]
    _older: dict[str, tuple[str, str, str | None]]

    def all_ab_tests(self) -> Iterable[ABTest]:  # pragma: no cover - the Router's
        raise NotImplementedError

    def learn_from_store(self, db_path: str | os.PathLike[str] | None = None, *, days: int = 30,
                         weight: int = 50) -> int:
        """Start the adaptive strategy from the outcomes fleetui has logged, not from nothing.

        Per use case (and per task) and model, the success rate of the last `days` counts as at
        most `weight` outcomes, so history decides the first draws while fresh outcomes
        (`record_outcome`) still move the belief. Returns how many (use case, model) pairs it
        learned; 0 when the database does not exist yet.
        """
        from fleetui import clock, locations
        from fleetui.store import Store, analytics

        path = Path(db_path) if db_path is not None else locations.default_db()
        if not path.exists():
            return 0
        since_day = clock.window_start_day(days)
        learned = 0
        with Store.open(path) as store:
            by_use_case = analytics.outcomes_by(store, "use_case", since_day)
            # A task named like a use case ("coding") holds the same calls: counted once.
            use_cases = {row[0] for row in by_use_case}
            rows = by_use_case + [r for r in analytics.outcomes_by(store, "task", since_day) if r[0] not in use_cases]
        for key, model_id, calls, errors in rows:
            if calls <= 0:
                continue
            scale = min(1.0, weight / calls)
            self._sampler.add_history(key, model_id, (calls - errors) * scale, errors * scale)
            learned += 1
        return learned

    def record_outcome(
        self, decision: RouteDecision | str | tuple[str, str], success: bool, quality: float | None = None
    ) -> bool:
        """What happened with a routed request: feeds the adaptive strategy and A/B tests.

        `decision` is the RouteDecision, its decision_id (recent decisions are remembered), or a
        (use_case, model_id) pair. `quality` in 0..1 counts as that fraction of a success.
        Returns False when a decision id is no longer remembered (nothing is recorded).
        """
        from fleetui.routing.router import RouteDecision

        if isinstance(decision, RouteDecision):
            use_case, model_id, ab_name = decision.use_case, decision.model_id, decision.ab_test
        elif isinstance(decision, str):
            remembered = self._recent.get(decision) or self._older.get(decision)
            if remembered is None:
                return False
            use_case, model_id, ab_name = remembered
        else:
            (use_case, model_id), ab_name = decision, None
        self._sampler.record(use_case, model_id, success, quality)
        for test in self.all_ab_tests():
            if test.name == ab_name and model_id in test.arms:
                test.record(model_id, success, quality)
        return True
