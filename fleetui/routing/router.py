"""The routing engine apps call: `Router.from_toml("fleet.toml").route(prompt, task=...)`.

Rules run in priority order and the first match wins; a rule targets a model or a role (the
role's models in priority order), then its fallbacks. Disabled models and models that probes
report down are skipped, so a rule whose models are all down lets the next rule decide. With no
match, the `default` role, else the cheapest capable model. When the complexity estimate is unsure
(confidence under the threshold) the request goes one tier up.

Routing is on the app's hot path, so everything that can be is done once per fleet
(`fleetui.routing.compiled`): a decision then costs a few microseconds
(`benchmarks/bench_route.py`). A rule with `learned = "NAME"` orders its models per prompt by
a router trained on the fleet's logs (`fleetui.routing.learned`), in tens of microseconds.
Health and budgets come in through `fleetui.routing.watchers`, outcomes are learned in
`fleetui.routing.outcomes`.

The fleet file is re-read when it changes (checked at most once a second, with one `stat`); a bad
edit keeps the last good config and is recorded in `reload_error`. Any number of threads may
route at once: a reload builds a new config and swaps it in with one assignment.
"""

from __future__ import annotations

import itertools
import os
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from fleetui.config.schema import Fleet
from fleetui.pricing import CHARS_PER_TOKEN
from fleetui.routing.ab import ABTest
from fleetui.routing.compiled import (
    DEFAULT_ROLE,
    CompiledFleet,
    CompiledRule,
    Signature,
    carry_over_outcomes,
    compile_fleet,
    file_signature,
)
from fleetui.routing.complexity import estimate_complexity, one_tier_up
from fleetui.routing.conditions import COMPLEXITY_TIERS
from fleetui.routing.outcomes import OutcomeLearning
from fleetui.routing.strategies import (
    STRATEGIES,
    Strategy,
    ThompsonSampler,
    cost_first,
    quality_first,
)
from fleetui.routing.watchers import UNAVAILABLE, Watching

if TYPE_CHECKING:
    from fleetui.routing.learned.decide import LearnedChoice

__all__ = ["DEFAULT_ROLE", "UNAVAILABLE", "DecisionLog", "NoRoute", "RouteDecision", "Router"]

_FILL = 3  # fallbacks added from the whole fleet when no rule chose the candidates
_REMEMBERED = 10_000  # at least this many recent decisions can have their outcome recorded by id
_ORDERINGS_KEPT = 512


class RouteDecision(NamedTuple):
    """Which model serves a request, where it is, what to try next, and why.

    A NamedTuple rather than a frozen dataclass: building one is on every request, and a frozen
    dataclass costs 4 µs to construct against 1 µs.
    """

    model_id: str
    provider_model: str  # the provider's own name for the model
    endpoint: str  # base URL
    fallbacks: tuple[str, ...]  # model ids, in the order to try them
    rule: str | None  # the rule that matched, if one did
    reason: str
    confidence: float  # of the complexity estimate (1.0 when the caller gave the complexity)
    strategy: str  # the router's strategy, or "ab:<test>" when an A/B test chose the model
    complexity: str  # the tier used for routing, after any escalation
    escalated: bool  # the estimate was unsure, so the request went one tier up
    matched: tuple[str, ...]  # what in the prompt drove the estimate: words, "code", "long"…
    decision_us: float
    decision_id: str
    use_case: str  # what outcomes of this decision are learned under: use case, else task
    ab_test: str | None = None
    override: bool = False  # the caller pinned the model; routing's own choice leads the fallbacks
    provider: str = ""  # the fleet's provider id of the model
    prompt_length: int = 0  # characters, as the rules saw it
    learned: LearnedChoice | None = None  # a learned rule's evidence: threshold, predicted qualities

    def as_json(self) -> dict[str, Any]:
        out = {k: (list(v) if isinstance(v, tuple) else v) for k, v in self._asdict().items()}
        if self.learned is not None:
            out["learned"] = {**self.learned._asdict(), "predicted": dict(self.learned.predicted)}
        return out

    def call_attributes(self, *, override: bool = False) -> dict[str, Any]:
        """What the logging shim should record with the call this decision leads to:
        `with fleetui.shim.attributes(**decision.call_attributes()): client.chat...`.
        Pass override=True when the app used another model than the one routed to."""
        # An A/B arm is recorded as its own route, so `fleetui ab` finds the test's calls.
        route = f"ab:{self.ab_test}" if self.ab_test else self.rule or self.strategy
        return {"decision_id": self.decision_id, "route": route, "rule": self.rule,
                "confidence": self.confidence, "complexity": self.complexity,
                "override": override or self.override}


class DecisionLog(Protocol):
    """Receives every decision, on the routing thread: keep it quick (queue, don't write)."""

    def __call__(self, decision: RouteDecision) -> None: ...


class NoRoute(LookupError):
    """No enabled, healthy model can take the request; `excluded` says, per model, why not
    ("disabled", or the probe status that keeps it out: "offline", "auth_failed", …)."""

    def __init__(self, message: str, excluded: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.excluded: dict[str, str] = dict(excluded or {})


class Router(Watching, OutcomeLearning):
    def __init__(
        self,
        fleet: Fleet,
        *,
        strategy: Strategy = "task-based",
        escalate_below: float = 0.7,
        on_decision: DecisionLog | None = None,
        seed: int | None = None,
        check_interval_s: float = 1.0,
        routers_dir: str | os.PathLike[str] | None = None,
    ) -> None:
        """`routers_dir`: where learned rules' NAME.router.json files are (from_toml: the fleet
        file's folder). A learned router that is missing or fails its checksum raises here."""
        if strategy not in STRATEGIES:
            raise ValueError(f"unknown routing strategy {strategy!r}; known: {', '.join(STRATEGIES)}")
        self.strategy: Strategy = strategy
        self.escalate_below = escalate_below
        self.on_decision = on_decision
        self.check_interval_s = check_interval_s
        self.routers_dir = Path(routers_dir) if routers_dir is not None else None
        self.ab_tests: list[ABTest] = []  # added in code with add_ab_test; the file's are in the config
        self.reload_error: str | None = None  # the last reload's problem; routing kept the config before it
        self.reloads = 0
        self.log_errors = 0  # decisions the DecisionLog raised on (routing carried on)
        self._init_watching()
        self._state = self._with_availability(compile_fleet(fleet, self.routers_dir))
        self._path: Path | None = None
        self._signature: Signature | None = None
        self._checked = time.perf_counter()
        self._lock = threading.Lock()
        self._sampler = ThompsonSampler(seed)
        self._ids = itertools.count()  # next() on a count is atomic: safe across threads
        self._id_prefix = os.urandom(5).hex()  # ids stay unique across processes and routers
        # Recent decisions by id, in two generations: when the newer one is full it becomes the
        # older and the oldest is dropped. A dict store per decision, no lock on the hot path;
        # a decision stored during a swap by another thread may be forgotten early, which costs
        # only that outcome.
        self._recent: dict[str, tuple[str, str, str | None]] = {}
        self._older: dict[str, tuple[str, str, str | None]] = {}

    @classmethod
    def from_toml(cls, path: str | os.PathLike[str], **options: Any) -> Router:
        """A router over a fleet file, which it re-reads when the file (or a learned router it
        uses) changes."""
        from fleetui.config.fleetfile import load_fleet

        file = Path(path)
        signature = file_signature((file,))
        options.setdefault("routers_dir", file.parent)
        router = cls(load_fleet(file), **options)
        router._path = file
        router._signature = signature + file_signature(router._state[0].router_files)
        return router

    # -- A/B tests ---------------------------------------------------------------------------

    def all_ab_tests(self) -> tuple[ABTest, ...]:
        """The fleet file's A/B tests, then those added in code."""
        return (*self._state[0].ab_tests, *self.ab_tests)

    def add_ab_test(self, test: ABTest) -> None:
        """Split the traffic of `test.rule` (or all traffic) between its arms, by user."""
        config = self._state[0]
        if test.name in {t.name for t in self.all_ab_tests()}:
            raise ValueError(f"there is already an A/B test named {test.name!r}")
        unknown = [m for m in test.arms if m not in config.models]
        if unknown:
            raise ValueError(f"A/B test {test.name!r} names unknown model(s) {', '.join(unknown)}")
        if test.rule is not None and test.rule not in {r.name for r in config.fleet.rules}:
            raise ValueError(f"A/B test {test.name!r} names unknown rule {test.rule!r}")
        self.ab_tests.append(test)

    # -- hot reload --------------------------------------------------------------------------

    def reload(self) -> bool:
        """Re-read the fleet file now if it changed; True when a new config was taken."""
        if self._path is None:
            return False
        with self._lock:
            return self._reload_locked(time.perf_counter())

    def _maybe_reload(self, now: float) -> None:
        # Only one thread checks; the others keep routing with the config they have.
        if not self._lock.acquire(blocking=False):
            return
        try:
            if now - self._checked >= self.check_interval_s:
                self._reload_locked(now)
        finally:
            self._lock.release()

    def _reload_locked(self, now: float) -> bool:
        assert self._path is not None
        self._checked = now
        try:
            signature = file_signature((self._path, *self._state[0].router_files))
        except OSError as exc:
            self.reload_error = f"{exc.filename or self._path}: {exc.strerror or exc}"
            return False
        if signature == self._signature:
            return False
        self._signature = signature
        from fleetui.config.fleetfile import load_fleet

        try:
            config = compile_fleet(load_fleet(self._path), self.routers_dir)
            self._signature = signature[:1] + file_signature(config.router_files)
        except Exception as exc:  # a bad edit of any kind must never stop the app's routing
            self.reload_error = str(exc)
            return False
        carry_over_outcomes(self._state[0], config)
        self._state = self._with_availability(config)
        self.reload_error = None
        self.reloads += 1
        return True

    # -- routing -----------------------------------------------------------------------------

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
        override: str | None = None,
    ) -> RouteDecision:
        """Route one request.

        `complexity` skips the estimate; `hour` defaults to the local hour; `prompt_length`
        stands in for len(prompt) (dry runs over logs that keep only the length). `override`
        pins a model id: the decision names it, flags the override, and puts routing's own
        choice first among the fallbacks. Raises NoRoute when no model can take the request.
        """
        started = time.perf_counter()
        if self._path is not None and started - self._checked >= self.check_interval_s:
            self._maybe_reload(started)
        config, available = self._state
        tier, confidence, signals, escalated = self._complexity(prompt, complexity)
        if type(tags) is not tuple:
            tags = (tags,) if isinstance(tags, str) else tuple(tags)  # a lone tag, not its letters
        if hour is None and config.reads_hour:
            hour = time.localtime().tm_hour
        if prompt_length is None:
            prompt_length = len(prompt)
        request = {
            "task": task, "use_case": use_case, "complexity": tier, "user": user, "tags": tags,
            "prompt_length": prompt_length, "hour": hour,
        }
        rule, candidates, reason, learned = self._by_rules(config, available, request, prompt)
        if rule is None:
            candidates, reason = self._without_rule(config, available, request)
        candidates, reason, strategy, ab_name = self._ab_split(config, available, user, rule, candidates, reason)
        candidates, reason = self._pin(config, override, candidates, reason, available)
        chosen = config.models[candidates[0]]
        learned_as = use_case or task or "general"
        decision = RouteDecision(
            chosen.id, chosen.model, config.endpoints[chosen.id], tuple(candidates[1:]),
            rule.name if rule else None, reason, round(confidence, 3), strategy, tier, escalated,
            signals, (time.perf_counter() - started) * 1e6, f"{self._id_prefix}{next(self._ids):x}",
            learned_as, ab_name, override is not None, chosen.provider, prompt_length, learned,
        )
        self._remember(decision)
        return decision

    def _complexity(self, prompt: str, complexity: str | None) -> tuple[str, float, tuple[str, ...], bool]:
        if complexity is None:
            tier, confidence, signals = estimate_complexity(prompt)
        elif complexity in COMPLEXITY_TIERS:
            tier, confidence, signals = complexity, 1.0, ()
        else:
            raise ValueError(f"complexity is one of {', '.join(COMPLEXITY_TIERS)}, not {complexity!r}")
        escalated = confidence < self.escalate_below and tier != COMPLEXITY_TIERS[-1]
        return (one_tier_up(tier) if escalated else tier), confidence, tuple(signals), escalated

    def _by_rules(
        self, config: CompiledFleet, available: frozenset[str], request: Mapping[str, Any], prompt: str
    ) -> tuple[CompiledRule | None, list[str], str, LearnedChoice | None]:
        """The first matching rule with an available model: its candidates in order, and why."""
        if self.strategy != "task-based":
            return None, [], "", None
        rules = config.rules
        mask = config.index.candidates(request["task"], request["use_case"], request["complexity"],
                                       request["user"], request["tags"], request["prompt_length"])
        while mask:  # the candidate rules, highest priority (lowest bit) first
            low = mask & -mask
            mask ^= low
            rule = rules[low.bit_length() - 1]
            if not rule.predicate(request):
                continue
            candidates = [t for t in rule.targets if t in available]
            if not candidates:
                continue
            budget, degrade = self.budget, rule.budget_degrade
            avoid = budget.over("critical") - config.never_blocked if degrade and budget.per_model else frozenset()
            learned, reason = None, rule.reason
            if rule.learned is not None:
                category = request["use_case"] or request["task"] or ""
                ordered, learned = rule.learned.choose(prompt, category, available, budget.steps if degrade else 0)
                candidates = ordered + [t for t in candidates if t not in ordered]
                reason = self._learned_reason(rule, learned)
            if avoid:  # degrade, not block: a model past its own budget goes behind the others
                candidates.sort(key=lambda m: m in avoid)
            return rule, candidates, reason, learned
        return None, [], "", None

    @staticmethod
    def _learned_reason(rule: CompiledRule, learned: LearnedChoice) -> str:
        stepped = f", {learned.step} budget step(s) cheaper" if learned.step else ""
        return (f"{rule.reason}; learned:{learned.router} at {learned.target} "
                f"({learned.threshold}{stepped})")

    def _ab_split(
        self, config: CompiledFleet, available: frozenset[str], user: str | None, rule: CompiledRule | None,
        candidates: list[str], reason: str,
    ) -> tuple[list[str], str, str, str | None]:
        if user is None or not (config.ab_tests or self.ab_tests):
            return candidates, reason, self.strategy, None
        rule_name = rule.name if rule else None
        for test in (*config.ab_tests, *self.ab_tests):
            if test.rule is None or test.rule == rule_name:
                arm = test.assign(user)
                if arm in available:
                    candidates = [arm, *(c for c in candidates if c != arm)]
                    return candidates, f"A/B test {test.name}: arm {arm} for this user; {reason}", f"ab:{test.name}", test.name
                break
        return candidates, reason, self.strategy, None

    def _pin(self, config: CompiledFleet, override: str | None, candidates: list[str], reason: str,
             available: frozenset[str]) -> tuple[list[str], str]:
        if override is not None:
            if override not in config.models:
                raise ValueError(f"cannot pin unknown model {override!r}")
            routed = f"routing picks {candidates[0]}: {reason}" if candidates else "routing finds no model"
            return [override, *(c for c in candidates if c != override)], f"pinned by the caller ({routed})"
        if not candidates:
            excluded = {m.id: "disabled" if not m.enabled else self._health.get(m.id, "unavailable")
                        for m in config.models.values() if m.id not in available}
            raise NoRoute("no enabled, healthy model in the fleet can take this request ("
                          + ", ".join(f"{k}: {v}" for k, v in excluded.items()) + ")", excluded)
        return candidates, reason

    def _remember(self, decision: RouteDecision) -> None:
        recent = self._recent
        recent[decision.decision_id] = (decision.use_case, decision.model_id, decision.ab_test)
        if len(recent) >= _REMEMBERED:
            self._older, self._recent = recent, {}
        if self.on_decision is not None:
            try:
                self.on_decision(decision)
            except Exception:  # logging a decision must never break routing
                self.log_errors += 1

    def _without_rule(
        self, config: CompiledFleet, available: frozenset[str], request: Mapping[str, Any]
    ) -> tuple[list[str], str]:
        if self.strategy == "adaptive":  # a fresh draw every time: nothing to keep
            models = [m for m in config.models.values() if m.id in available]
            return self._sampler.order(models, request) if models else ([], "")
        # The other orders depend only on what the request needs (tier, task or use case, tags),
        # which takes few values in an app: keep them per config, unless the prompt is too long
        # for some context window.
        key: tuple[Any, ...] | None = None
        if (request["prompt_length"] or 0) / CHARS_PER_TOKEN <= config.smallest_context:
            key = (self.strategy, available, request["complexity"], request["task"], request["use_case"],
                   request["tags"])
            known = config.orderings.get(key)
            if known is not None:
                return list(known[0]), known[1]
        ordered, reason = self._order_without_rule(config, available, request)
        if key is not None:
            if len(config.orderings) >= _ORDERINGS_KEPT:
                config.orderings.clear()
            config.orderings[key] = (tuple(ordered), reason)
        return ordered, reason

    def _order_without_rule(
        self, config: CompiledFleet, available: frozenset[str], request: Mapping[str, Any]
    ) -> tuple[list[str], str]:
        models = [m for m in config.models.values() if m.id in available]
        if not models:
            return [], ""
        if self.strategy == "quality-first":
            return quality_first(models, request, config.prices)
        ordered, why = cost_first(models, request, config.prices)
        if self.strategy == "cost-first":
            return ordered, why
        default = [m for m in config.default_role if m in available]
        if default:
            fill = [m for m in ordered if m not in default][:_FILL]
            return default + fill, f"no rule matched: role {DEFAULT_ROLE}"
        return ordered[: 1 + _FILL], f"no rule matched: {why}"
