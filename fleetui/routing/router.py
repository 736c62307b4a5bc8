"""The routing engine apps call: `Router.from_toml("fleet.toml").route(prompt, task=...)`.

Rules run in priority order and the first match wins; a rule targets a model or a role (the
role's models in priority order), then its fallbacks. Disabled models and models that probes
report down are skipped, so a rule whose models are all down lets the next rule decide. With no
match, the `default` role, else the cheapest capable model. When the complexity estimate is unsure
(confidence under the threshold) the request goes one tier up.

Routing is on the app's hot path, so everything that can be is done once per fleet: conditions
compiled to closures, rules indexed by the facts they require, endpoints and prices looked up.
A decision then costs a few microseconds (`benchmarks/bench_route.py`).

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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple, Protocol

from fleetui.routing.conditions import COMPLEXITY_TIERS, Predicate, parse_condition
from fleetui.config.schema import Fleet, Model
from fleetui.routing.ab import ABTest
from fleetui.routing.complexity import estimate_complexity, one_tier_up
from fleetui.routing.index import RuleIndex
from fleetui.pricing import CHARS_PER_TOKEN
from fleetui.routing.strategies import (
    STRATEGIES,
    Strategy,
    ThompsonSampler,
    blended_prices,
    cost_first,
    quality_first,
)

# Probe statuses (fleetui.probes) under which a model cannot take requests now; "degraded"
# (slow) still can.
UNAVAILABLE = frozenset({"offline", "auth_failed", "misconfigured", "rate_limited"})
DEFAULT_ROLE = "default"
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

    def as_json(self) -> dict[str, Any]:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in self._asdict().items()}

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


@dataclass(frozen=True, slots=True)
class _Rule:
    name: str
    when: str
    predicate: Predicate
    targets: tuple[str, ...]  # the model, or the role's models by priority, then the fallbacks
    reason: str


@dataclass(frozen=True, slots=True)
class _Config:
    """Everything routing needs from one version of the fleet, computed once."""

    fleet: Fleet
    rules: tuple[_Rule, ...]  # enabled rules, in priority order
    index: RuleIndex
    models: dict[str, Model]
    endpoints: dict[str, str]
    prices: dict[str, float]  # blended USD per 1M tokens; unpriced models are absent
    default_role: tuple[str, ...]
    reads_hour: bool  # the local time is looked up only when a rule reads it
    smallest_context: float  # tokens; a prompt under it fits every model
    ab_tests: tuple[ABTest, ...]  # the fleet file's enabled A/B tests
    # Orders of models when no rule decides, by what the request needs (see _without_rule).
    orderings: dict[tuple[Any, ...], tuple[tuple[str, ...], str]] = field(default_factory=dict)


def _compile(fleet: Fleet) -> _Config:
    rules: list[_Rule] = []
    conditions = []
    reads_hour = False
    # sorted() is stable: rules with equal priorities keep their order in the file.
    for rule in sorted((r for r in fleet.rules if r.enabled), key=lambda r: r.priority):
        condition = parse_condition(rule.when)
        targets = fleet.targets_of(rule)
        targets += [f for f in rule.fallbacks if f not in targets]
        reason = f"rule {rule.name}: {rule.when}"
        rules.append(_Rule(rule.name, rule.when, condition.evaluate, tuple(targets), reason))
        conditions.append(condition)
        reads_hour = reads_hour or "hour" in condition.attributes
    return _Config(
        fleet=fleet, rules=tuple(rules), index=RuleIndex(conditions),
        models={m.id: m for m in fleet.models},
        endpoints={m.id: fleet.base_url_of(m) for m in fleet.models},
        prices=blended_prices(fleet),
        default_role=tuple(m.id for m in fleet.models_in_role(DEFAULT_ROLE)),
        reads_hour=reads_hour,
        smallest_context=min((m.context_window for m in fleet.models if m.context_window), default=float("inf")),
        ab_tests=tuple(ABTest(t.name, dict(t.arms), rule=t.rule, min_samples=t.min_samples, alpha=t.alpha)
                       for t in fleet.ab_tests if t.enabled),
    )


def _carry_over_outcomes(old: _Config, new: _Config) -> None:
    """Keep the outcomes counted in this process for A/B tests a reload left as they were."""
    before = {t.name: t for t in old.ab_tests}
    for test in new.ab_tests:
        previous = before.get(test.name)
        if previous is not None and previous.arms.keys() == test.arms.keys() and previous.rule == test.rule:
            test.take_outcomes(previous)


def _file_signature(path: Path) -> tuple[int, int, int]:
    # The inode changes when an editor or `save_fleet` renames a new file into place, even
    # within one mtime tick.
    stat = path.stat()
    return stat.st_mtime_ns, stat.st_size, stat.st_ino


class Router:
    def __init__(
        self,
        fleet: Fleet,
        *,
        strategy: Strategy = "task-based",
        escalate_below: float = 0.7,
        on_decision: DecisionLog | None = None,
        seed: int | None = None,
        check_interval_s: float = 1.0,
    ) -> None:
        if strategy not in STRATEGIES:
            raise ValueError(f"unknown routing strategy {strategy!r}; known: {', '.join(STRATEGIES)}")
        self.strategy: Strategy = strategy
        self.escalate_below = escalate_below
        self.on_decision = on_decision
        self.check_interval_s = check_interval_s
        self.ab_tests: list[ABTest] = []  # added in code with add_ab_test; the file's are in the config
        self.reload_error: str | None = None  # the last reload's problem; routing kept the config before it
        self.reloads = 0
        self.log_errors = 0  # decisions the DecisionLog raised on (routing carried on)
        self._health: dict[str, str] = {}
        self._state = self._with_availability(_compile(fleet))
        self._path: Path | None = None
        self._signature: tuple[int, int, int] | None = None
        self._checked = time.perf_counter()
        self._lock = threading.Lock()
        self.health_error: str | None = None  # why the last health refresh failed (watch_health)
        self._health_watch: threading.Event | None = None
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
        """A router over a fleet file, which it re-reads when the file changes."""
        from fleetui.config.fleetfile import load_fleet

        file = Path(path)
        signature = _file_signature(file)
        router = cls(load_fleet(file), **options)
        router._path, router._signature = file, signature
        return router

    @property
    def fleet(self) -> Fleet:
        return self._state[0].fleet

    # -- health and A/B tests ----------------------------------------------------------------

    def set_health(self, statuses: Mapping[str, str]) -> None:
        """Model statuses from probes (model id → status); offline, auth_failed, misconfigured
        and rate_limited models are skipped until a later call says otherwise."""
        with self._lock:
            self._health = dict(statuses)
            self._state = self._with_availability(self._state[0])

    def watch_health(self, db_path: str | os.PathLike[str] | None = None, *, every_s: float = 30.0,
                     max_age_s: float | None = None) -> None:
        """Skip the models fleetui's probes find down (`fleetui probe --watch`, the terminal app).

        Reads the latest probes from the store (`db_path`, default fleetui's database) now, then
        every `every_s` on a daemon thread, and applies them as `set_health` does. Probes older
        than `max_age_s` (default: three of the fleet's probe intervals) do not count, so a model
        nobody probes any more is routed to again. A refresh that fails keeps the statuses it had
        and says why in `health_error`. `stop_watching_health()` ends it.
        """
        if self._health_watch is not None:
            raise RuntimeError("this router already watches probe health")
        from fleetui import locations

        path = Path(db_path) if db_path is not None else locations.default_db()
        stop = threading.Event()
        self._health_watch = stop
        self._refresh_health(path, max_age_s)

        def watch() -> None:
            while not stop.wait(every_s):
                self._refresh_health(path, max_age_s)

        threading.Thread(target=watch, name="fleetui-router-health", daemon=True).start()

    def stop_watching_health(self) -> None:
        if self._health_watch is not None:
            self._health_watch.set()
            self._health_watch = None

    def _refresh_health(self, path: Path, max_age_s: float | None) -> None:
        from fleetui.probes import fleet_health
        from fleetui.store import Store

        fleet = self.fleet
        if not path.exists():
            self.health_error = f"{path}: no such database yet, so no probes (run `fleetui probe`)"
            return
        oldest = time.time() - (max_age_s if max_age_s is not None else 3 * fleet.probes.interval_s)
        try:
            with Store.open(path) as store:
                statuses = fleet_health(fleet, lambda model_id, n: [
                    p for p in store.recent_probes(model_id, n) if p.ts >= oldest])
        except Exception as exc:  # a locked or broken store must not stop routing
            self.health_error = f"{path}: {exc}"
            return
        self.set_health(statuses)
        self.health_error = None

    def _with_availability(self, config: _Config) -> tuple[_Config, frozenset[str]]:
        available = frozenset(m.id for m in config.models.values()
                              if m.enabled and self._health.get(m.id) not in UNAVAILABLE)
        return config, available

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
            signature = _file_signature(self._path)
        except OSError as exc:
            self.reload_error = f"{self._path}: {exc}"
            return False
        if signature == self._signature:
            return False
        self._signature = signature
        from fleetui.config.fleetfile import load_fleet

        try:
            config = _compile(load_fleet(self._path))
        except Exception as exc:  # a bad edit of any kind must never stop the app's routing
            self.reload_error = str(exc)
            return False
        _carry_over_outcomes(self._state[0], config)
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
        if complexity is None:
            tier, confidence, signals = estimate_complexity(prompt)
        elif complexity in COMPLEXITY_TIERS:
            tier, confidence, signals = complexity, 1.0, ()
        else:
            raise ValueError(f"complexity is one of {', '.join(COMPLEXITY_TIERS)}, not {complexity!r}")
        escalated = confidence < self.escalate_below and tier != COMPLEXITY_TIERS[-1]
        if escalated:
            tier = one_tier_up(tier)
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
        rule: _Rule | None = None
        candidates: list[str] = []
        reason = ""
        if self.strategy == "task-based":
            rules = config.rules
            mask = config.index.candidates(task, use_case, tier, user, tags, prompt_length)
            while mask:  # the candidate rules, highest priority (lowest bit) first
                low = mask & -mask
                mask ^= low
                candidate = rules[low.bit_length() - 1]
                if candidate.predicate(request):
                    candidates = [t for t in candidate.targets if t in available]
                    if candidates:
                        rule, reason = candidate, candidate.reason
                        break
        if rule is None:
            candidates, reason = self._without_rule(config, available, request)
        strategy: str = self.strategy
        ab_name: str | None = None
        if user is not None and (config.ab_tests or self.ab_tests):
            rule_name = rule.name if rule else None
            for test in (*config.ab_tests, *self.ab_tests):
                if test.rule is None or test.rule == rule_name:
                    arm = test.assign(user)
                    if arm in available:
                        candidates = [arm, *(c for c in candidates if c != arm)]
                        reason = f"A/B test {test.name}: arm {arm} for this user; {reason}"
                        strategy, ab_name = f"ab:{test.name}", test.name
                    break
        if override is not None:
            if override not in config.models:
                raise ValueError(f"cannot pin unknown model {override!r}")
            routed = f"routing picks {candidates[0]}: {reason}" if candidates else "routing finds no model"
            reason = f"pinned by the caller ({routed})"
            candidates = [override, *(c for c in candidates if c != override)]
        elif not candidates:
            excluded = {m.id: "disabled" if not m.enabled else self._health.get(m.id, "unavailable")
                        for m in config.models.values() if m.id not in available}
            raise NoRoute("no enabled, healthy model in the fleet can take this request ("
                          + ", ".join(f"{k}: {v}" for k, v in excluded.items()) + ")", excluded)
        chosen = config.models[candidates[0]]
        learned_as = use_case or task or "general"
        decision = RouteDecision(
            chosen.id, chosen.model, config.endpoints[chosen.id], tuple(candidates[1:]),
            rule.name if rule else None, reason, round(confidence, 3), strategy, tier, escalated,
            signals, (time.perf_counter() - started) * 1e6, f"{self._id_prefix}{next(self._ids):x}",
            learned_as, ab_name, override is not None, chosen.provider, prompt_length,
        )
        recent = self._recent
        recent[decision.decision_id] = (learned_as, chosen.id, ab_name)
        if len(recent) >= _REMEMBERED:
            self._older, self._recent = recent, {}
        if self.on_decision is not None:
            try:
                self.on_decision(decision)
            except Exception:  # logging a decision must never break routing
                self.log_errors += 1
        return decision

    def _without_rule(
        self, config: _Config, available: frozenset[str], request: Mapping[str, Any]
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
        self, config: _Config, available: frozenset[str], request: Mapping[str, Any]
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

    # -- learning from outcomes --------------------------------------------------------------

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
