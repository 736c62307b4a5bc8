"""A LiteLLM proxy `config.yaml` that does in LiteLLM what fleetui's routing does, as far as
LiteLLM can, and says rule by rule where it cannot.

LiteLLM routes by the model name a client asks for, so the export offers three kinds of names:

- a **model id**: that model only (one deployment, no fallbacks — fleetui's pinned model);
- a **role id**: the role's enabled models as one model group, tried in priority order
  (LiteLLM's deployment `order`), then the fallbacks of the first rule that targets the role;
- a **rule name**: that rule's models in order, then its own fallbacks.

Fallbacks are keyed by those role and rule names and point only at model-id groups, which have
no fallbacks of their own: LiteLLM follows fallbacks of fallbacks, so this keeps each rule's
chain apart (a vision request never ends on a long-documents fallback).

Keys are `os.environ/NAME` references; a model without a key gets an explicit placeholder,
because LiteLLM otherwise falls back to the provider's env var (`OPENAI_API_KEY` for every
OpenAI-compatible server) and would send the user's OpenAI key to a local llama.cpp. Prices come
from fleetui's own pricing (fleet override, else the genai-prices catalog), so LiteLLM's spend
matches fleetui's costs.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from urllib.parse import urlparse

from fleetui.config.schema import DEFAULT_BASE_URLS, Fleet, Model, ProviderKind, RoutingRule
from fleetui.pricing import Pricer
from fleetui.routing.export import ExportSource

NO_KEY = "fleetui-no-key"  # sent to keyless servers so that LiteLLM never picks another key
_LITELLM_DEFAULT_MAX_FALLBACKS = 5
# Tier starts that LiteLLM has per-deployment price keys for (input, output and cache read).
_LITELLM_TIERS = {200_000: "200k"}
_PLAIN_KEY = re.compile(r"^[a-z_][a-z0-9_]*$")  # LiteLLM's own setting names: no quotes needed

# OpenAI-compatible hosts that LiteLLM has its own provider for (litellm.provider_list): with
# the provider's prefix LiteLLM applies that provider's quirks and knows its models.
_OPENAI_COMPATIBLE_HOSTS = {
    "api.deepseek.com": "deepseek",
    "api.moonshot.ai": "moonshot",
    "api.moonshot.cn": "moonshot",
    "api.groq.com": "groq",
    "openrouter.ai": "openrouter",
    "api.together.xyz": "together_ai",
    "api.mistral.ai": "mistral",
    "api.x.ai": "xai",
    "api.fireworks.ai": "fireworks_ai",
    "api.deepinfra.com": "deepinfra",
    "api.perplexity.ai": "perplexity",
    "api.cerebras.ai": "cerebras",
}
_KIND_PREFIX: dict[ProviderKind | str, str] = {
    ProviderKind.ANTHROPIC: "anthropic",  # LiteLLM adds /v1/messages to api_base
    ProviderKind.GEMINI: "gemini",
    ProviderKind.OLLAMA: "ollama_chat",  # LiteLLM's client for Ollama's /api/chat
    ProviderKind.OPENAI_COMPATIBLE: "openai",
}


class DifferenceKind(StrEnum):
    CONDITION = "condition"  # LiteLLM cannot test a rule's `when`, nor go on to the next rule
    AB_TEST = "ab-test"
    ESCALATION = "escalation"
    NO_RULE = "no-rule"  # what fleetui does when no rule matches
    SHARED_ROLE = "shared-role"  # rules that target one role with different fallbacks
    NAME_TAKEN = "name-taken"
    UNPRICED = "unpriced"
    TIERED_PRICE = "tiered-price"
    KEY_NOT_IN_ENV = "key-not-in-env"
    LEARNED = "learned"  # a learned router picks per prompt; LiteLLM gets the rule's fallbacks


# What LiteLLM's router cannot do at all: the client chooses the name instead. Always listed,
# they do not fail `--check`; the other kinds are surprises a user can fix or should know.
INHERENT = frozenset({DifferenceKind.CONDITION, DifferenceKind.ESCALATION, DifferenceKind.NO_RULE,
                      DifferenceKind.LEARNED})


@dataclass(frozen=True, slots=True)
class Difference:
    """One way LiteLLM will behave differently from fleetui with this export."""

    kind: DifferenceKind
    subject: str  # the rule, role, model, A/B test or key it is about
    message: str

    @property
    def inherent(self) -> bool:
        return self.kind in INHERENT


@dataclass(frozen=True, slots=True)
class LiteLLMExport:
    config: dict[str, Any]  # the YAML document
    chains: dict[str, tuple[str, ...]]  # requested name → model ids LiteLLM tries, in order
    differences: tuple[Difference, ...]


def litellm_model(fleet: Fleet, model: Model) -> tuple[str, str | None]:
    """LiteLLM's `model` string for a fleet model and the `api_base` to give it (None: LiteLLM's
    default for that provider is the fleet's endpoint)."""
    provider = fleet.provider_of(model)
    base = fleet.base_url_of(model)
    default = base == DEFAULT_BASE_URLS.get(provider.kind)
    prefix = _KIND_PREFIX.get(provider.kind, str(provider.kind))  # a plugin kind: its own name
    if provider.kind is ProviderKind.OPENAI_COMPATIBLE:
        prefix = _OPENAI_COMPATIBLE_HOSTS.get(urlparse(base).hostname or "", prefix)
    if provider.kind is ProviderKind.GEMINI:
        # LiteLLM calls {api_base}/models/{model}:generateContent; fleetui's base is the host.
        return f"{prefix}/{model.model}", None if default else f"{base}/v1beta"
    if provider.kind is ProviderKind.OLLAMA:
        return f"{prefix}/{model.model}", base
    return f"{prefix}/{model.model}", None if default else base


def litellm_params(fleet: Fleet, model: Model, pricer: Pricer) -> dict[str, Any]:
    name, api_base = litellm_model(fleet, model)
    params: dict[str, Any] = {"model": name}
    if api_base is not None:
        params["api_base"] = api_base
    key = fleet.key_ref_of(model)
    params["api_key"] = f"os.environ/{key}" if key else NO_KEY
    price = pricer.price_of(model.id)
    if price is not None:
        params["input_cost_per_token"] = price.input_per_mtok / 1_000_000
        params["output_cost_per_token"] = price.output_per_mtok / 1_000_000
        # fleetui charges cached input at the input rate when the model has no cached rate.
        cached = price.input_per_mtok if price.cached_per_mtok is None else price.cached_per_mtok
        params["cache_read_input_token_cost"] = cached / 1_000_000
        if price.tier_from_input_tokens in _LITELLM_TIERS:
            params.update(_tier_prices(pricer, model.id, price.tier_from_input_tokens))
    return params


def _tier_prices(pricer: Pricer, model_id: str, start: int) -> dict[str, float]:
    """The catalog's rates above `start` input tokens, in LiteLLM's `…_above_200k_tokens` keys.
    Both price the whole call at the higher rate once the prompt passes `start` (a "cliff"), so
    the rates are read back from fleetui's own cost of a call just past it."""
    n = start + 1
    base = pricer.cost(model_id, n, 0, 0)
    with_output = pricer.cost(model_id, n, 1_000_000, 0)
    all_cached = pricer.cost(model_id, n, 0, n)
    if base is None or with_output is None or all_cached is None:
        return {}
    suffix = _LITELLM_TIERS[start]
    return {f"input_cost_per_token_above_{suffix}_tokens": base / n,
            f"output_cost_per_token_above_{suffix}_tokens": (with_output - base) / 1_000_000,
            f"cache_read_input_token_cost_above_{suffix}_tokens": all_cached / n}


def _rule_targets(fleet: Fleet, rule: RoutingRule, enabled: set[str]) -> tuple[list[str], list[str]]:
    """A rule's own models (the model, or the role's by priority) and then its fallbacks, enabled only."""
    direct = fleet.targets_of(rule)
    direct = [m for m in dict.fromkeys(direct) if m in enabled]
    fallbacks = [f for f in dict.fromkeys(rule.fallbacks) if f in enabled and f not in direct]
    return direct, fallbacks


def build_litellm_export(fleet: Fleet, *, environ: Mapping[str, str] | None = None) -> LiteLLMExport:
    """The config and what it means; `environ` (default os.environ) is only read to say which
    key variables the proxy would not find here."""
    pricer = Pricer(fleet)
    enabled = {m.id for m in fleet.models if m.enabled}
    params = {m.id: litellm_params(fleet, m, pricer) for m in fleet.models if m.enabled}
    rules = sorted((r for r in fleet.rules if r.enabled), key=lambda r: r.priority)
    differences: list[Difference] = []
    model_list: list[dict[str, Any]] = []
    fallbacks: list[dict[str, list[str]]] = []
    chains: dict[str, tuple[str, ...]] = {}

    def group(name: str, members: list[str], extra: list[str]) -> None:
        ordered = len(members) > 1
        for position, model_id in enumerate(members, start=1):
            entry_params = dict(params[model_id])
            if ordered:
                entry_params["order"] = position  # LiteLLM tries order 1, then 2, …
            model_list.append({"model_name": name, "litellm_params": entry_params,
                               "model_info": {"id": f"{name}/{model_id}" if name != model_id else model_id}})
        if extra:
            fallbacks.append({name: extra})
        chains[name] = (*members, *extra)

    for model in fleet.models:
        if model.enabled:
            group(model.id, [model.id], [])

    first_rule_of_role: dict[str, RoutingRule] = {}
    for rule in rules:
        if rule.role and rule.role not in first_rule_of_role:
            first_rule_of_role[rule.role] = rule
    for role in fleet.roles:
        holders = [m for m in dict.fromkeys(m.id for m in fleet.models_in_role(role.id)) if m in enabled]
        if not holders:
            continue
        if role.id in chains:
            differences.append(Difference(DifferenceKind.NAME_TAKEN, role.id, (
                f"role {role.id}: a model has the same id, so requesting {role.id!r} reaches that model only")))
            continue
        first = first_rule_of_role.get(role.id)
        group(role.id, holders, _rule_targets(fleet, first, enabled)[1] if first else [])

    for rule in rules:
        direct, extra = _rule_targets(fleet, rule, enabled)
        if rule.name in chains:
            differences.append(Difference(DifferenceKind.NAME_TAKEN, rule.name, (
                f"rule {rule.name}: a model or role has the same name, so its chain cannot be requested by name")))
        elif direct or extra:
            group(rule.name, direct or extra[:1], extra if direct else extra[1:])
        differences += _rule_differences(rule, chains.get(rule.name, ()), first_rule_of_role, fleet, enabled)

    differences += _fleet_differences(fleet, rules, enabled, pricer, environ if environ is not None else os.environ)
    longest = max((len(chain) - 1 for chain in chains.values()), default=0)
    settings: dict[str, Any] = {"routing_strategy": "simple-shuffle"}
    if longest > _LITELLM_DEFAULT_MAX_FALLBACKS:
        settings["max_fallbacks"] = longest  # each order level is a fallback hop to LiteLLM
    if fallbacks:
        settings["fallbacks"] = fallbacks
    config = {"model_list": model_list, "router_settings": settings}
    return LiteLLMExport(config, chains, tuple(differences))


def _chain_text(chain: tuple[str, ...] | list[str]) -> str:
    return " → ".join(chain) if chain else "(no enabled model)"


def _rule_differences(rule: RoutingRule, chain: tuple[str, ...], first_rule_of_role: dict[str, RoutingRule],
                      fleet: Fleet, enabled: set[str]) -> list[Difference]:
    name = f"rule {rule.name} (priority {rule.priority})"
    found: list[Difference] = [Difference(DifferenceKind.CONDITION, rule.name, (
        f"{name}: LiteLLM cannot test `when {rule.when}`; the client requests {rule.name!r}"
        + (f" or role {rule.role}" if rule.role else "") + f" for {_chain_text(chain)}, and when all of "
        "them fail LiteLLM returns the error where fleetui goes on to the next matching rule"))]
    if rule.learned:
        target = rule.quality_target or (f"price weight {rule.price_weight:g}" if rule.price_weight is not None
                                         else f"profile {rule.profile or 'balanced'}")
        found.append(Difference(DifferenceKind.LEARNED, rule.name, (
            f"{name}: learned router {rule.learned} picks a model per prompt from its predicted quality "
            f"({target}), and steps down to cheaper models when a budget passes warn or critical; LiteLLM can do "
            f"neither, so requesting {rule.name!r} reaches the rule's fallbacks only ({_chain_text(chain)}). "
            "Route through `fleetui serve` or `fleetui.Router` to keep it")))
    if rule.role:
        first = first_rule_of_role.get(rule.role)
        if first is not None and first is not rule:
            mine, theirs = _rule_targets(fleet, rule, enabled)[1], _rule_targets(fleet, first, enabled)[1]
            if mine != theirs:
                found.append(Difference(DifferenceKind.SHARED_ROLE, rule.name, (
                    f"{name}: requests for role {rule.role} fall back as rule {first.name} does "
                    f"({_chain_text(theirs) if theirs else 'no fallbacks'}); request {rule.name!r} for this rule's own chain")))
    return found


def _fleet_differences(fleet: Fleet, rules: list[RoutingRule], enabled: set[str], pricer: Pricer,
                       environ: Mapping[str, str]) -> list[Difference]:
    found: list[Difference] = []
    for test in fleet.ab_tests:
        if test.enabled:
            scope = f"rule {test.rule}" if test.rule else "all traffic"
            found.append(Difference(DifferenceKind.AB_TEST, test.name, (
                f"A/B test {test.name} ({scope}, arms {', '.join(test.arms)}): fleetui's A/B tests split by "
                "user, which LiteLLM's router cannot; every request gets the rule's first model")))
    from fleetui.routing.conditions import parse_condition

    reading = [r.name for r in rules if "complexity" in parse_condition(r.when).attributes]
    if reading:
        found.append(Difference(DifferenceKind.ESCALATION, "complexity", (
            "fleetui estimates each prompt's complexity and sends an unsure estimate one tier up "
            f"(rules {', '.join(reading)} read it); LiteLLM has no complexity")))
    found.append(Difference(DifferenceKind.NO_RULE, "default", (
        "when no rule matches, fleetui picks role default and then the cheapest capable models (by the "
        "prompt's length, images and tools); in LiteLLM the client names a model, role or rule")))
    for model in fleet.models:
        if model.id not in enabled:
            continue
        price = pricer.price_of(model.id)
        if price is None:
            found.append(Difference(DifferenceKind.UNPRICED, model.id, (
                f"model {model.id}: unpriced in fleetui (no fleet price, not in the catalog); LiteLLM will "
                "use its own price map for it, or record $0")))
        elif price.tier_from_input_tokens is not None and price.tier_from_input_tokens not in _LITELLM_TIERS:
            found.append(Difference(DifferenceKind.TIERED_PRICE, model.id, (
                f"model {model.id}: above {price.tier_from_input_tokens:,} input tokens fleetui charges the "
                "catalog's higher tier; LiteLLM charges the base rate exported here")))
    keys = sorted({k for m in fleet.models if m.id in enabled and (k := fleet.key_ref_of(m))})
    for key in keys:
        if not environ.get(key):
            found.append(Difference(DifferenceKind.KEY_NOT_IN_ENV, key, (
                f"key {key}: not set in this environment; LiteLLM reads keys only from its environment "
                f"(fleetui also reads the keyring), so export {key} where the proxy runs")))
    return found


# -- YAML -----------------------------------------------------------------------------------


def _key(value: str) -> str:
    return value if _PLAIN_KEY.match(value) else _scalar(value)


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        # Fixed-point: YAML 1.1 loaders (PyYAML, so LiteLLM) read "3e-06" as a string.
        text = f"{value:.15f}".rstrip("0")
        return text + "0" if text.endswith(".") else text
    return json.dumps(str(value))  # a JSON string is a valid YAML double-quoted scalar


def _yaml(value: Any, indent: int) -> list[str]:
    """Block YAML for dicts and lists of dicts; lists of scalars in flow style."""
    pad = " " * indent
    lines: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, (dict, list)) and item and not _flat_list(item):
                lines.append(f"{pad}{_key(key)}:")
                lines += _yaml(item, indent + 2)
            else:
                lines.append(f"{pad}{_key(key)}: {_inline(item)}")
        return lines
    for item in value:
        block = _yaml(item, indent + 2)
        lines.append(f"{pad}- {block[0].lstrip()}")
        lines += block[1:]
    return lines


def _flat_list(value: Any) -> bool:
    return isinstance(value, list) and all(not isinstance(v, (dict, list)) for v in value)


def _inline(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_scalar(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{}"
    return _scalar(value)


def to_litellm(fleet: Fleet, source: ExportSource | None = None) -> str:
    export = build_litellm_export(fleet)
    header = ["# LiteLLM proxy config exported by fleetui"]
    if source is not None:
        header.append(source.comment())
    header += [
        "# Keys come from the proxy's environment (os.environ/NAME); a model without a key gets the",
        f'# placeholder "{NO_KEY}" so that LiteLLM never sends it another provider\'s key.',
        "# Request a model id for that model only, a role id for its models in priority order, or a",
        "# rule name for that rule's chain:",
    ]
    header += [f"#   {name}: {_chain_text(chain)}" for name, chain in export.chains.items() if len(chain) > 1]
    rule_by_rule = [d for d in export.differences if d.kind is not DifferenceKind.KEY_NOT_IN_ENV]
    if rule_by_rule:
        header.append("# What LiteLLM cannot do as fleetui does (`fleetui export --format litellm --check`):")
        header += [f"# - {' '.join(d.message.split())}" for d in rule_by_rule]  # one line, even for a multi-line `when`
    return "\n".join([*header, *_yaml(export.config, 0)]) + "\n"
