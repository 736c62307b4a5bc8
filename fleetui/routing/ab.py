"""A/B splits: each user always lands in the same arm, outcomes per arm, a winner when it is real.

Assignment hashes the test name with the user id (SHA-256, not Python's salted `hash`), so a user
sees the same model in every process and every run, and two tests split users independently. The
winner is declared only when every arm has its minimum sample and a two-proportion z-test puts the
best arm's success rate ahead of the runner-up's at the chosen significance.

    test = ABTest("mini-vs-haiku", arms={"gpt-4o-mini": 1, "claude-haiku": 1}, rule="casual-to-local")
    router.add_ab_test(test)
    ...
    router.record_outcome(decision.decision_id, success=True)   # counts in the arm too
    test.result().winner
"""

from __future__ import annotations

import hashlib
import math
import threading
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Arm:
    model_id: str
    weight: float
    successes: int = 0
    trials: int = 0
    quality_sum: float = 0.0
    quality_count: int = 0

    @property
    def rate(self) -> float | None:
        return self.successes / self.trials if self.trials else None

    @property
    def mean_quality(self) -> float | None:
        return self.quality_sum / self.quality_count if self.quality_count else None


def two_proportion_p_value(s1: int, n1: int, s2: int, n2: int) -> float:
    """Two-sided p-value that two success rates differ (pooled normal approximation)."""
    if min(n1, n2) == 0:
        return 1.0
    pooled = (s1 + s2) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if se == 0:
        return 1.0
    z = abs(s1 / n1 - s2 / n2) / se
    return math.erfc(z / math.sqrt(2))


@dataclass
class ABTest:
    """Split traffic between models by user. `arms` maps model ids to relative weights."""

    name: str
    arms: Mapping[str, float | Arm]
    rule: str | None = None  # only requests this rule matched take part; None: every request
    min_samples: int = 100  # per arm, before a winner can be declared
    alpha: float = 0.05
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)
    # The arms with their counts; `arms` stays what the caller gave (weights or Arms).
    _state: dict[str, Arm] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        arms = {m: a if isinstance(a, Arm) else Arm(m, float(a)) for m, a in self.arms.items()}
        if len(arms) < 2 or any(a.weight <= 0 for a in arms.values()):
            raise ValueError(f"A/B test {self.name!r} needs two or more arms with positive weights")
        self._state = arms
        self._total_weight = sum(a.weight for a in arms.values())

    @classmethod
    def of(cls, name: str, weights: Mapping[str, float], **options: Any) -> ABTest:
        return cls(name, dict(weights), **options)

    def assign(self, user: str) -> str:
        digest = hashlib.sha256(f"{self.name}\0{user}".encode()).digest()
        point = int.from_bytes(digest[:8], "big") / 2**64 * self._total_weight
        for arm in self._state.values():
            point -= arm.weight
            if point < 0:
                return arm.model_id
        return next(reversed(self._state))  # float rounding at the very top of the range

    def record(self, model_id: str, success: bool, quality: float | None = None) -> None:
        with self._lock:
            arm = self._state[model_id]
            arm.trials += 1
            arm.successes += int(success)
            if quality is not None:
                arm.quality_sum += quality
                arm.quality_count += 1

    def take_outcomes(self, other: ABTest) -> None:
        """Start from the outcomes `other` counted (the same test before a reload)."""
        with other._lock:
            counts = {m: (a.successes, a.trials, a.quality_sum, a.quality_count) for m, a in other._state.items()}
        with self._lock:
            for model_id, (successes, trials, quality_sum, quality_count) in counts.items():
                if model_id in self._state:
                    arm = self._state[model_id]
                    arm.successes, arm.trials, arm.quality_sum, arm.quality_count = (
                        successes, trials, quality_sum, quality_count)

    def result(self) -> ABVerdict:
        with self._lock:
            arms = [Arm(a.model_id, a.weight, a.successes, a.trials, a.quality_sum, a.quality_count)
                    for a in self._state.values()]
        return verdict(self.name, arms, min_samples=self.min_samples, alpha=self.alpha)


@dataclass(frozen=True)
class ArmResult:
    """One arm's outcomes. The last four fields come from the call log (`analysis.abtests`)."""

    model_id: str
    trials: int
    successes: int
    rate: float | None  # None: no calls yet
    mean_quality: float | None  # mean feedback or judge score, None when none was given
    weight: float | None = None  # None: the model is in the log but not among the file's arms
    users: int = 0
    mean_latency_ms: float | None = None
    cost_usd: float = 0.0


@dataclass(frozen=True)
class ABVerdict:
    """A test's arms, best first, and the winner when the difference is significant."""

    test: str
    arms: tuple[ArmResult, ...]
    p_value: float
    winner: str | None
    reason: str

    def arm(self, model_id: str) -> ArmResult:
        return next(a for a in self.arms if a.model_id == model_id)

    def arms_json(self) -> dict[str, dict[str, Any]]:
        return {a.model_id: {k: v for k, v in asdict(a).items() if k != "model_id"} for a in self.arms}


def verdict(name: str, arms: Sequence[Arm], *, min_samples: int, alpha: float) -> ABVerdict:
    """Per-arm outcomes and the winner, if the best arm's success rate is ahead of the
    runner-up's at significance `alpha` with every arm at `min_samples` or more."""
    ranked = sorted(arms, key=lambda a: -(a.rate or 0.0))
    p, winner = 1.0, None
    if len(ranked) < 2:  # e.g. a log that holds one arm's calls only
        reason = "fewer than two arms have calls: nothing to compare"
    else:
        best, runner_up = ranked[0], ranked[1]
        p = two_proportion_p_value(best.successes, best.trials, runner_up.successes, runner_up.trials)
        short = [a.model_id for a in ranked if a.trials < min_samples]
        if short:
            reason = f"not enough samples yet ({', '.join(short)} under {min_samples})"
        elif p < alpha and (best.rate or 0.0) > (runner_up.rate or 0.0):
            winner = best.model_id
            reason = f"{winner} beats {runner_up.model_id}: {best.rate:.1%} vs {runner_up.rate:.1%} (p={p:.3g})"
        else:
            reason = f"no significant difference (p={p:.3g}, alpha {alpha})"
    results = tuple(ArmResult(a.model_id, a.trials, a.successes, a.rate, a.mean_quality) for a in ranked)
    return ABVerdict(name, results, p, winner, reason)
