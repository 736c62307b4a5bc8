"""The fleet file: pydantic models of every section, and their cross-checks.

Loading and saving live in :mod:`fleetui.config.fleetfile`; this module only says what a valid fleet
is. Every model forbids unknown keys so that a typo in the file is an error, not a silent
default.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from enum import StrEnum
from typing import Annotated, Any, Literal

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
    # inf and nan are TOML floats, but no price, budget or threshold can be one.
    model_config = ConfigDict(extra="forbid", validate_assignment=True, allow_inf_nan=False)


def _check_key_ref(value: str | None) -> str | None:
    if value is None or value == "":  # "": no key at all (a keyless local server), not the provider's
        return value
    if _LOOKS_LIKE_A_KEY.search(value):
        raise ValueError(
            "this looks like an API key itself; the fleet file holds only the key's name. "
            "Store the key with `fleetui key set NAME` (or an env var) and put NAME here"
        )
    if not _KEY_NAME.match(value):
        raise ValueError(
            "not a key name; put the name of a keyring entry or env var here, e.g. OPENAI_API_KEY"
        )
    return value


class ProviderKind(StrEnum):
    OPENAI_COMPATIBLE = "openai-compatible"
    ANTHROPIC = "anthropic"
    GEMINI = "gemini"
    OLLAMA = "ollama"


# Packages add provider kinds here: an entry point's name is the kind, its value an Adapter
# (fleetui.providers.factory loads them). The fleet file only needs the names, so reading one
# never imports a plugin.
ADAPTER_ENTRY_POINTS = "fleetui.adapters"


def plugin_kinds() -> list[str]:
    """The provider kinds installed adapter plugins declare (read from their metadata, not loaded)."""
    import importlib.metadata

    builtin = {k.value for k in ProviderKind}
    return sorted({e.name for e in importlib.metadata.entry_points(group=ADAPTER_ENTRY_POINTS)} - builtin)


def provider_kind(value: object) -> ProviderKind | str:
    """A built-in kind as its ProviderKind, a plugin's kind as its name; else ValueError naming them all."""
    if isinstance(value, str):
        if value in ProviderKind._value2member_map_:
            return ProviderKind(value)
        if value in plugin_kinds():  # scanned only for a kind that is not built in
            return value
    known = [k.value for k in ProviderKind] + plugin_kinds()
    raise ValueError(f"no adapter for provider kind {value!r}; the kinds installed are {', '.join(known)} "
                     f"(a package adds one through the {ADAPTER_ENTRY_POINTS!r} entry points)")


DEFAULT_BASE_URLS: dict[ProviderKind | str, str] = {
    ProviderKind.OPENAI_COMPATIBLE: "https://api.openai.com/v1",
    ProviderKind.ANTHROPIC: "https://api.anthropic.com",
    ProviderKind.GEMINI: "https://generativelanguage.googleapis.com",
    ProviderKind.OLLAMA: "http://localhost:11434",
}


class Provider(Section):
    """Where a family of models is served and how to authenticate."""

    id: Identifier = Field(description="the provider's id, which models name in `provider`")
    kind: ProviderKind | str = Field(
        union_mode="left_to_right",
        description="the wire format: openai-compatible, anthropic, gemini, ollama, or a kind an installed "
        "adapter plugin adds (entry points `fleetui.adapters`)",
    )
    base_url: str | None = Field(
        default=None, description="the API's base URL (the kind's public default when omitted)"
    )
    key: str | None = Field(
        default=None,
        description="the name of the API key in the OS keyring or an env var (never the key itself)",
    )
    catalog_id: str | None = Field(
        default=None,
        description="the provider's id in the genai-prices catalog when it differs from `id`",
    )

    _check_key = field_validator("key")(classmethod(lambda cls, v: _check_key_ref(v)))
    _check_kind = field_validator("kind", mode="before")(classmethod(lambda cls, v: provider_kind(v)))

    @model_validator(mode="after")
    def _plugin_base_url(self) -> Provider:
        if self.base_url is None and self.kind not in DEFAULT_BASE_URLS:
            raise ValueError(f"kind {self.kind!r} comes from a plugin and has no default address; "
                             "set base_url to the API's address")
        return self

    @field_validator("base_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^https?://[^\s/]+", value):
            raise ValueError(
                "base_url must start with http:// or https:// and name a host; e.g. https://api.openai.com/v1")
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
    strengths: list[str] = Field(
        default_factory=list,
        description='what the model is good at, e.g. ["coding", "vision"]',
    )
    coding: Score | None = Field(default=None, description="a coding score from 0 to 100")
    reasoning: Score | None = Field(default=None, description="a reasoning score from 0 to 100")
    creativity: Score | None = Field(default=None, description="a creativity score from 0 to 100")
    speed: Score | None = Field(default=None, description="a speed score from 0 to 100")
    vision: bool = Field(default=False, description="true when the model reads images")
    tools: bool = Field(default=False, description="true when the model calls tools (functions)")
    json_mode: bool = Field(default=False, description="true when the model has a JSON output mode")


class RoleAssignment(Section):
    role: Identifier = Field(description="the id of a [[roles]] entry this model holds")
    priority: int = Field(default=1, ge=1, description="1 is the model's first role")
    description: str | None = Field(default=None, description="what this model does in that role")


class Model(Section):
    """One model of the fleet."""

    id: Identifier = Field(description="the model's id in fleetui, which rules, roles and budgets name")
    name: str = Field(min_length=1, description="the display name")
    provider: Identifier = Field(description="the id of a [[providers]] entry")
    model: str = Field(min_length=1, description="the provider's own name of the model, as its API takes it")
    endpoint: str | None = Field(
        default=None, description="the base URL when it differs from the provider's"
    )
    key: str | None = Field(
        default=None, description='the key\'s name when it differs from the provider\'s; "" for a model that needs no key'
    )
    price: PriceOverride | None = Field(default=None, description="prices that win over the catalog's")
    context_window: int | None = Field(default=None, gt=0, description="the context window in tokens")
    capabilities: Capabilities = Field(default_factory=Capabilities, description="scores and features")
    roles: list[RoleAssignment] = Field(
        default_factory=list,
        description='roles held, e.g. [{ role = "fast-tasks", priority = 1 }]',
    )
    enabled: bool = Field(default=True, description="false keeps the model in the file but out of routing")
    tags: list[str] = Field(default_factory=list, description="free labels for filtering")

    _check_key = field_validator("key")(classmethod(lambda cls, v: _check_key_ref(v)))

    @field_validator("endpoint")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^https?://[^\s/]+", value):
            raise ValueError(
                "endpoint must start with http:// or https:// and name a host; e.g. http://localhost:11434")
        return value.rstrip("/") if value else value


class Role(Section):
    id: Identifier = Field(description="the role's id, which models and rules name")
    name: str = Field(description="the display name of the role")
    description: str = Field(default="", description="what the role is for")


class RoutingRule(Section):
    """Send requests matching `when` to a model or to the models of a role."""

    # The file says `model = "<fleet id>"`; in Python a fleet id is `model_id` everywhere
    # (`Model.model` is the provider's own name), so the attribute has the alias.
    model_config = ConfigDict(**Section.model_config, serialize_by_alias=True)

    name: Identifier = Field(description="the rule's name, shown in decisions and A/B tests")
    priority: int = Field(default=100, description="lower runs first")
    when: str = Field(min_length=1, description='condition, e.g. task == "coding"')
    model_id: Identifier | None = Field(default=None, alias="model", description="the id of the model this rule routes to")
    role: Identifier | None = Field(default=None, description="the id of the role whose models this rule routes to")
    fallbacks: list[Identifier] = Field(
        default_factory=list,
        description="model ids tried in turn when the target fails",
    )
    enabled: bool = Field(default=True, description="false keeps the rule in the file but skips it")
    description: str = Field(default="", description="why the rule exists")
    # Learned routing (issue 19): the rule's target is a router trained on the fleet's logs.
    learned: Identifier | None = Field(
        default=None,
        description="the name of a learned router (NAME.router.json beside the fleet file, made by "
        "`fleetui router train NAME`) that picks among its models per prompt",
    )
    quality_target: str | None = Field(
        default=None,
        description='with `learned`: e.g. "95% of claude-sonnet": the cheapest routing that kept that share '
        "of the model's quality on held-out logs (default: the `balanced` profile)",
    )
    price_weight: float | None = Field(
        default=None, ge=0,
        description="with `learned`: trade quality for cost directly (0: best predicted quality; larger: cheaper)",
    )
    profile: Literal["economy", "balanced", "quality"] | None = Field(
        default=None,
        description="with `learned`: a named quality target: economy 90%, balanced 95%, quality 99% of the "
        "router's reference model",
    )
    budget_degrade: bool | None = Field(
        default=None,
        description="false: this rule keeps its choice when a budget passes its warn or critical line; "
        "unset or true: the router steps down toward cheaper models",
    )

    @model_validator(mode="after")
    def _one_target(self) -> RoutingRule:
        if sum(v is not None for v in (self.model_id, self.role, self.learned)) != 1:
            raise ValueError("a rule targets exactly one of `model` or `role` (or a learned router, `learned`); keep one of them")
        if self.learned is None and (self.quality_target, self.price_weight, self.profile) != (None, None, None):
            raise ValueError("quality_target, price_weight and profile need `learned = \"NAME\"`; add it or remove them")
        if sum(v is not None for v in (self.quality_target, self.price_weight, self.profile)) > 1:
            raise ValueError("give one of quality_target, price_weight or profile, not several")
        if self.quality_target is not None:
            parse_quality_target(self.quality_target)
        return self


_QUALITY_TARGET = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*%\s*of\s+([A-Za-z0-9][A-Za-z0-9._-]*)\s*$")


def parse_quality_target(text: str) -> tuple[float, str]:
    """"95% of claude-sonnet" → (0.95, "claude-sonnet"); ValueError saying the form otherwise."""
    match = _QUALITY_TARGET.match(text)
    if not match or not 0 < float(match.group(1)) <= 100:
        raise ValueError(f"quality_target {text!r}: write it as \"95% of MODEL\" with a share from 1 to 100")
    return float(match.group(1)) / 100, match.group(2)


class ABTestSpec(Section):
    """Split one rule's traffic (or all traffic) between models by user, to find the better one.

    Each user always lands in the same arm (a hash of the test name and user id), so results
    compare users, not retries. `fleetui ab` reads the outcomes from the call log.
    """

    name: Identifier = Field(description="the test's name, as `fleetui ab NAME` takes it")
    arms: dict[str, float] = Field(description='model id → relative weight, e.g. { "gpt-4o-mini" = 1 }')
    rule: Identifier | None = Field(default=None, description="only requests this rule matched; all when unset")
    min_samples: int = Field(default=100, ge=1, description="calls per arm before a winner can be declared")
    alpha: float = Field(default=0.05, gt=0, lt=1, description="significance level of the test")
    enabled: bool = Field(default=True, description="false ends the split; the test stays as a record")
    description: str = Field(default="", description="what the test is about, or how it ended")

    @field_validator("arms")
    @classmethod
    def _arms(cls, value: dict[str, float]) -> dict[str, float]:
        if len(value) < 2:
            raise ValueError("an A/B test needs two or more arms; add another, e.g. arms = { \"a\" = 1, \"b\" = 1 }")
        bad = [m for m, w in value.items() if not w > 0]
        if bad:
            raise ValueError(f"arm weights must be above 0 ({', '.join(bad)}); give each arm a weight above 0")
        return value


class Budgets(Section):
    monthly_usd: float | None = Field(default=None, ge=0, description="the monthly budget in USD")
    warn_pct: float = Field(default=70, gt=0, le=100, description="the share of the budget where dashboards turn amber")
    critical_pct: float = Field(
        default=90, gt=0, le=100,
        description="the share of the budget where dashboards turn red",
    )
    per_model: dict[str, float] = Field(default_factory=dict, description="monthly USD per model id")
    per_role: dict[str, float] = Field(default_factory=dict, description="monthly USD per role id")

    @model_validator(mode="after")
    def _ordered(self) -> Budgets:
        if self.warn_pct >= self.critical_pct:
            raise ValueError("warn_pct must be below critical_pct; lower warn_pct or raise critical_pct")
        return self


class RecommendationThresholds(Section):
    min_saving_pct: float = Field(default=20, ge=0, le=100, description="the smallest saving (%) worth recommending")
    max_quality_drop_pct: float = Field(
        default=5, ge=0, le=100,
        description="the largest quality drop (%) a switch may cost",
    )
    min_samples: int = Field(default=5, ge=1, description="calls needed before a recommendation")
    verification_budget_usd: float = Field(
        default=1.0, ge=0,
        description="the most USD a replay that verifies a switch may spend",
    )
    judge: Identifier | None = Field(
        default=None, description="model id that judges replayed answers (default: the strongest other model)"
    )


class RankingWeights(Section):
    success: float = Field(default=40, ge=0, description="the weight of the success rate in a ranking score")
    speed: float = Field(default=30, ge=0, description="the weight of speed in a ranking score")
    cost: float = Field(default=20, ge=0, description="the weight of cost in a ranking score")
    satisfaction: float = Field(default=10, ge=0, description="the weight of user feedback in a ranking score")

    @model_validator(mode="after")
    def _some_weight(self) -> RankingWeights:
        if self.success + self.speed + self.cost + self.satisfaction <= 0:
            raise ValueError("at least one ranking weight must be positive; give one of them a value above 0")
        return self


class Ranking(Section):
    weights: RankingWeights = Field(default_factory=RankingWeights, description="how a ranking score is made up")
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
        raise ValueError('not a privacy mode; use "full", "truncate:N" with N > 0, "hash" or "none"')


class UseCaseRule(Section):
    """Keywords that put a prompt in a use case before (and beside) discovered clusters."""

    id: Identifier = Field(description="the use case's id, which conditions test as use_case")
    name: str = Field(default="", description="the display name of the use case")
    keywords: list[str] = Field(min_length=1, description="words or phrases, matched whole")
    priority: int = Field(default=100, description="breaks ties between equally good matches")


class StoreSettings(Section):
    """`[store]`: how long the call log is kept."""

    keep_days: int | None = Field(
        default=None, ge=1,
        description="delete calls older than this many days (the shim does it hourly, `fleetui prune` "
        "on demand); the per-day rollups stay, so past months still show. Unset: keep everything",
    )


class Otel(Section):
    """`[otel]`: OpenTelemetry GenAI spans of every recorded call, for an OpenTelemetry Collector."""

    endpoint: str | None = Field(
        default=None, pattern=r"^https?://",
        description="the OTLP/HTTP endpoint calls are also sent to as spans, e.g. http://collector:4318 "
        "(traces go to its /v1/traces); needs `pip install 'fleetui[otel]'`. Unset: no spans",
    )
    service_name: str = Field(
        default="fleetui", min_length=1,
        description="the spans' service.name; the calls' own app names are in fleetui.app",
    )
    content: bool = Field(
        default=False,
        description="also send each call's prompt and reply (as kept under [privacy]) as gen_ai.input.messages "
        "and gen_ai.output.messages; off: only numbers and names leave the host",
    )


class Probes(Section):
    interval_s: float = Field(default=300, gt=0, description="seconds between health probes in the app")
    timeout_s: float = Field(default=10, gt=0, description="seconds one probe may take")
    concurrency: int = Field(default=16, ge=1, description="probes running at once")


URL_WITH_PASSWORD = re.compile(r"^[a-z][a-z0-9+.-]*://[^/@\s]*:[^/@\s]*@", re.IGNORECASE)


class Sync(Section):
    """Where `fleetui sync git` and `fleetui publish s3` share the fleet, and when they run by
    themselves. Credentials are git's and the AWS chain's (env, profile), never this file's."""

    git: str | None = Field(
        default=None, description="git remote (URL or path) for `fleetui sync git` when --repo is not given"
    )
    branch: str = Field(default="main", min_length=1, description="branch of the git remote that holds the fleet")
    s3_bucket: str | None = Field(default=None, description="bucket for `fleetui publish s3` / `pull s3`")
    s3_prefix: str = Field(default="", description="folder in the bucket, e.g. team/fleet")
    s3_endpoint: str | None = Field(
        default=None, description="endpoint of an S3-compatible store (MinIO, R2); AWS when unset"
    )
    after_apply: bool = Field(default=False, description="sync to the places above after each `fleetui apply`")
    after_accept: bool = Field(default=False, description="sync after each recommendation marked accepted")

    @model_validator(mode="before")
    @classmethod
    def _no_password(cls, data: Any) -> Any:
        # On the whole section, not the field: a field error would echo the value, the secret.
        if isinstance(data, Mapping):
            for name in ("git", "s3_endpoint"):
                if isinstance(data.get(name), str) and URL_WITH_PASSWORD.match(data[name]):
                    raise ValueError(
                        f"{name}: this URL carries a password or token; keep it in git's credential helper "
                        "or the AWS credential chain and write the URL without it"
                    )
        return data

    @field_validator("s3_endpoint")
    @classmethod
    def _endpoint(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^https?://[^\s/]+", value):
            raise ValueError("s3_endpoint must start with http:// or https:// and name a host")
        return value


class Fleet(Section):
    """A whole fleet file."""

    name: str = Field(default="fleet", description="the fleet's display name")
    providers: list[Provider] = Field(default_factory=list, description="where models are served ([[providers]])")
    roles: list[Role] = Field(default_factory=list, description="the jobs models are given ([[roles]])")
    models: list[Model] = Field(default_factory=list, description="the models of the fleet ([[models]])")
    rules: list[RoutingRule] = Field(
        default_factory=list,
        description="routing rules ([[rules]]), lowest priority first",
    )
    ab_tests: list[ABTestSpec] = Field(default_factory=list, description="traffic splits between models ([[ab_tests]])")
    budget: Budgets = Field(default_factory=Budgets, description="monthly budgets and their alert levels")
    recommendations: RecommendationThresholds = Field(
        default_factory=RecommendationThresholds,
        description="when a cheaper model is recommended",
    )
    ranking: Ranking = Field(default_factory=Ranking, description="how models are ranked per use case")
    privacy: Privacy = Field(default_factory=Privacy, description="how much of each prompt is stored")
    probes: Probes = Field(default_factory=Probes, description="health probe timing")
    sync: Sync = Field(default_factory=Sync, description="sharing through a git remote or an S3 bucket")
    store: StoreSettings = Field(default_factory=StoreSettings, description="how long calls are kept")
    otel: Otel = Field(default_factory=Otel, description="OpenTelemetry spans of recorded calls ([otel])")
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
        """The key's name; None when the model needs none (its key is "", or nobody names one)."""
        return (model.key if model.key is not None else self.provider_of(model).key) or None

    def targets_of(self, rule: RoutingRule) -> list[str]:
        """The model ids a rule sends requests to, before fallbacks: its model, or its role's
        models best priority first."""
        return [rule.model_id] if rule.model_id else [m.id for m in self.models_in_role(rule.role or "")]

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
    some entries failed to validate: every value is type-checked before it is used, and anything
    malformed is left to field validation, which reports it. Each rule's `when` is parsed,
    never evaluated.
    """

    def entries(section: str) -> list[Mapping[str, Any]]:
        value = data.get(section)
        return [e if isinstance(e, Mapping) else {} for e in value] if isinstance(value, list) else []

    def text(value: Any) -> str | None:
        # Only strings are names: `id = ["m"]` or `id = 5` was reported by field validation.
        return value if isinstance(value, str) else None

    def listed(value: Any) -> list[Any]:
        return value if isinstance(value, list) else []

    def table(value: Any) -> Mapping[str, Any]:
        return value if isinstance(value, Mapping) else {}

    providers, roles_, models, rules = (entries(s) for s in ("providers", "roles", "models", "rules"))
    problems: list[Problem] = []
    problems += _duplicates("providers", [text(p.get("id")) for p in providers], "provider id")
    problems += _duplicates("roles", [text(r.get("id")) for r in roles_], "role id")
    problems += _duplicates("models", [text(m.get("id")) for m in models], "model id")
    problems += _duplicates("rules", [text(r.get("name")) for r in rules], "rule name", field="name")
    ab_tests = entries("ab_tests")
    problems += _duplicates("ab_tests", [text(t.get("name")) for t in ab_tests], "A/B test name", field="name")
    provider_ids = {text(p.get("id")) for p in providers} - {None}
    role_ids = {text(r.get("id")) for r in roles_} - {None}
    model_ids = {text(m.get("id")) for m in models} - {None}

    def check(path: tuple[str | int, ...], value: Any, known: set[Any], what: str, owner: str) -> None:
        if isinstance(value, str) and value not in known:
            prefix = f"{owner}names unknown" if owner else "unknown"
            hint = difflib.get_close_matches(value, sorted(map(str, known)), n=1)
            mean = f" (did you mean {hint[0]!r}?)" if hint else ""
            problems.append((path, f"{prefix} {what} {value!r}{mean}; known: {_listing(known)}"))

    def named(kind: str, entry: Mapping[str, Any], index: int) -> str:
        name = text(entry.get("name"))
        return f"{kind} {name!r} " if name and len(name) <= 64 else f"{kind} {index + 1} "

    for i, model in enumerate(models):
        check(("models", i, "provider"), model.get("provider"), provider_ids, "provider", "")
        for j, assignment in enumerate(listed(model.get("roles"))):
            if isinstance(assignment, Mapping):
                check(("models", i, "roles", j, "role"), assignment.get("role"), role_ids, "role", "")
    for i, rule in enumerate(rules):
        owner = named("rule", rule, i)
        when = text(rule.get("when"))
        if when and when.strip():
            from fleetui.routing.conditions import HELP, validate_condition

            problem = validate_condition(when)
            if problem:
                advice = "" if ";" in problem else f"; {HELP}"
                problems.append((("rules", i, "when"), f"condition: {problem}{advice}"))
        check(("rules", i, "model"), rule.get("model"), model_ids, "model", owner)
        check(("rules", i, "role"), rule.get("role"), role_ids, "role", owner)
        target = text(rule.get("quality_target"))
        if target and _QUALITY_TARGET.match(target):
            check(("rules", i, "quality_target"), parse_quality_target(target)[1], model_ids, "model", owner)
        for j, fallback in enumerate(listed(rule.get("fallbacks"))):
            check(("rules", i, "fallbacks", j), fallback, model_ids, "fallback model", owner)
    rule_names = {text(r.get("name")) for r in rules} - {None}
    for i, test in enumerate(ab_tests):
        owner = named("A/B test", test, i)
        check(("ab_tests", i, "rule"), test.get("rule"), rule_names, "rule", owner)
        for model_id in table(test.get("arms")):
            check(("ab_tests", i, "arms", model_id), model_id, model_ids, "model", owner)
    budget = table(data.get("budget"))
    for name in table(budget.get("per_model")):
        check(("budget", "per_model", name), name, model_ids, "model", "budget ")
    for name in table(budget.get("per_role")):
        check(("budget", "per_role", name), name, role_ids, "role", "budget ")
    check(("recommendations", "judge"), table(data.get("recommendations")).get("judge"), model_ids,
          "judge model", "")
    return problems


def _duplicates(
    section: str, ids: list[str | None], what: str, field: str = "id"
) -> list[Problem]:
    seen: dict[str, int] = {}
    problems: list[Problem] = []
    for index, value in enumerate(ids):
        if value is None:
            continue
        if value in seen:
            problems.append(
                ((section, index, field),
                 f"duplicate {what} {value!r} (already used by {section} entry {seen[value] + 1}); "
                 f"give each entry its own {field}")
            )
        else:
            seen[value] = index
    return problems


def _listing(names: set[Any]) -> str:
    return ", ".join(sorted(map(str, names))) if names else "(none defined)"
