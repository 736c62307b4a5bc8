"""`fleetui export --format litellm` checked by LiteLLM itself: its proxy config loader reads the
export and its Router sends real requests to loopback servers that speak each provider's wire
format (OpenAI, Anthropic, Gemini, Ollama). Every role and rule answers with the model fleetui
would pick, every fallback step is reached in fleetui's order and no further, a keyless local
server gets the placeholder key and never the user's OpenAI key, and the spend LiteLLM records is
fleetui's cost of the same call.

LiteLLM is heavy, so it is not a test dependency: this runs only with a Python that has it,

    python3 -m venv /tmp/litellm && /tmp/litellm/bin/pip install 'litellm[proxy]'
    FLEETUI_LITELLM_PYTHON=/tmp/litellm/bin/python pytest -m litellm

and is skipped, with that reason, otherwise. Nothing is installed at run time.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from fleetui.cli import main
from fleetui.config.fleetfile import dump_fleet, load_fleet
from fleetui.config.schema import Fleet, Model, PriceOverride, Provider, RoleAssignment
from fleetui.pricing import Pricer
from fleetui.routing import Router
from tests.conftest import SAMPLE_FLEET
from tests.test_export_litellm import RULE_REQUESTS


def _litellm_python() -> str | None:
    configured = os.environ.get("FLEETUI_LITELLM_PYTHON")
    if configured:
        return configured
    try:
        import litellm  # noqa: F401
    except ImportError:
        return None
    return sys.executable


LITELLM_PYTHON = _litellm_python()
pytestmark = [
    pytest.mark.litellm,
    pytest.mark.slow,
    pytest.mark.skipif(LITELLM_PYTHON is None, reason="needs litellm: set FLEETUI_LITELLM_PYTHON to a Python that "
                       "has it (see this file's docstring for the one command that sets it up)"),
]

KEYS = {"OPENAI_API_KEY": "sk-test-openai-0001", "ANTHROPIC_API_KEY": "test-anthropic-0002",
        "GEMINI_API_KEY": "test-gemini-0003", "DEEPSEEK_API_KEY": "test-deepseek-0004",
        "MOONSHOT_API_KEY": "test-moonshot-0005"}
# The key each loopback endpoint may receive (None: a keyless local server).
OWN_KEY = {"openai": "OPENAI_API_KEY", "anthropic": "ANTHROPIC_API_KEY", "gemini": "GEMINI_API_KEY",
           "deepseek": "DEEPSEEK_API_KEY", "moonshot": "MOONSHOT_API_KEY", "ollama": None, "llamacpp": None}
TOKENS_IN, TOKENS_OUT, TOKENS_CACHED = 1000, 200, 300


@dataclass
class Hit:
    endpoint: str
    model: str
    credentials: str  # every auth header and key parameter the request carried


@dataclass
class Loopback:
    """One server for every provider, each under its own path: /openai/v1, /anthropic, …"""

    models: dict[tuple[str, str], str]  # (endpoint, provider's model name) → fleet model id
    hits: list[Hit] = field(default_factory=list)
    port: int = 0


def _handler(state: Loopback) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("content-length") or 0)) or b"{}")
            endpoint = self.path.split("/")[1]
            gemini = re.match(r"^/gemini/v1beta/models/([^:]+):generateContent", self.path)
            model = gemini.group(1) if gemini else body.get("model", "")
            credentials = " ".join(filter(None, [self.headers.get("authorization"), self.headers.get("x-api-key"),
                                                 self.headers.get("x-goog-api-key"), self.path.partition("?")[2]]))
            state.hits.append(Hit(endpoint, model, credentials))
            fleet_id = state.models.get((endpoint, model))
            text = json.dumps(body)
            down = re.search(r"down: ([\w.,-]*)", text)
            if fleet_id is None or (down and fleet_id in down.group(1).split(",")):
                return self._send(503, {"error": {"message": f"{fleet_id or model} is down", "type": "server_error",
                                                  "code": 503}})
            answer = f"answered by {fleet_id}"
            asked = re.search(r"tokens: (\d+)", text)  # a long prompt, as its usage says
            tokens_in = int(asked.group(1)) if asked else TOKENS_IN
            if endpoint == "anthropic":
                reply: dict[str, Any] = {
                    "id": "msg_1", "type": "message", "role": "assistant", "model": model,
                    "content": [{"type": "text", "text": answer}], "stop_reason": "end_turn", "stop_sequence": None,
                    "usage": {"input_tokens": tokens_in - TOKENS_CACHED, "output_tokens": TOKENS_OUT,
                              "cache_read_input_tokens": TOKENS_CACHED, "cache_creation_input_tokens": 0}}
            elif endpoint == "gemini":
                reply = {"candidates": [{"content": {"role": "model", "parts": [{"text": answer}]},
                                         "finishReason": "STOP", "index": 0}],
                         "usageMetadata": {"promptTokenCount": tokens_in, "candidatesTokenCount": TOKENS_OUT,
                                           "totalTokenCount": tokens_in + TOKENS_OUT,
                                           "cachedContentTokenCount": TOKENS_CACHED},
                         "modelVersion": model}
            elif endpoint == "ollama":
                reply = {"model": model, "created_at": "2026-01-01T00:00:00Z", "done": True, "done_reason": "stop",
                         "message": {"role": "assistant", "content": answer},
                         "prompt_eval_count": tokens_in, "eval_count": TOKENS_OUT}
            else:
                reply = {"id": "chatcmpl-1", "object": "chat.completion", "created": 1767225600, "model": model,
                         "choices": [{"index": 0, "finish_reason": "stop",
                                      "message": {"role": "assistant", "content": answer}}],
                         "usage": {"prompt_tokens": tokens_in, "completion_tokens": TOKENS_OUT,
                                   "total_tokens": tokens_in + TOKENS_OUT,
                                   "prompt_tokens_details": {"cached_tokens": TOKENS_CACHED}}}
            self._send(200, reply)

        def _send(self, status: int, payload: dict[str, Any]) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler


@pytest.fixture
def loopback() -> Iterator[Loopback]:
    state = Loopback(models={})
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


def _loopback_fleet(state: Loopback) -> Fleet:
    """The sample fleet served by the loopback server, plus a keyless llama.cpp model."""
    fleet = load_fleet(SAMPLE_FLEET)
    root = f"http://127.0.0.1:{state.port}"
    paths = {"anthropic": "/anthropic", "openai": "/openai/v1", "deepseek": "/deepseek/v1", "google": "/gemini",
             "moonshot": "/moonshot/v1", "ollama": "/ollama"}
    for provider_id, path in paths.items():
        fleet.provider(provider_id).base_url = root + path
    for provider_id, catalog in {"openai": "openai", "deepseek": "deepseek"}.items():
        fleet.provider(provider_id).catalog_id = catalog  # priced as the real hosts are
    fleet.providers.append(Provider(id="llamacpp", kind="openai-compatible", base_url=f"{root}/llamacpp/v1"))
    fleet.models.append(Model(id="local-qwen", name="Qwen 2.5 7B (llama.cpp)", provider="llamacpp",
                              model="qwen2.5-7b-instruct", price=PriceOverride(input=0, output=0),
                              roles=[RoleAssignment(role="cost-optimizer", priority=3)]))
    for model in fleet.models:
        endpoint = fleet.base_url_of(model).removeprefix(root).split("/")[1]
        state.models[(endpoint, model.model)] = model.id
    return fleet


def _fleetui_choice(fleet: Fleet, rule: str, down: list[str]) -> str | None:
    router = Router(fleet)
    router.set_health({m: "offline" for m in down})
    decision = router.route("x", **RULE_REQUESTS[rule])
    return decision.model_id if decision.rule == rule else None  # None: fleetui left this rule


def _run_litellm(config: Path, requests: list[dict[str, str]], tmp_path: Path) -> list[dict[str, Any]]:
    assert LITELLM_PYTHON is not None
    requests_file = tmp_path / "requests.json"
    requests_file.write_text(json.dumps(requests))
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), "LITELLM_LOG": "ERROR",
           "LITELLM_LOCAL_MODEL_COST_MAP": "True",  # the price map bundled with litellm, no download
           "NO_PROXY": "127.0.0.1,localhost", **KEYS}
    done = subprocess.run([LITELLM_PYTHON, str(Path(__file__).with_name("litellm_router_run.py")), str(config),
                           str(requests_file)], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=900)
    marker = [line for line in done.stdout.splitlines() if line.startswith("FLEETUI-RESULTS ")]
    assert done.returncode == 0 and marker, f"LiteLLM run failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return json.loads(marker[0].removeprefix("FLEETUI-RESULTS "))


def test_litellm_routes_falls_back_keys_and_prices_as_fleetui(loopback: Loopback, tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    fleet = _loopback_fleet(loopback)
    fleet_file = tmp_path / "fleet.toml"
    fleet_file.write_text(dump_fleet(fleet))
    config = tmp_path / "config.yaml"
    assert main(["--config", str(fleet_file), "export", "--format", "litellm", "-o", str(config)]) == 0
    capsys.readouterr()

    from fleetui.routing.export_litellm import build_litellm_export

    chains = build_litellm_export(fleet).chains
    rules = list(RULE_REQUESTS)
    roles = [r.id for r in fleet.roles]
    models = [m.id for m in fleet.models]
    assert set(rules) | set(roles) | set(models) == set(chains)
    requests: list[dict[str, str]] = []
    expected: list[str | None] = []  # the fleet model that must answer; None: an error
    for name in models:
        requests.append({"model": name, "prompt": "hello"})
        expected.append(name)
        requests.append({"model": name, "prompt": f"hello (down: {name})"})  # a pinned model has no fallbacks
        expected.append(None)
    for name in ("claude-sonnet", "gemini-pro", "gpt-4o-mini"):  # past the catalog's 200k-token tier
        requests.append({"model": name, "prompt": "a long document (tokens: 250000)"})
        expected.append(name)
    for name in [*roles, *rules]:
        chain = list(chains[name])
        for step in range(len(chain) + 1):  # nothing down, then each fallback, then all down
            down = chain[:step]
            requests.append({"model": name, "prompt": f"hello (down: {','.join(down)})"})
            expected.append(chain[step] if step < len(chain) else None)
            if name in RULE_REQUESTS:  # the chain is fleetui's own, step by step
                assert _fleetui_choice(fleet, name, down) == expected[-1], (name, down)

    results = _run_litellm(config, requests, tmp_path)
    summary, answers = results[0], results[1:]
    assert summary["groups"] == sorted(chains)
    pricer = Pricer(fleet)
    for request, want, got in zip(requests, expected, answers, strict=True):
        if want is None:
            assert "error" in got, (request, got)
            continue
        assert got.get("answer") == f"answered by {want}", (request, got)
        cached = 0 if fleet.provider_of(fleet.model(want)).kind == "ollama" else TOKENS_CACHED
        asked = re.search(r"tokens: (\d+)", request["prompt"])
        cost = pricer.cost(want, int(asked.group(1)) if asked else TOKENS_IN, TOKENS_OUT, cached)
        assert cost is not None and got["cost"] == pytest.approx(cost, rel=1e-9), (request, got, cost)
        [recorded] = got["recorded"]  # the spend LiteLLM's logging records for the call
        assert recorded["response_cost"] == pytest.approx(cost, rel=1e-9)
        # Charged to the deployment that answered: in the requested group, or the fallback's own group.
        assert (recorded["model_group"], recorded["model_id"]) in {(request["model"], f"{request['model']}/{want}"),
                                                                  (want, want)}, (request, recorded)

    # The vision chain ends at claude-sonnet: never another rule's fallback (gpt-4-turbo).
    vision_down = [a for r, a in zip(requests, answers) if r["model"] == "vision-requests" and "error" in a]
    assert len(vision_down) == 1
    # Keys: each endpoint got only its own provider's key; keyless servers got the placeholder.
    for hit in loopback.hits:
        own = OWN_KEY[hit.endpoint]
        for name, value in KEYS.items():
            assert (value in hit.credentials) == (name == own), (hit, name)
        if own is None:
            assert "fleetui-no-key" in hit.credentials
    assert {h.endpoint for h in loopback.hits} == set(OWN_KEY)
