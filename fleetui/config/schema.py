"""The fleet file: pydantic models of every section, and their cross-checks.

Loading and saving live in :mod:`fleetui.config.fleetfile`; this module only says what a valid fleet
is. Every model forbids unknown keys so that a typo in the file is an error, not a silent
default.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Identifier = Annotated[
    str,
    Field(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$",
        description="letters, digits, '.', '_' and '-', starting with a letter or digit",
    ),
]

# A key reference names where the key lives; it must never be the key itself.
_LOOKS_LIKE_A_KEY = re.compile(r"^(sk-|sk_|AIza|xai-|gsk_|pk-|ghp_)|^[A-Za-z0-9_\-]{40,}$")
_KEY_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")


Problem = tuple[tuple[str | int, ...], str]


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


def _check_key_ref(value: str | None) -> str | None:
    if value is None:
        return None
    if _LOOKS_LIKE_A_KEY.search(value):
        raise ValueError(
            "this looks like an API key itself; the fleet file holds only the key's name. "
            "Store the key with `fleetui key set NAME` (or an env var) and put NAME here"
        )
    if not _KEY_NAME.match(value):
        raise ValueError(
            "a key reference is a keyring entry or env var name, e.g. OPENAI_API_KEY"
        )
    return value


class ProviderKind(StrEnum):
    OPENAI_COMPATIBLE = "openai-compatible"
    ANTHROPIC = "anthropic"
    GEMINI = "gemini"
    OLLAMA = "ollama"


DEFAULT_BASE_URLS: dict[ProviderKind, str] = {
    ProviderKind.OPENAI_COMPATIBLE: "https://api.openai.com/v1",
    ProviderKind.ANTHROPIC: "https://api.anthropic.com",
    ProviderKind.GEMINI: "https://generativelanguage.googleapis.com",
    ProviderKind.OLLAMA: "http://localhost:11434",
}


class Provider(Section):
    """Where a family of models is served and how to authenticate."""

    id: Identifier
    kind: ProviderKind
    base_url: str | None = Field(
        default=None, description="API base URL; the kind's public default when omitted"
    )
    key: str | None = Field(
        default=None,
        description="name of the API key in the OS keyring or an env var (never the key)",
    )
    catalog_id: str | None = Field(
        default=None,
        description="provider id in the genai-prices catalog when it differs from `id`",
    )

    _check_key = field_validator("key")(classmethod(lambda cls, v: _check_key_ref(v)))

    @field_validator("base_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^https?://[^\s/]+", value):
            raise ValueError("base_url must start with http:// or https:// and name a host")
        return value.rstrip("/") if value else value

    @property
    def effective_base_url(self) -> str:
        return self.base_url or DEFAULT_BASE_URLS[self.kind]


class PriceOverride(Section):
    """Prices in USD per 1M tokens; they win over the genai-prices catalog."""

    input: float = Field(ge=0, description="USD per 1M input tokens")
    output: float = Field(ge=0, description="USD per 1M output tokens")
    cached: float | None = Field(
        default=None, ge=0, description="USD per 1M cached input tokens (input price if omitted)"
    )


Score = Annotated[int, Field(ge=0, le=100)]


class Capabilities(Section):
    strengths: list[str] = Field(default_factory=list)
    coding: Score | None = None
    reasoning: Score | None = None
    creativity: Score | None = None
    speed: Score | None = None
    vision: bool = False
    tools: bool = False
    json_mode: bool = False


class RoleAssignment(Section):
    role: Identifier
    priority: int = Field(default=1, ge=1, description="1 is the model's first role")
    description: str | None = None


class Model(Section):
    """One model of the fleet."""

    id: Identifier
    name: str = Field(min_length=1, description="display name")
    provider: Identifier = Field(description="id of a [[providers]] entry")
    model: str = Field(min_length=1, description="the provider's own model name")
    endpoint: str | None = Field(
        default=None, description="base URL when it differs from the provider's"
    )
    key: str | None = Field(
        default=None, description="key reference when it differs from the provider's"
    )
    price: PriceOverride | None = None
    context_window: int | None = Field(default=None, gt=0)
    capabilities: Capabilities = Field(default_factory=Capabilities)
    roles: list[RoleAssignment] = Field(default_factory=list)
    enabled: bool = True
    tags: list[str] = Field(default_factory=list)

    _check_key = field_validator("key")(classmethod(lambda cls, v: _check_key_ref(v)))

    @field_validator("endpoint")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^https?://[^\s/]+", value):
            raise ValueError("endpoint must start with http:// or https:// and name a host")
        return value.rstrip("/") if value else value


class Role(Section):
    id: Identifier
    name: str
    description: str = ""


class RoutingRule(Section):
    """Send requests matching `when` to a model or to the models of a role."""

    name: Identifier
    priority: int = Field(default=100, description="lower runs first")
    when: str = Field(min_length=1, description='condition, e.g. task == "coding"')
    model: Identifier | None = None
    role: Identifier | None = None
    fallbacks: list[Identifier] = Field(default_factory=list)
    enabled: bool = True
    description: str = ""

    @model_validator(mode="after")
    def _one_target(self) -> RoutingRule:
        if (self.model is None) == (self.role is None):
            raise ValueError("a rule targets exactly one of `model` or `role`")
        return self


class ABTestSpec(Section):
    """Split one rule's traffic (or all traffic) between models by user, to find the better one.

    Each user always lands in the same arm (a hash of the test name and user id), so results
    compare users, not retries. `fleetui ab` reads the outcomes from the call log.
    """

    name: Identifier
    arms: dict[str, float] = Field(description='model id → relative weight, e.g. { "gpt-4o-mini" = 1 }')
    rule: Identifier | None = Field(default=None, description="only requests this rule matched; all when unset")
    min_samples: int = Field(default=100, ge=1, description="calls per arm before a winner can be declared")
    alpha: float = Field(default=0.05, gt=0, lt=1, description="significance level of the test")
    enabled: bool = True
    description: str = ""

    @field_validator("arms")
    @classmethod
    def _arms(cls, value: dict[str, float]) -> dict[str, float]:
        if len(value) < 2:
            raise ValueError("an A/B test needs two or more arms (model id = weight)")
        bad = [m for m, w in value.items() if not w > 0]
        if bad:
            raise ValueError(f"arm weights must be above 0 ({', '.join(bad)})")
        return value


class Budgets(Section):
    monthly_usd: float | None = Field(default=None, ge=0)
    warn_pct: float = Field(default=70, gt=0, le=100)
    critical_pct: float = Field(default=90, gt=0, le=100)
    per_model: dict[str, float] = Field(default_factory=dict)
    per_role: dict[str, float] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _ordered(self) -> Budgets:
        if self.warn_pct >= self.critical_pct:
            raise ValueError("warn_pct must be below critical_pct")
        return self


class RecommendationThresholds(Section):
    min_saving_pct: float = Field(default=20, ge=0, le=100)
    max_quality_drop_pct: float = Field(default=5, ge=0, le=100)
    min_samples: int = Field(default=5, ge=1)
    verification_budget_usd: float = Field(default=1.0, ge=0)
    judge: Identifier | None = Field(
        default=None, description="model id that judges replayed answers (default: the strongest other model)"
    )


class RankingWeights(Section):
    success: float = Field(default=40, ge=0)
    speed: float = Field(default=30, ge=0)
    cost: float = Field(default=20, ge=0)
    satisfaction: float = Field(default=10, ge=0)

    @model_validator(mode="after")
    def _some_weight(self) -> RankingWeights:
        if self.success + self.speed + self.cost + self.satisfaction <= 0:
            raise ValueError("at least one ranking weight must be positive")
        return self


class Ranking(Section):
    weights: RankingWeights = Field(default_factory=RankingWeights)
    min_samples: int = Field(default=20, ge=1, description="no ranking under this many calls")


_TRUNCATE = re.compile(r"^truncate:(\d+)$")


class Privacy(Section):
    prompts: str = Field(
        default="full", description='"full", "truncate:N" (first N characters), "hash" or "none"'
    )

    @field_validator("prompts")
    @classmethod
    def _mode(cls, value: str) -> str:
        if value in ("full", "hash", "none"):
            return value
        match = _TRUNCATE.match(value)
        if match and int(match.group(1)) > 0:
            return value
        raise ValueError('prompts must be "full", "truncate:N" with N > 0, "hash" or "none"')

    @property
    def truncate_at(self) -> int | None:
        match = _TRUNCATE.match(self.prompts)
        return int(match.group(1)) if match else None


class UseCaseRule(Section):
    """Keywords that put a prompt in a use case before (and beside) discovered clusters."""

    id: Identifier
    name: str = ""
    keywords: list[str] = Field(min_length=1, description="words or phrases, matched whole")
    priority: int = Field(default=100, description="breaks ties between equally good matches")


class StoreSettings(Section):
    """`[store]`: how long the call log is kept."""

    keep_days: int | None = Field(
        default=None, ge=1,
        description="delete calls older than this many days (the shim does it hourly, `fleetui prune` "
        "on demand); the per-day rollups stay, so past months still show. Unset: keep everything",
    )


class Probes(Section):
    interval_s: float = Field(default=300, gt=0)
    timeout_s: float = Field(default=10, gt=0)
    concurrency: int = Field(default=16, ge=1)


class Fleet(Section):
    """A whole fleet file."""

    name: str = "fleet"
    providers: list[Provider] = Field(default_factory=list)
    roles: list[Role] = Field(default_factory=list)
    models: list[Model] = Field(default_factory=list)
    rules: list[RoutingRule] = Field(default_factory=list)
    ab_tests: list[ABTestSpec] = Field(default_factory=list)
    budget: Budgets = Field(default_factory=Budgets)
    recommendations: RecommendationThresholds = Field(default_factory=RecommendationThresholds)
    ranking: Ranking = Field(default_factory=Ranking)
    privacy: Privacy = Field(default_factory=Privacy)
    probes: Probes = Field(default_factory=Probes)
    store: StoreSettings = Field(default_factory=StoreSettings)
    use_cases: list[UseCaseRule] = Field(
        default_factory=list, description="keyword rules; fleetui's built-in set when empty"
    )

    @model_validator(mode="after")
    def _cross_references(self) -> Fleet:
        problems = cross_reference_problems(self.model_dump())
        if problems:
            raise CrossReferenceError(problems)
        return self

    # -- lookups used everywhere -----------------------------------------------------------

    def model(self, model_id: str) -> Model:
        for model in self.models:
            if model.id == model_id:
                return model
        raise KeyError(model_id)

    def provider(self, provider_id: str) -> Provider:
        for provider in self.providers:
            if provider.id == provider_id:
                return provider
        raise KeyError(provider_id)

    def provider_of(self, model: Model) -> Provider:
        return self.provider(model.provider)

    def base_url_of(self, model: Model) -> str:
        return model.endpoint or self.provider_of(model).effective_base_url

    def key_ref_of(self, model: Model) -> str | None:
        return model.key or self.provider_of(model).key

    def models_in_role(self, role_id: str) -> list[Model]:
        """Models holding a role, best priority first."""
        holders = [
            (a.priority, model)
            for model in self.models
            for a in model.roles
            if a.role == role_id
        ]
        return [model for _, model in sorted(holders, key=lambda pair: pair[0])]


class CrossReferenceError(ValueError):
    """Problems that span sections, each with the path of the value at fault."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("; ".join(message for _, message in problems))


def cross_reference_problems(data: Mapping[str, Any]) -> list[Problem]:
    """Problems that span sections, each with the path of the offending value.

    Works on plain data so that the loader can report these alongside field errors even when
    some entries failed to validate; anything malformed here was reported by field validation.
    """

    def entries(section: str) -> list[Mapping[str, Any]]:
        value = data.get(section)
        return [e if isinstance(e, Mapping) else {} for e in value] if isinstance(value, list) else []

    providers, roles_, models, rules = (entries(s) for s in ("providers", "roles", "models", "rules"))
    problems: list[Problem] = []
    problems += _duplicates("providers", [p.get("id") for p in providers], "provider id")
    problems += _duplicates("roles", [r.get("id") for r in roles_], "role id")
    problems += _duplicates("models", [m.get("id") for m in models], "model id")
    problems += _duplicates("rules", [r.get("name") for r in rules], "rule name", field="name")
    ab_tests = entries("ab_tests")
    problems += _duplicates("ab_tests", [t.get("name") for t in ab_tests], "A/B test name", field="name")
    provider_ids = {p.get("id") for p in providers} - {None}
    role_ids = {r.get("id") for r in roles_} - {None}
    model_ids = {m.get("id") for m in models} - {None}

    def check(path: tuple[str | int, ...], value: Any, known: set[Any], what: str, owner: str) -> None:
        if isinstance(value, str) and value not in known:
            prefix = f"{owner}names unknown" if owner else "unknown"
            problems.append((path, f"{prefix} {what} {value!r}; known: {_listing(known)}"))

    for i, model in enumerate(models):
        check(("models", i, "provider"), model.get("provider"), provider_ids, "provider", "")
        for j, assignment in enumerate(model.get("roles") or []):
            if isinstance(assignment, Mapping):
                check(("models", i, "roles", j, "role"), assignment.get("role"), role_ids, "role", "")
    for i, rule in enumerate(rules):
        owner = f"rule {rule.get('name')!r} "
        if isinstance(rule.get("when"), str) and rule["when"].strip():
            from fleetui.routing.conditions import validate_condition

            problem = validate_condition(rule["when"])
            if problem:
                problems.append((("rules", i, "when"), f"condition: {problem}"))
        check(("rules", i, "model"), rule.get("model"), model_ids, "model", owner)
        check(("rules", i, "role"), rule.get("role"), role_ids, "role", owner)
        for j, fallback in enumerate(rule.get("fallbacks") or []):
            check(("rules", i, "fallbacks", j), fallback, model_ids, "fallback model", owner)
    rule_names = {r.get("name") for r in rules} - {None}
    for i, test in enumerate(ab_tests):
        owner = f"A/B test {test.get('name')!r} "
        check(("ab_tests", i, "rule"), test.get("rule"), rule_names, "rule", owner)
        arms = test.get("arms") if isinstance(test.get("arms"), Mapping) else {}
        for model_id in arms:
            check(("ab_tests", i, "arms", model_id), model_id, model_ids, "model", owner)
    budget = data.get("budget") if isinstance(data.get("budget"), Mapping) else {}
    for name in budget.get("per_model") or {}:
        check(("budget", "per_model", name), name, model_ids, "model", "budget ")
    for name in budget.get("per_role") or {}:
        check(("budget", "per_role", name), name, role_ids, "role", "budget ")
    thresholds = data.get("recommendations") if isinstance(data.get("recommendations"), Mapping) else {}
    check(("recommendations", "judge"), thresholds.get("judge"), model_ids, "judge model", "")
    return problems


def _duplicates(
    section: str, ids: list[Any], what: str, field: str = "id"
) -> list[Problem]:
    seen: dict[Any, int] = {}
    problems: list[Problem] = []
    for index, value in enumerate(ids):
        if value is None:
            continue
        if value in seen:
            problems.append(
                ((section, index, field),
                 f"duplicate {what} {value!r} (already used by {section} entry {seen[value] + 1})")
            )
        else:
            seen[value] = index
    return problems


def _listing(names: set[Any]) -> str:
    return ", ".join(sorted(map(str, names))) if names else "(none defined)"
