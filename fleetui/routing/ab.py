"""A/B splits: each user always lands in the same arm, outcomes per arm, a winner when it is real.

Assignment hashes the test name with the user id (SHA-256, not Python's salted `hash`), so a user
sees the same model in every process and every run. The winner is declared only when every arm
has its minimum sample and a two-proportion z-test puts the best arm ahead of the runner-up at the
chosen significance.
"""

from __future__ import annotations

import hashlib
import math
import threading
from dataclasses import dataclass, field


@dataclass
class Arm:
    model_id: str
    weight: float
    successes: int = 0
    trials: int = 0

    @property
    def rate(self) -> float | None:
        return self.successes / self.trials if self.trials else None


def two_proportion_p_value(s1: int, n1: int, s2: int, n2: int) -> float:
    """Two-sided p-value that two success rates differ (normal approximation)."""
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
    name: str
    arms: dict[str, Arm]
    rule: str | None = None  # only requests this rule matched take part; None: all
    min_samples: int = 100
    alpha: float = 0.05
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def of(cls, name: str, weights: dict[str, float], **options: object) -> ABTest:
        if len(weights) < 2 or any(w <= 0 for w in weights.values()):
            raise ValueError("an A/B test needs two or more arms with positive weights")
        return cls(name, {m: Arm(m, w) for m, w in weights.items()}, **options)  # type: ignore[arg-type]

    def assign(self, user: str) -> str:
        digest = hashlib.sha256(f"{self.name}\0{user}".encode()).digest()
        point = int.from_bytes(digest[:8], "big") / 2**64 * sum(a.weight for a in self.arms.values())
        for arm in self.arms.values():
            point -= arm.weight
            if point < 0:
                return arm.model_id
        return next(reversed(self.arms))

    def record(self, model_id: str, success: bool) -> None:
        with self._lock:
            arm = self.arms[model_id]
            arm.trials += 1
            arm.successes += int(success)

    def result(self) -> dict[str, object]:
        ranked = sorted(self.arms.values(), key=lambda a: -(a.rate or 0.0))
        best, runner_up = ranked[0], ranked[1]
        p = two_proportion_p_value(best.successes, best.trials, runner_up.successes, runner_up.trials)
        enough = all(a.trials >= self.min_samples for a in self.arms.values())
        winner = best.model_id if enough and p < self.alpha and (best.rate or 0) > (runner_up.rate or 0) else None
        return {
            "test": self.name,
            "arms": {a.model_id: {"trials": a.trials, "successes": a.successes, "rate": a.rate} for a in ranked},
            "p_value": p,
            "winner": winner,
            "reason": (f"{winner} beats {runner_up.model_id} (p={p:.3g})" if winner else
                       "not enough samples yet" if not enough else f"no significant difference (p={p:.3g})"),
        }
