"""`fleetui export --format toml|json|litellm` and `fleetui route`: what apps load, and no keys."""

from __future__ import annotations

import io
import json
import tomllib
from pathlib import Path
from typing import Any

import pytest

from fleetui.cli import main
from fleetui.config.schema import Fleet
from fleetui.config.fleetfile import load_fleet
from fleetui.routing.export import to_json, to_litellm, to_toml
from tests.conftest import SAMPLE_FLEET

LIVE_KEY = "sk-" "live-should-never-appear-0123456789"
_DECODER = json.JSONDecoder()


def parse_yaml_subset(text: str) -> Any:
    """The YAML the exporter writes, read back without PyYAML (not a dependency): block mappings
    and sequences by indentation, JSON-quoted strings, flow lists, bare words and numbers. A
    line it does not understand fails the test."""
    lines = [(len(raw) - len(raw.lstrip(" ")), raw.strip()) for raw in text.splitlines()
             if raw.strip() and not raw.strip().startswith("#")]
    position = 0

    def scalar(value: str) -> Any:
        try:
            return json.loads(value)  # "strings", [flow, lists], numbers, true/false
        except json.JSONDecodeError:
            assert value.replace("-", "").replace("_", "").isalnum(), f"unquoted scalar {value!r}"
            return value

    def key_value(content: str) -> tuple[str, str]:
        if content.startswith('"'):
            key, end = _DECODER.raw_decode(content)
        else:
            end = content.index(":")
            key = content[:end]
        assert content[end] == ":", content
        return key, content[end + 1:].strip()

    def value_after(rest: str, indent: int) -> Any:
        nonlocal position
        if rest:
            return scalar(rest)
        assert position < len(lines) and lines[position][0] > indent, "a key without a value"
        return block(lines[position][0])

    def block(indent: int) -> Any:
        nonlocal position
        if lines[position][1].startswith("- "):
            items = []
            while position < len(lines) and lines[position][0] == indent and lines[position][1].startswith("- "):
                key, rest = key_value(lines[position][1][2:])
                position += 1
                item = {key: value_after(rest, indent + 2)}
                while position < len(lines) and lines[position][0] == indent + 2:
                    key, rest = key_value(lines[position][1])
                    position += 1
                    item[key] = value_after(rest, indent + 2)
                items.append(item)
            return items
        mapping = {}
        while position < len(lines) and lines[position][0] == indent:
            key, rest = key_value(lines[position][1])
            position += 1
            mapping[key] = value_after(rest, indent)
        return mapping

    parsed = block(0)
    assert position == len(lines), f"unparsed: {lines[position]}"
    return parsed


@pytest.fixture
def fleet() -> Fleet:
    return load_fleet(SAMPLE_FLEET)


def test_litellm_config_is_a_proxy_config_with_env_key_references(fleet: Fleet,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", LIVE_KEY)
    config = parse_yaml_subset(to_litellm(fleet))
    assert set(config) == {"model_list", "router_settings"}
    deployments = {d["model_name"]: d["litellm_params"] for d in config["model_list"]}
    assert set(deployments) == {m.id for m in fleet.models}
    assert deployments["claude-sonnet"] == {"model": "anthropic/claude-sonnet-4-5",
                                            "api_key": "os.environ/ANTHROPIC_API_KEY"}
    assert deployments["deepseek-v3"] == {"model": "openai/deepseek-chat", "api_base": "https://api.deepseek.com/v1",
                                          "api_key": "os.environ/DEEPSEEK_API_KEY"}
    assert deployments["gemini-flash"]["model"] == "gemini/gemini-2.5-flash"
    assert deployments["local-llama"] == {"model": "ollama_chat/llama3.2:3b", "api_base": "http://localhost:11434",
                                          "input_cost_per_token": 0.0, "output_cost_per_token": 0.0}
    for params in deployments.values():
        assert "api_key" not in params or params["api_key"].startswith("os.environ/")
    settings = config["router_settings"]
    assert settings["routing_strategy"] == "simple-shuffle"
    assert settings["model_group_alias"]["primary-coder"] == "claude-sonnet"
    assert settings["model_group_alias"]["default"] == "kimi-k2.5"
    fallbacks = {k: v for entry in settings["fallbacks"] for k, v in entry.items()}
    # vision-requests: the vision role (Flash, then Pro), then the rule's fallback.
    assert fallbacks["gemini-flash"] == ["gemini-pro", "claude-sonnet"]
    assert fallbacks["claude-sonnet"] == ["deepseek-v3"]
    assert fallbacks["gemini-pro"] == ["gpt-4-turbo"]
    assert all(primary in deployments and set(chain) <= set(deployments) for primary, chain in fallbacks.items())


def test_disabled_models_are_left_out_of_the_litellm_config(fleet: Fleet) -> None:
    fleet.model("claude-sonnet").enabled = False
    config = parse_yaml_subset(to_litellm(fleet))
    names = {d["model_name"] for d in config["model_list"]}
    assert "claude-sonnet" not in names
    fallbacks = {k: v for entry in config["router_settings"]["fallbacks"] for k, v in entry.items()}
    assert "claude-sonnet" not in fallbacks and all("claude-sonnet" not in v for v in fallbacks.values())
    assert fallbacks["gemini-flash"] == ["gemini-pro"]
    assert config["router_settings"]["model_group_alias"]["primary-coder"] == "deepseek-v3"


def test_small_prices_stay_numbers_in_yaml(fleet: Fleet) -> None:
    from fleetui.config.schema import PriceOverride

    fleet.model("gpt-4o-mini").price = PriceOverride(input=0.15, output=0.6)
    text = to_litellm(fleet)
    assert "input_cost_per_token: 0.00000015\n" in text  # not 1.5e-07, a string to YAML 1.1 loaders
    deployment = next(d for d in parse_yaml_subset(text)["model_list"] if d["model_name"] == "gpt-4o-mini")
    assert deployment["litellm_params"]["output_cost_per_token"] == pytest.approx(6e-07)


def test_toml_and_json_exports_carry_models_roles_and_rules(fleet: Fleet) -> None:
    for config in (tomllib.loads(to_toml(fleet)), json.loads(to_json(fleet))):
        assert config["fleet"] == "sample fleet"
        assert config["roles"]["primary-coder"] == ["claude-sonnet", "deepseek-v3"]
        assert [r["name"] for r in config["rules"]][:2] == ["vision-requests", "heartbeats"]
        rule = next(r for r in config["rules"] if r["name"] == "long-documents")
        assert rule == {"name": "long-documents", "priority": 40, "when": "prompt_length > 4000",
                        "model": "gemini-pro", "fallbacks": ["gpt-4-turbo"]}
        model = next(m for m in config["models"] if m["id"] == "deepseek-v3")
        assert model["endpoint"] == "https://api.deepseek.com/v1" and model["key_env"] == "DEEPSEEK_API_KEY"
        assert "key_env" not in next(m for m in config["models"] if m["id"] == "local-llama")


@pytest.mark.parametrize("fmt", ["toml", "json", "litellm"])
def test_cli_export_never_writes_a_key(fmt: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    for name in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "DEEPSEEK_API_KEY", "GEMINI_API_KEY", "MOONSHOT_API_KEY"):
        monkeypatch.setenv(name, LIVE_KEY)
    assert main(["--config", str(SAMPLE_FLEET), "export", "--format", fmt]) == 0
    printed = capsys.readouterr().out
    out = tmp_path / f"routing.{fmt}"
    assert main(["--config", str(SAMPLE_FLEET), "export", "--format", fmt, "-o", str(out)]) == 0
    assert f"wrote {fmt} routing config to {out}" in capsys.readouterr().out
    written = out.read_text()
    assert written == printed and LIVE_KEY not in written and "sk-" not in written
    assert [p.name for p in tmp_path.iterdir()] == [out.name], "no temporary file left behind"


def test_cli_export_replaces_a_file_atomically(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "config.yaml"
    out.write_text("old")
    import errno
    import os

    def failing_replace(src: str, dst: str) -> None:
        raise OSError(errno.ENOSPC, "No space left on device", dst)

    monkeypatch.setattr(os, "replace", failing_replace)
    assert main(["--config", str(SAMPLE_FLEET), "export", "--format", "litellm", "-o", str(out)]) == 1
    assert f"fleetui: {out}: No space left on device" in capsys.readouterr().err  # one line, no traceback
    assert out.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["config.yaml"]


def test_cli_export_rejects_a_calls_format_for_routing(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--config", str(SAMPLE_FLEET), "export", "--format", "jsonl"]) == 2
    assert "routing exports as toml, json or litellm" in capsys.readouterr().err


def test_cli_export_to_a_missing_folder_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "no" / "such" / "config.yaml"
    assert main(["--config", str(SAMPLE_FLEET), "export", "--format", "litellm", "-o", str(target)]) == 2
    assert f"there is no folder {target.parent}" in capsys.readouterr().err and not target.parent.exists()


# -- fleetui route ----------------------------------------------------------------------------------


def test_cli_route_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--config", str(SAMPLE_FLEET), "route", "ping", "--task", "heartbeat", "--json"]) == 0
    decision = json.loads(capsys.readouterr().out)
    assert decision["model_id"] == "claude-haiku" and decision["rule"] == "heartbeats"
    assert decision["endpoint"] == "https://api.anthropic.com" and decision["provider_model"] == "claude-3-haiku-20240307"
    assert decision["fallbacks"] == ["gpt-4o-mini"] and decision["strategy"] == "task-based"
    assert {"confidence", "complexity", "escalated", "matched", "decision_us", "decision_id"} <= set(decision)


def test_cli_route_options_and_text(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["--config", str(SAMPLE_FLEET), "route", "what is in this image?", "--tag", "vision", "--user", "u1",
            "--use-case", "vision_qa", "--complexity", "simple"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert out.startswith("→ gemini-flash (gemini-2.5-flash at https://generativelanguage.googleapis.com)")
    assert "rule vision-requests" in out and "fallbacks: gemini-pro, claude-sonnet" in out
    assert main(["--config", str(SAMPLE_FLEET), "route", "x", "--strategy", "quality-first", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["model_id"] == "claude-opus"
    assert main(["--config", str(SAMPLE_FLEET), "route", "x", "--hour", "3", "--complexity", "complex", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["rule"] == "hard-thinking"


def test_cli_route_reads_the_prompt_from_stdin(monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("x" * 5000))
    assert main(["--config", str(SAMPLE_FLEET), "route", "-", "--complexity", "medium", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["rule"] == "long-documents"
    monkeypatch.setattr("sys.stdin", io.StringIO("ping"))
    assert main(["--config", str(SAMPLE_FLEET), "route", "--task", "heartbeat", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["model_id"] == "claude-haiku"
