"""Which rules can match a request, found without evaluating the others.

Most rules require a value: `task == "coding" and ...` cannot match a request whose task is
"chat"; `"vision" in tags or ...` needs a tag; `prompt_length > 4000` needs a long prompt. Each
condition says which facts it requires and how long a prompt it needs (`Condition.requires`,
`Condition.min_length`), so rules are indexed by both: a request's own facts (its task, use case,
complexity, user and tags) select, as a bit mask over the rules in priority order, the ones worth
evaluating, plus those that require no fact in particular; then the rules needing a longer prompt
than this one are masked out. With 50 rules the router evaluates a handful instead of walking all
50 (`benchmarks/bench_route.py`).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Sequence

from fleetui.routing.conditions import Condition


class RuleIndex:
    def __init__(self, conditions: Sequence[Condition]) -> None:
        self.always = 0  # rules whose condition requires no indexed fact
        self.task: dict[object, int] = {}
        self.use_case: dict[object, int] = {}
        self.complexity: dict[object, int] = {}
        self.user: dict[object, int] = {}
        self.tags: dict[object, int] = {}
        needs: dict[int, int] = {}  # a prompt length → the rules needing at least that
        for position, condition in enumerate(conditions):
            bit = 1 << position
            if condition.requires is None:
                self.always |= bit
            else:
                for attribute, value in condition.requires:  # an empty set: never matches
                    by_value = getattr(self, attribute)
                    by_value[value] = by_value.get(value, 0) | bit
            if condition.min_length is not None and condition.min_length > 0:
                needs[condition.min_length] = needs.get(condition.min_length, 0) | bit
        # lengths[i] ascending; too_short[i]: the rules a prompt shorter than lengths[i] cannot match
        self.lengths = sorted(needs)
        self.too_short = [0] * (len(self.lengths) + 1)
        for i in range(len(self.lengths) - 1, -1, -1):
            self.too_short[i] = self.too_short[i + 1] | needs[self.lengths[i]]

    def candidates(
        self, task: str | None, use_case: str | None, complexity: str | None, user: str | None,
        tags: Iterable[str], prompt_length: int,
    ) -> int:
        """A bit mask of the rules (by position) that may match these request values."""
        mask = self.always | self.task.get(task, 0) | self.use_case.get(use_case, 0)
        mask |= self.complexity.get(complexity, 0) | self.user.get(user, 0)
        if self.tags:
            for tag in tags:
                mask |= self.tags.get(tag, 0)
        if self.lengths:
            mask &= ~self.too_short[bisect_right(self.lengths, prompt_length)]
        return mask
