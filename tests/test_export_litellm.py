"""What the LiteLLM export means, read with PyYAML (the loader LiteLLM uses) and walked the way
LiteLLM's Router walks it — order levels of the requested group, then that group's fallbacks,
each followed again (LiteLLM follows fallbacks of fallbacks). `test_export_litellm_live.py` checks
the same against LiteLLM itself when it is installed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from fleetui.cli import main
from fleetui.config.fleetfile import load_fleet
from fleetui.config.schema import ABTestSpec, Fleet, Model, Provider, Role, RoleAssignment, RoutingRule
from fleetui.pricing import Pricer
from fleetui.routing import Router
from fleetui.routing.export_litellm import NO_KEY, DifferenceKind, build_litellm_export, to_litellm
from tests.conftest import SAMPLE_FLEET

LIVE_KEY = "sk-" "live-should-never-appear-0123456789"
# A request that each sample rule matches, for asking fleetui's own router what it would do.
RULE_REQUESTS: dict[str, dict[str, Any]] = {
    "vision-requests": {"tags": ["vision"], "complexity": "simple"},
    "heartbeats": {"task": "heartbeat", "complexity": "simple"},
    "serious-coding": {"task": "coding", "complexity": "medium"},
    "long-documents": {"prompt_length": 5000, "complexity": "medium"},
    "casual-to-local": {"use_case": "casual_chat", "complexity": "simple"},
    "hard-thinking": {"complexity": "complex"},
}


@pytest.fixture
def fleet() -> Fleet:
    return load_fleet(SAMPLE_FLEET)


def load(fleet: Fleet) -> dict[str, Any]:
    config = yaml.safe_load(to_litellm(fleet))
    assert set(config) == {"model_list", "router_settings"}
    return config


def walk(config: dict[str, Any], name: str, seen: set[str] | None = None) -> list[str]:
    """The fleet models LiteLLM tries for a request of `name`, in order: the group's deployments
    by `order`, then each fallback group in turn, recursively, never one group twice."""
    seen = seen if seen is not None else set()
    seen.add(name)
    deployments = [d for d in config["model_list"] if d["model_name"] == name]
    assert deployments, f"LiteLLM has no model group {name!r}"
    tried = [d["model_info"]["id"].rpartition("/")[2]
             for d in sorted(deployments, key=lambda d: d["litellm_params"].get("order", 0))]
    for entry in config["router_settings"].get("fallbacks", []):
        for group in entry.get(name, []):
            if group not in seen:
                tried += walk(config, group, seen)
    return tried


def fallbacks(config: dict[str, Any]) -> dict[str, list[str]]:
    return {k: v for entry in config["router_settings"].get("fallbacks", []) for k, v in entry.items()}


def params_of(config: dict[str, Any], group: str) -> dict[str, Any]:
    [deployment] = [d for d in config["model_list"] if d["model_name"] == group]
    return deployment["litellm_params"]


def test_every_rule_name_walks_fleetuis_chain_step_by_step(fleet: Fleet) -> None:
    config = load(fleet)
    for rule, request in RULE_REQUESTS.items():
        decision = Router(fleet).route("x", **request)
        assert decision.rule == rule
        assert walk(config, rule) == [decision.model_id, *decision.fallbacks]


def test_chains_are_kept_apart(fleet: Fleet) -> None:
    """The old export merged per-model chains: with both Gemini models down a vision request
    ended on gpt-4-turbo, the long-documents fallback."""
    config = load(fleet)
    assert walk(config, "vision-requests") == ["gemini-flash", "gemini-pro", "claude-sonnet"]
    assert walk(config, "long-documents") == ["gemini-pro", "gpt-4-turbo"]
    model_ids = {m.id for m in fleet.models}
    for key, targets in fallbacks(config).items():
        assert key not in model_ids, f"a model group with fallbacks ({key}) would chain another rule's"
        assert set(targets) <= model_ids


def test_every_role_is_a_group_of_all_its_holders_in_priority_order(fleet: Fleet) -> None:
    config = load(fleet)
    for role in fleet.roles:
        holders = [m.id for m in fleet.models_in_role(role.id)]
        assert walk(config, role.id)[: len(holders)] == holders
    # A role takes the fallbacks of the first rule that targets it.
    assert walk(config, "deep-thinking") == ["claude-opus", "claude-sonnet"]
    assert walk(config, "general-assistant") == ["gpt-4o-mini", "claude-sonnet"]
    assert walk(config, "research-lead") == ["gpt-4-turbo", "gpt-4"]
    assert walk(config, "cost-optimizer") == ["deepseek-v3", "local-llama"]
    assert walk(config, "default") == ["kimi-k2.5"]
    orders = [d["litellm_params"]["order"] for d in config["model_list"] if d["model_name"] == "vision"]
    assert orders == [1, 2]


def test_a_model_id_reaches_that_model_only(fleet: Fleet) -> None:
    config = load(fleet)
    for model in fleet.models:
        assert walk(config, model.id) == [model.id]
    ids = [d["model_info"]["id"] for d in config["model_list"]]
    assert len(ids) == len(set(ids)), "LiteLLM deployment ids must be unique"


def test_keys_are_env_references_and_keyless_models_get_a_placeholder(fleet: Fleet,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", LIVE_KEY)
    fleet.providers.append(Provider(id="llamacpp", kind="openai-compatible", base_url="http://127.0.0.1:8080/v1"))
    fleet.models.append(Model(id="local-qwen", name="Qwen", provider="llamacpp", model="qwen2.5"))
    text = to_litellm(fleet)
    assert LIVE_KEY not in text
    config = yaml.safe_load(text)
    for deployment in config["model_list"]:
        model = fleet.model(deployment["model_info"]["id"].rpartition("/")[2])
        key = fleet.key_ref_of(model)
        assert deployment["litellm_params"]["api_key"] == (f"os.environ/{key}" if key else NO_KEY)
    assert params_of(config, "local-qwen") == {"model": "openai/qwen2.5", "api_base": "http://127.0.0.1:8080/v1",
                                               "api_key": NO_KEY}
    assert params_of(config, "local-llama")["api_key"] == NO_KEY


def test_prices_are_fleetuis_own(fleet: Fleet) -> None:
    config = load(fleet)
    pricer = Pricer(fleet)
    for model in fleet.models:
        price = pricer.price_of(model.id)
        assert price is not None
        params = params_of(config, model.id)
        assert params["input_cost_per_token"] == pytest.approx(price.input_per_mtok / 1e6, rel=1e-12)
        assert params["output_cost_per_token"] == pytest.approx(price.output_per_mtok / 1e6, rel=1e-12)
        cached = price.cached_per_mtok if price.cached_per_mtok is not None else price.input_per_mtok
        assert params["cache_read_input_token_cost"] == pytest.approx(cached / 1e6, rel=1e-12)
    assert params_of(config, "local-llama")["input_cost_per_token"] == 0.0  # the fleet's explicit 0, not unknown


def test_an_unpriced_model_is_exported_without_a_price_and_reported(fleet: Fleet) -> None:
    fleet.providers.append(Provider(id="vllm", kind="openai-compatible", base_url="http://10.0.0.5:8000/v1"))
    fleet.models.append(Model(id="house-model", name="House", provider="vllm", model="gpt-4o"))
    export = build_litellm_export(fleet, environ={})
    params = {d["model_name"]: d["litellm_params"] for d in export.config["model_list"]}["house-model"]
    assert not {"input_cost_per_token", "output_cost_per_token"} & set(params)
    [unpriced] = [d for d in export.differences if d.kind is DifferenceKind.UNPRICED]
    assert unpriced.subject == "house-model" and "record $0" in unpriced.message and not unpriced.inherent


def test_small_prices_stay_numbers_in_yaml(fleet: Fleet) -> None:
    from fleetui.config.schema import PriceOverride

    fleet.model("gpt-4o-mini").price = PriceOverride(input=0.15, output=0.6)
    text = to_litellm(fleet)
    assert "input_cost_per_token: 0.00000015\n" in text  # not 1.5e-07, a string to YAML 1.1 loaders
    assert params_of(yaml.safe_load(text), "gpt-4o-mini")["output_cost_per_token"] == pytest.approx(6e-07)


def test_provider_prefixes_and_endpoints_are_litellms(fleet: Fleet) -> None:
    config = load(fleet)
    assert params_of(config, "deepseek-v3")["model"] == "deepseek/deepseek-chat"
    assert params_of(config, "deepseek-v3")["api_base"] == "https://api.deepseek.com/v1"
    assert params_of(config, "kimi-k2.5")["model"] == "moonshot/kimi-k2.5"
    assert params_of(config, "gpt-4")["model"] == "openai/gpt-4" and "api_base" not in params_of(config, "gpt-4")
    assert params_of(config, "claude-opus")["model"] == "anthropic/claude-opus-4-1"
    assert "api_base" not in params_of(config, "gemini-flash")
    assert params_of(config, "local-llama")["model"] == "ollama_chat/llama3.2:3b"
    # Custom endpoints: LiteLLM calls {api_base}/models/M:generateContent for Gemini and adds
    # /v1/messages to an Anthropic api_base.
    fleet.provider("google").base_url = "https://gemini-proxy.example.com"
    fleet.provider("anthropic").base_url = "https://anthropic-proxy.example.com"
    config = load(fleet)
    assert params_of(config, "gemini-flash")["api_base"] == "https://gemini-proxy.example.com/v1beta"
    assert params_of(config, "claude-opus")["api_base"] == "https://anthropic-proxy.example.com"


def test_disabled_models_are_left_out(fleet: Fleet) -> None:
    fleet.model("claude-sonnet").enabled = False
    config = load(fleet)
    names = {d["litellm_params"]["model"] for d in config["model_list"]}
    assert "anthropic/claude-sonnet-4-5" not in names
    assert walk(config, "vision-requests") == ["gemini-flash", "gemini-pro"]
    assert walk(config, "primary-coder") == ["deepseek-v3"]
    assert walk(config, "hard-thinking") == ["claude-opus"]


def test_the_header_lists_rule_by_rule_what_litellm_cannot_do(fleet: Fleet) -> None:
    fleet.ab_tests.append(ABTestSpec(name="local-vs-mini", rule="casual-to-local",
                                     arms={"local-llama": 1, "gpt-4o-mini": 1}))
    fleet.rules[1].enabled = False  # heartbeats
    text = to_litellm(fleet)
    header = [line for line in text.splitlines() if line.startswith("#")]
    for rule in fleet.rules:
        listed = [line for line in header if line.startswith(f"# - rule {rule.name} ")]
        if not rule.enabled:
            assert not listed
            continue
        [line] = listed
        assert f"when {rule.when}" in line and f"'{rule.name}'" in line
    assert any("A/B test local-vs-mini" in line and "split by user" in line for line in header)
    assert any("unsure estimate one tier up" in line for line in header)
    assert not any(d["model_name"] == "heartbeats" for d in yaml.safe_load(text)["model_list"])


def test_a_rule_with_a_role_and_different_fallbacks_is_reported(fleet: Fleet) -> None:
    fleet.rules.append(RoutingRule(name="night-coding", priority=70, when="hour < 6", role="primary-coder",
                                   fallbacks=["local-llama"]))
    export = build_litellm_export(fleet, environ={})
    config = export.config
    assert walk(config, "night-coding") == ["claude-sonnet", "deepseek-v3", "local-llama"]
    assert walk(config, "primary-coder") == ["claude-sonnet", "deepseek-v3"]  # as serious-coding, first
    [shared] = [d for d in export.differences if d.kind is DifferenceKind.SHARED_ROLE]
    assert shared.subject == "night-coding" and "serious-coding" in shared.message


def test_a_role_named_like_a_model_is_reported_not_merged(fleet: Fleet) -> None:
    fleet.roles.append(Role(id="gpt-4", name="clash"))
    fleet.model("claude-haiku").roles.append(RoleAssignment(role="gpt-4", priority=1))
    export = build_litellm_export(fleet, environ={})
    assert walk(export.config, "gpt-4") == ["gpt-4"]
    assert any(d.kind is DifferenceKind.NAME_TAKEN and d.subject == "gpt-4" for d in export.differences)


def test_long_chains_raise_litellms_fallback_limit(fleet: Fleet) -> None:
    for i, model_id in enumerate(["claude-haiku", "gpt-4", "gpt-4-turbo", "kimi-k2.5", "local-llama", "claude-opus"]):
        fleet.model(model_id).roles.append(RoleAssignment(role="vision", priority=3 + i))
    fleet.model("gemini-pro").roles.append(RoleAssignment(role="vision", priority=9))  # twice: tried once
    config = load(fleet)
    assert len(walk(config, "vision")) == 9  # 8 holders, then the vision-requests fallback
    assert config["router_settings"]["max_fallbacks"] == 8  # each step is a hop; LiteLLM stops at 5 by default


SMALL_FLEET = """
name = "small"
[[providers]]
id = "openai"
kind = "openai-compatible"
key = "OPENAI_API_KEY"
[[providers]]
id = "ollama"
kind = "ollama"
[[roles]]
id = "general"
name = "General"
[[models]]
id = "gpt-4o-mini"
name = "GPT-4o mini"
provider = "openai"
model = "gpt-4o-mini"
roles = [{ role = "general", priority = 2 }]
[[models]]
id = "local-llama"
name = "Llama"
provider = "ollama"
model = "llama3.2:3b"
roles = [{ role = "general", priority = 1 }]
price = { input = 0, output = 0 }
[[rules]]
name = "casual-to-local"
priority = 50
when = 'use_case == "casual_chat"'
model = "local-llama"
fallbacks = ["gpt-4o-mini"]
"""


# -- the CLI ------------------------------------------------------------------------------------


def test_check_lists_the_differences_and_sets_the_exit_status(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    fleet_file = tmp_path / "fleet.toml"
    fleet_file.write_text(SMALL_FLEET)
    monkeypatch.setenv("OPENAI_API_KEY", LIVE_KEY)
    cli = ["--config", str(fleet_file), "export", "--format", "litellm", "--check"]
    assert main(cli) == 0  # only what LiteLLM can never do
    out = capsys.readouterr().out
    assert "[condition] rule casual-to-local (priority 50)" in out and LIVE_KEY not in out
    assert "Otherwise LiteLLM will route, fall back, use keys and price as fleetui does." in out
    monkeypatch.delenv("OPENAI_API_KEY")
    assert main([*cli, "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["surprises"] == 1
    [missing] = [d for d in report["differences"] if not d["inherent"]]
    assert missing["kind"] == "key-not-in-env" and missing["subject"] == "OPENAI_API_KEY"
    assert not list(tmp_path.glob("*.yaml")), "--check writes nothing"


def test_check_is_only_for_litellm(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--config", str(SAMPLE_FLEET), "export", "--format", "toml", "--check"]) == 2
    assert "--check compares a LiteLLM export" in capsys.readouterr().err


def test_prices_past_the_200k_tier_are_the_catalogs_cliff_rates(fleet: Fleet) -> None:
    config = load(fleet)
    pricer = Pricer(fleet)
    n, out, cached = 250_000, 2_000, 50_000
    for model_id in ("claude-sonnet", "gemini-pro"):
        params = params_of(config, model_id)
        # LiteLLM's cost of a call past the tier: every token at the tier's rate.
        litellm_cost = ((n - cached) * params["input_cost_per_token_above_200k_tokens"]
                        + cached * params["cache_read_input_token_cost_above_200k_tokens"]
                        + out * params["output_cost_per_token_above_200k_tokens"])
        assert litellm_cost == pytest.approx(pricer.cost(model_id, n, out, cached), rel=1e-9)
    assert "input_cost_per_token_above_200k_tokens" not in params_of(config, "gpt-4o-mini")
    assert not [d for d in build_litellm_export(fleet).differences if d.kind is DifferenceKind.TIERED_PRICE]


def test_a_tier_litellm_has_no_keys_for_is_reported(fleet: Fleet, monkeypatch: pytest.MonkeyPatch) -> None:
    from dataclasses import replace

    real = Pricer.price_of

    def tier_at_128k(self: Pricer, model_id: str) -> Any:  # a catalog entry with a 128k tier
        price = real(self, model_id)
        return replace(price, tier_from_input_tokens=128_000) if model_id == "gpt-4o-mini" and price else price

    monkeypatch.setattr(Pricer, "price_of", tier_at_128k)
    export = build_litellm_export(fleet, environ={})
    [tiered] = [d for d in export.differences if d.kind is DifferenceKind.TIERED_PRICE]
    assert tiered.subject == "gpt-4o-mini" and "128,000" in tiered.message
