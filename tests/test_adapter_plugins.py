"""Adapters from other packages, found through the `fleetui.adapters` entry-point group, and the
capability flags that let probes and trials treat them by what they can do."""

from __future__ import annotations

import json
import logging
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from fleetui.providers import ChatRequest, StreamDone, TextDelta
from fleetui.providers.factory import adapter_class, adapter_classes

PLUGIN = '''
from fleetui.providers.base import Adapter
from fleetui.providers.types import Capabilities, ChatResult


class EchoAdapter(Adapter):
    """A provider with one JSON endpoint: no streaming, no model list."""

    kind = "echo"
    capabilities = Capabilities(streaming=False, tools=False, usage_in_stream=False, model_listing=False)

    def auth_headers(self, api_key):
        return {"X-Echo-Key": api_key}

    def chat_request(self, request, *, stream):
        return "/echo", {"model": self.model, "text": request.messages[-1].content}

    def parse_chat(self, body, latency_ms):
        return ChatResult(text=body["echo"], finish_reason="stop", raw_finish_reason="stop",
                          input_tokens=body["tokens"], output_tokens=body["tokens"], cached_input_tokens=None,
                          latency_ms=latency_ms, ttft_ms=None, response_model=self.model)

    async def stream_events(self, lines, started):
        raise AssertionError("never called: the adapter says it cannot stream")
        yield


NotAnAdapter = object()
'''


@pytest.fixture
def installed_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A package installed the way pip leaves one: a module and a .dist-info with entry points."""
    (tmp_path / "fleetui_echo.py").write_text(PLUGIN)
    info = tmp_path / "fleetui_echo-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: fleetui-echo\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(textwrap.dedent("""\
        [fleetui.adapters]
        echo = fleetui_echo:EchoAdapter
        missing = fleetui_echo:NoSuchClass
        wrong = fleetui_echo:NotAnAdapter
        anthropic = fleetui_echo:EchoAdapter
        """))
    monkeypatch.syspath_prepend(str(tmp_path))
    adapter_classes.cache_clear()
    yield
    adapter_classes.cache_clear()
    sys.modules.pop("fleetui_echo", None)


def test_a_plugin_adapter_is_found_and_broken_ones_are_skipped(installed_plugin: None,
                                                                caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="fleetui.providers.factory")
    classes = adapter_classes()
    assert classes["echo"].__name__ == "EchoAdapter"
    assert "missing" not in classes and "wrong" not in classes
    assert classes["anthropic"].__module__ == "fleetui.providers.anthropic"  # a built-in is never replaced
    warnings = " ".join(r.getMessage() for r in caplog.records)
    assert "missing" in warnings and "failed to load" in warnings
    assert "is not an Adapter subclass" in warnings and "names a kind fleetui already has" in warnings
    with pytest.raises(KeyError, match="no adapter for provider kind 'nope'; known: .*echo"):
        adapter_class("nope")


async def test_capabilities_steer_the_probe_and_the_stream(installed_plugin: None) -> None:
    seen: list[tuple[str, str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append((request.method, request.url.path))
        body = json.loads(request.content)
        return httpx.Response(200, json={"echo": body["text"].upper(), "tokens": 3})

    adapter = adapter_class("echo")(base_url="http://echo.test", model="e1", api_key="k-123",
                                    transport=httpx.MockTransport(handler))
    async with adapter:
        probed = await adapter.probe()
        events = [event async for event in adapter.stream(ChatRequest.of("hello"))]
    assert probed.ok and probed.method == "1-token"
    assert ("GET", "/models") not in seen  # no model list to ask for
    assert [e.text for e in events if isinstance(e, TextDelta)] == ["HELLO"]
    done = events[-1]
    assert isinstance(done, StreamDone) and done.result.output_tokens == 3
    assert adapter.capabilities.describe() == "chat only"


async def test_a_server_that_ignores_stream_true_still_answers_a_stream() -> None:
    # llama.cpp forks and some proxies answer `stream: true` with one JSON reply.
    from fleetui.providers.openai import OpenAIAdapter

    reply = {"model": "m", "choices": [{"index": 0, "message": {"content": "whole reply"}, "finish_reason": "stop"}],
             "usage": {"prompt_tokens": 4, "completion_tokens": 2}}
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json=reply))
    async with OpenAIAdapter(base_url="http://local.test/v1", model="m", transport=transport) as adapter:
        events = [event async for event in adapter.stream(ChatRequest.of("hi"))]
    assert [e.text for e in events if isinstance(e, TextDelta)] == ["whole reply"]
    done = events[-1]
    assert isinstance(done, StreamDone) and done.result.text == "whole reply" and not done.result.streamed
    assert (done.result.input_tokens, done.result.output_tokens) == (4, 2)


FLEET_WITH = """\
[[providers]]
id = "house"
kind = "{kind}"
{base_url}
[[models]]
id = "echo-1"
name = "Echo"
provider = "house"
model = "e1"
"""


async def test_a_fleet_file_names_a_plugin_kind_and_its_models_are_called(installed_plugin: None,
                                                                          tmp_path: Path) -> None:
    from fleetui.config.fleetfile import load_fleet
    from fleetui.providers.factory import adapter_for

    path = tmp_path / "fleet.toml"
    path.write_text(FLEET_WITH.format(kind="echo", base_url='base_url = "http://echo.test"'))
    fleet = load_fleet(path)
    assert fleet.providers[0].kind == "echo"
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json={"echo": "HI", "tokens": 1}))
    async with adapter_for(fleet, "echo-1", transport=transport) as adapter:
        result = await adapter.chat(ChatRequest.of("hi"))
    assert type(adapter).__name__ == "EchoAdapter" and result.text == "HI"


def test_an_unknown_kind_is_a_problem_at_its_place_naming_the_kinds_there_are(installed_plugin: None,
                                                                             tmp_path: Path) -> None:
    from fleetui.config.fleetfile import FleetFileError, load_fleet

    path = tmp_path / "fleet.toml"
    path.write_text(FLEET_WITH.format(kind="ecko", base_url=""))
    with pytest.raises(FleetFileError) as caught:
        load_fleet(path)
    [problem] = str(caught.value).splitlines()[1:]
    assert problem.strip().startswith(f"{path}:3:8: providers[house].kind: no adapter for provider kind 'ecko'")
    assert "openai-compatible, anthropic, gemini, ollama, echo" in problem  # "missing"/"wrong" too: named, not loaded
    path.write_text(FLEET_WITH.format(kind="echo", base_url=""))  # a plugin kind has no default address
    with pytest.raises(FleetFileError, match=r"fleet.toml:\d+:\d+: .*kind 'echo' comes from a plugin .*set base_url"):
        load_fleet(path)
