"""`fleetui export --format toml|json|litellm` and `fleetui route`: what apps load, and no keys."""

from __future__ import annotations

import hashlib
import io
import json
import os
from pathlib import Path

import pytest
import yaml

from fleetui.cli import main
from fleetui.config.fleetfile import FleetFileError, load_fleet
from fleetui.config.schema import Fleet
from fleetui.routing import Router
from fleetui.routing.export import ROUTING_SECTIONS, ExportSource, load_export, routing_data, to_json, to_toml
from tests.conftest import SAMPLE_FLEET

LIVE_KEY = "sk-" "live-should-never-appear-0123456789"
REQUESTS = [
    {"tags": ["vision"]}, {"task": "heartbeat"}, {"task": "coding", "complexity": "medium"},
    {"prompt_length": 5000, "complexity": "medium"}, {"use_case": "casual_chat", "complexity": "simple"},
    {"complexity": "complex"}, {"complexity": "simple"}, {"task": "translation", "complexity": "medium"},
]


@pytest.fixture
def fleet() -> Fleet:
    return load_fleet(SAMPLE_FLEET)


def decisions(router: Router) -> list[tuple[str, tuple[str, ...], str | None]]:
    out = []
    for request in REQUESTS:
        decision = router.route("summarize this", **request)
        out.append((decision.model_id, decision.fallbacks, decision.rule))
    return out


def test_the_toml_export_is_a_fleet_file_the_router_loads(fleet: Fleet, tmp_path: Path) -> None:
    path = tmp_path / "routing.toml"
    path.write_text(to_toml(fleet))
    assert decisions(Router.from_toml(path)) == decisions(Router(fleet))
    again = load_fleet(path)
    assert routing_data(again) == routing_data(fleet)
    assert to_toml(again) == to_toml(fleet), "export, load, export gives the same text"
    assert "budget" not in path.read_text() and "[privacy]" not in path.read_text()


def test_the_json_export_round_trips_and_routes_the_same(fleet: Fleet, tmp_path: Path) -> None:
    path = tmp_path / "routing.json"
    path.write_text(to_json(fleet))
    document = json.loads(path.read_text())
    assert set(document) == {"exported_from", "fleet"} and set(document["fleet"]) <= ROUTING_SECTIONS
    assert decisions(Router(Fleet.model_validate(document["fleet"]))) == decisions(Router(fleet))
    again = load_export(path)
    assert to_json(again) == to_json(fleet)
    model = next(m for m in document["fleet"]["models"] if m["id"] == "deepseek-v3")
    assert model["provider"] == "deepseek" and "key" not in model
    assert next(p for p in document["fleet"]["providers"] if p["id"] == "deepseek")["key"] == "DEEPSEEK_API_KEY"
    assert [r["name"] for r in document["fleet"]["rules"]][:2] == ["vision-requests", "heartbeats"]


def test_a_bad_json_export_says_where(tmp_path: Path) -> None:
    path = tmp_path / "routing.json"
    path.write_text('{"fleet": {"models": [{"id": "x"}]}}')
    with pytest.raises(FleetFileError) as caught:
        load_export(path)
    assert str(path) in str(caught.value) and "models[x].name" in str(caught.value)
    path.write_text("{not json")
    with pytest.raises(FleetFileError, match="invalid JSON"):
        load_export(path)


@pytest.mark.parametrize("fmt", ["toml", "json", "litellm"])
def test_every_export_names_its_fleet_file_and_version(fmt: str, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    fleet_file = tmp_path / "fleet.toml"
    fleet_file.write_bytes(SAMPLE_FLEET.read_bytes())
    os.utime(fleet_file, (1767225600, 1767225600))  # 2026-01-01T00:00:00Z
    digest = hashlib.sha256(fleet_file.read_bytes()).hexdigest()
    assert main(["--config", str(fleet_file), "export", "--format", fmt]) == 0
    out = capsys.readouterr().out
    if fmt == "json":
        source = json.loads(out)["exported_from"]
        assert source == {"path": str(fleet_file.resolve()), "sha256": digest, "modified": "2026-01-01T00:00:00Z",
                          "fleetui_version": source["fleetui_version"]}
    else:
        assert f"from {fleet_file.resolve()} (sha256 {digest}, modified 2026-01-01T00:00:00Z)" in out.split("\n")[1]
    fleet_file.write_text(fleet_file.read_text() + "\n# edited\n")
    assert main(["--config", str(fleet_file), "export", "--format", fmt]) == 0
    assert digest not in capsys.readouterr().out, "another version of the file, another sha256"


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
    if fmt == "litellm":
        assert yaml.safe_load(written)["model_list"]


def test_cli_export_json_flag(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--config", str(SAMPLE_FLEET), "export", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["fleet"]["name"] == "sample fleet"
    out = tmp_path / "config.yaml"
    assert main(["--config", str(SAMPLE_FLEET), "export", "--format", "litellm", "-o", str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["written"] == str(out) and summary["format"] == "litellm"
    assert summary["bytes"] == len(out.read_bytes()) and summary["exported_from"]["sha256"]
    assert main(["--config", str(SAMPLE_FLEET), "export", "--format", "litellm", "--json"]) == 2
    assert "--json prints the routing config as JSON" in capsys.readouterr().err


def test_cli_export_of_a_broken_fleet_file_says_where(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fleet_file = tmp_path / "fleet.toml"
    fleet_file.write_text(SAMPLE_FLEET.read_text().replace('model = "gpt-4-turbo"', 'model = ""'))
    out = tmp_path / "config.yaml"
    assert main(["--config", str(fleet_file), "export", "--format", "litellm", "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"{fleet_file}:" in err and "models[gpt-4-turbo].model" in err and "Traceback" not in err
    assert not out.exists()
    assert main(["--config", str(tmp_path / "missing.toml"), "export"]) == 2
    assert "missing.toml" in capsys.readouterr().err


def test_cli_export_replaces_a_file_atomically(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "config.yaml"
    out.write_text("old")
    import errno

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
    assert main(["--config", str(SAMPLE_FLEET), "export", "--format", "litellm", "-o", str(target)]) == 1  # a path the user typed that cannot be written: exit 1, as for --db
    assert f"there is no folder {target.parent}" in capsys.readouterr().err and not target.parent.exists()


def test_an_odd_fleet_path_keeps_the_toml_export_loadable(fleet: Fleet, tmp_path: Path) -> None:
    source = ExportSource("/odd\nname/f.toml", "ab" * 32, "2026-01-01T00:00:00Z")
    assert source.comment().startswith("# exported by fleetui ") and "\n" not in source.comment()
    path = tmp_path / "routing.toml"
    path.write_text(to_toml(fleet, source))
    assert routing_data(load_fleet(path)) == routing_data(fleet)


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
