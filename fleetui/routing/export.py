"""Routing config for apps: fleetui TOML/JSON, and a LiteLLM proxy `config.yaml`.

Keys are never written: LiteLLM gets `os.environ/NAME` references, the others the key's name.
"""

from __future__ import annotations

import json
from typing import Any

import tomli_w

from fleetui.config.schema import Fleet, ProviderKind

_LITELLM_PREFIX = {
    ProviderKind.ANTHROPIC: "anthropic", ProviderKind.GEMINI: "gemini",
    ProviderKind.OLLAMA: "ollama_chat",  # LiteLLM's client for Ollama's /api/chat
    ProviderKind.OPENAI_COMPATIBLE: "openai",
}


def routing_config(fleet: Fleet) -> dict[str, Any]:
    return {
        "fleet": fleet.name,
        "models": [
            {"id": m.id, "provider": fleet.provider_of(m).kind.value, "model": m.model,
             "endpoint": fleet.base_url_of(m), **({"key_env": k} if (k := fleet.key_ref_of(m)) else {}),
             "enabled": m.enabled}
            for m in fleet.models
        ],
        "roles": {r.id: [m.id for m in fleet.models_in_role(r.id)] for r in fleet.roles},
        "rules": [
            {"name": r.name, "priority": r.priority, "when": r.when,
             **({"model": r.model} if r.model else {"role": r.role}), "fallbacks": r.fallbacks}
            for r in sorted(fleet.rules, key=lambda r: r.priority) if r.enabled
        ],
        "ab_tests": [
            {"name": t.name, **({"rule": t.rule} if t.rule else {}), "arms": dict(t.arms),
             "min_samples": t.min_samples, "alpha": t.alpha}
            for t in fleet.ab_tests if t.enabled
        ],
    }


def to_json(fleet: Fleet) -> str:
    return json.dumps(routing_config(fleet), indent=2) + "\n"


def to_toml(fleet: Fleet) -> str:
    return "# fleetui routing config, exported\n" + tomli_w.dumps(routing_config(fleet))


def _yaml_str(value: str) -> str:
    return json.dumps(value)  # a JSON string is a valid YAML double-quoted scalar


def _litellm_fallbacks(fleet: Fleet) -> dict[str, list[str]]:
    """Per model, what LiteLLM should try when it fails: the rest of each rule's targets (a
    role's other models, then the rule's fallbacks), merged over the rules in priority order."""
    enabled = {m.id for m in fleet.models if m.enabled}
    chains: dict[str, list[str]] = {}
    for rule in sorted((r for r in fleet.rules if r.enabled), key=lambda r: r.priority):
        targets = [rule.model] if rule.model else [m.id for m in fleet.models_in_role(rule.role or "")]
        targets = [t for t in dict.fromkeys([*targets, *rule.fallbacks]) if t in enabled]
        if len(targets) > 1:
            chain = chains.setdefault(targets[0], [])
            chain += [t for t in targets[1:] if t not in chain]
    return chains


def _yaml_float(value: float) -> str:
    # Fixed-point: YAML 1.1 loaders (PyYAML, so LiteLLM) read "3e-06" as a string.
    text = f"{value:.15f}".rstrip("0")
    return text + "0" if text.endswith(".") else text


def to_litellm(fleet: Fleet) -> str:
    """A LiteLLM proxy `config.yaml`: every enabled model as a deployment named by its fleet id,
    roles as model group aliases, and the rules' fallback chains."""
    lines = ["# LiteLLM proxy config exported by fleetui; keys are read from the environment"]
    if any(t.enabled for t in fleet.ab_tests):
        lines.append("# fleetui's A/B tests split by user, which LiteLLM's router cannot: they are not exported")
    lines.append("model_list:")
    for m in fleet.models:
        if not m.enabled:
            continue
        provider = fleet.provider_of(m)
        lines.append(f"  - model_name: {_yaml_str(m.id)}")
        lines.append("    litellm_params:")
        lines.append(f"      model: {_yaml_str(_LITELLM_PREFIX[provider.kind] + '/' + m.model)}")
        if m.endpoint or provider.base_url:
            lines.append(f"      api_base: {_yaml_str(fleet.base_url_of(m))}")
        key = fleet.key_ref_of(m)
        if key:
            lines.append(f"      api_key: {_yaml_str('os.environ/' + key)}")
        if m.price is not None:  # the fleet's own price wins in LiteLLM's spend tracking too
            lines.append(f"      input_cost_per_token: {_yaml_float(m.price.input / 1_000_000)}")
            lines.append(f"      output_cost_per_token: {_yaml_float(m.price.output / 1_000_000)}")
    lines.append("router_settings:")
    lines.append("  routing_strategy: simple-shuffle")
    aliases = {}
    for role in fleet.roles:
        holders = [m.id for m in fleet.models_in_role(role.id) if m.enabled]
        if holders and role.id not in {m.id for m in fleet.models}:
            aliases[role.id] = holders[0]
    if aliases:
        lines.append("  model_group_alias:")
        lines += [f"    {_yaml_str(role)}: {_yaml_str(model)}" for role, model in aliases.items()]
    fallbacks = _litellm_fallbacks(fleet)
    if fallbacks:
        lines.append("  fallbacks:")
        lines += [f"    - {_yaml_str(primary)}: [{', '.join(_yaml_str(t) for t in chain)}]"
                  for primary, chain in fallbacks.items()]
    return "\n".join(lines) + "\n"


EXPORTERS = {"toml": to_toml, "json": to_json, "litellm": to_litellm}
