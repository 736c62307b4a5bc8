"""Routing config for apps: fleetui TOML/JSON, and a LiteLLM proxy `config.yaml`.

Keys are never written: LiteLLM gets `os.environ/NAME` references, the others the key's name.
"""

from __future__ import annotations

import json
from typing import Any

import tomli_w

from fleetui.fleet import Fleet, ProviderKind

_LITELLM_PREFIX = {
    ProviderKind.ANTHROPIC: "anthropic", ProviderKind.GEMINI: "gemini", ProviderKind.OLLAMA: "ollama",
    ProviderKind.OPENAI_COMPATIBLE: "openai",
}


def routing_config(fleet: Fleet) -> dict[str, Any]:
    return {
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
    }


def to_json(fleet: Fleet) -> str:
    return json.dumps(routing_config(fleet), indent=2) + "\n"


def to_toml(fleet: Fleet) -> str:
    return "# fleetui routing config, exported\n" + tomli_w.dumps(routing_config(fleet))


def _yaml_str(value: str) -> str:
    return json.dumps(value)  # a JSON string is a valid YAML double-quoted scalar


def to_litellm(fleet: Fleet) -> str:
    lines = ["# LiteLLM proxy config exported by fleetui", "model_list:"]
    for m in fleet.models:
        if not m.enabled:
            continue
        provider = fleet.provider_of(m)
        lines.append(f"  - model_name: {_yaml_str(m.id)}")
        lines.append("    litellm_params:")
        lines.append(f"      model: {_yaml_str(_LITELLM_PREFIX[provider.kind] + '/' + m.model)}")
        base = fleet.base_url_of(m)
        if m.endpoint or provider.base_url:
            lines.append(f"      api_base: {_yaml_str(base)}")
        key = fleet.key_ref_of(m)
        if key:
            lines.append(f"      api_key: {_yaml_str('os.environ/' + key)}")
    fallbacks = []
    for rule in sorted(fleet.rules, key=lambda r: r.priority):
        primary = rule.model or next((x.id for x in fleet.models_in_role(rule.role or "")), None)
        if primary and rule.fallbacks:
            fallbacks.append((primary, rule.fallbacks))
    lines.append("router_settings:")
    lines.append("  routing_strategy: simple-shuffle")
    if fallbacks:
        lines.append("  fallbacks:")
        seen: set[str] = set()
        for primary, targets in fallbacks:
            if primary in seen:
                continue
            seen.add(primary)
            lines.append(f"    - {_yaml_str(primary)}: [{', '.join(_yaml_str(t) for t in targets)}]")
    return "\n".join(lines) + "\n"


EXPORTERS = {"toml": to_toml, "json": to_json, "litellm": to_litellm}
