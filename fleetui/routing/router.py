"""The routing engine apps call: `Router.from_toml("fleet.toml").route(prompt, task=...)`.

Rules run in priority order and the first match wins; a rule targets a model or a role (the
role's models in priority order), then its fallbacks. Disabled models and models that probes
report down are skipped. With no match, the `default` role, else the cheapest capable model.
When the complexity estimate is unsure (confidence under the threshold) the request goes one
tier up. The fleet file is re-read when it changes; a bad edit keeps the last good config.
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from fleetui.conditions import Predicate, compile_condition
from fleetui.fleet import Fleet, Model
from fleetui.routing.ab import ABTest
from fleetui.routing.complexity import TIERS, estimate_complexity

Strategy = Literal["task-based", "cost-first", "quality-first", "adaptive"]
UNAVAILABLE = {"offline", "auth_failed", "misconfigured"}
_SCORE_FOR_TASK = {"coding": "coding", "debugging": "coding", "analysis": "reasoning", "research": "reasoning",
                   "math": "reasoning", "writing": "creativity"}


@dataclass(frozen=True)
class RouteDecision:
    model_id: str
    provider_model: str
    endpoint: str
    fallbacks: tuple[str, ...]
    rule: str | None
    reason: str
    confidence: float
    strategy: str
    complexity: str
    escalated: bool
    matched: tuple[str, ...]
    decision_us: float
    decision_id: str = field(default_factory=lambda: f"{random.getrandbits(64):016x}")

    def as_json(self) -> dict[str, Any]:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.__dict__.items()}

    def call_attributes(self, *, override: bool = False) -> dict[str, Any]:
        """What the logging shim should record with the call this decision leads to:
        `with fleetui.shim.attributes(**decision.call_attributes()): client.chat...`.
        Pass override=True when the app used another model than the one routed to."""
        return {"decision_id": self.decision_id, "route": self.rule or self.strategy, "rule": self.rule,
                "confidence": self.confidence, "complexity": self.complexity, "override": override}


class NoRoute(LookupError):
    """No enabled, healthy model can take the request."""


@dataclass
class _Compiled:
    fleet: Fleet
    rules: list[tuple[str, Predicate, list[str], str]]  # name, predicate, targets, description
    by_id: dict[str, Model]
    endpoints: dict[str, str]
    blended_price: dict[str, float]


def _compile(fleet: Fleet) -> _Compiled:
    from fleetui.pricing import Pricer

    pricer = Pricer(fleet)
    prices = {}
    for model in fleet.models:
        price = pricer.price_of(model.id)
        if price is not None:
            prices[model.id] = (price.input_per_mtok * 3 + price.output_per_mtok) / 4
    rules = []
    for rule in sorted((r for r in fleet.rules if r.enabled), key=lambda r: r.priority):
        targets = [rule.model] if rule.model else [m.id for m in fleet.models_in_role(rule.role or "")]
        targets += [f for f in rule.fallbacks if f not in targets]
        rules.append((rule.name, compile_condition(rule.when), targets, rule.when))
    return _Compiled(fleet, rules, {m.id: m for m in fleet.models},
                     {m.id: fleet.base_url_of(m) for m in fleet.models}, prices)


class Router:
    def __init__(
        self,
        fleet: Fleet,
        *,
        strategy: Strategy = "task-based",
        escalate_below: float = 0.7,
        on_decision: Callable[[RouteDecision], None] | None = None,
        seed: int | None = None,
    ) -> None:
        self._compiled = _compile(fleet)
        self.strategy = strategy
        self.escalate_below = escalate_below
        self.on_decision = on_decision
        self._health: dict[str, str] = {}
        self._path: Path | None = None
        self._mtime = 0.0
        self._checked = 0.0
        self._lock = threading.Lock()
        self.reload_error: str | None = None
        self._rng = random.Random(seed)
        self._outcomes: dict[tuple[str, str], list[float]] = {}  # (use_case, model) -> [alpha, beta]
        self.ab_tests: list[ABTest] = []

    def add_ab_test(self, test: ABTest) -> None:
        """Split the traffic of `test.rule` (or all traffic) between its arms, by user."""
        unknown = [m for m in test.arms if m not in self._compiled.by_id]
        if unknown:
            raise ValueError(f"A/B test {test.name!r} names unknown model(s) {', '.join(unknown)}")
        self.ab_tests.append(test)

    @classmethod
    def from_toml(cls, path: str | os.PathLike[str], **options: Any) -> Router:
        from fleetui.fleetfile import load_fleet

        file = Path(path)
        router = cls(load_fleet(file), **options)
        router._path = file
        router._mtime = file.stat().st_mtime
        return router

    @property
    def fleet(self) -> Fleet:
        return self._compiled.fleet

    def set_health(self, statuses: dict[str, str]) -> None:
        """Model statuses from probes; offline, auth_failed and misconfigured models are skipped."""
        self._health = dict(statuses)

    # -- hot reload --------------------------------------------------------------------------

    def _maybe_reload(self) -> None:
        if self._path is None:
            return
        now = time.monotonic()
        if now - self._checked < 1.0:
            return
        with self._lock:
            if now - self._checked < 1.0:
                return
            self._checked = now
            try:
                mtime = self._path.stat().st_mtime
            except OSError as exc:
                self.reload_error = f"{self._path}: {exc}"
                return
            if mtime == self._mtime:
                return
            from fleetui.fleetfile import FleetFileError, load_fleet

            try:
                self._compiled = _compile(load_fleet(self._path))
                self.reload_error = None
            except (FleetFileError, ValueError) as exc:
                self.reload_error = str(exc)  # keep routing with the last good config
            self._mtime = mtime

    # -- routing -----------------------------------------------------------------------------

    def _usable(self, model_id: str) -> bool:
        model = self._compiled.by_id.get(model_id)
        return model is not None and model.enabled and self._health.get(model_id) not in UNAVAILABLE

    def route(
        self,
        prompt: str,
        *,
        task: str | None = None,
        use_case: str | None = None,
        complexity: str | None = None,
        tags: Sequence[str] = (),
        user: str | None = None,
        hour: int | None = None,
        prompt_length: int | None = None,
    ) -> RouteDecision:
        """Route one request. `prompt_length` overrides len(prompt) (dry runs over logs that
        keep only the prompt's length)."""
        started = time.perf_counter()
        self._maybe_reload()
        compiled = self._compiled
        estimated, confidence = (complexity, 1.0) if complexity else estimate_complexity(prompt)
        escalated = False
        if confidence < self.escalate_below and estimated != TIERS[-1]:
            estimated = TIERS[TIERS.index(estimated) + 1]
            escalated = True
        request = {
            "task": task, "use_case": use_case, "complexity": estimated, "user": user,
            "prompt_length": len(prompt) if prompt_length is None else prompt_length, "hour": time.gmtime().tm_hour if hour is None else hour,
            "tags": tuple(tags),
        }
        rule_name: str | None = None
        matched: tuple[str, ...] = ()
        candidates: list[str] = []
        reason = ""
        if self.strategy == "task-based":
            for name, predicate, targets, text in compiled.rules:
                if predicate(request):
                    usable = [t for t in targets if self._usable(t)]
                    if usable:
                        rule_name, matched, candidates = name, (text,), usable
                        reason = f"rule {name}: {text}"
                        break
        if not candidates:
            candidates, reason = self._by_strategy(request)
        if not candidates:
            raise NoRoute("no enabled, healthy model in the fleet can take this request")
        strategy = self.strategy
        if user is not None:
            for test in self.ab_tests:
                if test.rule is None or test.rule == rule_name:
                    arm = test.assign(user)
                    if self._usable(arm):
                        candidates = [arm, *(c for c in candidates if c != arm)]
                        reason = f"A/B test {test.name}: arm {arm} for this user; {reason}"
                        strategy = f"ab:{test.name}"
                    break
        chosen = compiled.by_id[candidates[0]]
        decision = RouteDecision(
            model_id=chosen.id, provider_model=chosen.model, endpoint=compiled.endpoints[chosen.id],
            fallbacks=tuple(candidates[1:4]), rule=rule_name, reason=reason,
            confidence=round(confidence, 3), strategy=strategy, complexity=estimated, escalated=escalated,
            matched=matched, decision_us=(time.perf_counter() - started) * 1e6,
        )
        if self.on_decision is not None:
            try:
                self.on_decision(decision)
            except Exception:
                pass  # logging a decision must never break routing
        return decision

    def _by_strategy(self, request: dict[str, Any]) -> tuple[list[str], str]:
        compiled = self._compiled
        usable = [m for m in compiled.fleet.models if self._usable(m.id)]
        if not usable:
            return [], ""
        if self.strategy == "task-based":
            default = [m.id for m in compiled.fleet.models_in_role("default") if self._usable(m.id)]
            if default:
                return default + [m.id for m in usable if m.id not in default], "no rule matched: default role"
        if self.strategy == "quality-first" or (self.strategy == "task-based" and request["complexity"] == "complex"):
            dimension = _SCORE_FOR_TASK.get(request["task"] or request["use_case"] or "", "reasoning")
            ordered = sorted(usable, key=lambda m: -(getattr(m.capabilities, dimension) or 0))
            return [m.id for m in ordered], f"highest {dimension} score"
        if self.strategy == "adaptive":
            use_case = request["use_case"] or request["task"] or "general"
            draws = {m.id: self._rng.betavariate(*self._outcomes.get((use_case, m.id), [1.0, 1.0])) for m in usable}
            ordered = sorted(usable, key=lambda m: -draws[m.id])
            return [m.id for m in ordered], f"Thompson sample over {use_case} outcomes"
        priced = [m for m in usable if m.id in compiled.blended_price]
        ordered = sorted(priced, key=lambda m: compiled.blended_price[m.id])
        ordered += [m for m in usable if m.id not in compiled.blended_price]
        return [m.id for m in ordered], "cheapest capable model"

    def record_outcome(self, use_case: str, model_id: str, success: bool, quality: float | None = None) -> None:
        """Feed the adaptive strategy: a success (or a quality in 0..1) raises the model's odds."""
        reward = quality if quality is not None else (1.0 if success else 0.0)
        with self._lock:
            alpha_beta = self._outcomes.setdefault((use_case, model_id), [1.0, 1.0])
            alpha_beta[0] += reward
            alpha_beta[1] += 1.0 - reward
